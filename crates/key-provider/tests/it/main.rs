//! The key provider over API Gateway REST requests: every conformance
//! payload answered as the SPEKE suite expects, the folder key made once and
//! reused, callers other than the MediaConvert role refused, nothing of a
//! key in any log.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use hlsgate_aws::testing::{ApiRequest, LogCapture, Shape};
use hlsgate_aws::{Env, MemoryObjects};
use hlsgate_core::speke::encryptor::{read_answer, request};
use hlsgate_core::speke::{CLEAR_KEY_AES_128, HLS_AES_128, Version};
use hlsgate_core::video::{KEY_NAME, VideoId};
use hlsgate_key_provider::{App, Config, handle};
use lambda_http::Body;

const ROLE: &str = "arn:aws:iam::111122223333:role/hlsgate-MediaConvertRole-1A2B3C";
const SESSION: &str =
    "arn:aws:sts::111122223333:assumed-role/hlsgate-MediaConvertRole-1A2B3C/MediaConvert";

fn env(extra: &[(&str, &str)]) -> Env {
    let mut pairs = vec![("MEDIA_BUCKET", "media"), ("CALLER_ROLE_ARN", ROLE)];
    pairs.extend_from_slice(extra);
    Env::from_pairs(pairs)
}

fn app() -> App<MemoryObjects> {
    App {
        config: Config::from(env(&[])).unwrap(),
        media: MemoryObjects::default(),
    }
}

fn post(body: &str, version: Option<&str>) -> ApiRequest {
    let r = ApiRequest::new(Shape::Rest)
        .method("POST")
        .path("/copyProtection")
        .header("content-type", "application/xml")
        .caller_arn(SESSION)
        .body(body);
    match version {
        Some(v) => r.header("x-speke-version", v),
        None => r,
    }
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

async fn call(app: &App<MemoryObjects>, req: ApiRequest) -> Answer {
    let r = handle(app, req.request()).await;
    let body = match r.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
        Body::Empty => String::new(),
        _ => unreachable!(),
    };
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body,
    }
}

/// MediaConvert's request for `id`'s key, in `version`, for `system`.
fn asked(version: Version, id: &VideoId, system: &str) -> String {
    request(version, id, "0f083e4e-b831-4a3d-917e-ce78076e54aa", system)
}

fn fixture(rel: &str) -> String {
    String::from_utf8(hlsgate_fixtures::read(&format!("speke/{rel}"))).unwrap()
}

fn header<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
    a.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn every_conformance_payload_is_answered_as_the_suite_expects() {
    let app = app();
    for (file, version, want) in [
        (
            "v1/server_api_body.xml",
            None,
            Ok("5E99137A-BD6C-4ECC-A24D-A3EE04B4E011"),
        ),
        (
            "hlsgate/v1_mediaconvert_hls_aes128.xml",
            None,
            Ok("my-trip-day-1_Qh9bCAd2xYpKcM0g1YqkF2mVzS7kE4xQm9oY5wR3tLu"),
        ),
        (
            "hlsgate/v2_mediaconvert_clearkey_aes128.xml",
            Some("2.0"),
            Ok("my-trip-day-1_Qh9bCAd2xYpKcM0g1YqkF2mVzS7kE4xQm9oY5wR3tLu"),
        ),
        (
            "hlsgate/v2_default_namespace_no_signalling.xml",
            Some("2.0"),
            Ok("lecture-3"),
        ),
        (
            "v1/server_api_body_spekev2.xml",
            Some("2.0"),
            Err("Unsupported DRMSystem@systemId edef8ba9-79d6-4ace-a3c8-27dcd51d21ed (Widevine)"),
        ),
        (
            "v2-suite/vod/1_generic_spekev2_dash_widevine_preset_video_1_audio_1_no_rotation.xml",
            Some("2.0"),
            Err("Unsupported DRMSystem@systemId"),
        ),
        (
            "v2-suite/vod/2_speke_v1_style_implementation.xml",
            Some("2.0"),
            Err("Unsupported DRMSystem@systemId"),
        ),
        (
            "v2-suite/vod/3_negative_wrong_version_spekev2_dash_widevine.xml",
            Some("2.0"),
            Err("Unsupported CPIX@version"),
        ),
        (
            "v2-suite/vod/4_spekev2_negative_preset_shared_video.xml",
            Some("2.0"),
            Err("Non compliant ContentKeyUsageRule@intendedTrackType combination"),
        ),
        (
            "v2-suite/vod/5_spekev2_negative_preset_shared_audio.xml",
            Some("2.0"),
            Err("Non compliant ContentKeyUsageRule@intendedTrackType combination"),
        ),
    ] {
        let a = call(&app, post(&fixture(file), version)).await;
        assert_eq!(
            header(&a, "cache-control"),
            Some("private, no-store"),
            "{file}"
        );
        assert!(
            header(&a, "x-speke-user-agent")
                .unwrap()
                .starts_with("hlsgate-key-provider/"),
            "{file}"
        );
        assert_eq!(
            header(&a, "x-speke-version"),
            version,
            "{file}: the version is echoed"
        );
        match want {
            Ok(video) => {
                assert_eq!(a.status, 200, "{file}: {}", a.body);
                assert_eq!(
                    header(&a, "content-type"),
                    Some("application/xml; charset=utf-8")
                );
                let answered = read_answer(
                    a.body.as_bytes(),
                    if version.is_some() {
                        Version::V2
                    } else {
                        Version::V1
                    },
                )
                .unwrap();
                let stored = app
                    .media
                    .body(&format!("keys/{video}.key"))
                    .expect("the folder key is stored");
                assert_eq!(
                    answered.key().unwrap().as_slice(),
                    stored.as_ref(),
                    "{file}"
                );
                assert_eq!(answered.key_uri().as_deref(), Some(KEY_NAME), "{file}");
                // The same request again: the same key (no rotation).
                let again = call(&app, post(&fixture(file), version)).await;
                assert_eq!(again.body, a.body, "{file}");
            }
            Err(message) => {
                assert_eq!(a.status, 422, "{file}: {}", a.body);
                assert!(a.body.starts_with(message), "{file}: {}", a.body);
                assert_eq!(
                    header(&a, "content-type"),
                    Some("text/plain; charset=utf-8")
                );
            }
        }
    }
    // Refused requests made no key.
    assert_eq!(app.media.keys().len(), 3, "{:?}", app.media.keys());
}

/// The folder key the static exchange made before is the one answered, so
/// every encrypted video keeps playing; and a corrupt one is never replaced.
#[tokio::test]
async fn an_existing_folder_key_is_answered_and_a_corrupt_one_refused() {
    let app = app();
    let id = VideoId::parse("old-video_x").unwrap();
    app.media
        .put("keys/old-video_x.key", b"sixteen-byte-key".to_vec());
    let body = asked(Version::V2, &id, CLEAR_KEY_AES_128);
    let a = call(&app, post(&body, Some("2.0"))).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        read_answer(a.body.as_bytes(), Version::V2).unwrap().key(),
        Some(*b"sixteen-byte-key")
    );
    app.media.put("keys/old-video_x.key", b"short".to_vec());
    let a = call(&app, post(&body, Some("2.0"))).await;
    assert_eq!(a.status, 500);
    assert_eq!(
        app.media.body("keys/old-video_x.key").unwrap().as_ref(),
        b"short"
    );
}

#[tokio::test]
async fn only_the_mediaconvert_role_is_answered() {
    let app = app();
    let id = VideoId::parse("v1").unwrap();
    let body = asked(Version::V1, &id, HLS_AES_128);
    for caller in [
        None,
        Some("arn:aws:sts::111122223333:assumed-role/SomeoneElse/MediaConvert"),
        Some("arn:aws:sts::999988887777:assumed-role/hlsgate-MediaConvertRole-1A2B3C/MediaConvert"),
        Some("arn:aws:iam::111122223333:user/admin"),
    ] {
        let mut req = ApiRequest::new(Shape::Rest)
            .method("POST")
            .path("/copyProtection")
            .body(&body);
        if let Some(c) = caller {
            req = req.caller_arn(c);
        }
        let a = call(&app, req).await;
        assert_eq!(a.status, 403, "{caller:?}");
        assert!(!a.body.contains("PlainValue"));
    }
    // Not through a REST API at all (a Function URL has no IAM caller here).
    let url = ApiRequest::new(Shape::FunctionUrl)
        .method("POST")
        .body(&body);
    assert_eq!(call(&app, url).await.status, 403);
    assert!(
        app.media.keys().is_empty(),
        "no key was made for a refused caller"
    );
    // Only POST.
    let get = post(&body, None).method("GET");
    let a = call(&app, get).await;
    assert_eq!((a.status, header(&a, "allow")), (405, Some("POST")));
}

#[tokio::test]
async fn versions_and_bodies_are_refused_as_speke_says() {
    let app = app();
    let id = VideoId::parse("v1").unwrap();
    let v1 = asked(Version::V1, &id, HLS_AES_128);
    for (body, version, message) in [
        (v1.as_str(), Some("3.0"), "Unsupported SPEKE version"),
        (v1.as_str(), Some("2.0"), "Missing CPIX@version"),
        ("", Some("2.0"), "Malformed CPIX document"),
        ("", None, "Malformed CPIX document"),
    ] {
        let a = call(&app, post(body, version)).await;
        assert_eq!(a.status, 422, "{version:?}");
        assert!(a.body.starts_with(message), "{}", a.body);
    }
    let big = format!("{v1}{}", " ".repeat(hlsgate_core::speke::MAX_CPIX_BYTES));
    let a = call(&app, post(&big, None)).await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("over the limit"), "{}", a.body);
}

#[tokio::test]
async fn no_key_reaches_a_log() {
    let logs = LogCapture::default();
    let _g = logs.install();
    let app = app();
    let id = VideoId::parse("logged_video").unwrap();
    let body = asked(Version::V2, &id, CLEAR_KEY_AES_128);
    let a = call(&app, post(&body, Some("2.0"))).await;
    assert_eq!(a.status, 200);
    let key = app.media.body("keys/logged_video.key").unwrap();
    let text = logs.text();
    assert!(
        text.contains("key provided") && text.contains("logged_video"),
        "{text}"
    );
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&key)
    };
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !text.contains(&b64) && !text.contains(&hex),
        "the key reached a log"
    );
    assert!(!text.contains("PlainValue"));
}

#[test]
fn configuration_is_checked_and_documented() {
    let err = Config::from(Env::from_pairs([("CALLER_ROLE_ARN", "MediaConvertRole")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("MEDIA_BUCKET is required"), "{err}");
    assert!(
        err.contains("CALLER_ROLE_ARN must be an IAM role ARN"),
        "{err}"
    );
    let c = Config::from(env(&[])).unwrap();
    assert_eq!(c.keys_prefix, "keys/");
    let (e, read) = env(&[]).tracking();
    Config::from(e).unwrap();
    hlsgate_aws::testing::assert_documented("key-provider.md", read.names());
}
