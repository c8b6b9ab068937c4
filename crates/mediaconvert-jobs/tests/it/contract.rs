//! Every `CreateJob` request the jobs function can send, checked against
//! MediaConvert's published service model (`fixtures/aws-models/`): the
//! committed snapshots, and one request per combination of tracks, trick
//! play, poster, encryption and encoding. The Rust SDK checks none of the
//! model's lengths, patterns, ranges or enums; the service refuses the
//! whole job for any one of them.

use std::sync::OnceLock;

use hlsgate_aws::testing::contract::Model;
use hlsgate_core::tracks::CaptionFormat::{Srt, Vtt};
use hlsgate_mediaconvert_jobs::key::{ContentKey, Encryption, JobEncryption, KeyExchange};
use serde_json::Value;

use crate::aws::{NO_EXTRAS, plan_of, upload_spec, wire_body_of};

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::fixture("mediaconvert-2017-08-29"))
}

/// The JSON of an insta snapshot: what follows its second `---` line.
fn snapshot_body(text: &str) -> Value {
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    serde_json::from_str(body).unwrap()
}

#[test]
fn every_create_job_snapshot_meets_the_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("it__aws__create_job") {
            continue;
        }
        let body = snapshot_body(&std::fs::read_to_string(&path).unwrap());
        let problems = model().problems("CreateJob", &body);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} CreateJob snapshots found");
}

/// What MediaConvert refused in the snapshots before the language mapping:
/// the check sees it.
#[test]
fn a_two_letter_caption_selector_language_is_refused() {
    let body = serde_json::json!({"role": "r", "settings": {"inputs": [{"captionSelectors": {
        "Captions Selector 1": {"customLanguageCode": "en"}}}]}});
    let problems = model().problems("CreateJob", &body);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("customLanguageCode") && p.contains("minimum 3")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn every_combination_of_tracks_and_settings_meets_the_model() {
    let audio: &[&[&str]] = &[
        &[],
        &["en"],
        &["en", "fr-CA", "es-419"],
        &["yue", "zh-Hant"],
    ];
    let captions: &[&[(&str, hlsgate_core::tracks::CaptionFormat)]] = &[
        &[],
        &[("en", Vtt)],
        &[
            ("pt-BR", Srt),
            ("es-419", Vtt),
            ("yue", Vtt),
            ("zh-Hant-TW", Srt),
        ],
    ];
    let settings: &[&[(&str, &str)]] = &[
        NO_EXTRAS,
        &[],
        &[
            ("ENCRYPTION", "aes-128"),
            ("KEY_EXCHANGE", "static"),
            ("THUMBNAIL_SECONDS", "4"),
        ],
        &[
            ("ENCRYPTION", "aes-128"),
            ("SPEKE_URL", crate::common::SPEKE_URL),
        ],
        &[
            ("ENCRYPTION", "sample-aes"),
            ("SPEKE_URL", "https://speke.vendor.example:8443/v2"),
            ("SPEKE_SYSTEM_IDS", hlsgate_core::speke::FAIRPLAY),
            (
                "SPEKE_CERTIFICATE_ARN",
                "arn:aws:acm:eu-west-1:111122223333:certificate/x",
            ),
        ],
        &[("ENCODING", "auto"), ("TRICK_PLAY", "iframes")],
        &[("MEDIACONVERT_QUEUE_ARN", crate::common::QUEUE)],
    ];
    let mut sent = 0;
    for a in audio {
        for c in captions {
            for extra in settings {
                let (mut spec, config) = upload_spec(extra);
                spec.plan = plan_of(a, c);
                if config.key_exchange == KeyExchange::Static
                    && config.encryption != Encryption::None
                {
                    spec.encryption = Some(JobEncryption::Static(ContentKey::from_bytes(
                        *b"test-only-key-16",
                    )));
                }
                let (_, body) = wire_body_of(spec, config).await;
                let problems = model().problems("CreateJob", &body);
                assert!(problems.is_empty(), "{a:?} {c:?} {extra:?}: {problems:#?}");
                sent += 1;
            }
        }
    }
    assert_eq!(sent, 4 * 3 * 7);
}
