//! The local S3 server behaves as S3 does where our code relies on it.

use aws_sdk_s3::primitives::ByteStream;
use hlsgate_aws::local_s3::LocalS3;
use hlsgate_aws::{Fetched, ObjectSource, S3Objects};

/// S3 answers a read of a key being overwritten with one whole version.
/// s3s-fs opens the old file but reads the new version's stored checksum,
/// and the SDK refuses the body (dev's status polling hit this in CI).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_during_an_overwrite_gets_one_whole_version() {
    let dir = tempfile::tempdir().unwrap();
    let client = LocalS3::start(dir.path()).await.unwrap().client();
    client.create_bucket().bucket("media").send().await.unwrap();
    let versions: Vec<Vec<u8>> = (0..2u8)
        .map(|v| vec![b'a' + v; 2000 + usize::from(v) * 3000])
        .collect();
    let put = |body: Vec<u8>| {
        client
            .put_object()
            .bucket("media")
            .key("status/x.json")
            .body(ByteStream::from(body))
            .send()
    };
    put(versions[0].clone()).await.unwrap();
    let writer = {
        let versions = versions.clone();
        let client = client.clone();
        tokio::spawn(async move {
            for i in 0..150 {
                client
                    .put_object()
                    .bucket("media")
                    .key("status/x.json")
                    .body(ByteStream::from(versions[i % 2].clone()))
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    let objects = S3Objects::new(client.clone(), "media");
    let mut reads = 0;
    while !writer.is_finished() {
        match objects.get("status/x.json", 1 << 20, None).await {
            Ok(Fetched::Object(o)) => assert!(versions.iter().any(|v| *v == o.body[..])),
            other => panic!("read {reads}: {other:?}"),
        }
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 10, "only {reads} reads overlapped the writes");
}

/// The review's reproduction: a page on another site makes the browser send
/// a query-signed `POST /bucket?delete` as `text/plain` (no preflight). The
/// keys were constants in the source; now each server has its own, and such
/// a request is refused even when signed with them.
#[tokio::test]
async fn a_page_shaped_request_cannot_delete_or_plant_objects() {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3::start(dir.path()).await.unwrap();
    let other = LocalS3::start(dir.path()).await.unwrap();
    assert_ne!(server.keys(), other.keys(), "each server has its own keys");
    let client = server.client();
    client.create_bucket().bucket("media").send().await.unwrap();
    client
        .put_object()
        .bucket("media")
        .key("videos/a/master.m3u8")
        .body(ByteStream::from_static(b"#EXTM3U\n"))
        .send()
        .await
        .unwrap();
    let body = "<Delete><Object><Key>videos/a/master.m3u8</Key></Object></Delete>";
    let url = format!("{}/media?delete", server.endpoint());
    // Signed in the query with the server's own keys, as a presigned URL.
    let identity = server.credentials().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(std::time::Duration::from_secs(300));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(LocalS3::REGION)
        .name("s3")
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = server.endpoint().trim_start_matches("http://").to_string();
    let signable = SignableRequest::new(
        "POST",
        &url,
        [("host", host.as_str())].into_iter(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(&url)
        .body(())
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    let signed_url = req.uri().to_string();
    assert!(signed_url.contains("X-Amz-Signature="), "{signed_url}");
    let post = |url: String, content_type: &'static str, host: Option<String>| {
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut r = agent
                .post(&url)
                .header("Origin", "https://evil.example")
                .header("Content-Type", content_type);
            if let Some(h) = host {
                r = r.header("Host", h);
            }
            r.send(body.as_bytes()).unwrap().status().as_u16()
        })
    };
    assert_eq!(
        post(signed_url.clone(), "text/plain", None).await.unwrap(),
        403
    );
    assert_eq!(
        post(url.clone(), "multipart/form-data; boundary=x", None)
            .await
            .unwrap(),
        403
    );
    // Under another name (DNS rebinding), even a plain read is refused.
    let read = format!("{}/media/videos/a/master.m3u8", server.endpoint());
    let rebound = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .get(&read)
            .header("Host", "evil.example")
            .call()
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(rebound.await.unwrap(), 403);
    let still = client
        .head_object()
        .bucket("media")
        .key("videos/a/master.m3u8")
        .send()
        .await;
    assert!(still.is_ok(), "the object was deleted");
    // Another server's keys are refused.
    let stranger =
        hlsgate_aws::sdk::endpoint_s3_client(&server.endpoint(), other.credentials(), None);
    assert!(stranger.list_buckets().send().await.is_err());
}
