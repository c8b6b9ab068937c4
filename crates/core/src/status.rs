//! A video's processing status: one small JSON object per video,
//! `STATUS_PREFIX` + id + `.json` in the media bucket (outside `KEY_PREFIX`,
//! so no signature ever covers it). The jobs function writes each step; the
//! upload API reads it for `GET /videos/{id}/status`.
//!
//! Events arrive at least once and in any order, so a step is a merge, not
//! an overwrite ([`Status::advance`]): within one upload a status only moves
//! forward, and a new upload of the same key (a new job token) starts over.

use serde::{Deserialize, Serialize};

use crate::video::{Rendition, VideoId};

/// Longest status object read back (they are a few hundred bytes).
pub const MAX_STATUS_BYTES: u64 = 64 * 1024;

/// Longest error message kept.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// `message` cut to [`MAX_MESSAGE_CHARS`]: what a status and a notice keep
/// of `MediaConvert`'s words.
pub fn cut_message(message: &str) -> String {
    message.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// The status object of video `id`.
pub fn status_key(status_prefix: &str, id: &VideoId) -> String {
    format!("{status_prefix}{id}.json")
}

/// Where processing has got to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "state", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Step {
    /// The upload is stored and taken; no job yet.
    Uploaded,
    /// `MediaConvert` accepted the job.
    Submitted { job_id: String },
    /// The job runs; `percent` when `MediaConvert` has said.
    Progressing {
        job_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        percent: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// The ladder is ready to play.
    Complete {
        job_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_seconds: Option<f64>,
        #[serde(default)]
        renditions: Vec<Rendition>,
    },
    /// No ladder: `MediaConvert`'s code and message, or (`reason`) why the
    /// upload was refused before a job.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        message: String,
    },
}

impl Step {
    /// Forward order within one upload; complete and error both end it.
    fn rank(&self) -> u8 {
        match self {
            Step::Uploaded => 0,
            Step::Submitted { .. } => 1,
            Step::Progressing { .. } => 2,
            Step::Complete { .. } | Step::Error { .. } => 3,
        }
    }

    /// The `state` it is stored as.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    fn percent(&self) -> u8 {
        match self {
            Step::Progressing { percent, .. } => percent.unwrap_or(0),
            _ => 0,
        }
    }

    /// An error step, its message cut to [`MAX_MESSAGE_CHARS`].
    pub fn error(
        job_id: Option<String>,
        code: Option<i64>,
        reason: Option<&str>,
        message: &str,
    ) -> Step {
        Step::Error {
            job_id,
            code,
            reason: reason.map(str::to_string),
            message: cut_message(message),
        }
    }
}

/// `status/ID.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub video_id: VideoId,
    /// The upload's key in the upload bucket: who uploaded it, for the
    /// status route (see [`crate::upload::UploadKey`]).
    pub source_key: String,
    /// The job token of the upload this history is about (a new write of
    /// the same key has a new one). Absent for jobs submitted without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(flatten)]
    pub step: Step,
    /// Seconds since the epoch when this step was recorded.
    pub updated_at: u64,
}

impl Status {
    /// What to store after `self` when `stored` is there: `None` when the
    /// stored status stays (it is as far or further along, or it is about a
    /// newer upload of the key). The rule:
    /// - nothing stored, or a different upload whose first step this is
    ///   (`uploaded`): `self` replaces it;
    /// - an event about another upload than the stored one: ignored, it is
    ///   late news of a replaced upload;
    /// - the same upload: only forward, and within `progressing` only to a
    ///   higher percent; an end (complete or error) is final;
    /// - the same step again (a redelivery): nothing to write.
    pub fn advance(self, stored: Option<&Status>) -> Option<Status> {
        let Some(stored) = stored else {
            return Some(self);
        };
        let same_upload = match (&self.token, &stored.token) {
            (Some(a), Some(b)) => a == b,
            _ => self.source_key == stored.source_key,
        };
        if !same_upload {
            return (self.step == Step::Uploaded).then_some(self);
        }
        let (new, old) = (self.step.rank(), stored.step.rank());
        let forward =
            new > old || (new == old && new == 2 && self.step.percent() > stored.step.percent());
        forward.then_some(self)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// A stored status; `None` when it is not one (it is then replaced).
    pub fn from_json(json: &[u8]) -> Option<Status> {
        serde_json::from_slice(json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(token: &str, step: Step) -> Status {
        Status {
            video_id: VideoId::parse("v").unwrap(),
            source_key: "uploads/a.mp4".into(),
            token: Some(token.into()),
            step,
            updated_at: 1,
        }
    }

    fn progressing(p: u8) -> Step {
        Step::Progressing {
            job_id: "j".into(),
            percent: Some(p),
            phase: None,
        }
    }

    fn complete() -> Step {
        Step::Complete {
            job_id: "j".into(),
            duration_seconds: Some(2.0),
            renditions: vec![],
        }
    }

    #[test]
    fn a_status_only_moves_forward_within_one_upload() {
        let submitted = Step::Submitted { job_id: "j".into() };
        let seq = [
            Step::Uploaded,
            submitted.clone(),
            progressing(10),
            progressing(60),
            complete(),
        ];
        let mut stored: Option<Status> = None;
        for step in seq {
            stored = Some(at("t", step).advance(stored.as_ref()).unwrap());
        }
        let done = stored.unwrap();
        for late in [Step::Uploaded, submitted, progressing(90), complete()] {
            assert_eq!(at("t", late.clone()).advance(Some(&done)), None, "{late:?}");
        }
        let at60 = at("t", progressing(60));
        assert_eq!(at("t", progressing(40)).advance(Some(&at60)), None);
        assert_eq!(at("t", progressing(60)).advance(Some(&at60)), None);
        let err = Step::error(Some("j".into()), Some(1030), None, "bad input");
        assert!(at("t", err.clone()).advance(Some(&at60)).is_some());
        assert_eq!(at("t", complete()).advance(Some(&at("t", err))), None);
    }

    #[test]
    fn a_new_upload_of_the_key_starts_over_and_late_news_of_the_old_one_is_ignored() {
        let done = at("old", complete());
        assert_eq!(at("new", progressing(5)).advance(Some(&done)), None);
        let fresh = at("new", Step::Uploaded).advance(Some(&done)).unwrap();
        assert_eq!(fresh.step, Step::Uploaded);
        assert_eq!(at("old", complete()).advance(Some(&fresh)), None);
    }

    #[test]
    fn the_json_is_flat_and_reads_back() {
        let s = at("t", progressing(42));
        let v: serde_json::Value = serde_json::from_slice(&s.to_json()).unwrap();
        assert_eq!(v["state"], "progressing");
        assert_eq!(v["percent"], 42);
        assert_eq!(v["job_id"], "j");
        assert_eq!(Status::from_json(&s.to_json()), Some(s));
        for step in [
            Step::Uploaded,
            Step::Submitted { job_id: "j".into() },
            progressing(1),
            complete(),
            Step::error(None, None, None, "m"),
        ] {
            let v: serde_json::Value =
                serde_json::from_slice(&at("t", step.clone()).to_json()).unwrap();
            assert_eq!(v["state"], step.name());
        }
        assert_eq!(Status::from_json(b"{}"), None);
        let long = "x".repeat(MAX_MESSAGE_CHARS + 5);
        let Step::Error { message, .. } = Step::error(None, None, Some("tracks"), &long) else {
            unreachable!()
        };
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
    }
}
