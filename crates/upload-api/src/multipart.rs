//! The upload routes: start a multipart upload, hand out part URLs (each
//! bound to its part's length), complete it from what S3 holds, abort it.
//!
//! No ordering of requests can make the stored object differ from what was
//! measured: each part URL signs its `Content-Length`; `complete` lists the
//! parts, refuses a list from the uploader that differs from S3's (numbers
//! and `ETag`s) or a total other than the declared size, then assembles
//! exactly the `ETag`s it listed with `MpuObjectSize`, so a part written
//! again after the listing makes S3 refuse the assembly.

use hlsgate_aws::web::Refusal;
use hlsgate_aws::{CallError, CallFailure, ObjectSource, SourceError};
use hlsgate_core::upload::{UploadKey, UploadName, check_size};
use hlsgate_core::video::VideoId;
use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    App, Caller, Handle, HandleKey, Outcome, PartDone, StoredPart, URLS_PER_ANSWER, UploadStore,
    answer, bad_request, json_body,
};

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

/// The handles' key, or a 503: the function runs without a pseudonym key.
fn handle_key<U, S>(app: &App<U, S>) -> Result<&HandleKey, Refusal> {
    app.handles.as_ref().ok_or_else(|| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_handle_key",
            "no LOG_HASH_KEY_SECRET_ARN or LOG_HASH_KEY: upload handles cannot be signed",
        )
    })
}

/// The part URLs `from..` of `handle` (at most [`URLS_PER_ANSWER`]), as
/// the answers list them; `encoded` is the handle as the routes name it.
async fn urls<U: UploadStore>(
    app: &App<U, impl ObjectSource>,
    handle: &Handle,
    encoded: &str,
    from: u32,
) -> Result<Value, Refusal> {
    let to = handle.parts().min(from.saturating_add(URLS_PER_ANSWER - 1));
    let parts: Vec<(u32, u64)> = (from..=to).map(|n| (n, handle.part_len(n))).collect();
    let urls = app
        .uploads
        .part_urls(&handle.key, &handle.upload_id, &parts, app.config.url_ttl)
        .await
        .map_err(|e| store_refusal("presigning", &e))?;
    let list: Vec<Value> = parts
        .iter()
        .zip(urls)
        .map(|((n, len), url)| json!({"number": n, "bytes": len, "url": url}))
        .collect();
    let next = (to < handle.parts()).then(|| format!("uploads/{encoded}/parts?from={}", to + 1));
    Ok(json!({
        "urls": list,
        "next": next,
        "expires_in": app.config.url_ttl.as_secs(),
    }))
}

pub(crate) async fn create<U: UploadStore, S: ObjectSource>(
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
    let key_for_handles = handle_key(app)?;
    let part_bytes = cfg.part_size(size);
    let parts = Handle::part_count(size, part_bytes);
    out.parts = Some(parts);
    let upload_id = app
        .uploads
        .start(&key, &content_type)
        .await
        .map_err(|e| store_refusal("starting the upload", &e))?;
    let handle = Handle {
        key: key.clone(),
        upload_id,
        size,
        part_bytes,
    };
    let encoded = handle.encode(key_for_handles);
    let mut body = urls(app, &handle, &encoded, 1).await?;
    body["upload"] = encoded.clone().into();
    body["key"] = key.into();
    body["video_id"] = video_id.to_string().into();
    body["part_bytes"] = part_bytes.into();
    body["parts"] = parts.into();
    body["complete"] = format!("uploads/{encoded}/complete").into();
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
    let handle = Handle::decode(h, handle_key(app)?)
        .ok_or_else(|| not_found("not an upload handle this function signed"))?;
    let key = UploadKey::parse(&handle.key, &cfg.input_prefix, &cfg.extensions)
        .ok_or_else(|| not_found("not an upload key"))?;
    if !caller.pseudonym.starts_with(&key.uploader) {
        return Err(not_found("another uploader's upload"));
    }
    Ok(handle)
}

pub(crate) async fn parts<U: UploadStore, S: ObjectSource>(
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
            .filter(|n| (1..=handle.parts()).contains(n))
            .ok_or_else(|| {
                bad_request(
                    "bad_from",
                    format!("from is a part number, 1 to {}", handle.parts()),
                )
            })?,
    };
    out.parts = Some(handle.parts());
    // `h` verified unchanged: the same handle the next page names.
    Ok(answer(StatusCode::OK, &urls(app, &handle, h, from).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    parts: Vec<PartDone>,
}

pub(crate) async fn complete<U: UploadStore, S: ObjectSource>(
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
        && done.parts.len() <= handle.parts() as usize
        && ascending
        && done.parts.iter().all(|p| {
            (1..=handle.parts()).contains(&p.number)
                && (1..=128).contains(&p.etag.len())
                && p.etag.bytes().all(|b| b.is_ascii_graphic())
        });
    if !sane {
        return Err(bad_request(
            "bad_parts",
            format!(
                "parts is 1 to {} of {{number, etag}}, numbers ascending from 1, each etag as S3 gave it",
                handle.parts()
            ),
        ));
    }
    out.parts = Some(u32::try_from(done.parts.len()).unwrap_or(u32::MAX));
    // What S3 holds, measured before anything is assembled; only that is
    // assembled, and only when it is the declared file.
    let stored = app
        .uploads
        .parts(&handle.key, &handle.upload_id)
        .await
        .map_err(|e| store_refusal("listing the parts", &e))?;
    let total: u64 = stored.iter().map(|s| s.size).sum();
    out.size = Some(total);
    if total > cfg.max_upload_bytes {
        abort_quietly(app, &handle).await;
        return Err(upload_error(hlsgate_core::upload::UploadError::TooLarge {
            size: total,
            max: cfg.max_upload_bytes,
        }));
    }
    check_parts(&handle, &done.parts, &stored, total)?;
    let listed: Vec<PartDone> = stored
        .iter()
        .map(|s| PartDone {
            number: s.number,
            etag: s.etag.clone(),
        })
        .collect();
    app.uploads
        .complete(&handle.key, &handle.upload_id, &listed, handle.size)
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

/// An `ETag` without its quotes: S3 lists and answers them quoted, clients
/// pass them on either way.
fn bare(etag: &str) -> &str {
    etag.trim_matches('"')
}

/// The uploader's list is S3's (every part, the same `ETag`s), and S3's
/// parts are the declared file: each part as long as its URL said.
fn check_parts(
    handle: &Handle,
    given: &[PartDone],
    stored: &[StoredPart],
    total: u64,
) -> Result<(), Refusal> {
    let same_list = given.len() == stored.len()
        && given
            .iter()
            .zip(stored)
            .all(|(g, s)| g.number == s.number && bare(&g.etag) == bare(&s.etag));
    if !same_list {
        return Err(bad_request(
            "invalid_part",
            "the parts listed are not the parts S3 holds (a part missing, sent again, or its etag changed)",
        ));
    }
    let whole = stored.len() == handle.parts() as usize
        && stored
            .iter()
            .zip(1..)
            .all(|(s, n)| s.number == n && s.size == handle.part_len(n));
    if !whole {
        return Err(bad_request(
            "size_mismatch",
            format!(
                "the parts hold {total} bytes in {} parts; the upload declared {} bytes in {} parts",
                stored.len(),
                handle.size,
                handle.parts()
            ),
        ));
    }
    Ok(())
}

async fn abort_quietly<U: UploadStore, S>(app: &App<U, S>, handle: &Handle) {
    if let Err(e) = app.uploads.abort(&handle.key, &handle.upload_id).await {
        tracing::warn!(error = %e, "an oversize upload could not be aborted; the lifecycle rule will");
    }
}

pub(crate) async fn abort<U: UploadStore, S: ObjectSource>(
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
