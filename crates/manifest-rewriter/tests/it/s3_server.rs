//! Against a real S3 protocol server (s3s-fs) on loopback, through the real
//! SDK client: upload the ladder, request the master, follow every child.

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use hlsgate_aws::{Fetched, ObjectSource, S3Objects};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

use crate::common::*;

/// Starts s3s-fs over `root` on 127.0.0.1 and returns a client for it.
async fn s3_server(root: &std::path::Path) -> aws_sdk_s3::Client {
    let creds = Credentials::for_tests();
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(
            creds.access_key_id(),
            creds.secret_access_key(),
        ));
        b.build()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let svc = service.clone();
            tokio::spawn(async move {
                let _ = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(format!("http://{addr}"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn uploaded() -> (tempfile::TempDir, aws_sdk_s3::Client) {
    let dir = tempfile::tempdir().unwrap();
    let client = s3_server(dir.path()).await;
    client.create_bucket().bucket("media").send().await.unwrap();
    for (key, bytes) in ladder_files() {
        client
            .put_object()
            .bucket("media")
            .key(&key)
            .content_type("application/vnd.apple.mpegurl")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }
    (dir, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_uploaded_ladder_with_every_uri_signed() {
    let (_dir, client) = uploaded().await;
    let app = app_with(&[], S3Objects::new(client, "media"));
    let master_url = format!("{CDN}/videos/demo/master.m3u8");
    let r = call(&app, &Call::master().shape(Shape::Rest)).await;
    assert_eq!(r.status(), 200, "{:?}", body(&r));
    let mut todo = check_signed(&String::from_utf8(body(&r)).unwrap(), &master_url);
    let mut seen = 0;
    while let Some(url) = todo.pop() {
        let u = url::Url::parse(&url).unwrap();
        let q: Vec<String> = u
            .query_pairs()
            .filter(|(n, _)| n.ends_with(SUFFIX))
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let r = call(&app, &Call::get(u.path(), &q.join("&"))).await;
        assert_eq!(r.status(), 200, "{url}");
        check_signed(&String::from_utf8(body(&r)).unwrap(), &url);
        seen += 1;
    }
    assert_eq!(seen, 6);

    let missing = call(
        &app,
        &Call::get(
            "/videos/nope/master.m3u8",
            &forwarded_query(&signed_folder("nope")),
        ),
    )
    .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_adapter_reads_etags_and_limits_sizes() {
    let (_dir, client) = uploaded().await;
    let objects = S3Objects::new(client, "media");
    let Fetched::Object(o) = objects
        .get("videos/demo/master.m3u8", 1 << 20, None)
        .await
        .unwrap()
    else {
        panic!("expected the object");
    };
    assert_eq!(o.body, read("hls/ladder/master.m3u8"));
    let etag = o.etag.expect("S3 sends an ETag");
    let again = objects
        .get("videos/demo/master.m3u8", 1 << 20, Some(&etag))
        .await
        .unwrap();
    // s3s-fs ignores If-None-Match and sends the object again; real S3
    // answers 304 (replayed in hlsgate-aws's tests). Either is handled.
    match again {
        Fetched::NotModified => {}
        Fetched::Object(o) => assert_eq!(o.etag.as_deref(), Some(etag.as_str())),
    }
    let small = objects.get("videos/demo/master.m3u8", 100, None).await;
    assert!(matches!(
        small,
        Err(hlsgate_aws::SourceError::TooLarge { limit: 100, .. })
    ));
    let none = objects.get("videos/demo/none.m3u8", 100, None).await;
    assert_eq!(none, Err(hlsgate_aws::SourceError::NotFound));
}
