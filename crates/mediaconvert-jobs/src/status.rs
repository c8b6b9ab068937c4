//! Each video's processing status (`hlsgate_core::status`), recorded at
//! every step: `uploaded` when an upload is taken, `submitted` with the job,
//! `progressing` from `MediaConvert`'s updates, then `complete` or `error`.
//! A step is merged into what is stored ([`Status::advance`]), so
//! redeliveries and late events never move a status back; a write that
//! fails fails the invocation, so EventBridge retries it.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hlsgate_aws::{Fetched, ObjectSink, ObjectSource, SourceError};
use hlsgate_core::status::{MAX_STATUS_BYTES, Status, Step, status_key};
use hlsgate_core::video::VideoId;

use crate::Failure;

/// A step of `video_id`'s upload `source_key` (job `token`), now.
pub fn step(video_id: &VideoId, source_key: &str, token: Option<&str>, step: Step) -> Status {
    Status {
        video_id: video_id.clone(),
        source_key: source_key.to_string(),
        token: token.map(str::to_string),
        step,
        updated_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    }
}

/// Merges `next` into the stored status; `true` when it was written.
pub async fn record<S>(media: &S, status_prefix: &str, mut next: Status) -> Result<bool, Failure>
where
    S: ObjectSink + ObjectSource,
{
    let key = status_key(status_prefix, &next.video_id);
    let stored = match media.get(&key, MAX_STATUS_BYTES, None).await {
        Ok(Fetched::Object(o)) => Status::from_json(&o.body),
        Ok(Fetched::NotModified) | Err(SourceError::NotFound) => None,
        Err(source) => {
            return Err(Failure::Store {
                what: format!("reading {key}"),
                source,
            });
        }
    };
    // A job's events name the upload only when its key fit the metadata.
    if next.source_key.is_empty()
        && let Some(s) = &stored
    {
        next.source_key.clone_from(&s.source_key);
    }
    let Some(status) = next.advance(stored.as_ref()) else {
        return Ok(false);
    };
    media
        .write(&key, Bytes::from(status.to_json()), "application/json")
        .await
        .map_err(|source| Failure::Store {
            what: format!("writing {key}"),
            source,
        })?;
    tracing::info!(video_id = %status.video_id, %key, state = status.step.name(), "status recorded");
    Ok(true)
}
