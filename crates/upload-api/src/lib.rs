//! The upload-api Lambda, behind the same JWT authorizer as the issuer:
//! creators upload from the browser straight to S3 with presigned multipart
//! URLs, and follow the processing.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /uploads` `{name, size, content_type}` | uploader | starts a multipart upload; the first part URLs |
//! | `GET /uploads/{upload}/parts?from=N` | its uploader | the next part URLs |
//! | `POST /uploads/{upload}/complete` `{parts}` | its uploader | assembles the file (the jobs function takes it from there) |
//! | `DELETE /uploads/{upload}` | its uploader | aborts |
//! | `GET /videos/{id}/status` | its uploader, a status reader | `uploaded` … `complete` / `error` |
//!
//! A fourth function rather than routes of the issuer: it writes to the
//! upload bucket, which the issuer (read-only, on every playback) must never
//! be able to do, and it serves another audience (uploaders, not viewers).
//!
//! `main.rs` only wires clients; everything here is tested directly:
//! [`multipart`] the upload routes, [`status`] the status route, [`handle`]
//! the signed upload handle.

pub mod config;
pub mod handle;
mod multipart;
mod status;
pub mod store;

use hlsgate_aws::ObjectSource;
use hlsgate_aws::viewer::{Viewer, has_any};
use hlsgate_aws::web::{Frame, Refusal};
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::Value;

pub use crate::config::Config;
pub use crate::handle::{Handle, HandleKey};
pub use crate::store::{PartDone, S3Uploads, StoredPart, UploadStore};

/// Part URLs in one answer; the rest come from the parts route.
pub const URLS_PER_ANSWER: u32 = 100;

/// Largest request body (a complete with 10,000 parts is about 600 KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a request needs, built once per cold start.
pub struct App<U, S> {
    pub config: Config,
    pub frame: Frame,
    /// The upload bucket's multipart calls.
    pub uploads: U,
    /// The media bucket, where the statuses are.
    pub media: S,
    /// Signs the upload handles (`None` without a pseudonym key: every
    /// route that takes or gives a handle answers 503).
    pub handles: Option<HandleKey>,
}

hlsgate_aws::app_debug!(App<U, S>);

impl<U: UploadStore, S: ObjectSource> App<U, S> {
    pub fn new(config: Config, uploads: U, media: S) -> Self {
        App {
            frame: Frame::new(
                &[Method::GET, Method::POST, Method::DELETE],
                "Authorization, Content-Type",
                config.cors_origins.clone(),
                false,
                config.metrics.clone(),
            ),
            handles: HandleKey::derive(config.log_hash.key.as_ref()),
            config,
            uploads,
            media,
        }
    }
}

/// What a request did, for its log line.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    route: Option<&'static str>,
    subject: Option<String>,
    pub(crate) video_id: Option<String>,
    pub(crate) parts: Option<u32>,
    pub(crate) size: Option<u64>,
}

hlsgate_aws::impl_outcome!(
    Outcome,
    o,
    route = o.route,
    subject = o.subject.as_deref(),
    video_id = o.video_id.as_deref(),
    parts = o.parts,
    size = o.size,
);

/// The routes, matched on the path's last segments (so a stage prefix
/// does not matter); the name is the log line's `route`.
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
enum Route {
    Create,
    Parts(String),
    Complete(String),
    Abort(String),
    Status(String),
}

impl Route {
    fn name(&self) -> &'static str {
        self.into()
    }

    fn of(method: &Method, path: &str) -> Result<Route, Refusal> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (route, allowed) = match segments.as_slice() {
            [.., "uploads"] => (Route::Create, Method::POST),
            [.., "uploads", h, "parts"] => (Route::Parts(h.to_string()), Method::GET),
            [.., "uploads", h, "complete"] => (Route::Complete(h.to_string()), Method::POST),
            [.., "uploads", h] => (Route::Abort(h.to_string()), Method::DELETE),
            [.., "videos", id, "status"] => (Route::Status(id.to_string()), Method::GET),
            _ => {
                return Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no route {path}"),
                ));
            }
        };
        if method != allowed {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} on {}", route.name()),
            ));
        }
        Ok(route)
    }
}

/// Handles one request. Never panics on input; every answer carries
/// `Cache-Control: private, no-store`, and CORS headers for allowed origins.
pub async fn handle<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    req: Request,
) -> Response<Body> {
    app.frame
        .serve(req, async |req: &Request, out: &mut Outcome| {
            serve(app, req, out).await
        })
        .await
}

/// Who asks: an authenticated principal, and whether they upload.
pub(crate) struct Caller {
    pub(crate) viewer: Viewer,
    pub(crate) pseudonym: String,
    pub(crate) uploader: bool,
}

async fn serve<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    req: &Request,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    if let Some(preflight) = app.frame.method(req)? {
        return Ok(preflight);
    }
    let route = Route::of(req.method(), req.uri().path())?;
    out.route = Some(route.name());
    let cfg = &app.config;
    let viewer = Viewer::required(req, &cfg.subject_claim)?;
    let caller = Caller {
        pseudonym: cfg.log_hash.of(&viewer.subject),
        uploader: has_any(&viewer, &cfg.uploader_claim, &cfg.uploader_values),
        viewer,
    };
    out.subject = Some(caller.pseudonym.clone());
    match route {
        Route::Status(id) => status::status(app, &caller, &id, out).await,
        _ if !caller.uploader => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "not_uploader",
            format!(
                "no {} in {:?}",
                cfg.uploader_values.join("|"),
                cfg.uploader_claim
            ),
        )),
        Route::Create => multipart::create(app, &caller, req, out).await,
        Route::Parts(h) => multipart::parts(app, &caller, &h, req, out).await,
        Route::Complete(h) => multipart::complete(app, &caller, &h, req, out).await,
        Route::Abort(h) => multipart::abort(app, &caller, &h).await,
    }
}

/// A 400 the uploader can act on: the message goes out with the code.
pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, code, message).public()
}

pub(crate) fn json_body<T: for<'de> Deserialize<'de>>(req: &Request) -> Result<T, Refusal> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("{} bytes", bytes.len()),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| bad_request("bad_json", e.to_string()))
}

pub(crate) fn answer(status: StatusCode, body: &Value) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
