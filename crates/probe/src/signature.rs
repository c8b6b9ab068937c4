//! The signature the issuer handed out, read back (the query parameters or
//! the cookies), and the variations an attacker tries on it. The probe
//! cannot sign: every variation is built from the issued values.

use hlsgate_core::signing::forwarded::DEFAULT_SUFFIX;
use hlsgate_core::signing::names::{self, COOKIE, Found, Names, QUERY};
use hlsgate_core::signing::{Epoch, Policy, b64_decode, b64_encode};

/// The raw query pairs of a URL, in order, as written (no decoding: the
/// signing values are CloudFront-safe base64, and a re-encoding would
/// change bytes CloudFront compares).
fn split(url: &str) -> (&str, Vec<(&str, &str)>) {
    let url = url.split('#').next().unwrap_or(url);
    match url.split_once('?') {
        Some((base, query)) => (
            base,
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .collect(),
        ),
        None => (url, Vec::new()),
    }
}

fn join(base: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return base.to_string();
    }
    let q: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!("{base}?{}", q.join("&"))
}

/// What a query name is: one of CloudFront's, a suffixed copy of one, or
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    Edge(&'static str),
    Copy(&'static str),
    Other,
}

/// The signing names, most specific first (`Key-Pair-Id` before any
/// name it could be mistaken for).
const BASES: [&str; 5] = [
    "Key-Pair-Id",
    "Hash-Algorithm",
    "Signature",
    "Policy",
    "Expires",
];

pub fn param(name: &str) -> Param {
    if let Some(b) = BASES.iter().find(|b| **b == name) {
        return Param::Edge(b);
    }
    match BASES
        .iter()
        .find(|b| name.len() > b.len() && name.starts_with(**b))
    {
        Some(b) => Param::Copy(b),
        None => Param::Other,
    }
}

/// The issued signature's values (under CloudFront's query names), from
/// the URL or from the cookies.
pub fn found_in_url(url: &str) -> Found {
    names::split_signing_params(url, &QUERY)
        .map(|(_, f)| f)
        .unwrap_or_default()
}

/// Whether a signature has what CloudFront needs: a signature, a key id,
/// and a policy or an expiry.
pub fn complete(found: &Found) -> bool {
    found.signature.is_some()
        && found.key_pair_id.is_some()
        && (found.policy.is_some() || found.expires.is_some())
}

/// The values of the `CloudFront-*` cookies in a `Cookie` header (none
/// when it cannot be read: a signing cookie twice).
pub fn found_in_cookies(cookie_header: &str) -> Found {
    Found::from_cookie_header(cookie_header).unwrap_or_default()
}

/// The suffix of the forwarded copy in a URL (`-PREFIX`), else the default.
pub fn suffix_of(url: &str) -> String {
    split(url)
        .1
        .iter()
        .find_map(|(n, _)| match param(n) {
            Param::Copy(base) => n.strip_prefix(base).map(str::to_string),
            _ => None,
        })
        .unwrap_or_else(|| DEFAULT_SUFFIX.to_string())
}

/// The policy a signature carries: a custom policy decoded, or the canned
/// policy of `url` and its `Expires`.
pub fn policy(found: &Found, url: &str) -> Option<Policy> {
    if let Some(p) = &found.policy {
        return Policy::from_json(&b64_decode(p).ok()?).ok();
    }
    let expires = Epoch::new(found.expires.as_deref()?.parse().ok()?).ok()?;
    let (base, _) = split(url);
    Policy::new(base, expires).ok()
}

/// `url` without any query at all.
pub fn bare(url: &str) -> String {
    split(url).0.to_string()
}

/// `url` with `edit` applied to each query pair: `None` drops it.
pub fn edit_query(url: &str, edit: impl Fn(Param, &str, &str) -> Option<String>) -> String {
    let (base, pairs) = split(url);
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter_map(|(n, v)| edit(param(n), n, v).map(|v| (n.to_string(), v)))
        .collect();
    join(base, &kept)
}

/// A signature with its first character changed: still CloudFront-safe
/// base64 of the same length, no longer the signer's.
pub fn tampered(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The issued policy with its end moved to `expired_at` (in the past), in
/// CloudFront-safe base64; for a canned signature, the new `Expires`.
pub fn expired_value(found: &Found, url: &str, expired_at: u64) -> Option<(&'static str, String)> {
    let at = Epoch::new(expired_at).ok()?;
    if found.policy.is_some() {
        let old = policy(found, url)?;
        let mut p = Policy::new(old.resource(), at).ok()?;
        if let Some(s) = old.starts() {
            p = p.with_start(s).ok()?;
        }
        if let Some(ip) = old.source_ip() {
            p = p.with_source_ip(ip);
        }
        return Some(("Policy", b64_encode(p.to_json().as_bytes())));
    }
    found.expires.as_ref()?;
    Some(("Expires", expired_at.to_string()))
}

/// A `Cookie` header with the `CloudFront-*` values of `found`, under the
/// cookie names, after `change` (base name, value → value).
pub fn cookie_header(found: &Found, change: impl Fn(&str, &str) -> String) -> String {
    pairs(found, &COOKIE)
        .into_iter()
        .map(|(base, name, value)| format!("{name}={}", change(base, &value)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The signature's values as query pairs under `suffix` (the forwarded
/// copy alone).
pub fn copy_query(found: &Found, suffix: &str) -> Vec<(String, String)> {
    pairs(found, &QUERY)
        .into_iter()
        .map(|(_, name, value)| (format!("{name}{suffix}"), value))
        .collect()
}

/// `(query base name, name under `names`, value)` for each value present.
fn pairs(found: &Found, names: &Names) -> Vec<(&'static str, &'static str, String)> {
    [
        (QUERY.policy, names.policy, &found.policy),
        (QUERY.expires, names.expires, &found.expires),
        (QUERY.signature, names.signature, &found.signature),
        (QUERY.key_pair_id, names.key_pair_id, &found.key_pair_id),
        (
            QUERY.hash_algorithm,
            names.hash_algorithm,
            &found.hash_algorithm,
        ),
    ]
    .into_iter()
    .filter_map(|(base, name, v)| v.clone().map(|v| (base, name, v)))
    .collect()
}

/// `url` with `pairs` added to its query.
pub fn with_pairs(url: &str, extra: &[(String, String)]) -> String {
    let (base, pairs) = split(url);
    let mut all: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    all.extend(extra.iter().cloned());
    join(base, &all)
}

/// The signing pairs of `url` (CloudFront's and the copies), to carry to
/// another path.
pub fn signing_pairs(url: &str) -> Vec<(String, String)> {
    split(url)
        .1
        .into_iter()
        .filter(|(n, _)| param(n) != Param::Other)
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://d.example/videos/a/master.m3u8?Policy=eyJ9&Signature=Zm9v&Key-Pair-Id=K1&Hash-Algorithm=SHA256&Policy-PREFIX=eyJ9&Signature-PREFIX=Zm9v&Key-Pair-Id-PREFIX=K1&Hash-Algorithm-PREFIX=SHA256";

    #[test]
    fn names_copies_and_the_rest() {
        assert_eq!(param("Key-Pair-Id"), Param::Edge("Key-Pair-Id"));
        assert_eq!(param("Key-Pair-Id-PREFIX"), Param::Copy("Key-Pair-Id"));
        assert_eq!(param("Policy_x"), Param::Copy("Policy"));
        assert_eq!(param("t"), Param::Other);
        assert_eq!(suffix_of(URL), "-PREFIX");
        assert_eq!(suffix_of("https://d.example/a?Policy_s=1"), "_s");
        assert_eq!(suffix_of("https://d.example/a"), DEFAULT_SUFFIX);
    }

    #[test]
    fn variations_keep_every_other_byte() {
        let no_edge = edit_query(URL, |p, _, v| {
            matches!(p, Param::Copy(_)).then(|| v.to_string())
        });
        assert_eq!(
            no_edge,
            "https://d.example/videos/a/master.m3u8?Policy-PREFIX=eyJ9&Signature-PREFIX=Zm9v&Key-Pair-Id-PREFIX=K1&Hash-Algorithm-PREFIX=SHA256"
        );
        assert_eq!(bare(URL), "https://d.example/videos/a/master.m3u8");
        assert_eq!(tampered("Zm9v"), "Am9v");
        assert_eq!(tampered("Am9v"), "Bm9v");
        let found = found_in_url(URL);
        assert_eq!(found.key_pair_id.as_deref(), Some("K1"));
        let cookies = cookie_header(&found, |_, v| v.to_string());
        assert_eq!(
            cookies,
            "CloudFront-Policy=eyJ9; CloudFront-Signature=Zm9v; CloudFront-Key-Pair-Id=K1; CloudFront-Hash-Algorithm=SHA256"
        );
        assert_eq!(found_in_cookies(&cookies), found);
        assert_eq!(copy_query(&found, "-PREFIX")[0].0, "Policy-PREFIX");
    }

    #[test]
    fn an_expired_policy_keeps_its_resource() {
        let p = Policy::new(
            "https://d.example/videos/a/*",
            Epoch::new(2_000_000_000).unwrap(),
        )
        .unwrap();
        let found = Found {
            policy: Some(b64_encode(p.to_json().as_bytes())),
            ..Found::default()
        };
        let (name, value) =
            expired_value(&found, "https://d.example/videos/a/master.m3u8", 1_000).unwrap();
        assert_eq!(name, "Policy");
        let back = Policy::from_json(&b64_decode(&value).unwrap()).unwrap();
        assert_eq!(back.resource(), p.resource());
        assert_eq!(back.expires().seconds(), 1_000);
        let canned = Found {
            expires: Some("2000000000".into()),
            ..Found::default()
        };
        assert_eq!(
            expired_value(&canned, "https://d.example/a.ts", 1_000),
            Some(("Expires", "1000".to_string()))
        );
    }
}
