//! `ENTITLEMENT=dynamodb` against a real DynamoDB-compatible server
//! (dynalite, started here) through the real `aws-sdk-dynamodb` client;
//! throttling, which a local server never does, replayed.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use hlsgate_aws::local_dynamodb::LocalDynamo;
use hlsgate_core::video::VideoId;
use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::grants::{Grant, Target, Window};
use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;
use hlsgate_signed_url_issuer::entitlement::{Decision, Entitlements, Store, Terms};

use crate::common::*;

/// dynalite, or `None` with a message when it is not installed; under CI
/// its absence fails the test instead.
pub fn dynalite() -> Option<LocalDynamo> {
    match LocalDynamo::start() {
        Ok(s) => Some(s),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn id(s: &str) -> VideoId {
    VideoId::parse(s).unwrap()
}

fn grant(subject: &str, target: &str, not_before: Option<u64>, expires_at: Option<u64>) -> Grant {
    Grant {
        subject: subject.into(),
        target: Target::parse(target).unwrap(),
        window: Window {
            not_before,
            expires_at,
        },
        terms: Terms::NONE,
    }
}

/// A decision in words: `allowed`, `until NOW+N`, or the denial's detail.
fn outcome(d: Decision) -> String {
    match d {
        Decision::Denied(d) => d.detail.to_string(),
        Decision::Allowed { until: None, .. } => "allowed".into(),
        Decision::Allowed { until: Some(t), .. } => {
            format!("until NOW{:+}", t as i64 - NOW as i64)
        }
    }
}

async fn table(db: &LocalDynamo, name: &str) -> GrantsTable {
    let t = GrantsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
        name,
    );
    t.create().await.unwrap();
    t
}

#[tokio::test]
async fn exact_collection_expired_not_yet_and_revoked_grants() {
    let Some(db) = dynalite() else { return };
    let t = table(&db, "grants-cases").await;
    for g in [
        grant("alice", "intro", None, None),
        grant("alice", "course-101-*", None, Some(NOW + 100)),
        grant("alice", "old", None, Some(NOW)),
        grant("alice", "later", Some(NOW + 50), None),
        grant("alice", "course-101-x", None, Some(NOW - 1)),
        grant("bob", "*", Some(NOW - 10), Some(NOW + 10)),
    ] {
        t.put(&g).await.unwrap();
    }
    let check = |subject: &'static str, video: &'static str, wildcards: bool| {
        let t = t.clone();
        async move { outcome(t.check(subject, &id(video), wildcards, NOW).await.unwrap()) }
    };
    for (subject, video, wildcards, want) in [
        // Exact.
        ("alice", "intro", false, "allowed"),
        // A collection, only with wildcards on, and until its end.
        ("alice", "course-101-week2", true, "until NOW+100"),
        ("alice", "course-101-week2", false, "no_grant"),
        ("alice", "course-102", true, "no_grant"),
        // An ended exact grant does not hide a collection that still holds.
        ("alice", "course-101-x", true, "until NOW+100"),
        ("alice", "course-101-x", false, "grant_expired"),
        // Expired by our clock, though DynamoDB's TTL has not deleted it.
        ("alice", "old", true, "grant_expired"),
        ("alice", "later", true, "grant_not_yet"),
        // `*` is everything; other viewers hold nothing.
        ("bob", "anything", true, "until NOW+10"),
        ("carol", "intro", true, "no_grant"),
    ] {
        assert_eq!(
            check(subject, video, wildcards).await,
            want,
            "{subject} {video} {wildcards}"
        );
    }
    // Revoked.
    assert!(
        t.delete("alice", &Target::parse("intro").unwrap())
            .await
            .unwrap()
    );
    assert!(
        !t.delete("alice", &Target::parse("intro").unwrap())
            .await
            .unwrap()
    );
    assert_eq!(check("alice", "intro", true).await, "no_grant");
    // Listed, collections first.
    let listed: Vec<String> = t
        .list("alice")
        .await
        .unwrap()
        .iter()
        .map(|g| g.target.to_string())
        .collect();
    assert_eq!(listed, ["course-101-*", "course-101-x", "later", "old"]);
}

#[tokio::test]
async fn an_item_written_by_hand_with_a_bad_end_grants_nothing() {
    let Some(db) = dynalite() else { return };
    let t = table(&db, "grants-bad").await;
    let raw = dynamo::local_client(&db.endpoint(), Duration::from_secs(5));
    raw.put_item()
        .table_name("grants-bad")
        .item("subject", AttributeValue::S("alice".into()))
        .item("video", AttributeValue::S("intro".into()))
        .item("expires_at", AttributeValue::S("tomorrow".into()))
        .send()
        .await
        .unwrap();
    raw.put_item()
        .table_name("grants-bad")
        .item("subject", AttributeValue::S("alice".into()))
        .item("video", AttributeValue::S("whole".into()))
        .item("expires_at", AttributeValue::N(format!("{}.0", NOW + 5)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        outcome(t.check("alice", &id("intro"), false, NOW).await.unwrap()),
        "grant_malformed"
    );
    assert_eq!(
        t.check("alice", &id("whole"), false, NOW).await.unwrap(),
        Decision::allowed_until(Some(NOW + 5))
    );
}

#[tokio::test]
async fn a_missing_table_is_a_clear_503_and_fails_the_start_up_probe() {
    let Some(db) = dynalite() else { return };
    let t = GrantsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
        "no-such-table",
    );
    let e = t.check("alice", &id("intro"), true, NOW).await.unwrap_err();
    assert_eq!(e.detail, "grants_table_missing");
    assert!(e.message.contains("no-such-table"), "{}", e.message);
    assert_eq!(t.probe().await.unwrap_err().detail, "grants_table_missing");
    // Through the handler: 503 with Retry-After, never a 403.
    let cfg = config(&[
        ("ENTITLEMENT", "dynamodb"),
        ("GRANTS_TABLE", "no-such-table"),
    ]);
    let entitlements = Entitlements::with_store(&cfg.entitlement, Store::Table(t)).unwrap();
    let app = app_entitled(entitlements);
    let r = call(&app, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "retry-after"), Some("1"));
    assert_eq!(json_body(&r)["error"], "entitlement_unavailable");
}

/// DynamoDB's answer to a throttled read.
fn throttled() -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    let mut r = response(
        400,
        SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
        ),
    );
    r.headers_mut().insert("x-amzn-requestid", "THROTTLED1");
    r
}

#[tokio::test]
async fn throttling_is_a_retryable_503_not_a_403() {
    let rule = mock!(Client::get_item).then_http_response(throttled);
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled()));
    let t = GrantsTable::new(client, "grants");
    let e = t
        .check("alice", &id("intro"), false, NOW)
        .await
        .unwrap_err();
    assert_eq!(e.detail, "grants_throttled");
    assert!(e.message.contains("THROTTLED1"), "{}", e.message);
    let cfg = config(&[("ENTITLEMENT", "dynamodb"), ("GRANTS_TABLE", "grants")]);
    let entitlements = Entitlements::with_store(&cfg.entitlement, Store::Table(t)).unwrap();
    let app = app_entitled(entitlements);
    let logs = LogCapture::default();
    let r = {
        let _g = logs.install();
        call(&app, &Call::new(Shape::Http)).await
    };
    assert_eq!(r.status(), 503);
    assert_eq!(json_body(&r)["error"], "entitlement_unavailable");
    let refused = logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "refused")
        .unwrap();
    assert_eq!(refused["detail"], "grants_throttled");
    // A failure is never cached: the next call asks again.
    assert!(app.entitlement.cache().is_empty());
}

#[tokio::test]
async fn through_the_handler_a_rental_caps_the_signature_and_is_cached() {
    let Some(db) = dynalite() else { return };
    let t = table(&db, "grants-handler").await;
    t.put(&grant(SUB, "demo", None, Some(NOW + 120)))
        .await
        .unwrap();
    // Claim rules still apply first: the fixture viewer is a subscriber.
    let cfg = config(&[
        ("ENTITLEMENT", "dynamodb"),
        ("GRANTS_TABLE", "grants-handler"),
    ]);
    let entitlements = Entitlements::with_store(&cfg.entitlement, Store::Table(t.clone())).unwrap();
    let app = app_entitled(entitlements);
    let r = call(&app, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 200, "{:?}", body(&r));
    let b = json_body(&r);
    assert_eq!(b["expires_at"], b["grant_expires_at"]);
    // Cached: a revocation shows after ENTITLEMENT_CACHE_SECONDS, not before.
    assert_eq!(app.entitlement.cache().len(), 1);
    t.delete(SUB, &Target::parse("demo").unwrap())
        .await
        .unwrap();
    assert_eq!(call(&app, &Call::new(Shape::Http)).await.status(), 200);
    // Without the cache, the revocation shows at once.
    let fresh_cfg = config(&[
        ("ENTITLEMENT", "dynamodb"),
        ("GRANTS_TABLE", "grants-handler"),
        ("ENTITLEMENT_CACHE_SECONDS", "0"),
    ]);
    let uncached = Entitlements::with_store(&fresh_cfg.entitlement, Store::Table(t)).unwrap();
    let fresh = app_entitled(uncached);
    assert_eq!(call(&fresh, &Call::new(Shape::Http)).await.status(), 403);
    // A viewer without the claim is refused before the table is asked.
    let outsider = Call::new(Shape::Http).claim("cognito:groups", Some("free"));
    assert_eq!(call(&app, &outsider).await.status(), 403);
    assert_eq!(app.entitlement.cache().len(), 1);
}

/// The Lambda binary, as `main.rs` wires it: a missing table stops the
/// cold start with the table's name; an existing one lets it reach
/// `ready` (then it stops: no Runtime API listens here).
#[tokio::test]
async fn the_binary_probes_the_table_at_cold_start() {
    let Some(db) = dynalite() else { return };
    table(&db, "grants-binary").await;
    let run = |name: &str| {
        let keys = keys_json(KEY_ID);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_signed-url-issuer"))
            .env_clear()
            .envs([
                ("MEDIA_BUCKET", "media"),
                ("CDN_DOMAIN", CDN_DOMAIN),
                ("SIGNING_KEYS", keys.as_str()),
                ("LOG_HASH_KEY", "test-only-log-hash-key"),
                ("ENTITLEMENT", "dynamodb"),
                ("GRANTS_TABLE", name),
                ("AWS_ENDPOINT_URL_DYNAMODB", db.endpoint().as_str()),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "hlsgate-local"),
                ("AWS_SECRET_ACCESS_KEY", "hlsgate-local-secret"),
                ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
                ("AWS_LAMBDA_FUNCTION_NAME", "signed-url-issuer"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ])
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, stderr) = run("no-such-table");
    assert!(
        stderr.contains(r#"the grants table "no-such-table" does not exist (GRANTS_TABLE)"#),
        "{stderr}"
    );
    let (stdout, stderr) = run("grants-binary");
    let ready = stdout
        .lines()
        .find(|l| l.contains(r#""message":"ready""#))
        .unwrap_or_else(|| panic!("no ready line:\n{stdout}\n{stderr}"));
    assert!(ready.contains(r#""entitlement":"dynamodb""#), "{ready}");
}

/// A playback's status, error code and the `refused` log line's detail.
async fn refused<E: hlsgate_signed_url_issuer::entitlement::Entitlement>(
    app: &TestApp<hlsgate_aws::MemoryObjects, hlsgate_signed_url_issuer::keys::StaticKeys, E>,
) -> (u16, String, String) {
    let logs = LogCapture::default();
    let r = {
        let _g = logs.install();
        call(app, &Call::new(Shape::Http)).await
    };
    let detail = logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "refused")
        .map(|l| l["detail"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let error = json_body(&r)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (r.status().as_u16(), error, detail)
}

/// A grant's end in milliseconds by mistake, `1e30`, a negative number or
/// text: 403 `grant_malformed`, never a 500. An end in year 9999 plays,
/// capped by the TTL rule.
#[tokio::test]
async fn a_grant_end_no_signature_can_carry_is_a_403_not_a_500() {
    let Some(db) = dynalite() else { return };
    table(&db, "grants-far").await;
    let raw = dynamo::local_client(&db.endpoint(), Duration::from_secs(5));
    let cfg = config(&[
        ("ENTITLEMENT", "dynamodb"),
        ("GRANTS_TABLE", "grants-far"),
        ("ENTITLEMENT_CACHE_SECONDS", "0"),
    ]);
    let t = GrantsTable::new(raw.clone(), "grants-far");
    let app = app_entitled(Entitlements::with_store(&cfg.entitlement, Store::Table(t)).unwrap());
    let put = |end: AttributeValue| {
        raw.put_item()
            .table_name("grants-far")
            .item("subject", AttributeValue::S(SUB.into()))
            .item("video", AttributeValue::S("demo".into()))
            .item("expires_at", end)
            .send()
    };
    for end in ["253402300800", "1e30", "-5", "1767225600.5"] {
        put(AttributeValue::N(end.into())).await.unwrap();
        assert_eq!(
            refused(&app).await,
            (403, "not_entitled".into(), "grant_malformed".into()),
            "{end}"
        );
    }
    put(AttributeValue::N("253402300799".into())).await.unwrap();
    let r = call(&app, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 200, "{:?}", body(&r));
    let b = json_body(&r);
    assert_eq!(b["grant_expires_at"], "9999-12-31T23:59:59Z");
    assert_ne!(
        b["expires_at"], b["grant_expires_at"],
        "the TTL rule caps it"
    );
}

/// A custom `Entitlement` that answers an end past year 9999.
struct FarFuture;

impl hlsgate_signed_url_issuer::entitlement::Entitlement for FarFuture {
    async fn check(
        &self,
        _: &hlsgate_aws::viewer::Viewer,
        _: &VideoId,
        _: u64,
    ) -> Result<Decision, hlsgate_signed_url_issuer::entitlement::EntitlementError> {
        Ok(Decision::allowed_until(Some(u64::MAX)))
    }
}

#[tokio::test]
async fn any_entitlement_answering_an_end_past_year_9999_is_refused_as_malformed() {
    assert_eq!(
        refused(&app_entitled(FarFuture)).await,
        (403, "not_entitled".into(), "grant_malformed".into())
    );
}

/// A client of `db` whose requests are recorded.
pub fn recorded_client(db: &LocalDynamo) -> (Client, hlsgate_aws::testing::Wire) {
    let wire = hlsgate_aws::testing::Wire::default();
    let client = dynamo::local_client(&db.endpoint(), Duration::from_secs(5));
    let client = Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(wire.clone())
            .build(),
    );
    (client, wire)
}

/// Every request `wire` recorded meets DynamoDB's published model, and
/// each of `operations` was sent.
pub fn assert_meets_dynamodbs_model(wire: &hlsgate_aws::testing::Wire, operations: &[&str]) {
    let model = hlsgate_aws::testing::contract::Model::fixture("dynamodb-2012-08-10");
    let mut sent_ops: Vec<String> = Vec::new();
    for s in &wire.sent() {
        let target = s.target.as_deref().unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        let problems = model.problems(operation, &body);
        assert!(problems.is_empty(), "{operation}: {problems:#?}\n{body}");
        sent_ops.push(operation.to_string());
    }
    for op in operations {
        assert!(
            sent_ops.iter().any(|o| o == op),
            "{op} not sent: {sent_ops:?}"
        );
    }
}

/// Every request the grants table sends (CreateTable, PutItem, GetItem,
/// Query, DeleteItem), checked against DynamoDB's published model: the Rust
/// SDK checks none of its lengths, patterns or ranges.
#[tokio::test]
async fn every_grants_table_request_meets_dynamodbs_model() {
    let Some(db) = dynalite() else { return };
    let (client, wire) = recorded_client(&db);
    let t = GrantsTable::new(client, "grants-contract");
    t.create().await.unwrap();
    t.put(&grant("alice", "intro", Some(NOW - 10), Some(NOW + 60)))
        .await
        .unwrap();
    t.put(&grant("alice", "course-*", None, None))
        .await
        .unwrap();
    t.check("alice", &id("other"), true, NOW).await.unwrap();
    t.list("alice").await.unwrap();
    t.delete("alice", &Target::parse("intro").unwrap())
        .await
        .unwrap();
    assert_meets_dynamodbs_model(
        &wire,
        &["CreateTable", "PutItem", "GetItem", "Query", "DeleteItem"],
    );
    // The check sees what DynamoDB refuses.
    let model = hlsgate_aws::testing::contract::Model::fixture("dynamodb-2012-08-10");
    let bad = serde_json::json!({"TableName": "", "Limit": 0});
    let problems = model.problems("Query", &bad);
    assert!(
        problems.iter().any(|p| p.contains("TableName"))
            && problems.iter().any(|p| p.contains("Limit")),
        "{problems:?}"
    );
}
