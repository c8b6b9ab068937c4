//! The events this function takes, read with `aws_lambda_events`' types
//! without trusting them: S3 "Object Created" from EventBridge
//! (`EventBridgeEvent<T>` with the detail typed here), classic S3
//! notifications (each `Records[]` entry an `S3EventRecord`), S3's test
//! event, and "MediaConvert Job State Change" (a typed [`JobState`]).
//! Anything else is [`Incoming::Other`]; nothing here panics on any input.

use std::collections::BTreeMap;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3EventRecord;
use serde::{Deserialize, Serialize};
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

/// A `MediaConvert` job's change of state: the `detail` of EventBridge's
/// "MediaConvert Job State Change" (aws_lambda_events has no type for it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputGroupDetail {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub playlist_file_paths: Vec<String>,
    #[serde(default)]
    pub output_details: Vec<OutputDetail>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputDetail {
    #[serde(default)]
    pub output_file_paths: Vec<String>,
    #[serde(default)]
    pub duration_in_ms: Option<u64>,
    #[serde(default)]
    pub video_details: Option<VideoDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoDetails {
    pub width_in_px: u32,
    pub height_in_px: u32,
    #[serde(default)]
    pub average_bitrate: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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

/// The `detail` of S3's "Object Created" on EventBridge (the key as stored).
#[derive(Debug, Clone, Deserialize, Serialize)]
struct ObjectCreated {
    bucket: Named,
    object: CreatedObject,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Named {
    name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
struct CreatedObject {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
    #[serde(default)]
    version_id: Option<String>,
}

/// A classic notification, read a record at a time so one bad record does
/// not hide the others.
#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<Value>,
}

/// What S3 sends once when a notification is configured.
#[derive(Debug, Deserialize)]
struct TestEvent {
    #[serde(rename = "Event")]
    event: String,
}

/// The shapes this function takes, tried in order; anything else is kept
/// as it came, to be logged and skipped.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Shape {
    EventBridge(Box<EventBridgeEvent<Value>>),
    Notification(Notification),
    Test(TestEvent),
    Other(serde::de::IgnoredAny),
}

const S3_OBJECT_CREATED: (&str, &str) = ("aws.s3", "Object Created");
const MEDIACONVERT_JOB_STATE: (&str, &str) = ("aws.mediaconvert", "MediaConvert Job State Change");

/// Sorts an event by its shape.
pub fn parse(event: &Value) -> Incoming {
    let shape = Shape::deserialize(event).unwrap_or(Shape::Other(serde::de::IgnoredAny));
    match shape {
        Shape::EventBridge(envelope) => eventbridge(event, &envelope),
        Shape::Notification(n) => notification(&n.records),
        Shape::Test(t) if t.event == "s3:TestEvent" => Incoming::Other("S3 test event".into()),
        Shape::Test(_) | Shape::Other(_) if event.get("detail-type").is_some() => {
            Incoming::Other("unreadable EventBridge event: no source, detail-type or detail".into())
        }
        Shape::Test(_) | Shape::Other(_) => {
            Incoming::Other("not an EventBridge event nor an S3 notification".into())
        }
    }
}

/// An EventBridge event, its detail read as the type its source names.
fn eventbridge(event: &Value, envelope: &EventBridgeEvent<Value>) -> Incoming {
    let kind = (envelope.source.as_str(), envelope.detail_type.as_str());
    if kind == S3_OBJECT_CREATED {
        let upload = EventBridgeEvent::<ObjectCreated>::deserialize(event)
            .map_err(|e| format!("unreadable Object Created detail: {e}"))
            .and_then(|e| eventbridge_upload(e.detail));
        return match upload {
            Ok(u) => Incoming::Uploads {
                uploads: vec![u],
                bad: vec![],
            },
            Err(reason) => Incoming::Uploads {
                uploads: vec![],
                bad: vec![BadRecord { index: 0, reason }],
            },
        };
    }
    if kind == MEDIACONVERT_JOB_STATE {
        return match EventBridgeEvent::<JobState>::deserialize(event) {
            Ok(e) => Incoming::JobState(Box::new(e.detail)),
            Err(e) => Incoming::Other(format!("unreadable job state change: {e}")),
        };
    }
    Incoming::Other(format!(
        "not an event this function takes: source {:?}, detail-type {:?}",
        envelope.source, envelope.detail_type
    ))
}

fn notification(records: &[Value]) -> Incoming {
    let mut uploads = Vec::new();
    let mut bad = Vec::new();
    let mut skipped = 0;
    for (index, record) in records.iter().enumerate() {
        if record.get("s3").is_none() {
            bad.push(BadRecord {
                index,
                reason: "not an S3 record".into(),
            });
            continue;
        }
        match S3EventRecord::deserialize(record) {
            Ok(r)
                if !r
                    .event_name
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("ObjectCreated:") =>
            {
                skipped += 1;
            }
            Ok(r) => match classic_upload(r) {
                Ok(u) => uploads.push(u),
                Err(reason) => bad.push(BadRecord { index, reason }),
            },
            Err(e) => bad.push(BadRecord {
                index,
                reason: format!("unreadable S3 record: {e}"),
            }),
        }
    }
    if uploads.is_empty() && bad.is_empty() {
        return Incoming::Other(format!(
            "{skipped} S3 record(s), none is an object creation"
        ));
    }
    Incoming::Uploads { uploads, bad }
}

fn eventbridge_upload(detail: ObjectCreated) -> Result<Upload, String> {
    // EventBridge carries the key as stored: no decoding.
    let (bucket, o) = (detail.bucket.name, detail.object);
    if bucket.is_empty() {
        return Err("no detail.bucket.name".into());
    }
    if o.key.is_empty() {
        return Err("no detail.object.key".into());
    }
    Ok(Upload {
        bucket,
        key: o.key,
        size: o.size,
        etag: non_empty(o.etag),
        sequencer: non_empty(o.sequencer),
        version_id: non_empty(o.version_id),
    })
}

fn classic_upload(record: S3EventRecord) -> Result<Upload, String> {
    let s3 = record.s3;
    let bucket = non_empty(s3.bucket.name).ok_or("no s3.bucket.name")?;
    let encoded = non_empty(s3.object.key).ok_or("no s3.object.key")?;
    Ok(Upload {
        bucket,
        key: decode_key(&encoded)?,
        size: s3.object.size.and_then(|n| u64::try_from(n).ok()),
        etag: non_empty(s3.object.e_tag),
        sequencer: non_empty(s3.object.sequencer),
        version_id: non_empty(s3.object.version_id),
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Decodes a key from a classic S3 notification: form encoding, where `+`
/// is a space and `%2B` a plus.
pub fn decode_key(encoded: &str) -> Result<String, String> {
    let spaced = encoded.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| "the key does not decode to UTF-8".to_string())
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
