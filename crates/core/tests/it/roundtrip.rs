//! sign → verify for every algorithm, hash, policy form and output form.

use hlsgate_core::signing::*;

use crate::common::*;

fn signers() -> Vec<(String, Signer)> {
    let mut out = Vec::new();
    for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
        out.push((format!("rsa-fixture-{hash}"), rsa_signer(hash)));
        out.push((format!("ecdsa-fixture-{hash}"), ec_signer(hash)));
        for alg in [KeyAlgorithm::Rsa, KeyAlgorithm::EcdsaP256] {
            out.push((
                format!("{alg}-generated-{hash}"),
                Signer::new(
                    PrivateKey::generate(alg).unwrap(),
                    KeyPairId::new("KGENERATED").unwrap(),
                    hash,
                ),
            ));
        }
    }
    out
}

fn group_for(signer: &Signer) -> KeyGroup {
    let mut g = key_group();
    g.insert(
        signer.key_pair_id().clone(),
        signer.key().public_key().unwrap(),
    );
    g
}

#[test]
fn canned_custom_and_folder_signatures_verify_as_urls_and_cookies() {
    let master = format!("{CDN}/videos/abc123/master.m3u8?lang=en");
    let segment = format!("{CDN}/videos/abc123/720p/seg_00042.ts");
    let ctx = ctx_ip(NOW, "203.0.113.9");
    for (name, signer) in signers() {
        let keys = group_for(&signer);

        let canned = signer.sign_canned(&master, epoch(1893456000)).unwrap();
        assert_eq!(canned.kind(), PolicyKind::Canned);
        let url = canned.apply_to(&master).unwrap();
        let v = verify_url(&url, &keys, ctx).unwrap_or_else(|e| panic!("{name} canned: {e}"));
        assert_eq!(v.hash_algorithm, signer.hash());
        let cookie = cookie_header(&canned);
        verify_cookies(&master, &cookie, &keys, ctx)
            .unwrap_or_else(|e| panic!("{name} canned cookies: {e}"));

        let folder = signer
            .sign_folder(
                &format!("{CDN}/videos/abc123/"),
                epoch(1893456000),
                Some(epoch(1893369600)),
                Some(parse_source_ip("203.0.113.0/24").unwrap()),
            )
            .unwrap();
        // Sign once, apply to many.
        for u in [&master, &segment] {
            let signed = folder.apply_to(u).unwrap();
            let v = verify_url(&signed, &keys, ctx).unwrap_or_else(|e| panic!("{name} {u}: {e}"));
            assert_eq!(v.resource, format!("{CDN}/videos/abc123/*"));
            verify_cookies(u, &cookie_header(&folder), &keys, ctx)
                .unwrap_or_else(|e| panic!("{name} folder cookies: {e}"));
        }
    }
}

#[test]
fn folder_params_are_the_same_for_every_url() {
    let signer = ec_signer(HashAlgorithm::Sha256);
    let folder = abc123_folder(&signer);
    let q = folder.query_string();
    assert!(
        q.starts_with("Policy=") && q.ends_with("&Hash-Algorithm=SHA256"),
        "{q}"
    );
    for u in ["a.ts", "b/c.ts", "master.m3u8"] {
        let signed = folder
            .apply_to(&format!("{CDN}/videos/abc123/{u}"))
            .unwrap();
        assert!(signed.ends_with(&q), "{signed}");
    }
    assert!(folder.covers(&format!("{CDN}/videos/abc123/x.ts")));
    assert!(!folder.covers(&format!("{CDN}/videos/other/x.ts")));
}

#[test]
fn apply_to_keeps_own_query_first_and_fragment_last_and_is_idempotent() {
    let signer = rsa_signer(HashAlgorithm::Sha1);
    let folder = signer
        .sign_folder(&format!("{CDN}/v/"), epoch(1893456000), None, None)
        .unwrap();
    let q = folder.query_string();
    assert_eq!(
        folder
            .apply_to(&format!("{CDN}/v/a.m3u8?x=1&y=2#t=10"))
            .unwrap(),
        format!("{CDN}/v/a.m3u8?x=1&y=2&{q}#t=10")
    );
    assert_eq!(
        folder.apply_to(&format!("{CDN}/v/a.m3u8")).unwrap(),
        format!("{CDN}/v/a.m3u8?{q}")
    );
    assert_eq!(
        folder.apply_to(&format!("{CDN}/v/a.m3u8?")).unwrap(),
        format!("{CDN}/v/a.m3u8?{q}")
    );
    let once = folder.apply_to(&format!("{CDN}/v/a.m3u8?x=1")).unwrap();
    assert_eq!(folder.apply_to(&once).unwrap(), once);
    assert!(matches!(
        folder.apply_to(&format!("{CDN}/w/a.m3u8")),
        Err(SignError::NotCovered { .. })
    ));
    let canned = signer
        .sign_canned(&format!("{CDN}/v/a.m3u8"), epoch(1893456000))
        .unwrap();
    assert!(canned.apply_to(&format!("{CDN}/v/b.m3u8")).is_err());
}

#[test]
fn set_cookie_headers_carry_the_attributes() {
    let signer = rsa_signer(HashAlgorithm::Sha256);
    let folder = abc123_folder(&signer);
    let headers = folder
        .set_cookie_headers(&CookieOptions {
            domain: Some("cdn.example.com".into()),
            path: Some("/videos/abc123/".into()),
            same_site: SameSite::None,
            expires: true,
        })
        .unwrap();
    let names: Vec<&str> = headers
        .iter()
        .map(|h| h.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "CloudFront-Policy",
            "CloudFront-Key-Pair-Id",
            "CloudFront-Signature",
            "CloudFront-Hash-Algorithm"
        ]
    );
    for h in &headers {
        for attr in [
            "; HttpOnly",
            "; SameSite=None",
            "; Secure",
            "; Path=/videos/abc123/",
            "; Domain=cdn.example.com",
            "; Expires=Tue, 01 Jan 2030 00:00:00 GMT",
        ] {
            assert!(h.contains(attr), "{h} lacks {attr}");
        }
    }
    for bad in ["evil.com; Path=/", "a b", ""] {
        assert!(
            folder
                .set_cookie_headers(&CookieOptions {
                    domain: Some(bad.into()),
                    ..Default::default()
                })
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn key_rotation_any_key_of_the_group_verifies() {
    let second = Signer::new(
        private("conformance/keys/second-rsa2048-pkcs1.pem"),
        KeyPairId::new("K2SECONDROTATION").unwrap(),
        HashAlgorithm::Sha1,
    );
    let keys = key_group();
    for signer in [rsa_signer(HashAlgorithm::Sha1), second] {
        let u = signer
            .sign_canned(&format!("{CDN}/v/a.m3u8"), epoch(1893456000))
            .unwrap()
            .apply_to(&format!("{CDN}/v/a.m3u8"))
            .unwrap();
        verify_url(&u, &keys, at(NOW)).unwrap();
    }
}

#[test]
fn rsa_key_size_rule() {
    // The 2048-bit fixtures pass; any other size needs the explicit opt-out.
    let pem = read("conformance/keys/test-rsa2048-pkcs8.pem");
    assert!(private_key_from_pem(&pem, KeySize::CloudFront).is_ok());
    let small = read("keys/test-only-rsa1024.pem");
    let err = private_key_from_pem(&small, KeySize::CloudFront).unwrap_err();
    assert_eq!(err, KeyError::RsaKeySize { bits: 1024 });
    assert!(err.to_string().contains("2048"));
    assert!(private_key_from_pem(&small, KeySize::AllowAny).is_ok());
    assert!(public_key_from_pem(&small, KeySize::CloudFront).is_err());
}

#[test]
fn public_pem_is_not_a_private_key_and_p384_is_refused() {
    let public_pem = read("conformance/keys/test-rsa2048-public.pem");
    assert!(matches!(
        private_key_from_pem(&public_pem, KeySize::CloudFront),
        Err(KeyError::WrongKind { .. })
    ));
    let p384 = read("keys/test-only-ecdsa-p384.pem");
    let err = private_key_from_pem(&p384, KeySize::CloudFront).unwrap_err();
    assert!(err.to_string().contains("P-256"), "{err}");
}

#[test]
fn generated_keys_survive_pem_round_trips() {
    for alg in [KeyAlgorithm::Rsa, KeyAlgorithm::EcdsaP256] {
        let key = PrivateKey::generate(alg).unwrap();
        let pem = private_key_to_pem(&key).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = private_key_from_pem(pem.as_bytes(), KeySize::CloudFront).unwrap();
        let public_pem = public_key_to_pem(&key.public_key().unwrap()).unwrap();
        assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let public = public_key_from_pem(public_pem.as_bytes(), KeySize::CloudFront).unwrap();
        let sig = again.sign(HashAlgorithm::Sha256, b"policy").unwrap();
        assert!(public.verify(HashAlgorithm::Sha256, b"policy", &sig));
        assert!(
            format!("{key:?}").contains("bits"),
            "Debug never prints key material"
        );
    }
}
