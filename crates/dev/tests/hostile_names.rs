//! Track names an uploader writes (a caption manifest's `name`) land in the
//! master playlist's `NAME="…"`. hls.js reads playlists with a JavaScript
//! regular expression that ends a line at U+2028, so a name carrying one
//! could add an `EXT-X-MEDIA` line of the uploader's choosing (subtitles
//! fetched from their host by every viewer). This test writes masters from
//! hostile names, as the jobs function cleans them, and has hls.js 1.7.4's
//! own parser read them in Node (`e2e/parse-master.mjs`).
//!
//! Skips, saying why, without Node or `make e2e-tools`; under CI it fails
//! instead.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hlsgate_core::tracks::{CaptionFormat, Track, clean_name};
use hlsgate_dev::transcode::{SUBTITLE_GROUP, master};
use hlsgate_mediaconvert_jobs::tracks::{Caption, Plan};
use serde_json::Value;

const MASTER_URL: &str = "https://d111111abcdef8.cloudfront.net/videos/tour/master.m3u8";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hls_mjs() -> Option<PathBuf> {
    let tools = std::env::var("HLSGATE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".tools"));
    let p = tools.join("e2e/node_modules/hls.js/dist/hls.mjs");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (p.exists(), node) {
        (true, true) => Some(p),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI needs node and hls.js ({}): make e2e-tools", p.display())
        }
        _ => {
            eprintln!("skipped: needs node and {} (make e2e-tools)", p.display());
            None
        }
    }
}

/// What hls.js makes of `m3u8`.
fn parsed_by_hlsjs(hls: &Path, m3u8: &str) -> Value {
    let mut child = Command::new("node")
        .arg(repo().join("e2e/parse-master.mjs"))
        .arg(hls)
        .arg(MASTER_URL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(m3u8.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Names that try to start a line of their own in a player.
fn hostile() -> Vec<String> {
    // A line of its own, then the rest of ours pushed onto a line that
    // means nothing.
    let inject = format!(
        "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{SUBTITLE_GROUP}\",LANGUAGE=\"en\",NAME=\"Evil\",URI=\"https://evil.example/s.m3u8\""
    );
    ["\u{2028}", "\u{2029}", "\r", "\n", "\u{85}"]
        .iter()
        .map(|sep| format!("English{sep}{inject}{sep}"))
        .chain(["\u{202E}English\u{200B}\u{FEFF}".to_string()])
        .collect()
}

fn master_of(names: &[String]) -> String {
    let ffmpeg = "#EXTM3U\n#EXT-X-VERSION:3\n\
        #EXT-X-STREAM-INF:BANDWIDTH=75900,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\n\
        master_360p.m3u8\n";
    let captions: Vec<Caption> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Caption {
            source_uri: format!("s3://in/uploads/a.{i}.vtt"),
            format: CaptionFormat::Vtt,
            track: Track {
                language: Some("en".into()),
                name: name.clone(),
                default: false,
            },
        })
        .collect();
    let uris: Vec<String> = (0..names.len())
        .map(|i| format!("master_subtitles_{}_en_vtt.m3u8", i + 1))
        .collect();
    let plan = Plan {
        audio: Vec::new(),
        captions,
    };
    master(ffmpeg, &plan, "master", &uris, &[], None)
}

fn subtitle_urls(parsed: &Value) -> Vec<String> {
    parsed["subtitles"]
        .as_array()
        .unwrap_or_else(|| panic!("{parsed}"))
        .iter()
        .map(|s| s["url"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn hostile_track_names_add_no_line_that_hlsjs_reads() {
    let Some(hls) = hls_mjs() else { return };
    let raw = hostile();
    // The control: written raw, hls.js does fetch from the uploader's host.
    let parsed = parsed_by_hlsjs(&hls, &master_of(&raw));
    assert!(
        subtitle_urls(&parsed)
            .iter()
            .any(|u| u.starts_with("https://evil.example/")),
        "the raw names should inject a track: {parsed}"
    );
    // Cleaned as the jobs function cleans every name it takes.
    let cleaned: Vec<String> = raw.iter().map(|n| clean_name(n).unwrap()).collect();
    let parsed = parsed_by_hlsjs(&hls, &master_of(&cleaned));
    let expected: Vec<String> = (1..=raw.len())
        .map(|i| {
            format!(
                "https://d111111abcdef8.cloudfront.net/videos/tour/master_subtitles_{i}_en_vtt.m3u8"
            )
        })
        .collect();
    assert_eq!(subtitle_urls(&parsed), expected, "{parsed}");
    let names: Vec<&str> = parsed["subtitles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let wanted: Vec<&str> = cleaned.iter().map(String::as_str).collect();
    assert_eq!(names, wanted);
    assert_eq!(parsed["levels"].as_array().unwrap().len(), 1);
}
