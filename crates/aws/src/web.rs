//! Small pieces every HTTP-facing Lambda needs the same way: the request id
//! for logs and error bodies, and which browser origins may read an answer.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, header};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Seconds since the epoch; replaced in tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// Lambda's request id, else API Gateway's, else `-`.
pub fn request_id(req: &Request) -> String {
    if let Some(ctx) = req.lambda_context_ref()
        && !ctx.request_id.is_empty()
    {
        return ctx.request_id.clone();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.clone(),
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
    .unwrap_or_else(|| "-".to_string())
}

/// The `Access-Control-Allow-Origin` value for a request from `headers`:
/// the request's `Origin` when it is in `allowed` (case-insensitively), `*`
/// when `allowed` holds `*`, else none.
pub fn allowed_origin(allowed: &[String], headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    if allowed.iter().any(|o| o == "*") {
        return Some("*".to_string());
    }
    allowed
        .iter()
        .find(|o| o.eq_ignore_ascii_case(origin))
        .map(|_| origin.to_string())
}

/// `{"error": code, "request_id": id}`: all a caller learns about a refusal.
pub fn error_json(code: &str, request_id: &str) -> String {
    serde_json::json!({ "error": code, "request_id": request_id }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let allowed = vec!["https://player.example.com".to_string()];
        let mut h = HeaderMap::new();
        assert_eq!(allowed_origin(&allowed, &h), None);
        h.insert(
            header::ORIGIN,
            "https://PLAYER.example.com".parse().unwrap(),
        );
        assert_eq!(
            allowed_origin(&allowed, &h).as_deref(),
            Some("https://PLAYER.example.com")
        );
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert_eq!(allowed_origin(&allowed, &h), None);
        assert_eq!(allowed_origin(&["*".into()], &h).as_deref(), Some("*"));
    }
}
