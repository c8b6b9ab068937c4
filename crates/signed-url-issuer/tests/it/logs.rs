//! One JSON log line per request with what support needs (hashed subject,
//! video id, mode, expiry, key id) and never a subject, token, signature,
//! policy or key.

use hlsgate_aws::testing::LogCapture;

use crate::common::*;

#[tokio::test]
async fn logs_carry_facts_never_secrets() {
    let capture = LogCapture::default();
    let guard = capture.install();

    let mut extra = COOKIES.to_vec();
    extra.push(("LOG_HASH_KEY", "test-only-log-hash-key"));
    extra.push(("BIND_VIEWER_IP", "true"));
    let app = app(&extra);
    let mut secrets = Vec::new();
    let calls = [
        Call::new(Shape::Http),
        Call::new(Shape::Rest).mode("cookies"),
        Call::new(Shape::Http).with_source_ip("2001:db8::7"),
        Call::new(Shape::Http).claim("cognito:groups", Some("free")),
        Call::new(Shape::Rest).anonymous(),
        Call::new(Shape::Http).video("missing"),
    ];
    for c in &calls {
        let r = call(&app, c).await;
        if let Some(url) = json_body(&r)["manifest_url"].as_str()
            && let Some((_, q)) = url.split_once('?')
        {
            secrets.extend(
                q.split('&')
                    .map(|p| p.split_once('=').unwrap().1.to_string()),
            );
        }
        secrets.extend(cookie_jar(&r).into_values());
        let body = json_body(&r);
        for field in ["id", "end_token"] {
            if let Some(v) = body["session"][field].as_str() {
                secrets.push(v.to_string());
            }
        }
    }
    drop(guard);
    let logs = capture.text();
    let lines = capture.lines();
    let requests: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(requests.len(), calls.len());

    let ok = requests[0];
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["video_id"], "demo");
    assert_eq!(ok["mode"], "url");
    assert_eq!(ok["expires"], NOW + 300);
    // The session by its pseudonym only: its id renews it, its end token ends it.
    assert_eq!(ok["session"].as_str().unwrap().len(), 32);
    assert_eq!(ok["key_id"], KEY_ID);
    assert_eq!(ok["ip_bound"], true);
    assert_eq!(ok["request_id"], "CmRb5hBwoAMEV2Q=");
    let subject = ok["subject"].as_str().unwrap();
    assert_eq!(subject.len(), 32);
    assert_eq!(requests[1]["subject"], subject, "one viewer, one pseudonym");
    assert_eq!(requests[1]["mode"], "cookies");
    assert_eq!(requests[2]["ip_bound"], false);
    assert!(logs.contains("IPv6 viewer"));
    assert_eq!(requests[3]["status"], 403);
    assert_eq!(requests[4]["status"], 401);
    assert!(requests[4]["subject"].is_null());
    assert_eq!(requests[5]["status"], 404);
    let refused: Vec<_> = lines.iter().filter(|l| l["message"] == "refused").collect();
    assert_eq!(refused.len(), 3);

    assert!(!logs.contains(SUB), "raw subject in logs");
    assert!(!logs.contains("viewer-one"), "username in logs");
    assert!(!logs.contains("test-only-log-hash-key"));
    assert!(!logs.contains("BEGIN"));
    assert!(secrets.len() >= 8);
    for s in secrets.iter().filter(|s| s.len() > 20) {
        assert!(
            !logs.contains(s.as_str()),
            "signature, policy or session token in logs"
        );
    }
}
