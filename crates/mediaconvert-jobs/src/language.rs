//! A track's language as MediaConvert takes it. The creator gives an
//! RFC 5646 tag (`en`, `pt-BR`, `es-419`), and players are shown that tag;
//! MediaConvert's model is narrower, member by member:
//!
//! | member | takes |
//! |---|---|
//! | `CaptionSelector.CustomLanguageCode` | exactly three letters (ISO 639-2/3) |
//! | `CaptionDescription.CustomLanguageCode` | `^[A-Za-z]{2,3}(-[A-Za-z-]+)?$`: no digits |
//! | `AudioDescription.CustomLanguageCode` | `^[A-Za-z]{2,3}(-[A-Za-z0-9-]+)?$` |
//! | `LanguageCode` (all three) | an enum of ISO 639-2 codes, upper case |
//!
//! The descriptions carry the tag itself (it becomes the playlist's
//! `LANGUAGE`), a caption's cut before its first subtag with a digit
//! (`es-419` → `es`); the selector carries the enum value when the enum
//! has the language, else the three-letter code. A tag whose language ISO
//! 639 does not know cannot be given to MediaConvert: the upload is
//! refused before `CreateJob` ([`check`]).

use aws_sdk_mediaconvert::types::LanguageCode;
use hlsgate_core::tracks::iso639_3;

/// A caption selector's language: the enum's value, or a custom code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorLanguage {
    Listed(LanguageCode),
    Custom(String),
}

/// The caption selector's language of `tag`; `None` when ISO 639 does not
/// know its language.
pub fn selector(tag: &str) -> Option<SelectorLanguage> {
    let code = iso639_3(tag)?;
    let upper = code.to_ascii_uppercase();
    Some(if LanguageCode::values().contains(&upper.as_str()) {
        SelectorLanguage::Listed(LanguageCode::from(upper.as_str()))
    } else {
        SelectorLanguage::Custom(code.to_string())
    })
}

/// A caption description's `CustomLanguageCode`: `tag` up to its first
/// subtag with a digit.
pub fn caption_description(tag: &str) -> String {
    let mut out = String::new();
    for (i, part) in tag.split('-').enumerate() {
        if i > 0 && part.bytes().any(|b| b.is_ascii_digit()) {
            break;
        }
        if i > 0 {
            out.push('-');
        }
        out.push_str(part);
    }
    out
}

/// Why `tag` cannot go to MediaConvert, or `Ok`.
pub fn check(tag: &str) -> Result<(), String> {
    match selector(tag) {
        Some(_) => Ok(()),
        None => Err(format!(
            "language tag {tag:?} names no ISO 639 language, which MediaConvert needs"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_what_each_member_takes() {
        assert_eq!(
            selector("en"),
            Some(SelectorLanguage::Listed(LanguageCode::Eng))
        );
        assert_eq!(
            selector("fr-CA"),
            Some(SelectorLanguage::Listed(LanguageCode::Fra))
        );
        assert_eq!(
            selector("pt-BR"),
            Some(SelectorLanguage::Listed(LanguageCode::Por))
        );
        // Cantonese: ISO 639-3 only, not in MediaConvert's enum.
        assert_eq!(
            selector("yue"),
            Some(SelectorLanguage::Custom("yue".into()))
        );
        assert_eq!(selector("qq"), None);
        assert_eq!(caption_description("es-419"), "es");
        assert_eq!(caption_description("zh-Hant-TW"), "zh-Hant-TW");
        assert_eq!(caption_description("pt-BR"), "pt-BR");
        assert!(check("en").is_ok());
        assert_eq!(
            check("qq").unwrap_err(),
            "language tag \"qq\" names no ISO 639 language, which MediaConvert needs"
        );
    }
}
