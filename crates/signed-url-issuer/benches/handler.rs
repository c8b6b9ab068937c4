//! The whole issuer handler, warm: an HTTP API event in, a signed answer out,
//! with `playback.json` in the cache. What differs is the active key (RSA-2048
//! or ECDSA P-256, SHA256) and the mode (URL or cookies).
//!
//! `issuer-grants` is the same request with `ENTITLEMENT=dynamodb` against
//! dynalite on loopback (skipped, with a message, when `make e2e-tools` has
//! not installed it): the decision cached, and asked of the table on every
//! request.
//!
//! `issuer-sessions` starts and renews a session, stateless and with the
//! sessions table on dynalite.
//!
//! `issuer-rules` is an ECDSA URL-mode start through the distribution (the
//! origin secret, the viewer's country): a video without playback rules
//! (their absence cached), and one with a country, a site and a window
//! rule (cached), for what a cached rules lookup adds.
//!
//! `cargo bench -p hlsgate-signed-url-issuer --bench handler`

#![allow(clippy::unwrap_used)] // benches fail loudly by design

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use hlsgate_signed_url_issuer::{App, handle};

#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common.rs"]
mod common;
use common::*;

/// Benches `event` through `app` as `name`, once its first answer is a 200.
fn warm<S, K, E>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    app: &App<S, K, E>,
    name: &str,
    event: &str,
) where
    S: hlsgate_aws::ObjectSource,
    K: hlsgate_signed_url_issuer::keys::KeySource,
    E: hlsgate_signed_url_issuer::entitlement::Entitlement,
{
    let first = rt.block_on(handle(app, lambda_http::request::from_str(event).unwrap()));
    assert_eq!(first.status(), 200, "{name}: {:?}", first.body());
    group.bench_function(name, |b| {
        b.iter(|| {
            let req = lambda_http::request::from_str(black_box(event)).unwrap();
            black_box(rt.block_on(handle(app, req)))
        })
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("issuer");
    for (name, key) in [("rsa", KEY_ID), ("ecdsa", ECDSA_KEY_ID)] {
        let keys = keys_json(key);
        let mut extra = COOKIES.to_vec();
        extra.push(("SIGNING_KEYS", &keys));
        extra.push(("CACHE_TTL_SECONDS", "3600"));
        let mut app = app(&extra);
        // Each request still renders its EMF document, as in Lambda; the
        // line is not printed.
        app.frame.metrics = hlsgate_aws::metrics::Metrics::discard("hlsgate", "signed-url-issuer");
        for mode in ["url", "cookies"] {
            let event = Call::new(Shape::Http).mode(mode).event().to_string();
            warm(&mut group, &rt, &app, &format!("{name}/{mode}"), &event);
        }
    }
    group.finish();
}

fn bench_grants(c: &mut Criterion) {
    use hlsgate_signed_url_issuer::dynamo;
    use hlsgate_signed_url_issuer::entitlement::grants::{Grant, Target, Window};
    use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;
    use hlsgate_signed_url_issuer::entitlement::{Entitlements, Store};
    let db = match hlsgate_aws::local_dynamodb::LocalDynamo::start() {
        Ok(db) => db,
        Err(e) => return eprintln!("issuer-grants skipped: {e}"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = GrantsTable::new(
        dynamo::local_client(&db.endpoint(), std::time::Duration::from_secs(5)),
        "bench-grants",
    );
    rt.block_on(t.create()).unwrap();
    rt.block_on(t.put(&Grant {
        subject: SUB.into(),
        target: Target::parse("demo").unwrap(),
        window: Window {
            not_before: None,
            expires_at: Some(NOW + 3600),
        },
        terms: hlsgate_signed_url_issuer::entitlement::Terms::NONE,
    }))
    .unwrap();
    let mut group = c.benchmark_group("issuer-grants");
    for (name, cache) in [("cached", "300"), ("uncached", "0")] {
        let extra = [
            ("ENTITLEMENT", "dynamodb"),
            ("GRANTS_TABLE", "bench-grants"),
            ("ENTITLEMENT_CACHE_SECONDS", cache),
            ("CACHE_TTL_SECONDS", "3600"),
        ];
        let cfg = config(&extra);
        let entitlements =
            Entitlements::with_store(&cfg.entitlement, Store::Table(t.clone())).unwrap();
        let keys = hlsgate_signed_url_issuer::keys::StaticKeys(secrecy::SecretString::from(
            keys_json(ECDSA_KEY_ID),
        ));
        let mut app = app_parts(&extra, store(), keys, entitlements);
        app.frame.metrics = hlsgate_aws::metrics::Metrics::discard("hlsgate", "signed-url-issuer");
        let event = Call::new(Shape::Http).event().to_string();
        warm(&mut group, &rt, &app, &format!("ecdsa/url/{name}"), &event);
    }
    group.finish();
}

/// Sessions: a start and a renewal of the same session, ECDSA, URL mode,
/// entitlement from the token's claims; stateless, then with the sessions
/// table on dynalite (a start is one conditional `PutItem`, a renewal one
/// conditional `UpdateItem`).
fn bench_sessions(c: &mut Criterion) {
    use hlsgate_signed_url_issuer::sessions::table::SessionsTable;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = hlsgate_aws::local_dynamodb::LocalDynamo::start();
    if let Err(e) = &db {
        eprintln!("issuer-sessions/table skipped: {e}");
    }
    let mut group = c.benchmark_group("issuer-sessions");
    for store in ["stateless", "table"] {
        let table = match (store, &db) {
            ("table", Ok(db)) => {
                let t = SessionsTable::new(
                    hlsgate_signed_url_issuer::dynamo::local_client(
                        &db.endpoint(),
                        std::time::Duration::from_secs(5),
                    ),
                    "bench-sessions",
                );
                rt.block_on(t.create()).unwrap();
                Some(t)
            }
            ("table", Err(_)) => continue,
            _ => None,
        };
        let keys = keys_json(ECDSA_KEY_ID);
        let mut extra = vec![
            ("SIGNING_KEYS", keys.as_str()),
            ("CACHE_TTL_SECONDS", "3600"),
        ];
        if table.is_some() {
            extra.push(("SESSIONS_TABLE", "bench-sessions"));
        }
        let mut app = app(&extra);
        if let Some(t) = table {
            app = app.with_sessions_table(t);
        }
        app.frame.metrics = hlsgate_aws::metrics::Metrics::discard("hlsgate", "signed-url-issuer");
        let start = Call::new(Shape::Http).event().to_string();
        let first = rt.block_on(handle(
            &app,
            lambda_http::request::from_str(&start).unwrap(),
        ));
        assert_eq!(first.status(), 200);
        let id = json_body(&first)["session"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let renew = Call::renew(Shape::Http, &id).event().to_string();
        for (name, event) in [("start", &start), ("renew", &renew)] {
            warm(&mut group, &rt, &app, &format!("{store}/{name}"), event);
        }
    }
    group.finish();
}

fn bench_rules(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let secret = "bench-origin-secret";
    let keys = keys_json(ECDSA_KEY_ID);
    let rules = serde_json::json!({
        "countries": {"allow": ["DE", "AT", "CH"]},
        "origins": ["https://player.example.com"],
        "available_from": NOW - 3600,
        "available_until": NOW + 86_400,
    })
    .to_string();
    let mut group = c.benchmark_group("issuer-rules");
    for (name, with_rules) in [("none", false), ("cached", true)] {
        let objects = store();
        if with_rules {
            objects.put("rules/demo.json", rules.clone());
        }
        let extra = [
            ("SIGNING_KEYS", keys.as_str()),
            ("CACHE_TTL_SECONDS", "3600"),
            ("ORIGIN_SECRET", secret),
        ];
        let mut app = app_with(&extra, objects).with_origin(hlsgate_aws::secret::Secret::Literal(
            hlsgate_aws::secret::StaticKeys(secrecy::SecretString::from(secret)),
        ));
        app.frame.metrics = hlsgate_aws::metrics::Metrics::discard("hlsgate", "signed-url-issuer");
        let event = Call::new(Shape::Http)
            .header("X-Origin-Verify", secret)
            .header("CloudFront-Viewer-Country", "DE")
            .event()
            .to_string();
        warm(&mut group, &rt, &app, name, &event);
    }
    group.finish();
}

criterion_group!(benches, bench, bench_grants, bench_sessions, bench_rules);
criterion_main!(benches);
