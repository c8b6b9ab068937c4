use hlsgate_core::signing::*;
pub use hlsgate_fixtures::{CDN, ECDSA_KEY_ID as EC_ID, KEY_ID as RSA_ID, fixtures, read};

/// Inside every vector's validity window (window: 1893369600..1893456000).
pub const NOW: u64 = 1_893_400_000;

pub fn private(rel: &str) -> PrivateKey {
    private_key_from_pem(&read(rel), KeySize::CloudFront).unwrap()
}

pub fn public(rel: &str) -> PublicKey {
    public_key_from_pem(&read(rel), KeySize::CloudFront).unwrap()
}

pub fn rsa_signer(hash: HashAlgorithm) -> Signer {
    Signer::new(
        private("conformance/keys/test-rsa2048-pkcs1.pem"),
        KeyPairId::new(RSA_ID).unwrap(),
        hash,
    )
}

pub fn ec_signer(hash: HashAlgorithm) -> Signer {
    Signer::new(
        private("conformance/keys/test-ecdsa-p256-sec1.pem"),
        KeyPairId::new(EC_ID).unwrap(),
        hash,
    )
}

/// The key group of the test distribution: both test keys plus the rotation key.
pub fn key_group() -> KeyGroup {
    let mut g = KeyGroup::new();
    g.insert(
        KeyPairId::new(RSA_ID).unwrap(),
        public("conformance/keys/test-rsa2048-public.pem"),
    );
    g.insert(
        KeyPairId::new(EC_ID).unwrap(),
        public("conformance/keys/test-ecdsa-p256-public.pem"),
    );
    g.insert(
        KeyPairId::new("K2SECONDROTATION").unwrap(),
        public("conformance/keys/second-rsa2048-public.pem"),
    );
    g
}

pub fn at(now: u64) -> Context {
    Context {
        now,
        viewer_ip: None,
    }
}

/// A verification context with a viewer address.
pub fn ctx_ip(now: u64, ip: &str) -> Context {
    Context {
        now,
        viewer_ip: Some(ip.parse().unwrap()),
    }
}

pub fn epoch(s: u64) -> Epoch {
    Epoch::new(s).unwrap()
}

/// A folder signature on `CDN/videos/abc123/`, valid until 2030, no conditions.
pub fn abc123_folder(signer: &Signer) -> SignedParams {
    signer
        .sign_folder(
            &format!("{CDN}/videos/abc123/"),
            epoch(1893456000),
            None,
            None,
        )
        .unwrap()
}

/// The `Cookie` header a browser would send for these signed cookies.
pub fn cookie_header(p: &SignedParams) -> String {
    p.cookies()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}
