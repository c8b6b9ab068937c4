//! `ENTITLEMENT=webhook` against a local HTTP server started here: what it
//! is sent, how its answers are read, and the signature checked by the
//! Python and Node verifiers printed in `docs/entitlement.md`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hlsgate_aws::secret::{Secret, SecretLocation, StaticKeys};
use hlsgate_core::video::VideoId;
use hlsgate_signed_url_issuer::entitlement::webhook::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, Webhook, WebhookConfig,
};
use hlsgate_signed_url_issuer::entitlement::{Decision, EntitlementError, Entitlements, Store};
use hlsgate_signed_url_issuer::viewer::Viewer;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const SECRET: &str = "whsec-test-4f2a";

/// A request the server received.
#[derive(Debug, Clone)]
struct Seen {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// What the server answers.
#[derive(Debug, Clone)]
enum Reply {
    Json(u16, String),
    Raw(String),
    Slow(Duration),
}

/// An HTTP/1.1 server on loopback that records each request and answers
/// `reply`; written here on a socket so nothing of ours sits in between.
async fn server(reply: Reply) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/entitled", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let reply = reply.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_len, content_length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        break (end + 4, len);
                    }
                };
                while buf.len() < head_len + content_length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                log.lock().unwrap().push(Seen {
                    headers,
                    body: buf[head_len..].to_vec(),
                });
                let text = match reply {
                    Reply::Json(status, body) => format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    Reply::Raw(text) => text,
                    Reply::Slow(d) => {
                        tokio::time::sleep(d).await;
                        "HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"allow\": true}".into()
                    }
                };
                let _ = sock.write_all(text.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, seen)
}

fn webhook(url: &str, claims: &[&str], timeout: Duration) -> Webhook {
    let config = WebhookConfig {
        url: url.parse().unwrap(),
        secret: SecretLocation::Literal(SECRET.into()),
        claims: claims.iter().map(|c| c.to_string()).collect(),
        timeout,
    };
    Webhook::new(
        config,
        Secret::Literal(StaticKeys(SecretString::from(SECRET))),
    )
    .unwrap()
}

fn viewer() -> Viewer {
    Viewer::new(
        "user-1",
        [
            ("cognito:groups".to_string(), json!("[subscribers]")),
            ("email".to_string(), json!("viewer@example.com")),
        ]
        .into_iter()
        .collect(),
    )
}

fn id(s: &str) -> VideoId {
    VideoId::parse(s).unwrap()
}

async fn ask(reply: Reply) -> Result<Decision, EntitlementError> {
    let (url, _) = server(reply).await;
    webhook(&url, &[], Duration::from_millis(500))
        .check(&viewer(), &id("intro"), NOW)
        .await
}

fn detail(d: Result<Decision, EntitlementError>) -> &'static str {
    match d {
        Ok(Decision::Denied(d)) => d.detail,
        Ok(Decision::Allowed { .. }) => "allowed",
        Err(e) => e.detail,
    }
}

#[tokio::test]
async fn allow_deny_and_a_rental_end() {
    let ok = |body: Value| Reply::Json(200, body.to_string());
    assert_eq!(
        ask(ok(json!({"allow": true}))).await.unwrap(),
        Decision::ALLOWED
    );
    assert_eq!(
        ask(ok(
            json!({"allow": true, "expires_at": NOW + 60, "note": "extra fields are fine"})
        ))
        .await
        .unwrap(),
        Decision::allowed_until(Some(NOW + 60))
    );
    assert_eq!(
        detail(ask(ok(json!({"allow": true, "expires_at": NOW}))).await),
        "grant_expired"
    );
    assert_eq!(
        detail(ask(ok(json!({"allow": false}))).await),
        "webhook_denied"
    );
    // Milliseconds by mistake, or no number a signature can carry: a
    // malformed grant (403), never a 5xx.
    for end in [
        json!(253_402_300_800u64),
        json!(1e30),
        json!(-5),
        json!(1.5),
    ] {
        assert_eq!(
            detail(ask(ok(json!({"allow": true, "expires_at": end}))).await),
            "grant_malformed",
            "{end}"
        );
    }
}

#[tokio::test]
async fn an_answer_may_carry_the_grants_countries_and_screens() {
    let ok = |body: Value| Reply::Json(200, body.to_string());
    let d = ask(ok(
        json!({"allow": true, "countries": ["DE", "at"], "max_streams": 2}),
    ))
    .await
    .unwrap();
    let Decision::Allowed { until: None, terms } = d else {
        panic!("{d:?}")
    };
    assert_eq!(terms.max_streams, Some(2));
    let codes: Vec<&str> = terms
        .countries
        .as_ref()
        .unwrap()
        .codes()
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(codes, ["DE", "AT"]);
    // Terms that cannot be read grant nothing: a typo must not drop a
    // regional plan's limit.
    for bad in [
        json!({"allow": true, "countries": ["Germany"]}),
        json!({"allow": true, "countries": []}),
        json!({"allow": true, "max_streams": 101}),
        json!({"allow": true, "max_streams": -1}),
        json!({"allow": true, "max_streams": 1.5}),
    ] {
        assert_eq!(
            detail(ask(ok(bad.clone())).await),
            "grant_malformed",
            "{bad}"
        );
    }
    // A wrongly typed member is not an answer at all.
    assert_eq!(
        detail(ask(ok(json!({"allow": true, "countries": "DE"}))).await),
        "webhook_answer"
    );
}

#[tokio::test]
async fn anything_but_a_clear_answer_is_an_error_not_a_denial() {
    assert_eq!(
        detail(ask(Reply::Json(500, r#"{"allow": true}"#.into())).await),
        "webhook_status"
    );
    // What an error says of the endpoint leaves its query string out.
    let (url, _) = server(Reply::Json(503, "{}".into())).await;
    let e = webhook(
        &format!("{url}?token=t0ps3cret"),
        &[],
        Duration::from_millis(500),
    )
    .check(&viewer(), &id("intro"), NOW)
    .await
    .unwrap_err();
    assert!(
        e.message.contains("/entitled answered 503"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("t0ps3cret"), "{}", e.message);
    assert_eq!(
        detail(ask(Reply::Json(200, "allow=true".into())).await),
        "webhook_answer"
    );
    assert_eq!(
        detail(ask(Reply::Json(200, r#"{"allow": "yes"}"#.into())).await),
        "webhook_answer"
    );
    let huge = json!({"allow": true, "pad": "x".repeat(32 * 1024)}).to_string();
    assert_eq!(detail(ask(Reply::Json(200, huge)).await), "webhook_answer");
    let started = std::time::Instant::now();
    assert_eq!(
        detail(ask(Reply::Slow(Duration::from_secs(3))).await),
        "webhook_timeout"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A redirect is not followed, even to an endpoint that would allow.
    let (target, hits) = server(Reply::Json(200, r#"{"allow": true}"#.into())).await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n"
    );
    assert_eq!(detail(ask(Reply::Raw(redirect)).await), "webhook_redirect");
    assert!(hits.lock().unwrap().is_empty());
    // Nobody listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let r = webhook(&closed, &[], Duration::from_millis(500))
        .check(&viewer(), &id("intro"), NOW)
        .await;
    assert_eq!(detail(r), "webhook_unreachable");
}

#[tokio::test]
async fn the_request_carries_only_the_configured_claims_and_a_signature_others_can_check() {
    let (url, seen) = server(Reply::Json(200, r#"{"allow": true}"#.into())).await;
    webhook(
        &url,
        &["cognito:groups", "absent"],
        Duration::from_millis(500),
    )
    .check(&viewer(), &id("intro"), NOW)
    .await
    .unwrap();
    let got = seen.lock().unwrap()[0].clone();
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body,
        json!({"subject": "user-1", "video_id": "intro", "claims": {"cognito:groups": "[subscribers]"}})
    );
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers[TIMESTAMP_HEADER], NOW.to_string());
    let signature = &got.headers[SIGNATURE_HEADER];
    verify_with_the_documented_examples(&got.body, signature);
}

/// Runs the docs' Python and Node verifiers on what the server received:
/// true for the real request, false with one byte of the body changed.
fn verify_with_the_documented_examples(body: &[u8], signature: &str) {
    let page = std::fs::read_to_string(fixtures().join("../docs/entitlement.md")).unwrap();
    let block = |lang: &str| {
        let start = page
            .find(&format!("```{lang}\n"))
            .unwrap_or_else(|| panic!("no {lang} block in docs/entitlement.md"));
        let rest = &page[start + lang.len() + 4..];
        rest[..rest.find("```").unwrap()].to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    std::fs::write(&good, body).unwrap();
    let mut tampered = body.to_vec();
    tampered[5] ^= 1;
    std::fs::write(&bad, tampered).unwrap();
    let python = format!(
        "{}\nimport sys\nbody = open(sys.argv[1], 'rb').read()\n\
         print(verify(sys.argv[2].encode(), sys.argv[3], body, sys.argv[4], now=int(sys.argv[3])))\n",
        block("python")
    );
    let node = format!(
        "{}\nconst [file, secret, ts, sig] = process.argv.slice(1);\n\
         console.log(verify(secret, ts, require('node:fs').readFileSync(file), sig, Number(ts)) ? 'True' : 'False');\n",
        block("js")
    );
    for (program, flag, source) in [("python3", "-c", python), ("node", "-e", node)] {
        for (file, want) in [(&good, "True"), (&bad, "False")] {
            let out = std::process::Command::new(program)
                .args([flag, &source])
                .arg(file)
                .args([SECRET, &NOW.to_string(), signature])
                .output();
            let Ok(out) = out else {
                eprintln!("skipped the {program} verifier: {program} is not on PATH");
                continue;
            };
            let printed = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                printed.trim(),
                want,
                "{program}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[tokio::test]
async fn through_the_handler_an_outage_is_503_and_answers_are_cached() {
    let (down, _) = server(Reply::Json(502, "{}".into())).await;
    let cfg = config(&[
        ("ENTITLEMENT", "webhook"),
        ("ENTITLEMENT_URL", &down),
        ("ENTITLEMENT_SECRET", SECRET),
    ]);
    let store = Store::Webhook(Box::new(webhook(&down, &[], Duration::from_millis(500))));
    let app = app_entitled(Entitlements::with_store(&cfg.entitlement, store).unwrap());
    let r = call(&app, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(json_body(&r)["error"], "entitlement_unavailable");

    let (up, seen) = server(Reply::Json(
        200,
        json!({"allow": true, "expires_at": NOW + 90}).to_string(),
    ))
    .await;
    let store = Store::Webhook(Box::new(webhook(&up, &[], Duration::from_millis(500))));
    let app = app_entitled(Entitlements::with_store(&cfg.entitlement, store).unwrap());
    for _ in 0..3 {
        let r = call(&app, &Call::new(Shape::Http)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            json_body(&r)["expires_at"],
            json_body(&r)["grant_expires_at"]
        );
    }
    assert_eq!(seen.lock().unwrap().len(), 1, "cached after the first");
}
