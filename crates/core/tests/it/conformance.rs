//! Every vector from the reference signers (copied from ../shared/conformance
//! into fixtures/conformance so these always run).

use std::collections::BTreeMap;

use hlsgate_core::signing::*;
use serde_json::Value;

use crate::common::*;

fn cases(file: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&read(&format!("conformance/{file}"))).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn hash_of(case: &Value) -> HashAlgorithm {
    let h = case["input"]["hash_algorithm"]
        .as_str()
        .or(case["hash_algorithm"].as_str())
        .unwrap();
    HashAlgorithm::from_param(h).unwrap()
}

fn cookie_map(signed: &SignedParams) -> BTreeMap<String, String> {
    signed
        .cookies()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn reference_cookies(case: &Value) -> BTreeMap<String, String> {
    case["cookies"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

#[test]
fn rsa_signatures_over_policy_json_match_for_both_key_encodings() {
    for case in cases("cloudfront-signing.json") {
        let name = case["name"].as_str().unwrap();
        let hash = hash_of(&case);
        for key_file in [
            "conformance/keys/test-rsa2048-pkcs1.pem",
            "conformance/keys/test-rsa2048-pkcs8.pem",
        ] {
            let signer = Signer::new(private(key_file), KeyPairId::new(RSA_ID).unwrap(), hash);
            let sig = signer
                .sign_bytes(case["policy_json"].as_str().unwrap().as_bytes())
                .unwrap();
            assert_eq!(
                sig,
                case["signature"].as_str().unwrap(),
                "{name} {key_file}"
            );
        }
    }
}

/// Builds our policy from the vector's inputs and signs it the way the CLI does.
fn sign_like_reference(case: &Value) -> (SignedParams, String) {
    let input = &case["input"];
    let signer = rsa_signer(hash_of(case));
    match case["kind"].as_str().unwrap() {
        "canned" => {
            let url = input["url"].as_str().unwrap();
            let expires = epoch(input["date_less_than"].as_u64().unwrap());
            (signer.sign_canned(url, expires).unwrap(), url.to_string())
        }
        _ => {
            let policy = match input["policy"].as_str() {
                Some(raw) => Policy::from_json(raw.as_bytes()).unwrap(),
                None => {
                    let url = input["url"].as_str().unwrap();
                    let mut p =
                        Policy::new(url, epoch(input["date_less_than"].as_u64().unwrap())).unwrap();
                    if let Some(s) = input["date_greater_than"].as_u64() {
                        p = p.with_start(epoch(s)).unwrap();
                    }
                    if let Some(ip) = input["ip_address"].as_str() {
                        p = p.with_source_ip(parse_source_ip(ip).unwrap());
                    }
                    p
                }
            };
            let url = input["url"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| policy.resource().to_string());
            (signer.sign_custom(&policy).unwrap(), url)
        }
    }
}

#[test]
fn signed_urls_policies_and_cookies_match_the_reference() {
    for case in cases("cloudfront-signing.json") {
        let name = case["name"].as_str().unwrap();
        let (signed, url) = sign_like_reference(&case);
        assert_eq!(
            signed.policy_json(),
            case["policy_json"].as_str().unwrap(),
            "{name}: policy JSON"
        );
        assert_eq!(
            signed.signature(),
            case["signature"].as_str().unwrap(),
            "{name}: signature"
        );
        assert_eq!(
            signed.apply_to(&url).unwrap(),
            case["signed_url"].as_str().unwrap(),
            "{name}: signed URL"
        );
        if name == "canned-encoded-path-sha1" {
            // The reference signs cookies over the raw (unencoded) URL but URLs
            // over the encoded one. CloudFront rebuilds a canned policy from the
            // URL the browser sends, which is encoded, so our cookies carry the
            // same signature as our URL. Pin the reference's behaviour so a
            // change in it is noticed.
            assert_eq!(
                cookie_map(&signed)["CloudFront-Signature"],
                signed.signature()
            );
            let raw = Policy::new(case["input"]["url"].as_str().unwrap(), epoch(1893456000));
            assert!(
                raw.is_err(),
                "a raw URL with a space is not a valid resource for us"
            );
            let raw_json = case["policy_json"]
                .as_str()
                .unwrap()
                .replace("my%20movie/%C3%BCn%C3%AFcode", "my movie/ünïcode");
            let reference_cookie_sig = reference_cookies(&case)["CloudFront-Signature"].clone();
            assert_eq!(
                rsa_signer(HashAlgorithm::Sha1)
                    .sign_bytes(raw_json.as_bytes())
                    .unwrap(),
                reference_cookie_sig,
                "reference cookie signature is over the unencoded URL"
            );
        } else {
            assert_eq!(
                cookie_map(&signed),
                reference_cookies(&case),
                "{name}: cookies"
            );
        }
    }
}

#[test]
fn reference_signed_urls_and_cookies_verify() {
    let keys = key_group();
    for case in cases("cloudfront-signing.json") {
        let name = case["name"].as_str().unwrap();
        let ctx = Context {
            now: NOW,
            // The vector's own address, else one inside 203.0.113.0/24 (the
            // range the raw-policy vectors bind to).
            viewer_ip: Some(
                case["input"]["ip_address"]
                    .as_str()
                    .map(|ip| ip.split('/').next().unwrap())
                    .unwrap_or("203.0.113.77")
                    .parse()
                    .unwrap(),
            ),
        };
        let signed_url = case["signed_url"].as_str().unwrap();
        let v = verify_url(signed_url, &keys, ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.key_pair_id, RSA_ID);
        assert_eq!(v.hash_algorithm, hash_of(&case));
        if name != "canned-encoded-path-sha1" {
            let cookie_header: Vec<String> = reference_cookies(&case)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let request = case["input"]["url"]
                .as_str()
                .unwrap_or("https://d111111abcdef8.cloudfront.net/videos/abc123/seg_001.ts");
            verify_cookies(request, &cookie_header.join("; "), &keys, ctx)
                .unwrap_or_else(|e| panic!("{name} cookies: {e}"));
        }
    }
}

fn ecdsa_url(case: &Value, signature: &str) -> String {
    let policy = case["policy_json"].as_str().unwrap();
    let hash = if case["hash_algorithm"] == "SHA256" {
        "&Hash-Algorithm=SHA256"
    } else {
        ""
    };
    let id = case["key_pair_id"].as_str().unwrap();
    match case["kind"].as_str().unwrap() {
        "canned" => format!(
            "{CDN}/videos/abc123/master.m3u8?Expires=1893456000&Key-Pair-Id={id}&Signature={signature}{hash}"
        ),
        _ => format!(
            "{CDN}/videos/abc123/720p/seg_001.ts?Policy={}&Key-Pair-Id={id}&Signature={signature}{hash}",
            b64_encode(policy.as_bytes())
        ),
    }
}

#[test]
fn reference_ecdsa_signatures_verify() {
    let keys = key_group();
    let ctx = ctx_ip(NOW, "203.0.113.77");
    for case in cases("ecdsa-p256.json") {
        let name = case["name"].as_str().unwrap();
        let url = ecdsa_url(&case, case["signature"].as_str().unwrap());
        let v = verify_url(&url, &keys, ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.key_pair_id, EC_ID);
    }
}

#[test]
fn our_ecdsa_signatures_verify_from_sec1_and_pkcs8_keys() {
    let keys = key_group();
    let ctx = ctx_ip(NOW, "203.0.113.77");
    for key_file in [
        "conformance/keys/test-ecdsa-p256-sec1.pem",
        "conformance/keys/test-ecdsa-p256-pkcs8.pem",
    ] {
        for case in cases("ecdsa-p256.json") {
            let signer = Signer::new(
                private(key_file),
                KeyPairId::new(EC_ID).unwrap(),
                hash_of(&case),
            );
            let sig = signer
                .sign_bytes(case["policy_json"].as_str().unwrap().as_bytes())
                .unwrap();
            assert!(sig.starts_with("ME"), "DER SEQUENCE, base64: {sig}");
            verify_url(&ecdsa_url(&case, &sig), &keys, ctx)
                .unwrap_or_else(|e| panic!("{key_file} {}: {e}", case["name"]));
        }
    }
}

#[test]
fn fixtures_match_shared_conformance_when_present() {
    let shared = fixtures().join("../../shared/conformance");
    if !shared.exists() {
        eprintln!(
            "skipped: {} not found; the copies in fixtures/conformance were used",
            shared.display()
        );
        return;
    }
    for rel in [
        "cloudfront-signing.json",
        "ecdsa-p256.json",
        "keys/test-rsa2048-pkcs1.pem",
        "keys/test-ecdsa-p256-public.pem",
        "keys/second-rsa2048-public.pem",
    ] {
        let theirs = std::fs::read(shared.join(rel)).unwrap();
        assert_eq!(
            theirs,
            read(&format!("conformance/{rel}")),
            "fixtures/conformance/{rel} differs from ../shared; copy it again"
        );
    }
}
