//! The test keys, signatures and playlist checks every HTTP function's
//! tests use; the fixtures' location and names come from `hlsgate-fixtures`.

use std::io::Read;
use std::path::Path;

use hlsgate_core::signing::{
    Context, Epoch, Forwarded, HashAlgorithm, KeyAlgorithm, KeyGroup, KeyPairId, KeySize,
    ParamSuffix, PrivateKey, SignedParams, Signer, parse_source_ip, private_key_from_pem,
    private_key_to_pem, public_key_to_pem, verify_url,
};
use lambda_http::{Body, Response};
use serde_json::json;

pub use hlsgate_fixtures::{CDN, CDN_DOMAIN, ECDSA_KEY_ID, KEY_ID, fixtures, read};

/// The tests' clock, and the usual expiry an hour later.
pub const NOW: u64 = 1_795_256_130;
pub const EXPIRES: u64 = NOW + 3600;
/// The default suffix of the forwarded copy.
pub const SUFFIX: &str = "-PREFIX";

/// The conformance RSA-2048 key.
pub fn rsa_key() -> PrivateKey {
    private_key_from_pem(
        &read("conformance/keys/test-rsa2048-pkcs1.pem"),
        KeySize::CloudFront,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A P-256 key made once per test binary: the key group holds two keys.
pub fn ecdsa_key() -> PrivateKey {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let pem = PEM.get_or_init(|| {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap_or_else(|e| panic!("{e}"));
        private_key_to_pem(&key).unwrap_or_else(|e| panic!("{e}"))
    });
    private_key_from_pem(pem.as_bytes(), KeySize::CloudFront).unwrap_or_else(|e| panic!("{e}"))
}

pub fn key_pair_id(id: &str) -> KeyPairId {
    KeyPairId::new(id).unwrap_or_else(|e| panic!("{e}"))
}

pub fn rsa_signer(hash: HashAlgorithm) -> Signer {
    Signer::new(rsa_key(), key_pair_id(KEY_ID), hash)
}

pub fn ecdsa_signer() -> Signer {
    Signer::new(
        ecdsa_key(),
        key_pair_id(ECDSA_KEY_ID),
        HashAlgorithm::Sha256,
    )
}

/// `PUBLIC_KEYS` for both keys: one PEM, one bare base64 body, as a
/// template would pass them.
pub fn public_keys_json() -> String {
    let pem = |k: PrivateKey| {
        k.public_key()
            .map_err(|e| e.to_string())
            .and_then(|p| public_key_to_pem(&p).map_err(|e| e.to_string()))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let rsa = pem(rsa_key());
    let ec = pem(ecdsa_key());
    let bare: String = ec.lines().filter(|l| !l.starts_with("-----")).collect();
    json!({ KEY_ID: rsa, ECDSA_KEY_ID: bare }).to_string()
}

/// The key group CloudFront would trust: both keys.
pub fn key_group() -> KeyGroup {
    KeyGroup::from_json(&public_keys_json()).unwrap_or_else(|e| panic!("{e}"))
}

/// The fixture ladder's playlists (`fixtures/hls/ladder`) under `videos/demo/`.
pub fn ladder_files() -> Vec<(String, Vec<u8>)> {
    let root = fixtures().join("hls/ladder");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for p in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "m3u8") {
                let rel = p
                    .strip_prefix(&root)
                    .ok()
                    .and_then(Path::to_str)
                    .unwrap_or_else(|| panic!("{}", p.display()))
                    .to_string();
                let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                out.push((format!("videos/demo/{rel}"), bytes));
            }
        }
    }
    out.sort();
    out
}

/// A folder policy for `videos/ID/*` by `signer`, valid until `expires`,
/// bound to the `ip` range (CIDR) when given.
pub fn sign_folder(signer: &Signer, id: &str, expires: u64, ip: Option<&str>) -> SignedParams {
    let expires = Epoch::new(expires).unwrap_or_else(|e| panic!("{e}"));
    let ip = ip.map(|r| parse_source_ip(r).unwrap_or_else(|e| panic!("{e}")));
    signer
        .sign_folder(&format!("{CDN}/videos/{id}/"), expires, None, ip)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The usual folder policy: RSA, SHA1, valid until [`EXPIRES`].
pub fn signed_folder(id: &str) -> SignedParams {
    sign_folder(&rsa_signer(HashAlgorithm::Sha1), id, EXPIRES, None)
}

/// The forwarded copy only, under the default suffix, as CloudFront's
/// origin request policy passes it.
pub fn forwarded_query(signed: &SignedParams) -> String {
    Forwarded::from_signed(signed)
        .copy(&ParamSuffix::default())
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's value as text.
pub fn header<'a>(r: &'a Response<Body>, name: &str) -> Option<&'a str> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// The body bytes, decompressed per `Content-Encoding`.
pub fn body(r: &Response<Body>) -> Vec<u8> {
    let raw: Vec<u8> = match r.body() {
        Body::Empty => Vec::new(),
        Body::Text(s) => s.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => panic!("unexpected body"),
    };
    let mut out = Vec::new();
    let done = match header(r, "content-encoding") {
        None => {
            out = raw;
            Ok(0)
        }
        Some("gzip") => flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(&raw[..], 4096).read_to_end(&mut out),
        Some(other) => panic!("unknown encoding {other}"),
    };
    done.unwrap_or_else(|e| panic!("decompressing: {e}"));
    out
}

/// The body as JSON.
pub fn json_body(r: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(&body(r)).unwrap_or_else(|e| panic!("not JSON: {e}"))
}

/// Every URI of a playlist (URI lines and `URI="…"` attributes), read by
/// this plain scan and not by the rewriter's scanner.
pub fn uris(playlist: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in playlist.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('#') {
            out.push(line.to_string());
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("URI=\"") {
            let after = &rest[i + 5..];
            let Some(end) = after.find('"') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// Checks every URI of `playlist` (served at `url`): CloudFront would accept
/// it until [`EXPIRES`], and what the origin function serves (child
/// playlists, `.key` keys) carries the forwarded copy, media URIs do not.
/// Returns the child playlist URLs.
pub fn check_signed(playlist: &str, url: &str) -> Vec<String> {
    let base = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let keys = key_group();
    let ctx = Context {
        now: NOW,
        viewer_ip: None,
    };
    let mut children = Vec::new();
    let all = uris(playlist);
    assert!(!all.is_empty(), "no URIs in {url}");
    for uri in all {
        let abs = base.join(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let v =
            verify_url(abs.as_str(), &keys, ctx).unwrap_or_else(|e| panic!("{uri} in {url}: {e}"));
        assert_eq!(v.expires.seconds(), EXPIRES);
        let has_copy = abs.query_pairs().any(|(n, _)| n.ends_with(SUFFIX));
        let is_playlist = abs.path().ends_with(".m3u8");
        let origin_served = is_playlist || abs.path().ends_with(".key");
        assert_eq!(has_copy, origin_served, "{uri} in {url}");
        if is_playlist {
            children.push(abs.to_string());
        }
    }
    children
}

/// Requests every child playlist of `master` (served at `url`) from `serve`
/// as CloudFront would forward it (`serve(path, query)` with the suffixed
/// copy only), checks each answer's URIs, and returns how many were served.
pub async fn follow_children(
    serve: impl AsyncFn(&str, &str) -> Response<Body>,
    master: &str,
    url: &str,
) -> usize {
    let mut served = 0;
    for child in check_signed(master, url) {
        let u = url::Url::parse(&child).unwrap_or_else(|e| panic!("{child}: {e}"));
        let q: Vec<String> = u
            .query_pairs()
            .filter(|(n, _)| n.ends_with(SUFFIX))
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let r = serve(u.path(), &q.join("&")).await;
        assert_eq!(r.status(), 200, "{child}");
        let text = String::from_utf8(body(&r)).unwrap_or_else(|e| panic!("{child}: {e}"));
        let grandchildren = check_signed(&text, &child);
        assert!(
            grandchildren.is_empty(),
            "media playlists have no children: {child}"
        );
        served += 1;
    }
    served
}

/// The variables a page of `docs/` lists in the table under its
/// `## Configuration` heading: every backticked `UPPER_CASE` name in the
/// first column.
pub fn documented_variables(page: &str) -> std::collections::BTreeSet<String> {
    let path = fixtures().join("../docs").join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let after = text
        .split_once("\n## Configuration")
        .unwrap_or_else(|| panic!("{page} has no ## Configuration section"))
        .1;
    let mut names = std::collections::BTreeSet::new();
    let rows = after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2);
    for row in rows {
        let first = row.trim_start_matches('|').split('|').next().unwrap_or("");
        for (i, part) in first.split('`').enumerate() {
            let is_name = i % 2 == 1
                && !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if is_name {
                names.insert(part.to_string());
            }
        }
    }
    assert!(
        !names.is_empty(),
        "{page}: no variables in the configuration table"
    );
    names
}

/// Fails, naming both sides, unless `page`'s configuration table lists
/// exactly the variables in `read` (what the function's config reads, plus
/// the telemetry's).
pub fn assert_documented(page: &str, read: std::collections::BTreeSet<String>) {
    let mut read = read;
    read.extend(crate::telemetry::VARIABLES.iter().map(|v| v.to_string()));
    let documented = documented_variables(page);
    let undocumented: Vec<_> = read.difference(&documented).collect();
    let unread: Vec<_> = documented.difference(&read).collect();
    assert!(
        undocumented.is_empty() && unread.is_empty(),
        "docs/{page}: read but not in the table: {undocumented:?}; in the table but never read: {unread:?}"
    );
}
