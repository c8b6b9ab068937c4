//! Server-side MACs: a key derived for one purpose from a deployment secret,
//! and HMAC-SHA256 tags over length-delimited fields, checked in constant
//! time. The upload handles and the playback sessions both use it.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

/// A 32-byte HMAC-SHA256 key for one purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct MacKey([u8; 32]);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(..)")
    }
}

impl MacKey {
    /// `SHA-256(label "\n" ‖ secret)`: one secret gives each purpose its own
    /// key, and no MAC made with one tells anything of another. `None` for
    /// an empty secret.
    pub fn derive(label: &str, secret: &[u8]) -> Option<MacKey> {
        if secret.is_empty() {
            return None;
        }
        let mut h = Sha256::new();
        h.update(label.as_bytes());
        h.update(b"\n");
        h.update(secret);
        Some(MacKey(h.finalize().into()))
    }

    fn mac(&self, fields: &[&[u8]]) -> hmac::Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        // Each field is preceded by its length, so no two lists of fields
        // are the same bytes ("ab","c" vs "a","bc").
        for f in fields {
            mac.update(&(f.len() as u64).to_be_bytes());
            mac.update(f);
        }
        mac
    }

    /// The tag of `fields`.
    pub fn tag(&self, fields: &[&[u8]]) -> [u8; 32] {
        self.mac(fields).finalize().into_bytes().into()
    }

    /// True when `tag` is the tag of `fields`, or its first `tag.len()`
    /// bytes (at least 16); compared in constant time.
    pub fn verify(&self, fields: &[&[u8]], tag: &[u8]) -> bool {
        tag.len() >= 16 && self.mac(fields).verify_truncated_left(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_the_key_the_label_and_the_field_boundaries() {
        let k = MacKey::derive("a", b"secret").unwrap();
        let t = k.tag(&[b"ab", b"c"]);
        assert!(k.verify(&[b"ab", b"c"], &t));
        assert!(k.verify(&[b"ab", b"c"], &t[..16]));
        assert!(!k.verify(&[b"ab", b"c"], &t[..15]));
        assert!(!k.verify(&[b"a", b"bc"], &t));
        assert!(
            !MacKey::derive("b", b"secret")
                .unwrap()
                .verify(&[b"ab", b"c"], &t)
        );
        assert!(
            !MacKey::derive("a", b"other")
                .unwrap()
                .verify(&[b"ab", b"c"], &t)
        );
        assert!(MacKey::derive("a", b"").is_none());
        assert_eq!(format!("{k:?}"), "MacKey(..)");
    }
}
