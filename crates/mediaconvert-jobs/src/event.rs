//! The events this function takes, read from JSON without trusting it:
//! S3 "Object Created" from EventBridge, classic S3 notifications
//! (`Records[].s3`), and "MediaConvert Job State Change". Anything else is
//! [`Incoming::Other`]; nothing here panics on any input.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One upload, whichever way it was announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub bucket: String,
    /// The object's key as stored (classic notifications are decoded).
    pub key: String,
    /// Bytes; absent when the event did not say.
    pub size: Option<u64>,
    pub etag: Option<String>,
    /// S3's per-key ordering token: the same for redeliveries of one write,
    /// different for every new write of the key.
    pub sequencer: Option<String>,
    pub version_id: Option<String>,
}

/// An upload the event named but that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub index: usize,
    pub reason: String,
}

/// A `MediaConvert` job's change of state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobState {
    pub status: String,
    pub job_id: String,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub user_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub output_group_details: Vec<OutputGroupDetail>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub job_progress: Option<JobProgress>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputGroupDetail {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub playlist_file_paths: Vec<String>,
    #[serde(default)]
    pub output_details: Vec<OutputDetail>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputDetail {
    #[serde(default)]
    pub output_file_paths: Vec<String>,
    #[serde(default)]
    pub duration_in_ms: Option<u64>,
    #[serde(default)]
    pub video_details: Option<VideoDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoDetails {
    pub width_in_px: u32,
    pub height_in_px: u32,
    #[serde(default)]
    pub average_bitrate: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    #[serde(default)]
    pub job_percent_complete: Option<u32>,
    #[serde(default)]
    pub current_phase: Option<String>,
}

/// What arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Uploads to consider, and records that could not be read.
    Uploads {
        uploads: Vec<Upload>,
        bad: Vec<BadRecord>,
    },
    JobState(Box<JobState>),
    /// Not for us, or not readable; the reason is logged.
    Other(String),
}

/// Sorts an event by its shape.
pub fn parse(event: &Value) -> Incoming {
    if let Some(detail_type) = event.get("detail-type").and_then(Value::as_str) {
        let source = event.get("source").and_then(Value::as_str).unwrap_or("");
        let detail = event.get("detail").unwrap_or(&Value::Null);
        return match (source, detail_type) {
            ("aws.s3", "Object Created") => match eventbridge_upload(detail) {
                Ok(u) => Incoming::Uploads {
                    uploads: vec![u],
                    bad: vec![],
                },
                Err(reason) => Incoming::Uploads {
                    uploads: vec![],
                    bad: vec![BadRecord { index: 0, reason }],
                },
            },
            ("aws.mediaconvert", "MediaConvert Job State Change") => {
                match JobState::deserialize(detail) {
                    Ok(state) => Incoming::JobState(Box::new(state)),
                    Err(e) => Incoming::Other(format!("unreadable job state change: {e}")),
                }
            }
            _ => Incoming::Other(format!(
                "not an event this function takes: source {source:?}, detail-type {detail_type:?}"
            )),
        };
    }
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let mut uploads = Vec::new();
        let mut bad = Vec::new();
        let mut skipped = 0;
        for (index, record) in records.iter().enumerate() {
            let name = record
                .get("eventName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if record.get("s3").is_none() {
                bad.push(BadRecord {
                    index,
                    reason: "not an S3 record".into(),
                });
            } else if !name.starts_with("ObjectCreated:") {
                skipped += 1;
            } else {
                match classic_upload(record) {
                    Ok(u) => uploads.push(u),
                    Err(reason) => bad.push(BadRecord { index, reason }),
                }
            }
        }
        if uploads.is_empty() && bad.is_empty() {
            return Incoming::Other(format!(
                "{skipped} S3 record(s), none is an object creation"
            ));
        }
        return Incoming::Uploads { uploads, bad };
    }
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Incoming::Other("S3 test event".into());
    }
    Incoming::Other("not an EventBridge event nor an S3 notification".into())
}

fn eventbridge_upload(detail: &Value) -> Result<Upload, String> {
    let bucket = str_at(detail, &["bucket", "name"]).ok_or("no detail.bucket.name")?;
    let object = detail.get("object").ok_or("no detail.object")?;
    // EventBridge carries the key as stored: no decoding.
    let key = str_at(object, &["key"]).ok_or("no detail.object.key")?;
    Ok(Upload {
        bucket: bucket.to_string(),
        key: key.to_string(),
        size: object.get("size").and_then(Value::as_u64),
        etag: str_at(object, &["etag"]).map(str::to_string),
        sequencer: str_at(object, &["sequencer"]).map(str::to_string),
        version_id: str_at(object, &["version-id"]).map(str::to_string),
    })
}

fn classic_upload(record: &Value) -> Result<Upload, String> {
    let s3 = record.get("s3").unwrap_or(&Value::Null);
    let bucket = str_at(s3, &["bucket", "name"]).ok_or("no s3.bucket.name")?;
    let object = s3.get("object").ok_or("no s3.object")?;
    let encoded = str_at(object, &["key"]).ok_or("no s3.object.key")?;
    Ok(Upload {
        bucket: bucket.to_string(),
        key: decode_key(encoded)?,
        size: object.get("size").and_then(Value::as_u64),
        etag: str_at(object, &["eTag"]).map(str::to_string),
        sequencer: str_at(object, &["sequencer"]).map(str::to_string),
        version_id: str_at(object, &["versionId"]).map(str::to_string),
    })
}

/// Decodes a key from a classic S3 notification: form encoding, where `+`
/// is a space and `%2B` a plus.
pub fn decode_key(encoded: &str) -> Result<String, String> {
    let spaced = encoded.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| "the key does not decode to UTF-8".to_string())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = at.get(p)?;
    }
    at.as_str().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_like_forms() {
        assert_eq!(decode_key("a+b.mp4").unwrap(), "a b.mp4");
        assert_eq!(decode_key("a%2Bb.mp4").unwrap(), "a+b.mp4");
        assert_eq!(decode_key("caf%C3%A9.mp4").unwrap(), "café.mp4");
        assert_eq!(decode_key("dir%2Fx.mp4").unwrap(), "dir/x.mp4");
        assert_eq!(decode_key("100%25").unwrap(), "100%");
        assert!(decode_key("%FF.mp4").is_err());
        // A stray `%` is kept, as S3 would never send it unencoded.
        assert_eq!(decode_key("a%zz").unwrap(), "a%zz");
    }
}
