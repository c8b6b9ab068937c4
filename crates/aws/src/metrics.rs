//! CloudWatch metrics as Embedded Metric Format (EMF): one JSON document per
//! request or event, written to stdout beside the log lines, which
//! CloudWatch Logs turns into metrics with no API call and no agent.
//!
//! Written once here, for every function: [`Metrics`] knows the
//! namespace, the function's name (the `Function` dimension every metric
//! carries) and where documents go; [`Emf`] collects one document's values.
//! Dimensions stay small (at most `Function` and two more), so a metric's
//! series count is bounded by our own enums and key ids, never by a viewer.
//!
//! The EMF specification:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::env::Env;

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "hlsgate";

/// Every metric name the functions emit, declared once: the template's
/// alarms and dashboard name the same strings (infra/tests checks them).
pub mod name {
    /// Requests answered, by `StatusClass` (`2xx` … `5xx`).
    pub const REQUESTS: &str = "Requests";
    /// Refused requests, by `Reason` (the refusal's code, or its detail).
    pub const REFUSALS: &str = "Refusals";
    /// Origin requests whose origin secret did not match.
    pub const ORIGIN_SECRET_MISMATCHES: &str = "OriginSecretMismatches";
    /// Signatures issued, by `Mode` (`url`, `cookies`) and `KeyId`.
    pub const SIGNATURES: &str = "Signatures";
    /// Playlist or `playback.json` reads served from the function's cache.
    pub const CACHE_HITS: &str = "CacheHits";
    /// … and those that went to S3.
    pub const CACHE_MISSES: &str = "CacheMisses";
    /// Response body bytes (as sent, compressed or not).
    pub const BYTES_OUT: &str = "BytesOut";
    /// URIs signed in playlists.
    pub const URIS_SIGNED: &str = "UrisSigned";
    /// Keys the key provider answered (SPEKE).
    pub const KEYS_PROVIDED: &str = "KeysProvided";
    /// MediaConvert jobs created.
    pub const JOBS_SUBMITTED: &str = "JobsSubmitted";
    /// Jobs that ended `COMPLETE` (a `playback.json` written).
    pub const JOBS_COMPLETED: &str = "JobsCompleted";
    /// Jobs that ended `ERROR`.
    pub const JOBS_FAILED: &str = "JobsFailed";
    /// Playback sessions started, by `Store` (`table`, `stateless`).
    pub const SESSIONS_STARTED: &str = "SessionsStarted";
    /// Sessions renewed.
    pub const SESSIONS_RENEWED: &str = "SessionsRenewed";
    /// Starts and renewals refused for the session's sake, by `Reason`
    /// (`too_many_streams`, `session_ended`, `session_expired`, …).
    pub const SESSIONS_REFUSED: &str = "SessionsRefused";
    /// Sessions ended, by `Reason` (`viewer`, `beacon`, `evicted`, `revoked`).
    pub const SESSIONS_ENDED: &str = "SessionsEnded";
}

/// The dimension every metric carries.
pub const FUNCTION_DIMENSION: &str = "Function";

/// EMF units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
        }
    }
}

/// Where documents go: stdout in Lambda, a buffer in tests, nowhere in
/// benchmarks (which still pay for building each one).
#[derive(Debug, Clone, Default)]
enum Sink {
    #[default]
    Stdout,
    Captured(Arc<Mutex<Vec<String>>>),
    Discarded,
}

/// A function's metrics: namespace, name and sink.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    function: &'static str,
    sink: Sink,
}

/// Equal when they name the same series (wherever the documents go).
impl PartialEq for Metrics {
    fn eq(&self, other: &Self) -> bool {
        self.namespace == other.namespace && self.function == other.function
    }
}

impl Metrics {
    /// Documents to stdout under `namespace`.
    pub fn new(namespace: impl Into<String>, function: &'static str) -> Self {
        Metrics {
            namespace: namespace.into(),
            function,
            sink: Sink::Stdout,
        }
    }

    /// `METRICS_NAMESPACE` (default `hlsgate`; the template sets
    /// `hlsgate/STACK`, so two stacks in one account stay apart).
    pub fn from_env(env: &mut Env, function: &'static str) -> Self {
        let namespace = env
            .optional("METRICS_NAMESPACE")
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string();
        if namespace.is_empty()
            || namespace.len() > 255
            || namespace.starts_with(':')
            || !namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_/#:".contains(&b))
        {
            env.problem(format!(
                "METRICS_NAMESPACE={namespace:?}: expected a CloudWatch namespace like hlsgate/prod"
            ));
        }
        Metrics::new(namespace, function)
    }

    /// Documents kept in memory, returned by [`Metrics::captured`]: for tests.
    pub fn capture(namespace: &str, function: &'static str) -> Self {
        Metrics {
            namespace: namespace.to_string(),
            function,
            sink: Sink::Captured(Arc::default()),
        }
    }

    /// Documents rendered and dropped: for benchmarks, which measure the
    /// rendering without printing a line per iteration.
    pub fn discard(namespace: &str, function: &'static str) -> Self {
        Metrics {
            namespace: namespace.to_string(),
            function,
            sink: Sink::Discarded,
        }
    }

    /// The documents written so far (parsed), when capturing.
    pub fn captured(&self) -> Vec<Value> {
        match &self.sink {
            Sink::Stdout | Sink::Discarded => Vec::new(),
            Sink::Captured(lines) => lines
                .lock()
                .map(|l| {
                    l.iter()
                        .filter_map(|s| serde_json::from_str(s).ok())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A new, empty document.
    pub fn document(&self) -> Emf {
        Emf::default()
    }

    /// Writes `doc` as one line; a document with no metric writes nothing.
    pub fn emit(&self, doc: Emf) {
        let Some(line) = doc.render(&self.namespace, self.function, now_ms()) else {
            return;
        };
        match &self.sink {
            Sink::Stdout => {
                // One locked write of the whole line, so it never
                // interleaves with a log line (and tests capture it).
                println!("{line}");
            }
            Sink::Captured(lines) => {
                if let Ok(mut l) = lines.lock() {
                    l.push(line);
                }
            }
            Sink::Discarded => {
                std::hint::black_box(line);
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One EMF document: metric values, each with its own dimension set.
#[derive(Debug, Default)]
pub struct Emf {
    /// (dimension names besides `Function`, metric name, unit)
    directives: Vec<(Vec<&'static str>, &'static str, Unit)>,
    dimensions: Vec<(&'static str, String)>,
    values: Vec<(&'static str, f64)>,
}

impl Emf {
    /// Adds `value` of metric `name`, with `dimensions` besides `Function`.
    /// A metric is recorded once per document (a second value adds up);
    /// a dimension name keeps its first value in a document.
    pub fn add(
        &mut self,
        name: &'static str,
        unit: Unit,
        value: f64,
        dimensions: &[(&'static str, &str)],
    ) -> &mut Self {
        for (k, v) in dimensions {
            if !self.dimensions.iter().any(|(n, _)| n == k) {
                self.dimensions.push((k, v.to_string()));
            }
        }
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += value,
            None => {
                self.values.push((name, value));
                self.directives
                    .push((dimensions.iter().map(|(k, _)| *k).collect(), name, unit));
            }
        }
        self
    }

    /// [`add`](Self::add) of a count.
    pub fn count(&mut self, name: &'static str, dimensions: &[(&'static str, &str)]) -> &mut Self {
        self.add(name, Unit::Count, 1.0, dimensions)
    }

    /// The document as one line of JSON, written straight into one string
    /// (a handler emits one per request: no value tree, one allocation).
    fn render(self, namespace: &str, function: &str, timestamp_ms: u64) -> Option<String> {
        if self.directives.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(256 + 160 * self.directives.len());
        out.push_str("{\"_aws\":{\"Timestamp\":");
        out.push_str(&timestamp_ms.to_string());
        out.push_str(",\"CloudWatchMetrics\":[");
        for (i, (dims, name, unit)) in self.directives.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"Namespace\":");
            json_str(&mut out, namespace);
            out.push_str(",\"Dimensions\":[[");
            json_str(&mut out, FUNCTION_DIMENSION);
            for d in dims {
                out.push(',');
                json_str(&mut out, d);
            }
            out.push_str("]],\"Metrics\":[{\"Name\":");
            json_str(&mut out, name);
            out.push_str(",\"Unit\":");
            json_str(&mut out, unit.as_str());
            out.push_str("}]}");
        }
        out.push_str("]},");
        json_str(&mut out, FUNCTION_DIMENSION);
        out.push(':');
        json_str(&mut out, function);
        for (k, v) in &self.dimensions {
            out.push(',');
            json_str(&mut out, k);
            out.push(':');
            json_str(&mut out, v);
        }
        for (k, v) in &self.values {
            out.push(',');
            json_str(&mut out, k);
            out.push(':');
            json_number(&mut out, *v);
        }
        out.push('}');
        Some(out)
    }
}

/// `s` as a JSON string: as is when nothing needs escaping (our names and
/// codes), else through serde_json.
fn json_str(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::from(s).to_string());
    }
}

/// A whole number without a fraction, any other finite one as Rust writes
/// it (never an exponent, so valid JSON), a non-finite one (which JSON
/// cannot hold) as 0.
fn json_number(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push('0');
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        out.push_str(&(v as i64).to_string());
    } else {
        out.push_str(&v.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_names_each_metric_with_its_dimensions() {
        let m = Metrics::capture("hlsgate/test", "manifest-rewriter");
        let mut doc = m.document();
        doc.count(name::REQUESTS, &[("StatusClass", "2xx")])
            .add(name::BYTES_OUT, Unit::Bytes, 1200.0, &[])
            .add(name::BYTES_OUT, Unit::Bytes, 34.0, &[]);
        m.emit(doc);
        m.emit(m.document()); // nothing to say: no line
        let docs = m.captured();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d["Function"], "manifest-rewriter");
        assert_eq!(d["StatusClass"], "2xx");
        assert_eq!(d["Requests"], 1.0);
        assert_eq!(d["BytesOut"], 1234.0);
        let directives = d["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Namespace"], "hlsgate/test");
        assert_eq!(
            directives[0]["Dimensions"],
            json!([["Function", "StatusClass"]])
        );
        assert_eq!(
            directives[1]["Metrics"],
            json!([{"Name": "BytesOut", "Unit": "Bytes"}])
        );
        assert!(d["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }

    #[test]
    fn values_that_need_escaping_are_escaped_and_numbers_stay_numbers() {
        let m = Metrics::capture("hlsgate/test", "signed-url-issuer");
        let mut doc = m.document();
        doc.count(name::SIGNATURES, &[("Mode", "url"), ("KeyId", "K\"2\\é")])
            .add(name::BYTES_OUT, Unit::Bytes, 0.5, &[])
            .add(name::URIS_SIGNED, Unit::Count, f64::NAN, &[]);
        m.emit(doc);
        let d = &m.captured()[0];
        assert_eq!(d["KeyId"], "K\"2\\é");
        assert_eq!(d["Signatures"], 1);
        assert_eq!(d["BytesOut"], 0.5);
        assert_eq!(d["UrisSigned"], 0);
    }

    #[test]
    fn a_bad_namespace_is_a_configuration_problem() {
        let mut env = Env::from_pairs([("METRICS_NAMESPACE", "has space")]);
        let m = Metrics::from_env(&mut env, "x");
        assert_eq!(m.namespace(), "has space");
        assert!(env.finish().is_err());
        let mut env = Env::from_pairs(Vec::<(String, String)>::new());
        assert_eq!(Metrics::from_env(&mut env, "x").namespace(), "hlsgate");
        assert!(env.finish().is_ok());
    }
}
