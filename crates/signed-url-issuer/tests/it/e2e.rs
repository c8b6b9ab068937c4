//! End to end: a URL the issuer hands out, requested from the rewriter as
//! CloudFront would forward it, and every URI of every playlist of the
//! fixture ladder verified as CloudFront would.

use hlsgate_core::signing::Context;
use url::Url;

use crate::common::*;
use crate::rw;

/// The issuer's TTL pinned to the hour the rewriter's checks expect.
const ONE_HOUR: &[(&str, &str)] = &[("TTL_MIN_SECONDS", "3600"), ("TTL_MAX_SECONDS", "3600")];

async fn play(extra: &[(&str, &str)]) {
    let issuer = app(extra);
    let rewriter = rw::app(&[]);
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
            .filter(|(n, _)| n.ends_with(rw::SUFFIX))
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        assert_eq!(
            forwarded.len(),
            4,
            "Policy, Key-Pair-Id, Signature, Hash-Algorithm"
        );
        let master = rw::call(&rewriter, &rw::Call::get(u.path(), &forwarded.join("&"))).await;
        assert_eq!(master.status(), 200);
        let text = String::from_utf8(rw::body(&master)).unwrap();
        let served = rw::follow_children(&rewriter, &text, &manifest_url).await;
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
