//! Uploads → jobs: which uploads are taken, what the job is, and that a
//! redelivered event never makes a second job.

use hlsgate_aws::testing::LogCapture;
use hlsgate_aws::{CallError, CallFailure};
use hlsgate_core::video::VideoId;
use hlsgate_mediaconvert_jobs::key::{Encryption, JobEncryption};
use hlsgate_mediaconvert_jobs::{JobClaim, handle};
use serde_json::{Value, json};

use crate::common::*;

fn outcome(report: &Value, i: usize) -> &str {
    report["uploads"][i]["outcome"].as_str().unwrap_or("")
}

#[tokio::test]
async fn eventbridge_upload_becomes_one_job() {
    let app = app(&[]);
    let report = handle(&app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap();
    assert_eq!(outcome(&report, 0), "submitted");
    assert_eq!(report["uploads"][0]["job_id"], "job-1");
    assert_eq!(report["uploads"][0]["video_id"], TOUR_ID);

    let jobs = app.transcoder.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    // EventBridge keys are not encoded: the space stays a space.
    assert_eq!(
        job.source_uri,
        format!("s3://{UPLOADS}/uploads/launch/Product Tour.mp4")
    );
    assert_eq!(job.video_id.as_str(), TOUR_ID);
    assert_eq!(
        job.video_id,
        VideoId::from_upload(UPLOADS, "uploads/launch/Product Tour.mp4", "uploads/")
    );
    assert_eq!(
        job.destination,
        format!("s3://{MEDIA}/videos/{TOUR_ID}/master")
    );
    assert_eq!(job.token.len(), 64);
    assert!(job.token.bytes().all(|b| b.is_ascii_hexdigit()));
    let meta: Vec<(&str, &str)> = job
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        meta,
        [
            ("sourceBucket", UPLOADS),
            ("sourceKey", "uploads/launch/Product Tour.mp4"),
            ("stack", "hlsgate"),
            ("token", job.token.as_str()),
            ("videoId", TOUR_ID),
        ]
    );

    // The claim records the job, outside the video folders.
    let claim_key = format!("jobs/{}.json", job.token);
    let status_key = format!("status/{TOUR_ID}.json");
    assert_eq!(app.media.keys(), [claim_key.clone(), status_key]);
    let claim: JobClaim = serde_json::from_slice(&app.media.body(&claim_key).unwrap()).unwrap();
    assert_eq!(claim.job_id, "job-1");
    assert_eq!(claim.source_key, "uploads/launch/Product Tour.mp4");
    assert_eq!(claim.sequencer.as_deref(), Some("00673EF9BB1A2C3D4E"));
    assert_eq!(
        app.media.content_type(&claim_key).as_deref(),
        Some("application/json")
    );
}

#[tokio::test]
async fn classic_keys_are_decoded() {
    let app = app(&[]);
    let report = handle(&app, &fixture("s3-put-classic.json")).await.unwrap();
    assert_eq!(outcome(&report, 0), "submitted");
    let job = &app.transcoder.jobs()[0];
    // `+` is a space, `%2B` a plus, `%C3%A9` an é.
    assert_eq!(
        job.source_uri,
        format!("s3://{UPLOADS}/uploads/My Trip/café + friends.mov")
    );
    assert_eq!(
        job.metadata["sourceKey"],
        "uploads/My Trip/café + friends.mov"
    );
    assert_eq!(job.video_id.as_str(), TRIP_ID);
}

#[tokio::test]
async fn a_redelivered_event_makes_no_second_job() {
    for name in ["s3-object-created-eventbridge.json", "s3-put-classic.json"] {
        let app = app(&[]);
        let event = fixture(name);
        handle(&app, &event).await.unwrap();
        let again = handle(&app, &event).await.unwrap();
        assert_eq!(outcome(&again, 0), "duplicate", "{name}");
        assert_eq!(again["uploads"][0]["job_id"], "job-1");
        assert_eq!(app.transcoder.jobs().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn the_token_is_stable_and_changes_with_a_new_write() {
    // Two apps, as two Lambda instances would be: same event, same token.
    let (a, b) = (app(&[]), app(&[]));
    let event = fixture("s3-object-created-eventbridge.json");
    handle(&a, &event).await.unwrap();
    handle(&b, &event).await.unwrap();
    let token = a.transcoder.jobs()[0].token.clone();
    assert_eq!(token, b.transcoder.jobs()[0].token);

    // Re-uploading the same key (a new sequencer, e.g. after a failed job)
    // is a new job with a new token, to the same video folder.
    let rewrite = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/sequencer", json!("00673F0A11B2C3D4E5"))],
    );
    let report = handle(&a, &rewrite).await.unwrap();
    assert_eq!(outcome(&report, 0), "submitted");
    let jobs = a.transcoder.jobs();
    assert_eq!(jobs.len(), 2);
    assert_ne!(jobs[1].token, token);
    assert_eq!(jobs[1].destination, jobs[0].destination);

    // The token covers bucket, key, etag and stack too.
    for (pointer, value) in [
        ("/detail/bucket/name", json!("other-bucket")),
        (
            "/detail/object/key",
            json!("uploads/launch/Product Tour 2.mp4"),
        ),
        (
            "/detail/object/etag",
            json!("ffffffffffffffffffffffffffffffff"),
        ),
    ] {
        let c = app(&[]);
        handle(
            &c,
            &fixture_with("s3-object-created-eventbridge.json", &[(pointer, value)]),
        )
        .await
        .unwrap();
        assert_ne!(c.transcoder.jobs()[0].token, token, "{pointer}");
    }
    let other_stack = app(&[("STACK_NAME", "staging")]);
    handle(&other_stack, &event).await.unwrap();
    assert_ne!(other_stack.transcoder.jobs()[0].token, token);
}

#[tokio::test]
async fn each_ignore_rule_is_logged_and_answered_ok() {
    let base = "s3-object-created-eventbridge.json";
    let cases: [(&str, Value, &str); 6] = [
        (
            "/detail/object/key",
            json!("incoming/a.mp4"),
            "outside INPUT_PREFIX",
        ),
        (
            "/detail/object/key",
            json!("uploads/folder/"),
            "folder marker",
        ),
        ("/detail/object/size", json!(0), "empty object"),
        (
            "/detail/object/key",
            json!("uploads/notes.txt"),
            "extension \"txt\"",
        ),
        ("/detail/object/key", json!("uploads/mp4"), "extension \"\""),
        (
            "/detail/bucket/name",
            json!("someone-else"),
            "not INPUT_BUCKET",
        ),
    ];
    for (pointer, value, reason) in cases {
        let app = app(&[("INPUT_BUCKET", UPLOADS)]);
        let logs = LogCapture::default();
        let report = {
            let _guard = logs.install();
            handle(&app, &fixture_with(base, &[(pointer, value.clone())]))
                .await
                .unwrap()
        };
        assert_eq!(outcome(&report, 0), "ignored", "{value}");
        assert!(
            report["uploads"][0]["reason"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{report}"
        );
        assert!(app.transcoder.jobs().is_empty(), "{value}");
        assert!(app.media.keys().is_empty());
        let line = logs
            .lines()
            .into_iter()
            .find(|l| l["message"] == "upload ignored")
            .unwrap_or_else(|| panic!("no log line for {value}: {}", logs.text()));
        assert!(line["reason"].as_str().unwrap().contains(reason), "{line}");
    }
}

#[tokio::test]
async fn extensions_match_without_case_and_follow_config() {
    let upper = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/key", json!("uploads/CLIP.MP4"))],
    );
    let app1 = app(&[]);
    handle(&app1, &upper).await.unwrap();
    assert_eq!(app1.transcoder.jobs().len(), 1);

    let mxf = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/key", json!("uploads/master.mxf"))],
    );
    let default_app = app(&[]);
    handle(&default_app, &mxf).await.unwrap();
    assert!(default_app.transcoder.jobs().is_empty());
    let mxf_app = app(&[("INPUT_EXTENSIONS", ".MXF, mp4")]);
    handle(&mxf_app, &mxf).await.unwrap();
    assert_eq!(mxf_app.transcoder.jobs().len(), 1);

    let prefixed = app(&[("INPUT_PREFIX", "incoming/")]);
    let incoming = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/key", json!("incoming/x.mp4"))],
    );
    handle(&prefixed, &incoming).await.unwrap();
    assert_eq!(
        prefixed.transcoder.jobs()[0]
            .video_id
            .as_str()
            .split_once('_')
            .unwrap()
            .0,
        "x"
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_then_submits_once() {
    let app = app(&[]);
    let event = fixture("s3-object-created-eventbridge.json");
    app.transcoder.fail_next(throttled());
    let err = handle(&app, &event).await.unwrap_err();
    assert!(err.to_string().contains("throttled"), "{err}");
    assert!(
        !app.media.keys().iter().any(|k| k.starts_with("jobs/")),
        "no claim for a job that failed"
    );

    // EventBridge retries the same event.
    let report = handle(&app, &event).await.unwrap();
    assert_eq!(outcome(&report, 0), "submitted");
    assert_eq!(app.transcoder.jobs().len(), 1);
}

#[tokio::test]
async fn a_refused_job_is_an_error_for_the_dead_letter_queue() {
    // A refused CreateJob (bad role, bad queue) is our configuration, not
    // the upload: fail, so the event ends in the DLQ and can be redriven.
    let app = app(&[]);
    app.transcoder.fail_next(CallError {
        failure: CallFailure::Rejected,
        status: Some(400),
        code: Some("BadRequestException".into()),
        message: Some("Unable to assume role".into()),
        request_id: None,
    });
    let err = handle(&app, &fixture("s3-put-classic.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Unable to assume role"), "{err}");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "hlsgate::AwsCallFailed");
}

#[tokio::test]
async fn several_records_one_failing() {
    let mut event = fixture("s3-put-classic.json");
    let record = event["Records"][0].clone();
    let mut second = record.clone();
    second["s3"]["object"]["key"] = json!("uploads/second.mp4");
    second["s3"]["object"]["sequencer"] = json!("00673EFB3980A2B7C5");
    let mut removed = record.clone();
    removed["eventName"] = json!("ObjectRemoved:Delete");
    let mut broken = record.clone();
    broken["s3"]["object"]["key"] = json!("uploads/%FF%FE.mp4");
    event["Records"] = json!([record, second, removed, broken]);

    let app = app(&[]);
    // The first record's job fails; the second still goes.
    app.transcoder.fail_next(throttled());
    assert!(handle(&app, &event).await.is_err());
    assert_eq!(app.transcoder.jobs().len(), 1);
    assert!(app.transcoder.jobs()[0].source_uri.ends_with("second.mp4"));

    // The retry submits the first and finds the second done.
    let report = handle(&app, &event).await.unwrap();
    assert_eq!(outcome(&report, 0), "submitted");
    assert_eq!(outcome(&report, 1), "duplicate");
    assert_eq!(report["uploads"].as_array().unwrap().len(), 2);
    // The undecodable key is skipped and counted, the removal not taken.
    assert_eq!(report["bad_records"], 1);
    assert_eq!(app.transcoder.jobs().len(), 2);
}

#[tokio::test]
async fn long_keys_stay_out_of_the_metadata_but_not_the_claim() {
    let key = format!("uploads/{}.mp4", "a".repeat(300));
    let app = app(&[]);
    handle(
        &app,
        &fixture_with(
            "s3-object-created-eventbridge.json",
            &[("/detail/object/key", json!(key))],
        ),
    )
    .await
    .unwrap();
    let job = &app.transcoder.jobs()[0];
    assert!(!job.metadata.contains_key("sourceKey"));
    assert!(job.video_id.as_str().len() <= 128);
    let claim: JobClaim =
        serde_json::from_slice(&app.media.body(&format!("jobs/{}.json", job.token)).unwrap())
            .unwrap();
    assert_eq!(claim.source_key, key);
}

/// `KEY_EXCHANGE=static`: one key per video folder, stored outside the
/// video folders before the job, reused by a later job for the same folder,
/// and never logged.
#[tokio::test]
async fn an_encrypted_ladder_gets_one_key_per_folder() {
    let app = app(&[("ENCRYPTION", "aes-128"), ("KEY_EXCHANGE", "static")]);
    let logs = LogCapture::default();
    let _g = logs.install();
    handle(&app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap();
    let stored = app
        .media
        .body(&format!("keys/{TOUR_ID}.key"))
        .expect("the key is stored before the job");
    assert_eq!(stored.len(), 16);
    let jobs = app.transcoder.jobs();
    let Some(JobEncryption::Static(key)) = jobs[0].encryption.as_ref() else {
        panic!("the job carries the key")
    };
    assert_eq!(key.bytes().as_slice(), stored.as_ref());
    assert_eq!(format!("{key:?}"), "ContentKey([redacted])");
    // The same name written again: a new job, the same folder, the same key.
    let again = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/sequencer", json!("00FFFFFFFFFFFFFFFF"))],
    );
    handle(&app, &again).await.unwrap();
    let jobs = app.transcoder.jobs();
    assert_eq!(jobs.len(), 2, "a new write is a new job");
    assert_eq!(jobs[1].encryption, jobs[0].encryption);
    assert_eq!(
        app.media.body(&format!("keys/{TOUR_ID}.key")),
        Some(stored.clone())
    );
    let hex: String = stored.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!logs.text().contains(&hex), "the key reached a log");
    // A stored key that is not 16 bytes stops the job: never a second key.
    app.media
        .put(format!("keys/{TOUR_ID}.key"), b"short".to_vec());
    let third = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/sequencer", json!("00FFFFFFFFFFFFFFF0"))],
    );
    let e = handle(&app, &third).await.unwrap_err();
    assert!(e.to_string().contains("not a 16-byte AES-128 key"), "{e}");
    assert_eq!(app.transcoder.jobs().len(), 2);
    // Without ENCRYPTION, no key.
    let plain = crate::common::app(&[]);
    handle(&plain, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap();
    assert!(plain.transcoder.jobs()[0].encryption.is_none());
    assert!(plain.media.body(&format!("keys/{TOUR_ID}.key")).is_none());
}

/// `KEY_EXCHANGE=speke` (the default): the job names the key provider and
/// carries no key; the jobs function neither makes nor reads one (the
/// provider does, when MediaConvert asks).
#[tokio::test]
async fn with_speke_the_job_names_the_provider_and_holds_no_key() {
    let app = app(&[("ENCRYPTION", "aes-128"), ("SPEKE_URL", SPEKE_URL)]);
    handle(&app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap();
    let jobs = app.transcoder.jobs();
    let Some(JobEncryption::Speke { method, provider }) = jobs[0].encryption.as_ref() else {
        panic!("{:?}", jobs[0].encryption)
    };
    assert_eq!(*method, Encryption::Aes128);
    assert_eq!(provider.url, SPEKE_URL);
    assert_eq!(provider.system_ids, [hlsgate_core::speke::HLS_AES_128]);
    assert!(app.media.body(&format!("keys/{TOUR_ID}.key")).is_none());
}
