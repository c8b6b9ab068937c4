//! End to end: a URL the issuer hands out, requested from the rewriter as
//! CloudFront would forward it, and every URI of every playlist of the
//! fixture ladder verified as CloudFront would.

use std::sync::Arc;

use hlsgate_aws::secret::{StaticSecret, Versions};
use hlsgate_aws::{Env, MemoryObjects};
use hlsgate_core::signing::Context;
use hlsgate_manifest_rewriter as rewriter;
use lambda_http::{Body, Response};
use url::Url;

use crate::common::*;

const ORIGIN_SECRET: &str = "test-only-origin-secret";

/// The rewriter as the stack deploys it beside this issuer: same CDN, the
/// key group of both test keys, the fixture ladder.
fn rewriter_app() -> rewriter::App<MemoryObjects, StaticSecret> {
    let env = Env::from_pairs([
        ("MEDIA_BUCKET", "media".to_string()),
        ("CDN_DOMAIN", CDN_DOMAIN.to_string()),
        ("ORIGIN_SECRET", ORIGIN_SECRET.to_string()),
        ("PUBLIC_KEYS", public_keys_json()),
    ]);
    let objects = MemoryObjects::new();
    for (k, v) in ladder_files() {
        objects.put(k, v);
    }
    rewriter::App::new(
        rewriter::Config::from(env).unwrap(),
        objects,
        StaticSecret(Versions::new(ORIGIN_SECRET, None)),
        Arc::new(|| NOW),
    )
}

/// A playlist request as CloudFront forwards it to the rewriter's HTTP API.
async fn fetch(
    app: &rewriter::App<MemoryObjects, StaticSecret>,
    path: &str,
    query: &str,
) -> Response<Body> {
    let proxy = path.trim_start_matches('/');
    let req = ApiRequest::from_fixture(Shape::Http, "events/apigw-http-playlist.json")
        .path(path)
        .path_parameter("proxy", proxy)
        .query(query)
        .header("X-Origin-Verify", ORIGIN_SECRET)
        .request();
    rewriter::handle(app, req).await
}

/// The issuer's signatures pinned to the hour the rewriter's checks expect.
const ONE_HOUR: &[(&str, &str)] = &[("SIGNATURE_SECONDS", "3600")];

async fn play(extra: &[(&str, &str)]) {
    let issuer = app(extra);
    let rewriter = rewriter_app();
    for shape in SHAPES {
        let r = call(&issuer, &Call::new(shape)).await;
        assert_eq!(r.status(), 200);
        let manifest_url = json_body(&r)["manifest_url"].as_str().unwrap().to_string();

        // The viewer's request passes CloudFront with the edge set…
        let keys = key_group();
        let ctx = Context {
            now: NOW,
            viewer_ip: None,
        };
        hlsgate_core::signing::verify_url(&manifest_url, &keys, ctx).unwrap();
        // …and the origin request policy forwards the suffixed copy only.
        let u = Url::parse(&manifest_url).unwrap();
        let forwarded: Vec<String> = u
            .query_pairs()
            .filter(|(n, _)| n.ends_with(SUFFIX))
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        assert_eq!(
            forwarded.len(),
            4,
            "Policy, Key-Pair-Id, Signature, Hash-Algorithm"
        );
        let master = fetch(&rewriter, u.path(), &forwarded.join("&")).await;
        assert_eq!(master.status(), 200);
        let text = String::from_utf8(body(&master)).unwrap();
        let served = follow_children(
            async |path: &str, query: &str| fetch(&rewriter, path, query).await,
            &text,
            &manifest_url,
        )
        .await;
        assert_eq!(served, 6, "every child playlist of the ladder");
    }
}

#[tokio::test]
async fn an_issued_rsa_url_plays_through_the_rewriter() {
    play(ONE_HOUR).await;
}

#[tokio::test]
async fn an_issued_ecdsa_url_plays_through_the_rewriter() {
    let ecdsa = keys_json(ECDSA_KEY_ID);
    let mut extra = ONE_HOUR.to_vec();
    extra.push(("SIGNING_KEYS", &ecdsa));
    play(&extra).await;
}
