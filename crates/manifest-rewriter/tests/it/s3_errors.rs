//! S3 trouble, replayed through the SDK's HTTP layer: retries, throttling,
//! denials and server errors become the right status, never S3's words.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use hlsgate_aws::S3Objects;
use hlsgate_aws::sdk::Timeouts;

use crate::common::*;

fn s3_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<Error><Code>{code}</Code><Message>internal S3 words</Message>\
         <RequestId>S3REQ</RequestId></Error>"
    );
    let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    r.headers_mut().insert("x-amz-request-id", "S3REQ");
    r
}

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
