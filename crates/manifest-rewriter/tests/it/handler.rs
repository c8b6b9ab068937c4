//! The handler end to end over the in-memory store, in all three event shapes.

use hlsgate_core::signing::*;

use crate::common::*;

#[tokio::test]
async fn serves_the_master_signed_in_every_event_shape() {
    let app = app(&[]);
    for shape in SHAPES {
        let r = call(
            &app,
            &Call::master().shape(shape).without("accept-encoding"),
        )
        .await;
        assert_eq!(r.status(), 200, "{shape:?}: {:?}", body(&r));
        assert_eq!(
            header(&r, "content-type"),
            Some("application/vnd.apple.mpegurl")
        );
        assert_eq!(header(&r, "cache-control"), Some("private, no-store"));
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("https://player.example.com")
        );
        assert_eq!(header(&r, "content-encoding"), None);
        let text = String::from_utf8(body(&r)).unwrap();
        let children = check_signed(&text, &format!("{CDN}/videos/demo/master.m3u8"));
        assert_eq!(
            children.len(),
            6,
            "{shape:?}: 3 variants, 1 I-frame, audio, subs"
        );
    }
}

#[tokio::test]
async fn follows_every_child_playlist() {
    let app = app(&[]);
    let r = call(&app, &Call::master()).await;
    let master = format!("{CDN}/videos/demo/master.m3u8");
    let served = follow_children(&app, &String::from_utf8(body(&r)).unwrap(), &master).await;
    assert_eq!(served, 6);
}

#[tokio::test]
async fn media_playlist_bytes_are_kept_around_the_inserted_params() {
    let app = app(&[]);
    let r = call(
        &app,
        &Call::get("/videos/demo/subs/en/index.m3u8", &good_query()),
    )
    .await;
    let out = String::from_utf8(body(&r)).unwrap();
    let edge = QueryParams::from(&signed_folder("demo"));
    let expected = String::from_utf8(read("hls/ladder/subs/en/index.m3u8"))
        .unwrap()
        .replace(".vtt\r\n", &format!(".vtt?{}\r\n", edge.as_str()));
    assert_eq!(out, expected, "CRLF kept, only params inserted");
}

use hlsgate_core::hls::QueryParams;

#[tokio::test]
async fn origin_secret_current_and_previous_pass_anything_else_is_403() {
    let app = app(&[]);
    for ok in [SECRET, "test-only-previous-secret"] {
        let r = call(&app, &Call::master().header("X-Origin-Verify", ok)).await;
        assert_eq!(r.status(), 200, "{ok}");
    }
    for shape in SHAPES {
        for bad in [
            Call::master().shape(shape).without("X-Origin-Verify"),
            Call::master()
                .shape(shape)
                .header("X-Origin-Verify", "test-only-origin-secreT"),
            Call::master().shape(shape).header("X-Origin-Verify", ""),
        ] {
            let r = call(&app, &bad).await;
            assert_eq!(r.status(), 403, "{shape:?}");
            assert_eq!(json_body(&r)["error"], "forbidden");
            assert_eq!(header(&r, "cache-control"), Some("private, no-store"));
        }
    }
    // Even OPTIONS and odd methods need the secret first.
    let r = call(
        &app,
        &Call::master().method("DELETE").without("x-origin-verify"),
    )
    .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_configured_header_name_is_the_one_checked() {
    let app = app(&[("ORIGIN_HEADER", "X-Hlsgate-Origin")]);
    let r = call(&app, &Call::master()).await;
    assert_eq!(r.status(), 403);
    let r = call(&app, &Call::master().header("X-Hlsgate-Origin", SECRET)).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn methods() {
    let app = app(&[]);
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = call(&app, &Call::master().method(m)).await;
        assert_eq!(r.status(), 405, "{m}");
        assert_eq!(header(&r, "allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(json_body(&r)["error"], "method_not_allowed");
    }
    let head = call(&app, &Call::master().method("HEAD")).await;
    assert_eq!(head.status(), 200);
    assert!(body(&head).is_empty());
    assert_eq!(
        header(&head, "content-type"),
        Some("application/vnd.apple.mpegurl")
    );

    let pre = call(&app, &Call::master().method("OPTIONS")).await;
    assert_eq!(pre.status(), 204);
    assert_eq!(
        header(&pre, "access-control-allow-origin"),
        Some("https://player.example.com")
    );
    assert_eq!(
        header(&pre, "access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    let other = call(
        &app,
        &Call::master()
            .method("OPTIONS")
            .header("Origin", "https://evil.example"),
    )
    .await;
    assert_eq!(other.status(), 204);
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    assert_eq!(header(&other, "access-control-allow-methods"), None);
}

#[tokio::test]
async fn bad_paths_are_400_and_non_playlists_404_in_every_shape() {
    let app = app(&[]);
    let q = good_query();
    for shape in SHAPES {
        for (path, status) in [
            ("/videos/demo/../demo/master.m3u8", 400),
            ("/videos/demo/%2e%2e/demo/master.m3u8", 400),
            ("/videos/demo/%2E%2E%2Fsecret.m3u8", 400),
            ("/videos/demo%5cmaster.m3u8", 400),
            ("/videos/demo/master%00.m3u8", 400),
            ("/videos//demo/master.m3u8", 400),
            ("/videos/demo/%252e%252e/master.m3u8", 400),
            ("/videos/demo/seg_0.m4s", 404),
            ("/videos/demo/master.m3u8.txt", 404),
            ("/private/demo/master.m3u8", 404),
            ("/videos/demo/missing.m3u8", 404),
        ] {
            let r = call(&app, &Call::get(path, &q).shape(shape)).await;
            assert_eq!(r.status(), status, "{shape:?} {path}: {:?}", json_body(&r));
            let err = json_body(&r);
            assert!(err["request_id"].as_str().is_some_and(|s| !s.is_empty()));
            assert_eq!(
                header(&r, "access-control-allow-origin"),
                Some("https://player.example.com"),
                "players see the real error"
            );
        }
    }
}

#[tokio::test]
async fn signature_copy_must_verify_for_this_playlist() {
    let app = app(&[]);
    let signer = rsa_signer(HashAlgorithm::Sha1);
    let expired = sign_folder(&signer, "demo", NOW - 1, None);
    let other_video = signed_folder("other");
    let tampered = good_query().replacen("Signature-PREFIX=", "Signature-PREFIX=AAAA", 1);
    let stranger = Signer::new(
        PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        KeyPairId::new("KUNKNOWNKEY123").unwrap(),
        HashAlgorithm::Sha256,
    );
    let stranger = sign_folder(&stranger, "demo", EXPIRES, None);
    let cases = [
        ("none", String::new()),
        ("edge names only", signed_folder("demo").query_string()),
        ("expired", forwarded_query(&expired)),
        ("other video", forwarded_query(&other_video)),
        ("tampered", tampered),
        ("unknown key", forwarded_query(&stranger)),
        ("duplicate", format!("{}&Signature-PREFIX=x", good_query())),
        (
            "bad escape",
            format!("{}&Key-Pair-Id-PREFIX=%FF", good_query()),
        ),
    ];
    for (name, q) in cases {
        let r = call(&app, &Call::get("/videos/demo/master.m3u8", &q)).await;
        assert_eq!(r.status(), 403, "{name}");
        assert_eq!(json_body(&r)["error"], "forbidden", "{name}: no detail");
    }
}

#[tokio::test]
async fn every_key_of_the_group_and_sha256_are_accepted() {
    let app = app(&[]);
    for signer in [rsa_signer(HashAlgorithm::Sha256), ecdsa_signer()] {
        let signed = sign_folder(&signer, "demo", EXPIRES, None);
        let r = call(
            &app,
            &Call::get("/videos/demo/master.m3u8", &forwarded_query(&signed)),
        )
        .await;
        assert_eq!(r.status(), 200);
        let text = String::from_utf8(body(&r)).unwrap();
        assert!(
            text.contains("Hash-Algorithm=SHA256&Policy-PREFIX="),
            "copy follows the edge set"
        );
        check_signed(&text, &format!("{CDN}/videos/demo/master.m3u8"));
    }
}

#[tokio::test]
async fn ip_bound_policies_use_cloudfronts_viewer_address() {
    let app = app(&[]);
    let bound = sign_folder(
        &rsa_signer(HashAlgorithm::Sha1),
        "demo",
        EXPIRES,
        Some("203.0.113.0/24"),
    );
    let q = forwarded_query(&bound);
    let base = Call::get("/videos/demo/720p/index.m3u8", &q);
    for (address, status) in [
        ("203.0.113.10:443", 200),
        ("198.51.100.7:443", 403),
        ("[2001:db8::1]:443", 403),
    ] {
        let c = base.clone().header("CloudFront-Viewer-Address", address);
        assert_eq!(call(&app, &c).await.status(), status, "{address}");
    }
    // No address forwarded: CloudFront checked it at the edge.
    let unknown = call(&app, &base.without("CloudFront-Viewer-Address")).await;
    assert_eq!(unknown.status(), 200);
}

/// The `Cookie` header CloudFront's origin request policy forwards: the
/// signed cookies of `signed`, among a viewer's other cookies.
fn cookie_header(signed: &SignedParams) -> String {
    let jar: Vec<String> = signed
        .cookies()
        .into_iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    format!("theme=dark; {}", jar.join("; "))
}

#[tokio::test]
async fn cookie_mode_verifies_the_forwarded_cookies() {
    let app = app(&[("AUTH_MODE", "cookies")]);
    let master = "/videos/demo/master.m3u8";
    let cookies = |c: Call, signed: &SignedParams| {
        c.without("accept-encoding")
            .header("cookie", &cookie_header(signed))
    };
    for shape in SHAPES {
        let r = call(
            &app,
            &cookies(Call::get(master, "").shape(shape), &signed_folder("demo")),
        )
        .await;
        assert_eq!(r.status(), 200, "{shape:?}");
        assert_eq!(body(&r), read("hls/ladder/master.m3u8"), "served as stored");
    }

    // Nothing is served on a credential the rewriter has not checked.
    let none = call(&app, &Call::get(master, "")).await;
    assert_eq!(none.status(), 403, "no copy and no cookies");
    let other = signed_folder("other-video");
    let r = call(&app, &cookies(Call::get(master, ""), &other)).await;
    assert_eq!(r.status(), 403, "cookies for another video");
    for path in [
        "/videos/other-video/../demo/master.m3u8",
        "/videos/other-video/%2e%2e/demo/master.m3u8",
        "/videos/other-video/%2E%2E%2Fdemo/master.m3u8",
        "/videos/other-video/..%5cdemo/master.m3u8",
    ] {
        let r = call(&app, &cookies(Call::get(path, ""), &other)).await;
        assert!(
            matches!(r.status().as_u16(), 400 | 403),
            "{path}: {}",
            r.status()
        );
        assert_ne!(body(&r), read("hls/ladder/master.m3u8"), "{path}");
    }
    let expired = sign_folder(&rsa_signer(HashAlgorithm::Sha256), "demo", NOW - 1, None);
    let r = call(&app, &cookies(Call::get(master, ""), &expired)).await;
    assert_eq!(r.status(), 403, "expired cookies");
    let mut forged = cookie_header(&signed_folder("demo"));
    forged = forged.replace("CloudFront-Signature=", "CloudFront-Signature=AAAA");
    let r = call(
        &app,
        &Call::get(master, "")
            .without("accept-encoding")
            .header("cookie", &forged),
    )
    .await;
    assert_eq!(r.status(), 403, "forged signature");
    let bound = sign_folder(
        &rsa_signer(HashAlgorithm::Sha256),
        "demo",
        EXPIRES,
        Some("203.0.113.0/24"),
    );
    for (address, status) in [("203.0.113.10:443", 200), ("198.51.100.7:443", 403)] {
        let c = cookies(Call::get(master, ""), &bound).header("CloudFront-Viewer-Address", address);
        assert_eq!(call(&app, &c).await.status(), status, "{address}");
    }

    // A copy, when present, is checked and applied as in URL mode.
    let r = call(&app, &Call::master()).await;
    assert_eq!(r.status(), 200);
    check_signed(
        &String::from_utf8(body(&r)).unwrap(),
        &format!("{CDN}/videos/demo/master.m3u8"),
    );
    let bad = call(&app, &Call::get(master, "Signature-PREFIX=x")).await;
    assert_eq!(bad.status(), 403);
    // The origin secret still applies.
    let r = call(
        &app,
        &cookies(Call::get(master, ""), &signed_folder("demo")).without("x-origin-verify"),
    )
    .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_custom_suffix_is_read_and_written() {
    let app = app(&[("PARAM_SUFFIX", "-hg")]);
    let q = good_query().replace("-PREFIX=", "-hg=");
    let r = call(&app, &Call::get("/videos/demo/master.m3u8", &q)).await;
    assert_eq!(r.status(), 200);
    let text = String::from_utf8(body(&r)).unwrap();
    assert!(text.contains("&Signature-hg="));
    assert!(!text.contains("-PREFIX"));
    let r = call(&app, &Call::master()).await;
    assert_eq!(r.status(), 403, "the default suffix is not read any more");
}

#[tokio::test]
async fn compresses_large_bodies_for_clients_that_accept_it() {
    let app = app(&[("COMPRESS_MIN_BYTES", "100")]);
    let plain = body(&call(&app, &Call::master().without("accept-encoding")).await);
    for (accept, enc) in [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
    ] {
        let r = call(&app, &Call::master().header("Accept-Encoding", accept)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-encoding"), Some(enc), "{accept}");
        assert!(
            matches!(r.body(), lambda_http::Body::Binary(_)),
            "base64 for API Gateway"
        );
        assert_eq!(header(&r, "vary"), Some("Origin, Accept-Encoding"));
        assert_eq!(r.headers().get_all("vary").iter().count(), 1);
        assert_eq!(body(&r), plain, "{accept}");
    }
    // Small bodies are not worth it.
    let app = crate::common::app(&[]);
    let r = call(
        &app,
        &Call::get("/videos/demo/720p/iframes.m3u8", &good_query()),
    )
    .await;
    assert_eq!(header(&r, "content-encoding"), None);
}

#[tokio::test]
async fn hot_playlists_skip_the_store() {
    let app = app(&[]);
    for _ in 0..3 {
        assert_eq!(call(&app, &Call::master()).await.status(), 200);
    }
    assert_eq!(app.objects.source().reads(), 1);
    let off = crate::common::app(&[("CACHE_TTL_SECONDS", "0")]);
    for _ in 0..3 {
        assert_eq!(call(&off, &Call::master()).await.status(), 200);
    }
    assert_eq!(off.objects.source().reads(), 3);
}

#[tokio::test]
async fn broken_or_oversized_objects_are_502_not_passed_on() {
    let app = app(&[("MAX_PLAYLIST_BYTES", "2048")]);
    let store = app.objects.source();
    store.put("videos/demo/html.m3u8", "<html>not a playlist</html>");
    store.put(
        "videos/demo/big.m3u8",
        format!("#EXTM3U\n{}", "#EXTINF:6,\nseg.ts\n".repeat(200)),
    );
    for (path, code) in [
        ("/videos/demo/html.m3u8", "bad_playlist"),
        ("/videos/demo/big.m3u8", "playlist_too_large"),
    ] {
        let r = call(&app, &Call::get(path, &good_query())).await;
        assert_eq!(r.status(), 502, "{path}");
        assert_eq!(json_body(&r)["error"], code);
    }
}

/// Secrets Manager down before the first read: nothing can be checked, so
/// every request is a 503 to retry, never a pass.
#[tokio::test]
async fn an_unreadable_origin_secret_is_503() {
    use hlsgate_aws::secret::{SecretError, SecretSource, Versions};

    struct Down;
    impl SecretSource for Down {
        async fn fetch(&self) -> Result<Versions, SecretError> {
            Err(SecretError::Unavailable("throttled".into()))
        }
    }
    let objects = hlsgate_aws::MemoryObjects::new();
    for (k, v) in ladder_files() {
        objects.put(k, v);
    }
    let app = hlsgate_manifest_rewriter::App::new(config(&[]), objects, Down, clock());
    let r = hlsgate_manifest_rewriter::handle(&app, Call::master().request()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(json_body(&r)["error"], "origin_secret_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("1"));
}

/// Behind a Function URL, the distribution's viewer-request function sends
/// the public origin: the signature copy is verified, and URIs resolved,
/// against it.
#[tokio::test]
async fn the_public_origin_can_come_from_the_distribution() {
    let app = app(&[
        ("CDN_DOMAIN", ""),
        ("PUBLIC_ORIGIN_HEADER", "X-Hlsgate-Origin"),
    ]);
    let r = call(&app, &Call::master().header("X-Hlsgate-Origin", CDN)).await;
    assert_eq!(r.status(), 200, "{:?}", body(&r));
    check_signed(
        &String::from_utf8(body(&r)).unwrap(),
        &format!("{CDN}/videos/demo/master.m3u8"),
    );
    // The copy was signed for CDN: it does not cover another host.
    let r = call(
        &app,
        &Call::master().header("X-Hlsgate-Origin", "https://other.example.com"),
    )
    .await;
    assert_eq!(r.status(), 403);
    for bad in [
        "https://d111111abcdef8.cloudfront.net/videos",
        "ftp://d111111abcdef8.cloudfront.net",
        "HTTPS://D111111ABCDEF8.cloudfront.net",
    ] {
        let r = call(&app, &Call::master().header("X-Hlsgate-Origin", bad)).await;
        assert_eq!(r.status(), 502, "{bad}");
        assert_eq!(json_body(&r)["error"], "bad_public_origin");
    }
    let r = call(&app, &Call::master()).await;
    assert_eq!(r.status(), 502, "no header and no CDN_DOMAIN");
    // With CDN_DOMAIN and no header setting, the header means nothing.
    let app = self::app(&[]);
    let r = call(
        &app,
        &Call::master().header("X-Hlsgate-Origin", "https://other.example.com"),
    )
    .await;
    assert_eq!(r.status(), 200);
}

/// One EMF document per request: status class, URIs signed, bytes out,
/// the cache, and a wrong origin secret counted on its own.
#[tokio::test]
async fn every_request_writes_one_emf_document() {
    let mut config = config(&[("METRICS_NAMESPACE", "hlsgate/test")]);
    config.metrics = hlsgate_aws::metrics::Metrics::capture("hlsgate/test", "manifest-rewriter");
    let objects = hlsgate_aws::MemoryObjects::new();
    for (k, v) in ladder_files() {
        objects.put(k, v);
    }
    let app = hlsgate_manifest_rewriter::App::new(
        config,
        objects,
        hlsgate_aws::secret::StaticSecret(hlsgate_aws::secret::Versions::new(SECRET, None)),
        clock(),
    );
    let ok = call(&app, &Call::master().without("accept-encoding")).await;
    let again = call(&app, &Call::master().without("accept-encoding")).await;
    let bad = call(&app, &Call::master().header("X-Origin-Verify", "guess")).await;
    let expired = call(
        &app,
        &Call::get(
            "/videos/demo/master.m3u8",
            &forwarded_query(&sign_folder(
                &rsa_signer(HashAlgorithm::Sha1),
                "demo",
                NOW - 1,
                None,
            )),
        ),
    )
    .await;
    assert_eq!(
        [ok.status(), again.status(), bad.status(), expired.status()],
        [200, 200, 403, 403]
    );
    let docs = app.frame.metrics.captured();
    assert_eq!(docs.len(), 4);
    let d = &docs[0];
    assert_eq!(d["Function"], "manifest-rewriter");
    assert_eq!(d["StatusClass"], "2xx");
    let signed = String::from_utf8(body(&ok))
        .unwrap()
        .matches("Signature=")
        .count();
    assert_eq!(d["UrisSigned"], signed as f64);
    assert_eq!(d["BytesOut"], body(&ok).len() as f64);
    assert_eq!(d["CacheMisses"], 1.0);
    assert_eq!(docs[1]["CacheHits"], 1.0);
    assert_eq!(docs[2]["Reason"], "origin_secret_mismatch");
    assert_eq!(docs[2]["OriginSecretMismatches"], 1.0);
    assert_eq!(docs[3]["Reason"], "expired");
    assert!(docs[3].get("OriginSecretMismatches").is_none());
    for d in &docs {
        let ns = &d["_aws"]["CloudWatchMetrics"][0]["Namespace"];
        assert_eq!(ns, "hlsgate/test");
    }
}
