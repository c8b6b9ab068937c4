//! What a video carries besides its picture: audio languages, subtitle
//! languages, trick play and a poster. The jobs function decides the tracks
//! from the upload (its audio streams, the caption files beside it, an
//! optional track manifest), records them in `playback.json`, and the issuer
//! passes them on, so a player can draw its menus before loading anything.
//!
//! Everything here is pure: naming rules, limits and parsers. Listing the
//! bucket and probing the source are the jobs function's.

use serde::{Deserialize, Serialize};

/// Most caption files taken for one video.
pub const MAX_CAPTION_TRACKS: usize = 20;

/// Largest caption file taken (a feature film's subtitles are ~100 KiB).
pub const MAX_CAPTION_BYTES: u64 = 10 * 1024 * 1024;

/// Largest track manifest (`STEM.json`) read.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Longest track name kept (`NAME` in the playlist, the menu label).
pub const MAX_NAME_CHARS: usize = 64;

/// One audio or subtitle rendition, as the menus show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// An RFC 5646 tag (`en`, `pt-BR`, `fra`); absent when the source did
    /// not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The menu label (`NAME`).
    pub name: String,
    /// `DEFAULT=YES`: what plays (audio) or shows (subtitles) unasked.
    #[serde(default)]
    pub default: bool,
}

/// The tracks of a ladder, as `playback.json` and the issuer's answer carry
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracks {
    /// Alternate audio renditions; empty when the audio is muxed into each
    /// video rendition (one source track) or there is none.
    #[serde(default)]
    pub audio: Vec<Track>,
    #[serde(default)]
    pub subtitles: Vec<Track>,
    /// I-frame-only playlists (`EXT-X-I-FRAME-STREAM-INF`).
    #[serde(default)]
    pub iframes: bool,
    /// Image thumbnails (`EXT-X-IMAGE-STREAM-INF`).
    #[serde(default)]
    pub thumbnails: bool,
}

/// A caption file's format, from its extension.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display, Serialize, Deserialize,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
#[serde(rename_all = "lowercase")]
pub enum CaptionFormat {
    Vtt,
    Srt,
}

/// Why a caption file or manifest was refused. Each message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error("{file}: {reason}")]
    Caption { file: String, reason: String },
    #[error("{file}: not a track manifest: {reason}")]
    Manifest { file: String, reason: String },
    #[error("more than {MAX_CAPTION_TRACKS} caption files")]
    TooManyCaptions,
}

/// A caption file beside an upload: `uploads/talk.en.vtt` for
/// `uploads/talk.mp4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    pub key: String,
    pub language: String,
    pub format: CaptionFormat,
}

/// `uploads/talk` for `uploads/talk.mp4`: the prefix every sidecar of the
/// upload starts with (plus a dot).
pub fn upload_stem(upload_key: &str) -> &str {
    let name_start = upload_key.rfind('/').map_or(0, |i| i + 1);
    match upload_key[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &upload_key[..name_start + dot],
        _ => upload_key,
    }
}

/// The track manifest's key: `uploads/talk.json`.
pub fn manifest_key(upload_key: &str) -> String {
    format!("{}.json", upload_stem(upload_key))
}

impl Sidecar {
    /// Reads `key` as a sidecar of `upload_key`: `STEM.LANG.vtt` or
    /// `STEM.LANG.srt`, with LANG a language tag. `None` for anything else
    /// (the video itself, the manifest, `STEM.notes.txt`, another video's
    /// `STEM2.en.vtt`).
    pub fn of(upload_key: &str, key: &str) -> Option<Sidecar> {
        let rest = key
            .strip_prefix(upload_stem(upload_key))?
            .strip_prefix('.')?;
        let (language, ext) = rest.rsplit_once('.')?;
        let format: CaptionFormat = ext.parse().ok()?;
        let language = language_tag(language)?;
        Some(Sidecar {
            key: key.to_string(),
            language,
            format,
        })
    }
}

/// A well-formed RFC 5646 tag, in its usual case (`pt-BR`, `zh-Hant`), or
/// `None`. Only the shape is checked: a 2–3 letter primary language (or
/// `x`/`i` private use is refused), then subtags of 1–8 letters or digits.
pub fn language_tag(s: &str) -> Option<String> {
    let mut parts = s.split('-');
    let primary = parts.next()?;
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = primary.to_ascii_lowercase();
    for p in parts {
        if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        out.push('-');
        match p.len() {
            2 if p.bytes().all(|b| b.is_ascii_alphabetic()) => {
                out.push_str(&p.to_ascii_uppercase())
            }
            4 if p.bytes().all(|b| b.is_ascii_alphabetic()) => {
                out.push_str(&p[..1].to_ascii_uppercase());
                out.push_str(&p[1..].to_ascii_lowercase());
            }
            _ => out.push_str(&p.to_ascii_lowercase()),
        }
    }
    (out.len() <= 35).then_some(out)
}

/// The three-letter ISO 639 code (639-2/T, or 639-3 for a language only it
/// lists) of a tag's primary language: `fr-CA` → `fra`, `zh-Hant` → `zho`,
/// `yue` → `yue`. `None` when ISO 639 does not know it (`qq`, `und`).
pub fn iso639_3(tag: &str) -> Option<&'static str> {
    Some(iso_language(tag)?.to_639_3()).filter(|c| *c != "und")
}

/// The ISO 639 language of a tag's primary subtag (two letters: 639-1,
/// three: 639-3), in any case.
fn iso_language(tag: &str) -> Option<isolang::Language> {
    let primary = tag.split('-').next()?.to_ascii_lowercase();
    match primary.len() {
        2 => isolang::Language::from_639_1(&primary),
        3 => isolang::Language::from_639_3(&primary),
        _ => None,
    }
}

/// A container's language code as a tag: `und` and empty are unknown.
pub fn container_language(code: Option<&str>) -> Option<String> {
    code.map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("und"))
        .and_then(language_tag)
}

/// The menu label of a language: its own name (`Français`, `Deutsch`),
/// with the region when the tag has one (`Português (BR)`); the tag itself
/// when the language is unknown to ISO 639.
pub fn language_name(tag: &str) -> String {
    let Some(lang) = iso_language(tag) else {
        return tag.to_string();
    };
    let parts = tag.split('-').skip(1);
    let own = lang.to_autonym().unwrap_or_else(|| lang.to_name());
    let own = own.split([',', ';']).next().unwrap_or(own).trim();
    let mut name: String = own.chars().take(1).flat_map(char::to_uppercase).collect();
    name.extend(own.chars().skip(1));
    let region: Vec<&str> = parts.filter(|p| p.len() == 2 || p.len() == 3).collect();
    if let Some(r) = region.first() {
        name.push_str(&format!(" ({r})"));
    }
    name
}

/// A track name from a manifest or a container: trimmed, printable
/// characters only, no quotes (it lands in a quoted playlist attribute), at
/// most [`MAX_NAME_CHARS`].
///
/// Printable means no control (Cc), format (Cf: U+202E, U+200B, U+FEFF…),
/// line or paragraph separator (Zl, Zp: U+2028, U+2029), private-use,
/// surrogate or unassigned character: players read playlists with regular
/// expressions that end a line at U+2028 (hls.js), so such a character in a
/// name could start a line of the uploader's choosing.
pub fn clean_name(s: &str) -> Option<String> {
    let name: String = s
        .chars()
        .filter(|c| printable(*c) && *c != '"')
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// Whether `c` may stand in a track name: see [`clean_name`].
fn printable(c: char) -> bool {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    !matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::PrivateUse
            | G::Surrogate
            | G::Unassigned
    )
}

/// Checks the first bytes of a caption file: UTF-8 (a BOM is fine) and the
/// format's opening (`WEBVTT`; an SRT cue number then a `-->` timing line).
pub fn check_caption(file: &str, format: CaptionFormat, head: &[u8]) -> Result<(), TrackError> {
    let bad = |reason: &str| TrackError::Caption {
        file: file.to_string(),
        reason: reason.to_string(),
    };
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A prefix may end inside a character; anything else is not UTF-8.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).map_err(|_| bad("is not UTF-8 text"))?
        }
        Err(_) => return Err(bad("is not UTF-8 text")),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        CaptionFormat::Vtt => {
            let first = text.lines().next().unwrap_or_default();
            let ok =
                first == "WEBVTT" || first.starts_with("WEBVTT ") || first.starts_with("WEBVTT\t");
            if !ok {
                return Err(bad("does not start with WEBVTT"));
            }
        }
        CaptionFormat::Srt => {
            let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
            let number = lines.next().unwrap_or_default();
            let timing = lines.next().unwrap_or_default();
            if number.is_empty()
                || !number.bytes().all(|b| b.is_ascii_digit())
                || !timing.contains("-->")
            {
                return Err(bad(
                    "does not start with an SRT cue (a number, then a timing line)",
                ));
            }
        }
    }
    Ok(())
}

/// `STEM.json`, the optional track manifest: labels and order for the
/// audio streams, and the caption files, when the naming rule is not
/// enough.
///
/// ```json
/// {"audio": [{"language": "en", "name": "English"},
///            {"language": "en", "name": "Audio description"}],
///  "subtitles": [{"file": "talk.en.vtt", "language": "en", "name": "English (CC)"}]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackManifest {
    /// One entry per audio stream of the source, in its order. Fewer
    /// entries than streams: the rest keep the container's language.
    #[serde(default)]
    pub audio: Vec<ManifestTrack>,
    /// When present, exactly these caption files, in this order; the
    /// naming rule is not used.
    #[serde(default)]
    pub subtitles: Option<Vec<ManifestCaption>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTrack {
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestCaption {
    /// A file name in the upload's folder (no `/`).
    pub file: String,
    pub language: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub default: bool,
}

impl TrackManifest {
    /// Reads and checks a manifest: known fields only, language tags well
    /// formed, caption files plain names with a caption extension, at most
    /// [`MAX_CAPTION_TRACKS`] of them.
    pub fn parse(file: &str, json: &[u8]) -> Result<TrackManifest, TrackError> {
        let bad = |reason: String| TrackError::Manifest {
            file: file.to_string(),
            reason,
        };
        let m: TrackManifest = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        for (i, a) in m.audio.iter().enumerate() {
            if let Some(l) = &a.language
                && language_tag(l).is_none()
            {
                return Err(bad(format!(
                    "audio[{i}].language {l:?} is not a language tag"
                )));
            }
        }
        let subs = m.subtitles.as_deref().unwrap_or_default();
        if subs.len() > MAX_CAPTION_TRACKS {
            return Err(TrackError::TooManyCaptions);
        }
        for (i, s) in subs.iter().enumerate() {
            if language_tag(&s.language).is_none() {
                return Err(bad(format!(
                    "subtitles[{i}].language {:?} is not a language tag",
                    s.language
                )));
            }
            let plain = !s.file.is_empty()
                && !s.file.contains(['/', '\\'])
                && s.file != "."
                && s.file != "..";
            let ext_ok = s
                .file
                .rsplit_once('.')
                .is_some_and(|(_, e)| e.parse::<CaptionFormat>().is_ok());
            if !plain || !ext_ok {
                return Err(bad(format!(
                    "subtitles[{i}].file {:?} is not a .vtt or .srt file name in the upload's folder",
                    s.file
                )));
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_are_named_after_the_upload() {
        let up = "uploads/talks/talk.mp4";
        assert_eq!(upload_stem(up), "uploads/talks/talk");
        assert_eq!(upload_stem("uploads/noext"), "uploads/noext");
        assert_eq!(upload_stem("uploads/a.b/.hidden"), "uploads/a.b/.hidden");
        assert_eq!(manifest_key(up), "uploads/talks/talk.json");
        let s = Sidecar::of(up, "uploads/talks/talk.pt-br.SRT").unwrap();
        assert_eq!(
            (s.language.as_str(), s.format),
            ("pt-BR", CaptionFormat::Srt)
        );
        assert_eq!(
            Sidecar::of(up, "uploads/talks/talk.en.vtt").unwrap().format,
            CaptionFormat::Vtt
        );
        for not in [
            "uploads/talks/talk.mp4",
            "uploads/talks/talk.json",
            "uploads/talks/talk.notes.txt",
            "uploads/talks/talk2.en.vtt",
            "uploads/talks/talk.english-subtitles-long.vtt",
            "uploads/talks/talk..vtt",
            "uploads/talks/talk.vtt",
            "uploads/other/talk.en.vtt",
        ] {
            assert_eq!(Sidecar::of(up, not), None, "{not}");
        }
    }

    #[test]
    fn language_tags_and_names() {
        assert_eq!(language_tag("EN").as_deref(), Some("en"));
        assert_eq!(language_tag("zh-hant-tw").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(language_tag("es-419").as_deref(), Some("es-419"));
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "x-klingon",
            "en-toolongsubtag",
        ] {
            assert_eq!(language_tag(bad), None, "{bad}");
        }
        assert_eq!(container_language(Some("und")), None);
        assert_eq!(container_language(Some("fra")).as_deref(), Some("fra"));
        assert_eq!(language_name("fr"), "Français");
        assert_eq!(language_name("fra"), "Français");
        assert_eq!(language_name("en"), "English");
        assert_eq!(language_name("pt-BR"), "Português (BR)");
        assert_eq!(language_name("qq"), "qq");
        assert_eq!(iso639_3("fr-CA"), Some("fra"));
        assert_eq!(iso639_3("zh-Hant-TW"), Some("zho"));
        assert_eq!(iso639_3("DE"), Some("deu"));
        assert_eq!(iso639_3("yue"), Some("yue"));
        for unknown in ["qq", "und", "qqq", "", "english"] {
            assert_eq!(iso639_3(unknown), None, "{unknown}");
        }
        assert_eq!(
            clean_name("  Dir\u{0}ector \"cut\" ").as_deref(),
            Some("Director cut")
        );
        assert_eq!(clean_name(" \n "), None);
        // Separators and format characters end or reorder lines in players.
        assert_eq!(
            clean_name("En\u{2028}#EXT-X-MEDIA:URI=\"https://evil.example/x\"\u{2029}").as_deref(),
            Some("En#EXT-X-MEDIA:URI=https://evil.example/x")
        );
        assert_eq!(
            clean_name("\u{202E}\u{200B}\u{FEFF}\u{E000}Fr\u{00AD}ançais\u{0085}").as_deref(),
            Some("Français")
        );
        assert_eq!(clean_name("\u{2028}\u{202E}"), None);
        assert_eq!(
            clean_name("Português (BR) 🎬").as_deref(),
            Some("Português (BR) 🎬")
        );
        assert_eq!(clean_name(&"x".repeat(100)).unwrap().len(), MAX_NAME_CHARS);
    }

    #[test]
    fn caption_files_are_checked() {
        let ok = |f, b: &[u8]| check_caption("f", f, b);
        assert!(ok(CaptionFormat::Vtt, b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi").is_ok());
        assert!(ok(CaptionFormat::Vtt, "\u{feff}WEBVTT - title\n".as_bytes()).is_ok());
        assert!(
            ok(
                CaptionFormat::Srt,
                b"\r\n1\r\n00:00:01,000 --> 00:00:02,000\r\nHi"
            )
            .is_ok()
        );
        // A prefix cut inside a character is still text.
        assert!(ok(CaptionFormat::Vtt, &"WEBVTT\n\né".as_bytes()[..9]).is_ok());
        let err = ok(CaptionFormat::Vtt, b"1\n00:00:01,000 --> 00:00:02,000").unwrap_err();
        assert_eq!(err.to_string(), "f: does not start with WEBVTT");
        assert!(ok(CaptionFormat::Srt, b"WEBVTT\n").is_err());
        assert!(ok(CaptionFormat::Vtt, b"WEBVTT\n\xff\xfe\n").is_err());
        assert!(ok(CaptionFormat::Vtt, b"").is_err());
    }

    #[test]
    fn manifests_are_checked() {
        let m = TrackManifest::parse(
            "t.json",
            br#"{"audio":[{"language":"en","name":"English"},{"name":"AD"}],
                "subtitles":[{"file":"t.en.vtt","language":"en","default":true}]}"#,
        )
        .unwrap();
        assert_eq!(m.audio.len(), 2);
        assert!(m.subtitles.unwrap()[0].default);
        for (json, says) in [
            (r#"{"audio":[{"language":"english"}]}"#, "audio[0].language"),
            (
                r#"{"subtitles":[{"file":"../x.vtt","language":"en"}]}"#,
                "subtitles[0].file",
            ),
            (
                r#"{"subtitles":[{"file":"x.txt","language":"en"}]}"#,
                "subtitles[0].file",
            ),
            (
                r#"{"subtitles":[{"file":"x.vtt","language":"e"}]}"#,
                "subtitles[0].language",
            ),
            (r#"{"captions":[]}"#, "unknown field"),
            ("[", "EOF"),
        ] {
            let e = TrackManifest::parse("t.json", json.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("t.json: not a track manifest") && e.contains(says),
                "{e}"
            );
        }
        let many: Vec<String> = (0..=MAX_CAPTION_TRACKS)
            .map(|i| format!(r#"{{"file":"t{i}.vtt","language":"en"}}"#))
            .collect();
        let json = format!(r#"{{"subtitles":[{}]}}"#, many.join(","));
        assert_eq!(
            TrackManifest::parse("t.json", json.as_bytes()),
            Err(TrackError::TooManyCaptions)
        );
    }
}
