//! Uploads: a `PUT` (or a file dropped on the page) streamed to disk, put
//! in the upload bucket, and announced to the jobs function.

use std::sync::atomic::Ordering;

use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::error::DevError;
use crate::lambda::json_response;
use crate::routes::{Answer, error};
use crate::setup::UPLOAD_BUCKET;
use crate::*;

impl Stack {
    /// `PUT /upload/NAME`: the body becomes `uploads/NAME`.
    pub(crate) async fn put_upload(&self, req: Request<Incoming>) -> Answer {
        if let Some(refused) = self.unauthorized(req.headers()) {
            return refused;
        }
        let raw = req.uri().path().trim_start_matches("/upload/");
        let name = percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned();
        if let Err(e) = check_upload_name(&name) {
            return error(StatusCode::BAD_REQUEST, "bad_name", e.to_string());
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("uploads are at most {MAX_UPLOAD_BYTES} bytes"),
            );
        }
        let path = self.data.tmp().join(format!(
            "upload-{}",
            setup::random_token(8).unwrap_or_default()
        ));
        let result = async {
            receive(req.into_body(), &path).await?;
            self.ingest(&name, &path).await
        }
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        match result {
            Ok(v) => json_response(StatusCode::ACCEPTED, &v),
            Err((status, v)) => json_response(status, &v),
        }
    }

    /// Puts a file into the upload bucket and runs the jobs handler on the
    /// "Object Created" event EventBridge would deliver.
    pub async fn ingest(
        &self,
        name: &str,
        file: &std::path::Path,
    ) -> Result<Value, (StatusCode, Value)> {
        let fail = |status: StatusCode, code: &str, m: String| {
            (status, json!({"error": code, "message": m}))
        };
        check_upload_name(name)
            .map_err(|e| fail(StatusCode::BAD_REQUEST, "bad_name", e.to_string()))?;
        let key = format!("uploads/{name}");
        let stored = transcode::upload(&self.s3, UPLOAD_BUCKET, &key, file)
            .await
            .map_err(|e| fail(StatusCode::BAD_GATEWAY, "storage_error", e.to_string()))?;
        let summary = self
            .announce(&key, stored.size, &stored.etag)
            .await
            .map_err(|(code, m)| fail(StatusCode::SERVICE_UNAVAILABLE, code, m))?;
        let upload = &summary["uploads"][0];
        let ext = key.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let beside = ext.eq_ignore_ascii_case("json")
            || ext.parse::<hlsgate_core::tracks::CaptionFormat>().is_ok();
        match upload["outcome"].as_str() {
            // A caption file or track manifest: the jobs function ignores
            // its event and reads it when the video beside it arrives.
            Some("ignored") if beside => Ok(json!({
                "key": key,
                "outcome": "stored",
                "note": "read when the video beside it is uploaded (upload it first)",
            })),
            Some("submitted" | "duplicate") => Ok(json!({
                "key": key,
                "video_id": upload["video_id"],
                "job_id": upload["job_id"],
                "outcome": upload["outcome"],
            })),
            _ => Err(fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ignored",
                upload["reason"]
                    .as_str()
                    .unwrap_or("the jobs function ignored the upload")
                    .to_string(),
            )),
        }
    }
}

impl Stack {
    /// What S3 and EventBridge do once `key` is stored: the jobs handler on
    /// its "Object Created" event; with a grants table, the dev viewer is
    /// granted the video. The jobs function's summary, or a code and why.
    pub(crate) async fn announce(
        &self,
        key: &str,
        size: u64,
        etag: &str,
    ) -> Result<Value, (&'static str, String)> {
        let seq = self.sequencer.fetch_add(1, Ordering::Relaxed);
        let sequencer = format!("{:010X}{seq:08X}", std::process::id());
        let event = transcode::object_created_event(UPLOAD_BUCKET, key, size, etag, &sequencer);
        let summary = hlsgate_mediaconvert_jobs::handle(&self.jobs, &event)
            .await
            .map_err(|e| ("transcoder_unavailable", e.to_string()))?;
        if let (Some(g), Some(id)) = (&self.grants, summary["uploads"][0]["video_id"].as_str()) {
            g.grant(id)
                .await
                .map_err(|e| ("grants_unavailable", e.to_string()))?;
        }
        Ok(summary)
    }

    /// The upload API, as API Gateway serves it on the issuer's API: the
    /// dev token becomes the JWT authorizer's context for the dev viewer,
    /// who is an uploader too. A completed upload is announced as S3
    /// would announce it.
    pub(crate) async fn upload_api(
        &self,
        req: Request<Incoming>,
        peer: std::net::SocketAddr,
    ) -> Answer {
        let preflight = req.method() == http::Method::OPTIONS;
        if !preflight && let Some(refused) = self.unauthorized(req.headers()) {
            return refused;
        }
        let method = req.method().clone();
        let path = req
            .uri()
            .path()
            .trim_start_matches("/_origin/issuer")
            .to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let headers = crate::lambda::header_pairs(req.headers());
        let body =
            match crate::routes::read_body(req.into_body(), hlsgate_upload_api::MAX_BODY_BYTES)
                .await
            {
                Ok(b) => b,
                Err(refused) => return refused,
            };
        let mut api =
            crate::lambda::http_api_request(&method, &path, &query, &headers, peer, "$default");
        if !body.is_empty() {
            match std::str::from_utf8(&body) {
                Ok(text) => api = api.body(text),
                Err(_) => {
                    return error(StatusCode::BAD_REQUEST, "bad_json", "the body is not UTF-8");
                }
            }
        }
        if !preflight {
            api = crate::routes::authorized(api, &format!("[{DEV_GROUP} {DEV_UPLOADER_GROUP}]"));
        }
        let request = match api.try_request() {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        };
        let answer = hlsgate_upload_api::handle(&self.uploader, request).await;
        let completed = method == http::Method::POST
            && path.ends_with("/complete")
            && answer.status() == StatusCode::OK;
        if completed {
            let done: Value = serde_json::from_slice(answer.body().as_ref()).unwrap_or_default();
            if let Some(key) = done["key"].as_str()
                && let Err((code, why)) = self.announce_stored(key).await
            {
                tracing::warn!(key, code, reason = %why, "a completed upload was not announced");
            }
        }
        crate::lambda::response(answer)
    }

    /// [`Stack::announce`] for an object already in the upload bucket.
    async fn announce_stored(&self, key: &str) -> Result<Value, (&'static str, String)> {
        let head = self
            .s3
            .head_object()
            .bucket(UPLOAD_BUCKET)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                (
                    "storage_error",
                    aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                )
            })?;
        let size = head
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let etag = head
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        self.announce(key, size, &etag).await
    }
}

/// The characters an upload's name may hold besides letters and digits (any
/// script): enough for real file names, nothing that means anything in HTML,
/// a shell or a path.
pub const UPLOAD_NAME_PUNCTUATION: &str = " ._-()+,";

/// An upload's file name: 1 to 200 bytes of letters, digits and
/// [`UPLOAD_NAME_PUNCTUATION`], not starting with `.` or a space.
pub fn check_upload_name(name: &str) -> Result<(), DevError> {
    if name.is_empty() || name.len() > 200 {
        return Err(DevError::usage("the name must be 1 to 200 bytes"));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !c.is_alphanumeric() && !UPLOAD_NAME_PUNCTUATION.contains(c))
    {
        return Err(DevError::usage(format!(
            "the name may hold letters, digits, spaces and . _ - ( ) + , only; it holds {c:?} \
             (rename the file)"
        )));
    }
    if name.starts_with(['.', ' ']) {
        return Err(DevError::usage(
            "the name must not start with `.` or a space",
        ));
    }
    Ok(())
}

/// Streams a request body to a file, refusing more than [`MAX_UPLOAD_BYTES`].
async fn receive(mut body: Incoming, to: &std::path::Path) -> Result<(), (StatusCode, Value)> {
    let io = |e: std::io::Error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "io", "message": format!("{}: {e}", to.display())}),
        )
    };
    let mut file = tokio::fs::File::create(to).await.map_err(io)?;
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_body", "message": e.to_string()}),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > MAX_UPLOAD_BYTES {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"error": "too_large", "message": format!("uploads are at most {MAX_UPLOAD_BYTES} bytes")}),
                ));
            }
            file.write_all(&data).await.map_err(io)?;
        }
    }
    if total == 0 {
        return Err((
            StatusCode::BAD_REQUEST,
            json!({"error": "empty", "message": "the upload is empty"}),
        ));
    }
    file.flush().await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names() {
        assert!(check_upload_name("My Trip.mp4").is_ok());
        assert!(check_upload_name("../x.mp4").is_err());
        assert!(check_upload_name("a/b.mp4").is_err());
        assert!(check_upload_name("").is_err());
        assert!(check_upload_name("a\nb.mp4").is_err());
        assert!(check_upload_name(&"x".repeat(201)).is_err());
        assert!(check_upload_name("Été à Zürich (2) + more, v1.2_final-cut.mov").is_ok());
        for bad in [
            "<img src=x onerror=alert(1)>.mp4",
            "a\"b.mp4",
            "a'b.mp4",
            "a&b.mp4",
            "a;b.mp4",
            "a%2Fb.mp4",
            "a\\b.mp4",
            ".hidden.mp4",
            " lead.mp4",
            "a\u{202e}4pm.exe",
        ] {
            let e = check_upload_name(bad).unwrap_err().to_string();
            assert!(e.contains("name"), "{bad}: {e}");
        }
    }
}
