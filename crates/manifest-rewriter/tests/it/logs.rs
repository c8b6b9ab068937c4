//! One JSON log line per request with what support needs, and never a
//! secret, signature or policy value.

use hlsgate_aws::testing::LogCapture;
use hlsgate_core::signing::Forwarded;

use crate::common::*;

#[tokio::test]
async fn logs_carry_facts_never_secrets() {
    let capture = LogCapture::default();
    let guard = capture.install();

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
    drop(guard);
    let logs = capture.text();
    let lines = capture.lines();
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
