//! Reading events: every fixture, and anything malformed without a panic.

use hlsgate_mediaconvert_jobs::event::{Incoming, parse};
use hlsgate_mediaconvert_jobs::handle;
use serde_json::{Value, json};

use crate::common::*;

#[test]
fn every_fixture_is_read() {
    let Incoming::Uploads { uploads, bad } = parse(&fixture("s3-object-created-eventbridge.json"))
    else {
        panic!("not an upload")
    };
    assert!(bad.is_empty());
    let u = &uploads[0];
    assert_eq!(u.bucket, UPLOADS);
    assert_eq!(u.key, "uploads/launch/Product Tour.mp4");
    assert_eq!(u.size, Some(48_213_507));
    assert_eq!(
        u.etag.as_deref(),
        Some("d41d8cd98f00b204e9800998ecf8427e-6")
    );
    assert_eq!(u.sequencer.as_deref(), Some("00673EF9BB1A2C3D4E"));

    let Incoming::Uploads { uploads, .. } = parse(&fixture("s3-put-classic.json")) else {
        panic!("not an upload")
    };
    assert_eq!(uploads[0].key, "uploads/My Trip/café + friends.mov");
    assert_eq!(uploads[0].size, Some(7_340_032));

    for (name, status) in [
        ("mediaconvert-complete.json", "COMPLETE"),
        ("mediaconvert-error.json", "ERROR"),
        ("mediaconvert-status-update.json", "STATUS_UPDATE"),
        ("mediaconvert-progressing.json", "PROGRESSING"),
    ] {
        let Incoming::JobState(s) = parse(&fixture(name)) else {
            panic!("{name} is not a job state")
        };
        assert_eq!(s.status, status);
        assert_eq!(s.user_metadata["stack"], "hlsgate");
    }
    assert_eq!(
        parse(&fixture("s3-test-event.json")),
        Incoming::Other("S3 test event".into())
    );
}

#[test]
fn unicode_and_plus_signs_in_classic_keys() {
    for (encoded, key) in [
        ("uploads/a+b.mp4", "uploads/a b.mp4"),
        ("uploads/a%2Bb.mp4", "uploads/a+b.mp4"),
        (
            "uploads/%E6%97%A5%E6%9C%AC+%F0%9F%8E%AC.mp4",
            "uploads/日本 🎬.mp4",
        ),
        ("uploads/100%25+real.mp4", "uploads/100% real.mp4"),
    ] {
        let event = fixture_with(
            "s3-put-classic.json",
            &[("/Records/0/s3/object/key", json!(encoded))],
        );
        let Incoming::Uploads { uploads, .. } = parse(&event) else {
            panic!("{encoded}")
        };
        assert_eq!(uploads[0].key, key);
    }
}

/// Shapes that must be answered `Ok` with nothing done, never a panic.
fn malformed() -> Vec<Value> {
    let mut v = vec![
        json!(null),
        json!(42),
        json!("Object Created"),
        json!([]),
        json!({}),
        json!({"detail-type": 7}),
        json!({"detail-type": "Object Created"}),
        json!({"detail-type": "Object Created", "source": "aws.s3"}),
        json!({"detail-type": "Object Created", "source": "aws.s3", "detail": []}),
        json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": 1}}}),
        json!({"detail-type": "Object Created", "source": "aws.s3",
               "detail": {"bucket": {"name": "b"}, "object": {"key": ""}}}),
        json!({"detail-type": "Object Deleted", "source": "aws.s3", "detail": {}}),
        json!({"detail-type": "Object Created", "source": "custom.app", "detail": {}}),
        json!({"detail-type": "MediaConvert Job State Change", "source": "aws.mediaconvert"}),
        json!({"detail-type": "MediaConvert Job State Change", "source": "aws.mediaconvert",
               "detail": {"status": "COMPLETE"}}),
        json!({"detail-type": "MediaConvert Job State Change", "source": "aws.mediaconvert",
               "detail": {"status": "COMPLETE", "jobId": "j", "userMetadata": {"stack": 5}}}),
        json!({"Records": null}),
        json!({"Records": []}),
        json!({"Records": [null, 1, "x", {}]}),
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}),
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
               "object": {"key": "uploads/%C3.mp4"}}}]}),
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
               "object": {"key": ["uploads/a.mp4"]}}}]}),
        json!({"Records": [{"body": "{}", "eventSource": "aws:sqs"}]}),
    ];
    // A COMPLETE event whose details have the wrong types.
    v.push(fixture_with(
        "mediaconvert-complete.json",
        &[(
            "/detail/outputGroupDetails",
            json!([{"outputDetails": [{"videoDetails": {"widthInPx": "wide"}}]}]),
        )],
    ));
    v
}

#[tokio::test]
async fn malformed_events_are_answered_ok_without_side_effects() {
    for event in malformed() {
        let app = app(&[]);
        let report = handle(&app, &event)
            .await
            .unwrap_or_else(|e| panic!("{event}: {e}"));
        assert!(app.transcoder.jobs().is_empty(), "{event}");
        assert!(app.notifier.notices().is_empty(), "{event}");
        assert!(app.media.keys().is_empty(), "{event}");
        assert!(report.is_object(), "{event}");
    }
}

#[test]
fn one_bad_classic_record_does_not_hide_the_others() {
    let good = fixture("s3-put-classic.json")["Records"][0].clone();
    let mut removed = good.clone();
    removed["eventName"] = json!("ObjectRemoved:Delete");
    let mut broken = good.clone();
    broken["s3"]["object"]["size"] = json!("big");
    let event = json!({"Records": [removed, broken, good]});
    let Incoming::Uploads { uploads, bad } = parse(&event) else {
        panic!("not an upload")
    };
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].key, "uploads/My Trip/café + friends.mov");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].index, 1);
    assert!(
        bad[0].reason.contains("unreadable S3 record"),
        "{}",
        bad[0].reason
    );
}
