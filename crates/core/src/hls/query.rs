//! The query parameters the rewriter puts on URIs: validated and rendered once,
//! then copied into every URI of the playlist.

use std::ops::Range;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use thiserror::Error;

use crate::signing::SignedParams;

/// A non-empty set of `name=value` pairs, in the order given.
///
/// Only bytes that are legal in a URI query and safe inside a quoted HLS
/// attribute are accepted, so inserting the set can never break a playlist
/// line: no `"`, `#`, whitespace, control bytes, `{`/`}` (HLS variable
/// syntax), `,` or non-ASCII; `%` must start a `%HH` escape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParams {
    rendered: String,
    /// (name, value) byte ranges into `rendered`.
    pairs: Vec<(Range<usize>, Range<usize>)>,
}

/// Why a parameter set was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamsError {
    #[error("no parameters given")]
    Empty,
    #[error("empty parameter at position {0} (two `&` in a row, or a trailing `&`)")]
    EmptyPair(usize),
    #[error("parameter {0} has no name")]
    NoName(usize),
    #[error("parameter `{0}` is given twice")]
    Duplicate(String),
    #[error(
        "byte {byte:#04x} at offset {offset} is not allowed in a query parameter \
         (percent-encode it)"
    )]
    BadByte { byte: u8, offset: usize },
    #[error("`%` at offset {0} does not start a %HH escape")]
    BadEscape(usize),
}

/// What [`QueryParams::from_pairs`] escapes: everything but RFC 3986's
/// unreserved characters.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl QueryParams {
    /// Parses `name=value&name=value` as it will appear in the URI (a leading
    /// `?` is ignored). Values are taken as already encoded.
    pub fn parse(query: &str) -> Result<Self, ParamsError> {
        let query = query.strip_prefix('?').unwrap_or(query);
        if query.is_empty() {
            return Err(ParamsError::Empty);
        }
        let bytes = query.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return Err(ParamsError::BadEscape(i));
                }
                i += 3;
                continue;
            }
            if !allowed(b) {
                return Err(ParamsError::BadByte { byte: b, offset: i });
            }
            i += 1;
        }

        let mut pairs: Vec<(Range<usize>, Range<usize>)> = Vec::new();
        let mut start = 0;
        for (n, piece) in query.split('&').enumerate() {
            let end = start + piece.len();
            if piece.is_empty() {
                return Err(ParamsError::EmptyPair(n + 1));
            }
            let eq = piece.find('=').map_or(end, |e| start + e);
            if eq == start {
                return Err(ParamsError::NoName(n + 1));
            }
            let name = &query[start..eq];
            if pairs.iter().any(|(r, _)| &query[r.clone()] == name) {
                return Err(ParamsError::Duplicate(name.to_string()));
            }
            pairs.push((start..eq, (eq + 1).min(end)..end));
            start = end + 1;
        }
        Ok(Self {
            rendered: query.to_string(),
            pairs,
        })
    }

    /// Builds the set from raw names and values, percent-encoding both.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Self, ParamsError>
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = String::new();
        for (name, value) in pairs {
            if !query.is_empty() {
                query.push('&');
            }
            query.extend(utf8_percent_encode(name.as_ref(), ESCAPE));
            query.push('=');
            query.extend(utf8_percent_encode(value.as_ref(), ESCAPE));
        }
        Self::parse(&query)
    }

    /// `name=value&…`, exactly as it is inserted.
    pub fn as_str(&self) -> &str {
        &self.rendered
    }

    /// The pairs, still encoded.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(n, v)| (&self.rendered[n.clone()], &self.rendered[v.clone()]))
    }

    /// The encoded value for `name`, if the set has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub(crate) fn contains_name(&self, name: &[u8]) -> bool {
        self.pairs
            .iter()
            .any(|(n, _)| &self.rendered.as_bytes()[n.clone()] == name)
    }
}

impl std::fmt::Display for QueryParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::str::FromStr for QueryParams {
    type Err = ParamsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<&SignedParams> for QueryParams {
    /// The query form of a signature. Its values are CloudFront-safe base64,
    /// digits and key ids, so they always pass validation.
    fn from(signed: &SignedParams) -> Self {
        Self::from_pairs(signed.query_pairs())
            .unwrap_or_else(|e| unreachable!("signed params are always valid: {e}"))
    }
}

/// RFC 3986 `query` characters, plus `&` (the separator); minus `%` (checked
/// as an escape) and `,`, which would end an unquoted HLS attribute value.
fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'&'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_in_order() {
        let p = QueryParams::parse("?Policy=abc&Signature=d~e_f&Key-Pair-Id=K1").unwrap();
        assert_eq!(p.as_str(), "Policy=abc&Signature=d~e_f&Key-Pair-Id=K1");
        let pairs: Vec<_> = p.pairs().collect();
        assert_eq!(
            pairs,
            [
                ("Policy", "abc"),
                ("Signature", "d~e_f"),
                ("Key-Pair-Id", "K1")
            ]
        );
        assert_eq!(p.get("Signature"), Some("d~e_f"));
        assert!(p.contains_name(b"Key-Pair-Id"));
        assert!(!p.contains_name(b"Key"));
    }

    #[test]
    fn flags_and_empty_values_are_kept() {
        let p = QueryParams::parse("a=&b").unwrap();
        assert_eq!(p.pairs().collect::<Vec<_>>(), [("a", ""), ("b", "")]);
    }

    #[test]
    fn refuses_what_would_break_a_playlist() {
        use ParamsError::*;
        assert_eq!(QueryParams::parse(""), Err(Empty));
        assert_eq!(QueryParams::parse("?"), Err(Empty));
        assert_eq!(QueryParams::parse("a=1&&b=2"), Err(EmptyPair(2)));
        assert_eq!(QueryParams::parse("a=1&"), Err(EmptyPair(2)));
        assert_eq!(QueryParams::parse("=1"), Err(NoName(1)));
        assert_eq!(QueryParams::parse("a=1&a=2"), Err(Duplicate("a".into())));
        for (bad, offset) in [
            ("a=\"x", 2),
            ("a=x#y", 3),
            ("a=x y", 3),
            ("a=\r", 2),
            ("a={$v}", 2),
            ("a=é", 2),
            ("a=1,2", 3),
        ] {
            assert!(
                matches!(QueryParams::parse(bad), Err(BadByte { offset: o, .. }) if o == offset),
                "{bad:?}"
            );
        }
        assert_eq!(QueryParams::parse("a=%2"), Err(BadEscape(2)));
        assert_eq!(QueryParams::parse("a=%zz"), Err(BadEscape(2)));
        assert!(QueryParams::parse("a=%2F").is_ok());
    }

    #[test]
    fn from_pairs_escapes() {
        let p = QueryParams::from_pairs([("a b", "x\"y&z"), ("c", "é")]).unwrap();
        assert_eq!(p.as_str(), "a%20b=x%22y%26z&c=%C3%A9");
    }
}
