//! Where a URI goes, asked of a second WHATWG implementation: Node's `URL`
//! (Ada), the parser in the players' own runtime. Every URI of
//! `fixtures/hls/golden/origin-spellings.m3u8` must be signed in the golden
//! output exactly when Node resolves it, against [`BASE`], to `BASE`'s origin.
//! Nothing here uses the rewriter: the URIs are read from the file by lines
//! and `URI="…"` attributes, the verdicts from the golden report.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use super::BASE;
use crate::common::fixtures;

/// URI lines and quoted `URI` attribute values, as written.
fn uris(playlist: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in playlist.split('\n') {
        if !line.starts_with('#') {
            if !line.trim_ascii().is_empty() {
                out.push(line.trim_ascii().to_string());
            }
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("URI=\"") {
            let value = &rest[at + 5..];
            let end = value.find('"').expect("a closed quote");
            out.push(value[..end].to_string());
            rest = &value[end..];
        }
    }
    out
}

/// For each URI, whether Node's `new URL(uri, base)` has `base`'s origin.
/// `None` when Node is not installed.
fn node_same_origin(uris: &[String], base: &str) -> Option<Vec<bool>> {
    const SCRIPT: &str = r#"
        const [uris, base] = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const origin = new URL(base).origin;
        const same = (u) => { try { return new URL(u, base).origin === origin; } catch { return false; } };
        process.stdout.write(JSON.stringify(uris.map(same)));
    "#;
    let mut child = match Command::new("node")
        .args(["-e", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("starting node: {e}"),
    };
    let input = serde_json::to_vec(&(uris, base)).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node failed");
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn signed_exactly_where_a_players_parser_stays_on_the_origin() {
    let dir = fixtures().join("hls/golden");
    let playlist = std::fs::read_to_string(dir.join("origin-spellings.m3u8")).unwrap();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("origin-spellings.report.json")).unwrap(),
    )
    .unwrap();
    let skipped: BTreeSet<&str> = report["skipped_uris"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uri"].as_str().unwrap())
        .collect();
    let uris = uris(&playlist);
    let total = report["rewritten"].as_u64().unwrap() + report["skipped"].as_u64().unwrap();
    assert_eq!(
        uris.len() as u64,
        total,
        "URIs read from the file: {uris:?}"
    );

    let Some(node) = node_same_origin(&uris, BASE) else {
        eprintln!("skipped: node is not installed, so the golden verdicts are not cross-checked");
        return;
    };
    let disagree: Vec<String> = uris
        .iter()
        .zip(node)
        .filter(|(uri, same)| *same == skipped.contains(uri.as_str()))
        .map(|(uri, same)| format!("{uri:?}: node says same origin = {same}"))
        .collect();
    assert!(
        disagree.is_empty(),
        "golden verdicts differ from Node's URL:\n{}",
        disagree.join("\n")
    );
}
