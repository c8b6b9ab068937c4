//! Configuration: defaults, every refusal listed at once, and the binary's
//! refusal to start without what it needs.

use hlsgate_aws::Env;
use hlsgate_mediaconvert_jobs::Config;
use hlsgate_mediaconvert_jobs::config::{Abr, DEFAULT_LADDER, parse_ladder};

use crate::common::*;

#[test]
fn defaults() {
    let c = config(&[]);
    assert_eq!(c.stack, "hlsgate");
    assert_eq!(c.input_prefix, "uploads/");
    assert_eq!(c.key_prefix, "videos/");
    assert_eq!(c.claim_prefix, "jobs/");
    assert_eq!(c.extensions, ["mp4", "mov", "m4v", "mkv", "webm"]);
    assert_eq!(c.input_bucket, None);
    assert_eq!(c.queue_arn, None);
    assert_eq!(c.endpoint, None);
    assert!(!c.notify_progress);
    assert_eq!(c.status_update_seconds, 60);
    assert_eq!(c.ladder.segment_seconds, 6);
    assert_eq!(c.ladder.gop_seconds, 2);
    assert_eq!(c.ladder.audio_bitrate, 128_000);
    assert_eq!(
        c.ladder.abr,
        Abr::Ladder(parse_ladder(DEFAULT_LADDER).unwrap())
    );
    let Abr::Ladder(rungs) = &c.ladder.abr else {
        unreachable!()
    };
    assert_eq!((rungs[0].height, rungs[4].height), (1080, 270));
}

#[test]
fn every_problem_is_listed() {
    let err = Config::from(Env::from_pairs([
        ("MEDIACONVERT_QUEUE_ARN", "Default"),
        ("STACK_NAME", "my stack"),
        ("KEY_PREFIX", "videos/"),
        ("JOB_CLAIM_PREFIX", "videos/jobs/"),
        ("LADDER", "1280x720"),
        ("SEGMENT_SECONDS", "5"),
        ("STATUS_UPDATE_SECONDS", "61"),
        ("INPUT_EXTENSIONS", "mp4,.m p4"),
        ("NOTIFY_PROGRESS", "sometimes"),
    ]))
    .unwrap_err()
    .to_string();
    for needle in [
        "MEDIA_BUCKET is required",
        "MEDIACONVERT_ROLE_ARN is required",
        "NOTIFY_TOPIC_ARN is required",
        "MEDIACONVERT_QUEUE_ARN",
        "STACK_NAME",
        "JOB_CLAIM_PREFIX",
        "LADDER",
        "SEGMENT_SECONDS (5) must be a multiple of GOP_SECONDS (2)",
        "STATUS_UPDATE_SECONDS",
        "INPUT_EXTENSIONS",
        "NOTIFY_PROGRESS",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    let arns = Config::from(env(&[
        ("MEDIACONVERT_ROLE_ARN", "hlsgate-role"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:q"),
        ("MEDIACONVERT_ENDPOINT", "mediaconvert.example.com"),
    ]))
    .unwrap_err()
    .to_string();
    for needle in [
        "MEDIACONVERT_ROLE_ARN",
        "NOTIFY_TOPIC_ARN",
        "MEDIACONVERT_ENDPOINT",
    ] {
        assert!(arns.contains(needle), "{needle} missing from:\n{arns}");
    }
}

#[test]
fn automated_abr() {
    let c = config(&[("ENCODING", "auto"), ("ABR_MIN_BITRATE", "400k")]);
    assert_eq!(
        c.ladder.abr,
        Abr::Auto {
            max_renditions: 6,
            min_bitrate: 400_000,
            max_bitrate: 8_000_000
        }
    );
    let err = Config::from(env(&[
        ("ENCODING", "auto"),
        ("ABR_MIN_BITRATE", "9M"),
        ("ABR_MAX_RENDITIONS", "20"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("ABR_MIN_BITRATE must be below ABR_MAX_BITRATE"),
        "{err}"
    );
    assert!(err.contains("ABR_MAX_RENDITIONS"), "{err}");
    assert!(Config::from(env(&[("ENCODING", "fancy")])).is_err());
}

#[test]
fn the_binary_lists_what_is_missing_and_stops() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mediaconvert-jobs"))
        .env_clear()
        .env("MEDIACONVERT_ROLE_ARN", "not-an-arn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "MEDIA_BUCKET",
        "NOTIFY_TOPIC_ARN",
        "MEDIACONVERT_ROLE_ARN=\"not-an-arn\"",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }
}

/// docs/mediaconvert-jobs.md's table is what the config reads, both ways
/// (with the fixed ladder and with automated ABR).
#[test]
fn the_docs_list_exactly_the_variables_read() {
    let mut names = std::collections::BTreeSet::new();
    for extra in [&[][..], &[("ENCODING", "auto")][..]] {
        let (env, read) = env(extra).tracking();
        hlsgate_mediaconvert_jobs::Config::from(env).unwrap();
        names.extend(read.names());
    }
    hlsgate_aws::testing::assert_documented("mediaconvert-jobs.md", names);
}

/// Encryption's settings: SPEKE by default, each combination that cannot
/// work refused at start with what to set.
#[test]
fn key_exchange_is_speke_by_default_and_checked() {
    use hlsgate_mediaconvert_jobs::key::{Encryption, KeyExchange};
    let c = config(&[("ENCRYPTION", "aes-128"), ("SPEKE_URL", SPEKE_URL)]);
    assert_eq!(c.key_exchange, KeyExchange::Speke);
    let speke = c.speke.clone().unwrap();
    assert_eq!(speke.system_ids, [hlsgate_core::speke::HLS_AES_128]);
    assert_eq!(speke.certificate_arn, None);
    assert!(
        config(&[]).speke.is_none(),
        "no provider without encryption"
    );
    let fixed = config(&[("ENCRYPTION", "aes-128"), ("KEY_EXCHANGE", "static")]);
    assert_eq!((fixed.encryption, fixed.speke), (Encryption::Aes128, None));
    let refused = |pairs: &[(&str, &str)]| Config::from(env(pairs)).unwrap_err().to_string();
    for (pairs, needle) in [
        (&[("ENCRYPTION", "aes-128")][..], "SPEKE_URL is required"),
        (
            &[
                ("ENCRYPTION", "aes-128"),
                ("SPEKE_URL", "http://keys.example/x"),
            ][..],
            "SPEKE_URL must be https",
        ),
        (
            &[
                ("ENCRYPTION", "aes-128"),
                ("SPEKE_URL", "https://user@keys.example/x"),
            ][..],
            "SPEKE_URL must be https",
        ),
        (
            &[("ENCRYPTION", "sample-aes"), ("SPEKE_URL", SPEKE_URL)][..],
            "SPEKE_SYSTEM_IDS is required",
        ),
        (
            &[("ENCRYPTION", "sample-aes"), ("KEY_EXCHANGE", "static")][..],
            "set KEY_EXCHANGE=speke",
        ),
        (
            &[
                ("ENCRYPTION", "aes-128"),
                ("SPEKE_URL", SPEKE_URL),
                ("SPEKE_SYSTEM_IDS", "a,b"),
            ][..],
            "take one system id",
        ),
        (
            &[
                ("ENCRYPTION", "aes-128"),
                ("SPEKE_URL", SPEKE_URL),
                ("SPEKE_SYSTEM_IDS", "fairplay"),
            ][..],
            "must be UUIDs",
        ),
        (
            &[
                ("ENCRYPTION", "aes-128"),
                ("SPEKE_URL", SPEKE_URL),
                ("SPEKE_CERTIFICATE_ARN", "cert"),
            ][..],
            "ACM certificate",
        ),
        (
            &[("ENCRYPTION", "aes-128"), ("KEY_EXCHANGE", "vendor")][..],
            "KEY_EXCHANGE",
        ),
    ] {
        let err = refused(pairs);
        assert!(
            err.contains(needle),
            "{pairs:?}: {needle} missing from:\n{err}"
        );
    }
}
