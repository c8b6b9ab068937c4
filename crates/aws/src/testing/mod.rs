//! Helpers for tests (feature `test-util`): replayed or starved SDK calls,
//! captured logs, the project's fixtures and test keys, and requests as
//! API Gateway delivers them.

pub mod contract;
mod fixtures;
mod request;
mod wire;

pub use fixtures::*;
pub use request::{ApiRequest, Shape};
pub use wire::{Sent, Wire};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::sdk::Timeouts;

/// An S3 error response as S3 sends it, with request id `REQ123` and a
/// message that must never reach a viewer.
pub fn s3_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
         <Message>internal S3 words</Message><RequestId>REQ123</RequestId></Error>"
    );
    let mut r = response(status, SdkBody::from(body));
    r.headers_mut().insert("x-amz-request-id", "REQ123");
    r
}

/// A bare response: `status` (100–999) and `body`.
pub fn response(status: u16, body: SdkBody) -> HttpResponse {
    let status = StatusCode::try_from(status).unwrap_or_else(|e| panic!("status {status}: {e}"));
    HttpResponse::new(status, body)
}

/// An endpoint that accepts connections and never answers.
pub async fn silent_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    format!("http://{addr}")
}

/// Tight limits for timeout tests: 100 ms an attempt, 2 attempts, 400 ms in all.
pub const FAST_TIMEOUTS: Timeouts = Timeouts {
    connect: std::time::Duration::from_millis(200),
    attempt: std::time::Duration::from_millis(100),
    operation: std::time::Duration::from_millis(400),
    max_attempts: 2,
};

/// An S3 client for `endpoint` with `timeouts` and our retry policy.
pub fn s3_client(endpoint: &str, timeouts: Timeouts) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test");
    crate::sdk::endpoint_s3_client(endpoint, creds, Some(timeouts))
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<LogCapture>> = const { std::cell::RefCell::new(None) };
}

type OptionalWriter = tracing_subscriber::fmt::writer::OptionalWriter<LogCapture>;

/// Captures on this thread until dropped, then puts back what was there.
#[must_use = "the capture ends when the guard is dropped"]
#[derive(Debug)]
pub struct CaptureGuard(Option<LogCapture>);

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        CAPTURE.with(|c| *c.borrow_mut() = previous);
    }
}

/// Log output collected in memory, as the functions write it (JSON lines).
#[derive(Debug, Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Captures every event at every level on this thread until the guard
    /// is dropped.
    ///
    /// One process-wide subscriber serves every capture, and each event
    /// goes to the capture installed on the thread that emits it. A
    /// subscriber per test (`set_default`) is not enough: while it is the
    /// only one alive, tracing asks just the registering thread's default
    /// about a new callsite, so a test without a capture that reaches a
    /// shared callsite first caches `never` for it, and the capturing test's
    /// event on that callsite is dropped.
    pub fn install(&self) -> CaptureGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            use tracing_subscriber::layer::SubscriberExt;
            let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
                CAPTURE.with(|c| c.borrow().is_some())
            });
            let subscriber =
                crate::telemetry::subscriber(tracing_subscriber::EnvFilter::new("trace"), || {
                    CAPTURE.with(|c| OptionalWriter::from(c.borrow().clone()))
                })
                .with(capturing);
            // A process that set its own global subscriber keeps it; its
            // tests capture nothing, and say so by failing.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        // A callsite registered before the subscriber above existed may
        // still hold the `never` it was given then.
        tracing::callsite::rebuild_interest_cache();
        CaptureGuard(CAPTURE.with(|c| c.replace(Some(self.clone()))))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Every line, parsed; a line that is not JSON fails the test.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
