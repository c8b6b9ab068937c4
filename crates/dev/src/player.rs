//! The player page and the video list it shows.

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use crate::lambda::json_response;
use crate::routes::{Answer, error, text};
use crate::setup::{KEY_PREFIX, MEDIA_BUCKET, SAMPLE_ID};
use crate::*;

/// The player page: hls.js from `/hls.js` when a local copy is served, else
/// from the CDN with its integrity hash.
fn page_html(local_hlsjs: bool, mode: Delivery) -> String {
    let (src, integrity) = if local_hlsjs {
        ("/hls.js", String::new())
    } else {
        (
            HLSJS_CDN,
            format!(r#"integrity="{HLSJS_CDN_INTEGRITY}" crossorigin="anonymous""#),
        )
    };
    include_str!("../assets/player.html")
        .replace("{{HLSJS_SRC}}", src)
        .replace("{{HLSJS_INTEGRITY}}", &integrity)
        .replace("{{DEFAULT_MODE}}", mode.as_str())
        .replace("{{SAMPLE_ID}}", SAMPLE_ID)
}

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
        let html = page_html(self.hlsjs.is_some(), self.mode);
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use base64::Engine;
    use sha2::{Digest, Sha384};

    use super::page_html;
    use crate::{HLSJS_CDN, HLSJS_CDN_INTEGRITY, HLSJS_VERSION};
    use hlsgate_core::signing::Delivery;

    #[test]
    fn the_cdn_script_carries_its_integrity_and_a_local_one_none() {
        let tag = |html: &str| {
            html.lines()
                .find(|l| l.contains("<script src="))
                .unwrap()
                .to_string()
        };
        let cdn = tag(&page_html(false, Delivery::Url));
        assert!(cdn.contains(&format!(r#"src="{HLSJS_CDN}""#)), "{cdn}");
        assert!(
            cdn.contains(&format!(
                r#"integrity="{HLSJS_CDN_INTEGRITY}" crossorigin="anonymous""#
            )),
            "{cdn}"
        );
        let local = tag(&page_html(true, Delivery::Cookies));
        assert!(
            local.contains(r#"src="/hls.js""#) && !local.contains("integrity"),
            "{local}"
        );
        assert!(
            !page_html(true, Delivery::Url).contains("{{"),
            "a placeholder left"
        );
    }

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_cdn_script_is_the_pinned_package_file() {
        // One version: the CDN URL's, and the one `make e2e-tools` installs.
        let package: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join("e2e/package.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(package["dependencies"]["hls.js"], HLSJS_VERSION);
        assert!(
            HLSJS_CDN.contains(&format!("/hls.js@{HLSJS_VERSION}/")),
            "{HLSJS_CDN}"
        );

        let tools = std::env::var("HLSGATE_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo().join(".tools"));
        let installed = tools.join("e2e/node_modules/hls.js");
        let Ok(file) = std::fs::read(installed.join("dist/hls.min.js")) else {
            eprintln!(
                "skipped the integrity check: no hls.js under {} (make e2e-tools)",
                installed.display()
            );
            return;
        };
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(installed.join("package.json")).unwrap())
                .unwrap();
        assert_eq!(meta["version"], HLSJS_VERSION);
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&file));
        assert_eq!(HLSJS_CDN_INTEGRITY, format!("sha384-{digest}"));
    }
}
