use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use hlsgate_aws::sdk::Timeouts;
use hlsgate_aws::testing::{FAST_TIMEOUTS, response, s3_client, s3_error, silent_endpoint};
use hlsgate_aws::{Fetched, Object, ObjectSink, ObjectSource, S3Objects, SourceError};

fn ok(body: &'static [u8]) -> GetObjectOutput {
    GetObjectOutput::builder()
        .body(ByteStream::from_static(body))
        .content_length(body.len() as i64)
        .e_tag("\"abc\"")
        .build()
}

/// A client with our production retry policy.
macro_rules! client {
    ($($rule:expr),+) => {
        mock_client!(aws_sdk_s3, RuleMode::Sequential, [$($rule),+], |c| c
            .retry_config(Timeouts::DEFAULT.retry_config()))
    };
}

fn objects(client: Client) -> S3Objects {
    S3Objects::new(client, "media")
}

#[tokio::test]
async fn reads_body_and_etag_from_the_right_bucket_and_key() {
    let rule = mock!(Client::get_object)
        .match_requests(|r| {
            r.bucket() == Some("media")
                && r.key() == Some("videos/a/master.m3u8")
                && r.if_none_match().is_none()
        })
        .then_output(|| ok(b"#EXTM3U\n"));
    let got = objects(client!(&rule))
        .get("videos/a/master.m3u8", 100, None)
        .await;
    assert_eq!(
        got,
        Ok(Fetched::Object(Object {
            body: "#EXTM3U\n".into(),
            etag: Some("\"abc\"".into())
        }))
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn retries_503_twice_then_succeeds() {
    let rule = mock!(Client::get_object)
        .sequence()
        .http_response(|| s3_error(503, "SlowDown"))
        .times(2)
        .output(|| ok(b"#EXTM3U\n"))
        .build();
    let got = objects(client!(&rule)).get("k.m3u8", 100, None).await;
    assert!(matches!(got, Ok(Fetched::Object(_))), "{got:?}");
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_throttled_with_request_id() {
    let rule = mock!(Client::get_object)
        .sequence()
        .http_response(|| s3_error(503, "SlowDown"))
        .times(3)
        .build();
    let got = objects(client!(&rule)).get("k.m3u8", 100, None).await;
    assert_eq!(
        got,
        Err(SourceError::Throttled {
            request_id: Some("REQ123".into())
        })
    );
    assert_eq!(rule.num_calls(), 3, "three attempts in all");
}

#[tokio::test]
async fn server_errors_are_unavailable_without_the_store_text() {
    let rule = mock!(Client::get_object)
        .sequence()
        .http_response(|| s3_error(500, "InternalError"))
        .times(3)
        .build();
    let err = objects(client!(&rule))
        .get("k.m3u8", 100, None)
        .await
        .unwrap_err();
    match &err {
        SourceError::Unavailable { detail, request_id } => {
            assert_eq!(detail, "HTTP 500 InternalError");
            assert_eq!(request_id.as_deref(), Some("REQ123"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("S3 words"));
}

#[tokio::test]
async fn missing_and_forbidden_are_not_found_without_retries() {
    let no_such_key = mock!(Client::get_object)
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let got = objects(client!(&no_such_key))
        .get("k.m3u8", 100, None)
        .await;
    assert_eq!(got, Err(SourceError::NotFound));

    for (status, code) in [(403, "AccessDenied"), (404, "NoSuchKey")] {
        let rule = mock!(Client::get_object).then_http_response(move || s3_error(status, code));
        let got = objects(client!(&rule)).get("k.m3u8", 100, None).await;
        assert_eq!(got, Err(SourceError::NotFound), "{status}");
        assert_eq!(rule.num_calls(), 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn not_modified_answers_a_conditional_read() {
    let rule = mock!(Client::get_object)
        .match_requests(|r| r.if_none_match() == Some("\"abc\""))
        .then_http_response(|| response(304, SdkBody::empty()));
    let got = objects(client!(&rule))
        .get("k.m3u8", 100, Some("\"abc\""))
        .await;
    assert_eq!(got, Ok(Fetched::NotModified));
}

#[tokio::test]
async fn refuses_large_objects_by_length_before_reading() {
    let rule = mock!(Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .body(ByteStream::from_static(b"short"))
            .content_length(10_000_000)
            .build()
    });
    let got = objects(client!(&rule)).get("k.m3u8", 1_000, None).await;
    assert_eq!(
        got,
        Err(SourceError::TooLarge {
            size: 10_000_000,
            limit: 1_000
        })
    );
    // No length header: counted while reading.
    let rule = mock!(Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .body(ByteStream::from_static(b"0123456789"))
            .build()
    });
    let got = objects(client!(&rule)).get("k.m3u8", 4, None).await;
    assert_eq!(got, Err(SourceError::TooLarge { size: 10, limit: 4 }));
}

/// A server that accepts and never answers: the attempt timeout fires on
/// every try and the read ends as a timeout well inside the operation budget.
#[tokio::test]
async fn a_silent_store_times_out() {
    let client = s3_client(&silent_endpoint().await, FAST_TIMEOUTS);
    let started = std::time::Instant::now();
    let got = objects(client).get("k.m3u8", 100, None).await;
    assert_eq!(got, Err(SourceError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn exists_is_a_head_that_maps_404_to_false_and_keeps_other_errors() {
    use aws_sdk_s3::operation::head_object::HeadObjectOutput;
    let found = mock!(Client::head_object)
        .match_requests(|r| r.bucket() == Some("media") && r.key() == Some("videos/a/master.m3u8"))
        .then_output(|| HeadObjectOutput::builder().content_length(8).build());
    let o = objects(client!(&found));
    assert_eq!(o.exists("videos/a/master.m3u8").await, Ok(true));

    // HEAD answers carry no body: the SDK sees a bare 404 or 403.
    for status in [404, 403] {
        let missing = mock!(Client::head_object)
            .then_http_response(move || response(status, SdkBody::empty()));
        let o = objects(client!(&missing));
        assert_eq!(
            o.exists("videos/b/master.m3u8").await,
            Ok(false),
            "{status}"
        );
        assert_eq!(missing.num_calls(), 1, "not retried");
    }

    let busy = mock!(Client::head_object).then_http_response(|| response(503, SdkBody::empty()));
    let o = objects(client!(&busy));
    assert!(matches!(
        o.exists("videos/c/master.m3u8").await,
        Err(SourceError::Throttled { .. })
    ));
    assert_eq!(busy.num_calls(), 3, "retried like a GET");
}

#[tokio::test]
async fn refused_writes_are_unavailable_without_the_store_text() {
    // A write refused for lack of permission is not "not found", and like a
    // read it carries the status and code, never S3's own words.
    let rule = mock!(Client::put_object).then_http_response(|| s3_error(403, "AccessDenied"));
    let err = objects(client!(&rule))
        .write(
            "jobs/t.json",
            bytes::Bytes::from_static(b"{}"),
            "application/json",
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Unavailable {
            detail: "HTTP 403 AccessDenied".into(),
            request_id: Some("REQ123".into())
        }
    );
}
