//! The upload handle: what the routes call an upload in progress. It
//! carries the upload's key, S3's upload id, its declared size and part
//! size (so its part count and each part's length), and a MAC over all of
//! them under a server key, so an uploader cannot ask for part URLs past the
//! parts they were given, or complete a different size: any change to any
//! field is a 404 on every route.
//!
//! `base64url("v1\nKEY\nUPLOAD_ID\nSIZE\nPART_BYTES") "." base64url(HMAC-SHA256)`.
//! The MAC key is derived from the pseudonym key (`LOG_HASH_KEY_SECRET_ARN`,
//! in Secrets Manager) as `SHA-256("hlsgate upload handle v1\n" ‖ key)`: a
//! construction other than the pseudonyms' HMAC, so no pseudonym reveals
//! anything of it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::config::MAX_PARTS;

/// The format's version, first in what the MAC covers.
const VERSION: &str = "v1";

/// Longest handle taken (a key of 1 KiB and an upload id of 1 KiB, encoded).
pub const MAX_HANDLE_BYTES: usize = 4096;

/// An upload in progress, as the routes name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub key: String,
    pub upload_id: String,
    /// The size the uploader declared: what the parts must add up to.
    pub size: u64,
    /// Every part's length but the last's.
    pub part_bytes: u64,
}

/// The handles' MAC key.
#[derive(Clone)]
pub struct HandleKey([u8; 32]);

impl std::fmt::Debug for HandleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandleKey(..)")
    }
}

impl HandleKey {
    /// Derived from the pseudonym key; `None` without one.
    pub fn derive(secret: Option<&SecretString>) -> Option<HandleKey> {
        let secret = secret?.expose_secret();
        if secret.is_empty() {
            return None;
        }
        let mut h = Sha256::new();
        h.update(b"hlsgate upload handle v1\n");
        h.update(secret.as_bytes());
        Some(HandleKey(h.finalize().into()))
    }

    fn mac(&self) -> hmac::Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }
}

impl Handle {
    /// How many parts: `size / part_bytes`, rounded up.
    pub fn parts(&self) -> u32 {
        Self::part_count(self.size, self.part_bytes)
    }

    /// How many parts of `part_bytes` hold `size` bytes.
    pub fn part_count(size: u64, part_bytes: u64) -> u32 {
        u32::try_from(size.div_ceil(part_bytes.max(1))).unwrap_or(u32::MAX)
    }

    /// The length of part `n` (from 1): `part_bytes`, the last one the rest.
    pub fn part_len(&self, n: u32) -> u64 {
        let before = u64::from(n.saturating_sub(1)) * self.part_bytes;
        self.size.saturating_sub(before).min(self.part_bytes)
    }

    fn payload(&self) -> String {
        format!(
            "{VERSION}\n{}\n{}\n{}\n{}",
            self.key, self.upload_id, self.size, self.part_bytes
        )
    }

    /// The handle as the answers carry it.
    pub fn encode(&self, key: &HandleKey) -> String {
        let payload = self.payload();
        let mut mac = key.mac();
        mac.update(payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// A handle this key made, unchanged; `None` for anything else. The MAC
    /// is compared in constant time before any field is read.
    pub fn decode(s: &str, key: &HandleKey) -> Option<Handle> {
        if s.len() > MAX_HANDLE_BYTES {
            return None;
        }
        let (payload, tag) = s.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = key.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).ok()?;
        let text = String::from_utf8(payload).ok()?;
        let mut it = text.split('\n');
        let (version, key, upload_id, size, part_bytes) =
            (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
        if version != VERSION || it.next().is_some() || upload_id.is_empty() {
            return None;
        }
        let handle = Handle {
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            size: size.parse().ok()?,
            part_bytes: part_bytes.parse().ok().filter(|b| *b > 0)?,
        };
        (1..=MAX_PARTS as u32)
            .contains(&handle.parts())
            .then_some(handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> HandleKey {
        HandleKey::derive(Some(&SecretString::from(s.to_string()))).unwrap()
    }

    #[test]
    fn a_handle_round_trips_and_any_change_is_refused() {
        let k = key("test-only-key");
        let h = Handle {
            key: "uploads/a/b/c.mp4".into(),
            upload_id: "UP1".into(),
            size: 13,
            part_bytes: 5,
        };
        assert_eq!(h.parts(), 3);
        assert_eq!((h.part_len(1), h.part_len(2), h.part_len(3)), (5, 5, 3));
        let s = h.encode(&k);
        assert_eq!(Handle::decode(&s, &k), Some(h.clone()));
        // Another key, a re-encoded payload, a flipped MAC byte, junk.
        assert_eq!(Handle::decode(&s, &key("other-key")), None);
        let (_, tag) = s.split_once('.').unwrap();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode("v1\nuploads/a/b/c.mp4\nUP1\n50000\n5")
        );
        assert_eq!(Handle::decode(&forged, &k), None);
        let mut bytes = s.clone().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(Handle::decode(&String::from_utf8(bytes).unwrap(), &k), None);
        for junk in ["", ".", "x.y", &"a".repeat(MAX_HANDLE_BYTES + 1)] {
            assert_eq!(Handle::decode(junk, &k), None, "{junk}");
        }
        // The old, unsigned form is not a handle any more.
        let unsigned = URL_SAFE_NO_PAD.encode("uploads/a/b/c.mp4\nUP1\n2");
        assert_eq!(Handle::decode(&unsigned, &k), None);
        assert!(HandleKey::derive(None).is_none());
        assert!(format!("{k:?}").ends_with("(..)"));
    }
}
