//! One logging setup for every function: JSON lines on stdout (CloudWatch
//! reads them as structured logs), level from `RUST_LOG` or Lambda's
//! `AWS_LAMBDA_LOG_LEVEL`, `info` by default.
//!
//! Nothing secret is ever a field: handlers log ids, keys, sizes and codes,
//! never signatures, policies or secret values.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter: `RUST_LOG` wins, then `AWS_LAMBDA_LOG_LEVEL`, then `default`.
pub fn filter(default: &str) -> EnvFilter {
    let spec = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
        .to_ascii_lowercase();
    EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(default))
}

/// The JSON subscriber over any writer; tests pass a buffer to read the logs.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout for the whole process. Calling it
/// twice keeps the first.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(filter("info"), std::io::stdout));
}
