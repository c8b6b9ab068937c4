//! `hlsgate rules` against the embedded S3 (s3s-fs), and what the issuer's
//! own parser then reads.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};

use hlsgate_aws::local_s3::LocalS3;
use hlsgate_core::rules::VideoRules;
use serde_json::{Value, json};

/// The server (kept by its runtime) and its data folder.
struct Bucket {
    s3: LocalS3,
    root: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn bucket() -> Bucket {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("media")).unwrap();
    let s3 = rt.block_on(LocalS3::start(root.path())).unwrap();
    Bucket { s3, root, _rt: rt }
}

impl Bucket {
    /// `hlsgate rules ARGS` (split at blanks) against this bucket, with its
    /// keys in the environment as `hlsgate dev`'s lambda.env has them.
    fn rules(&self, args: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_hlsgate"))
            .arg("rules")
            .args(args.split_whitespace())
            .env("MEDIA_BUCKET", "media")
            .env("AWS_ENDPOINT_URL_S3", self.s3.endpoint())
            .env("AWS_ACCESS_KEY_ID", &self.s3.keys().access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.s3.keys().secret_key)
            .env("AWS_REGION", LocalS3::REGION)
            .env_remove("RULES_PREFIX")
            .output()
            .expect("run hlsgate")
    }

    /// What is stored, as the issuer parses it.
    fn stored(&self, video: &str) -> Option<VideoRules> {
        let path = self.root.path().join(format!("media/rules/{video}.json"));
        std::fs::read(path)
            .ok()
            .map(|b| VideoRules::from_json(&b).unwrap())
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_back_office_sets_shows_and_clears_a_videos_rules() {
    let b = bucket();
    let o = b.rules("show demo");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "demo: no playback rules");

    let o =
        b.rules("set demo --countries de,AT --origins https://shop.example,http://localhost:8080");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("countries  only DE,AT"),
        "{}",
        text(&o.stdout)
    );
    // Setting one rule keeps the others.
    let o = b.rules("set demo --from 2026-12-24T00:00:00Z --until 2027-01-07T00:00:00Z");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = b.rules("show demo --json");
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        shown,
        json!({
            "countries": {"allow": ["DE", "AT"]},
            "origins": ["https://shop.example", "http://localhost:8080"],
            "available_from": 1_798_070_400u64,
            "available_until": 1_799_280_000u64,
        })
    );
    assert_eq!(
        b.stored("demo").unwrap(),
        VideoRules::from_json(shown.to_string().as_bytes()).unwrap()
    );
    // A deny list replaces the allow list.
    let o = b.rules("set demo --deny-countries US");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("countries  not US"));

    let o = b.rules("clear demo");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(b.stored("demo"), None);
    assert_eq!(text(&b.rules("show demo --json").stdout).trim(), "{}");
}

#[test]
fn what_would_mislead_is_a_usage_error_and_nothing_is_written() {
    let b = bucket();
    for (args, says) in [
        ("set demo --countries XX", "ISO 3166-1"),
        ("set demo --countries Germany", "ISO 3166-1"),
        (
            "set demo --origins https://shop.example/embed",
            "not a web origin",
        ),
        ("set demo --origins shop.example", "not a web origin"),
        (
            "set demo --from 2027-01-07T00:00:00Z --until 2026-12-24T00:00:00Z",
            "window is empty",
        ),
        ("set demo --allow-no-origin true", "only with an origins"),
        ("set demo", "name a rule"),
        (
            "set demo --countries DE --deny-countries US",
            "cannot be used with",
        ),
        ("set ../etc --countries DE", "video id"),
        (
            "set demo --countries DE --prefix videos/",
            "overlaps KEY_PREFIX",
        ),
    ] {
        let o = b.rules(args);
        assert_eq!(o.status.code(), Some(2), "{args}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(says),
            "{args}: {}",
            text(&o.stderr)
        );
    }
    assert_eq!(b.stored("demo"), None);
}
