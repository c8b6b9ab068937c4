//! One test app: a local S3 with the two buckets, the handler over it, and
//! requests as API Gateway's JWT authorizer delivers them.

use hlsgate_aws::local_s3::LocalS3;
use hlsgate_aws::testing::{ApiRequest, Shape};
use hlsgate_aws::{Env, S3Objects};
use hlsgate_upload_api::{App, Config, S3Uploads, handle};
use lambda_http::{Body, Response};
use serde_json::Value;

pub const UPLOADS: &str = "hlsgate-uploads";
pub const MEDIA: &str = "hlsgate-media";
pub const MIB: u64 = 1024 * 1024;
pub const PLAYER: &str = "https://player.example.com";

pub struct TestApp {
    pub app: App<S3Uploads, S3Objects>,
    pub s3: aws_sdk_s3::Client,
    _dir: tempfile::TempDir,
}

pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = [
        ("INPUT_BUCKET", UPLOADS),
        ("MEDIA_BUCKET", MEDIA),
        ("UPLOADER_VALUES", "editors"),
        ("STATUS_READER_VALUES", "backend"),
        ("UPLOAD_PART_BYTES", "5242880"),
        ("CORS_ALLOWED_ORIGINS", PLAYER),
        ("LOG_HASH_KEY", "test-only-pseudonym-key"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Config::from(Env::from_pairs(vars)).unwrap_or_else(|e| panic!("{e}"))
}

pub async fn test_app(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3::start(dir.path()).await.unwrap();
    let s3 = server.client();
    for b in [UPLOADS, MEDIA] {
        s3.create_bucket().bucket(b).send().await.unwrap();
    }
    let uploads = S3Uploads {
        client: s3.clone(),
        bucket: UPLOADS.into(),
    };
    let media = S3Objects::new(s3.clone(), MEDIA);
    TestApp {
        app: App::new(config(extra), uploads, media),
        s3,
        _dir: dir,
    }
}

/// Someone signed in: `sub` and their `cognito:groups` as an HTTP API's
/// JWT authorizer flattens an array.
#[derive(Debug, Clone, Copy)]
pub struct Who {
    pub sub: &'static str,
    pub groups: &'static str,
}

pub const EDITOR: Who = Who {
    sub: "editor-1",
    groups: "[editors]",
};
pub const OTHER_EDITOR: Who = Who {
    sub: "editor-2",
    groups: "[editors staff]",
};
pub const VIEWER: Who = Who {
    sub: "viewer-1",
    groups: "[subscribers]",
};
pub const BACKEND: Who = Who {
    sub: "platform-backend",
    groups: "[backend]",
};

pub fn request(who: Option<Who>, method: &str, path: &str, body: Option<&Value>) -> ApiRequest {
    let mut r = ApiRequest::new(Shape::Http).method(method);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    r = r.path(path);
    if !query.is_empty() {
        r = r.query(query);
    }
    if let Some(w) = who {
        r = r.jwt(&[("sub", w.sub), ("cognito:groups", w.groups)], None);
    }
    if let Some(b) = body {
        r = r
            .body(&b.to_string())
            .header("content-type", "application/json");
    }
    r
}

impl TestApp {
    pub async fn call(
        &self,
        who: Option<Who>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Response<Body> {
        handle(&self.app, request(who, method, path, body).request()).await
    }

    /// The answer's status and JSON body (`null` when empty).
    pub async fn json(
        &self,
        who: Option<Who>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let r = self.call(who, method, path, body).await;
        (r.status().as_u16(), json_of(&r))
    }
}

pub fn json_of(r: &Response<Body>) -> Value {
    let bytes: &[u8] = r.body().as_ref();
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
    }
}

/// Sends `body` to a presigned URL as a browser would: a plain PUT, no
/// credentials; the part's `ETag`.
pub async fn put_part(url: &str, body: Vec<u8>) -> String {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let resp = ureq::put(&url)
            .send(&body[..])
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        resp.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no etag from {url}"))
            .to_string()
    })
    .await
    .unwrap()
}

/// A PUT to a presigned URL that may be refused: the status and the body;
/// `None` when the server refused before the body was sent (S3 answers a
/// bad signature at once and closes, so a large body meets a broken pipe).
pub async fn put_part_status(url: &str, body: Vec<u8>) -> Option<(u16, String)> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        match agent.put(&url).send(&body[..]) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                Some((status, resp.body_mut().read_to_string().unwrap_or_default()))
            }
            Err(ureq::Error::Io(e)) => {
                eprintln!("PUT {url}: the server closed the connection: {e}");
                None
            }
            Err(e) => panic!("PUT {url}: {e}"),
        }
    })
    .await
    .unwrap()
}

/// Writes part `n` with the SDK's own credentials, around the part URLs.
pub async fn sdk_put_part(
    t: &TestApp,
    key: &str,
    upload_id: &str,
    n: i32,
    body: Vec<u8>,
) -> String {
    t.s3.upload_part()
        .bucket(UPLOADS)
        .key(key)
        .upload_id(upload_id)
        .part_number(n)
        .body(body.into())
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string()
}

/// S3's upload id, from a created upload's handle (the handle's payload
/// is readable; only its MAC is secret).
pub fn upload_id(created: &Value) -> String {
    use base64::Engine as _;
    let handle = created["upload"].as_str().unwrap();
    let payload = handle.split_once('.').unwrap().0;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    String::from_utf8(text)
        .unwrap()
        .split('\n')
        .nth(2)
        .unwrap()
        .to_string()
}

/// `POST` to the `complete` path of a created upload.
pub async fn complete(t: &TestApp, created: &Value, body: &Value) -> (u16, Value) {
    t.json(
        Some(EDITOR),
        "POST",
        &format!("/{}", created["complete"].as_str().unwrap()),
        Some(body),
    )
    .await
}

/// `len` bytes that differ from part to part.
pub fn bytes(len: u64, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}
