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
//! `main.rs` only wires clients; everything here is tested directly.

pub mod config;
pub mod store;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hlsgate_aws::viewer::{Viewer, has_any};
use hlsgate_aws::web::{Frame, Refusal};
use hlsgate_aws::{CallError, CallFailure, Fetched, ObjectSource, SourceError};
use hlsgate_core::status::{MAX_STATUS_BYTES, Status, status_key};
use hlsgate_core::upload::{UploadKey, UploadName, check_size};
use hlsgate_core::video::VideoId;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::{Value, json};

pub use crate::config::Config;
use crate::config::MAX_PARTS;
pub use crate::store::{PartDone, S3Uploads, UploadStore};

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
}

impl<U, S> std::fmt::Debug for App<U, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<U: UploadStore, S: ObjectSource> App<U, S> {
    pub fn new(config: Config, uploads: U, media: S) -> Self {
        App {
            frame: Frame {
                methods: &[Method::GET, Method::POST, Method::DELETE],
                allow: "GET, POST, DELETE, OPTIONS",
                allow_headers: "Authorization, Content-Type",
                cors_origins: config.cors_origins.clone(),
                credentials: false,
                metrics: config.metrics.clone(),
            },
            config,
            uploads,
            media,
        }
    }
}

/// What a request did, for its log line.
#[derive(Debug, Default)]
struct Outcome {
    route: Option<&'static str>,
    subject: Option<String>,
    video_id: Option<String>,
    parts: Option<u32>,
    size: Option<u64>,
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

/// An upload in progress, as the routes name it: its key, S3's upload id
/// and how many parts it has, in one base64url segment. Nothing in it is
/// trusted: the key must parse as an upload key of the caller, S3 checks
/// the upload id against the key, and the size is checked when completing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub key: String,
    pub upload_id: String,
    pub parts: u32,
}

impl Handle {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}\n{}", self.key, self.upload_id, self.parts))
    }

    pub fn decode(s: &str) -> Option<Handle> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut it = text.split('\n');
        let (key, upload_id, parts) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || upload_id.is_empty() || upload_id.len() > 1024 {
            return None;
        }
        let parts: u32 = parts.parse().ok()?;
        (1..=MAX_PARTS as u32).contains(&parts).then(|| Handle {
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            parts,
        })
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
struct Caller {
    viewer: Viewer,
    pseudonym: String,
    uploader: bool,
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
        Route::Status(id) => status(app, &caller, &id, out).await,
        _ if !caller.uploader => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "not_uploader",
            format!(
                "no {} in {:?}",
                cfg.uploader_values.join("|"),
                cfg.uploader_claim
            ),
        )),
        Route::Create => create(app, &caller, req, out).await,
        Route::Parts(h) => parts(app, &caller, &h, req, out).await,
        Route::Complete(h) => complete(app, &caller, &h, req, out).await,
        Route::Abort(h) => abort(app, &caller, &h).await,
    }
}

/// A 400 the uploader can act on: the message goes out with the code.
fn bad_request(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, code, message).public()
}

fn json_body<T: for<'de> Deserialize<'de>>(req: &Request) -> Result<T, Refusal> {
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

fn answer(status: StatusCode, body: &Value) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// What `POST /uploads` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    size: u64,
    #[serde(default)]
    content_type: Option<String>,
}

/// The content type stored with the upload: a `video/…` type, or
/// `application/octet-stream` (what browsers say when they do not know).
fn content_type(given: Option<&str>) -> Result<String, Refusal> {
    let t = given.unwrap_or("").trim().to_ascii_lowercase();
    if t.is_empty() {
        return Ok("application/octet-stream".into());
    }
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
    };
    match t.split_once('/') {
        Some(("video", sub)) if token(sub) => Ok(t),
        Some(("application", "octet-stream")) => Ok(t),
        _ => Err(bad_request(
            "bad_content_type",
            "content_type is a video/… type or application/octet-stream",
        )),
    }
}

fn upload_error(e: hlsgate_core::upload::UploadError) -> Refusal {
    use hlsgate_core::upload::UploadError as E;
    let code = match e {
        E::Name => "bad_name",
        E::Extension(_) => "bad_extension",
        E::Empty => "empty",
        E::TooLarge { .. } => "too_large",
    };
    bad_request(code, e.to_string())
}

fn store_refusal(what: &str, e: &CallError) -> Refusal {
    match (e.failure, e.code.as_deref()) {
        (_, Some("NoSuchUpload")) => Refusal::new(
            StatusCode::NOT_FOUND,
            "no_such_upload",
            format!("{what}: {e}"),
        ),
        (_, Some(code @ ("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall"))) => {
            let (detail, message) = match code {
                "EntityTooSmall" => (
                    "part_too_small",
                    "every part but the last must be at least 5 MiB",
                ),
                "InvalidPartOrder" => (
                    "invalid_part",
                    "the parts must be listed in ascending order",
                ),
                _ => (
                    "invalid_part",
                    "a part was not found, or its etag does not match",
                ),
            };
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid_part",
                format!("{what}: {e}"),
            )
            .detail(detail)
            .with_message(message)
        }
        (CallFailure::Throttled | CallFailure::Timeout, _) => {
            Refusal::storage(&SourceError::from(e.clone()))
        }
        _ => Refusal::new(
            StatusCode::BAD_GATEWAY,
            "storage_error",
            format!("{what}: {e}"),
        ),
    }
}

/// The part URLs `from..=to` of `handle`, as the answers list them.
async fn urls<U: UploadStore>(
    app: &App<U, impl ObjectSource>,
    handle: &Handle,
    from: u32,
) -> Result<Value, Refusal> {
    let to = handle.parts.min(from.saturating_add(URLS_PER_ANSWER - 1));
    let urls = app
        .uploads
        .part_urls(
            &handle.key,
            &handle.upload_id,
            from..=to,
            app.config.url_ttl,
        )
        .await
        .map_err(|e| store_refusal("presigning", &e))?;
    let list: Vec<Value> = (from..=to)
        .zip(urls)
        .map(|(n, url)| json!({"number": n, "url": url}))
        .collect();
    let next =
        (to < handle.parts).then(|| format!("uploads/{}/parts?from={}", handle.encode(), to + 1));
    Ok(json!({
        "urls": list,
        "next": next,
        "expires_in": app.config.url_ttl.as_secs(),
    }))
}

async fn create<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    caller: &Caller,
    req: &Request,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let cfg = &app.config;
    let asked: CreateRequest = json_body(req)?;
    out.size = Some(asked.size);
    let name = UploadName::parse(&asked.name, &cfg.extensions).map_err(upload_error)?;
    let size = check_size(asked.size, cfg.max_upload_bytes).map_err(upload_error)?;
    let content_type = content_type(asked.content_type.as_deref())?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random)
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "random", e.to_string()))?;
    let key = UploadKey::new(&caller.pseudonym, &random, name).key(&cfg.input_prefix);
    let video_id = VideoId::from_upload(&cfg.upload_bucket, &key, &cfg.input_prefix);
    out.video_id = Some(video_id.to_string());
    let part_bytes = cfg.part_size(size);
    let parts = u32::try_from(size.div_ceil(part_bytes)).unwrap_or(u32::MAX);
    out.parts = Some(parts);
    let upload_id = app
        .uploads
        .start(&key, &content_type)
        .await
        .map_err(|e| store_refusal("starting the upload", &e))?;
    let handle = Handle {
        key: key.clone(),
        upload_id,
        parts,
    };
    let mut body = urls(app, &handle, 1).await?;
    body["upload"] = handle.encode().into();
    body["key"] = key.into();
    body["video_id"] = video_id.to_string().into();
    body["part_bytes"] = part_bytes.into();
    body["parts"] = parts.into();
    body["complete"] = format!("uploads/{}/complete", handle.encode()).into();
    body["status"] = format!("videos/{video_id}/status").into();
    Ok(answer(StatusCode::CREATED, &body))
}

/// The caller's own upload named by `h`; anyone else's, or nonsense, is 404.
fn own_upload(
    app: &App<impl UploadStore, impl ObjectSource>,
    caller: &Caller,
    h: &str,
) -> Result<Handle, Refusal> {
    let cfg = &app.config;
    let not_found =
        |why: &str| Refusal::new(StatusCode::NOT_FOUND, "no_such_upload", why.to_string());
    let handle = Handle::decode(h).ok_or_else(|| not_found("not an upload handle"))?;
    let key = UploadKey::parse(&handle.key, &cfg.input_prefix, &cfg.extensions)
        .ok_or_else(|| not_found("not an upload key"))?;
    if !caller.pseudonym.starts_with(&key.uploader) {
        return Err(not_found("another uploader's upload"));
    }
    Ok(handle)
}

async fn parts<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    caller: &Caller,
    h: &str,
    req: &Request,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let handle = own_upload(app, caller, h)?;
    let from = match req
        .query_string_parameters_ref()
        .and_then(|q| q.first("from"))
    {
        None => 1,
        Some(f) => f
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=handle.parts).contains(n))
            .ok_or_else(|| {
                bad_request(
                    "bad_from",
                    format!("from is a part number, 1 to {}", handle.parts),
                )
            })?,
    };
    out.parts = Some(handle.parts);
    Ok(answer(StatusCode::OK, &urls(app, &handle, from).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    parts: Vec<PartDone>,
}

async fn complete<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    caller: &Caller,
    h: &str,
    req: &Request,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let cfg = &app.config;
    let handle = own_upload(app, caller, h)?;
    let done: CompleteRequest = json_body(req)?;
    let ascending = done.parts.windows(2).all(|w| w[0].number < w[1].number);
    let sane = !done.parts.is_empty()
        && done.parts.len() <= handle.parts as usize
        && ascending
        && done.parts.iter().all(|p| {
            (1..=handle.parts).contains(&p.number)
                && (1..=128).contains(&p.etag.len())
                && p.etag.bytes().all(|b| b.is_ascii_graphic())
        });
    if !sane {
        return Err(bad_request(
            "bad_parts",
            format!(
                "parts is 1 to {} of {{number, etag}}, numbers ascending from 1, each etag as S3 gave it",
                handle.parts
            ),
        ));
    }
    out.parts = Some(u32::try_from(done.parts.len()).unwrap_or(u32::MAX));
    // A presigned part URL does not bind the part's length: what was sent
    // is measured before anything is assembled.
    let stored = app
        .uploads
        .parts(&handle.key, &handle.upload_id)
        .await
        .map_err(|e| store_refusal("listing the parts", &e))?;
    let total: u64 = stored
        .iter()
        .filter(|s| done.parts.iter().any(|p| p.number == s.number))
        .map(|s| s.size)
        .sum();
    out.size = Some(total);
    if total > cfg.max_upload_bytes {
        if let Err(e) = app.uploads.abort(&handle.key, &handle.upload_id).await {
            tracing::warn!(error = %e, "an oversize upload could not be aborted; the lifecycle rule will");
        }
        return Err(upload_error(hlsgate_core::upload::UploadError::TooLarge {
            size: total,
            max: cfg.max_upload_bytes,
        }));
    }
    app.uploads
        .complete(&handle.key, &handle.upload_id, &done.parts)
        .await
        .map_err(|e| store_refusal("completing the upload", &e))?;
    let video_id = VideoId::from_upload(&cfg.upload_bucket, &handle.key, &cfg.input_prefix);
    out.video_id = Some(video_id.to_string());
    Ok(answer(
        StatusCode::OK,
        &json!({
            "key": handle.key,
            "video_id": video_id,
            "size": total,
            "status": format!("videos/{video_id}/status"),
        }),
    ))
}

async fn abort<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    caller: &Caller,
    h: &str,
) -> Result<Response<Body>, Refusal> {
    let handle = own_upload(app, caller, h)?;
    app.uploads
        .abort(&handle.key, &handle.upload_id)
        .await
        .map_err(|e| store_refusal("aborting the upload", &e))?;
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

async fn status<U: UploadStore, S: ObjectSource>(
    app: &App<U, S>,
    caller: &Caller,
    id: &str,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let cfg = &app.config;
    let reader = has_any(
        &caller.viewer,
        &cfg.uploader_claim,
        &cfg.status_reader_values,
    );
    if !reader && !caller.uploader {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "not_uploader",
            "neither an uploader nor a status reader",
        ));
    }
    let id = VideoId::parse(id).map_err(|e| bad_request("bad_video_id", e.to_string()))?;
    out.video_id = Some(id.to_string());
    let not_found = |why: &str| Refusal::new(StatusCode::NOT_FOUND, "not_found", why.to_string());
    let key = status_key(&cfg.status_prefix, &id);
    let stored = match app.media.get(&key, MAX_STATUS_BYTES, None).await {
        Ok(Fetched::Object(o)) => Status::from_json(&o.body).ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "storage_error",
                format!("{key} is not a status"),
            )
        })?,
        Ok(Fetched::NotModified) | Err(SourceError::NotFound) => {
            return Err(not_found("no status yet"));
        }
        Err(e) => return Err(Refusal::storage(&e)),
    };
    if !reader {
        let own = UploadKey::parse(&stored.source_key, &cfg.input_prefix, &cfg.extensions)
            .is_some_and(|k| caller.pseudonym.starts_with(&k.uploader));
        if !own {
            return Err(not_found("another uploader's video"));
        }
    }
    let mut body = serde_json::to_value(&stored).unwrap_or_default();
    if let Some(m) = body.as_object_mut() {
        m.remove("token");
    }
    Ok(answer(StatusCode::OK, &body))
}
