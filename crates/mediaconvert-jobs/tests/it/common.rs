//! Shared setup: config, fixtures, and recording fakes for the transcoder
//! and the notifier.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hlsgate_aws::{CallError, CallFailure, Env, MemoryObjects, SourceError};
use hlsgate_mediaconvert_jobs::tracks::Listed;
use hlsgate_mediaconvert_jobs::{App, Config, JobSpec, Notice, Notifier, Transcoder, Uploads};
use serde_json::Value;

pub const UPLOADS: &str = "hlsgate-uploads-123456789012";
pub const MEDIA: &str = "hlsgate-media-123456789012";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/hlsgate-mediaconvert";
pub const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:hlsgate-notices";
pub const QUEUE: &str = "arn:aws:mediaconvert:eu-west-1:123456789012:queues/Default";

/// The video id of `uploads/launch/Product Tour.mp4` in [`UPLOADS`].
pub const TOUR_ID: &str = "launch-product-tour_uOb6FZ_vBM50xq-gnfY8hqd1TEV24sheZOLbtzqYa6A";
/// The video id of `uploads/My Trip/café + friends.mov` in [`UPLOADS`].
pub const TRIP_ID: &str = "my-trip-caf-friends_hx-xN9l2wazLu7ab_q2lfKFH5fl2VhRyNFQMhMBPYx8";

pub fn env(extra: &[(&str, &str)]) -> Env {
    let mut vars: Vec<(String, String)> = vec![
        ("MEDIA_BUCKET".into(), MEDIA.into()),
        ("MEDIACONVERT_ROLE_ARN".into(), ROLE.into()),
        ("NOTIFY_TOPIC_ARN".into(), TOPIC.into()),
    ];
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Env::from_pairs(vars)
}

pub fn config(extra: &[(&str, &str)]) -> Config {
    Config::from(env(extra)).unwrap_or_else(|e| panic!("{e}"))
}

pub fn fixture(name: &str) -> Value {
    let bytes = hlsgate_aws::testing::read(&format!("events/{name}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

/// A fixture with one field replaced, by JSON pointer.
pub fn fixture_with(name: &str, edits: &[(&str, Value)]) -> Value {
    let mut v = fixture(name);
    for (pointer, value) in edits {
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{name} has no {pointer}")) = value.clone();
    }
    v
}

/// A throttling error as the SDK would describe it.
pub fn throttled() -> CallError {
    CallError {
        failure: CallFailure::Throttled,
        status: Some(429),
        code: Some("TooManyRequestsException".into()),
        message: Some("Too many requests".into()),
        request_id: Some("REQ-1".into()),
    }
}

/// Records every job; answers `job-N`, or the errors queued with `fail`.
/// Its probe answers the audio languages set with `audio`, one unlabelled
/// stream by default, or the error queued with `fail_probe`.
#[derive(Debug, Clone)]
pub struct FakeTranscoder {
    pub jobs: Arc<Mutex<Vec<JobSpec>>>,
    pub failures: Arc<Mutex<Vec<CallError>>>,
    pub audio: Arc<Mutex<Vec<Option<String>>>>,
    pub probe_failures: Arc<Mutex<Vec<CallError>>>,
}

impl Default for FakeTranscoder {
    fn default() -> Self {
        FakeTranscoder {
            jobs: Arc::default(),
            failures: Arc::default(),
            audio: Arc::new(Mutex::new(vec![None])),
            probe_failures: Arc::default(),
        }
    }
}

impl FakeTranscoder {
    pub fn jobs(&self) -> Vec<JobSpec> {
        self.jobs.lock().unwrap().clone()
    }
    pub fn fail_next(&self, e: CallError) {
        self.failures.lock().unwrap().push(e);
    }
    pub fn audio(&self, languages: &[Option<&str>]) {
        *self.audio.lock().unwrap() = languages.iter().map(|l| l.map(str::to_string)).collect();
    }
    pub fn fail_probe(&self, e: CallError) {
        self.probe_failures.lock().unwrap().push(e);
    }
}

impl Transcoder for FakeTranscoder {
    async fn probe(&self, _source_uri: &str) -> Result<Vec<Option<String>>, CallError> {
        if let Some(e) = self.probe_failures.lock().unwrap().pop() {
            return Err(e);
        }
        Ok(self.audio.lock().unwrap().clone())
    }

    async fn submit(&self, job: &JobSpec) -> Result<String, CallError> {
        if let Some(e) = self.failures.lock().unwrap().pop() {
            return Err(e);
        }
        let mut jobs = self.jobs.lock().unwrap();
        jobs.push(job.clone());
        Ok(format!("job-{}", jobs.len()))
    }
}

/// Records every notice; answers `msg-N`, or the errors queued with `fail`.
#[derive(Debug, Clone, Default)]
pub struct FakeNotifier {
    pub notices: Arc<Mutex<Vec<Notice>>>,
    pub failures: Arc<Mutex<Vec<CallError>>>,
}

impl FakeNotifier {
    pub fn notices(&self) -> Vec<Notice> {
        self.notices.lock().unwrap().clone()
    }
    pub fn fail_next(&self, e: CallError) {
        self.failures.lock().unwrap().push(e);
    }
}

impl Notifier for FakeNotifier {
    async fn publish(&self, notice: &Notice) -> Result<String, CallError> {
        if let Some(e) = self.failures.lock().unwrap().pop() {
            return Err(e);
        }
        let mut notices = self.notices.lock().unwrap();
        notices.push(notice.clone());
        Ok(format!("msg-{}", notices.len()))
    }
}

/// (bucket, key) → (bytes, last modified in ms).
type Stored = BTreeMap<(String, String), (Bytes, i64)>;

/// Upload buckets in memory: bytes and a last-modified time per key.
#[derive(Debug, Clone, Default)]
pub struct MemoryUploads(Arc<Mutex<Stored>>);

impl MemoryUploads {
    /// Stores `key` in [`UPLOADS`], last modified at `ms`.
    pub fn put(&self, key: &str, body: impl Into<Bytes>, ms: i64) {
        self.0
            .lock()
            .unwrap()
            .insert((UPLOADS.to_string(), key.to_string()), (body.into(), ms));
    }
}

impl Uploads for MemoryUploads {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<Listed>, SourceError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .take(max)
            .map(|((_, k), (body, ms))| Listed {
                key: k.clone(),
                size: body.len() as u64,
                last_modified_ms: *ms,
            })
            .collect())
    }

    async fn head(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Bytes, SourceError> {
        let map = self.0.lock().unwrap();
        let (body, _) = map
            .get(&(bucket.to_string(), key.to_string()))
            .ok_or(SourceError::NotFound)?;
        Ok(body.slice(..body.len().min(max_bytes as usize)))
    }
}

pub type FakeApp = App<FakeTranscoder, FakeNotifier, MemoryObjects, MemoryUploads>;

pub fn app(extra: &[(&str, &str)]) -> FakeApp {
    App {
        config: config(extra),
        transcoder: FakeTranscoder::default(),
        notifier: FakeNotifier::default(),
        media: MemoryObjects::new(),
        uploads: MemoryUploads::default(),
    }
}

/// The key provider's API, as the template passes it (`SPEKE_URL`).
pub const SPEKE_URL: &str =
    "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/copyProtection";
