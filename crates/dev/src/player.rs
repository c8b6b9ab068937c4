//! The player page and the video list it shows.

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use crate::lambda::json_response;
use crate::routes::{Answer, error, text};
use crate::setup::{KEY_PREFIX, MEDIA_BUCKET, SAMPLE_ID};
use crate::*;

impl Stack {
    /// The player page; other host names are sent to 127.0.0.1, where the
    /// signatures and cookies are issued.
    pub(crate) fn page(&self, headers: &HeaderMap) -> Answer {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if host.is_some_and(|h| format!("http://{h}") != self.public_origin) {
            let mut r = text(StatusCode::FOUND, "text/plain", "see 127.0.0.1");
            if let Ok(v) = HeaderValue::try_from(format!("{}/", self.public_origin)) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        let src = if self.hlsjs.is_some() {
            "/hls.js"
        } else {
            HLSJS_CDN
        };
        let html = include_str!("../assets/player.html")
            .replace("{{HLSJS_SRC}}", src)
            .replace("{{DEFAULT_MODE}}", self.mode.as_str())
            .replace("{{SAMPLE_ID}}", SAMPLE_ID);
        text(StatusCode::OK, "text/html; charset=utf-8", html)
    }

    /// Videos in the media bucket (those with a master) and every job.
    pub(crate) async fn videos(&self) -> Answer {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let out = match self
                .s3
                .list_objects_v2()
                .bucket(MEDIA_BUCKET)
                .prefix(KEY_PREFIX)
                .set_continuation_token(token.take())
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) => {
                    return error(
                        StatusCode::BAD_GATEWAY,
                        "storage_error",
                        aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                    );
                }
            };
            for o in out.contents() {
                if let Some(id) = o
                    .key()
                    .and_then(|k| k.strip_prefix(KEY_PREFIX))
                    .and_then(|k| k.strip_suffix("/master.m3u8"))
                    .filter(|id| !id.contains('/'))
                {
                    ids.push(id.to_string());
                }
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        json_response(
            StatusCode::OK,
            &json!({"videos": ids, "jobs": self.jobs.transcoder.board.to_json()}),
        )
    }
}
