//! Answering a request: its own document, byte for byte, with the key and
//! the HLS signalling written in. Nothing is re-serialised, so every element
//! and attribute the encryptor sent (filters, periods, namespaces it
//! declared) comes back as it was.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;

use super::request::{attr, element, is, malformed, reader, refuse_unsafe, signalling};
use super::*;
use crate::video::KEY_BYTES;

/// What happens to an element's bytes.
enum Edit {
    /// Its content becomes this (markup we wrote, or base64 text).
    Fill(String),
    /// Left out entirely.
    Drop,
}

impl Request {
    /// The answer: the request's document with the content key `key` in its
    /// `ContentKey` and, in its AES-128 `DRMSystem`, the signalling that
    /// makes the encryptor write `EXT-X-KEY` (and the master's
    /// `EXT-X-SESSION-KEY`) with `URI="key_uri"`, `KEYFORMAT="identity"`.
    ///
    /// v1: `URIExtXKey`, `speke:KeyFormat` and `speke:KeyFormatVersions`
    /// are filled (base64, as SPEKE v1 has them; `URIExtXKey` is added when
    /// the request has none), and what AES-128 has no value for (`PSSH`,
    /// `ContentProtectionData`, `speke:ProtectionHeader`) is left out.
    /// v2: `HLSSignalingData` for `media` and `master` (base64 of the whole
    /// tag), each added when the request has none.
    pub fn answer(&self, key: &[u8; KEY_BYTES], key_uri: &str) -> Result<String, Refusal> {
        let doc = self.document.as_str();
        let mut r = reader(doc);
        let mut out = String::with_capacity(doc.len() + 512);
        let mut copied = 0usize;
        let mut path: Vec<Option<(&'static str, String)>> = Vec::new();
        // While inside an edited element: its depth, and whether its end tag
        // goes too.
        let mut dropping: Option<(usize, bool)> = None;
        // The open DRMSystem's signalling seen so far.
        let mut seen: Vec<&'static str> = Vec::new();
        loop {
            let start = position(&r);
            let (name, event) = {
                let (ns, event) = r.read_resolved_event().map_err(malformed)?;
                let name = match &event {
                    Event::Start(e) | Event::Empty(e) => element(&ns, e),
                    _ => None,
                };
                (name, event)
            };
            let end = position(&r);
            refuse_unsafe(&event)?;
            let (e, empty) = match &event {
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(end_tag) => {
                    let depth = path.len();
                    if let Some((d, with_end)) = dropping
                        && d == depth
                    {
                        dropping = None;
                        copied = if with_end { end } else { start };
                    } else if dropping.is_none() && depth == 3 && is(&path, 2, "DRMSystem") {
                        // Before </DRMSystem>: what the request did not ask for.
                        out.push_str(&doc[copied..start]);
                        let prefix = prefix_of(end_tag.name().as_ref());
                        out.push_str(&self.missing(&seen, prefix.as_deref(), key_uri));
                        copied = start;
                    }
                    path.pop();
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            if dropping.is_some() {
                if !empty {
                    path.push(name);
                }
                continue;
            }
            let depth = path.len();
            let edit = match name.as_ref().map(|(ns, l)| (*ns, l.as_str())) {
                Some((NS_CPIX, "ContentKey")) if depth == 2 && is(&path, 1, "ContentKeyList") => {
                    Some(Edit::Fill(key_data(
                        prefix_of(e.name().as_ref()).as_deref(),
                        prefix_for(&r, NS_PSKC).as_deref(),
                        key,
                    )))
                }
                Some((NS_CPIX, "DRMSystem")) if depth == 2 => {
                    seen.clear();
                    // <DRMSystem/>: opened, filled, closed; an open one is
                    // filled at its end tag.
                    empty.then(|| {
                        let prefix = prefix_of(e.name().as_ref());
                        Edit::Fill(self.missing(&[], prefix.as_deref(), key_uri))
                    })
                }
                Some((ns, local)) if depth == 3 && is(&path, 2, "DRMSystem") => {
                    match signalling(ns, local) {
                        Some(s) => {
                            let (edit, what) = self.edit(s, e, key_uri)?;
                            seen.push(what);
                            Some(edit)
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            if let Some(edit) = edit {
                out.push_str(&doc[copied..start]);
                copied = end;
                match edit {
                    // An open element's content and end tag go too.
                    Edit::Drop if !empty => dropping = Some((depth + 1, true)),
                    Edit::Drop => {}
                    Edit::Fill(content) => {
                        out.push_str(&open_tag(&doc[start..end]));
                        out.push_str(&content);
                        if empty {
                            let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                            out.push_str(&format!("</{qname}>"));
                        } else {
                            // Its old content goes; its end tag stays.
                            dropping = Some((depth + 1, false));
                        }
                    }
                }
            }
            if !empty {
                path.push(name);
            }
        }
        out.push_str(&doc[copied..]);
        Ok(out)
    }

    /// What a signalling element of the AES-128 system becomes.
    fn edit(
        &self,
        name: &'static str,
        e: &BytesStart<'_>,
        key_uri: &str,
    ) -> Result<(Edit, &'static str), Refusal> {
        Ok(match name {
            "URIExtXKey" => (Edit::Fill(b64(key_uri)), name),
            "KeyFormat" => (Edit::Fill(b64(KEY_FORMAT)), name),
            "KeyFormatVersions" => (Edit::Fill(b64(KEY_FORMAT_VERSIONS)), name),
            "HLSSignalingData" => match attr(e, "playlist")?.as_deref() {
                Some("master") => (Edit::Fill(b64(&master_key_line(key_uri))), "master"),
                _ => (Edit::Fill(b64(&media_key_line(key_uri))), "media"),
            },
            // v2 refused these at parse; v1's encryptor asks for every
            // element whatever the system, and AES-128 has no value for them.
            _ => (Edit::Drop, name),
        })
    }

    /// The signalling an AES-128 `DRMSystem` must carry and the request did
    /// not ask for, in the system's own prefix (`None`: CPIX declared on the
    /// element itself).
    fn missing(&self, seen: &[&'static str], prefix: Option<&str>, key_uri: &str) -> String {
        let mut out = String::new();
        match self.version {
            Version::V1 => {
                if !seen.contains(&"URIExtXKey") {
                    out.push_str(&cpix_element(prefix, "URIExtXKey", "", &b64(key_uri)));
                }
            }
            Version::V2 => {
                // Both playlists, as SPEKE v2 requires.
                for (playlist, line) in [
                    ("media", media_key_line(key_uri)),
                    ("master", master_key_line(key_uri)),
                ] {
                    if !seen.contains(&playlist) {
                        let attr = format!(" playlist=\"{playlist}\"");
                        out.push_str(&cpix_element(
                            prefix,
                            "HLSSignalingData",
                            &attr,
                            &b64(&line),
                        ));
                    }
                }
            }
        }
        out
    }
}

fn position(r: &quick_xml::NsReader<&[u8]>) -> usize {
    usize::try_from(r.buffer_position()).unwrap_or(usize::MAX)
}

/// A signalling value as CPIX carries it: base64 of the text.
fn b64(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// `cpix` of `cpix:DRMSystem`, `""` when unprefixed, `None` when the prefix
/// is not one we would write.
fn prefix_of(qname: &[u8]) -> Option<String> {
    match qname.iter().position(|b| *b == b':') {
        Some(i) => xml_name(&qname[..i]).then(|| String::from_utf8_lossy(&qname[..i]).into_owned()),
        None => Some(String::new()),
    }
}

/// A CPIX element with `text` (no markup in it), in `prefix`.
fn cpix_element(prefix: Option<&str>, name: &str, attrs: &str, text: &str) -> String {
    match prefix {
        Some("") => format!("<{name}{attrs}>{text}</{name}>"),
        Some(p) => format!("<{p}:{name}{attrs}>{text}</{p}:{name}>"),
        None => format!("<{name} xmlns=\"{NS_CPIX}\"{attrs}>{text}</{name}>"),
    }
}

/// An element's start tag as an opening one: `<a x="1"/>` becomes `<a x="1">`.
fn open_tag(raw: &str) -> String {
    match raw.strip_suffix("/>") {
        Some(head) => format!("{}>", head.trim_end()),
        None => raw.to_string(),
    }
}

/// A prefix bound to `ns` where the reader is now (the innermost binding of
/// each prefix counts), and spelled as an XML name, if there is one.
fn prefix_for(r: &quick_xml::NsReader<&[u8]>, ns: &str) -> Option<String> {
    let bindings: Vec<_> = r.resolver().bindings().collect();
    let mut seen: Vec<&[u8]> = Vec::new();
    for (prefix, bound) in bindings.iter().rev() {
        let PrefixDeclaration::Named(p) = prefix else {
            continue;
        };
        if seen.contains(p) {
            continue;
        }
        seen.push(p);
        if bound.as_ref() == ns.as_bytes() && xml_name(p) {
            return Some(String::from_utf8_lossy(p).into_owned());
        }
    }
    None
}

/// A prefix we may write: ASCII letters, digits, `_`, `-` and `.`, not
/// starting with a digit, `-` or `.` (a subset of XML's NCName).
fn xml_name(p: &[u8]) -> bool {
    p.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && p.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(c))
}

/// `<cpix:Data><pskc:Secret><pskc:PlainValue>…` for `key`, in the
/// prefixes in scope at the `ContentKey` (the suite and some encryptors read
/// prefixed names), else each namespace declared where it is used.
fn key_data(cpix: Option<&str>, pskc: Option<&str>, key: &[u8; KEY_BYTES]) -> String {
    let value = STANDARD.encode(key);
    let secret = match pskc {
        Some(p) => format!("<{p}:Secret><{p}:PlainValue>{value}</{p}:PlainValue></{p}:Secret>"),
        None => format!("<Secret xmlns=\"{NS_PSKC}\"><PlainValue>{value}</PlainValue></Secret>"),
    };
    match cpix {
        Some("") => format!("<Data>{secret}</Data>"),
        Some(c) => format!("<{c}:Data>{secret}</{c}:Data>"),
        None => format!("<Data xmlns=\"{NS_CPIX}\">{secret}</Data>"),
    }
}
