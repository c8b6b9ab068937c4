//! Playback sessions: short signatures, renewal, ending, stream limits.
//! Stateless sessions through the handler alone; the sessions table
//! against a real DynamoDB-compatible server (dynalite), on the real clock.

use std::sync::Arc;
use std::time::Duration;

use hlsgate_aws::local_dynamodb::LocalDynamo;
use hlsgate_core::signing::verify_url;
use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::grants::{Grant, Target, Window};
use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;
use hlsgate_signed_url_issuer::entitlement::{ClaimsEntitlement, Entitlement, Entitlements, Store};
use hlsgate_signed_url_issuer::keys::StaticKeys;
use hlsgate_signed_url_issuer::sessions::table::SessionsTable;
use hlsgate_signed_url_issuer::{App, system_clock};
use lambda_http::{Body, Response};
use secrecy::SecretString;
use serde_json::Value;

use crate::common::*;
use crate::grants::{assert_meets_dynamodbs_model, dynalite, recorded_client};

async fn start<E: Entitlement>(
    app: &App<hlsgate_aws::MemoryObjects, StaticKeys, E>,
) -> Response<Body> {
    call(app, &Call::new(Shape::Http)).await
}

pub(crate) fn session_of(r: &Response<Body>) -> Value {
    assert_eq!(r.status(), 200, "{:?}", r.body());
    json_body(r)["session"].clone()
}

#[tokio::test]
async fn a_playback_is_a_session_of_five_minute_signatures() {
    let app = app(&[]);
    let r = start(&app).await;
    let body = json_body(&r);
    let s = session_of(&r);
    let id = s["id"].as_str().unwrap();
    assert!(id.starts_with('s') && id.len() > 40, "stateless: {id}");
    // 300 s signatures, renewed at two thirds, renewable for twice as long
    // again after they expire (fixture NOW is 10:15:30).
    assert_eq!(body["expires_at"], "2026-11-21T10:20:30Z");
    assert_eq!(s["refresh_at"], "2026-11-21T10:18:50Z");
    assert_eq!(s["expires_at"], "2026-11-21T10:30:30Z");
    assert!(s["end_token"].as_str().unwrap().contains('.'));
    // Each start is its own session.
    let again = session_of(&start(&app).await);
    assert_ne!(again["id"], s["id"]);
}

#[tokio::test]
async fn a_renewal_keeps_the_id_and_signs_again_for_the_same_viewer_and_video_only() {
    for shape in SHAPES {
        let objects = store();
        objects.put("videos/other/playback.json", sidecar("other", 60.0));
        let app = app_with(&[], objects);
        let first = json_body(&call(&app, &Call::new(shape)).await);
        let id = first["session"]["id"].as_str().unwrap();
        let r = call(&app, &Call::renew(shape, id)).await;
        assert_eq!(r.status(), 200, "{shape:?} {:?}", r.body());
        let renewed = json_body(&r);
        assert_eq!(renewed["session"]["id"], id);
        let url = renewed["manifest_url"].as_str().unwrap();
        verify_url(url, &key_group(), ctx(NOW)).unwrap();

        // Another viewer holding the id, or the id on another video.
        let other = Call::renew(shape, id).claim("sub", Some("someone-else"));
        let r = call(&app, &other).await;
        assert_eq!(r.status(), 403);
        assert_eq!(json_body(&r)["error"], "session_expired");
        let r = call(&app, &Call::renew(shape, id).video("other")).await;
        assert_eq!(r.status(), 403);
        assert_eq!(json_body(&r)["error"], "session_expired");
        // Not an id at all.
        let r = call(&app, &Call::renew(shape, "t-not-an-id")).await;
        assert_eq!(r.status(), 400);
        assert_eq!(json_body(&r)["error"], "bad_session_id");
        // A renewal asks entitlement again.
        let r = call(
            &app,
            &Call::renew(shape, id).claim("cognito:groups", Some("free")),
        )
        .await;
        assert_eq!(r.status(), 403);
        assert_eq!(json_body(&r)["error"], "not_entitled");
        // Routes and methods.
        let r = call(&app, &Call::new(shape).method("PUT").session(id, "")).await;
        assert_eq!(r.status(), 405);
        let r = call(&app, &Call::new(shape).session(id, "/later")).await;
        assert_eq!(r.status(), 404);
    }
}

#[tokio::test]
async fn cookie_mode_renews_with_fresh_cookies() {
    let app = app(COOKIES);
    let r = call(&app, &Call::new(Shape::Http).mode("cookies")).await;
    let id = session_of(&r)["id"].as_str().unwrap().to_string();
    let r = call(&app, &Call::renew(Shape::Http, &id).mode("cookies")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(set_cookies(&r).len(), 4);
    assert_eq!(json_body(&r)["session"]["id"], id.as_str());
}

#[tokio::test]
async fn stateless_sessions_end_quietly_and_list_nothing() {
    let app = app(&[]);
    let s = session_of(&start(&app).await);
    let id = s["id"].as_str().unwrap();
    let r = call(
        &app,
        &Call::new(Shape::Http).method("DELETE").session(id, ""),
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = call(&app, &Call::list(Shape::Http)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_body(&r)["store"], "stateless");
    assert_eq!(json_body(&r)["sessions"], serde_json::json!([]));
}

#[tokio::test]
async fn the_end_token_stands_in_for_the_bearer_token_for_its_session_only() {
    let app = app(&[]);
    let s = session_of(&start(&app).await);
    let (id, token) = (s["id"].as_str().unwrap(), s["end_token"].as_str().unwrap());
    let beacon = |body: String| {
        Call::new(Shape::Http)
            .anonymous()
            .method("POST")
            .session(id, "/end")
            .body(&body)
    };
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("end_token", token)
        .finish();
    assert_eq!(call(&app, &beacon(form)).await.status(), 204);
    assert_eq!(call(&app, &beacon(token.to_string())).await.status(), 204);
    // Another session's token, none, or a tampered one.
    let other = session_of(&start(&app).await);
    let wrong = format!("end_token={}", other["end_token"].as_str().unwrap());
    for body in [wrong, String::new(), format!("end_token={token}x")] {
        let r = call(&app, &beacon(body.clone())).await;
        assert_eq!(r.status(), 403, "{body}");
        assert_eq!(json_body(&r)["error"], "bad_end_token");
    }
}

// ---------------------------------------------------------------- table

pub(crate) const SUBJECT_ENV: &[(&str, &str)] = &[("ENTITLEMENT_ANY_VIEWER", "true")];

pub(crate) async fn sessions_table(db: &LocalDynamo, name: &str) -> SessionsTable {
    let t = SessionsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
        name,
    );
    t.create().await.unwrap();
    t
}

/// An app on the real clock with a sessions table and `extra` settings.
pub(crate) fn table_app<E: Entitlement>(
    extra: &[(&str, &str)],
    table: SessionsTable,
    entitlement: E,
) -> App<hlsgate_aws::MemoryObjects, StaticKeys, E> {
    table_app_with(extra, store(), table, entitlement)
}

/// [`table_app`] over `objects`.
pub(crate) fn table_app_with<E: Entitlement>(
    extra: &[(&str, &str)],
    objects: hlsgate_aws::MemoryObjects,
    table: SessionsTable,
    entitlement: E,
) -> App<hlsgate_aws::MemoryObjects, StaticKeys, E> {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("ENTITLEMENT_CLAIM", ""),
        ("ENTITLEMENT_VALUES", ""),
        ("SESSIONS_TABLE", table.name()),
    ];
    pairs.extend_from_slice(extra);
    App::new(
        config(&pairs),
        objects,
        StaticKeys(SecretString::from(keys_json(KEY_ID))),
        entitlement,
        system_clock(),
    )
    .with_sessions_table(table)
}

pub(crate) fn any_viewer() -> ClaimsEntitlement {
    config(SUBJECT_ENV).entitlement.claims.unwrap()
}

fn device(name: &str) -> Call {
    Call::new(Shape::Http).query("device", name)
}

#[tokio::test]
async fn twenty_simultaneous_starts_at_two_streams_admit_exactly_two() {
    let Some(db) = dynalite() else { return };
    let t = sessions_table(&db, "sessions-race").await;
    let mut extra = SUBJECT_ENV.to_vec();
    extra.push(("MAX_STREAMS", "2"));
    let app = Arc::new(table_app(&extra, t, any_viewer()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let r = call(&app, &device(&format!("screen-{i}"))).await;
            (r.status().as_u16(), json_body(&r))
        }));
    }
    let mut admitted = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => admitted.push(body["session"]["id"].as_str().unwrap().to_string()),
            409 => {
                assert_eq!(body["error"], "too_many_streams");
                assert_eq!(body["max_streams"], 2);
                assert!(body["message"].as_str().unwrap().contains("2 screens"));
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((admitted.len(), refused), (2, 18), "{admitted:?}");
    // The next start is refused with the two listed, by device.
    let r = call(&app, &device("phone")).await;
    assert_eq!(r.status(), 409);
    let body = json_body(&r);
    let listed: Vec<&str> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    for id in &admitted {
        assert!(listed.contains(&id.as_str()), "{body}");
    }
    for s in body["sessions"].as_array().unwrap() {
        assert!(s["device"].as_str().unwrap().starts_with("screen-"), "{s}");
        assert!(s["started"].as_u64().is_some() && s["renewed"].as_u64().is_some());
    }
    // Ending one frees its slot.
    let r = call(
        &app,
        &Call::new(Shape::Http)
            .method("DELETE")
            .session(&admitted[0], ""),
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = call(&app, &Call::renew(Shape::Http, &admitted[0])).await;
    assert_eq!(r.status(), 403);
    assert_eq!(json_body(&r)["error"], "session_ended");
    assert_eq!(call(&app, &device("phone")).await.status(), 200);
    assert_eq!(
        call(&app, &Call::renew(Shape::Http, &admitted[1]))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn evict_oldest_admits_the_newcomer_and_ends_the_oldest_at_its_renewal() {
    let Some(db) = dynalite() else { return };
    let t = sessions_table(&db, "sessions-evict").await;
    let mut extra = SUBJECT_ENV.to_vec();
    extra.extend([("MAX_STREAMS", "2"), ("STREAM_LIMIT", "evict-oldest")]);
    let app = table_app(&extra, t, any_viewer());
    let mut ids = Vec::new();
    for name in ["tv", "laptop", "phone"] {
        let r = call(&app, &device(name)).await;
        ids.push(session_of(&r)["id"].as_str().unwrap().to_string());
        // Distinct start seconds: "oldest" is by start.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let r = call(&app, &Call::renew(Shape::Http, &ids[0])).await;
    assert_eq!(r.status(), 403);
    let body = json_body(&r);
    assert_eq!(body["error"], "session_ended");
    assert!(
        body["message"].as_str().unwrap().contains("newer playback"),
        "{body}"
    );
    for id in &ids[1..] {
        assert_eq!(
            call(&app, &Call::renew(Shape::Http, id)).await.status(),
            200
        );
    }
    let r = call(&app, &Call::list(Shape::Http)).await;
    let listed = json_body(&r);
    let devices: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices, ["laptop", "phone"], "oldest first");
}

#[tokio::test]
async fn a_session_past_its_grace_cannot_renew_on_the_real_clock() {
    let Some(db) = dynalite() else { return };
    let t = sessions_table(&db, "sessions-lapse").await;
    let mut extra = SUBJECT_ENV.to_vec();
    extra.extend([("SIGNATURE_SECONDS", "5"), ("SESSION_GRACE_SECONDS", "1")]);
    let app = table_app(&extra, t, any_viewer());
    let s = session_of(&start(&app).await);
    let id = s["id"].as_str().unwrap();
    assert!(id.starts_with('t'), "tracked: {id}");
    // Within the signature and within the grace: renews.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        call(&app, &Call::renew(Shape::Http, id)).await.status(),
        200
    );
    // Renewed at +3 s: lapses at +9 s.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let r = call(&app, &Call::renew(Shape::Http, id)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(json_body(&r)["error"], "session_expired");
}

#[tokio::test]
async fn the_end_token_ends_a_recorded_session() {
    let Some(db) = dynalite() else { return };
    let t = sessions_table(&db, "sessions-beacon").await;
    let app = table_app(SUBJECT_ENV, t, any_viewer());
    let s = session_of(&start(&app).await);
    let id = s["id"].as_str().unwrap();
    let r = call(
        &app,
        &Call::new(Shape::Http)
            .anonymous()
            .method("POST")
            .session(id, "/end")
            .body(&format!("end_token={}", s["end_token"].as_str().unwrap())),
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = call(&app, &Call::renew(Shape::Http, id)).await;
    assert_eq!(json_body(&r)["error"], "session_ended");
    let r = call(&app, &Call::list(Shape::Http)).await;
    assert_eq!(json_body(&r)["store"], "table");
    assert_eq!(json_body(&r)["sessions"], serde_json::json!([]));
}

#[tokio::test]
async fn revoking_the_grant_ends_the_session_at_its_next_renewal() {
    let Some(db) = dynalite() else { return };
    let t = sessions_table(&db, "sessions-revoke").await;
    let grants = GrantsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
        "grants-revoke",
    );
    grants.create().await.unwrap();
    grants
        .put(&Grant {
            subject: SUB.into(),
            target: Target::parse("demo").unwrap(),
            window: Window {
                not_before: None,
                expires_at: None,
            },
            terms: hlsgate_signed_url_issuer::entitlement::Terms::NONE,
        })
        .await
        .unwrap();
    let extra = [
        ("ENTITLEMENT", "dynamodb"),
        ("GRANTS_TABLE", "grants-revoke"),
        ("ENTITLEMENT_CACHE_SECONDS", "0"),
        ("ENTITLEMENT_DENY_CACHE_SECONDS", "0"),
    ];
    let mut pairs = vec![("ENTITLEMENT_CLAIM", ""), ("ENTITLEMENT_VALUES", "")];
    pairs.extend(extra);
    let rules = config(&pairs).entitlement;
    let entitlement = Entitlements::with_store(&rules, Store::Table(grants.clone())).unwrap();
    let app = table_app(&extra, t, entitlement);
    let s = session_of(&start(&app).await);
    let id = s["id"].as_str().unwrap();
    assert_eq!(
        call(&app, &Call::renew(Shape::Http, id)).await.status(),
        200
    );
    grants
        .delete(SUB, &Target::parse("demo").unwrap())
        .await
        .unwrap();
    let r = call(&app, &Call::renew(Shape::Http, id)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(json_body(&r)["error"], "not_entitled");
    assert_eq!(json_body(&r)["reason"], "no_grant");
    // Ended, not merely refused: its slot and its listing are gone.
    let r = call(&app, &Call::list(Shape::Http)).await;
    assert_eq!(json_body(&r)["sessions"], serde_json::json!([]));
}

/// Every request the sessions table sends, checked against DynamoDB's
/// published model: admission (with a refusal and an eviction), renewal
/// (with a refused one), ending, listing.
#[tokio::test]
async fn every_sessions_table_request_meets_dynamodbs_model() {
    let Some(db) = dynalite() else { return };
    let (client, wire) = recorded_client(&db);
    let t = SessionsTable::new(client, "sessions-contract");
    t.create().await.unwrap();
    for limit in ["refuse", "evict-oldest"] {
        let mut extra = SUBJECT_ENV.to_vec();
        extra.extend([("MAX_STREAMS", "1"), ("STREAM_LIMIT", limit)]);
        let app = table_app(&extra, t.clone(), any_viewer());
        let first = session_of(&call(&app, &device("tv")).await);
        let id = first["id"].as_str().unwrap();
        call(&app, &device("phone")).await;
        call(&app, &Call::renew(Shape::Http, id)).await;
        call(&app, &Call::list(Shape::Http)).await;
        call(
            &app,
            &Call::new(Shape::Http).method("DELETE").session(id, ""),
        )
        .await;
    }
    let unlimited = table_app(SUBJECT_ENV, t.clone(), any_viewer());
    session_of(&call(&unlimited, &device("tv")).await);
    assert_meets_dynamodbs_model(
        &wire,
        &["CreateTable", "PutItem", "UpdateItem", "GetItem", "Query"],
    );
}
