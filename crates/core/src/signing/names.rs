//! Names of the signing parameters (query and cookie forms), and reading them
//! back from a request.

use percent_encoding::percent_decode_str;

/// The names one signature travels under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub expires: &'static str,
    pub policy: &'static str,
    pub signature: &'static str,
    pub key_pair_id: &'static str,
    pub hash_algorithm: &'static str,
}

/// Query-string parameters, which CloudFront checks and strips.
pub const QUERY: Names = Names {
    expires: "Expires",
    policy: "Policy",
    signature: "Signature",
    key_pair_id: "Key-Pair-Id",
    hash_algorithm: "Hash-Algorithm",
};

/// Signed-cookie names.
pub const COOKIE: Names = Names {
    expires: "CloudFront-Expires",
    policy: "CloudFront-Policy",
    signature: "CloudFront-Signature",
    key_pair_id: "CloudFront-Key-Pair-Id",
    hash_algorithm: "CloudFront-Hash-Algorithm",
};

impl Names {
    fn all(&self) -> [&'static str; 5] {
        [
            self.expires,
            self.policy,
            self.signature,
            self.key_pair_id,
            self.hash_algorithm,
        ]
    }

    pub fn contains(&self, name: &str) -> bool {
        self.all().contains(&name)
    }
}

/// The raw signing values found on a request (still CloudFront-safe base64).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub expires: Option<String>,
    pub policy: Option<String>,
    pub signature: Option<String>,
    pub key_pair_id: Option<String>,
    pub hash_algorithm: Option<String>,
}

impl Found {
    pub fn is_empty(&self) -> bool {
        *self == Found::default()
    }

    /// The `CloudFront-*` values of a `Cookie` header (`a=1; b=2`); other
    /// cookies are ignored, a signing cookie given twice is an error.
    pub fn from_cookie_header(header: &str) -> Result<Found, String> {
        let mut found = Found::default();
        for part in header.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            found.record(&COOKIE, name.trim(), value.trim())?;
        }
        Ok(found)
    }

    /// Records `name=value` if `name` is a signing name. A name seen twice is an
    /// error: two values make the request ambiguous.
    pub fn record(&mut self, names: &Names, name: &str, value: &str) -> Result<bool, String> {
        let slot = if name == names.expires {
            &mut self.expires
        } else if name == names.policy {
            &mut self.policy
        } else if name == names.signature {
            &mut self.signature
        } else if name == names.key_pair_id {
            &mut self.key_pair_id
        } else if name == names.hash_algorithm {
            &mut self.hash_algorithm
        } else {
            return Ok(false);
        };
        if slot.is_some() {
            return Err(format!("{name} appears more than once"));
        }
        let decoded = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| format!("{name} is not valid UTF-8 after percent-decoding"))?;
        *slot = Some(decoded.into_owned());
        Ok(true)
    }
}

/// Splits `url` (no fragment) into the URL without signing parameters and the
/// signing values. Other parameters keep their order and exact bytes; an empty
/// query (or empty `&&` pairs) leaves no trace.
pub fn split_signing_params(url: &str, names: &Names) -> Result<(String, Found), String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => return Ok((url.to_string(), Found::default())),
    };
    let mut found = Found::default();
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !found.record(names, name, value)? {
            kept.push(pair);
        }
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Ok((out, found))
}

/// `url` without any signing parameters (duplicates are dropped too).
pub fn strip_signing_params(url: &str, names: &Names) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| !names.contains(p.split_once('=').map_or(*p, |(n, _)| n)))
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_other_params_in_order() {
        let (u, f) = split_signing_params(
            "https://d/a.m3u8?b=2&Expires=5&a=1&Signature=x~y-_&Key-Pair-Id=K1",
            &QUERY,
        )
        .unwrap();
        assert_eq!(u, "https://d/a.m3u8?b=2&a=1");
        assert_eq!(f.expires.as_deref(), Some("5"));
        assert_eq!(f.signature.as_deref(), Some("x~y-_"));
        assert_eq!(f.key_pair_id.as_deref(), Some("K1"));
    }

    #[test]
    fn drops_empty_query() {
        let (u, _) = split_signing_params("https://d/a?Expires=5", &QUERY).unwrap();
        assert_eq!(u, "https://d/a");
        assert_eq!(
            strip_signing_params("https://d/a?&Expires=5&", &QUERY),
            "https://d/a"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        assert!(split_signing_params("https://d/a?Signature=a&Signature=b", &QUERY).is_err());
    }

    #[test]
    fn values_are_percent_decoded() {
        let (_, f) = split_signing_params("https://d/a?Signature=a%7Eb", &QUERY).unwrap();
        assert_eq!(f.signature.as_deref(), Some("a~b"));
    }
}
