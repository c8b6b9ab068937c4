//! Real playlists: the 20 in `fixtures/hls/corpus/`, and all of
//! `../shared/hls-corpus/` when it sits beside the repository.
//!
//! For each: the output is the input plus parameter sets and nothing else;
//! every URI that should carry the parameters does (found by a regex, not by
//! our scanner) and no other does; m3u8-rs reads the same structure from both;
//! a second rewrite changes nothing. Playlists that do not start with
//! `#EXTM3U` must be refused instead.

use std::path::{Path, PathBuf};

use hlsgate_core::hls::RewriteError;
use m3u8_rs::{ExtTag, Playlist, QuotedOrUnquoted, SessionDataField};
use regex::Regex;
use url::Url;

use super::{CHILD, MEDIA, insertions, rewriter};
use crate::common::fixtures;

/// Most corpus URLs live on example.com: plain http on it is "ours", https
/// and other hosts are not, so both paths get exercised.
const CORPUS_BASE: &str = "http://example.com/hls/master.m3u8";

fn playlists(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "m3u8") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

#[test]
fn committed_corpus_round_trips() {
    let files = playlists(&fixtures().join("hls/corpus"));
    assert_eq!(
        files.len(),
        20,
        "fixtures/hls/corpus should hold 20 playlists"
    );
    let tally = check_all(&files);
    // Two of them put something before #EXTM3U.
    assert_eq!(tally.refused, 2);
    // m3u8-rs reads most of them, so the structure check is not vacuous.
    assert!(
        tally.compared >= 14,
        "m3u8-rs compared only {}",
        tally.compared
    );
}

#[test]
fn shared_corpus_round_trips() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/hls-corpus");
    if !dir.is_dir() {
        eprintln!(
            "skipping: {} is absent (the committed 20 still run)",
            dir.display()
        );
        return;
    }
    let files = playlists(&dir);
    assert!(
        files.len() >= 90,
        "expected the 90-playlist corpus, found {}",
        files.len()
    );
    let tally = check_all(&files);
    eprintln!(
        "{} playlists: {} refused (no #EXTM3U first), {} also compared through m3u8-rs",
        files.len(),
        tally.refused,
        tally.compared
    );
}

#[derive(Debug, Default)]
struct Tally {
    /// Rightly refused: something before #EXTM3U.
    refused: usize,
    /// Also compared through m3u8-rs (it reads the input).
    compared: usize,
}

enum Outcome {
    Refused,
    Checked { compared: bool },
}

/// Checks every file, failing with all the problems found.
fn check_all(files: &[PathBuf]) -> Tally {
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for path in files {
        match check(path) {
            Ok(Outcome::Refused) => tally.refused += 1,
            Ok(Outcome::Checked { compared }) => tally.compared += usize::from(compared),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    tally
}

fn check(path: &Path) -> Result<Outcome, String> {
    let input = std::fs::read(path).map_err(|e| e.to_string())?;
    let rw = rewriter(CORPUS_BASE);
    let first_line = input.split(|&b| b == b'\n').next().unwrap_or_default();
    let has_header = first_line.strip_suffix(b"\r").unwrap_or(first_line) == b"#EXTM3U";
    let (out, report) = match (rw.rewrite(&input), has_header) {
        (Ok(done), true) => done,
        (Err(RewriteError::NoHeader { .. }), false) => return Ok(Outcome::Refused),
        (Ok(_), false) => return Err("accepted without #EXTM3U first".into()),
        (Err(e), _) => return Err(e.to_string()),
    };

    let n = insertions(&input, &out, &[MEDIA, CHILD])?;
    if n != report.rewritten {
        return Err(format!("{n} insertions, report says {}", report.rewritten));
    }

    let mut found = 0;
    for uri in uris(&out) {
        found += 1;
        let carries = [MEDIA, CHILD]
            .iter()
            .any(|set| uri.contains(&format!("?{set}")) || uri.contains(&format!("&{set}")));
        let should = should_sign(&uri);
        if carries != should {
            return Err(format!("{uri:?}: signed {carries}, expected {should}"));
        }
    }
    if found != report.rewritten + report.skipped {
        return Err(format!(
            "regex found {found} URIs, scanner {} signed + {} skipped",
            report.rewritten, report.skipped
        ));
    }

    let (again, _) = rw.rewrite(&out).map_err(|e| e.to_string())?;
    if again != out {
        return Err("a second rewrite changed the output".into());
    }

    let compared = same_structure(&input, &out)?;
    Ok(Outcome::Checked { compared })
}

/// The independent oracle: which URIs must carry our parameters.
fn should_sign(uri: &str) -> bool {
    if uri.is_empty() || uri.contains("{$") {
        return false;
    }
    let base = Url::parse(CORPUS_BASE).unwrap();
    match base.join(uri) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.origin() == base.origin(),
        Err(_) => false,
    }
}

/// Every URI in a playlist, found with regexes over lines: URI lines, and
/// the quoted URI attributes of the tags that have them.
fn uris(playlist: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(playlist);
    let attr = Regex::new(r#"^#(EXT-X-[A-Z-]+):(.*)$"#).unwrap();
    let value = Regex::new(r#"(?:^|,)\s*([A-Z0-9-]+)="([^"]*)""#).unwrap();
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(c) = attr.captures(line) {
            let names: &[&str] = match &c[1] {
                "EXT-X-KEY"
                | "EXT-X-SESSION-KEY"
                | "EXT-X-MAP"
                | "EXT-X-MEDIA"
                | "EXT-X-I-FRAME-STREAM-INF"
                | "EXT-X-IMAGE-STREAM-INF"
                | "EXT-X-SESSION-DATA"
                | "EXT-X-PART"
                | "EXT-X-PRELOAD-HINT"
                | "EXT-X-RENDITION-REPORT" => &["URI"],
                "EXT-X-CONTENT-STEERING" => &["SERVER-URI"],
                "EXT-X-DATERANGE" => &["X-ASSET-URI", "X-ASSET-LIST"],
                _ => &[],
            };
            // Walk quoted values left to right so a value's inside is never
            // read as a name.
            let list = &c[2];
            let mut at = 0;
            while let Some(m) = value.captures_at(list, at) {
                let whole = m.get(0).unwrap();
                if names.contains(&&m[1]) {
                    out.push(m[2].to_string());
                }
                at = whole.end();
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            out.push(line.trim().to_string());
        }
    }
    out
}

/// m3u8-rs reads the same playlist from input and output, once our
/// parameters are taken out of the strings it read. `Ok(false)` when
/// m3u8-rs cannot read the input at all.
fn same_structure(input: &[u8], output: &[u8]) -> Result<bool, String> {
    let Ok(before) = m3u8_rs::parse_playlist_res(input) else {
        return Ok(false);
    };
    let mut after = m3u8_rs::parse_playlist_res(output)
        .map_err(|e| format!("m3u8-rs reads the input but not the output: {e:?}"))?;
    unsign_playlist(&mut after);
    if before != after {
        return Err(format!(
            "m3u8-rs reads another structure:\n{before:?}\nvs\n{after:?}"
        ));
    }
    Ok(true)
}

fn unsign(s: &mut String) {
    for set in [CHILD, MEDIA] {
        for sep in ['?', '&'] {
            *s = s.replace(&format!("{sep}{set}"), "");
        }
    }
}

fn unsign_opt(s: &mut Option<String>) {
    if let Some(s) = s {
        unsign(s);
    }
}

fn unsign_attrs<'a>(values: impl Iterator<Item = &'a mut QuotedOrUnquoted>) {
    for v in values {
        match v {
            QuotedOrUnquoted::Quoted(s) | QuotedOrUnquoted::Unquoted(s) => unsign(s),
        }
    }
}

fn unsign_tags(tags: &mut [ExtTag]) {
    for t in tags {
        unsign_opt(&mut t.rest);
    }
}

/// Strips our parameters from every string of a parsed playlist that can
/// hold a URI.
fn unsign_playlist(p: &mut Playlist) {
    match p {
        Playlist::MasterPlaylist(m) => {
            for v in &mut m.variants {
                unsign(&mut v.uri);
                unsign_attrs(v.other_attributes.iter_mut().flat_map(|a| a.values_mut()));
            }
            for a in &mut m.alternatives {
                unsign_opt(&mut a.uri);
                unsign_attrs(a.other_attributes.iter_mut().flat_map(|a| a.values_mut()));
            }
            for d in &mut m.session_data {
                if let SessionDataField::Uri(u) = &mut d.field {
                    unsign(u);
                }
                unsign_attrs(d.other_attributes.iter_mut().flat_map(|a| a.values_mut()));
            }
            for k in &mut m.session_key {
                unsign_opt(&mut k.0.uri);
            }
            unsign_tags(&mut m.unknown_tags);
        }
        Playlist::MediaPlaylist(m) => {
            for seg in &mut m.segments {
                unsign(&mut seg.uri);
                if let Some(k) = &mut seg.key {
                    unsign_opt(&mut k.uri);
                }
                if let Some(map) = &mut seg.map {
                    unsign(&mut map.uri);
                    unsign_attrs(map.other_attributes.values_mut());
                }
                if let Some(d) = &mut seg.daterange {
                    unsign_attrs(d.x_prefixed.iter_mut().flat_map(|a| a.values_mut()));
                    unsign_attrs(d.other_attributes.iter_mut().flat_map(|a| a.values_mut()));
                }
                unsign_tags(&mut seg.unknown_tags);
            }
            unsign_tags(&mut m.unknown_tags);
        }
    }
}
