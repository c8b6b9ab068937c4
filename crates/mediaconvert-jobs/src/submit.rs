//! An upload becomes a job: what is ignored, the job's idempotency token and
//! claim, the spec, the tracks, and the refusals that stop it before
//! `CreateJob`.

use std::collections::BTreeMap;

use bytes::Bytes;
use hlsgate_aws::{Fetched, ObjectSink, ObjectSource, SourceError};
use hlsgate_core::status::Step;
use hlsgate_core::tracks::Tracks;
use hlsgate_core::video::VideoId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::event::Upload;
use crate::tracks::PlanError;
use crate::*;

/// Why an upload is not transcoded, or `None` when it is.
pub fn ignore_reason(config: &Config, upload: &Upload) -> Option<String> {
    if let Some(bucket) = &config.input_bucket
        && &upload.bucket != bucket
    {
        return Some(format!("bucket {} is not INPUT_BUCKET", upload.bucket));
    }
    if !upload.key.starts_with(&config.input_prefix) {
        return Some(format!("outside INPUT_PREFIX {}", config.input_prefix));
    }
    if upload.key.ends_with('/') {
        return Some("a folder marker".into());
    }
    if upload.size == Some(0) {
        return Some("an empty object".into());
    }
    let name = upload.key.rsplit('/').next().unwrap_or_default();
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    };
    if !config.extensions.contains(&ext) {
        return Some(format!(
            "extension {ext:?} is not in INPUT_EXTENSIONS ({})",
            config.extensions.join(",")
        ));
    }
    None
}

/// The `ClientRequestToken`: SHA-256 in hex (64 characters, `MediaConvert`'s
/// limit) of the stack, bucket, key, entity tag and sequencer. A redelivered
/// event has all five the same; a new write of the key has a new sequencer.
pub fn job_token(stack: &str, upload: &Upload) -> String {
    let mut h = Sha256::new();
    for part in [
        stack,
        &upload.bucket,
        &upload.key,
        upload.etag.as_deref().unwrap_or(""),
        upload.sequencer.as_deref().unwrap_or(""),
        upload.version_id.as_deref().unwrap_or(""),
    ] {
        // Length-prefixed, so no two different tuples hash the same bytes.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The record of a submitted job, `JOB_CLAIM_PREFIX/TOKEN.json` in the media
/// bucket. A redelivered event finds it and submits nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobClaim {
    pub token: String,
    pub job_id: String,
    pub video_id: String,
    pub source_bucket: String,
    pub source_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
    /// What the job was asked for: `playback.json` repeats it.
    #[serde(default)]
    pub tracks: Tracks,
}

/// The job for `upload`, as [`submit`] would create it.
pub fn job_spec(config: &Config, upload: &Upload) -> JobSpec {
    let video_id = VideoId::from_upload(&upload.bucket, &upload.key, &config.input_prefix);
    let mut metadata = BTreeMap::new();
    metadata.insert("videoId".to_string(), video_id.to_string());
    metadata.insert("stack".to_string(), config.stack.clone());
    metadata.insert("sourceBucket".to_string(), upload.bucket.clone());
    let token = job_token(&config.stack, upload);
    // The job's end finds its claim (and the tracks asked for) by it.
    metadata.insert("token".to_string(), token.clone());
    if upload.key.len() <= job::MAX_METADATA_KEY_BYTES {
        metadata.insert("sourceKey".to_string(), upload.key.clone());
    }
    JobSpec {
        token,
        destination: format!(
            "s3://{}/{}{}",
            config.media_bucket,
            config.folder_key(video_id.as_str()),
            job::MASTER_BASENAME
        ),
        source_uri: format!("s3://{}/{}", upload.bucket, upload.key),
        video_id,
        metadata,
        // SPEKE's is known now; a static key is made or read at submit.
        encryption: config.speke_encryption(),
        plan: tracks::Plan::default(),
    }
}

/// Creates the job for one upload, once.
pub async fn submit<T, N, S, U>(app: &App<T, N, S, U>, upload: &Upload) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    if let Some(reason) = ignore_reason(&app.config, upload) {
        tracing::info!(bucket = %upload.bucket, key = %upload.key, %reason, "upload ignored");
        return Ok(json!({"key": upload.key, "outcome": "ignored", "reason": reason}));
    }
    let mut spec = job_spec(&app.config, upload);
    let claim_key = format!("{}{}.json", app.config.claim_prefix, spec.token);
    match app.media.get(&claim_key, MAX_CLAIM_BYTES, None).await {
        Ok(Fetched::Object(o)) => match serde_json::from_slice::<JobClaim>(&o.body) {
            Ok(claim) if !claim.job_id.is_empty() => {
                // The step may not have been recorded when this event first
                // came (a failed write is why it came again).
                let submitted = Step::Submitted {
                    job_id: claim.job_id.clone(),
                };
                record(app, &spec, &upload.key, submitted).await?;
                tracing::info!(
                    key = %upload.key,
                    video_id = %spec.video_id,
                    job_id = %claim.job_id,
                    "already submitted; redelivery ignored"
                );
                return Ok(json!({
                    "key": upload.key,
                    "outcome": "duplicate",
                    "video_id": spec.video_id,
                    "job_id": claim.job_id,
                }));
            }
            _ => tracing::warn!(%claim_key, "unreadable job claim; submitting again"),
        },
        Ok(Fetched::NotModified) | Err(SourceError::NotFound) => {}
        Err(source) => {
            return Err(Failure::Store {
                what: format!("reading job claim {claim_key}"),
                source,
            });
        }
    }
    record(app, &spec, &upload.key, Step::Uploaded).await?;
    if let Some(size) = upload.size.filter(|s| *s > app.config.max_upload_bytes) {
        let message = format!(
            "{} is {size} bytes, over MAX_UPLOAD_BYTES ({})",
            upload.key, app.config.max_upload_bytes
        );
        return reject(app, upload, &spec, "too_large", &message).await;
    }
    let probe = app.transcoder.probe(&spec.source_uri).await;
    spec.plan = match tracks::plan(&app.uploads, &app.config.tracks, upload, probe).await {
        Ok(plan) => plan,
        Err(PlanError::Rejected(reason)) => {
            return reject(app, upload, &spec, "tracks", &reason.to_string()).await;
        }
        Err(PlanError::Store(source)) => {
            return Err(Failure::Store {
                what: format!("reading the tracks beside {}", spec.source_uri),
                source,
            });
        }
        Err(PlanError::Probe(source)) => {
            return Err(Failure::Call {
                what: format!("probing {}", spec.source_uri),
                source,
            });
        }
    };
    if app.config.encryption != key::Encryption::None
        && app.config.key_exchange == key::KeyExchange::Static
    {
        // The key goes into the job: made once per folder, or read back.
        let k = key::ensure(&app.media, &app.config.keys_prefix, &spec.video_id)
            .await
            .map_err(|e| Failure::Key(e.to_string()))?;
        spec.encryption = Some(key::JobEncryption::Static(k));
    }
    let job_id = app
        .transcoder
        .submit(&spec)
        .await
        .map_err(|source| Failure::Call {
            what: format!("creating the job for {}", spec.source_uri),
            source,
        })?;
    tracing::info!(
        key = %upload.key,
        video_id = %spec.video_id,
        %job_id,
        token = %spec.token,
        destination = %spec.destination,
        "job submitted"
    );
    let claim = JobClaim {
        token: spec.token.clone(),
        job_id: job_id.clone(),
        video_id: spec.video_id.to_string(),
        source_bucket: upload.bucket.clone(),
        source_key: upload.key.clone(),
        etag: upload.etag.clone(),
        sequencer: upload.sequencer.clone(),
        tracks: spec.plan.tracks(&app.config.tracks),
    };
    let body = serde_json::to_vec_pretty(&claim).unwrap_or_default();
    if let Err(e) = app
        .media
        .write(&claim_key, Bytes::from(body), "application/json")
        .await
    {
        // The job runs either way. Without the claim, a redelivery more
        // than a minute from now (MediaConvert's token window) would submit
        // again, so say so loudly, but do not fail: a retry now would not
        // be deduplicated any better.
        tracing::error!(%claim_key, error = %e, %job_id, "job claim not written");
    }
    let submitted = Step::Submitted {
        job_id: job_id.clone(),
    };
    record(app, &spec, &upload.key, submitted).await?;
    Ok(json!({
        "key": upload.key,
        "outcome": "submitted",
        "video_id": spec.video_id,
        "job_id": job_id,
    }))
}

/// Records `step` of the upload `spec` is for.
pub(crate) async fn record<T, N, S, U>(
    app: &App<T, N, S, U>,
    spec: &JobSpec,
    source_key: &str,
    step: Step,
) -> Result<bool, Failure>
where
    S: ObjectSink + ObjectSource,
{
    let next = status::step(&spec.video_id, source_key, Some(&spec.token), step);
    status::record(&app.media, &app.config.status_prefix, next).await
}

/// An upload that cannot be transcoded (its tracks cannot be used, it is
/// over `MAX_UPLOAD_BYTES`): no job, its status `error` with `reason`, and
/// an error notice that names the file and why (answered `Ok`: a retry
/// would fail alike).
async fn reject<T, N, S, U>(
    app: &App<T, N, S, U>,
    upload: &Upload,
    spec: &JobSpec,
    reason: &str,
    message: &str,
) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    tracing::warn!(key = %upload.key, video_id = %spec.video_id, %reason, message, "upload refused");
    let refused = Step::error(None, None, Some(reason), message);
    record(app, spec, &upload.key, refused).await?;
    let notice = Notice::new(
        NoticeKind::Error,
        &app.config.stack,
        spec.video_id.as_str(),
        json!({
            "reason": reason,
            "errorMessage": message,
            "sourceKey": upload.key,
            "sourceBucket": upload.bucket,
        }),
    );
    app.notifier
        .publish(&notice)
        .await
        .map_err(|source| Failure::Call {
            what: "publishing the error notice".into(),
            source,
        })?;
    Ok(json!({
        "key": upload.key,
        "outcome": "rejected",
        "video_id": spec.video_id,
        "reason": message,
    }))
}
