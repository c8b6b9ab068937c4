//! Browser uploads: the names we accept and the keys they are stored under.
//!
//! An upload from the upload API lands at
//! `INPUT_PREFIX` + uploader + `/` + nonce + `/` + name, where the uploader
//! is the pseudonym of the authenticated subject and the nonce is random:
//! two uploaders never share a key, one uploader's two uploads of
//! `trip.mp4` neither, and the readable name stays in the last segment (and
//! so in the video id's slug). The pseudonym in the key is also who may
//! complete, abort and follow the upload.

/// Longest file name accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// The length of the uploader and nonce segments, in lower-case hex.
pub const SEGMENT_HEX: usize = 16;

/// Why a name, a size or a key is refused. Safe to show the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error(
        "the file name is 1 to {MAX_NAME_BYTES} bytes of letters, digits, spaces, `_`, `-` and `.`, \
         not starting with `.` or a space"
    )]
    Name,
    #[error("the file's extension must be one of {0}")]
    Extension(String),
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the most this API takes is {max}")]
    TooLarge { size: u64, max: u64 },
}

/// A file name as the uploader gave it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadName(String);

impl UploadName {
    /// `name` when it is in the safe set and its extension (compared
    /// without case) is one of `extensions` (lower case, without the dot).
    pub fn parse(name: &str, extensions: &[String]) -> Result<UploadName, UploadError> {
        let safe = !name.is_empty()
            && name.len() <= MAX_NAME_BYTES
            && !name.starts_with(['.', ' '])
            && !name.ends_with(' ')
            && !name.contains("..")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'-' | b'.'));
        if !safe {
            return Err(UploadError::Name);
        }
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if !extensions.contains(&ext) {
            return Err(UploadError::Extension(extensions.join(", ")));
        }
        Ok(UploadName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `size` when it is 1 to `max` bytes.
pub fn check_size(size: u64, max: u64) -> Result<u64, UploadError> {
    match size {
        0 => Err(UploadError::Empty),
        s if s > max => Err(UploadError::TooLarge { size: s, max }),
        s => Ok(s),
    }
}

/// The parts of an upload key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadKey {
    pub uploader: String,
    pub nonce: String,
    pub name: UploadName,
}

impl UploadKey {
    /// The key for `name` from `uploader` (a pseudonym), with `random`
    /// bytes for the nonce (the first [`SEGMENT_HEX`]` / 2` are used).
    pub fn new(uploader: &str, random: &[u8], name: UploadName) -> UploadKey {
        UploadKey {
            uploader: uploader.chars().take(SEGMENT_HEX).collect(),
            nonce: hex::encode(&random[..random.len().min(SEGMENT_HEX / 2)]),
            name,
        }
    }

    /// The S3 key under `input_prefix`.
    pub fn key(&self, input_prefix: &str) -> String {
        format!(
            "{input_prefix}{}/{}/{}",
            self.uploader,
            self.nonce,
            self.name.as_str()
        )
    }

    /// The parts of `key`, when it is exactly what [`UploadKey::key`]
    /// makes under `input_prefix` for a name `extensions` allow.
    pub fn parse(key: &str, input_prefix: &str, extensions: &[String]) -> Option<UploadKey> {
        let rest = key.strip_prefix(input_prefix)?;
        let mut parts = rest.splitn(3, '/');
        let (uploader, nonce, name) = (parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str| {
            s.len() == SEGMENT_HEX
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(uploader) || !hex(nonce) {
            return None;
        }
        Some(UploadKey {
            uploader: uploader.to_string(),
            nonce: nonce.to_string(),
            name: UploadName::parse(name, extensions).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::VideoId;

    fn exts() -> Vec<String> {
        ["mp4", "mov"].map(String::from).to_vec()
    }

    #[test]
    fn names_in_the_safe_set_with_an_allowed_extension() {
        for ok in [
            "trip.mp4",
            "My Trip - Day 1.MP4",
            "a_b.c.mov",
            &format!("{}.mp4", "x".repeat(124)),
        ] {
            assert_eq!(UploadName::parse(ok, &exts()).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            ".mp4",
            " a.mp4",
            "a.mp4 ",
            "a/b.mp4",
            "a\\b.mp4",
            "..mp4",
            "a..b.mp4",
            "caf\u{e9}.mp4",
            "a%2f.mp4",
            "a\n.mp4",
            &format!("{}.mp4", "x".repeat(125)),
        ] {
            assert_eq!(
                UploadName::parse(bad, &exts()),
                Err(UploadError::Name),
                "{bad:?}"
            );
        }
        for bad in ["a.exe", "mp4", "a.mp4.zip"] {
            assert_eq!(
                UploadName::parse(bad, &exts()),
                Err(UploadError::Extension("mp4, mov".into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(check_size(1, 10), Ok(1));
        assert_eq!(check_size(10, 10), Ok(10));
        assert_eq!(check_size(0, 10), Err(UploadError::Empty));
        assert_eq!(
            check_size(11, 10),
            Err(UploadError::TooLarge { size: 11, max: 10 })
        );
    }

    #[test]
    fn keys_round_trip_and_keep_the_name_readable_in_the_video_id() {
        let name = UploadName::parse("My Trip.mp4", &exts()).unwrap();
        let k = UploadKey::new("0123456789abcdef0123", &[0xab; 32], name);
        let key = k.key("uploads/");
        assert_eq!(key, "uploads/0123456789abcdef/abababababababab/My Trip.mp4");
        assert_eq!(UploadKey::parse(&key, "uploads/", &exts()), Some(k));
        let id = VideoId::from_upload("b", &key, "uploads/");
        assert!(
            id.as_str()
                .starts_with("0123456789abcdef-abababababababab-my-trip_"),
            "{id}"
        );
        for bad in [
            "uploads/trip.mp4",
            "other/0123456789abcdef/abababababababab/a.mp4",
            "uploads/0123456789ABCDEF/abababababababab/a.mp4",
            "uploads/0123456789abcde/abababababababab/a.mp4",
            "uploads/0123456789abcdef/abababababababab/x/a.mp4",
            "uploads/0123456789abcdef/abababababababab/a.exe",
        ] {
            assert_eq!(UploadKey::parse(bad, "uploads/", &exts()), None, "{bad}");
        }
    }
}
