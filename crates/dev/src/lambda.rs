//! Calling the Lambda handlers the way API Gateway does: each request
//! becomes an HTTP API (payload 2.0) event, read by `lambda_http` exactly as
//! in Lambda, and the handler's answer becomes an HTTP response.

use std::net::SocketAddr;

use bytes::Bytes;
use hlsgate_aws::testing::{ApiRequest, Shape};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use lambda_http::Body;
use serde_json::Value;

/// The HTTP API request API Gateway would send the function for a request
/// this server received: payload 2.0 from the typed event, through the same
/// builder the functions' tests use.
pub fn http_api_request(
    method: &Method,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    peer: SocketAddr,
    route_key: &str,
) -> ApiRequest {
    let mut r = ApiRequest::new(Shape::Http)
        .method(method.as_str())
        .path(path)
        .query(query)
        .source_ip(&peer.ip().to_string())
        .route_key(route_key)
        .request_id(&crate::setup::random_token(8).unwrap_or_else(|_| "-".to_string()));
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r
}

/// A handler's answer as an HTTP response.
pub fn response(resp: lambda_http::Response<Body>) -> Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, Full::new(bytes))
}

/// A small JSON answer.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// Headers as (name, value) pairs; values that are not text are dropped.
pub fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}
