//! Shared setup: config, fixtures, and recording fakes for the transcoder
//! and the notifier.

use std::sync::{Arc, Mutex};

use hlsgate_aws::{CallError, CallFailure, Env, MemoryObjects};
use hlsgate_mediaconvert_jobs::{App, Config, JobSpec, Notice, Notifier, Transcoder};
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
#[derive(Debug, Clone, Default)]
pub struct FakeTranscoder {
    pub jobs: Arc<Mutex<Vec<JobSpec>>>,
    pub failures: Arc<Mutex<Vec<CallError>>>,
}

impl FakeTranscoder {
    pub fn jobs(&self) -> Vec<JobSpec> {
        self.jobs.lock().unwrap().clone()
    }
    pub fn fail_next(&self, e: CallError) {
        self.failures.lock().unwrap().push(e);
    }
}

impl Transcoder for FakeTranscoder {
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

pub type FakeApp = App<FakeTranscoder, FakeNotifier, MemoryObjects>;

pub fn app(extra: &[(&str, &str)]) -> FakeApp {
    App {
        config: config(extra),
        transcoder: FakeTranscoder::default(),
        notifier: FakeNotifier::default(),
        media: MemoryObjects::new(),
    }
}
