//! Every status the issuer answers, from REST and HTTP API events, and the
//! signatures it issues checked with the core verifier.

use std::net::IpAddr;

use aws_sdk_s3::Client;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use hlsgate_aws::S3Objects;
use hlsgate_aws::secret::SecretError;
use hlsgate_aws::testing::s3_error;
use hlsgate_core::signing::*;
use hlsgate_core::video::VideoId;
use hlsgate_signed_url_issuer::entitlement::{Decision, Entitlement, EntitlementError};
use hlsgate_signed_url_issuer::keys::KeySource;
use hlsgate_signed_url_issuer::viewer::Viewer;
use secrecy::SecretString;

use crate::common::*;

const MASTER: &str = "https://d111111abcdef8.cloudfront.net/videos/demo/master.m3u8";

/// Checks the common headers of every answer.
fn check_headers(r: &lambda_http::Response<lambda_http::Body>) {
    assert_eq!(header(r, "cache-control"), Some("private, no-store"));
    assert_eq!(header(r, "content-type"), Some("application/json"));
    assert!(header(r, "x-request-id").is_some());
}

#[tokio::test]
async fn issues_a_signed_url_from_rest_and_http_api_events() {
    let app = app(&[]);
    for shape in SHAPES {
        let r = call(&app, &Call::new(shape)).await;
        assert_eq!(r.status(), 200, "{shape:?}: {:?}", r.body());
        check_headers(&r);
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("https://player.example.com")
        );
        assert_eq!(header(&r, "access-control-allow-credentials"), None);
        assert!(set_cookies(&r).is_empty());
        let body = json_body(&r);
        assert_eq!(body["mode"], "url");
        // Five minutes (SIGNATURE_SECONDS), whatever the film's length.
        let expires = NOW + 300;
        assert_eq!(body["expires_at"], "2026-11-21T10:20:30Z");
        let url = body["manifest_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{MASTER}?Policy=")), "{url}");

        // CloudFront would accept it, for the master and anything in the
        // folder, until the expiry and not a second after.
        let keys = key_group();
        let v = verify_url(url, &keys, ctx(NOW)).unwrap();
        assert_eq!(v.key_pair_id, KEY_ID);
        assert_eq!(v.expires.seconds(), expires);
        assert_eq!(v.hash_algorithm, HashAlgorithm::Sha256);
        assert_eq!(
            v.resource,
            "https://d111111abcdef8.cloudfront.net/videos/demo/*"
        );
        assert_eq!(v.source_ip, None);
        let query = url.split_once('?').unwrap().1;
        let segment = format!("{CDN}/videos/demo/1080p/seg_00001.ts?{query}");
        assert!(verify_url(&segment, &keys, ctx(expires - 1)).is_ok());
        assert!(matches!(
            verify_url(&segment, &keys, ctx(expires + 1)),
            Err(VerifyError::Expired { .. })
        ));
        let other = format!("{CDN}/videos/other/master.m3u8?{query}");
        assert!(verify_url(&other, &keys, ctx(NOW)).is_err());

        // The forwarded copy carries the same values under suffixed names.
        let copy = Forwarded::from_query(query, &Default::default())
            .unwrap()
            .unwrap();
        copy.verify(MASTER, &keys, ctx(NOW)).unwrap();
    }
}

#[tokio::test]
async fn no_principal_is_401_for_both_shapes() {
    let app = app(&[]);
    for shape in SHAPES {
        for c in [
            Call::new(shape).anonymous(),
            Call::new(shape).claim("sub", None),
            Call::new(shape).claim("sub", Some("  ")),
        ] {
            let r = call(&app, &c).await;
            assert_eq!(r.status(), 401, "{c:?}");
            check_headers(&r);
            assert_eq!(header(&r, "www-authenticate"), Some("Bearer"));
            let body = json_body(&r);
            assert_eq!(body["error"], "unauthenticated");
            assert!(body["request_id"].as_str().unwrap().len() > 5);
            assert_eq!(body.as_object().unwrap().len(), 2);
        }
    }
}

#[tokio::test]
async fn bad_video_ids_are_400() {
    let app = app(&[]);
    let long = "x".repeat(129);
    for shape in SHAPES {
        for id in ["a.b", "a b", "..", "é", long.as_str(), "demo%2Fx", "demo;x"] {
            let r = call(&app, &Call::new(shape).video(id)).await;
            assert_eq!(r.status(), 400, "{shape:?} {id:?}");
            assert_eq!(json_body(&r)["error"], "bad_video_id");
        }
        let ok = "x".repeat(128);
        let r = call(&app, &Call::new(shape).video(&ok)).await;
        assert_eq!(r.status(), 404, "a valid id that does not exist");
    }
}

#[tokio::test]
async fn viewers_without_the_group_are_403() {
    let app = app(&[]);
    for shape in SHAPES {
        for groups in [None, Some("free"), Some("[free trial]"), Some("")] {
            let r = call(&app, &Call::new(shape).claim("cognito:groups", groups)).await;
            assert_eq!(r.status(), 403, "{shape:?} {groups:?}");
            assert_eq!(json_body(&r)["error"], "not_entitled");
            // The viewer's own standing, for the player to put in words;
            // the sentence stays in the logs.
            assert_eq!(json_body(&r)["reason"], "claim_missing", "{groups:?}");
            assert!(json_body(&r).get("message").is_none());
        }
        let r = call(
            &app,
            &Call::new(shape).claim("cognito:groups", Some("[free subscribers]")),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn a_video_list_claim_limits_which_videos() {
    let rules = [
        ("ENTITLEMENT_CLAIM", ""),
        ("ENTITLEMENT_VALUES", ""),
        ("ENTITLEMENT_VIDEOS_CLAIM", "custom:videos"),
    ];
    let strict = app(&rules);
    let wildcards = app(&[
        rules.as_slice(),
        &[("ENTITLEMENT_VIDEOS_WILDCARDS", "true")],
    ]
    .concat());
    let shape = Shape::Http;
    // (claim value, status without wildcards, with them) for video `demo`.
    for (claim, off, on) in [
        (Some("intro,demo"), 200, 200),
        (Some("[intro demo]"), 200, 200),
        (Some("intro,de*"), 403, 200),
        (Some("*"), 403, 200),
        // Blanks split only scopes and the bracket form: one entry here.
        (Some("intro demo"), 403, 403),
        (Some("x *"), 403, 403),
        (Some("intro"), 403, 403),
        (None, 403, 403),
    ] {
        let c = Call::new(shape).claim("custom:videos", claim);
        assert_eq!(call(&strict, &c).await.status(), off, "{claim:?}");
        assert_eq!(
            call(&wildcards, &c).await.status(),
            on,
            "{claim:?} with wildcards"
        );
    }
}

struct Down;

impl Entitlement for Down {
    async fn check(&self, _: &Viewer, _: &VideoId, _: u64) -> Result<Decision, EntitlementError> {
        Err(EntitlementError::new("grants_throttled", "table throttled"))
    }
}

fn rfc3339(t: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A rental that ends at the given second.
struct Rental(u64);

impl Entitlement for Rental {
    async fn check(&self, _: &Viewer, _: &VideoId, _: u64) -> Result<Decision, EntitlementError> {
        Ok(Decision::allowed_until(Some(self.0)))
    }
}

#[tokio::test]
async fn a_rental_never_outlives_its_grant() {
    // The TTL rule gives the fixture video far more than 60 s.
    let app = app_entitled(Rental(NOW + 60));
    let r = call(&app, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 200);
    let body = json_body(&r);
    assert_eq!(body["grant_expires_at"], rfc3339(NOW + 60));
    assert_eq!(body["expires_at"], rfc3339(NOW + 60));
    // A grant far off leaves the TTL rule in charge.
    let long = app_entitled(Rental(NOW + 30 * 86_400));
    let body = json_body(&call(&long, &Call::new(Shape::Http)).await);
    assert_ne!(body["expires_at"], rfc3339(NOW + 30 * 86_400));
    assert_eq!(body["grant_expires_at"], rfc3339(NOW + 30 * 86_400));
    // An implementation that hands back an ended grant still gets no
    // signature.
    let ended = app_entitled(Rental(NOW));
    let r = call(&ended, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 403);
    // Claims alone say nothing about a grant's end.
    let body = json_body(&call(&app_with(&[], store()), &Call::new(Shape::Http)).await);
    assert!(body.get("grant_expires_at").is_none(), "{body}");
}

#[tokio::test]
async fn an_entitlement_store_that_cannot_answer_is_503() {
    let app = app_entitled(Down);
    let r = call(&app, &Call::new(Shape::Rest)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "retry-after"), Some("1"));
    assert_eq!(json_body(&r)["error"], "entitlement_unavailable");
}

#[tokio::test]
async fn videos_that_are_not_ready_are_404_and_the_sidecar_sets_the_ttl() {
    let objects = store();
    // Signatures as long as the video: the rule for players that cannot renew.
    let app = app_with(&[("SIGNATURE_SECONDS", "duration")], objects.clone());
    let ok = |r: &lambda_http::Response<lambda_http::Body>| {
        assert_eq!(r.status(), 200, "{:?}", r.body());
        let url = json_body(r)["manifest_url"].as_str().unwrap().to_string();
        verify_url(&url, &key_group(), ctx(NOW))
            .unwrap()
            .expires
            .seconds()
            - NOW
    };

    // No sidecar and no master: not there (or not ready).
    let r = call(&app, &Call::new(Shape::Http).video("missing")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(json_body(&r)["error"], "not_found");

    // A 30 s clip gets the minimum; a sidecar's master name is used.
    objects.put("videos/clip/playback.json", {
        let mut s: serde_json::Value = serde_json::from_str(&sidecar("clip", 30.0)).unwrap();
        s["master_key"] = "videos/clip/index.m3u8".into();
        s.to_string()
    });
    let r = call(&app, &Call::new(Shape::Http).video("clip")).await;
    assert_eq!(ok(&r), 900);
    let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{CDN}/videos/clip/index.m3u8?")),
        "{url}"
    );

    // A master without a sidecar: served, with the longest TTL.
    objects.put("videos/copied/master.m3u8", "#EXTM3U\n");
    let r = call(&app, &Call::new(Shape::Http).video("copied")).await;
    assert_eq!(ok(&r), 21_600);

    // A broken sidecar, or one for another video, is our fault: 502.
    objects.put("videos/broken/playback.json", "{");
    objects.put("videos/swapped/playback.json", sidecar("demo", 10.0));
    for id in ["broken", "swapped"] {
        let r = call(&app, &Call::new(Shape::Http).video(id)).await;
        assert_eq!(r.status(), 502, "{id}");
        assert_eq!(json_body(&r)["error"], "bad_sidecar");
    }
}

#[tokio::test]
async fn storage_trouble_is_503_when_retryable_and_502_otherwise() {
    for (status, code, want, error) in [
        (503, "SlowDown", 503, "storage_busy"),
        (500, "InternalError", 502, "storage_error"),
    ] {
        let rule = mock!(Client::get_object).then_http_response(move || s3_error(status, code));
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
        let app = app_with(&[], S3Objects::new(client, "media"));
        let r = call(&app, &Call::new(Shape::Rest)).await;
        assert_eq!(r.status(), want, "{status}");
        let body = json_body(&r);
        assert_eq!(body["error"], error);
        assert!(
            !body.to_string().contains("REQ123"),
            "S3's ids stay in logs"
        );
    }
}

struct NoKeys;

impl KeySource for NoKeys {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        Err(SecretError::NotFound("the signing keys".into()))
    }
}

#[tokio::test]
async fn no_readable_keys_is_503() {
    let cfg = config(&[]);
    let app = app_parts(
        &[],
        store(),
        NoKeys,
        cfg.entitlement.claims.clone().unwrap(),
    );
    let r = call(&app, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(json_body(&r)["error"], "keys_unavailable");
}

#[tokio::test]
async fn methods_preflight_and_modes() {
    let app = app(&[]);
    let r = call(&app, &Call::new(Shape::Http).method("POST")).await;
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow"), Some("GET, POST, DELETE, OPTIONS"));

    let r = call(
        &app,
        &Call::new(Shape::Http)
            .anonymous()
            .method("OPTIONS")
            .header("Access-Control-Request-Method", "GET"),
    )
    .await;
    assert_eq!(r.status(), 204, "a preflight needs no token");
    assert_eq!(
        header(&r, "access-control-allow-headers"),
        Some("Authorization")
    );
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://player.example.com")
    );
    let r = call(
        &app,
        &Call::new(Shape::Http)
            .method("OPTIONS")
            .header("Origin", "https://evil.example"),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert_eq!(header(&r, "access-control-allow-headers"), None);

    for (mode, error) in [("bogus", "bad_mode"), ("cookies", "cookies_unavailable")] {
        let r = call(&app, &Call::new(Shape::Rest).mode(mode)).await;
        assert_eq!(r.status(), 400, "{mode}");
        assert_eq!(json_body(&r)["error"], error);
    }
    let r = call(&app, &Call::new(Shape::Rest).mode("url")).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn cookies_are_scoped_to_the_video_and_verify() {
    let app = app(COOKIES);
    for shape in SHAPES {
        let r = call(&app, &Call::new(shape).mode("cookies")).await;
        assert_eq!(r.status(), 200, "{:?}", r.body());
        check_headers(&r);
        assert_eq!(header(&r, "access-control-allow-credentials"), Some("true"));
        let body = json_body(&r);
        assert_eq!(body["mode"], "cookies");
        let master = "https://cdn.example.com/videos/demo/master.m3u8";
        assert_eq!(body["manifest_url"], master, "unsigned");

        let set = set_cookies(&r);
        assert_eq!(set.len(), 4, "{set:?}");
        for c in &set {
            for attr in [
                "Domain=example.com",
                "Path=/videos/demo/",
                "Secure",
                "HttpOnly",
                "SameSite=None",
                "Expires=Sat, 21 Nov 2026 10:20:30 GMT",
            ] {
                assert!(c.contains(attr), "{attr} missing in {c}");
            }
        }
        let jar = cookie_jar(&r);
        assert_eq!(jar["CloudFront-Key-Pair-Id"], KEY_ID);
        assert_eq!(jar["CloudFront-Hash-Algorithm"], "SHA256");
        let header_value: String = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let keys = key_group();
        for url in [
            master.to_string(),
            "https://cdn.example.com/videos/demo/720p/seg_00002.ts".to_string(),
        ] {
            let v = verify_cookies(&url, &header_value, &keys, ctx(NOW)).unwrap();
            assert_eq!(v.expires.seconds(), NOW + 300);
        }
        assert!(
            verify_cookies(
                "https://cdn.example.com/videos/other/master.m3u8",
                &header_value,
                &keys,
                ctx(NOW)
            )
            .is_err()
        );
    }
    // DEFAULT_MODE=cookies needs no parameter; ?mode=url still works.
    let mut extra = COOKIES.to_vec();
    extra.push(("DEFAULT_MODE", "cookies"));
    let cookie_app = crate::common::app(&extra);
    let r = call(&cookie_app, &Call::new(Shape::Http)).await;
    assert_eq!(set_cookies(&r).len(), 4);
    let r = call(&cookie_app, &Call::new(Shape::Http).mode("url")).await;
    assert!(set_cookies(&r).is_empty());
    assert!(
        json_body(&r)["manifest_url"]
            .as_str()
            .unwrap()
            .contains("Signature-PREFIX=")
    );
}

#[tokio::test]
async fn ipv4_viewers_are_bound_and_ipv6_viewers_are_not() {
    let app = app(&[("BIND_VIEWER_IP", "true")]);
    for shape in SHAPES {
        let r = call(&app, &Call::new(shape)).await;
        let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
        let keys = key_group();
        let at = |ip: &str| Context {
            now: NOW,
            viewer_ip: Some(ip.parse::<IpAddr>().unwrap()),
        };
        let v = verify_url(&url, &keys, at(VIEWER_IP)).unwrap();
        assert_eq!(v.source_ip.as_deref(), Some("203.0.113.10/32"));
        assert!(matches!(
            verify_url(&url, &keys, at("198.51.100.7")),
            Err(VerifyError::IpOutside { .. })
        ));

        let r = call(&app, &Call::new(shape).with_source_ip("2001:db8::7")).await;
        assert_eq!(r.status(), 200);
        let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
        let v = verify_url(&url, &keys, at("2001:db8::7")).unwrap();
        assert_eq!(v.source_ip, None);
    }
}

#[tokio::test]
async fn the_active_key_and_hash_decide_the_signature() {
    let ecdsa = keys_json(ECDSA_KEY_ID);
    let ecdsa_app = app(&[("SIGNING_KEYS", &ecdsa)]);
    let r = call(&ecdsa_app, &Call::new(Shape::Http)).await;
    let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
    let v = verify_url(&url, &key_group(), ctx(NOW)).unwrap();
    assert_eq!(v.key_pair_id, ECDSA_KEY_ID);
    assert_eq!(v.hash_algorithm, HashAlgorithm::Sha256);

    let sha1_app = app(&[("SIGNING_HASH", "SHA1")]);
    let r = call(&sha1_app, &Call::new(Shape::Http)).await;
    let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
    assert!(
        !url.contains("Hash-Algorithm"),
        "SHA1 is CloudFront's default"
    );
    let v = verify_url(&url, &key_group(), ctx(NOW)).unwrap();
    assert_eq!(v.hash_algorithm, HashAlgorithm::Sha1);
}

pub(crate) const ORIGIN_SECRET: &str = "test-only-origin-secret";

/// The issuer served by the distribution's `/playback/*` behaviour (origin
/// secret, host-only cookies, IP binding) and by its own URL.
fn cdn_app(extra: &[(&str, &str)]) -> TestApp {
    let mut all = vec![
        ("ORIGIN_SECRET", ORIGIN_SECRET),
        ("HOST_ONLY_COOKIES", "true"),
        ("BIND_VIEWER_IP", "true"),
    ];
    all.extend_from_slice(extra);
    app(&all).with_origin(hlsgate_aws::secret::Secret::Literal(
        hlsgate_aws::secret::StaticKeys(SecretString::from(ORIGIN_SECRET)),
    ))
}

pub(crate) fn through_cdn(shape: Shape) -> Call {
    // CloudFront's address is the connection's; the viewer's is in the header.
    Call::new(shape)
        .with_source_ip("130.176.0.1")
        .header("X-Origin-Verify", ORIGIN_SECRET)
        .header("CloudFront-Viewer-Address", "198.51.100.7:50123")
}

#[tokio::test]
async fn through_the_distribution_cookies_are_host_only_and_the_viewer_is_cloudfronts_header() {
    let app = cdn_app(&[]);
    let keys = key_group();
    let at = |ip: &str| Context {
        now: NOW,
        viewer_ip: Some(ip.parse::<IpAddr>().unwrap()),
    };
    for shape in SHAPES {
        let r = call(&app, &through_cdn(shape).mode("cookies")).await;
        assert_eq!(r.status(), 200, "{:?}", r.body());
        // Same origin as the player: no credentialed CORS.
        assert_eq!(header(&r, "access-control-allow-credentials"), None);
        let set = set_cookies(&r);
        assert_eq!(set.len(), 4, "{set:?}");
        for c in &set {
            assert!(!c.contains("Domain="), "host-only: {c}");
            assert!(c.contains("Path=/videos/demo/"), "{c}");
        }
        let jar: String = cookie_jar(&r)
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        verify_cookies(MASTER, &jar, &keys, at("198.51.100.7")).unwrap();
        assert!(verify_cookies(MASTER, &jar, &keys, at("130.176.0.1")).is_err());

        // URL mode through the CDN: bound to the viewer, not to CloudFront.
        let r = call(&app, &through_cdn(shape)).await;
        let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
        let v = verify_url(&url, &keys, at("198.51.100.7")).unwrap();
        assert_eq!(v.source_ip.as_deref(), Some("198.51.100.7/32"));

        // Straight to the API: the header is anyone's to send, so it is
        // not believed; host-only cookies would land on the API's host.
        let direct = Call::new(shape).header("CloudFront-Viewer-Address", "198.51.100.7:1");
        let r = call(&app, &direct).await;
        let url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();
        let v = verify_url(&url, &keys, at(VIEWER_IP)).unwrap();
        assert_eq!(v.source_ip.as_deref(), Some("203.0.113.10/32"));
        let r = call(&app, &direct.clone().mode("cookies")).await;
        assert_eq!(r.status(), 400);
        assert_eq!(json_body(&r)["error"], "cookies_unavailable");

        // A wrong secret is refused outright.
        let r = call(
            &app,
            &Call::new(shape).header("X-Origin-Verify", "test-only-origin-secreT"),
        )
        .await;
        assert_eq!(r.status(), 403);
        assert_eq!(json_body(&r)["error"], "forbidden");
    }
    // An origin secret in the config but not wired into the app: refused,
    // never silently treated as direct.
    let unwired = crate::common::app(&[("ORIGIN_SECRET", ORIGIN_SECRET)]);
    let r = call(&unwired, &Call::new(Shape::Http)).await;
    assert_eq!(r.status(), 500);
}

#[tokio::test]
async fn every_request_writes_one_emf_document() {
    let mut app = cdn_app(&[]);
    app.frame.metrics = hlsgate_aws::metrics::Metrics::capture("hlsgate/test", "signed-url-issuer");
    let url = call(&app, &through_cdn(Shape::Http)).await;
    let cookies = call(&app, &through_cdn(Shape::Http).mode("cookies")).await;
    let denied = call(
        &app,
        &Call::new(Shape::Http).claim("cognito:groups", Some("[nobody]")),
    )
    .await;
    let bad = call(
        &app,
        &Call::new(Shape::Http).header("X-Origin-Verify", "guess"),
    )
    .await;
    assert_eq!(
        [
            url.status(),
            cookies.status(),
            denied.status(),
            bad.status()
        ],
        [200, 200, 403, 403]
    );
    let docs = app.frame.metrics.captured();
    assert_eq!(docs.len(), 4);
    assert_eq!(docs[0]["Signatures"], 1.0);
    assert_eq!(docs[0]["Mode"], "url");
    assert_eq!(docs[0]["KeyId"], KEY_ID);
    assert_eq!(docs[0]["CacheMisses"], 1.0, "the sidecar, read once");
    assert_eq!(docs[1]["Mode"], "cookies");
    assert_eq!(docs[1]["CacheHits"], 1.0);
    let dims = &docs[1]["_aws"]["CloudWatchMetrics"];
    let signatures = dims
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["Metrics"][0]["Name"] == "Signatures")
        .unwrap();
    assert_eq!(
        signatures["Dimensions"],
        serde_json::json!([["Function", "Mode", "KeyId"]])
    );
    assert!(docs[2].get("Signatures").is_none());
    // The denial's own code, finer than the answer's `not_entitled`.
    assert_eq!(docs[2]["Reason"], "claim_missing");
    assert_eq!(docs[3]["OriginSecretMismatches"], 1.0);
    assert!(docs.iter().all(|d| d["Function"] == "signed-url-issuer"));
}

#[tokio::test]
async fn the_answer_carries_the_tracks_and_a_signed_poster() {
    let objects = store();
    let mut sidecar: serde_json::Value = serde_json::from_str(&sidecar("demo", 60.0)).unwrap();
    sidecar["poster_key"] = "videos/demo/poster.0000001.jpg".into();
    sidecar["tracks"] = serde_json::json!({
        "audio": [{"language": "en", "name": "English", "default": true},
                  {"language": "fr", "name": "Français"}],
        "subtitles": [{"language": "en", "name": "English"}],
        "iframes": true,
        "thumbnails": true
    });
    objects.put("videos/demo/playback.json", sidecar.to_string());
    let app = app_with(&[], objects);
    let body = json_body(&call(&app, &Call::new(Shape::Http)).await);
    assert_eq!(body["tracks"]["audio"][1]["name"], "Français");
    assert_eq!(body["tracks"]["audio"][1]["default"], false);
    assert_eq!(body["tracks"]["subtitles"][0]["language"], "en");
    assert_eq!(body["tracks"]["thumbnails"], true);
    // The poster, in the same folder signature, without the forwarded copy.
    let poster = body["poster_url"].as_str().unwrap();
    let v = verify_url(poster, &key_group(), ctx(NOW)).unwrap();
    assert_eq!(v.resource, format!("{CDN}/videos/demo/*"));
    assert!(poster.starts_with(&format!("{CDN}/videos/demo/poster.0000001.jpg?Policy=")));
    assert!(!poster.contains("-PREFIX"), "{poster}");
    assert_eq!(
        poster.split_once('?').unwrap().1.split('&').next(),
        body["manifest_url"]
            .as_str()
            .unwrap()
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .next()
    );

    // Without a sidecar: no tracks known, no poster.
    let bare = hlsgate_aws::MemoryObjects::new();
    for (k, v) in ladder_files() {
        bare.put(k, v);
    }
    let body = json_body(&call(&app_with(&[], bare), &Call::new(Shape::Http)).await);
    assert_eq!(
        body["tracks"],
        serde_json::json!({"audio": [], "subtitles": [], "iframes": false, "thumbnails": false})
    );
    assert!(body.get("poster_url").is_none());
}
