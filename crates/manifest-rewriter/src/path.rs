//! From the request path to an S3 key, refusing anything that could reach
//! outside the media prefix or is not a playlist.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Longest S3 key.
const MAX_KEY_BYTES: usize = 1024;

/// Why a path is refused. The reason is logged, not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// 400: a path no honest player sends.
    BadRequest(&'static str),
    /// 404: a well-formed path we do not serve.
    NotFound(&'static str),
}

impl PathError {
    pub fn reason(&self) -> &'static str {
        match self {
            PathError::BadRequest(r) | PathError::NotFound(r) => r,
        }
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A playlist: its S3 key, which is also its path on the CDN.
    Playlist(String),
    /// A video's AES-128 key: `path` on the CDN (`KEY_PREFIX/ID/hls.key`,
    /// what the signature covers), `object` in the bucket (outside the
    /// media prefix).
    Key { path: String, object: String },
}

impl Resource {
    /// The path on the CDN, which the signature must cover.
    pub fn path(&self) -> &str {
        match self {
            Resource::Playlist(key) => key,
            Resource::Key { path, .. } => path,
        }
    }
}

/// The resource of this request: a playlist, or the key of the video whose
/// folder the path names.
pub fn resource(req: &Request, prefix: &str, keys_prefix: &str) -> Result<Resource, PathError> {
    let key = request_key(req)?;
    check_safe(&key)?;
    if let Some(id) = key
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(hlsgate_core::video::KEY_NAME))
        .and_then(|rest| rest.strip_suffix('/'))
    {
        let id = hlsgate_core::video::VideoId::parse(id)
            .map_err(|_| PathError::NotFound("not a video folder's key"))?;
        return Ok(Resource::Key {
            object: hlsgate_core::video::key_object(keys_prefix, id.as_str()),
            path: key,
        });
    }
    check_playlist(&key, prefix)?;
    Ok(Resource::Playlist(key))
}

/// The decoded path of the request without its leading `/`: the
/// `{proxy+}` path parameter (REST and HTTP APIs), else the request path
/// without the stage (Function URLs).
fn request_key(req: &Request) -> Result<String, PathError> {
    // The path as the event carries it: encoded for HTTP APIs and Function
    // URLs, decoded by REST APIs (whose `{proxy+}` parameter we use anyway).
    let raw = req.raw_http_path();
    check_raw(raw)?;
    let key = match req.path_parameters().first("proxy") {
        Some(p) => p.to_string(),
        None => {
            let path = strip_stage(raw, stage(req).as_deref());
            percent_encoding::percent_decode_str(path)
                .decode_utf8()
                .map_err(|_| PathError::BadRequest("path is not UTF-8"))?
                .into_owned()
        }
    };
    Ok(key.strip_prefix('/').unwrap_or(&key).to_string())
}

/// Encoded dots, slashes, backslashes and NULs have no business in a
/// playlist path; decoding them later is how traversal slips through.
fn check_raw(raw: &str) -> Result<(), PathError> {
    let lower = raw.to_ascii_lowercase();
    for bad in ["%2e", "%2f", "%5c", "%00", "%25"] {
        if lower.contains(bad) {
            return Err(PathError::BadRequest(
                "percent-encoded `.`, `/`, `\\`, NUL or `%`",
            ));
        }
    }
    Ok(())
}

/// Checks a decoded playlist key.
pub fn check_key(key: &str, prefix: &str) -> Result<(), PathError> {
    check_safe(key)?;
    check_playlist(key, prefix)
}

/// A safe key names a playlist under the media prefix.
fn check_playlist(key: &str, prefix: &str) -> Result<(), PathError> {
    if !key.starts_with(prefix) {
        return Err(PathError::NotFound("outside the media prefix"));
    }
    if !key.ends_with(".m3u8") || key.len() == prefix.len() + ".m3u8".len() {
        return Err(PathError::NotFound("not a playlist (.m3u8)"));
    }
    Ok(())
}

/// What no decoded path may hold, whatever it names.
fn check_safe(key: &str) -> Result<(), PathError> {
    if key.is_empty() {
        return Err(PathError::NotFound("empty path"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(PathError::BadRequest("path longer than an S3 key"));
    }
    if key.contains('\\') {
        return Err(PathError::BadRequest("backslash"));
    }
    if key.bytes().any(|b| b.is_ascii_control()) {
        return Err(PathError::BadRequest("control character or NUL"));
    }
    if key.contains('%') {
        return Err(PathError::BadRequest(
            "`%` after decoding (double encoding)",
        ));
    }
    if key.starts_with('/') || key.contains("//") {
        return Err(PathError::BadRequest("empty path segment (`//`)"));
    }
    if key.split('/').any(|s| s == ".." || s == ".") {
        return Err(PathError::BadRequest("`.` or `..` segment"));
    }
    Ok(())
}

fn stage(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(c) => c.stage.clone(),
        RequestContext::ApiGatewayV2(c) => c.stage.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn strip_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    match stage {
        Some(s) if s != "$default" && !s.is_empty() => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(s))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let p = "videos/";
        assert_eq!(check_key("videos/abc/master.m3u8", p), Ok(()));
        assert_eq!(check_key("videos/abc/v0/index.m3u8", p), Ok(()));
        for (k, why) in [
            ("videos/../secret.m3u8", "`.` or `..` segment"),
            ("videos/./a.m3u8", "`.` or `..` segment"),
            ("videos//a.m3u8", "empty path segment (`//`)"),
            ("/videos/a.m3u8", "empty path segment (`//`)"),
            ("videos\\a.m3u8", "backslash"),
            ("videos/a\0.m3u8", "control character or NUL"),
            ("videos/a\n.m3u8", "control character or NUL"),
            (
                "videos/%2e%2e/a.m3u8",
                "`%` after decoding (double encoding)",
            ),
        ] {
            assert_eq!(check_key(k, p), Err(PathError::BadRequest(why)), "{k:?}");
        }
        for (k, why) in [
            ("", "empty path"),
            ("other/a.m3u8", "outside the media prefix"),
            ("videosX/a.m3u8", "outside the media prefix"),
            ("videos/abc/seg1.ts", "not a playlist (.m3u8)"),
            ("videos/abc/master.m3u8.bak", "not a playlist (.m3u8)"),
            ("videos/.m3u8", "not a playlist (.m3u8)"),
        ] {
            assert_eq!(check_key(k, p), Err(PathError::NotFound(why)), "{k:?}");
        }
        assert!(check_key(&format!("videos/{}.m3u8", "a".repeat(1100)), p).is_err());
    }

    #[test]
    fn raw_paths() {
        assert!(check_raw("/videos/a%20b/master.m3u8").is_ok());
        for raw in [
            "/videos/%2E%2E/x.m3u8",
            "/videos%2fx.m3u8",
            "/a%5Cb",
            "/a%00",
            "/a%252e",
        ] {
            assert!(check_raw(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn stages() {
        assert_eq!(
            strip_stage("/prod/videos/a.m3u8", Some("prod")),
            "/videos/a.m3u8"
        );
        assert_eq!(
            strip_stage("/videos/a.m3u8", Some("prod")),
            "/videos/a.m3u8"
        );
        assert_eq!(
            strip_stage("/production/a.m3u8", Some("prod")),
            "/production/a.m3u8"
        );
        assert_eq!(
            strip_stage("/videos/a.m3u8", Some("$default")),
            "/videos/a.m3u8"
        );
        assert_eq!(strip_stage("/videos/a.m3u8", None), "/videos/a.m3u8");
    }
}
