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
