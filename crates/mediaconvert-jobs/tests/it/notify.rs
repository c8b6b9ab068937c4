//! Job state changes → playback.json and notices.

use hlsgate_aws::MemoryObjects;
use hlsgate_core::video::{Playback, VideoId};
use hlsgate_mediaconvert_jobs::{NoticeKind, handle};
use serde_json::json;

use crate::common::*;

fn sidecar(media: &MemoryObjects, id: &str) -> Playback {
    let folder = format!("videos/{id}/");
    let body = media
        .body(&format!("{folder}playback.json"))
        .unwrap_or_else(|| panic!("no playback.json in {:?}", media.keys()));
    // Read back exactly as the issuer reads it.
    Playback::from_json(&body, &VideoId::parse(id).unwrap(), &folder).unwrap()
}

#[tokio::test]
async fn complete_writes_the_sidecar_then_publishes() {
    let app = app(&[]);
    let report = handle(&app, &fixture("mediaconvert-complete.json"))
        .await
        .unwrap();
    assert_eq!(report["published"], "complete");
    assert_eq!(report["message_id"], "msg-1");

    let p = sidecar(&app.media, TOUR_ID);
    assert_eq!(p.master_key, format!("videos/{TOUR_ID}/master.m3u8"));
    assert_eq!(p.public_path, format!("/videos/{TOUR_ID}/master.m3u8"));
    assert_eq!(p.duration_seconds, Some(184.12));
    let sizes: Vec<(u32, u32, Option<u64>)> = p
        .renditions
        .iter()
        .map(|r| (r.width, r.height, r.bitrate))
        .collect();
    assert_eq!(
        sizes,
        [
            (1920, 1080, Some(4_870_213)),
            (1280, 720, Some(2_793_310)),
            (960, 540, Some(1_604_455)),
            (640, 360, Some(731_902)),
            (480, 270, Some(352_118)),
        ]
    );
    assert_eq!(
        app.media
            .content_type(&format!("videos/{TOUR_ID}/playback.json"))
            .as_deref(),
        Some("application/json")
    );

    let notices = app.notifier.notices();
    assert_eq!(notices.len(), 1);
    let n = &notices[0];
    assert_eq!(n.kind, NoticeKind::Complete);
    assert_eq!(
        n.attributes(),
        [("event", "complete"), ("videoId", TOUR_ID)]
    );
    assert!(
        n.subject
            .starts_with("[hlsgate] video ready: launch-product-tour_")
    );
    assert!(n.subject.len() <= 100);
    assert_eq!(n.body["event"], "complete");
    assert_eq!(n.body["videoId"], TOUR_ID);
    assert_eq!(n.body["jobId"], "1795252445211-q7x2hd");
    assert_eq!(n.body["sourceKey"], "uploads/launch/Product Tour.mp4");
    assert_eq!(n.body["playbackPath"], p.public_path.as_str());
    assert_eq!(n.body["durationSeconds"], 184.12);
    assert_eq!(n.body["renditions"][0]["height"], 1080);
}

#[tokio::test]
async fn complete_without_details_still_makes_a_valid_sidecar() {
    let app = app(&[]);
    let event = fixture_with(
        "mediaconvert-complete.json",
        &[("/detail/outputGroupDetails", json!([]))],
    );
    handle(&app, &event).await.unwrap();
    let p = sidecar(&app.media, TOUR_ID);
    assert_eq!(p.duration_seconds, None);
    assert!(p.renditions.is_empty());
}

#[tokio::test]
async fn error_publishes_code_and_message() {
    let app = app(&[]);
    let report = handle(&app, &fixture("mediaconvert-error.json"))
        .await
        .unwrap();
    assert_eq!(report["published"], "error");
    assert!(
        !app.media.keys().iter().any(|k| k.starts_with("videos/")),
        "no sidecar for a failed job"
    );
    let n = &app.notifier.notices()[0];
    assert_eq!(n.kind, NoticeKind::Error);
    assert_eq!(n.attributes(), [("event", "error"), ("videoId", TRIP_ID)]);
    assert_eq!(n.body["errorCode"], 1010);
    assert!(
        n.body["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Unable to open input file")
    );
    assert_eq!(n.body["sourceKey"], "uploads/My Trip/café + friends.mov");
    assert!(
        n.subject
            .starts_with("[hlsgate] video failed: my-trip-caf-friends_")
    );

    // A very long message is cut, and the subject stays within SNS limits.
    let long = fixture_with(
        "mediaconvert-error.json",
        &[("/detail/errorMessage", json!("é".repeat(10_000)))],
    );
    handle(&app, &long).await.unwrap();
    let n = &app.notifier.notices()[1];
    assert_eq!(
        n.body["errorMessage"].as_str().unwrap().chars().count(),
        2000
    );
}

#[tokio::test]
async fn progress_is_published_only_when_asked() {
    let quiet = app(&[]);
    let report = handle(&quiet, &fixture("mediaconvert-status-update.json"))
        .await
        .unwrap();
    assert_eq!(report["published"], false);
    assert!(quiet.notifier.notices().is_empty());

    let chatty = app(&[("NOTIFY_PROGRESS", "true")]);
    handle(&chatty, &fixture("mediaconvert-status-update.json"))
        .await
        .unwrap();
    let n = &chatty.notifier.notices()[0];
    assert_eq!(n.kind, NoticeKind::Progress);
    assert_eq!(n.attributes()[0], ("event", "progress"));
    assert_eq!(n.body["percentComplete"], 47);
    assert_eq!(n.body["phase"], "TRANSCODING");
}

#[tokio::test]
async fn other_states_are_logged_only() {
    let app = app(&[("NOTIFY_PROGRESS", "true")]);
    // PROGRESSING is recorded in the status (tests/it/status.rs).
    for status in ["INPUT_INFORMATION", "NEW_WARNING", "CANCELED"] {
        let event = fixture_with(
            "mediaconvert-progressing.json",
            &[("/detail/status", json!(status))],
        );
        let report = handle(&app, &event).await.unwrap();
        assert_eq!(report["status"], status);
        assert_eq!(report["published"], false);
    }
    assert!(app.notifier.notices().is_empty());
    assert!(app.media.keys().is_empty());
}

#[tokio::test]
async fn jobs_of_other_stacks_and_bad_metadata_are_ignored() {
    let app = app(&[("STACK_NAME", "prod")]);
    let cases = [
        (
            "/detail/userMetadata",
            json!({"videoId": TOUR_ID, "stack": "hlsgate"}),
        ),
        ("/detail/userMetadata", json!({})),
    ];
    for (pointer, value) in cases {
        let event = fixture_with("mediaconvert-complete.json", &[(pointer, value)]);
        let report = handle(&app, &event).await.unwrap();
        assert_eq!(report["ignored"], "job of another stack");
    }
    let ours = app_for_stack_prod();
    for (meta, why) in [
        (json!({"stack": "prod"}), "no videoId"),
        (json!({"stack": "prod", "videoId": "../etc"}), "bad videoId"),
    ] {
        let event = fixture_with(
            "mediaconvert-complete.json",
            &[("/detail/userMetadata", meta)],
        );
        let report = handle(&ours, &event).await.unwrap();
        assert_eq!(report["ignored"], why);
    }
    assert!(app.notifier.notices().is_empty() && ours.notifier.notices().is_empty());
    assert!(app.media.keys().is_empty() && ours.media.keys().is_empty());
}

fn app_for_stack_prod() -> FakeApp {
    app(&[("STACK_NAME", "prod")])
}

#[tokio::test]
async fn failures_are_errors_so_eventbridge_retries() {
    // The topic is throttled: Err, and the retry publishes once.
    let app = app(&[]);
    app.notifier.fail_next(throttled());
    let event = fixture("mediaconvert-complete.json");
    let err = handle(&app, &event).await.unwrap_err();
    assert!(
        err.to_string().contains("publishing the complete notice"),
        "{err}"
    );
    handle(&app, &event).await.unwrap();
    assert_eq!(app.notifier.notices().len(), 1);
    // Writing the sidecar twice leaves the same sidecar.
    sidecar(&app.media, TOUR_ID);
}

/// One EMF document per handled event: a job created, one completed, one
/// failed; an ignored event says nothing.
#[tokio::test]
async fn jobs_submitted_completed_and_failed_are_counted() {
    let mut app = app(&[]);
    app.config.metrics =
        hlsgate_aws::metrics::Metrics::capture("hlsgate/test", "mediaconvert-jobs");
    for event in [
        "s3-object-created-eventbridge.json",
        "mediaconvert-complete.json",
        "mediaconvert-error.json",
    ] {
        handle(&app, &fixture(event)).await.unwrap();
    }
    handle(&app, &json!({"detail-type": "Something Else"}))
        .await
        .unwrap();
    let docs = app.config.metrics.captured();
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!(docs[0]["JobsSubmitted"], 1.0);
    assert_eq!(docs[1]["JobsCompleted"], 1.0);
    assert_eq!(docs[2]["JobsFailed"], 1.0);
    for d in &docs {
        assert_eq!(d["Function"], "mediaconvert-jobs");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "hlsgate/test"
        );
    }
}
