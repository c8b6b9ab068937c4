//! Properties: verify(sign(x)) holds, and any one-byte change to the policy or
//! the signature is refused.

use hlsgate_core::signing::*;
use proptest::prelude::*;

use crate::common::*;

fn signer_for(ec: bool, sha256: bool) -> Signer {
    let hash = if sha256 {
        HashAlgorithm::Sha256
    } else {
        HashAlgorithm::Sha1
    };
    if ec {
        ec_signer(hash)
    } else {
        rsa_signer(hash)
    }
}

/// A path segment that stays one: `.` and `..` resolve away (as at
/// CloudFront and in every URL parser), so `/~/..` is the root, which no
/// folder policy covers (the proptest's find, kept in the regressions).
fn path_segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{1,24}".prop_filter("dot segments resolve away", |s| s != "." && s != "..")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn verify_of_sign_holds(
        ec in any::<bool>(),
        sha256 in any::<bool>(),
        folder in path_segment(),
        file in path_segment(),
        query in proptest::option::of("[a-z]{1,8}=[a-z0-9]{0,8}"),
        lifetime in 1u64..1_000_000,
        custom in any::<bool>(),
    ) {
        let signer = signer_for(ec, sha256);
        let expires = epoch(NOW + lifetime);
        let url = match &query {
            Some(q) => format!("{CDN}/{folder}/{file}?{q}"),
            None => format!("{CDN}/{folder}/{file}"),
        };
        let signed = if custom {
            signer.sign_folder(&format!("{CDN}/{folder}/"), expires, None, None).unwrap()
        } else {
            signer.sign_canned(&url, expires).unwrap()
        };
        let signed_url = signed.apply_to(&url).unwrap();
        let v = verify_url(&signed_url, &key_group(), at(NOW)).unwrap();
        prop_assert_eq!(v.expires, expires);
        prop_assert!(verify_url(&signed_url, &key_group(), at(NOW + lifetime)).is_err());
    }

    #[test]
    fn one_byte_change_to_policy_or_signature_fails(
        ec in any::<bool>(),
        sha256 in any::<bool>(),
        in_policy in any::<bool>(),
        index in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let signer = signer_for(ec, sha256);
        let folder = signer
            .sign_folder(&format!("{CDN}/videos/abc123/"), epoch(1893456000), None, None)
            .unwrap();
        let target = format!("{CDN}/videos/abc123/master.m3u8");
        let good = folder.apply_to(&target).unwrap();
        prop_assert!(verify_url(&good, &key_group(), at(NOW)).is_ok());

        let (name, b64) = if in_policy {
            ("Policy", folder.policy_b64().unwrap().to_string())
        } else {
            ("Signature", folder.signature().to_string())
        };
        let mut bytes = b64_decode(&b64).unwrap();
        let i = index.index(bytes.len());
        bytes[i] ^= xor;
        let changed = good.replace(&format!("{name}={b64}"), &format!("{name}={}", b64_encode(&bytes)));
        prop_assert_ne!(&changed, &good);
        let e = verify_url(&changed, &key_group(), at(NOW)).unwrap_err();
        prop_assert!(
            matches!(e.code(), "bad_signature" | "malformed"),
            "{} accepted or wrong reason: {}", name, e
        );
    }

    #[test]
    fn one_character_change_to_the_query_value_fails(
        index in any::<prop::sample::Index>(),
        replacement in prop::sample::select(b"ABCxyz019-_~".to_vec()),
    ) {
        let url = rsa_signer(HashAlgorithm::Sha1)
            .sign_canned(&format!("{CDN}/v/a.m3u8"), epoch(1893456000))
            .unwrap()
            .apply_to(&format!("{CDN}/v/a.m3u8"))
            .unwrap();
        let start = url.find("Signature=").unwrap() + "Signature=".len();
        let i = start + index.index(url.len() - start);
        prop_assume!(url.as_bytes()[i] != replacement);
        let mut b = url.clone().into_bytes();
        b[i] = replacement;
        let changed = String::from_utf8(b).unwrap();
        prop_assert!(verify_url(&changed, &key_group(), at(NOW)).is_err());
    }

    #[test]
    fn wildcard_star_pattern_matches_its_own_prefix(prefix in "[a-z/]{0,20}", rest in "[a-z/?=&]{0,20}") {
        let pattern = format!("{prefix}*");
        let url = format!("{prefix}{rest}");
        prop_assert!(wildcard::matches(&pattern, &url));
        // With no `*`, a pattern matches only URLs of its own length.
        prop_assert!(wildcard::matches(&url, &url));
        let longer = format!("{url}x");
        prop_assert!(!wildcard::matches(&url, &longer));
    }
}
