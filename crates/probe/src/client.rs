//! The probe's HTTP client: HTTPS (rustls on AWS-LC, the system roots, as
//! the issuer's webhook client) or plain HTTP (the local stack), HTTP/1.1,
//! one timeout per request, bodies read to a limit, and the time to the
//! first byte of the answer.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The largest answer read: a segment of a 4K rendition is a few MB.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// What the probe says it is.
pub const USER_AGENT: &str = concat!("hlsgate-probe/", env!("CARGO_PKG_VERSION"));

/// One answer.
#[derive(Clone)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// From sending the request to the answer's status line and headers.
    pub ttfb: Duration,
    /// To the end of the body.
    pub elapsed: Duration,
}

impl Fetched {
    /// A header's value as text, empty when absent or not text.
    pub fn header(&self, name: impl http::header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Every value of a header.
    pub fn all(&self, name: impl http::header::AsHeaderName) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The refusal's own words, short: CloudFront's XML `<Code>`, or a JSON
    /// answer's `error` (our functions'), else the status alone. Never the
    /// body itself, which could repeat what was sent.
    pub fn refusal_code(&self) -> Option<String> {
        let text = std::str::from_utf8(&self.body).ok()?;
        if let Some(start) = text.find("<Code>") {
            let rest = &text[start + 6..];
            let code = &rest[..rest.find("</Code>")?];
            return short_word(code);
        }
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        short_word(v.get("error")?.as_str()?)
    }
}

/// A code worth repeating: a short identifier, nothing else.
fn short_word(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then(|| s.to_string())
}

/// Why a request got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("the answer is over {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Other(String),
}

/// The client.
#[derive(Clone)]
pub struct Http {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// Fails only without system root certificates.
    pub fn new(timeout: Duration) -> Result<Http, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("the system's TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        })
    }

    pub async fn get(
        &self,
        url: &str,
        headers: &[(HeaderName, String)],
    ) -> Result<Fetched, FetchError> {
        self.send(Method::GET, url, headers, Bytes::new()).await
    }

    /// One request; the timeout covers the whole answer, body included.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, String)],
        body: Bytes,
    ) -> Result<Fetched, FetchError> {
        let mut req = Request::builder()
            .method(method)
            .uri(url)
            .header(header::USER_AGENT, USER_AGENT)
            .body(Full::new(body))
            .map_err(|e| FetchError::Other(format!("not a request: {e}")))?;
        for (name, value) in headers {
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| FetchError::Other(format!("header {name} is not text")))?;
            req.headers_mut().append(name.clone(), value);
        }
        let started = Instant::now();
        let timeout = self.timeout;
        let fetch = async {
            let answer = self.client.request(req).await.map_err(|e| {
                if e.is_connect() {
                    FetchError::Connect(error_chain(&e))
                } else {
                    FetchError::Other(error_chain(&e))
                }
            })?;
            let ttfb = started.elapsed();
            let (parts, body) = answer.into_parts();
            let body = Limited::new(body, MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge
                    } else {
                        FetchError::Other(format!("reading the answer: {e}"))
                    }
                })?
                .to_bytes();
            Ok(Fetched {
                status: parts.status,
                headers: parts.headers,
                body,
                ttfb,
                elapsed: started.elapsed(),
            })
        };
        tokio::time::timeout(timeout, fetch)
            .await
            .unwrap_or(Err(FetchError::Timeout(timeout)))
    }
}

/// An error and its causes, one line: hyper's own message says little
/// ("client error (Connect)") without them.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
