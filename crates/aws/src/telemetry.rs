//! One logging setup for every function, as Lambda's advanced logging
//! controls configure it:
//!
//! - level: `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `FATAL`, set by the
//!   function's `LoggingConfig.ApplicationLogLevel`) wins over `RUST_LOG`
//!   (any `EnvFilter` directive, for local runs), else `info`;
//! - format: `AWS_LAMBDA_LOG_FORMAT=Text` gives plain lines; `JSON`, or
//!   nothing, gives one JSON object a line on stdout with the event's fields
//!   at the top level, which CloudWatch Logs Insights queries by name.
//!
//! This is lambda_runtime's `init_default_subscriber` rule for the two
//! variables, kept in our own few lines because that init loses what our
//! logs need: its JSON nests every field under `fields`, its default with
//! no variable is text, `RUST_LOG` still adds directives under
//! `AWS_LAMBDA_LOG_LEVEL`, and it panics when a subscriber is already set.
//!
//! Nothing secret is ever a field: handlers log ids, keys, sizes and codes,
//! never signatures, policies or secret values.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The variables [`LogSettings::from_env`] reads.
pub const VARIABLES: [&str; 3] = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG", "AWS_LAMBDA_LOG_FORMAT"];

/// Which lines the functions write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// The level filter and the format, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// An `EnvFilter` directive.
    pub filter: String,
    pub format: LogFormat,
}

impl LogSettings {
    /// Reads the two variables through `var` (the process environment in
    /// [`init`]); `default` is the filter when neither level is set.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>, default: &str) -> LogSettings {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let filter = match set("AWS_LAMBDA_LOG_LEVEL") {
            // Lambda's levels; FATAL has no tracing level of its own.
            Some(level) if level.trim().eq_ignore_ascii_case("fatal") => "error".to_string(),
            Some(level) => level.trim().to_ascii_lowercase(),
            None => set("RUST_LOG").unwrap_or_else(|| default.to_string()),
        };
        let format = match set("AWS_LAMBDA_LOG_FORMAT") {
            Some(f) if f.trim().eq_ignore_ascii_case("text") => LogFormat::Text,
            _ => LogFormat::Json,
        };
        LogSettings { filter, format }
    }

    /// The process environment's settings.
    pub fn from_env(default: &str) -> LogSettings {
        LogSettings::from_lookup(|n| std::env::var(n).ok(), default)
    }

    /// The filter; a directive that does not parse falls back to `default`.
    pub fn env_filter(&self, default: &str) -> EnvFilter {
        EnvFilter::try_new(&self.filter).unwrap_or_else(|_| EnvFilter::new(default))
    }
}

/// The process environment's filter ([`LogSettings`]), for callers that
/// build their own subscriber (the local stack).
pub fn filter(default: &str) -> EnvFilter {
    LogSettings::from_env(default).env_filter(default)
}

/// The JSON subscriber the functions use, writing to `writer`.
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

/// The subscriber `settings` ask for, writing to `writer`.
pub fn subscriber_for<W>(settings: &LogSettings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = settings.env_filter("info");
    match settings.format {
        LogFormat::Json => Box::new(subscriber(filter, writer)),
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt()
                .with_target(false)
                .with_ansi(false)
                .with_env_filter(filter)
                .with_writer(writer)
                .finish(),
        ),
    }
}

/// Installs the process-wide subscriber (once; later calls are no-ops).
pub fn init() {
    let settings = LogSettings::from_env("info");
    let _ = tracing::subscriber::set_global_default(subscriber_for(&settings, std::io::stdout));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_lookup(
            |n| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            },
            "info",
        )
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        assert_eq!(settings(&[]).filter, "info");
        assert_eq!(
            settings(&[("RUST_LOG", "hlsgate=debug")]).filter,
            "hlsgate=debug"
        );
        let both = settings(&[("RUST_LOG", "trace"), ("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
        assert_eq!(both.filter, "warn");
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).filter,
            "error"
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", " "), ("RUST_LOG", "debug")]).filter,
            "debug"
        );
    }

    #[test]
    fn lambda_log_format_picks_text_or_json() {
        assert_eq!(settings(&[]).format, LogFormat::Json);
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).format,
            LogFormat::Json
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).format,
            LogFormat::Text
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_FORMAT", "text")]).format,
            LogFormat::Text
        );
    }

    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn written(s: &LogSettings) -> String {
        let sink = Sink::default();
        let out = sink.clone();
        let sub = subscriber_for(s, move || out.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::debug!(n = 1, "hidden at info");
            tracing::warn!(status = 503, "refused");
        });
        let bytes = sink
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn the_subscriber_follows_the_settings() {
        let json = written(&settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]));
        let line: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_default();
        assert_eq!(line["status"], 503, "{json}");
        assert_eq!(line["message"], "refused");
        assert!(!json.contains("hidden"));

        let text = written(&settings(&[
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
            ("RUST_LOG", "debug"),
        ]));
        assert!(
            text.contains("hidden at info") && text.contains("status=503"),
            "{text}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(text.lines().next().unwrap_or("")).is_err()
        );
    }
}
