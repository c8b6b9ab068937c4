//! Video ids and the `playback.json` sidecar: the contract between the jobs
//! Lambda (which writes the sidecar when a ladder is complete) and the issuer
//! (which reads it to know that a video is ready and how long it plays).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest video id.
pub const MAX_VIDEO_ID_BYTES: usize = 128;

/// The sidecar's name, next to the master playlist.
pub const SIDECAR_NAME: &str = "playback.json";

/// The master playlist's name when the sidecar does not say otherwise.
pub const DEFAULT_MASTER_NAME: &str = "master.m3u8";

/// An encrypted ladder's AES-128 key, as its playlists name it: a URI
/// relative to the video's folder (`KEY_PREFIX/ID/hls.key` on the CDN), so
/// it resolves on whatever domain served the playlist and is covered by the
/// folder's signature.
pub const KEY_NAME: &str = "hls.key";

/// The media bucket's private folders, outside `KEY_PREFIX` so the media
/// origin never serves them (each a setting of its own; these are the
/// defaults): AES-128 keys (`KEYS_PREFIX`)…
pub const DEFAULT_KEYS_PREFIX: &str = "keys/";
/// …each video's processing status (`STATUS_PREFIX`)…
pub const DEFAULT_STATUS_PREFIX: &str = "status/";
/// …each video's playback rules (`RULES_PREFIX`)…
pub const DEFAULT_RULES_PREFIX: &str = "rules/";
/// …and the jobs function's claims (`JOB_CLAIM_PREFIX`).
pub const DEFAULT_JOB_CLAIM_PREFIX: &str = "jobs/";
/// Where uploads land, in the upload bucket (`INPUT_PREFIX`).
pub const DEFAULT_INPUT_PREFIX: &str = "uploads/";

/// The length of that key: AES-128.
pub const KEY_BYTES: usize = 16;

/// The stored key of video `id`: `KEYS_PREFIX` + id + `.key`.
pub fn key_object(keys_prefix: &str, id: &str) -> String {
    format!("{keys_prefix}{id}.key")
}

/// The video's folder in the media bucket: `key_prefix` + id + `/`
/// (`videos/abc/`). The master, the ladder and `playback.json` sit inside.
pub fn folder_key(key_prefix: &str, id: &str) -> String {
    format!("{key_prefix}{id}/")
}

/// A video id: 1 to 128 characters of `A-Z a-z 0-9 _ -`, so it is the same
/// in a path segment, an S3 key, a policy resource and a log line, with no
/// escaping anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VideoId(String);

/// Why a string is not a video id. The message never repeats the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoIdError {
    #[error("a video id is 1 to {MAX_VIDEO_ID_BYTES} characters; this one has {0}")]
    Length(usize),
    #[error("a video id holds only A-Z, a-z, 0-9, `_` and `-`")]
    Character,
}

impl VideoId {
    pub fn parse(s: &str) -> Result<VideoId, VideoIdError> {
        if s.is_empty() || s.len() > MAX_VIDEO_ID_BYTES {
            return Err(VideoIdError::Length(s.chars().count()));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(VideoIdError::Character);
        }
        Ok(VideoId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the video made from the upload `bucket`/`key`, where the
    /// upload folder is `input_prefix` (`uploads/`). The rule:
    ///
    /// 1. A readable slug: the key without `input_prefix` and without the
    ///    file's extension, lower-cased; every run of characters other than
    ///    `a-z 0-9` becomes one `-`; no `-` at either end; at most
    ///    [`MAX_SLUG_CHARS`] characters; `video` when nothing is left.
    /// 2. `_`, then the SHA-256 of `bucket`, a newline and the whole `key`,
    ///    in unpadded base64url (43 characters).
    ///
    /// `uploads/My Trip/Day 1.mp4` becomes
    /// `my-trip-day-1_` + 43 characters. The slug never holds `_`, so the
    /// first `_` always starts the digest. Two distinct keys (or one key in two
    /// buckets) get the same id only if SHA-256 collides, which nobody has
    /// ever shown; the slug is only for people reading paths and logs. The
    /// id is at most 124 characters, within [`MAX_VIDEO_ID_BYTES`].
    pub fn from_upload(bucket: &str, key: &str, input_prefix: &str) -> VideoId {
        let relative = key.strip_prefix(input_prefix).unwrap_or(key);
        let stem = match relative.rfind('.') {
            Some(dot) if !relative[dot..].contains('/') => &relative[..dot],
            _ => relative,
        };
        let mut slug = String::with_capacity(MAX_SLUG_CHARS);
        let mut gap = false;
        for c in stem.chars() {
            if c.is_ascii_alphanumeric() {
                if gap && !slug.is_empty() {
                    slug.push('-');
                }
                gap = false;
                if slug.len() >= MAX_SLUG_CHARS {
                    break;
                }
                slug.push(c.to_ascii_lowercase());
            } else {
                gap = true;
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug = if slug.is_empty() { "video" } else { slug };
        let mut hash = Sha256::new();
        hash.update(bucket.as_bytes());
        hash.update(b"\n");
        hash.update(key.as_bytes());
        let digest = URL_SAFE_NO_PAD.encode(hash.finalize());
        VideoId(format!("{slug}_{digest}"))
    }
}

/// Longest readable part of a video id made by [`VideoId::from_upload`].
pub const MAX_SLUG_CHARS: usize = 80;

impl fmt::Display for VideoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VideoId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VideoId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One rendition of the ladder, as MediaConvert reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    /// Average bits per second; absent when the encoder did not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u64>,
}

/// `PREFIX/videoId/playback.json`: written when the ladder is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playback {
    pub video_id: VideoId,
    /// S3 key of the master playlist.
    pub master_key: String,
    /// Path of the master playlist on the CDN (`/videos/abc/master.m3u8`).
    pub public_path: String,
    /// Running time; absent when the job did not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    #[serde(default)]
    pub renditions: Vec<Rendition>,
    /// Audio and subtitle languages, trick play (absent in sidecars written
    /// before tracks existed: no alternate tracks).
    #[serde(default)]
    pub tracks: crate::tracks::Tracks,
    /// The poster image's key, in the video's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster_key: Option<String>,
}

/// Why a sidecar was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaybackError {
    #[error("playback.json is not valid: {0}")]
    Json(String),
    #[error("playback.json is for video {found}, not {expected}")]
    OtherVideo { expected: String, found: String },
    #[error("playback.json names master {0:?}, which is not a playlist in the video's folder")]
    Master(String),
    #[error("playback.json has a duration that is not a finite number of seconds ≥ 0")]
    Duration,
    #[error("playback.json names poster {0:?}, which is not an image in the video's folder")]
    Poster(String),
}

impl Playback {
    /// Reads a sidecar stored at `folder` (`videos/abc/`) for `id`, checking
    /// that it describes that video and a master inside its folder.
    pub fn from_json(json: &[u8], id: &VideoId, folder: &str) -> Result<Playback, PlaybackError> {
        let p: Playback =
            serde_json::from_slice(json).map_err(|e| PlaybackError::Json(e.to_string()))?;
        if &p.video_id != id {
            return Err(PlaybackError::OtherVideo {
                expected: id.to_string(),
                found: p.video_id.to_string(),
            });
        }
        if !p
            .master_name(folder)
            .is_some_and(|name| name.ends_with(".m3u8"))
        {
            return Err(PlaybackError::Master(p.master_key.clone()));
        }
        if p.duration_seconds
            .is_some_and(|d| !d.is_finite() || d < 0.0)
        {
            return Err(PlaybackError::Duration);
        }
        if let Some(poster) = &p.poster_key
            && !p
                .poster_name(folder)
                .is_some_and(|n| n.ends_with(".jpg") || n.ends_with(".png"))
        {
            return Err(PlaybackError::Poster(poster.clone()));
        }
        Ok(p)
    }

    /// The poster's path inside `folder`, on the same terms as
    /// [`Playback::master_name`].
    pub fn poster_name(&self, folder: &str) -> Option<&str> {
        plain_name(self.poster_key.as_deref()?, folder)
    }

    /// The master's path inside `folder` (`master.m3u8`), when it is a plain
    /// relative path with no `..`, `.`, empty segments, or characters that
    /// would need escaping in a URL.
    pub fn master_name(&self, folder: &str) -> Option<&str> {
        plain_name(&self.master_key, folder)
    }
}

/// `key` inside `folder`, when it is a plain relative path: no `..`, `.`,
/// empty segments, or characters that would need escaping in a URL.
fn plain_name<'a>(key: &'a str, folder: &str) -> Option<&'a str> {
    let name = key.strip_prefix(folder)?;
    let clean = name.split('/').all(|s| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    });
    clean.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_ids() {
        for ok in ["a", "Abc_123-x", &"x".repeat(128)] {
            assert_eq!(VideoId::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(VideoId::parse(""), Err(VideoIdError::Length(0)));
        assert_eq!(
            VideoId::parse(&"x".repeat(129)),
            Err(VideoIdError::Length(129))
        );
        for bad in ["a b", "a/b", "..", "a.b", "é", "a%2F", "a\0"] {
            assert_eq!(VideoId::parse(bad), Err(VideoIdError::Character), "{bad}");
        }
        assert!(serde_json::from_str::<VideoId>(r#""a/b""#).is_err());
    }

    #[test]
    fn ids_from_uploads() {
        let id = |key: &str| VideoId::from_upload("in", key, "uploads/").0;
        let slug = |key: &str| id(key).split_once('_').unwrap().0.to_string();
        assert_eq!(slug("uploads/My Trip/Day 1.mp4"), "my-trip-day-1");
        assert_eq!(slug("uploads/a.b.c.MOV"), "a-b-c");
        assert_eq!(slug("uploads/dir.v2/clip"), "dir-v2-clip");
        assert_eq!(slug("uploads/__café +1!.mkv"), "caf-1");
        assert_eq!(slug("uploads/日本.mp4"), "video");
        assert_eq!(slug("uploads/.mp4"), "video");
        assert_eq!(slug("elsewhere/x.mp4"), "elsewhere-x");
        let long = format!("uploads/{}.mp4", "ab-".repeat(100));
        assert!(slug(&long).len() <= MAX_SLUG_CHARS);
        assert!(!slug(&long).ends_with('-'));

        // Valid ids, stable, and different for keys that slug alike, for
        // case, and for the same key in another bucket.
        let keys = [
            "uploads/a b.mp4",
            "uploads/a-b.mp4",
            "uploads/A B.mp4",
            "uploads/a b.mov",
            "uploads/a+b.mp4",
            &long,
            &format!("uploads/{}", "é".repeat(512)),
        ];
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            let made = id(key);
            assert!(made.len() <= MAX_VIDEO_ID_BYTES, "{made}");
            assert_eq!(VideoId::parse(&made).unwrap().0, made);
            assert_eq!(made, id(key), "stable");
            assert!(seen.insert(made), "{key}");
        }
        assert_ne!(
            VideoId::from_upload("in", "uploads/a.mp4", "uploads/"),
            VideoId::from_upload("other", "uploads/a.mp4", "uploads/")
        );
        // The digest is of the bucket and the whole key, prefix included.
        let digest = Sha256::digest(b"in\nuploads/a b.mp4");
        assert_eq!(
            id("uploads/a b.mp4"),
            format!("a-b_{}", URL_SAFE_NO_PAD.encode(digest))
        );
    }

    fn sidecar(id: &str, master: &str, extra: &str) -> String {
        format!(r#"{{"video_id":"{id}","master_key":"{master}","public_path":"/{master}"{extra}}}"#)
    }

    #[test]
    fn sidecars() {
        let id = VideoId::parse("abc").unwrap();
        let p = Playback::from_json(
            sidecar(
                "abc",
                "videos/abc/master.m3u8",
                r#","duration_seconds":5400.5,"renditions":[{"width":1920,"height":1080,"bitrate":6000000}]"#,
            )
            .as_bytes(),
            &id,
            "videos/abc/",
        )
        .unwrap();
        assert_eq!(p.duration_seconds, Some(5400.5));
        assert_eq!(p.master_name("videos/abc/"), Some("master.m3u8"));
        assert_eq!(p.renditions[0].height, 1080);

        let bad = |json: String| Playback::from_json(json.as_bytes(), &id, "videos/abc/");
        assert!(matches!(
            bad(sidecar("abd", "videos/abd/master.m3u8", "")),
            Err(PlaybackError::OtherVideo { .. })
        ));
        for master in [
            "videos/abc/../x/master.m3u8",
            "videos/abc/master.mp4",
            "videos/other/abc/master.m3u8",
            "videos/abc//master.m3u8",
            "videos/abc/",
            "videos/abc/a b.m3u8",
        ] {
            assert!(
                matches!(
                    bad(sidecar("abc", master, "")),
                    Err(PlaybackError::Master(_))
                ),
                "{master}"
            );
        }
        assert_eq!(
            bad(sidecar(
                "abc",
                "videos/abc/master.m3u8",
                r#","duration_seconds":-1"#
            )),
            Err(PlaybackError::Duration)
        );
        assert!(matches!(bad("{".into()), Err(PlaybackError::Json(_))));
        for poster in [
            "videos/abc/../p.jpg",
            "videos/abc/p.m3u8",
            "videos/other/p.jpg",
        ] {
            assert_eq!(
                bad(sidecar(
                    "abc",
                    "videos/abc/master.m3u8",
                    &format!(r#","poster_key":"{poster}""#)
                )),
                Err(PlaybackError::Poster(poster.into())),
            );
        }
        let with_tracks = Playback::from_json(
            sidecar(
                "abc",
                "videos/abc/master.m3u8",
                r#","poster_key":"videos/abc/poster.0000001.jpg","tracks":{"audio":[{"language":"en","name":"English","default":true}],"iframes":true}"#,
            )
            .as_bytes(),
            &id,
            "videos/abc/",
        )
        .unwrap();
        assert_eq!(
            with_tracks.poster_name("videos/abc/"),
            Some("poster.0000001.jpg")
        );
        assert_eq!(with_tracks.tracks.audio[0].name, "English");
        assert!(with_tracks.tracks.iframes && !with_tracks.tracks.thumbnails);
        // An older sidecar has no tracks.
        assert_eq!(p.tracks, crate::tracks::Tracks::default());
    }
}
