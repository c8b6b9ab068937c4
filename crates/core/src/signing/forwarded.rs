//! The forwarded copy of a signature: how a playlist origin learns the
//! viewer's signature.
//!
//! CloudFront checks the signing parameters of a signed URL and does not pass
//! them to the origin in a way the origin can rely on. The issuer therefore
//! puts the same values in the URL twice: under CloudFront's names (`Policy`,
//! `Signature`, `Key-Pair-Id`, `Hash-Algorithm`) and under the same names plus
//! a suffix (`Policy-PREFIX`, …), which the origin request policy forwards.
//! The origin reads the suffixed copy, checks it, and puts CloudFront's names
//! on the URIs of the playlist it returns (and both sets on child playlists, so
//! their own requests carry the copy again).

use percent_encoding::percent_decode_str;

use super::names::{Found, QUERY};
use super::signer::SignedParams;
use super::verify::{Context, KeyGroup, Verified, VerifyError, verify_url};

/// The default suffix of the forwarded copy.
pub const DEFAULT_SUFFIX: &str = "-PREFIX";

/// Longest suffix accepted: it is part of every child playlist URI.
pub const MAX_SUFFIX_BYTES: usize = 32;

/// Why a suffix or a forwarded set is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardedError {
    #[error("suffix {0:?} must be 1 to {MAX_SUFFIX_BYTES} characters of A-Z, a-z, 0-9, `-` or `_`")]
    BadSuffix(String),
    #[error("{0} appears more than once")]
    Duplicate(String),
    #[error("{0} is not valid UTF-8 after percent-decoding")]
    BadValue(String),
}

/// The suffix of the forwarded copy (`PARAM_SUFFIX`): checked once, when
/// parsed, to be short and made only of characters that need no escaping in
/// a query string or an HLS attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParamSuffix(String);

impl ParamSuffix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ParamSuffix {
    fn default() -> Self {
        ParamSuffix(DEFAULT_SUFFIX.to_string())
    }
}

impl std::str::FromStr for ParamSuffix {
    type Err = ForwardedError;

    fn from_str(suffix: &str) -> Result<Self, ForwardedError> {
        let ok = !suffix.is_empty()
            && suffix.len() <= MAX_SUFFIX_BYTES
            && suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(ParamSuffix(suffix.to_string()))
        } else {
            Err(ForwardedError::BadSuffix(suffix.to_string()))
        }
    }
}

impl std::fmt::Display for ParamSuffix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for ParamSuffix {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A signature's values under CloudFront's query names, in CloudFront's order,
/// percent-decoded (CloudFront-safe base64, digits and key ids).
#[derive(Clone, PartialEq, Eq)]
pub struct Forwarded {
    pairs: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Forwarded {
    /// Names only: the values are credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Forwarded {
    /// Reads the suffixed copy from a raw query string (`a=1&Policy-PREFIX=…`).
    /// `Ok(None)` when none of the suffixed names is present; other
    /// parameters, including unsuffixed signing names, are ignored. A name
    /// given twice is refused: two values would make the request ambiguous.
    pub fn from_query(query: &str, suffix: &ParamSuffix) -> Result<Option<Self>, ForwardedError> {
        let suffix = suffix.as_str();
        let mut found = Found::default();
        let mut any = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(base) = name.strip_suffix(suffix) else {
                continue;
            };
            match found.record(&QUERY, base, value) {
                Ok(true) => any = true,
                Ok(false) => {}
                Err(_) if percent_decode_str(value).decode_utf8().is_err() => {
                    return Err(ForwardedError::BadValue(name.to_string()));
                }
                Err(_) => return Err(ForwardedError::Duplicate(name.to_string())),
            }
        }
        if !any {
            return Ok(None);
        }
        let slots = [
            (QUERY.expires, found.expires),
            (QUERY.policy, found.policy),
            (QUERY.key_pair_id, found.key_pair_id),
            (QUERY.signature, found.signature),
            (QUERY.hash_algorithm, found.hash_algorithm),
        ];
        let pairs = slots
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n, v)))
            .collect();
        Ok(Some(Forwarded { pairs }))
    }

    /// The values of a fresh signature, as the issuer puts them on a URL.
    pub fn from_signed(signed: &SignedParams) -> Self {
        Forwarded {
            pairs: signed.query_pairs(),
        }
    }

    /// Name/value pairs under CloudFront's names (the edge set).
    pub fn edge_pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.pairs.iter().map(|(n, v)| (*n, v.as_str()))
    }

    /// The suffixed copy alone: what CloudFront's origin request policy
    /// forwards to the origin.
    pub fn copy<'a>(
        &'a self,
        suffix: &'a ParamSuffix,
    ) -> impl Iterator<Item = (String, &'a str)> + 'a {
        let suffix = suffix.as_str();
        self.pairs
            .iter()
            .map(move |(n, v)| (format!("{n}{suffix}"), v.as_str()))
    }

    /// The edge set followed by the suffixed copy: what a child playlist URI
    /// (and the issuer's master URL) carries.
    pub fn with_copy<'a>(
        &'a self,
        suffix: &'a ParamSuffix,
    ) -> impl Iterator<Item = (String, &'a str)> + 'a {
        let edge = self.pairs.iter().map(|(n, v)| (n.to_string(), v.as_str()));
        edge.chain(self.copy(suffix))
    }

    /// Verifies the set as CloudFront would for a request of `url` (no query):
    /// key id, signature, resource, start, expiry and source IP.
    pub fn verify(
        &self,
        url: &str,
        keys: &KeyGroup,
        ctx: Context,
    ) -> Result<Verified, VerifyError> {
        let mut signed = String::with_capacity(url.len() + 512);
        signed.push_str(url);
        for (i, (n, v)) in self.pairs.iter().enumerate() {
            signed.push(if i == 0 { '?' } else { '&' });
            signed.push_str(n);
            signed.push('=');
            // Decoded values are CloudFront-safe; anything else is escaped so
            // the verifier reads back exactly these bytes.
            signed.extend(percent_encoding::utf8_percent_encode(v, VALUE));
        }
        verify_url(&signed, keys, ctx)
    }
}

const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    fn suffix(s: &str) -> ParamSuffix {
        s.parse().unwrap()
    }

    #[test]
    fn suffixes() {
        for ok in ["-PREFIX", "-hg", "_x1", "A"] {
            assert_eq!(
                ok.parse::<ParamSuffix>().map(|s| s.to_string()),
                Ok(ok.to_string()),
                "{ok}"
            );
        }
        for bad in ["", "-P=X", "-p&", "a b", "é", &"x".repeat(33)] {
            assert!(bad.parse::<ParamSuffix>().is_err(), "{bad:?}");
        }
        assert_eq!(ParamSuffix::default(), DEFAULT_SUFFIX);
    }

    #[test]
    fn reads_only_the_suffixed_copy_in_cloudfront_order() {
        let q = "x=1&Signature-PREFIX=s~1&Policy=edge&Key-Pair-Id-PREFIX=K1&Policy-PREFIX=p_2&Other-PREFIX=o";
        let f = Forwarded::from_query(q, &suffix("-PREFIX"))
            .unwrap()
            .unwrap();
        let pairs: Vec<_> = f.edge_pairs().collect();
        assert_eq!(
            pairs,
            [
                ("Policy", "p_2"),
                ("Key-Pair-Id", "K1"),
                ("Signature", "s~1")
            ]
        );
        let child: Vec<_> = f.with_copy(&suffix("-hg")).map(|(n, _)| n).collect();
        assert_eq!(
            child,
            [
                "Policy",
                "Key-Pair-Id",
                "Signature",
                "Policy-hg",
                "Key-Pair-Id-hg",
                "Signature-hg"
            ]
        );
        assert_eq!(
            format!("{f:?}"),
            r#"["Policy", "Key-Pair-Id", "Signature"]"#
        );
    }

    #[test]
    fn absent_duplicate_and_bad_values() {
        assert_eq!(
            Forwarded::from_query("Policy=a&b=2", &suffix("-PREFIX")),
            Ok(None)
        );
        assert_eq!(Forwarded::from_query("", &suffix("-PREFIX")), Ok(None));
        assert_eq!(
            Forwarded::from_query("Signature-PREFIX=a&Signature-PREFIX=b", &suffix("-PREFIX")),
            Err(ForwardedError::Duplicate("Signature-PREFIX".into()))
        );
        assert_eq!(
            Forwarded::from_query("Signature-PREFIX=%FF", &suffix("-PREFIX")),
            Err(ForwardedError::BadValue("Signature-PREFIX".into()))
        );
        assert!(matches!(
            "bad suffix".parse::<ParamSuffix>(),
            Err(ForwardedError::BadSuffix(_))
        ));
    }
}
