//! Reading a CPIX request: one namespace-aware pass that keeps what the
//! checks need, then the checks, in the order the refusals are documented.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use super::*;
use crate::video::VideoId;

/// A checked request for one video's AES-128 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub version: Version,
    /// `CPIX@contentId` (v2) or `CPIX@id` (v1): `MediaConvert`'s `ResourceId`.
    pub content_id: VideoId,
    /// The one key asked for.
    pub key: RequestedKey,
    /// The AES-128 system id the request named.
    pub system_id: String,
    /// The document, kept to be answered in place.
    pub(super) document: String,
}

/// A `ContentKey` of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedKey {
    /// Lower-cased.
    pub kid: String,
    /// `commonEncryptionScheme` (v2).
    pub scheme: Option<String>,
}

/// What one pass over the document found.
#[derive(Debug, Default)]
struct Scan {
    root: bool,
    id: Option<String>,
    content_id: Option<String>,
    cpix_version: Option<String>,
    key_list: bool,
    keys: Vec<(Option<String>, Option<String>)>,
    system_list: bool,
    /// kid, systemId, and the signalling elements asked for.
    systems: Vec<(Option<String>, Option<String>, Vec<&'static str>)>,
    rule_list: bool,
    /// kid, intendedTrackType, and whether a video or audio filter is there.
    rules: Vec<(Option<String>, Option<String>, bool)>,
}

/// The `commonEncryptionScheme` values CPIX 2.3 defines.
const SCHEMES: [&str; 4] = ["cenc", "cbc1", "cens", "cbcs"];

/// The `intendedTrackType` values of SPEKE v2's encryption contract.
const TRACK_TYPES: [&str; 15] = [
    "ALL",
    "VIDEO",
    "SD",
    "HD",
    "UHD",
    "SD+HD1",
    "HD1",
    "HD2",
    "UHD1",
    "UHD2",
    "AUDIO",
    "STEREO_AUDIO",
    "MULTICHANNEL_AUDIO",
    "MULTICHANNEL_AUDIO_3_6",
    "MULTICHANNEL_AUDIO_7",
];

impl Request {
    /// Reads and checks `body`, sent with `version`'s header.
    pub fn parse(body: &[u8], version: Version) -> Result<Request, Refusal> {
        if body.len() > MAX_CPIX_BYTES {
            return Err(Refusal::Malformed(format!(
                "{} bytes, over the limit of {MAX_CPIX_BYTES}",
                body.len()
            )));
        }
        let document =
            std::str::from_utf8(body).map_err(|_| Refusal::Malformed("not UTF-8".into()))?;
        // The reader skips a byte order mark and counts positions after it;
        // the answer is cut at those positions, so the mark goes (the
        // answer is UTF-8 without one).
        let document = document.strip_prefix('\u{feff}').unwrap_or(document);
        if document.starts_with('\u{feff}') {
            return Err(Refusal::Malformed("a second byte order mark".into()));
        }
        let document = document.to_string();
        let scan = scan(&document)?;
        check(scan, version, document)
    }
}

/// A parser error, in words that never repeat the document (quick-xml's own
/// messages quote names and text from it).
pub(super) fn malformed(e: quick_xml::Error) -> Refusal {
    use quick_xml::Error;
    Refusal::Malformed(
        match e {
            Error::Syntax(_) | Error::IllFormed(_) => "not well-formed XML",
            Error::InvalidAttr(_) => "a malformed attribute",
            Error::Encoding(_) => "not UTF-8",
            Error::Escape(_) => "an undeclared entity or a bad character reference",
            Error::Namespace(_) => "a bad namespace declaration",
            _ => "unreadable XML",
        }
        .to_string(),
    )
}

fn malformed_attr(_: quick_xml::events::attributes::AttrError) -> Refusal {
    Refusal::Malformed("a malformed attribute".into())
}

/// The element's name when it is in one of the namespaces read.
pub(super) fn element(
    ns: &ResolveResult<'_>,
    e: &BytesStart<'_>,
) -> Option<(&'static str, String)> {
    let ns = match ns {
        ResolveResult::Bound(Namespace(n)) => match *n {
            n if n == NS_CPIX.as_bytes() => NS_CPIX,
            n if n == NS_PSKC.as_bytes() => NS_PSKC,
            n if n == NS_SPEKE.as_bytes() => NS_SPEKE,
            _ => return None,
        },
        _ => return None,
    };
    let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    Some((ns, local))
}

/// An unprefixed attribute's value (CPIX's attributes are in no namespace).
pub(super) fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, Refusal> {
    for a in e.attributes() {
        let a = a.map_err(malformed_attr)?;
        if a.key.as_ref() == name.as_bytes() {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|_| {
                    Refusal::Malformed("an undeclared entity or a bad character reference".into())
                })?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// The reader, configured the same for the scan and the answer.
pub(super) fn reader(document: &str) -> NsReader<&[u8]> {
    let mut r = NsReader::from_reader(document.as_bytes());
    let config = r.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    r
}

/// One event, refusing what a CPIX document never needs: a DTD (so no
/// entity is ever declared, let alone expanded), and any entity reference
/// other than XML's five and character references.
pub(super) fn refuse_unsafe(event: &Event<'_>) -> Result<(), Refusal> {
    match event {
        Event::DocType(_) => Err(Refusal::Malformed("a DTD is not accepted".into())),
        Event::GeneralRef(r) => {
            let is_char = r.is_char_ref();
            let name = r.as_ref();
            let predefined = matches!(name, b"lt" | b"gt" | b"amp" | b"apos" | b"quot");
            if is_char || predefined {
                Ok(())
            } else {
                Err(Refusal::Malformed("an undeclared entity".into()))
            }
        }
        _ => Ok(()),
    }
}

fn scan(document: &str) -> Result<Scan, Refusal> {
    let mut r = reader(document);
    let mut s = Scan::default();
    // The CPIX names of the open elements (None: another namespace).
    let mut path: Vec<Option<(&'static str, String)>> = Vec::new();
    loop {
        let (ns, event) = r.read_resolved_event().map_err(malformed)?;
        refuse_unsafe(&event)?;
        let (e, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                path.pop();
                continue;
            }
            Event::Eof if path.is_empty() => break,
            Event::Eof => {
                return Err(Refusal::Malformed(
                    "the document ends inside an element".into(),
                ));
            }
            _ => continue,
        };
        if path.len() >= MAX_DEPTH {
            return Err(Refusal::Malformed(format!(
                "nested deeper than {MAX_DEPTH}"
            )));
        }
        // Every element's attributes well-formed, not only the ones read:
        // the answer keeps them all.
        for a in e.attributes() {
            a.map_err(malformed_attr)?;
        }
        let name = element(&ns, e);
        let parent = path.last().cloned().flatten();
        let parent = parent.as_ref().map(|(ns, l)| (*ns, l.as_str()));
        // What the answer fills, and what an encryptor reads, only where
        // CPIX puts it: elsewhere the two would disagree.
        if let Some((ns, local)) = &name
            && let Some(what) = misplaced(ns, local, &path)
        {
            return Err(Refusal::Malformed(format!("{what} out of place")));
        }
        match (path.len(), name.as_ref().map(|(ns, l)| (*ns, l.as_str()))) {
            (0, _) if s.root => {
                return Err(Refusal::Malformed("a second root element".into()));
            }
            (0, Some((NS_CPIX, "CPIX"))) => {
                s.root = true;
                s.id = attr(e, "id")?;
                s.content_id = attr(e, "contentId")?;
                s.cpix_version = attr(e, "version")?;
            }
            (0, _) => return Err(Refusal::Malformed("the root is not cpix:CPIX".into())),
            (1, Some((NS_CPIX, "ContentKeyList"))) => s.key_list = true,
            (1, Some((NS_CPIX, "DRMSystemList"))) => s.system_list = true,
            (1, Some((NS_CPIX, "ContentKeyUsageRuleList"))) => s.rule_list = true,
            (2, Some((NS_CPIX, "ContentKey"))) if parent == Some((NS_CPIX, "ContentKeyList")) => {
                s.keys
                    .push((attr(e, "kid")?, attr(e, "commonEncryptionScheme")?));
            }
            (2, Some((NS_CPIX, "DRMSystem"))) if parent == Some((NS_CPIX, "DRMSystemList")) => {
                s.systems
                    .push((attr(e, "kid")?, attr(e, "systemId")?, Vec::new()));
            }
            (2, Some((NS_CPIX, "ContentKeyUsageRule")))
                if parent == Some((NS_CPIX, "ContentKeyUsageRuleList")) =>
            {
                s.rules
                    .push((attr(e, "kid")?, attr(e, "intendedTrackType")?, false));
            }
            (3, Some((ns, local))) if parent == Some((NS_CPIX, "DRMSystem")) => {
                if let Some(system) = s.systems.last_mut()
                    && let Some(known) = signalling(ns, local)
                {
                    system.2.push(known);
                }
            }
            (3, Some((NS_CPIX, "VideoFilter" | "AudioFilter")))
                if parent == Some((NS_CPIX, "ContentKeyUsageRule")) =>
            {
                if let Some(rule) = s.rules.last_mut() {
                    rule.2 = true;
                }
            }
            _ => {}
        }
        if !empty {
            path.push(name);
        }
    }
    if !s.root {
        return Err(Refusal::Malformed("no cpix:CPIX element".into()));
    }
    Ok(s)
}

/// The CPIX elements with one place in a document.
const STRUCTURE: [&str; 7] = [
    "CPIX",
    "ContentKeyList",
    "DRMSystemList",
    "ContentKeyUsageRuleList",
    "ContentKey",
    "DRMSystem",
    "ContentKeyUsageRule",
];

/// An element out of the place CPIX gives it, named in fixed words: a
/// structural element anywhere but its own, a PSKC element outside a
/// `ContentKey` (whose content the answer replaces), a signalling element
/// neither there nor in a `DRMSystem`.
fn misplaced(
    ns: &str,
    local: &str,
    path: &[Option<(&'static str, String)>],
) -> Option<&'static str> {
    let depth = path.len();
    let under = |p: &str| depth > 0 && is(path, depth - 1, p);
    let structural = STRUCTURE.iter().find(|n| ns == NS_CPIX && **n == local);
    if let Some(name) = structural {
        let placed = match *name {
            "CPIX" => depth == 0,
            "ContentKey" => depth == 2 && under("ContentKeyList"),
            "DRMSystem" => depth == 2 && under("DRMSystemList"),
            "ContentKeyUsageRule" => depth == 2 && under("ContentKeyUsageRuleList"),
            _ => depth == 1,
        };
        return (!placed).then_some(name);
    }
    // Inside a ContentKey everything is replaced by the key.
    if depth >= 3 && is(path, 2, "ContentKey") {
        return None;
    }
    if ns == NS_PSKC {
        return Some("a PSKC element");
    }
    let signal = signalling(ns, local)?;
    (!(depth == 3 && under("DRMSystem"))).then_some(signal)
}

/// Whether the open element at `depth` is CPIX's `local`.
pub(super) fn is(path: &[Option<(&'static str, String)>], depth: usize, local: &str) -> bool {
    matches!(path.get(depth), Some(Some((NS_CPIX, l))) if l == local)
}

/// The `DRMSystem` children an answer fills or refuses, by name.
pub(super) fn signalling(ns: &str, local: &str) -> Option<&'static str> {
    Some(match (ns, local) {
        (NS_CPIX, "URIExtXKey") => "URIExtXKey",
        (NS_CPIX, "HLSSignalingData") => "HLSSignalingData",
        (NS_CPIX, "PSSH") => "PSSH",
        (NS_CPIX, "ContentProtectionData") => "ContentProtectionData",
        (NS_CPIX, "SmoothStreamingProtectionHeaderData") => "SmoothStreamingProtectionHeaderData",
        (NS_SPEKE, "KeyFormat") => "KeyFormat",
        (NS_SPEKE, "KeyFormatVersions") => "KeyFormatVersions",
        (NS_SPEKE, "ProtectionHeader") => "ProtectionHeader",
        _ => return None,
    })
}

fn check(s: Scan, version: Version, document: String) -> Result<Request, Refusal> {
    // The document's own identity and version.
    let (id_name, content_id) = match version {
        Version::V1 => ("id", s.id),
        Version::V2 => ("contentId", s.content_id),
    };
    if version == Version::V2 {
        match s.cpix_version.as_deref() {
            None => return Err(Refusal::MissingVersion),
            Some(v) if v.trim() != CPIX_VERSION => return Err(Refusal::UnsupportedCpixVersion),
            Some(_) => {}
        }
    }
    let content_id = content_id
        .filter(|c| !c.is_empty())
        .ok_or(Refusal::MissingContentId(id_name))?;
    let content_id = VideoId::parse(&content_id).map_err(|_| Refusal::NotAVideoId(id_name))?;

    // The mandatory lists and elements.
    let v2 = version == Version::V2;
    for (present, name) in [
        (s.key_list, "ContentKeyList"),
        (!s.keys.is_empty(), "ContentKey"),
        (s.system_list, "DRMSystemList"),
        (!s.systems.is_empty(), "DRMSystem"),
        (!v2 || s.rule_list, "ContentKeyUsageRuleList"),
        (!v2 || !s.rules.is_empty(), "ContentKeyUsageRule"),
    ] {
        if !present {
            return Err(Refusal::MissingElement(name));
        }
    }

    // The keys: each with a UUID, and in v2 one scheme for all.
    let mut keys = Vec::with_capacity(s.keys.len());
    for (kid, scheme) in s.keys {
        let kid = kid.ok_or(Refusal::MissingAttribute("ContentKey", "kid"))?;
        let kid = uuid(&kid).ok_or(Refusal::InvalidKid("ContentKey"))?;
        if v2 {
            let Some(scheme) = &scheme else {
                return Err(Refusal::MissingScheme(kid));
            };
            if !SCHEMES.contains(&scheme.as_str()) {
                return Err(Refusal::UnsupportedScheme);
            }
        }
        keys.push(RequestedKey { kid, scheme });
    }
    if v2 && keys.windows(2).any(|w| w[0].scheme != w[1].scheme) {
        return Err(Refusal::MixedSchemes);
    }
    let known = |kid: &str| keys.iter().any(|k| k.kid == kid);

    // The usage rules (v2's encryption contract).
    let mut types = Vec::with_capacity(s.rules.len());
    for (kid, track, filtered) in s.rules {
        let kid = kid.ok_or(Refusal::MissingAttribute("ContentKeyUsageRule", "kid"))?;
        let kid = uuid(&kid).ok_or(Refusal::InvalidKid("ContentKeyUsageRule"))?;
        if !known(&kid) {
            return Err(Refusal::UnknownKid("ContentKeyUsageRule", kid));
        }
        if v2 {
            let track = track.ok_or(Refusal::MissingAttribute(
                "ContentKeyUsageRule",
                "intendedTrackType",
            ))?;
            if !TRACK_TYPES.contains(&track.as_str()) {
                return Err(Refusal::UnsupportedTrackType);
            }
            if !filtered {
                return Err(Refusal::MissingFilter(kid));
            }
            types.push(track);
        }
    }
    if types.iter().any(|t| t == "ALL") && types.len() > 1 {
        return Err(Refusal::TrackTypeCombination);
    }

    // The systems: each names a key asked for and a system served here.
    let mut system_id = None;
    for (kid, system, asked) in s.systems {
        let kid = kid.ok_or(Refusal::MissingAttribute("DRMSystem", "kid"))?;
        let kid = uuid(&kid).ok_or(Refusal::InvalidKid("DRMSystem"))?;
        let system = system.ok_or(Refusal::MissingAttribute("DRMSystem", "systemId"))?;
        if !known(&kid) {
            return Err(Refusal::UnknownKid("DRMSystem", kid));
        }
        if uuid(&system).is_none() {
            return Err(Refusal::InvalidSystemId);
        }
        if !serves(&system) {
            return Err(Refusal::UnsupportedSystem(system));
        }
        if v2 {
            // v2: every element asked for gets a value, or the encryptor
            // stops; AES-128 has none of these to give.
            for refused in [
                "PSSH",
                "ContentProtectionData",
                "SmoothStreamingProtectionHeaderData",
            ] {
                if asked.contains(&refused) {
                    return Err(Refusal::UnsupportedSignalling(refused));
                }
            }
        }
        system_id.get_or_insert(system.to_ascii_lowercase());
    }
    let system_id = system_id.ok_or(Refusal::MissingElement("DRMSystem"))?;

    // One folder, one key.
    if keys.len() != 1 {
        return Err(Refusal::UnsupportedPreset(keys.len()));
    }
    let key = keys.remove(0);
    Ok(Request {
        version,
        content_id,
        key,
        system_id,
        document,
    })
}
