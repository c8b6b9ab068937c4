//! Notices to the team: a JSON body, a short subject, and message
//! attributes `event` and `videoId` that SNS subscription filter policies
//! can match on. The [`Notifier`] trait publishes them; SNS in AWS, a
//! printed line in dev.

use std::future::Future;

use aws_sdk_sns::types::MessageAttributeValue;
use hlsgate_aws::CallError;
use serde_json::Value;

/// SNS refuses subjects over 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// What happened; the `event` attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The ladder is written and `playback.json` is in place.
    Complete,
    /// The job failed; the body has `errorCode` and `errorMessage`.
    Error,
    /// `STATUS_UPDATE`, when `NOTIFY_PROGRESS=true`.
    Progress,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Complete => "complete",
            NoticeKind::Error => "error",
            NoticeKind::Progress => "progress",
        }
    }
}

/// One message for the topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub video_id: String,
    pub subject: String,
    /// The JSON body; always has `event` and `videoId`.
    pub body: Value,
}

impl Notice {
    pub fn new(kind: NoticeKind, stack: &str, video_id: &str, mut body: Value) -> Notice {
        if let Some(map) = body.as_object_mut() {
            map.insert("event".into(), kind.as_str().into());
            map.insert("videoId".into(), video_id.into());
            map.insert("stack".into(), stack.into());
        }
        let what = match kind {
            NoticeKind::Complete => "ready",
            NoticeKind::Error => "failed",
            NoticeKind::Progress => "progress",
        };
        Notice {
            kind,
            video_id: video_id.to_string(),
            subject: subject(&format!("[{stack}] video {what}: {video_id}")),
            body,
        }
    }

    /// The attributes a subscription filter policy matches on.
    pub fn attributes(&self) -> [(&'static str, &str); 2] {
        [("event", self.kind.as_str()), ("videoId", &self.video_id)]
    }
}

/// An SNS subject: printable ASCII only, at most [`MAX_SUBJECT_CHARS`],
/// cut with `...` when longer.
pub fn subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.len() <= MAX_SUBJECT_CHARS {
        clean.to_string()
    } else {
        format!("{}...", &clean[..MAX_SUBJECT_CHARS - 3])
    }
}

/// Publishes notices.
pub trait Notifier: Send + Sync {
    /// Publishes `notice`; answers the message id.
    fn publish(&self, notice: &Notice) -> impl Future<Output = Result<String, CallError>> + Send;
}

/// An SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> SnsNotifier {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, notice: &Notice) -> Result<String, CallError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notice.subject)
            .message(notice.body.to_string());
        for (name, value) in notice.attributes() {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| CallError::local(format!("message attribute {name}: {e}")))?;
            request = request.message_attributes(name, attribute);
        }
        let out = request.send().await.map_err(|e| CallError::from_sdk(&e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_fit_sns() {
        let long = "x".repeat(128);
        let n = Notice::new(
            NoticeKind::Complete,
            "hlsgate",
            &long,
            serde_json::json!({}),
        );
        assert_eq!(n.subject.len(), MAX_SUBJECT_CHARS);
        assert!(n.subject.starts_with("[hlsgate] video ready: xxx"));
        assert!(n.subject.ends_with("..."));
        assert_eq!(subject("a\nb é"), "a?b ?");
        assert_eq!(n.body["event"], "complete");
        assert_eq!(n.body["videoId"], long.as_str());
        assert_eq!(n.attributes(), [("event", "complete"), ("videoId", &*long)]);
    }
}
