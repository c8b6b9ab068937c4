//! Nothing the probe prints carries a credential. A URL is shown with its
//! policy and signature values (and their forwarded copies) replaced by
//! pseudonyms: `~` and 8 hex digits of an HMAC-SHA256 under a key made for
//! this run, so one value reads the same throughout a report (the logs'
//! pseudonyms work the same way) and nothing can be recovered from it. Key
//! pair ids and expiry times are public (they are in the distribution's
//! settings and in the policy's clear text) and are shown as they are. The
//! token, cookie values and session ids are never put in a line at all.

use hlsgate_core::mac::MacKey;
use hlsgate_core::signing::names::{COOKIE, QUERY};

/// Pseudonyms for one run.
#[derive(Debug)]
pub struct Redactor {
    key: MacKey,
}

impl Redactor {
    /// A fresh key from the system's random source.
    pub fn new() -> Redactor {
        let mut secret = [0u8; 32];
        // Without a random source, a fixed key still hides the values (the
        // pseudonyms would only be the same across runs).
        let _ = getrandom::fill(&mut secret);
        Redactor {
            key: MacKey::derive("hlsgate probe pseudonyms", &secret)
                .unwrap_or_else(|| unreachable!("the secret is not empty")),
        }
    }

    /// The pseudonym of one value.
    pub fn pseudonym(&self, value: &str) -> String {
        format!("~{}", hex::encode(&self.key.tag(&[value.as_bytes()])[..4]))
    }

    /// `url` with its secret values replaced: the query's `Policy` and
    /// `Signature`, under CloudFront's names or any suffixed copy.
    pub fn url(&self, url: &str) -> String {
        let (head, fragment) = match url.split_once('#') {
            Some((h, _)) => (h, "#…"),
            None => (url, ""),
        };
        let Some((path, query)) = head.split_once('?') else {
            return format!("{head}{fragment}");
        };
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if is_secret(name) => {
                    format!("{name}={}", self.pseudonym(value))
                }
                _ => pair.to_string(),
            })
            .collect();
        format!("{path}?{}{fragment}", pairs.join("&"))
    }

    /// A sentence with every URL in it shown by [`url`](Self::url).
    pub fn text(&self, s: &str) -> String {
        s.split(' ')
            .map(|word| {
                if word.contains("://") {
                    self.url(word)
                } else {
                    word.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

/// A parameter whose value is a credential: a policy or a signature, under
/// any name it travels by (`Policy`, `Policy-PREFIX`, `CloudFront-Policy`).
pub fn is_secret(name: &str) -> bool {
    [
        QUERY.policy,
        QUERY.signature,
        COOKIE.policy,
        COOKIE.signature,
    ]
    .iter()
    .any(|secret| name.starts_with(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_signatures_become_pseudonyms_and_the_rest_stays() {
        let r = Redactor::new();
        let shown = r.url(
            "https://d.example/videos/a/master.m3u8?Policy=eyJ&Signature=abc~&Key-Pair-Id=K1&Policy-PREFIX=eyJ&Signature-PREFIX=abc~#t=1",
        );
        assert!(!shown.contains("eyJ") && !shown.contains("abc~"), "{shown}");
        assert!(shown.contains("Key-Pair-Id=K1"), "{shown}");
        let p = r.pseudonym("eyJ");
        assert_eq!(
            shown.matches(&p).count(),
            2,
            "one value, one pseudonym: {shown}"
        );
        assert_ne!(p, Redactor::new().pseudonym("eyJ"), "a key per run");
        assert_eq!(r.url("https://d.example/a.ts"), "https://d.example/a.ts");
        let said = r.text("for https://d.example/a.ts?Expires=9&Signature-PREFIX=abc~ was");
        assert!(!said.contains("abc~") && said.ends_with(" was"), "{said}");
    }
}
