//! One JSON log line per request with what support needs, and never a
//! secret, signature or policy value.

use std::io::Write;
use std::sync::{Arc, Mutex};

use hlsgate_aws::telemetry;
use hlsgate_core::signing::Forwarded;
use tracing_subscriber::EnvFilter;

use crate::common::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_facts_never_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = telemetry::subscriber(EnvFilter::new("trace"), move || writer.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = app(&[]);
    let signed = signed_folder("demo");
    let wrong_secret = "test-only-origin-secreX";
    let calls = [
        Call::master(),
        Call::master().header("X-Origin-Verify", wrong_secret),
        Call::get("/videos/demo/missing.m3u8", &good_query()),
        Call::get("/videos/other/master.m3u8", &good_query()),
        Call::get("/videos/demo/../x.m3u8", &good_query()),
        Call::master().method("POST"),
    ];
    for c in &calls {
        call(&app, c).await;
    }
    drop(_guard);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let requests: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(requests.len(), calls.len());
    let ok = requests[0];
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["key"], "videos/demo/master.m3u8");
    assert_eq!(ok["request_id"], "CmRb2gAvoAMEV1Q=");
    assert_eq!(ok["uris_signed"], 7);
    assert!(ok["body_bytes"].as_u64().unwrap() > 0);
    assert!(ok["duration_us"].is_u64());
    let statuses: Vec<_> = requests
        .iter()
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 403, 404, 403, 400, 405]);

    let mut secrets = vec![
        SECRET.to_string(),
        "test-only-previous-secret".to_string(),
        wrong_secret.to_string(),
    ];
    for (_, v) in Forwarded::from_signed(&signed).edge_pairs() {
        if v.len() > 20 {
            secrets.push(v.to_string()); // policy and signature
            secrets.push(v[..20].to_string());
        }
    }
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "log leaks {s:.12}…:\n{logs}");
    }
}
