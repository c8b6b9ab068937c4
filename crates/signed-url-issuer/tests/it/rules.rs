//! Playback rules: the grant's countries, the video's window, countries and
//! sites, in one order (claims → grant → video rules → stream limit), and
//! renewals that check them again.

use std::time::Duration;

use hlsgate_aws::MemoryObjects;
use hlsgate_aws::secret::{Secret, StaticKeys as StaticSecret};
use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::grants::{Grant, Target, Window, read_terms};
use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;
use hlsgate_signed_url_issuer::entitlement::{Entitlements, Store, Terms};
use hlsgate_signed_url_issuer::system_clock;
use lambda_http::{Body, Response};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::*;
use crate::grants::dynalite;
use crate::handler::{ORIGIN_SECRET, through_cdn};
use crate::sessions::{SUBJECT_ENV, any_viewer, session_of, sessions_table, table_app_with};

const SHOP: &str = "https://shop.example";

/// The store with `rules` as video `demo`'s rules.
fn with_rules(rules: &Value) -> MemoryObjects {
    let objects = store();
    objects.put("rules/demo.json", rules.to_string());
    objects
}

/// The issuer behind the distribution (origin secret) over `objects`.
fn cdn(extra: &[(&str, &str)], objects: MemoryObjects) -> TestApp {
    let mut all = vec![("ORIGIN_SECRET", ORIGIN_SECRET)];
    all.extend_from_slice(extra);
    app_with(&all, objects).with_origin(origin_secret())
}

fn origin_secret() -> Secret {
    Secret::Literal(StaticSecret(SecretString::from(ORIGIN_SECRET)))
}

/// A start through the distribution from `country` (`None`: no header).
fn from(country: Option<&str>) -> Call {
    let c = through_cdn(Shape::Http);
    match country {
        Some(cc) => c.header("CloudFront-Viewer-Country", cc),
        None => c,
    }
}

/// The refusal's code, rule and one more field.
fn refused(r: &Response<Body>, field: &str) -> (u16, String, String, Value) {
    let b = json_body(r);
    (
        r.status().as_u16(),
        b["error"].as_str().unwrap_or("").to_string(),
        b["rule"].as_str().unwrap_or("").to_string(),
        b[field].clone(),
    )
}

#[tokio::test]
async fn a_country_rule_admits_its_countries_and_refuses_the_others() {
    let app = cdn(
        &[],
        with_rules(&json!({"countries": {"allow": ["DE", "AT"]}})),
    );
    for ok in ["DE", "AT"] {
        let r = call(&app, &from(Some(ok))).await;
        assert_eq!(r.status(), 200, "{ok}: {:?}", r.body());
    }
    let r = call(&app, &from(Some("FR"))).await;
    assert_eq!(
        refused(&r, "country"),
        (
            403,
            "country_not_allowed".into(),
            "video.countries".into(),
            json!("FR")
        )
    );
    assert_eq!(
        json_body(&r)["message"],
        "this video is not available in your country (FR)"
    );
    // No signature went out.
    assert!(json_body(&r).get("manifest_url").is_none());

    let deny = cdn(&[], with_rules(&json!({"countries": {"deny": ["US"]}})));
    assert_eq!(call(&deny, &from(Some("FR"))).await.status(), 200);
    assert_eq!(call(&deny, &from(Some("US"))).await.status(), 403);
}

#[tokio::test]
async fn an_unknown_country_is_refused_where_a_rule_exists_unless_configured() {
    let rules = json!({"countries": {"deny": ["US"]}});
    let app = cdn(&[], with_rules(&rules));
    // No header, and CloudFront's own "unknown".
    for country in [None, Some("ZZ")] {
        let r = call(&app, &from(country)).await;
        assert_eq!(
            refused(&r, "country"),
            (
                403,
                "country_not_allowed".into(),
                "video.countries".into(),
                Value::Null
            ),
            "{country:?}"
        );
    }
    // A video without a country rule does not care.
    let plain = cdn(&[], store());
    assert_eq!(call(&plain, &from(None)).await.status(), 200);
    let lenient = cdn(&[("UNKNOWN_COUNTRY", "allow")], with_rules(&rules));
    assert_eq!(call(&lenient, &from(None)).await.status(), 200);
    assert_eq!(call(&lenient, &from(Some("US"))).await.status(), 403);
}

#[tokio::test]
async fn the_country_header_is_trusted_only_behind_the_origin_secret() {
    let rules = json!({"countries": {"allow": ["DE"]}});
    // Straight to the API, with the header forged: unknown, refused.
    let direct = app_with(&[], with_rules(&rules));
    let forged = Call::new(Shape::Http).header("CloudFront-Viewer-Country", "DE");
    let r = call(&direct, &forged).await;
    assert_eq!(
        refused(&r, "country").3,
        Value::Null,
        "the forged DE was not read"
    );
    assert_eq!(r.status(), 403);
    // With the origin secret configured but not sent: direct too.
    let app = cdn(&[], with_rules(&rules));
    assert_eq!(call(&app, &forged).await.status(), 403);
    // A wrong secret is refused before anything else.
    let wrong = forged.header("X-Origin-Verify", "guess");
    assert_eq!(json_body(&call(&app, &wrong).await)["error"], "forbidden");
    assert_eq!(call(&app, &from(Some("DE"))).await.status(), 200);
}

#[tokio::test]
async fn a_site_rule_reads_the_origin_else_the_referer() {
    let rules = json!({"origins": [SHOP]});
    let app = app_with(&[], with_rules(&rules));
    // The fixture's page is https://player.example.com.
    let bare = || Call::new(Shape::Http).without("origin");
    let at = |h: &str, v: &str| bare().header(h, v);
    assert_eq!(call(&app, &Call::new(Shape::Http)).await.status(), 403);
    assert_eq!(call(&app, &at("Origin", SHOP)).await.status(), 200);
    let r = call(&app, &at("Origin", "https://other.example")).await;
    assert_eq!(
        refused(&r, "message"),
        (
            403,
            "origin_not_allowed".into(),
            "video.origins".into(),
            json!("this video cannot be played on this site")
        )
    );
    // A same-site GET sends only the Referer.
    let page = format!("{SHOP}/films/1?t=3");
    assert_eq!(call(&app, &at("Referer", &page)).await.status(), 200);
    assert_eq!(
        call(&app, &at("Referer", "https://other.example/x"))
            .await
            .status(),
        403
    );
    // Origin wins over Referer; a sandboxed frame's "null" is no site.
    let both = at("Origin", "https://other.example").header("Referer", &page);
    assert_eq!(call(&app, &both).await.status(), 403);
    assert_eq!(call(&app, &at("Origin", "null")).await.status(), 403);
    // No site named at all: a native app, refused unless allowed.
    assert_eq!(call(&app, &bare()).await.status(), 403);
    let native = app_with(
        &[],
        with_rules(&json!({"origins": [SHOP], "allow_no_origin": true})),
    );
    assert_eq!(call(&native, &bare()).await.status(), 200);
    assert_eq!(
        call(&native, &at("Origin", "https://other.example"))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_window_refuses_before_and_after_and_caps_the_signature() {
    let at = |from: u64, until: u64| {
        app_with(
            &[],
            with_rules(&json!({"available_from": from, "available_until": until})),
        )
    };
    let r = call(&at(NOW + 60, NOW + 600), &Call::new(Shape::Http)).await;
    assert_eq!(
        refused(&r, "available_from"),
        (
            403,
            "not_yet_available".into(),
            "video.window".into(),
            json!("2026-11-21T10:16:30Z")
        )
    );
    let r = call(&at(NOW - 600, NOW), &Call::new(Shape::Http)).await;
    assert_eq!(
        refused(&r, "available_until"),
        (
            403,
            "no_longer_available".into(),
            "video.window".into(),
            json!("2026-11-21T10:15:30Z")
        )
    );
    // Open: a signature never outlives the window (300 s would).
    let r = call(&at(NOW - 600, NOW + 100), &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_body(&r)["expires_at"], "2026-11-21T10:17:10Z");
}

#[tokio::test]
async fn rules_that_cannot_be_read_refuse_playback() {
    let objects = store();
    objects.put("rules/demo.json", r#"{"country": {"allow": ["DE"]}}"#);
    let r = call(&app_with(&[], objects), &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 502);
    assert_eq!(json_body(&r)["error"], "bad_rules");
    // Another video's rules do not touch this one.
    let objects = store();
    objects.put("rules/other.json", r#"{"countries": {"allow": ["DE"]}}"#);
    assert_eq!(
        call(&app_with(&[], objects), &Call::new(Shape::Http))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn claims_come_before_the_rules() {
    let app = cdn(&[], with_rules(&json!({"countries": {"allow": ["DE"]}})));
    let outsider = from(Some("FR")).claim("cognito:groups", Some("visitors"));
    let r = call(&app, &outsider).await;
    assert_eq!(json_body(&r)["error"], "not_entitled");
}

/// A grants table on dynalite holding `terms` for the test viewer and
/// `demo`, and the issuer (behind the distribution, with a sessions table)
/// over `objects` reading it.
async fn granted(
    db: &hlsgate_aws::local_dynamodb::LocalDynamo,
    name: &str,
    terms: Terms,
    extra: &[(&str, &str)],
    objects: MemoryObjects,
) -> TestApp<MemoryObjects, hlsgate_signed_url_issuer::keys::StaticKeys, Entitlements> {
    let grants = GrantsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
        format!("{name}-grants"),
    );
    grants.create().await.unwrap();
    grants
        .put(&Grant {
            subject: SUB.into(),
            target: Target::parse("demo").unwrap(),
            window: Window::default(),
            terms,
        })
        .await
        .unwrap();
    let table = format!("{name}-grants");
    // The entitlement settings first: the store is made from them alone.
    let mut pairs = vec![
        ("ENTITLEMENT", "dynamodb"),
        ("GRANTS_TABLE", table.as_str()),
        ("ORIGIN_SECRET", ORIGIN_SECRET),
    ];
    pairs.extend_from_slice(extra);
    let rules = config(&[
        ("ENTITLEMENT_CLAIM", ""),
        ("ENTITLEMENT_VALUES", ""),
        pairs[0],
        pairs[1],
    ])
    .entitlement;
    let entitlement = Entitlements::with_store(&rules, Store::Table(grants)).unwrap();
    let sessions = sessions_table(db, &format!("{name}-sessions")).await;
    table_app_with(&pairs, objects, sessions, entitlement).with_origin(origin_secret())
}

#[tokio::test]
async fn a_grants_countries_and_streams_are_its_own() {
    let Some(db) = dynalite() else { return };
    let terms = read_terms(Some(["DE"]), Some("1")).unwrap();
    let app = granted(&db, "rules-terms", terms, &[("MAX_STREAMS", "3")], store()).await;
    let r = call(&app, &from(Some("FR"))).await;
    assert_eq!(
        refused(&r, "country"),
        (
            403,
            "country_not_allowed".into(),
            "grant.countries".into(),
            json!("FR")
        )
    );
    // The plan's one screen beats MAX_STREAMS=3.
    assert_eq!(call(&app, &from(Some("DE"))).await.status(), 200);
    let r = call(&app, &from(Some("DE"))).await;
    assert_eq!(r.status(), 409, "{:?}", r.body());
    assert_eq!(json_body(&r)["max_streams"], 1);
    // The rules come before the stream limit: a refused country is told
    // so, not that the screens are full.
    let r = call(&app, &from(Some("FR"))).await;
    assert_eq!(json_body(&r)["error"], "country_not_allowed");
}

#[tokio::test]
async fn a_grant_with_more_screens_than_the_default() {
    let Some(db) = dynalite() else { return };
    let terms = read_terms(None::<[&str; 0]>, Some("2")).unwrap();
    let app = granted(&db, "rules-plan", terms, &[("MAX_STREAMS", "1")], store()).await;
    assert_eq!(call(&app, &from(Some("DE"))).await.status(), 200);
    assert_eq!(call(&app, &from(Some("DE"))).await.status(), 200);
    assert_eq!(call(&app, &from(Some("DE"))).await.status(), 409);
}

#[tokio::test]
async fn a_renewal_from_another_country_ends_the_session() {
    let Some(db) = dynalite() else { return };
    let rules = json!({"countries": {"allow": ["DE"]}});
    let app = granted(&db, "rules-travel", Terms::NONE, &[], with_rules(&rules)).await;
    let s = session_of(&call(&app, &from(Some("DE"))).await);
    let id = s["id"].as_str().unwrap();
    let renew = |cc: &str| {
        through_cdn(Shape::Http)
            .method("POST")
            .session(id, "")
            .header("CloudFront-Viewer-Country", cc)
    };
    assert_eq!(call(&app, &renew("DE")).await.status(), 200);
    let r = call(&app, &renew("FR")).await;
    assert_eq!(json_body(&r)["error"], "country_not_allowed");
    // Ended, not merely refused: back home, it does not renew.
    let r = call(&app, &renew("DE")).await;
    assert_eq!(json_body(&r)["error"], "session_ended");
}

#[tokio::test]
async fn a_window_closing_during_playback_ends_the_session_at_its_renewal() {
    let Some(db) = dynalite() else { return };
    // On the real clock: the window closes three seconds from now.
    let now = system_clock()();
    let until = now + 3;
    let rules = json!({"available_until": until});
    let pairs = [SUBJECT_ENV[0], ("SIGNATURE_SECONDS", "5")];
    let sessions = sessions_table(&db, "rules-window").await;
    let app = table_app_with(&pairs, with_rules(&rules), sessions, any_viewer());
    let r = call(&app, &Call::new(Shape::Http)).await;
    let s = session_of(&r);
    // The signature stops at the window's end, not 5 s from now.
    let expires = json_body(&r)["expires_at"].as_str().unwrap().to_string();
    let t = time::OffsetDateTime::parse(&expires, &time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(t.unix_timestamp() as u64, until);
    let id = s["id"].as_str().unwrap();
    while system_clock()() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = call(&app, &Call::renew(Shape::Http, id)).await;
    assert_eq!(json_body(&r)["error"], "no_longer_available");
    let r = call(&app, &Call::list(Shape::Http)).await;
    assert_eq!(json_body(&r)["sessions"], json!([]));
}

/// A plan of two screens, from whatever store.
struct TwoScreens;

impl hlsgate_signed_url_issuer::entitlement::Entitlement for TwoScreens {
    async fn check(
        &self,
        _: &hlsgate_aws::viewer::Viewer,
        _: &hlsgate_core::video::VideoId,
        _: u64,
    ) -> Result<
        hlsgate_signed_url_issuer::entitlement::Decision,
        hlsgate_signed_url_issuer::entitlement::EntitlementError,
    > {
        Ok(hlsgate_signed_url_issuer::entitlement::Decision::Allowed {
            until: None,
            terms: read_terms(None::<[&str; 0]>, Some("2")).unwrap(),
        })
    }
}

#[tokio::test]
async fn a_grants_screens_without_a_table_to_count_them_is_a_clear_500() {
    // Stateless sessions cannot be counted: the plan would silently not
    // hold, so the start says why instead.
    let r = call(&app_entitled(TwoScreens), &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 500);
    assert_eq!(json_body(&r)["error"], "config");
}
