//! What the rewriter needs to know of each URI before it signs it, in one
//! pass over the URI's bytes.

/// What the rewriter needs to know of a URI, from one pass over its bytes
/// (URIs are short: one loop beats a search per question).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UriShape {
    /// The common case without parsing: a path (`seg1.ts`, `../a/b.m4s?x=1`,
    /// `/videos/v/a.ts`) that the WHATWG parser can only read as relative to
    /// the base's own origin. No `:` (so no scheme), no tab, CR or LF (which
    /// the parser drops, joining what is around them), a first byte that is
    /// neither a C0 control nor a space (which it trims), and not two leading
    /// slashes of either kind (an authority). Anything else is resolved in
    /// full.
    pub(super) stays_on_any_origin: bool,
    /// Holds a `{$name}` variable reference.
    pub(super) variable: bool,
    /// Where the query's `?` is, before any fragment.
    pub(super) query: Option<usize>,
    /// Where the fragment's `#` is.
    pub(super) fragment: Option<usize>,
}

/// The bytes [`UriShape::of`] stops at; a plain path holds none of them, and
/// one table look-up a byte finds that out.
static NOTABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let notable = b":\t\r\n{?#";
    while i < notable.len() {
        t[notable[i] as usize] = true;
        i += 1;
    }
    t
};

impl UriShape {
    pub(super) fn of(b: &[u8]) -> UriShape {
        let slash = |c: Option<&u8>| matches!(c, Some(b'/' | b'\\'));
        let lead_ok =
            b.first().is_some_and(|&c| c > b' ') && !(slash(b.first()) && slash(b.get(1)));
        let mut shape = UriShape {
            stays_on_any_origin: lead_ok,
            variable: false,
            query: None,
            fragment: None,
        };
        // Most URIs are plain paths: nothing to look at past the table.
        let Some(first) = b.iter().position(|&c| NOTABLE[usize::from(c)]) else {
            return shape;
        };
        for (i, &c) in b.iter().enumerate().skip(first) {
            match c {
                b':' | b'\t' | b'\r' | b'\n' => shape.stays_on_any_origin = false,
                b'{' if b.get(i + 1) == Some(&b'$') => shape.variable = true,
                b'?' if shape.query.is_none() && shape.fragment.is_none() => {
                    shape.query = Some(i);
                }
                b'#' if shape.fragment.is_none() => shape.fragment = Some(i),
                _ => {}
            }
        }
        shape
    }
}

#[cfg(test)]
fn stays_on_any_origin(uri: &str) -> bool {
    UriShape::of(uri.as_bytes()).stays_on_any_origin
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use url::Url;

    use super::{UriShape, stays_on_any_origin};

    proptest! {
        /// The one-pass shape says what the searches it replaced said.
        #[test]
        fn the_shape_agrees_with_the_searches(uri in "[a-z/:?#{$}\t\r\n é]{0,16}") {
            let shape = UriShape::of(uri.as_bytes());
            let fragment = uri.find('#');
            let body = &uri[..fragment.unwrap_or(uri.len())];
            prop_assert_eq!(shape.fragment, fragment);
            prop_assert_eq!(shape.query, body.find('?'));
            prop_assert_eq!(shape.variable, uri.contains("{$"));
            let slash = |c: Option<&u8>| matches!(c, Some(b'/' | b'\\'));
            let b = uri.as_bytes();
            let searched = b.first().is_some_and(|&c| c > b' ')
                && !(slash(b.first()) && slash(b.get(1)))
                && !uri.contains([':', '\t', '\r', '\n']);
            prop_assert_eq!(shape.stays_on_any_origin, searched);
        }

        /// The shortcut never says "stays" where the full WHATWG resolution
        /// leaves the base's origin (or fails), on strings rich in the
        /// characters that matter.
        #[test]
        fn the_shortcut_agrees_with_full_resolution(
            uri in "[a-z/\\\\:@.?#%\t\r\n \u{0}\u{1f}\u{7f}{$}]{0,12}",
            base in prop::sample::select(vec![
                "https://cdn.example.com/videos/v/index.m3u8",
                "http://127.0.0.1:8080/a/",
            ]),
        ) {
            let base = Url::parse(base).unwrap();
            if stays_on_any_origin(&uri) {
                let joined = base.join(&uri);
                prop_assert!(
                    joined.as_ref().is_ok_and(|u| u.origin() == base.origin()),
                    "{uri:?} -> {joined:?}"
                );
            }
        }
    }
}
