//! S3 trouble, replayed through the SDK's HTTP layer: retries, throttling,
//! denials and server errors become the right status, never S3's words.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use hlsgate_aws::S3Objects;
use hlsgate_aws::sdk::Timeouts;
use hlsgate_aws::testing::{FAST_TIMEOUTS, s3_client, s3_error, silent_endpoint};

use crate::common::*;

fn master_output() -> GetObjectOutput {
    let bytes = read("hls/ladder/master.m3u8");
    GetObjectOutput::builder()
        .content_length(bytes.len() as i64)
        .e_tag("\"e1\"")
        .body(ByteStream::from(bytes))
        .build()
}

fn objects(rule: &aws_smithy_mocks::Rule) -> S3Objects {
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [rule], |c| c
        .retry_config(Timeouts::DEFAULT.retry_config()));
    S3Objects::new(client, "media")
}

#[tokio::test]
async fn two_503s_then_success_is_a_200() {
    let rule = mock!(Client::get_object)
        .sequence()
        .http_response(|| s3_error(503, "SlowDown"))
        .times(2)
        .output(master_output)
        .build();
    let app = app_with(&[], objects(&rule));
    let r = call(&app, &Call::master()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn store_trouble_maps_to_status_with_request_id() {
    for (status, code, want, retry_after) in [
        (503, "SlowDown", 503, true),
        (500, "InternalError", 502, false),
        (403, "AccessDenied", 404, false),
        (404, "NoSuchKey", 404, false),
    ] {
        let rule = mock!(Client::get_object)
            .sequence()
            .http_response(move || s3_error(status, code))
            .times(3)
            .build();
        let app = app_with(&[], objects(&rule));
        let r = call(&app, &Call::master()).await;
        assert_eq!(r.status(), want, "S3 {status} {code}");
        let text = String::from_utf8(body(&r)).unwrap();
        assert!(!text.contains("S3 words") && !text.contains(code), "{text}");
        let err: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            err["request_id"], "CmRb2gAvoAMEV1Q=",
            "the request id support can search for"
        );
        assert_eq!(header(&r, "retry-after").is_some(), retry_after, "{status}");
    }
}

/// A store that accepts connections and never answers: each attempt times
/// out, and the viewer gets a 503 to retry, well inside API Gateway's 29 s.
#[tokio::test]
async fn a_silent_store_is_a_503_within_the_time_budget() {
    let client = s3_client(&silent_endpoint().await, FAST_TIMEOUTS);
    let app = app_with(&[], S3Objects::new(client, "media"));
    let started = std::time::Instant::now();
    let r = call(&app, &Call::master()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(json_body(&r)["error"], "storage_busy");
    assert_eq!(header(&r, "retry-after"), Some("1"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
