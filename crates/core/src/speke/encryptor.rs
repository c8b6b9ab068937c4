//! The encryptor's side of SPEKE, as `MediaConvert` plays it for an HLS
//! AES-128 output group: the request it sends for a job's key, and what it
//! reads from the answer. The local stack's transcoder asks the key
//! provider's handler with these, so the same exchange runs offline; the
//! tests use them to check every answer the way an encryptor reads it.
//!
//! The request's shape follows the SPEKE v1 and v2 documentation (one
//! `ContentKey`, one `DRMSystem` for HLS AES-128, no key rotation for VOD;
//! v2 with the SHARED presets, `intendedTrackType="ALL"`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::Event;

use super::request::{element, reader, refuse_unsafe};
use super::*;
use crate::video::{KEY_BYTES, VideoId};

/// The CPIX request for `content_id`'s key `kid` (a UUID), in `version`.
pub fn request(version: Version, content_id: &VideoId, kid: &str, system_id: &str) -> String {
    match version {
        Version::V1 => format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<cpix:CPIX id="{content_id}" xmlns:cpix="{NS_CPIX}" xmlns:pskc="{NS_PSKC}" xmlns:speke="{NS_SPEKE}">
  <cpix:ContentKeyList>
    <cpix:ContentKey kid="{kid}"></cpix:ContentKey>
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>
    <cpix:DRMSystem kid="{kid}" systemId="{system_id}">
      <cpix:URIExtXKey></cpix:URIExtXKey>
      <speke:KeyFormat></speke:KeyFormat>
      <speke:KeyFormatVersions></speke:KeyFormatVersions>
    </cpix:DRMSystem>
  </cpix:DRMSystemList>
</cpix:CPIX>
"#
        ),
        Version::V2 => format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<cpix:CPIX contentId="{content_id}" version="{CPIX_VERSION}" xmlns:cpix="{NS_CPIX}" xmlns:pskc="{NS_PSKC}">
  <cpix:ContentKeyList>
    <cpix:ContentKey kid="{kid}" commonEncryptionScheme="cbcs"></cpix:ContentKey>
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>
    <cpix:DRMSystem kid="{kid}" systemId="{system_id}">
      <cpix:HLSSignalingData playlist="media"></cpix:HLSSignalingData>
      <cpix:HLSSignalingData playlist="master"></cpix:HLSSignalingData>
    </cpix:DRMSystem>
  </cpix:DRMSystemList>
  <cpix:ContentKeyUsageRuleList>
    <cpix:ContentKeyUsageRule kid="{kid}" intendedTrackType="ALL">
      <cpix:VideoFilter />
      <cpix:AudioFilter />
    </cpix:ContentKeyUsageRule>
  </cpix:ContentKeyUsageRuleList>
</cpix:CPIX>
"#
        ),
    }
}

/// What an encryptor takes from an answer.
#[derive(Clone, PartialEq, Eq)]
pub struct Answered {
    /// `CPIX@id` or `CPIX@contentId`, as answered.
    pub content_id: String,
    /// `CPIX@version`, when answered.
    pub cpix_version: Option<String>,
    /// Each `ContentKey`'s kid and its `PlainValue`, decoded.
    pub keys: Vec<(String, Vec<u8>)>,
    /// Each `DRMSystem`'s kid and system id.
    pub systems: Vec<(String, String)>,
    /// `URIExtXKey`, `speke:KeyFormat`, `speke:KeyFormatVersions`, decoded.
    pub uri_ext_x_key: Option<String>,
    pub key_format: Option<String>,
    pub key_format_versions: Option<String>,
    /// `HLSSignalingData` for the media and the master playlist, decoded.
    pub media: Vec<String>,
    pub master: Vec<String>,
    /// Elements an AES-128 answer must not carry (`PSSH` and the like).
    pub drm_only: Vec<String>,
}

impl std::fmt::Debug for Answered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answered")
            .field("content_id", &self.content_id)
            .field("keys", &self.keys.len())
            .field("uri_ext_x_key", &self.uri_ext_x_key)
            .field("media", &self.media)
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

impl Answered {
    /// The one AES-128 key answered, when there is exactly one of 16 bytes.
    pub fn key(&self) -> Option<[u8; KEY_BYTES]> {
        match self.keys.as_slice() {
            [(_, k)] => k.as_slice().try_into().ok(),
            _ => None,
        }
    }

    /// The key's URI as the encryptor would write it: `URIExtXKey` (v1),
    /// else the `URI` of the media playlist's `EXT-X-KEY`.
    pub fn key_uri(&self) -> Option<String> {
        if let Some(u) = &self.uri_ext_x_key {
            return Some(u.clone());
        }
        let line = self.media.first()?;
        let after = line.split_once("URI=\"")?.1;
        Some(after.split_once('"')?.0.to_string())
    }
}

/// What an encryptor reads an element as: by namespace and name, as the
/// answer writes them (anything else is read past).
fn known(ns: &str, local: &str) -> &'static str {
    match (ns, local) {
        (NS_CPIX, "CPIX") => "CPIX",
        (NS_CPIX, "ContentKey") => "ContentKey",
        (NS_CPIX, "DRMSystem") => "DRMSystem",
        (NS_PSKC, "PlainValue") => "PlainValue",
        _ => super::request::signalling(ns, local).unwrap_or(""),
    }
}

/// Reads an answer as an encryptor that asked in `version` does (the same
/// limits as a request).
pub fn read_answer(body: &[u8], version: Version) -> Result<Answered, Refusal> {
    if body.len() > MAX_CPIX_BYTES {
        return Err(Refusal::Malformed("an answer over the size limit".into()));
    }
    let doc = std::str::from_utf8(body).map_err(|_| Refusal::Malformed("not UTF-8".into()))?;
    let mut r = reader(doc);
    let mut a = Answered {
        content_id: String::new(),
        cpix_version: None,
        keys: Vec::new(),
        systems: Vec::new(),
        uri_ext_x_key: None,
        key_format: None,
        key_format_versions: None,
        media: Vec::new(),
        master: Vec::new(),
        drm_only: Vec::new(),
    };
    // The open element, and the playlist of an open HLSSignalingData.
    let mut open: Vec<&'static str> = Vec::new();
    let mut playlist = String::new();
    let decode = |t: &str| -> Result<String, Refusal> {
        let bytes = STANDARD
            .decode(t.trim())
            .map_err(|_| Refusal::Malformed("a value that is not base64".into()))?;
        String::from_utf8(bytes).map_err(|_| Refusal::Malformed("a value that is not UTF-8".into()))
    };
    loop {
        let (ns, event) = r.read_resolved_event().map_err(super::request::malformed)?;
        refuse_unsafe(&event)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let local = element(&ns, e).map_or("", |(ns, l)| known(ns, &l));
                let get = |n: &str| super::request::attr(e, n);
                match local {
                    "CPIX" => {
                        let id = match version {
                            Version::V1 => "id",
                            Version::V2 => "contentId",
                        };
                        a.content_id = get(id)?.unwrap_or_default();
                        a.cpix_version = get("version")?;
                    }
                    "ContentKey" => a.keys.push((get("kid")?.unwrap_or_default(), Vec::new())),
                    "DRMSystem" => a.systems.push((
                        get("kid")?.unwrap_or_default(),
                        get("systemId")?.unwrap_or_default(),
                    )),
                    "HLSSignalingData" => playlist = get("playlist")?.unwrap_or_default(),
                    "PSSH"
                    | "ContentProtectionData"
                    | "ProtectionHeader"
                    | "SmoothStreamingProtectionHeaderData" => a.drm_only.push(local.to_string()),
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    open.push(local);
                }
            }
            Event::Text(t) => {
                let text = t
                    .decode()
                    .map_err(|_| Refusal::Malformed("not UTF-8".into()))?
                    .into_owned();
                if text.trim().is_empty() {
                    continue;
                }
                match open.last().copied() {
                    Some("PlainValue") => {
                        let key = STANDARD
                            .decode(text.trim())
                            .map_err(|_| Refusal::Malformed("a key that is not base64".into()))?;
                        if let Some(last) = a.keys.last_mut() {
                            last.1 = key;
                        }
                    }
                    Some("URIExtXKey") => a.uri_ext_x_key = Some(decode(&text)?),
                    Some("KeyFormat") => a.key_format = Some(decode(&text)?),
                    Some("KeyFormatVersions") => a.key_format_versions = Some(decode(&text)?),
                    Some("HLSSignalingData") => match playlist.as_str() {
                        "master" => a.master.push(decode(&text)?),
                        _ => a.media.push(decode(&text)?),
                    },
                    _ => {}
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(a)
}
