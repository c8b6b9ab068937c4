//! The frame of both HTTP functions, written once: the request id, the
//! method check and CORS preflight, the headers every answer carries, the
//! `refused` line for a refusal and one wide `request` line per request.
//! A function's handler only decides; [`Frame::serve`] does the rest.
//!
//! CORS is ours rather than tower-http's `CorsLayer`: the layer answers a
//! preflight before the handler runs (the rewriter checks the origin secret
//! first) and appends its own `Vary` values, where payload 2.0 keeps one
//! value per header name.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::SourceError;
use crate::metrics::{Emf, Metrics, name};

/// The viewer's address from CloudFront's `CloudFront-Viewer-Address`
/// (`ip:port`, IPv6 in brackets or bare), when the origin request policy
/// forwards it. Only meaningful on a request known to come through the
/// distribution: anyone else can send the header.
pub fn cloudfront_viewer_ip(headers: &HeaderMap) -> Option<std::net::IpAddr> {
    let v = headers.get("cloudfront-viewer-address")?.to_str().ok()?;
    let (ip, _port) = v.rsplit_once(':')?;
    ip.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// `2xx` … `5xx`: the `StatusClass` dimension of `Requests`.
pub fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

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

/// Every `Cookie` header of a request joined into one value (HTTP/2 may send
/// them split), `None` when there is none.
pub fn cookie_header(headers: &HeaderMap) -> Option<String> {
    let parts: Vec<&str> = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
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

/// `{"error": code, "request_id": id}`: all a caller learns about a refusal,
/// with `"message"` only for one it may read ([`Refusal::public`]).
pub fn error_json(code: &str, request_id: &str, message: Option<&str>) -> String {
    let mut body = serde_json::json!({ "error": code, "request_id": request_id });
    if let Some(m) = message {
        body["message"] = m.into();
    }
    body.to_string()
}

/// A request refused: the status, a stable code for the JSON body and logs,
/// and the reason (logged only, never sent).
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: String,
    /// A finer code than `code`, for the logs and the `Refusals` metric
    /// only (every 403 looks the same from outside): `expired`,
    /// `origin_secret_mismatch`, ….
    pub detail: Option<&'static str>,
    /// Words the caller may see, with the code (`"message"`): only for
    /// refusals the caller can act on and whose text repeats nothing
    /// secret (an uploader's bad file name, say).
    pub message: Option<String>,
    /// More fields for the caller, beside `error` and `message` (the
    /// viewer's own sessions on a `too_many_streams`).
    /// Boxed: most refusals have none, and every `Result` carries the size.
    pub fields: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            reason: reason.into(),
            detail: None,
            message: None,
            fields: None,
        }
    }

    /// With `value` as the body's `name` (never `error` or `request_id`).
    #[must_use]
    pub fn with_field(mut self, name: &str, value: serde_json::Value) -> Self {
        if !matches!(name, "error" | "request_id" | "message") {
            self.fields
                .get_or_insert_default()
                .insert(name.to_string(), value);
        }
        self
    }

    /// The reason is safe to show: it goes out as the `message` too.
    #[must_use]
    pub fn public(mut self) -> Self {
        self.message = Some(self.reason.clone());
        self
    }

    /// With `message` for the caller (the reason stays in the logs).
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// With a finer code for the logs and metrics.
    #[must_use]
    pub fn detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }

    /// What the `Refusals` metric's `Reason` dimension says.
    pub fn reason_code(&self) -> &'static str {
        self.detail.unwrap_or(self.code)
    }

    /// The store could not answer: 503 `storage_busy` when a retry may help
    /// (throttled, timed out), else 502 `storage_error`.
    pub fn storage(e: &SourceError) -> Self {
        match e {
            SourceError::Throttled { .. } | SourceError::Timeout => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_busy",
                e.to_string(),
            ),
            _ => Refusal::new(StatusCode::BAD_GATEWAY, "storage_error", e.to_string()),
        }
    }

    /// The JSON answer ([`error_json`]), with `Allow: allow` on a 405,
    /// `WWW-Authenticate: Bearer` on a 401 and `Retry-After: 1` on a 503.
    pub fn response(&self, request_id: &str, allow: &HeaderValue) -> Response<Body> {
        let mut text = error_json(self.code, request_id, self.message.as_deref());
        if let Some(fields) = &self.fields
            && let Ok(serde_json::Value::Object(mut body)) = serde_json::from_str(&text)
        {
            body.extend(fields.as_ref().clone());
            text = serde_json::Value::Object(body).to_string();
        }
        let mut resp = Response::new(Body::Text(text));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match self.status {
            StatusCode::METHOD_NOT_ALLOWED => {
                h.insert(header::ALLOW, allow.clone());
            }
            StatusCode::UNAUTHORIZED => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

/// A CORS preflight answer: 204, with the allow headers only for an
/// allowed origin (the origin itself is added by [`common_headers`]).
pub fn preflight(
    allowed: &[String],
    request: &HeaderMap,
    methods: &HeaderValue,
    headers: &'static str,
) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    if allowed_origin(allowed, request).is_some() {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(headers),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    resp
}

/// Headers every answer of ours carries, errors included:
/// `Cache-Control: private, no-store` (answers are per viewer and signed),
/// `Vary: Origin` (one header, merged with the answer's own: payload format
/// 2.0 keeps one value per name), `Access-Control-Allow-Origin` when given,
/// `X-Request-Id` and `X-Content-Type-Options: nosniff`.
pub fn common_headers(h: &mut HeaderMap, allow_origin: Option<&str>, request_id: &str) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    let vary = match h.get(header::VARY).and_then(|v| v.to_str().ok()) {
        Some(own) => HeaderValue::from_str(&format!("Origin, {own}")).ok(),
        None => Some(HeaderValue::from_static("Origin")),
    };
    if let Some(v) = vary {
        h.insert(header::VARY, v);
    }
    if let Some(origin) = allow_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}

/// What a function answers with and which browsers may read it.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The methods served, besides `OPTIONS`.
    pub methods: &'static [Method],
    /// `Allow` on a 405 and `Access-Control-Allow-Methods` on a preflight:
    /// [`methods`](Self::methods) and `OPTIONS`, derived by [`Frame::new`].
    allow: HeaderValue,
    /// `Access-Control-Allow-Headers` on a preflight.
    pub allow_headers: &'static str,
    /// `CORS_ALLOWED_ORIGINS` (`*` for any).
    pub cors_origins: Vec<String>,
    /// `Access-Control-Allow-Credentials: true` for listed origins (signed
    /// cookies); configs refuse `*` with it.
    pub credentials: bool,
    /// Where each request's EMF document goes.
    pub metrics: Metrics,
}

/// The fields of the `request` and `refused` lines the frame knows.
#[derive(Debug)]
pub struct Line<'a> {
    pub request_id: &'a str,
    pub method: &'a Method,
    pub status: u16,
    /// Set on the `request` line.
    pub duration_us: Option<u64>,
    /// Set on the `refused` line.
    pub code: Option<&'static str>,
    /// The refusal's finer code, when it has one ([`Refusal::detail`]).
    pub detail: Option<&'static str>,
    pub reason: Option<&'a str>,
}

/// What a handler found out about its request, logged on both lines.
pub trait Outcome: Default {
    /// Writes `message` at `level` with `line`'s fields and the function's
    /// own ([`log_line!`](crate::log_line) does it in one call).
    fn log(&self, level: tracing::Level, message: &'static str, line: &Line<'_>);

    /// Adds the function's own metrics to the request's EMF document
    /// (the frame adds `Requests`, `Refusals` and origin-secret mismatches).
    fn metrics(&self, _doc: &mut Emf) {}
}

/// One `tracing` event at a level chosen at run time, with the frame's
/// fields first and the function's own after them, each followed by a
/// comma: `log_line!(level, message, line, key = k, cache = c,)`.
#[macro_export]
macro_rules! log_line {
    ($level:expr, $message:expr, $line:expr, $($field:tt)*) => {{
        let line: &$crate::web::Line<'_> = $line;
        let level: tracing::Level = $level;
        // The frame logs at WARN (5xx refusals) or INFO (everything else);
        // anything as severe as WARN goes out at WARN.
        if level <= tracing::Level::WARN {
            tracing::warn!(
                request_id = %line.request_id, method = %line.method, status = line.status,
                code = line.code, detail = line.detail, reason = line.reason, $($field)* duration_us = line.duration_us,
                "{}", $message
            )
        } else {
            tracing::info!(
                request_id = %line.request_id, method = %line.method, status = line.status,
                code = line.code, detail = line.detail, reason = line.reason, $($field)* duration_us = line.duration_us,
                "{}", $message
            )
        }
    }};
}

/// Implements [`Outcome`] for `$type` with one [`log_line!`](crate::log_line)
/// of the named fields, each an expression of `$o` (the outcome):
/// `impl_outcome!(Outcome, o, key = o.key.as_deref(), …)`; with
/// `metrics(doc) { … }` first, that block adds the function's metrics to
/// the request's EMF document `doc` ([`Outcome::metrics`]).
#[macro_export]
macro_rules! impl_outcome {
    ($type:ty, $o:ident, metrics($doc:ident) $body:block, $($field:tt)*) => {
        impl $crate::web::Outcome for $type {
            fn log(
                &self,
                level: tracing::Level,
                message: &'static str,
                line: &$crate::web::Line<'_>,
            ) {
                let $o = self;
                $crate::log_line!(level, message, line, $($field)*);
            }

            #[allow(unused_variables)]
            fn metrics(&self, $doc: &mut $crate::metrics::Emf) {
                let $o = self;
                $body
            }
        }
    };
    ($type:ty, $o:ident, $($field:tt)*) => {
        $crate::impl_outcome!($type, $o, metrics(doc) {}, $($field)*);
    };
}

impl Frame {
    /// A frame serving `methods` and `OPTIONS`; `Allow` and the preflight's
    /// methods are derived from them.
    pub fn new(
        methods: &'static [Method],
        allow_headers: &'static str,
        cors_origins: Vec<String>,
        credentials: bool,
        metrics: Metrics,
    ) -> Frame {
        let names: Vec<&str> = methods
            .iter()
            .chain(std::iter::once(&Method::OPTIONS))
            .map(Method::as_str)
            .collect();
        Frame {
            methods,
            allow: HeaderValue::from_str(&names.join(", "))
                .unwrap_or_else(|_| HeaderValue::from_static("OPTIONS")),
            allow_headers,
            cors_origins,
            credentials,
            metrics,
        }
    }

    /// Runs `handler` for `req` and frames its answer: a refusal becomes
    /// its JSON answer and a `refused` line (warn for 5xx, our side's
    /// trouble; info for 4xx, the caller's); every answer gets the common
    /// headers and CORS; `HEAD` loses its body; one `request` line ends it.
    pub async fn serve<O, F>(&self, req: Request, handler: F) -> Response<Body>
    where
        O: Outcome,
        F: AsyncFnOnce(&Request, &mut O) -> Result<Response<Body>, Refusal>,
    {
        let started = Instant::now();
        let request_id = request_id(&req);
        let mut outcome = O::default();
        let result = handler(&req, &mut outcome).await;
        let mut doc = self.metrics.document();
        let mut response = match result {
            Ok(resp) => resp,
            Err(r) => {
                doc.count(name::REFUSALS, &[("Reason", r.reason_code())]);
                if r.detail == Some(crate::origin::MISMATCH) {
                    doc.count(name::ORIGIN_SECRET_MISMATCHES, &[]);
                }
                let level = if r.status.is_server_error() {
                    tracing::Level::WARN
                } else {
                    tracing::Level::INFO
                };
                let line = Line {
                    request_id: &request_id,
                    method: req.method(),
                    status: r.status.as_u16(),
                    duration_us: None,
                    code: Some(r.code),
                    detail: r.detail,
                    reason: Some(&r.reason),
                };
                outcome.log(level, "refused", &line);
                r.response(&request_id, &self.allow)
            }
        };
        self.finish(response.headers_mut(), req.headers(), &request_id);
        if req.method() == Method::HEAD {
            *response.body_mut() = Body::Empty;
        }
        let line = Line {
            request_id: &request_id,
            method: req.method(),
            status: response.status().as_u16(),
            duration_us: Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
            code: None,
            detail: None,
            reason: None,
        };
        outcome.log(tracing::Level::INFO, "request", &line);
        doc.count(
            name::REQUESTS,
            &[("StatusClass", status_class(response.status()))],
        );
        outcome.metrics(&mut doc);
        self.metrics.emit(doc);
        response
    }

    /// The method step: `Ok(None)` to go on, `Ok(Some(preflight))` for
    /// `OPTIONS`, a 405 refusal for anything else.
    pub fn method(&self, req: &Request) -> Result<Option<Response<Body>>, Refusal> {
        if self.methods.contains(req.method()) {
            Ok(None)
        } else if req.method() == Method::OPTIONS {
            Ok(Some(self.preflight(req.headers())))
        } else {
            Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("method {}", req.method()),
            ))
        }
    }

    /// A CORS preflight answer ([`preflight`]) with this frame's rules.
    pub fn preflight(&self, request: &HeaderMap) -> Response<Body> {
        preflight(&self.cors_origins, request, &self.allow, self.allow_headers)
    }

    /// The common headers and CORS for an answer to `request`.
    pub fn finish(&self, h: &mut HeaderMap, request: &HeaderMap, request_id: &str) {
        let origin = allowed_origin(&self.cors_origins, request);
        common_headers(h, origin.as_deref(), request_id);
        if origin.is_some() && self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
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

    #[test]
    fn common_headers_merge_vary() {
        let mut h = HeaderMap::new();
        common_headers(&mut h, Some("https://a.example"), "req-1");
        assert_eq!(h["vary"], "Origin");
        assert_eq!(h["cache-control"], "private, no-store");
        assert_eq!(h["access-control-allow-origin"], "https://a.example");
        assert_eq!(h["x-request-id"], "req-1");
        let mut h = HeaderMap::new();
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        common_headers(&mut h, None, "req-2");
        assert_eq!(h.get_all(header::VARY).iter().count(), 1);
        assert_eq!(h["vary"], "Origin, Accept-Encoding");
        assert!(h.get("access-control-allow-origin").is_none());
    }
}
