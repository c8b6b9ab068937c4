//! The processing status (`status/ID.json`) through the jobs function's
//! real events: it only moves forward, and a new upload starts over.

use hlsgate_aws::MemoryObjects;
use hlsgate_mediaconvert_jobs::handle;
use serde_json::{Value, json};

use crate::common::*;

/// The stored status of `id`, as JSON.
pub fn stored(media: &MemoryObjects, id: &str) -> Value {
    let body = media
        .body(&format!("status/{id}.json"))
        .unwrap_or_else(|| panic!("no status for {id} in {:?}", media.keys()));
    serde_json::from_slice(&body).unwrap()
}

/// A job event fixture for the job `submit` made, with its token.
fn job_event(name: &str, token: &str) -> Value {
    let mut v = fixture(name);
    v["detail"]["jobId"] = json!("job-1");
    v["detail"]["userMetadata"]["token"] = json!(token);
    v
}

#[tokio::test]
async fn the_status_moves_through_each_state_from_the_real_events() {
    let app = app(&[]);
    let upload = fixture("s3-object-created-eventbridge.json");
    let state = |app: &FakeApp| stored(&app.media, TOUR_ID);

    // Taken, but CreateJob was throttled: uploaded, and retried.
    app.transcoder.fail_next(throttled());
    handle(&app, &upload).await.unwrap_err();
    let s = state(&app);
    assert_eq!(s["state"], "uploaded");
    assert_eq!(s["video_id"], TOUR_ID);
    assert_eq!(s["source_key"], "uploads/launch/Product Tour.mp4");
    assert!(s["updated_at"].as_u64().unwrap() > 1_700_000_000);

    handle(&app, &upload).await.unwrap();
    let token = app.transcoder.jobs()[0].token.clone();
    let s = state(&app);
    assert_eq!(
        (&s["state"], &s["job_id"]),
        (&json!("submitted"), &json!("job-1"))
    );
    assert_eq!(s["token"], token);

    handle(&app, &job_event("mediaconvert-progressing.json", &token))
        .await
        .unwrap();
    assert_eq!(state(&app)["state"], "progressing");
    assert!(state(&app).get("percent").is_none());

    let update = job_event("mediaconvert-status-update.json", &token);
    handle(&app, &update).await.unwrap();
    let s = state(&app);
    assert_eq!(
        (&s["state"], &s["percent"], &s["phase"]),
        (&json!("progressing"), &json!(47), &json!("TRANSCODING"))
    );
    // Progress is recorded without NOTIFY_PROGRESS, and not published.
    assert!(app.notifier.notices().is_empty());

    // An older update delivered late: the percent does not go back.
    let mut older = update.clone();
    older["detail"]["jobProgress"]["jobPercentComplete"] = json!(20);
    handle(&app, &older).await.unwrap();
    assert_eq!(state(&app)["percent"], 47);

    handle(&app, &job_event("mediaconvert-complete.json", &token))
        .await
        .unwrap();
    let done = state(&app);
    assert_eq!(done["state"], "complete");
    assert_eq!(done["duration_seconds"], 184.12);
    assert_eq!(done["renditions"].as_array().unwrap().len(), 5);
    assert_eq!(done["renditions"][0]["width"], 1920);

    // Late and repeated news changes nothing: the end is final.
    handle(&app, &update).await.unwrap();
    handle(&app, &upload).await.unwrap();
    assert_eq!(state(&app), done);
}

#[tokio::test]
async fn a_failed_job_records_mediaconverts_code_and_message() {
    let app = app(&[]);
    handle(&app, &fixture("mediaconvert-error.json"))
        .await
        .unwrap();
    let s = stored(&app.media, TRIP_ID);
    assert_eq!(s["state"], "error");
    assert_eq!(s["code"], 1010);
    assert!(s["message"].as_str().unwrap().len() > 10, "{s}");
    assert!(s["job_id"].is_string());
}

#[tokio::test]
async fn a_new_upload_of_the_key_starts_over_and_the_old_jobs_news_is_ignored() {
    let app = app(&[]);
    let first = fixture("s3-object-created-eventbridge.json");
    handle(&app, &first).await.unwrap();
    let old_token = app.transcoder.jobs()[0].token.clone();

    let second = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/sequencer", json!("00673EF9BB1A2C3D4F"))],
    );
    handle(&app, &second).await.unwrap();
    let new_token = app.transcoder.jobs()[1].token.clone();
    assert_ne!(old_token, new_token);
    let s = stored(&app.media, TOUR_ID);
    assert_eq!(
        (&s["state"], &s["token"]),
        (&json!("submitted"), &json!(new_token))
    );

    handle(&app, &job_event("mediaconvert-complete.json", &old_token))
        .await
        .unwrap();
    assert_eq!(stored(&app.media, TOUR_ID)["state"], "submitted");
    handle(&app, &job_event("mediaconvert-complete.json", &new_token))
        .await
        .unwrap();
    assert_eq!(stored(&app.media, TOUR_ID)["state"], "complete");
}

#[tokio::test]
async fn an_ignored_upload_has_no_status() {
    let app = app(&[]);
    let other = fixture_with(
        "s3-object-created-eventbridge.json",
        &[("/detail/object/key", json!("elsewhere/a.mp4"))],
    );
    handle(&app, &other).await.unwrap();
    assert!(app.media.keys().is_empty());
}
