//! The ingest Lambda: an upload becomes exactly one `MediaConvert` HLS job,
//! and the job's end becomes `playback.json` plus a notice on SNS.
//!
//! One function, dispatched on the event:
//! - S3 "Object Created" (EventBridge) or a classic S3 notification →
//!   [`submit`]: filter, derive the video id, create the job once.
//! - "MediaConvert Job State Change" for our stack → [`notify`].
//!
//! Failure semantics: a problem with the event itself (an unsupported key,
//! an unreadable record, another stack's job) is logged and answered `Ok`,
//! so a poison event is not retried forever. A failed AWS call answers `Err`,
//! so EventBridge retries and its dead-letter queue keeps what never
//! succeeds; redeliveries are safe, since every step is idempotent.

pub mod config;
pub mod event;
pub mod job;
pub mod key;
pub mod notice;
pub mod status;
pub mod tracks;

use std::collections::BTreeMap;

use bytes::Bytes;
use hlsgate_aws::metrics::{Emf, Metrics, Unit, name};
use hlsgate_aws::{CallError, Fetched, ObjectSink, ObjectSource, SourceError};
use hlsgate_core::status::Step;
use hlsgate_core::tracks::Tracks;
use hlsgate_core::video::{DEFAULT_MASTER_NAME, Playback, Rendition, SIDECAR_NAME, VideoId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use config::Config;
use event::{Incoming, JobState, Upload};
pub use job::{JobSpec, MediaConvert, Transcoder};
pub use notice::{Notice, NoticeKind, Notifier, SnsNotifier};
use tracks::PlanError;
pub use tracks::Uploads;

/// Longest job claim read back (they are a few hundred bytes).
const MAX_CLAIM_BYTES: u64 = 64 * 1024;

/// Everything the handler needs, built once per cold start.
#[derive(Debug)]
pub struct App<T, N, S, U> {
    pub config: Config,
    pub transcoder: T,
    pub notifier: N,
    /// The media bucket: job claims and `playback.json` are written here.
    pub media: S,
    /// The upload bucket(s), read for caption files and track manifests.
    pub uploads: U,
}

/// A failed AWS call; the invocation answers `Err` so the event is retried.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{what}: {source}")]
    Call {
        what: String,
        #[source]
        source: CallError,
    },
    #[error("{what}: {source}")]
    Store {
        what: String,
        #[source]
        source: SourceError,
    },
    /// The video's key could not be read, stored or made: the job is not
    /// submitted (an unencrypted ladder would be worse than none).
    #[error("the video's AES-128 key: {0}")]
    Key(String),
}

/// What Lambda records for a failed invocation: the kind of failure and the
/// message (no secrets in either; the service's own words are for operators).
impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(f: Failure) -> Self {
        let error_type = match &f {
            Failure::Call { .. } => "hlsgate::AwsCallFailed",
            Failure::Store { .. } => "hlsgate::StorageFailed",
            Failure::Key(_) => "hlsgate::KeyFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_string(),
            error_message: f.to_string(),
        }
    }
}

/// Handles one event. `Ok` carries a summary of what was done (also
/// logged); `Err` means "retry me".
pub async fn handle<T, N, S, U>(app: &App<T, N, S, U>, event: &Value) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    let result = dispatch(app, event).await;
    if let Ok(report) = &result {
        app.config
            .metrics
            .emit(job_metrics(&app.config.metrics, report));
    }
    result
}

/// The EMF document of a handled event, read off its report: jobs created,
/// and jobs that ended (a redelivered end is counted again; EventBridge
/// redelivers rarely, and only after a failure, which is alarmed on too).
pub fn job_metrics(metrics: &Metrics, report: &Value) -> Emf {
    let mut doc = metrics.document();
    let submitted = report["uploads"].as_array().map_or(0, |u| {
        u.iter().filter(|u| u["outcome"] == "submitted").count()
    });
    if submitted > 0 {
        doc.add(name::JOBS_SUBMITTED, Unit::Count, submitted as f64, &[]);
    }
    match report["status"].as_str() {
        Some("COMPLETE") => {
            doc.count(name::JOBS_COMPLETED, &[]);
        }
        Some("ERROR") => {
            doc.count(name::JOBS_FAILED, &[]);
        }
        _ => {}
    }
    doc
}

async fn dispatch<T, N, S, U>(app: &App<T, N, S, U>, event: &Value) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    match event::parse(event) {
        Incoming::Uploads { uploads, bad } => {
            for b in &bad {
                tracing::warn!(record = b.index, reason = %b.reason, "upload record skipped");
            }
            let mut report = Vec::new();
            let mut first_failure = None;
            // Every upload is tried even when one fails; the retry of the
            // whole event then finds the others already submitted.
            for upload in &uploads {
                match submit(app, upload).await {
                    Ok(outcome) => report.push(outcome),
                    Err(failure) => {
                        tracing::error!(key = %upload.key, error = %failure, "submit failed; the event will be retried");
                        first_failure.get_or_insert(failure);
                    }
                }
            }
            match first_failure {
                Some(f) => Err(f),
                None => Ok(json!({
                    "uploads": report,
                    "bad_records": bad.len(),
                })),
            }
        }
        Incoming::JobState(state) => notify(app, &state).await,
        Incoming::Other(reason) => {
            tracing::warn!(%reason, "event ignored");
            Ok(json!({"ignored": reason}))
        }
    }
}

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
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
        key: None,
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
    let probe = app.transcoder.probe(&spec.source_uri).await;
    spec.plan = match tracks::plan(&app.uploads, &app.config.tracks, upload, probe).await {
        Ok(plan) => plan,
        Err(PlanError::Rejected(reason)) => return reject(app, upload, &spec, &reason).await,
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
    if app.config.encryption == key::Encryption::Aes128 {
        let k = key::ensure(&app.media, &app.config.keys_prefix, &spec.video_id)
            .await
            .map_err(|e| Failure::Key(e.to_string()))?;
        spec.key = Some(k);
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
async fn record<T, N, S, U>(
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

/// An upload whose tracks cannot be used: no job, and an error notice that
/// names the file and the reason (answered `Ok`: a retry would fail alike).
async fn reject<T, N, S, U>(
    app: &App<T, N, S, U>,
    upload: &Upload,
    spec: &JobSpec,
    reason: &hlsgate_core::tracks::TrackError,
) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    let message = reason.to_string();
    tracing::warn!(key = %upload.key, video_id = %spec.video_id, reason = %message, "upload refused: its tracks cannot be used");
    let refused = Step::error(None, None, Some("tracks"), &message);
    record(app, spec, &upload.key, refused).await?;
    let notice = Notice::new(
        NoticeKind::Error,
        &app.config.stack,
        spec.video_id.as_str(),
        json!({
            "reason": "tracks",
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

/// Acts on a job's change of state: every step is recorded in the video's
/// status; `COMPLETE` writes `playback.json` and publishes; `ERROR`
/// publishes; `STATUS_UPDATE` publishes when `NOTIFY_PROGRESS` is on;
/// anything else is logged.
pub async fn notify<T, N, S, U>(app: &App<T, N, S, U>, state: &JobState) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    let config = &app.config;
    if state.user_metadata.get("stack") != Some(&config.stack) {
        tracing::debug!(job_id = %state.job_id, "job of another stack ignored");
        return Ok(json!({"ignored": "job of another stack", "job_id": state.job_id}));
    }
    let video_id = match state
        .user_metadata
        .get("videoId")
        .map(|s| VideoId::parse(s))
    {
        Some(Ok(id)) => id,
        Some(Err(e)) => {
            tracing::warn!(job_id = %state.job_id, error = %e, "job metadata has a bad videoId");
            return Ok(json!({"ignored": "bad videoId", "job_id": state.job_id}));
        }
        None => {
            tracing::warn!(job_id = %state.job_id, "job metadata has no videoId");
            return Ok(json!({"ignored": "no videoId", "job_id": state.job_id}));
        }
    };
    let mut common = json!({"jobId": state.job_id});
    for (meta, field) in [("sourceKey", "sourceKey"), ("sourceBucket", "sourceBucket")] {
        if let Some(v) = state.user_metadata.get(meta) {
            common[field] = v.clone().into();
        }
    }
    let source_key = state
        .user_metadata
        .get("sourceKey")
        .map_or("", String::as_str);
    let token = state.user_metadata.get("token").map(String::as_str);
    let job_id = state.job_id.clone();
    let step = match state.status.as_str() {
        "PROGRESSING" => Some(Step::Progressing {
            job_id,
            percent: None,
            phase: None,
        }),
        "STATUS_UPDATE" => {
            let progress = state.job_progress.as_ref();
            Some(Step::Progressing {
                job_id,
                percent: progress
                    .and_then(|p| p.job_percent_complete)
                    .map(|p| p.min(100) as u8),
                phase: progress.and_then(|p| p.current_phase.clone()),
            })
        }
        "ERROR" => Some(Step::error(
            Some(job_id),
            state.error_code,
            None,
            state.error_message.as_deref().unwrap_or(""),
        )),
        // Recorded once playback.json is written, below.
        _ => None,
    };
    if let Some(step) = step {
        let next = status::step(&video_id, source_key, token, step);
        status::record(&app.media, &config.status_prefix, next).await?;
    }
    let notice = match state.status.as_str() {
        "COMPLETE" => {
            let mut playback = playback(config, &video_id, state);
            playback.tracks = claimed_tracks(app, state).await;
            let key = format!("{}{SIDECAR_NAME}", config.folder_key(video_id.as_str()));
            let body = serde_json::to_vec_pretty(&playback).unwrap_or_default();
            app.media
                .write(&key, Bytes::from(body), "application/json")
                .await
                .map_err(|source| Failure::Store {
                    what: format!("writing {key}"),
                    source,
                })?;
            tracing::info!(video_id = %video_id, job_id = %state.job_id, %key, "playback.json written");
            let complete = Step::Complete {
                job_id: state.job_id.clone(),
                duration_seconds: playback.duration_seconds,
                renditions: playback.renditions.clone(),
            };
            let next = status::step(&video_id, source_key, token, complete);
            status::record(&app.media, &config.status_prefix, next).await?;
            common["masterKey"] = playback.master_key.clone().into();
            common["playbackPath"] = playback.public_path.clone().into();
            common["durationSeconds"] = json!(playback.duration_seconds);
            common["renditions"] = json!(playback.renditions);
            common["tracks"] = json!(playback.tracks);
            Notice::new(
                NoticeKind::Complete,
                &config.stack,
                video_id.as_str(),
                common,
            )
        }
        "ERROR" => {
            let message =
                hlsgate_core::status::cut_message(state.error_message.as_deref().unwrap_or(""));
            tracing::warn!(
                video_id = %video_id,
                job_id = %state.job_id,
                error_code = state.error_code,
                error_message = %message,
                "job failed"
            );
            common["errorCode"] = json!(state.error_code);
            common["errorMessage"] = message.into();
            Notice::new(NoticeKind::Error, &config.stack, video_id.as_str(), common)
        }
        "STATUS_UPDATE" if config.notify_progress => {
            let progress = state.job_progress.as_ref();
            common["percentComplete"] = json!(progress.and_then(|p| p.job_percent_complete));
            common["phase"] = json!(progress.and_then(|p| p.current_phase.clone()));
            Notice::new(
                NoticeKind::Progress,
                &config.stack,
                video_id.as_str(),
                common,
            )
        }
        other => {
            tracing::info!(video_id = %video_id, job_id = %state.job_id, status = other, "job state");
            return Ok(json!({"status": other, "job_id": state.job_id, "published": false}));
        }
    };
    let message_id = app
        .notifier
        .publish(&notice)
        .await
        .map_err(|source| Failure::Call {
            what: format!("publishing the {} notice", notice.kind.as_str()),
            source,
        })?;
    tracing::info!(
        video_id = %video_id,
        job_id = %state.job_id,
        event = notice.kind.as_str(),
        %message_id,
        "notice published"
    );
    Ok(json!({
        "status": state.status,
        "job_id": state.job_id,
        "published": notice.kind.as_str(),
        "message_id": message_id,
    }))
}

/// The tracks the job was asked for, from its claim (found by the token in
/// its metadata). Without a claim the sidecar says none: the ladder plays
/// the same, the menus are just not known ahead.
async fn claimed_tracks<T, N, S, U>(app: &App<T, N, S, U>, state: &JobState) -> Tracks
where
    S: ObjectSource,
{
    let Some(token) = state.user_metadata.get("token") else {
        return Tracks::default();
    };
    let key = format!("{}{token}.json", app.config.claim_prefix);
    match app.media.get(&key, MAX_CLAIM_BYTES, None).await {
        Ok(Fetched::Object(o)) => match serde_json::from_slice::<JobClaim>(&o.body) {
            Ok(claim) => claim.tracks,
            Err(e) => {
                tracing::warn!(%key, error = %e, "unreadable job claim; playback.json lists no tracks");
                Tracks::default()
            }
        },
        other => {
            tracing::warn!(%key, outcome = ?other.err(), "no job claim; playback.json lists no tracks");
            Tracks::default()
        }
    }
}

/// The sidecar for a completed job. The master is where [`submit`] put it;
/// duration and renditions come from the HLS group's output details.
pub fn playback(config: &Config, id: &VideoId, state: &JobState) -> Playback {
    let master_key = format!("{}{DEFAULT_MASTER_NAME}", config.folder_key(id.as_str()));
    let hls = state
        .output_group_details
        .iter()
        .find(|g| g.kind.as_deref() == Some("HLS_GROUP"));
    if let Some(reported) = hls.and_then(|g| g.playlist_file_paths.first()) {
        let expected = format!("s3://{}/{master_key}", config.media_bucket);
        if reported != &expected {
            tracing::warn!(%reported, %expected, "the job's master is not where we asked for it");
        }
    }
    let outputs = hls.map(|g| g.output_details.as_slice()).unwrap_or(&[]);
    let duration_ms = outputs.iter().filter_map(|o| o.duration_in_ms).max();
    let renditions = outputs
        .iter()
        .filter_map(|o| o.video_details.as_ref())
        .map(|v| Rendition {
            width: v.width_in_px,
            height: v.height_in_px,
            bitrate: v.average_bitrate,
        })
        .collect();
    // The frame capture group reports the last frame it wrote: the poster.
    let folder = config.folder_key(id.as_str());
    let bucket_prefix = format!("s3://{}/", config.media_bucket);
    let poster_key = state
        .output_group_details
        .iter()
        .filter(|g| g.kind.as_deref() == Some("FILE_GROUP"))
        .flat_map(|g| &g.output_details)
        .flat_map(|o| &o.output_file_paths)
        .filter_map(|p| p.strip_prefix(&bucket_prefix))
        .find(|k| k.starts_with(&folder) && k.ends_with(".jpg"))
        .map(str::to_string);
    Playback {
        video_id: id.clone(),
        public_path: format!("/{master_key}"),
        master_key,
        duration_seconds: duration_ms.map(|ms| ms as f64 / 1000.0),
        renditions,
        tracks: Tracks::default(),
        poster_key,
    }
}
