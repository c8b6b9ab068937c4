//! The key route: `KEY_PREFIX/ID/hls.key` answers the 16 bytes stored at
//! `KEYS_PREFIX/ID.key`, only to the signature of that video's folder.

use hlsgate_aws::MemoryObjects;
use hlsgate_core::signing::HashAlgorithm;

use crate::common::*;

/// A test-only key, never a real one.
const KEY: [u8; 16] = *b"test-only-key-16";

fn keyed_app() -> MemApp {
    let objects = MemoryObjects::new();
    for (k, v) in ladder_files() {
        objects.put(k, v);
    }
    objects.put("keys/demo.key", KEY.to_vec());
    objects.put("keys/other.key", b"other-video-key!".to_vec());
    objects.put("keys/short.key", b"15-bytes-only!!".to_vec());
    app_with(&[], objects)
}

#[tokio::test]
async fn the_folder_signature_gets_the_key_and_nothing_logs_it() {
    let app = keyed_app();
    let logs = LogCapture::default();
    let r = {
        let _g = logs.install();
        call(&app, &Call::get("/videos/demo/hls.key", &good_query())).await
    };
    assert_eq!(r.status(), 200, "{:?}", body(&r));
    assert_eq!(body(&r), KEY);
    assert_eq!(header(&r, "content-type"), Some("application/octet-stream"));
    assert_eq!(header(&r, "cache-control"), Some("private, no-store"));
    let text = logs.text();
    assert!(text.contains(r#""kind":"key""#), "{text}");
    assert!(!text.contains("test-only-key-16"), "{text}");
    assert!(!text.contains(&hex(&KEY)), "{text}");
    assert!(
        !text.contains("keys/demo.key"),
        "the stored key's name: {text}"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn refusals() {
    let app = keyed_app();
    let signer = rsa_signer(HashAlgorithm::Sha1);
    let expired = forwarded_query(&sign_folder(&signer, "demo", NOW - 1, None));
    let other = forwarded_query(&signed_folder("other"));
    for (name, path, query, status) in [
        (
            "video B with video A's signature",
            "/videos/other/hls.key",
            good_query(),
            403,
        ),
        (
            "video A with video B's signature",
            "/videos/demo/hls.key",
            other,
            403,
        ),
        ("expired", "/videos/demo/hls.key", expired, 403),
        (
            "without the copy",
            "/videos/demo/hls.key",
            String::new(),
            403,
        ),
        (
            "the copy's names only at the edge",
            "/videos/demo/hls.key",
            signed_folder("demo").query_string(),
            403,
        ),
        (
            "missing key",
            "/videos/nokey/hls.key",
            forwarded_query(&signed_folder("nokey")),
            404,
        ),
        (
            "a stored key of the wrong size",
            "/videos/short/hls.key",
            forwarded_query(&signed_folder("short")),
            502,
        ),
        (
            "not a video id",
            "/videos/a.b/hls.key",
            forwarded_query(&signed_folder("a.b")),
            404,
        ),
        ("the key store itself", "/keys/demo.key", good_query(), 404),
        (
            "a key path one level down",
            "/videos/demo/sub/hls.key",
            good_query(),
            404,
        ),
    ] {
        let r = call(&app, &Call::get(path, &query)).await;
        assert_eq!(r.status(), status, "{name}: {:?}", body(&r));
        assert_ne!(body(&r), KEY, "{name}");
    }
}

#[tokio::test]
async fn cookie_mode_checks_the_cookies_against_the_key_path() {
    let app = {
        let objects = MemoryObjects::new();
        objects.put("keys/demo.key", KEY.to_vec());
        app_with(&[("AUTH_MODE", "cookies")], objects)
    };
    let cookies = |id: &str| {
        signed_folder(id)
            .cookies()
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let ok = call(
        &app,
        &Call::get("/videos/demo/hls.key", "").header("cookie", &cookies("demo")),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(body(&ok), KEY);
    let wrong = call(
        &app,
        &Call::get("/videos/demo/hls.key", "").header("cookie", &cookies("other")),
    )
    .await;
    assert_eq!(wrong.status(), 403);
}
