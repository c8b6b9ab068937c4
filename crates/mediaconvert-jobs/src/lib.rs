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
mod job_state;
pub mod key;
pub mod language;
pub mod notice;
pub mod status;
mod submit;
pub mod tracks;

use hlsgate_aws::metrics::{Emf, Metrics, Unit, name};
use hlsgate_aws::{CallError, ObjectSink, ObjectSource, SourceError};
use serde_json::{Value, json};

pub use config::Config;
use event::Incoming;
pub use job::{JobSpec, MediaConvert, Transcoder};
pub use job_state::{notify, playback};
pub use notice::{Notice, NoticeKind, Notifier, SnsNotifier};
pub use submit::{JobClaim, ignore_reason, job_spec, job_token, submit};
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
