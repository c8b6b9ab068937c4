//! Calling the Lambda handlers the way API Gateway does: each request
//! becomes an HTTP API (payload 2.0) event, read by `lambda_http` exactly as
//! in Lambda, and the handler's answer becomes an HTTP response.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use lambda_http::Body;
use serde_json::{Map, Value, json};

/// What an HTTP API event needs from a request.
#[derive(Debug, Default)]
pub struct EventParts<'a> {
    pub method: &'a str,
    /// The raw (still percent-encoded) path.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub headers: Vec<(String, String)>,
    pub peer: Option<SocketAddr>,
    pub route_key: &'a str,
    pub path_parameters: Value,
    /// `requestContext.authorizer`, when a route has one.
    pub authorizer: Option<Value>,
}

/// The event API Gateway's HTTP API would send for `parts`.
pub fn http_api_event(parts: &EventParts<'_>) -> Value {
    let mut headers = Map::new();
    for (k, v) in &parts.headers {
        let k = k.to_ascii_lowercase();
        // HTTP APIs join repeated headers with commas (cookies with `; `).
        let joined = match headers.get(&k).and_then(Value::as_str) {
            Some(prev) if k == "cookie" => format!("{prev}; {v}"),
            Some(prev) => format!("{prev},{v}"),
            None => v.clone(),
        };
        headers.insert(k, Value::String(joined));
    }
    let source_ip = parts
        .peer
        .map_or_else(|| "127.0.0.1".to_string(), |p| p.ip().to_string());
    let mut context = json!({
        "accountId": crate::setup::ACCOUNT,
        "apiId": "hlsgatedev",
        "domainName": "127.0.0.1",
        "domainPrefix": "hlsgatedev",
        "http": {
            "method": parts.method,
            "path": decode(parts.path),
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::String(String::new())),
        },
        "requestId": request_id(),
        "routeKey": parts.route_key,
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 0,
    });
    if let Some(a) = &parts.authorizer {
        context["authorizer"] = a.clone();
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": parts.route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    let params = query_parameters(parts.query);
    if !params.is_empty() {
        event["queryStringParameters"] = Value::Object(params);
    }
    if !parts.path_parameters.is_null() {
        event["pathParameters"] = parts.path_parameters.clone();
    }
    event
}

/// The event as `lambda_http` reads it in Lambda.
pub fn request(parts: &EventParts<'_>) -> Result<lambda_http::Request, String> {
    lambda_http::request::from_str(&http_api_event(parts).to_string())
        .map_err(|e| format!("building the API Gateway event: {e}"))
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

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `queryStringParameters`: decoded, repeated names joined with commas.
fn query_parameters(query: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")));
        let joined = match out.get(&k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v,
        };
        out.insert(k, Value::String(joined));
    }
    out
}

fn request_id() -> String {
    crate::setup::random_token(8).unwrap_or_else(|_| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn events_read_back_as_api_gateway_requests() {
        let parts = EventParts {
            method: "GET",
            path: "/playback/my%20clip",
            query: "mode=cookies&a=1&a=2",
            headers: vec![
                ("Cookie".into(), "a=1".into()),
                ("cookie".into(), "b=2".into()),
                ("Accept".into(), "*/*".into()),
            ],
            peer: Some("127.0.0.1:5000".parse().unwrap()),
            route_key: "GET /playback/{videoId}",
            path_parameters: json!({"videoId": "my clip"}),
            authorizer: Some(json!({"jwt": {"claims": {"sub": "dev"}, "scopes": null}})),
        };
        let event = http_api_event(&parts);
        assert_eq!(event["headers"]["cookie"], "a=1; b=2");
        assert_eq!(event["requestContext"]["http"]["path"], "/playback/my clip");
        let req = request(&parts).unwrap();
        assert_eq!(req.uri().path(), "/playback/my%20clip");
        let q = req.query_string_parameters();
        assert_eq!(q.first("mode"), Some("cookies"));
        assert_eq!(req.path_parameters().first("videoId"), Some("my clip"));
    }
}
