//! The one port: which path goes to which stand-in, the dev authorizer in
//! front of the issuer, and the rewriter behind (or without) the edge.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::lambda::json_response;
use crate::setup::KEY_PREFIX;
use crate::*;

/// How a request reaches a function: through the dev edge (CloudFront) or
/// straight to its API URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    Edge,
    Direct,
}

/// Accepts connections until the listener fails.
pub async fn serve(stack: Arc<Stack>, listener: tokio::net::TcpListener) {
    while let Ok((sock, peer)) = listener.accept().await {
        let stack = stack.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let stack = stack.clone();
                async move { Ok::<_, Infallible>(stack.route(req, peer).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(sock), svc)
                .await;
        });
    }
}

pub(crate) type Answer = Response<Full<Bytes>>;

/// What the dev authorizer vouches for a valid token: the JWT authorizer's
/// context for the dev viewer in `groups` (`[a b]`, as an HTTP API
/// flattens an array).
pub(crate) fn authorized(
    api: hlsgate_aws::testing::ApiRequest,
    groups: &str,
) -> hlsgate_aws::testing::ApiRequest {
    api.jwt(
        &[
            ("sub", DEV_SUBJECT),
            ("groups", groups),
            ("iss", "hlsgate-dev"),
        ],
        None,
    )
}

pub(crate) fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A request's body, at most `limit` bytes; past it, the 413 to answer.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, Answer> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            e.to_string(),
        )),
    }
}

pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
    json_response(status, &json!({"error": code, "message": message.into()}))
}

impl Stack {
    pub(crate) async fn route(&self, req: Request<Incoming>, peer: SocketAddr) -> Answer {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let mut answer = match (&method, path.as_str()) {
            (_, p)
                if p.strip_prefix('/')
                    .is_some_and(|k| k.starts_with(KEY_PREFIX)) =>
            {
                self.edge(&req, peer).await
            }
            (_, p) if p.starts_with("/_origin/rewriter/") => self.bare_rewriter(&req, peer).await,
            (&Method::GET, "/") => self.page(req.headers()),
            (&Method::GET, "/favicon.ico") => {
                text(StatusCode::NO_CONTENT, "image/x-icon", Bytes::new())
            }
            // @hlsgate/player (clients/web), built into one module: the
            // page's sessions (docs/player.md).
            (&Method::GET, "/hlsgate-player.js") => text(
                StatusCode::OK,
                "text/javascript",
                Bytes::from_static(include_bytes!("../assets/hlsgate-player.js")),
            ),
            (&Method::GET, "/hls.js") => match &self.hlsjs {
                Some(b) => text(StatusCode::OK, "text/javascript", b.clone()),
                None => error(StatusCode::NOT_FOUND, "not_found", "no --hlsjs given"),
            },
            // The distribution's `/playback/*` behaviour, as in AWS; the
            // API's own URL (what API clients call) without CloudFront.
            (_, p) if p.starts_with("/playback/") => self.issue(req, peer, Path::Edge).await,
            (_, p) if p.starts_with("/_origin/issuer/playback/") => {
                self.issue(req, peer, Path::Direct).await
            }
            // The upload API's routes on the issuer's API URL.
            (_, p)
                if p.starts_with("/_origin/issuer/uploads")
                    || (p.starts_with("/_origin/issuer/videos/") && p.ends_with("/status")) =>
            {
                self.upload_api(req, peer).await
            }
            (&Method::GET, "/api/videos") => match self.unauthorized(req.headers()) {
                Some(refused) => refused,
                None => self.videos().await,
            },
            (&Method::PUT, p) if p.starts_with("/upload/") => self.put_upload(req).await,
            _ => error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{method} {path}"),
            ),
        };
        answer
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        tracing::debug!(%method, %path, status = answer.status().as_u16(), "dev request");
        answer
    }

    /// The dev authorizer: `Authorization: Bearer TOKEN`, compared in
    /// constant time; the 401 when it fails.
    pub(crate) fn unauthorized(&self, headers: &HeaderMap) -> Option<Answer> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.token.as_bytes())) {
            return None;
        }
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            if presented.is_empty() {
                "no bearer token: send Authorization: Bearer DEV_TOKEN (printed at start)"
            } else {
                "wrong bearer token"
            },
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        Some(r)
    }

    /// The issuer, behind the dev authorizer: a valid token becomes the JWT
    /// authorizer's context for subject `dev-viewer` in group `viewers`.
    /// Through the edge, the request carries what CloudFront adds: the
    /// origin secret and `CloudFront-Viewer-Address`. The routes are the
    /// HTTP API's; the end-token route has no authorizer, as in AWS.
    pub(crate) async fn issue(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        path: Path,
    ) -> Answer {
        let raw = req.uri().path().to_string();
        let api_path = raw.trim_start_matches("/_origin/issuer").to_string();
        let Some(route) = IssuerRoute::of(req.method(), &api_path) else {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no route {} {api_path}", req.method()),
            );
        };
        let authorizer = if req.method() == Method::OPTIONS || !route.authorized {
            None
        } else {
            if let Some(refused) = self.unauthorized(req.headers()) {
                return refused;
            }
            Some(format!("[{DEV_GROUP}]"))
        };
        let mut headers = lambda::header_pairs(req.headers());
        if path == Path::Edge {
            // CloudFront's values replace any the viewer sent; the
            // `/playback/*` origin request policy adds the viewer's country.
            let mut added = self.cloudfront_headers(peer).to_vec();
            added.push((
                hlsgate_signed_url_issuer::rules::VIEWER_COUNTRY_HEADER.to_string(),
                self.viewer_country.clone(),
            ));
            headers.retain(|(k, _)| !added.iter().any(|(a, _)| a.eq_ignore_ascii_case(k)));
            headers.extend(added);
        }
        let method = req.method().clone();
        let query = req.uri().query().unwrap_or("").to_string();
        // A beacon's form: a token, a few hundred bytes.
        let body = match read_body(req.into_body(), 4096).await {
            Ok(b) => b,
            Err(refused) => return refused,
        };
        let mut api =
            lambda::http_api_request(&method, &api_path, &query, &headers, peer, route.key);
        for (name, value) in &route.params {
            let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
            api = api.path_parameter(name, &decoded);
        }
        if !body.is_empty() {
            api = api.body(&String::from_utf8_lossy(&body));
        }
        if let Some(groups) = &authorizer {
            api = authorized(api, groups);
        }
        match api.try_request() {
            Ok(r) => lambda::response(hlsgate_signed_url_issuer::handle(&self.issuer, r).await),
            Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        }
    }

    /// The rewriter's API without CloudFront in front: what anyone who
    /// finds the API Gateway URL can call. Only the origin secret stops them.
    pub(crate) async fn bare_rewriter(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let path = req.uri().path().trim_start_matches("/_origin/rewriter");
        self.call_rewriter(
            req.method(),
            path,
            req.uri().query().unwrap_or(""),
            lambda::header_pairs(req.headers()),
            peer,
        )
        .await
    }

    pub(crate) async fn call_rewriter(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        headers: Vec<(String, String)>,
        peer: SocketAddr,
    ) -> Answer {
        let proxy = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned();
        let api = lambda::http_api_request(method, path, query, &headers, peer, "ANY /{proxy+}")
            .path_parameter("proxy", &proxy);
        match api.try_request() {
            Ok(r) => lambda::response(hlsgate_manifest_rewriter::handle(&self.rewriter, r).await),
            Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        }
    }
}

/// One of the issuer's API routes, as the template declares them.
#[derive(Debug)]
pub(crate) struct IssuerRoute<'a> {
    /// The route key (`GET /playback/{videoId}`).
    pub key: &'static str,
    pub params: Vec<(&'static str, &'a str)>,
    /// Behind the JWT authorizer (all but the end-token route).
    pub authorized: bool,
}

impl<'a> IssuerRoute<'a> {
    /// The route `method` and `path` (`/playback/…`) match; `OPTIONS`
    /// matches each path, as the HTTP API's CORS answers preflights.
    pub(crate) fn of(method: &Method, path: &'a str) -> Option<IssuerRoute<'a>> {
        let rest = path.strip_prefix("/playback/")?;
        let parts: Vec<&str> = rest.split('/').collect();
        let any = method == Method::OPTIONS;
        let (key, params, authorized) = match (parts.as_slice(), method) {
            ([id], m) if any || m == Method::GET || m == Method::HEAD => {
                ("GET /playback/{videoId}", vec![("videoId", *id)], true)
            }
            ([id, "sessions"], m) if any || m == Method::GET => (
                "GET /playback/{videoId}/sessions",
                vec![("videoId", *id)],
                true,
            ),
            ([id, "sessions", sid], &Method::POST) => (
                "POST /playback/{videoId}/sessions/{sessionId}",
                vec![("videoId", *id), ("sessionId", *sid)],
                true,
            ),
            ([id, "sessions", sid], m) if any || m == Method::DELETE => (
                "DELETE /playback/{videoId}/sessions/{sessionId}",
                vec![("videoId", *id), ("sessionId", *sid)],
                true,
            ),
            ([id, "sessions", sid, "end"], m) if any || m == Method::POST => (
                "POST /playback/{videoId}/sessions/{sessionId}/end",
                vec![("videoId", *id), ("sessionId", *sid)],
                false,
            ),
            _ => return None,
        };
        Some(IssuerRoute {
            key,
            params,
            authorized,
        })
    }
}
