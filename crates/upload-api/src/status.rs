//! `GET /videos/{id}/status`: a video's processing status, for its
//! uploader and for status readers.

use hlsgate_aws::viewer::has_any;
use hlsgate_aws::web::Refusal;
use hlsgate_aws::{Fetched, ObjectSource, SourceError};
use hlsgate_core::status::{MAX_STATUS_BYTES, Status, status_key};
use hlsgate_core::upload::UploadKey;
use hlsgate_core::video::VideoId;
use http::StatusCode;
use lambda_http::{Body, Response};

use crate::{App, Caller, Outcome, UploadStore, answer, bad_request};

pub(crate) async fn status<U: UploadStore, S: ObjectSource>(
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
