//! SPEKE, the key exchange `MediaConvert` (and every AWS encryptor) speaks
//! with a key provider: a CPIX document in, the same document with the keys
//! and the HLS signalling filled in out.
//!
//! - [`Version`]: SPEKE v1.0 (no `X-Speke-Version` header; CPIX `id`) or
//!   v2.0 (`X-Speke-Version: 2.0`; CPIX 2.3, `contentId`, `version`).
//! - [`Request::parse`]: a namespace-aware read of the request, with every
//!   check that can refuse it, each a [`Refusal`] whose message is the one
//!   the SPEKE v2 API lists where it lists one (answered as HTTP 422).
//! - [`Request::answer`]: the request's own document, byte for byte, with the
//!   key (`pskc:PlainValue`) and the HLS signalling (`URIExtXKey`,
//!   `speke:KeyFormat*` in v1; `HLSSignalingData` for the media and master
//!   playlists in v2) written in.
//! - [`encryptor`]: the encryptor's side (the request `MediaConvert` sends,
//!   and reading an answer), for the local stack and tests.
//!
//! hlsgate serves HLS AES-128 itself (one key per video, the folder key the
//! rewriter's key route serves); DRM systems are a vendor's, and refused
//! with [`Refusal::UnsupportedSystem`].

mod answer;
pub mod encryptor;
mod request;

pub use request::{Request, RequestedKey};

/// Largest CPIX request read. `MediaConvert`'s requests for one key are
/// about 1.5 KiB; the suite's largest is 2.5 KiB.
pub const MAX_CPIX_BYTES: usize = 64 * 1024;

/// Deepest element nesting taken (a CPIX document is five deep).
pub const MAX_DEPTH: usize = 16;

/// The CPIX namespace.
pub const NS_CPIX: &str = "urn:dashif:org:cpix";
/// PSKC, the namespace of the key's `Secret` and `PlainValue`.
pub const NS_PSKC: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
/// AWS's SPEKE v1 namespace (`KeyFormat`, `KeyFormatVersions`, `ProtectionHeader`).
pub const NS_SPEKE: &str = "urn:aws:amazon:com:speke";

/// The HTTP header that says which SPEKE version a request speaks.
pub const VERSION_HEADER: &str = "x-speke-version";
/// The header a key provider names itself in (v2; `Speke-User-Agent` in v1).
pub const USER_AGENT_HEADER: &str = "x-speke-user-agent";
/// The CPIX version SPEKE v2.0 requires.
pub const CPIX_VERSION: &str = "2.3";

/// HLS AES-128 as SPEKE v1 names it (DASH-IF's "HLS AES-128" system id).
pub const HLS_AES_128: &str = "81376844-f976-481e-a84e-cc25d39b0b33";
/// ClearKey AES-128, the id SPEKE v2 documents for HLS AES-128.
pub const CLEAR_KEY_AES_128: &str = "3ea8778f-7742-4bf9-b18b-e834b2acbd47";
/// DRM systems a request may name, for the refusal's words.
pub const WIDEVINE: &str = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed";
pub const PLAYREADY: &str = "9a04f079-9840-4286-ab92-e65be0885f95";
pub const FAIRPLAY: &str = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2";

/// `KEYFORMAT` of an AES-128 key served at a URI: the key's bytes.
pub const KEY_FORMAT: &str = "identity";
/// `KEYFORMATVERSIONS` of that format.
pub const KEY_FORMAT_VERSIONS: &str = "1";

/// The system ids this key provider answers: both name HLS AES-128.
pub fn serves(system_id: &str) -> bool {
    system_id.eq_ignore_ascii_case(HLS_AES_128) || system_id.eq_ignore_ascii_case(CLEAR_KEY_AES_128)
}

/// A system id's usual name, for messages.
pub fn system_name(system_id: &str) -> Option<&'static str> {
    [
        (HLS_AES_128, "HLS AES-128"),
        (CLEAR_KEY_AES_128, "ClearKey AES-128"),
        (WIDEVINE, "Widevine"),
        (PLAYREADY, "PlayReady"),
        (FAIRPLAY, "FairPlay"),
    ]
    .into_iter()
    .find(|(id, _)| id.eq_ignore_ascii_case(system_id))
    .map(|(_, name)| name)
}

/// Which SPEKE a request speaks, from its `X-Speke-Version` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Version {
    #[strum(serialize = "1.0")]
    V1,
    #[strum(serialize = "2.0")]
    V2,
}

impl Version {
    /// No header is v1.0 (which predates it); `1.0` and `2.0` are
    /// themselves; anything else is refused.
    pub fn from_header(value: Option<&str>) -> Result<Version, Refusal> {
        match value.map(str::trim) {
            None | Some("1.0") => Ok(Version::V1),
            Some("2.0") => Ok(Version::V2),
            Some(_) => Err(Refusal::UnsupportedSpekeVersion),
        }
    }

    /// The header's value.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why a request is refused: SPEKE's 422, with the message the SPEKE v2 API
/// gives where it gives one, and one in the same form where it does not.
/// No message repeats key material; ids are the request's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Unsupported SPEKE version")]
    UnsupportedSpekeVersion,
    /// Not XML, a DTD, an unknown entity, over the size or depth limit.
    #[error("Malformed CPIX document: {0}")]
    Malformed(String),
    #[error("Missing CPIX@{0}")]
    MissingContentId(&'static str),
    #[error("Missing CPIX@version")]
    MissingVersion,
    #[error("Unsupported CPIX@version")]
    UnsupportedCpixVersion,
    /// The content id (`MediaConvert`'s `ResourceId`) is not a video id.
    #[error("Unsupported CPIX@{0}: not a video id (1 to 128 of A-Z a-z 0-9 _ -)")]
    NotAVideoId(&'static str),
    #[error("Missing {0}")]
    MissingElement(&'static str),
    #[error("Missing {0}@{1}")]
    MissingAttribute(&'static str, &'static str),
    #[error("Invalid {0}@kid: not a UUID")]
    InvalidKid(&'static str),
    #[error("Invalid DRMSystem@systemId: not a UUID")]
    InvalidSystemId,
    #[error("Unknown {0}@kid {1}: no ContentKey has it")]
    UnknownKid(&'static str, String),
    #[error("Missing ContentKey@commonEncryptionScheme for KID {0}")]
    MissingScheme(String),
    #[error("Unsupported ContentKey@commonEncryptionScheme")]
    UnsupportedScheme,
    #[error("Non compliant ContentKey@commonEncryptionScheme combination")]
    MixedSchemes,
    #[error("Unsupported ContentKeyUsageRule@intendedTrackType")]
    UnsupportedTrackType,
    /// `ALL` (the SHARED presets) beside another track type.
    #[error("Non compliant ContentKeyUsageRule@intendedTrackType combination")]
    TrackTypeCombination,
    #[error("Missing VideoFilter or AudioFilter in ContentKeyUsageRule for KID {0}")]
    MissingFilter(String),
    /// More than one key: the presets other than SHARED.
    #[error(
        "Unsupported encryption contract: one content key per content id (the SHARED presets), \
         this request asks for {0}"
    )]
    UnsupportedPreset(usize),
    #[error(
        "Unsupported DRMSystem@systemId {id}{name}: this key provider serves HLS AES-128 ({HLS_AES_128}, {CLEAR_KEY_AES_128}); DRM systems are served by their vendor's SPEKE endpoint",
        name = system_name(.0).map(|n| format!(" ({n})")).unwrap_or_default(),
        id = .0
    )]
    UnsupportedSystem(String),
    /// An element a v2 AES-128 answer cannot carry a value for.
    #[error("Unsupported DRMSystem.{0} for HLS AES-128")]
    UnsupportedSignalling(&'static str),
}

impl Refusal {
    /// A short, stable name for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnsupportedSpekeVersion => "speke_version",
            Refusal::Malformed(_) => "malformed",
            Refusal::MissingContentId(_) | Refusal::NotAVideoId(_) => "content_id",
            Refusal::MissingVersion | Refusal::UnsupportedCpixVersion => "cpix_version",
            Refusal::MissingElement(_)
            | Refusal::MissingAttribute(..)
            | Refusal::InvalidKid(_)
            | Refusal::InvalidSystemId
            | Refusal::UnknownKid(..)
            | Refusal::MissingFilter(_) => "structure",
            Refusal::MissingScheme(_) | Refusal::UnsupportedScheme | Refusal::MixedSchemes => {
                "scheme"
            }
            Refusal::UnsupportedTrackType
            | Refusal::TrackTypeCombination
            | Refusal::UnsupportedPreset(_) => "preset",
            Refusal::UnsupportedSystem(_) | Refusal::UnsupportedSignalling(_) => "system_id",
        }
    }
}

/// A key or system id: a UUID (8-4-4-4-12 hex digits), lower-cased.
pub fn uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let dashes = [8, 13, 18, 23];
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if dashes.contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    ok.then(|| s.to_ascii_lowercase())
}

/// The `EXT-X-KEY` line of a media playlist whose key is at `uri`.
pub fn media_key_line(uri: &str) -> String {
    format!(
        "#EXT-X-KEY:METHOD=AES-128,URI=\"{uri}\",KEYFORMAT=\"{KEY_FORMAT}\",KEYFORMATVERSIONS=\"{KEY_FORMAT_VERSIONS}\""
    )
}

/// The `EXT-X-SESSION-KEY` line of a master playlist whose key is at `uri`.
pub fn master_key_line(uri: &str) -> String {
    format!(
        "#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"{uri}\",KEYFORMAT=\"{KEY_FORMAT}\",KEYFORMATVERSIONS=\"{KEY_FORMAT_VERSIONS}\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_header() {
        assert_eq!(Version::from_header(None), Ok(Version::V1));
        assert_eq!(Version::from_header(Some("1.0")), Ok(Version::V1));
        assert_eq!(Version::from_header(Some(" 2.0 ")), Ok(Version::V2));
        for bad in ["2", "3.0", "", "2.0.1"] {
            assert_eq!(
                Version::from_header(Some(bad)),
                Err(Refusal::UnsupportedSpekeVersion),
                "{bad}"
            );
        }
        assert_eq!(Version::V2.as_str(), "2.0");
    }

    #[test]
    fn only_the_aes_128_ids_are_served() {
        assert!(serves(HLS_AES_128));
        assert!(serves(&CLEAR_KEY_AES_128.to_uppercase()));
        for drm in [WIDEVINE, PLAYREADY, FAIRPLAY] {
            assert!(!serves(drm));
        }
        let m = Refusal::UnsupportedSystem(FAIRPLAY.into()).to_string();
        assert!(
            m.starts_with("Unsupported DRMSystem@systemId 94ce86fb-"),
            "{m}"
        );
        assert!(m.contains("(FairPlay)"), "{m}");
    }

    #[test]
    fn uuids_are_checked_and_lower_cased() {
        assert_eq!(
            uuid("6C5F5206-7D98-4808-84D8-94F132C1E9FE").as_deref(),
            Some("6c5f5206-7d98-4808-84d8-94f132c1e9fe")
        );
        for bad in [
            "",
            "6c5f5206",
            "6c5f52067d98480884d894f132c1e9fe",
            "6c5f5206-7d98-4808-84d8-94f132c1e9fg",
        ] {
            assert_eq!(uuid(bad), None, "{bad}");
        }
    }
}
