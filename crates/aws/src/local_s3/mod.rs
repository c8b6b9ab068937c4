//! An S3 protocol server over a local folder (s3s-fs), for tests, benchmarks
//! and the local stack. Objects are plain files under `root/bucket/key`; it
//! serves path-style requests signed with [`LocalS3::ACCESS_KEY`].

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

/// A running server; it stops with the Tokio runtime that started it.
#[derive(Debug, Clone)]
pub struct LocalS3 {
    addr: SocketAddr,
}

impl LocalS3 {
    pub const ACCESS_KEY: &'static str = "hlsgate-local";
    pub const SECRET_KEY: &'static str = "hlsgate-local-secret";
    /// The region its clients use.
    pub const REGION: &'static str = crate::sdk::LOCAL_REGION;

    /// Serves `root` on 127.0.0.1 (a free port).
    pub async fn start(root: &Path) -> std::io::Result<LocalS3> {
        Self::start_on(root, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `root` on `addr` (port 0: a free one).
    pub async fn start_on(root: &Path, addr: SocketAddr) -> std::io::Result<LocalS3> {
        Self::start_with_cors(root, addr, &[]).await
    }

    /// Like [`start_on`](Self::start_on), answering browsers from `origins`
    /// as the template's upload bucket CORS rule does: `PUT` (a presigned
    /// part) with `Content-Type`, and `ETag` readable.
    pub async fn start_with_cors(
        root: &Path,
        addr: SocketAddr,
        origins: &[String],
    ) -> std::io::Result<LocalS3> {
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let s3 = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(Self::ACCESS_KEY, Self::SECRET_KEY));
            b.build()
        };
        // S3 answers a read with one whole version of an object. s3s-fs keeps
        // an object's checksum beside its file, so a read that opens the old
        // file can send the new checksum, and the SDK refuses the body. Here
        // reads share a lock that each write holds alone.
        let versions = Arc::new(RwLock::new(()));
        let s3 = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let (s3, versions) = (s3.clone(), Arc::clone(&versions));
            async move {
                let (_shared, _alone);
                if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
                    _shared = versions.read().await;
                } else {
                    _alone = versions.write().await;
                }
                s3.call(req.map(s3s::Body::from)).await
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
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
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
        Ok(LocalS3 { addr })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The credentials it accepts.
    pub fn credentials() -> Credentials {
        Credentials::new(
            Self::ACCESS_KEY,
            Self::SECRET_KEY,
            None,
            None,
            "hlsgate-local",
        )
    }

    /// A real SDK client pointed at it (path-style).
    pub fn client(&self) -> aws_sdk_s3::Client {
        crate::sdk::endpoint_s3_client(&self.endpoint(), Self::credentials(), None)
    }
}
