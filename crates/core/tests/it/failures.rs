//! Every verification failure reason, each with the request that causes it.

use hlsgate_core::signing::*;

use crate::common::*;

const EXP: u64 = 1893456000;
const START: u64 = 1893369600;

fn master() -> String {
    format!("{CDN}/videos/abc123/master.m3u8")
}

fn canned_url() -> String {
    rsa_signer(HashAlgorithm::Sha1)
        .sign_canned(&master(), epoch(EXP))
        .unwrap()
        .apply_to(&master())
        .unwrap()
}

fn folder() -> SignedParams {
    rsa_signer(HashAlgorithm::Sha256)
        .sign_folder(
            &format!("{CDN}/videos/abc123/"),
            epoch(EXP),
            Some(epoch(START)),
            Some(parse_source_ip("203.0.113.0/24").unwrap()),
        )
        .unwrap()
}

fn err(url: &str, ctx: Context) -> VerifyError {
    verify_url(url, &key_group(), ctx).expect_err(url)
}

#[test]
fn malformed_requests() {
    let good = canned_url();
    let cases = [
        (master(), "no signing parameters"),
        (
            good.replace("&Key-Pair-Id=K2JCJMDEHXQW5F", ""),
            "Key-Pair-Id is missing",
        ),
        (
            good.split("&Signature=").next().unwrap().to_string(),
            "Signature is missing",
        ),
        (
            good.replace("Expires=1893456000", "Expires=soon"),
            "whole seconds",
        ),
        (
            good.replace("Expires=1893456000", "Expires=1893456000000"),
            "milliseconds",
        ),
        (format!("{good}&Hash-Algorithm=MD5"), "SHA1 or SHA256"),
        (format!("{good}&Signature=abc"), "more than once"),
        (good.replace("Signature=", "Signature=%2B"), "base64"),
        (format!("{}&pad={}", good, "x".repeat(9000)), "8192"),
        ("not a url".to_string(), "relative URL"),
        (
            format!("ftp://d/a?{}", good.split('?').nth(1).unwrap()),
            "http or https",
        ),
    ];
    for (url, expect) in cases {
        let e = err(&url, at(NOW));
        assert_eq!(e.code(), "malformed", "{url}: {e}");
        assert!(
            e.to_string().contains(expect),
            "{url}: {e} lacks {expect:?}"
        );
    }
}

#[test]
fn a_validly_signed_but_invalid_policy_is_malformed() {
    let signer = rsa_signer(HashAlgorithm::Sha1);
    let junk = br#"{"Statement":[{"Resource":"*"}]}"#;
    let url = format!(
        "{}?Policy={}&Key-Pair-Id={RSA_ID}&Signature={}",
        master(),
        b64_encode(junk),
        signer.sign_bytes(junk).unwrap()
    );
    let e = err(&url, at(NOW));
    assert_eq!(e.code(), "malformed");
    assert!(e.to_string().contains("Condition"), "{e}");
}

#[test]
fn canned_and_custom_together_is_a_mismatch() {
    let folder_url = folder().apply_to(&master()).unwrap();
    let e = err(
        &format!("{folder_url}&Expires={EXP}"),
        ctx_ip(NOW, "203.0.113.1"),
    );
    assert_eq!(e.code(), "canned_custom_mismatch", "{e}");
    let cookie = "CloudFront-Expires=1893456000; CloudFront-Policy=abc; CloudFront-Signature=x; CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F";
    let e = verify_cookies(&master(), cookie, &key_group(), at(NOW)).unwrap_err();
    assert_eq!(e.code(), "canned_custom_mismatch");
}

#[test]
fn unknown_key_id_lists_the_group() {
    let e = err(&canned_url().replace(RSA_ID, "KNOTINGROUP"), at(NOW));
    assert_eq!(e.code(), "unknown_key_id");
    assert!(e.to_string().contains("KNOTINGROUP"));
    assert!(e.to_string().contains(RSA_ID), "{e}");
}

#[test]
fn bad_signatures() {
    let good = canned_url();
    // A changed signature character.
    let sig_at = good.find("Signature=").unwrap() + "Signature=".len() + 10;
    let mut tampered = good.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'A' { b'B' } else { b'A' };
    let e = err(&String::from_utf8(tampered).unwrap(), at(NOW));
    assert_eq!(e.code(), "bad_signature", "{e}");

    // A canned URL used for another file: the rebuilt policy differs.
    let e = err(&good.replace("master.m3u8", "other.m3u8"), at(NOW));
    assert_eq!(e.code(), "bad_signature");
    assert!(e.to_string().contains("another URL"), "{e}");

    // A later expiry pasted in.
    let e = err(
        &good.replace("Expires=1893456000", "Expires=1893456999"),
        at(NOW),
    );
    assert_eq!(e.code(), "bad_signature");

    // Signed by another key under our key id.
    let imposter = Signer::new(
        private("conformance/keys/second-rsa2048-pkcs1.pem"),
        KeyPairId::new(RSA_ID).unwrap(),
        HashAlgorithm::Sha1,
    );
    let u = imposter
        .sign_canned(&master(), epoch(EXP))
        .unwrap()
        .apply_to(&master())
        .unwrap();
    assert_eq!(err(&u, at(NOW)).code(), "bad_signature");

    // SHA256 signature without Hash-Algorithm: the hint says so.
    let sha256 = rsa_signer(HashAlgorithm::Sha256)
        .sign_canned(&master(), epoch(EXP))
        .unwrap()
        .apply_to(&master())
        .unwrap();
    let e = err(&sha256.replace("&Hash-Algorithm=SHA256", ""), at(NOW));
    assert_eq!(e.code(), "bad_signature");
    assert!(e.to_string().contains("add Hash-Algorithm=SHA256"), "{e}");
    let e = err(
        &canned_url().replace("Signature=", "Hash-Algorithm=SHA256&Signature="),
        at(NOW),
    );
    assert!(e.to_string().contains("drop Hash-Algorithm"), "{e}");

    // A changed custom policy (resource widened), signature kept.
    let f = folder();
    let widened = Policy::new(format!("{CDN}/*"), epoch(EXP)).unwrap();
    let forged = f.apply_to(&master()).unwrap().replace(
        f.policy_b64().unwrap(),
        &b64_encode(widened.to_json().as_bytes()),
    );
    assert_eq!(
        err(&forged, ctx_ip(NOW, "203.0.113.1")).code(),
        "bad_signature"
    );
}

#[test]
fn resource_mismatch_shows_pattern_and_url() {
    let q = folder().query_string();
    let other = format!("{CDN}/videos/zzz999/master.m3u8?{q}");
    let e = err(&other, ctx_ip(NOW, "203.0.113.1"));
    assert_eq!(e.code(), "resource_mismatch");
    let text = e.to_string();
    assert!(text.contains(&format!("{CDN}/videos/abc123/*")), "{text}");
    assert!(
        text.contains(&format!("{CDN}/videos/zzz999/master.m3u8")),
        "{text}"
    );
    let e = verify_cookies(
        &format!("{CDN}/videos/zzz999/master.m3u8"),
        &cookie_header(&folder()),
        &key_group(),
        ctx_ip(NOW, "203.0.113.1"),
    )
    .unwrap_err();
    assert_eq!(e.code(), "resource_mismatch");
}

#[test]
fn time_window_boundaries() {
    let url = folder().apply_to(&master()).unwrap();
    let ip = "203.0.113.1";
    assert_eq!(err(&url, ctx_ip(START - 1, ip)).code(), "not_yet_valid");
    assert_eq!(err(&url, ctx_ip(START, ip)).code(), "not_yet_valid");
    assert!(verify_url(&url, &key_group(), ctx_ip(START + 1, ip)).is_ok());
    assert!(verify_url(&url, &key_group(), ctx_ip(EXP - 1, ip)).is_ok());
    let e = err(&url, ctx_ip(EXP, ip));
    assert_eq!(e.code(), "expired");
    assert!(e.to_string().contains("2030-01-01T00:00:00Z"), "{e}");
    assert_eq!(err(&canned_url(), at(EXP + 60)).code(), "expired");
}

#[test]
fn source_ip_checks() {
    let url = folder().apply_to(&master()).unwrap();
    assert!(verify_url(&url, &key_group(), ctx_ip(NOW, "203.0.113.255")).is_ok());
    let e = err(&url, ctx_ip(NOW, "203.0.114.0"));
    assert_eq!(e.code(), "ip_outside_range");
    assert!(e.to_string().contains("203.0.113.0/24"), "{e}");
    assert_eq!(
        err(&url, ctx_ip(NOW, "2001:db8::1")).code(),
        "ip_outside_range"
    );
    assert_eq!(err(&url, at(NOW)).code(), "ip_unknown");
}

#[test]
fn every_reason_has_details() {
    let e = err(
        &folder().apply_to(&master()).unwrap(),
        ctx_ip(NOW, "10.0.0.1"),
    );
    assert_eq!(e.details()["cidr"], "203.0.113.0/24");
    assert_eq!(e.details()["ip"], "10.0.0.1");
}

/// A policy's conditions alone (its clear text, no signature): the same
/// reasons, in the same order, as after a valid signature.
#[test]
fn conditions_alone_give_the_verifiers_reasons() {
    let signed = folder();
    let policy = signed.policy();
    let ip = "203.0.113.1";
    let code = |url: &str, ctx: Context| conditions(policy, url, ctx).map_err(|e| e.code());
    assert_eq!(code(&master(), ctx_ip(NOW, ip)), Ok(()));
    assert_eq!(
        code("https://other.example/a.ts", ctx_ip(NOW, ip)),
        Err("resource_mismatch")
    );
    assert_eq!(code(&master(), ctx_ip(START, ip)), Err("not_yet_valid"));
    assert_eq!(code(&master(), ctx_ip(EXP, ip)), Err("expired"));
    assert_eq!(code(&master(), at(NOW)), Err("ip_unknown"));
    // The resource is checked first, as the verifier does.
    assert_eq!(
        code("https://other.example/a.ts", at(EXP)),
        Err("resource_mismatch")
    );
}
