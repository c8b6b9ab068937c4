//! `POST /uploads`, the parts route, complete and abort, against s3s-fs.

use hlsgate_core::video::VideoId;
use serde_json::{Value, json};

use crate::common::*;

fn create_body(name: &str, size: u64) -> Value {
    json!({"name": name, "size": size, "content_type": "video/mp4"})
}

/// `POST /uploads` by `who` for `name` of `size` bytes.
async fn create(t: &TestApp, who: Who, name: &str, size: u64) -> (u16, Value) {
    t.json(
        Some(who),
        "POST",
        "/uploads",
        Some(&create_body(name, size)),
    )
    .await
}

#[tokio::test]
async fn presigned_parts_put_like_a_browser_become_the_upload() {
    let t = test_app(&[]).await;
    let size = 5 * MIB + 1000;
    let (status, created) = create(&t, EDITOR, "My Trip.mp4", size).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["parts"], 2);
    assert_eq!(created["part_bytes"], 5 * MIB);
    assert_eq!(created["expires_in"], 900);
    assert!(created["next"].is_null());
    let key = created["key"].as_str().unwrap().to_string();
    // uploads/<16 hex of the uploader's pseudonym>/<16 hex random>/My Trip.mp4
    let segments: Vec<&str> = key.split('/').collect();
    assert_eq!(segments[0], "uploads");
    assert_eq!(segments[1].len(), 16);
    assert_eq!(segments[2].len(), 16);
    assert_eq!(segments[3], "My Trip.mp4");
    let video_id = VideoId::from_upload(UPLOADS, &key, "uploads/");
    assert_eq!(created["video_id"], video_id.as_str());
    assert!(video_id.as_str().contains("-my-trip_"), "{video_id}");
    assert_eq!(created["status"], format!("videos/{video_id}/status"));

    let urls = created["urls"].as_array().unwrap();
    assert_eq!(urls.len(), 2);
    let file = [bytes(5 * MIB, 1), bytes(1000, 2)];
    let mut parts = Vec::new();
    for (u, body) in urls.iter().zip(&file) {
        let url = u["url"].as_str().unwrap();
        assert!(
            url.contains("X-Amz-Signature=") && url.contains("uploadId="),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=900"), "{url}");
        parts.push(json!({"number": u["number"], "etag": put_part(url, body.clone()).await}));
    }
    let (status, done) = t
        .json(
            Some(EDITOR),
            "POST",
            &format!("/{}", created["complete"].as_str().unwrap()),
            Some(&json!({"parts": parts})),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["video_id"], video_id.as_str());
    assert_eq!(done["size"], size);

    let object =
        t.s3.get_object()
            .bucket(UPLOADS)
            .key(&key)
            .send()
            .await
            .unwrap();
    assert_eq!(object.content_type(), Some("video/mp4"));
    let stored = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(stored.len() as u64, size);
    assert_eq!(
        &stored[..],
        &[file[0].clone(), file[1].clone()].concat()[..]
    );

    // Two uploads of one name by one uploader never share a key.
    let (_, again) = create(&t, EDITOR, "My Trip.mp4", size).await;
    assert_ne!(again["key"], created["key"]);
    assert_eq!(
        again["key"].as_str().unwrap()[..24],
        key[..24],
        "same uploader segment"
    );
    let (_, theirs) = create(&t, OTHER_EDITOR, "My Trip.mp4", size).await;
    assert_ne!(theirs["key"].as_str().unwrap()[..24], key[..24]);
}

#[tokio::test]
async fn a_large_file_gets_its_part_urls_in_batches_and_can_be_aborted() {
    let t = test_app(&[]).await;
    let (status, created) = create(&t, EDITOR, "long.mov", 150 * 5 * MIB).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["parts"], 150);
    assert_eq!(created["urls"].as_array().unwrap().len(), 100);
    assert_eq!(created["urls"][99]["number"], 100);
    let next = created["next"].as_str().unwrap();
    let (status, more) = t.json(Some(EDITOR), "GET", &format!("/{next}"), None).await;
    assert_eq!(status, 200, "{more}");
    let urls = more["urls"].as_array().unwrap();
    assert_eq!(
        (urls.len(), &urls[0]["number"], &urls[49]["number"]),
        (50, &json!(101), &json!(150))
    );
    assert!(more["next"].is_null());
    let upload = created["upload"].as_str().unwrap();
    for bad in ["0", "151", "x"] {
        let (status, body) = t
            .json(
                Some(EDITOR),
                "GET",
                &format!("/uploads/{upload}/parts?from={bad}"),
                None,
            )
            .await;
        assert_eq!((status, &body["error"]), (400, &json!("bad_from")), "{bad}");
    }

    // Someone else's upload does not exist for them.
    for (method, path) in [
        ("GET", format!("/uploads/{upload}/parts")),
        ("DELETE", format!("/uploads/{upload}")),
        ("POST", format!("/uploads/{upload}/complete")),
    ] {
        let body = json!({"parts": [{"number": 1, "etag": "\"x\""}]});
        let (status, answer) = t.json(Some(OTHER_EDITOR), method, &path, Some(&body)).await;
        assert_eq!(
            (status, &answer["error"]),
            (404, &json!("no_such_upload")),
            "{method} {path}"
        );
    }

    let r = t
        .call(Some(EDITOR), "DELETE", &format!("/uploads/{upload}"), None)
        .await;
    assert_eq!(r.status(), 204);
    let uploads = t.s3.list_objects_v2().bucket(UPLOADS).send().await.unwrap();
    assert_eq!(uploads.key_count(), Some(0));
}

#[tokio::test]
async fn what_was_sent_is_measured_before_it_is_assembled() {
    // A presigned part URL takes any length: a file larger than declared,
    // and than MAX_UPLOAD_BYTES, is refused and aborted.
    let t = test_app(&[("MAX_UPLOAD_BYTES", &(6 * MIB).to_string())]).await;
    let (_, created) = create(&t, EDITOR, "a.mp4", 6 * MIB).await;
    let urls = created["urls"].as_array().unwrap();
    let mut parts = Vec::new();
    for (u, len) in urls.iter().zip([5 * MIB, 3 * MIB]) {
        let etag = put_part(u["url"].as_str().unwrap(), bytes(len, 3)).await;
        parts.push(json!({"number": u["number"], "etag": etag}));
    }
    let (status, body) = t
        .json(
            Some(EDITOR),
            "POST",
            &format!("/{}", created["complete"].as_str().unwrap()),
            Some(&json!({"parts": parts})),
        )
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("too_large")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&(8 * MIB).to_string()),
        "{body}"
    );
    let key = created["key"].as_str().unwrap();
    assert!(
        t.s3.head_object()
            .bucket(UPLOADS)
            .key(key)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn bad_requests_are_clear_400s_and_strangers_are_refused() {
    let t = test_app(&[("MAX_UPLOAD_BYTES", "1000000")]).await;
    let cases: [(Value, &str, &str); 8] = [
        (
            create_body("big.mp4", 1_000_001),
            "too_large",
            "1000001 bytes",
        ),
        (
            create_body("a.exe", 10),
            "bad_extension",
            "mp4, mov, m4v, mkv, webm",
        ),
        (create_body("../a.mp4", 10), "bad_name", "letters, digits"),
        (create_body("a/b.mp4", 10), "bad_name", "letters, digits"),
        (create_body("a.mp4", 0), "empty", "empty"),
        (json!({"name": "a.mp4"}), "bad_json", "size"),
        (
            json!({"name": "a.mp4", "size": 1, "content_type": "text/html"}),
            "bad_content_type",
            "video/",
        ),
        (
            json!({"name": "a.mp4", "size": 1, "extra": 1}),
            "bad_json",
            "extra",
        ),
    ];
    for (body, code, says) in cases {
        let (status, answer) = t.json(Some(EDITOR), "POST", "/uploads", Some(&body)).await;
        assert_eq!(
            (status, answer["error"].as_str().unwrap()),
            (400, code),
            "{body}: {answer}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    let ok = create_body("a.mp4", 10);
    let (status, answer) = t.json(Some(VIEWER), "POST", "/uploads", Some(&ok)).await;
    assert_eq!((status, &answer["error"]), (403, &json!("not_uploader")));
    assert!(
        answer.get("message").is_none(),
        "a 403 says nothing more: {answer}"
    );
    let (status, answer) = t.json(None, "POST", "/uploads", Some(&ok)).await;
    assert_eq!((status, &answer["error"]), (401, &json!("unauthenticated")));
    let (status, _) = t.json(Some(EDITOR), "GET", "/uploads", None).await;
    assert_eq!(status, 405);
    let (status, _) = t.json(Some(EDITOR), "GET", "/elsewhere", None).await;
    assert_eq!(status, 404);
    for junk in ["nothandle", "dXBsb2Fkcy9hLm1wNApiCjE"] {
        let (status, answer) = t
            .json(Some(EDITOR), "DELETE", &format!("/uploads/{junk}"), None)
            .await;
        assert_eq!(
            (status, &answer["error"]),
            (404, &json!("no_such_upload")),
            "{junk}"
        );
    }
    let (_, created) = t.json(Some(EDITOR), "POST", "/uploads", Some(&ok)).await;
    let complete = format!("/{}", created["complete"].as_str().unwrap());
    for parts in [
        json!([]),
        json!([{"number": 2, "etag": "\"e\""}]),
        json!([{"number": 1, "etag": ""}]),
    ] {
        let (status, answer) = t
            .json(
                Some(EDITOR),
                "POST",
                &complete,
                Some(&json!({"parts": parts})),
            )
            .await;
        assert_eq!(
            (status, &answer["error"]),
            (400, &json!("bad_parts")),
            "{parts}"
        );
    }
}

#[tokio::test]
async fn answers_are_private_and_a_browser_may_ask_from_the_player() {
    let t = test_app(&[]).await;
    let r = handle_preflight(&t).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], PLAYER);
    assert_eq!(
        r.headers()["access-control-allow-methods"],
        "GET, POST, DELETE, OPTIONS"
    );
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "Authorization, Content-Type"
    );
    let r = t
        .call(
            Some(EDITOR),
            "POST",
            "/uploads",
            Some(&create_body("a.mp4", 10)),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
}

async fn handle_preflight(t: &TestApp) -> lambda_http::Response<lambda_http::Body> {
    let req = request(None, "OPTIONS", "/uploads", None)
        .header("origin", PLAYER)
        .header("access-control-request-method", "POST")
        .request();
    hlsgate_upload_api::handle(&t.app, req).await
}
