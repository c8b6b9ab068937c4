//! An S3 protocol server over a local folder (s3s-fs), for tests, benchmarks
//! and the local stack. Objects are plain files under `root/bucket/key`; it
//! serves path-style requests signed with its [`LocalKeys`] (random unless
//! given: `hlsgate dev` keeps one pair per data folder).
//!
//! Any web page can make a browser send a request here, so besides SigV4 it
//! refuses what S3 behind CloudFront never sees from a page ([`guard`]): a
//! `Host` other than its own (DNS rebinding), a query-signed `POST` (a
//! presigned `?delete` sent as a simple request), and form `POST`s.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use aws_sdk_s3::config::Credentials;
use http::Method;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::sync::RwLock;

mod guard;
mod multipart;

/// The access key pair a local S3 accepts. `Debug` shows the access key
/// only.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalKeys {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeys")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl LocalKeys {
    /// A new random pair.
    pub fn random() -> std::io::Result<LocalKeys> {
        let hex = |n: usize| -> std::io::Result<String> {
            let mut b = vec![0u8; n];
            getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(hex::encode_upper(b))
        };
        Ok(LocalKeys {
            access_key: format!("HLSGATELOCAL{}", hex(4)?),
            secret_key: hex(20)?,
        })
    }
}

/// A running server; it stops with the Tokio runtime that started it.
#[derive(Debug, Clone)]
pub struct LocalS3 {
    addr: SocketAddr,
    keys: LocalKeys,
}

impl LocalS3 {
    /// The region its clients use.
    pub const REGION: &'static str = crate::sdk::LOCAL_REGION;

    /// Serves `root` on 127.0.0.1 (a free port), with random keys.
    pub async fn start(root: &Path) -> std::io::Result<LocalS3> {
        Self::start_on(root, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `root` on `addr` (port 0: a free one), with random keys.
    pub async fn start_on(root: &Path, addr: SocketAddr) -> std::io::Result<LocalS3> {
        Self::start_with(root, addr, &[], LocalKeys::random()?).await
    }

    /// Serves `root` on `addr` with `keys`, answering browsers from
    /// `origins` as the template's upload bucket CORS rule does: `PUT` (a
    /// presigned part) with `Content-Type`, and `ETag` readable.
    pub async fn start_with(
        root: &Path,
        addr: SocketAddr,
        origins: &[String],
        keys: LocalKeys,
    ) -> std::io::Result<LocalS3> {
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let s3 = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(
                keys.access_key.as_str(),
                keys.secret_key.as_str(),
            ));
            b.build()
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // S3 answers a read with one whole version of an object. s3s-fs keeps
        // an object's checksum beside its file, so a read that opens the old
        // file can send the new checksum, and the SDK refuses the body. Here
        // reads share a lock that each write holds alone.
        let versions = Arc::new(RwLock::new(()));
        let root = Arc::new(root.to_path_buf());
        let s3 = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let (s3, versions, root) = (s3.clone(), Arc::clone(&versions), Arc::clone(&root));
            async move {
                if let Some((code, message)) = guard::refusal(&req, addr.port()) {
                    return Ok(xml_answer(403, multipart::error_xml(code, message)));
                }
                let (_shared, _alone);
                if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
                    _shared = versions.read().await;
                } else {
                    _alone = versions.write().await;
                }
                match multipart::Operation::of(req.method(), req.uri().query()) {
                    Some(multipart::Operation::Complete(id)) => {
                        complete(&s3, &root, &id, req).await
                    }
                    Some(multipart::Operation::ListParts(id)) => {
                        list_parts(&s3, &root, &id, req).await
                    }
                    None => s3.call(req.map(s3s::Body::from)).await,
                }
            }
        });
        let origins: Vec<http::HeaderValue> =
            origins.iter().filter_map(|o| o.parse().ok()).collect();
        let cors = (!origins.is_empty()).then(|| {
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::PUT])
                .allow_headers([http::header::CONTENT_TYPE])
                .expose_headers([http::header::ETAG])
                .max_age(std::time::Duration::from_secs(3000))
        });
        let service =
            TowerToHyperService::new(tower::ServiceBuilder::new().option_layer(cors).service(s3));
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let svc = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        Ok(LocalS3 { addr, keys })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The keys it accepts.
    pub fn keys(&self) -> &LocalKeys {
        &self.keys
    }

    /// The credentials it accepts, for an SDK client.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.keys.access_key,
            &self.keys.secret_key,
            None,
            None,
            "hlsgate-local",
        )
    }

    /// A real SDK client pointed at it (path-style).
    pub fn client(&self) -> aws_sdk_s3::Client {
        crate::sdk::endpoint_s3_client(&self.endpoint(), self.credentials(), None)
    }
}

type S3Answer = Result<http::Response<s3s::Body>, s3s::HttpError>;

fn xml_answer(status: u16, body: bytes::Bytes) -> http::Response<s3s::Body> {
    let mut resp = http::Response::new(s3s::Body::from(body));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

/// `CompleteMultipartUpload`: refused as S3 refuses it (a part's `ETag`,
/// the total against `x-amz-mp-object-size`), else s3s-fs assembles.
async fn complete(
    s3: &s3s::service::S3Service,
    root: &Path,
    upload_id: &str,
    req: http::Request<hyper::body::Incoming>,
) -> S3Answer {
    use http_body_util::BodyExt as _;
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(xml_answer(
                400,
                multipart::error_xml("IncompleteBody", &e.to_string()),
            ));
        }
    };
    let size = parts
        .headers
        .get("x-amz-mp-object-size")
        .and_then(|v| v.to_str().ok());
    let stored = multipart::stored_parts(root, upload_id).unwrap_or_default();
    if let Some((status, code, message)) = multipart::refusal(&stored, &body, size) {
        return Ok(xml_answer(status, multipart::error_xml(code, &message)));
    }
    s3.call(http::Request::from_parts(parts, s3s::Body::from(body)))
        .await
}

/// `ListParts`: s3s-fs checks the request; the parts come with their
/// `ETag`s, in order, as S3 lists them.
async fn list_parts(
    s3: &s3s::service::S3Service,
    root: &Path,
    upload_id: &str,
    req: http::Request<hyper::body::Incoming>,
) -> S3Answer {
    let path = req.uri().path().to_string();
    let resp = s3.call(req.map(s3s::Body::from)).await?;
    if !resp.status().is_success() {
        return Ok(resp);
    }
    let decoded = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let (bucket, key) = decoded.split_once('/').unwrap_or((decoded.as_str(), ""));
    let stored = multipart::stored_parts(root, upload_id).unwrap_or_default();
    Ok(xml_answer(
        200,
        multipart::list_parts_xml(bucket, key, upload_id, &stored),
    ))
}
