//! The tracks of a job: audio streams from the probe, caption files beside
//! the upload or listed by its manifest, refusals with a notice, and the
//! tracks carried from the claim into playback.json.

use hlsgate_core::tracks::CaptionFormat;
use hlsgate_mediaconvert_jobs::handle;
use hlsgate_mediaconvert_jobs::tracks::Plan;
use serde_json::{Value, json};

use crate::common::*;

const VIDEO: &str = "uploads/launch/Product Tour.mp4";
/// The upload's last-modified time in the fake bucket.
const T: i64 = 1_000_000;
const VTT: &[u8] = b"WEBVTT\n\n00:00.500 --> 00:02.000\nHello\n";
const SRT: &[u8] = b"1\n00:00:01,000 --> 00:00:02,000\nBonjour\n";

fn upload_app(extra: &[(&str, &str)]) -> FakeApp {
    let app = app(extra);
    app.uploads.put(VIDEO, b"mp4".to_vec(), T);
    app
}

async fn submit(app: &FakeApp) -> Value {
    handle(app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap()
}

fn plan(app: &FakeApp) -> Plan {
    let jobs = app.transcoder.jobs();
    assert_eq!(jobs.len(), 1);
    jobs[0].plan.clone()
}

#[tokio::test]
async fn sidecars_beside_the_upload_become_subtitles_sorted_by_language() {
    let app = upload_app(&[]);
    app.uploads
        .put("uploads/launch/Product Tour.fr.srt", SRT.to_vec(), T - 5);
    app.uploads
        .put("uploads/launch/Product Tour.en.vtt", VTT.to_vec(), T - 10);
    // Not sidecars of this upload, or written after it.
    app.uploads
        .put("uploads/launch/Product Tour.de.vtt", VTT.to_vec(), T + 1);
    app.uploads
        .put("uploads/launch/Product Tour 2.en.vtt", VTT.to_vec(), T - 1);
    app.uploads.put(
        "uploads/launch/Product Tour.notes.txt",
        b"x".to_vec(),
        T - 1,
    );
    submit(&app).await;
    let p = plan(&app);
    let got: Vec<(&str, CaptionFormat, &str, bool)> = p
        .captions
        .iter()
        .map(|c| {
            (
                c.source_uri.as_str(),
                c.format,
                c.track.name.as_str(),
                c.track.default,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "s3://hlsgate-uploads-123456789012/uploads/launch/Product Tour.en.vtt",
                CaptionFormat::Vtt,
                "English",
                false
            ),
            (
                "s3://hlsgate-uploads-123456789012/uploads/launch/Product Tour.fr.srt",
                CaptionFormat::Srt,
                "Français",
                false
            ),
        ]
    );
    // One stream, unlabelled: muxed as before, no audio group.
    assert_eq!(p.audio.len(), 1);
    assert!(!p.audio_group());

    // A redelivery without a claim (it failed to write) asks for the same.
    app.media.remove(&app.media.keys()[0]);
    let again = upload_app(&[]);
    for (k, b, t) in [
        ("uploads/launch/Product Tour.fr.srt", SRT, T - 5),
        ("uploads/launch/Product Tour.en.vtt", VTT, T - 10),
        ("uploads/launch/Product Tour.de.vtt", VTT, T + 1),
    ] {
        again.uploads.put(k, b.to_vec(), t);
    }
    submit(&again).await;
    assert_eq!(plan(&again), p);
}

#[tokio::test]
async fn the_manifest_lists_captions_and_labels_audio() {
    let app = upload_app(&[]);
    app.transcoder
        .audio(&[Some("eng"), Some("eng"), Some("fra")]);
    app.uploads.put(
        "uploads/launch/Product Tour.json",
        json!({
            "audio": [{"name": "English"}, {"name": "Audio description"}, {"language": "fr-CA", "default": true}],
            "subtitles": [{"file": "cc.vtt", "language": "en", "name": "English (CC)", "default": true}]
        })
        .to_string(),
        T - 1,
    );
    app.uploads
        .put("uploads/launch/cc.vtt", VTT.to_vec(), T - 1);
    // Beside the upload, but the manifest decides.
    app.uploads
        .put("uploads/launch/Product Tour.de.vtt", VTT.to_vec(), T - 1);
    submit(&app).await;
    let p = plan(&app);
    let audio: Vec<(u32, Option<&str>, &str, bool)> = p
        .audio
        .iter()
        .map(|a| {
            (
                a.stream,
                a.track.language.as_deref(),
                a.track.name.as_str(),
                a.track.default,
            )
        })
        .collect();
    assert_eq!(
        audio,
        [
            (1, Some("eng"), "English", false),
            (2, Some("eng"), "Audio description", false),
            (3, Some("fr-CA"), "Français (CA)", true),
        ]
    );
    assert_eq!(p.captions.len(), 1);
    assert!(p.captions[0].source_uri.ends_with("/uploads/launch/cc.vtt"));
    assert_eq!(p.captions[0].track.name, "English (CC)");
    assert!(p.captions[0].track.default);
}

#[tokio::test]
async fn audio_streams_get_the_container_language_and_a_cap() {
    let app = upload_app(&[("AUDIO_TRACKS_MAX", "2")]);
    app.transcoder
        .audio(&[Some("eng"), Some("und"), Some("spa")]);
    submit(&app).await;
    let p = plan(&app);
    let audio: Vec<(Option<&str>, &str, bool)> = p
        .audio
        .iter()
        .map(|a| {
            (
                a.track.language.as_deref(),
                a.track.name.as_str(),
                a.track.default,
            )
        })
        .collect();
    // The first is the default; an undetermined language is unlabelled.
    assert_eq!(
        audio,
        [(Some("eng"), "English", true), (None, "Audio 2", false)]
    );
    assert!(p.audio_group());
}

#[tokio::test]
async fn captions_off_looks_for_nothing() {
    let app = upload_app(&[("CAPTIONS", "false")]);
    app.uploads.put(
        "uploads/launch/Product Tour.en.vtt",
        b"not vtt".to_vec(),
        T - 1,
    );
    submit(&app).await;
    assert!(plan(&app).captions.is_empty());
}

#[tokio::test]
async fn unusable_captions_stop_the_job_with_a_notice() {
    let cases: Vec<(&str, &[u8], &str)> = vec![
        (
            "Product Tour.en.vtt",
            b"1\n00:00:01,000 --> 00:00:02,000\n",
            "does not start with WEBVTT",
        ),
        (
            "Product Tour.fr.srt",
            b"WEBVTT\n",
            "does not start with an SRT cue",
        ),
        ("Product Tour.en.vtt", b"", "is empty"),
        ("Product Tour.en.vtt", b"WEBVTT\n\n\xff\xfe", "is not UTF-8"),
        // Well formed, but no ISO 639 language: MediaConvert would refuse
        // the whole job.
        ("Product Tour.qq.vtt", VTT, "names no ISO 639 language"),
    ];
    for (file, body, says) in cases {
        let app = upload_app(&[]);
        app.uploads
            .put(&format!("uploads/launch/{file}"), body.to_vec(), T - 1);
        let report = submit(&app).await;
        assert_eq!(report["uploads"][0]["outcome"], "rejected", "{file}");
        assert!(app.transcoder.jobs().is_empty());
        let notices = app.notifier.notices();
        assert_eq!(notices.len(), 1);
        let msg = notices[0].body["errorMessage"].as_str().unwrap();
        assert!(msg.contains(file) && msg.contains(says), "{msg}");
        assert_eq!(notices[0].body["reason"], "tracks");
        assert_eq!(notices[0].body["event"], "error");
        let status = crate::status::stored(&app.media, TOUR_ID);
        assert_eq!(
            (&status["state"], &status["reason"], &status["message"]),
            (&json!("error"), &json!("tracks"), &json!(msg)),
        );
    }
    // A manifest that names a missing file, or is not a manifest.
    for (manifest, says) in [
        (
            r#"{"subtitles":[{"file":"gone.vtt","language":"en"}]}"#,
            "gone.vtt: is missing",
        ),
        (r#"{"subtitle":[]}"#, "not a track manifest"),
        (
            r#"{"subtitles":[{"file":"Product Tour.en.vtt","language":"und"}]}"#,
            "language tag \\\"und\\\" names no ISO 639 language",
        ),
    ] {
        let app = upload_app(&[]);
        app.uploads.put(
            "uploads/launch/Product Tour.json",
            manifest.to_string(),
            T - 1,
        );
        let report = submit(&app).await;
        assert_eq!(report["uploads"][0]["outcome"], "rejected");
        let msg = app.notifier.notices()[0].body["errorMessage"].to_string();
        assert!(msg.contains(says), "{msg}");
    }
}

#[tokio::test]
async fn a_throttled_probe_is_retried_and_a_refused_one_keeps_the_default_audio() {
    let app = upload_app(&[]);
    app.transcoder.fail_probe(throttled());
    assert!(
        handle(&app, &fixture("s3-object-created-eventbridge.json"))
            .await
            .is_err()
    );
    assert!(app.transcoder.jobs().is_empty());

    let app = upload_app(&[]);
    let mut refused = throttled();
    refused.failure = hlsgate_aws::CallFailure::Rejected;
    refused.status = Some(400);
    app.transcoder.fail_probe(refused);
    submit(&app).await;
    assert!(plan(&app).audio.is_empty(), "the source's default selector");
}

#[tokio::test]
async fn playback_json_lists_the_tracks_the_claim_recorded() {
    let app = upload_app(&[("TRICK_PLAY", "iframes")]);
    app.transcoder.audio(&[Some("eng"), Some("fra")]);
    app.uploads
        .put("uploads/launch/Product Tour.en.vtt", VTT.to_vec(), T - 1);
    submit(&app).await;
    let job = &app.transcoder.jobs()[0];
    let done = fixture_with(
        "mediaconvert-complete.json",
        &[("/detail/userMetadata", json!(job.metadata))],
    );
    handle(&app, &done).await.unwrap();
    let sidecar: Value = serde_json::from_slice(
        &app.media
            .body(&format!("videos/{TOUR_ID}/playback.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        sidecar["tracks"],
        json!({
            "audio": [
                {"language": "eng", "name": "English", "default": true},
                {"language": "fra", "name": "Français", "default": false}
            ],
            "subtitles": [{"language": "en", "name": "English", "default": false}],
            "iframes": true,
            "thumbnails": false
        })
    );
    assert_eq!(
        sidecar["poster_key"],
        format!("videos/{TOUR_ID}/poster.0000001.jpg")
    );
    let notice = &app.notifier.notices()[0];
    assert_eq!(notice.body["tracks"], sidecar["tracks"]);
}

/// Whatever wrote it (a part re-sent around the upload API, `aws s3 cp`),
/// an object over `MAX_UPLOAD_BYTES` is never transcoded: its status is
/// `error`, the team is told, no probe, no job.
#[tokio::test]
async fn an_upload_over_the_size_limit_is_refused_not_transcoded() {
    // The fixture's object is 48,213,507 bytes.
    let app = upload_app(&[("MAX_UPLOAD_BYTES", "48213506")]);
    let report = submit(&app).await;
    assert_eq!(report["uploads"][0]["outcome"], "rejected", "{report}");
    assert!(app.transcoder.jobs().is_empty());
    let notices = app.notifier.notices();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].body["reason"], "too_large");
    let msg = notices[0].body["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("48213507 bytes, over MAX_UPLOAD_BYTES (48213506)"),
        "{msg}"
    );
    let status = crate::status::stored(&app.media, TOUR_ID);
    assert_eq!(
        (&status["state"], &status["reason"]),
        (&json!("error"), &json!("too_large"))
    );
    // At the limit it is transcoded.
    let app = upload_app(&[("MAX_UPLOAD_BYTES", "48213507")]);
    submit(&app).await;
    assert_eq!(app.transcoder.jobs().len(), 1);
}
