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
async fn each_part_url_takes_only_its_own_length() {
    // The URL signs its part's Content-Length: S3 refuses any other body.
    let t = test_app(&[("MAX_UPLOAD_BYTES", &(6 * MIB).to_string())]).await;
    let (_, created) = create(&t, EDITOR, "a.mp4", 6 * MIB).await;
    let urls = created["urls"].as_array().unwrap();
    assert_eq!(
        (&urls[0]["bytes"], &urls[1]["bytes"]),
        (&json!(5 * MIB), &json!(MIB))
    );
    let last = urls[1]["url"].as_str().unwrap();
    assert!(last.contains("content-length"), "{last}");
    let stored_parts = || async {
        let id = upload_id(&created);
        let listed =
            t.s3.list_parts()
                .bucket(UPLOADS)
                .key(created["key"].as_str().unwrap())
                .upload_id(id)
                .send()
                .await
                .unwrap();
        listed.parts().len()
    };
    for len in [3 * MIB, MIB - 1, 0] {
        // Refused: a 403, or the connection closed under a large body.
        if let Some((status, body)) = put_part_status(last, bytes(len, 3)).await {
            assert_eq!(status, 403, "{len} bytes into a {MIB}-byte part: {body}");
        }
        assert_eq!(stored_parts().await, 0, "{len} bytes were stored");
    }
    let (status, _) = put_part_status(last, bytes(MIB, 3)).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(stored_parts().await, 1);
}

#[tokio::test]
async fn what_was_sent_is_measured_before_it_is_assembled() {
    // Parts written around the URLs (a leaked credential, or a store that
    // binds no length): larger than declared, and than MAX_UPLOAD_BYTES, is
    // refused and aborted; any other total is refused too.
    let t = test_app(&[("MAX_UPLOAD_BYTES", &(6 * MIB).to_string())]).await;
    for (second, error, says) in [
        (3 * MIB, "too_large", (8 * MIB).to_string()),
        (
            MIB / 2,
            "size_mismatch",
            "declared 6291456 bytes".to_string(),
        ),
    ] {
        let (_, created) = create(&t, EDITOR, "a.mp4", 6 * MIB).await;
        let key = created["key"].as_str().unwrap();
        let id = upload_id(&created);
        let mut parts = Vec::new();
        for (n, len) in [(1, 5 * MIB), (2, second)] {
            let etag = sdk_put_part(&t, key, &id, n, bytes(len, 3)).await;
            parts.push(json!({"number": n, "etag": etag}));
        }
        let (status, body) = complete(&t, &created, &json!({"parts": parts})).await;
        assert_eq!((status, &body["error"]), (400, &json!(error)), "{body}");
        assert!(body["message"].as_str().unwrap().contains(&says), "{body}");
        assert!(
            t.s3.head_object()
                .bucket(UPLOADS)
                .key(key)
                .send()
                .await
                .is_err()
        );
    }
}

/// The review's reproduction: the uploader re-sends a part between the
/// listing and the assembly. What is assembled is what was listed, or
/// nothing; never a larger object.
#[tokio::test]
async fn a_part_sent_again_after_the_listing_is_never_assembled() {
    let t = test_app(&[]).await;
    let s3 = t.s3.clone();
    let racing = RacingStore {
        inner: t.app.uploads.clone(),
        s3: s3.clone(),
        fired: Default::default(),
    };
    let app = hlsgate_upload_api::App::new(
        config(&[]),
        racing,
        hlsgate_aws::S3Objects::new(s3.clone(), MEDIA),
    );
    let r = hlsgate_upload_api::handle(
        &app,
        request(
            Some(EDITOR),
            "POST",
            "/uploads",
            Some(&create_body("race.mp4", 6)),
        )
        .request(),
    )
    .await;
    let created = json_of(&r);
    let url = created["urls"][0]["url"].as_str().unwrap();
    let etag = put_part(url, b"sixbyt".to_vec()).await;
    let done = json!({"parts": [{"number": 1, "etag": etag}]});
    let r = hlsgate_upload_api::handle(
        &app,
        request(
            Some(EDITOR),
            "POST",
            &format!("/{}", created["complete"].as_str().unwrap()),
            Some(&done),
        )
        .request(),
    )
    .await;
    assert!(app.uploads.fired.load(std::sync::atomic::Ordering::SeqCst));
    let key = created["key"].as_str().unwrap();
    match t.s3.head_object().bucket(UPLOADS).key(key).send().await {
        Ok(o) => assert_eq!(o.content_length(), Some(6), "assembled: {:?}", json_of(&r)),
        Err(_) => assert!(r.status().is_client_error(), "{:?}", json_of(&r)),
    }
    assert_ne!(r.status(), 200, "{:?}", json_of(&r));
}

/// An `UploadStore` that, once S3 has listed the parts, writes part 1
/// again with 10 MiB, as the uploader in the review did.
#[derive(Clone)]
struct RacingStore {
    inner: hlsgate_upload_api::S3Uploads,
    s3: aws_sdk_s3::Client,
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl hlsgate_upload_api::UploadStore for RacingStore {
    async fn start(&self, key: &str, t: &str) -> Result<String, hlsgate_aws::CallError> {
        self.inner.start(key, t).await
    }
    async fn part_urls(
        &self,
        key: &str,
        id: &str,
        parts: &[(u32, u64)],
        ttl: std::time::Duration,
    ) -> Result<Vec<String>, hlsgate_aws::CallError> {
        self.inner.part_urls(key, id, parts, ttl).await
    }
    async fn parts(
        &self,
        key: &str,
        id: &str,
    ) -> Result<Vec<hlsgate_upload_api::StoredPart>, hlsgate_aws::CallError> {
        let listed = self.inner.parts(key, id).await?;
        self.s3
            .upload_part()
            .bucket(UPLOADS)
            .key(key)
            .upload_id(id)
            .part_number(1)
            .body(bytes(10 * MIB, 9).into())
            .send()
            .await
            .unwrap();
        self.fired.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(listed)
    }
    async fn complete(
        &self,
        key: &str,
        id: &str,
        parts: &[hlsgate_upload_api::PartDone],
        total: u64,
    ) -> Result<(), hlsgate_aws::CallError> {
        self.inner.complete(key, id, parts, total).await
    }
    async fn abort(&self, key: &str, id: &str) -> Result<(), hlsgate_aws::CallError> {
        self.inner.abort(key, id).await
    }
}

#[tokio::test]
async fn a_list_that_is_not_what_s3_holds_is_refused_before_assembly() {
    let t = test_app(&[]).await;
    let (_, created) = create(&t, EDITOR, "b.mp4", 5 * MIB + 10).await;
    let urls = created["urls"].as_array().unwrap();
    let e1 = put_part(urls[0]["url"].as_str().unwrap(), bytes(5 * MIB, 1)).await;
    let e2 = put_part(urls[1]["url"].as_str().unwrap(), bytes(10, 2)).await;
    for parts in [
        json!([{"number": 1, "etag": e1}]),
        json!([{"number": 1, "etag": e1}, {"number": 2, "etag": "\"0123\""}]),
    ] {
        let (status, body) = complete(&t, &created, &json!({"parts": parts})).await;
        assert_eq!(
            (status, &body["error"]),
            (400, &json!("invalid_part")),
            "{body}"
        );
    }
    // Quotes or none, the list S3 holds completes.
    let unquoted = e2.trim_matches('"').to_string();
    let parts = json!([{"number": 1, "etag": e1}, {"number": 2, "etag": unquoted}]);
    let (status, body) = complete(&t, &created, &json!({"parts": parts})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["size"], 5 * MIB + 10);
}

#[tokio::test]
async fn a_handle_changed_in_any_way_is_404_on_every_route() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let t = test_app(&[]).await;
    let (_, created) = create(&t, EDITOR, "c.mp4", 6).await;
    let handle = created["upload"].as_str().unwrap();
    let (payload, tag) = handle.split_once('.').unwrap();
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    // More parts (the review's `parts=10000`), a larger size, and the old
    // unsigned form, each with the original MAC or none.
    let grown = text.replacen("\n6\n", "\n52428800000\n", 1);
    assert_ne!(grown, text);
    let forged = [
        format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&grown)),
        URL_SAFE_NO_PAD.encode(&grown),
        URL_SAFE_NO_PAD.encode(format!("{}\n10000", created["key"].as_str().unwrap())),
        format!("{handle}x"),
    ];
    for f in &forged {
        for (method, path) in [
            ("GET", format!("/uploads/{f}/parts?from=9901")),
            ("DELETE", format!("/uploads/{f}")),
            ("POST", format!("/uploads/{f}/complete")),
        ] {
            let body = json!({"parts": [{"number": 1, "etag": "\"x\""}]});
            let (status, answer) = t.json(Some(EDITOR), method, &path, Some(&body)).await;
            assert_eq!(
                (status, &answer["error"]),
                (404, &json!("no_such_upload")),
                "{method} {path}"
            );
        }
    }
    // The handle as given still works.
    let (status, _) = t
        .json(
            Some(EDITOR),
            "GET",
            &format!("/uploads/{handle}/parts"),
            None,
        )
        .await;
    assert_eq!(status, 200);
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
    for junk in ["nothandle", "dXBsb2Fkcy9hLm1wNApiCjE", "a.b"] {
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

/// `complete` tells S3 the total (`MpuObjectSize`): a total other than the
/// parts' is refused by S3 itself, here by the local S3 as S3 does.
#[tokio::test]
async fn s3_is_told_the_total_and_refuses_another() {
    use hlsgate_upload_api::{PartDone, UploadStore};
    let t = test_app(&[]).await;
    let (_, created) = create(&t, EDITOR, "d.mp4", 6).await;
    let key = created["key"].as_str().unwrap();
    let id = upload_id(&created);
    let etag = put_part(created["urls"][0]["url"].as_str().unwrap(), bytes(6, 1)).await;
    let parts = [PartDone { number: 1, etag }];
    let e = t
        .app
        .uploads
        .complete(key, &id, &parts, 7)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("InvalidRequest"), "{e}");
    t.app.uploads.complete(key, &id, &parts, 6).await.unwrap();
}
