//! `GET /videos/{id}/status`: the status the jobs function recorded, to
//! its uploader and to status readers only.

use bytes::Bytes;
use hlsgate_core::status::{Status, Step};
use hlsgate_core::video::VideoId;
use serde_json::json;

use crate::common::*;

/// The key `who` gets for `name`, as `POST /uploads` answers it.
async fn key_of(t: &TestApp, who: Who, name: &str) -> String {
    let (status, created) = t
        .json(
            Some(who),
            "POST",
            "/uploads",
            Some(&json!({"name": name, "size": 10})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["key"].as_str().unwrap().to_string()
}

async fn store(t: &TestApp, key: &str, step: Step) -> VideoId {
    let id = VideoId::from_upload(UPLOADS, key, "uploads/");
    let status = Status {
        video_id: id.clone(),
        source_key: key.into(),
        token: Some("t0ken".into()),
        step,
        updated_at: 1_796_000_000,
    };
    t.s3.put_object()
        .bucket(MEDIA)
        .key(format!("status/{id}.json"))
        .body(Bytes::from(status.to_json()).into())
        .send()
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn the_uploader_and_status_readers_see_the_status_and_no_one_else() {
    let t = test_app(&[]).await;
    let key = key_of(&t, EDITOR, "talk.mp4").await;
    let step = Step::Progressing {
        job_id: "job-1".into(),
        percent: Some(42),
        phase: Some("TRANSCODING".into()),
    };
    let id = store(&t, &key, step).await;
    let path = format!("/videos/{id}/status");
    for who in [EDITOR, BACKEND] {
        let (status, body) = t.json(Some(who), "GET", &path, None).await;
        assert_eq!(status, 200, "{who:?}: {body}");
        assert_eq!(body["state"], "progressing");
        assert_eq!(body["percent"], 42);
        assert_eq!(body["video_id"], id.as_str());
        assert!(body.get("token").is_none(), "{body}");
    }
    let (status, body) = t.json(Some(OTHER_EDITOR), "GET", &path, None).await;
    assert_eq!((status, &body["error"]), (404, &json!("not_found")));
    let (status, body) = t.json(Some(VIEWER), "GET", &path, None).await;
    assert_eq!((status, &body["error"]), (403, &json!("not_uploader")));
    let (status, _) = t.json(None, "GET", &path, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn each_state_reads_back_and_a_missing_or_bad_id_is_said() {
    let t = test_app(&[]).await;
    let key = key_of(&t, EDITOR, "talk.mp4").await;
    let steps = [
        (Step::Uploaded, json!({"state": "uploaded"})),
        (
            Step::Submitted { job_id: "j".into() },
            json!({"state": "submitted", "job_id": "j"}),
        ),
        (
            Step::Complete {
                job_id: "j".into(),
                duration_seconds: Some(12.5),
                renditions: vec![hlsgate_core::video::Rendition {
                    width: 640,
                    height: 360,
                    bitrate: Some(800_000),
                }],
            },
            json!({"state": "complete", "duration_seconds": 12.5, "renditions": [{"width": 640, "height": 360, "bitrate": 800_000}]}),
        ),
        (
            Step::error(Some("j".into()), Some(1010), None, "no video stream"),
            json!({"state": "error", "code": 1010, "message": "no video stream"}),
        ),
    ];
    for (step, expect) in steps {
        let id = store(&t, &key, step).await;
        let (status, body) = t
            .json(Some(EDITOR), "GET", &format!("/videos/{id}/status"), None)
            .await;
        assert_eq!(status, 200);
        for (k, v) in expect.as_object().unwrap() {
            assert_eq!(&body[k], v, "{k}: {body}");
        }
    }
    let unknown = VideoId::from_upload(UPLOADS, "uploads/none.mp4", "uploads/");
    let (status, body) = t
        .json(
            Some(EDITOR),
            "GET",
            &format!("/videos/{unknown}/status"),
            None,
        )
        .await;
    assert_eq!((status, &body["error"]), (404, &json!("not_found")));
    let (status, body) = t
        .json(Some(EDITOR), "GET", "/videos/a.b/status", None)
        .await;
    assert_eq!((status, &body["error"]), (400, &json!("bad_video_id")));
}
