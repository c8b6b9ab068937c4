//! The rewriter's test setup: its config, app and playlist requests. Keys,
//! fixtures and the signature checks are `hlsgate_aws::testing`'s.

use std::sync::Arc;

use hlsgate_aws::env::Env;
use hlsgate_aws::secret::{StaticSecret, Versions};
pub use hlsgate_aws::testing::*;
use hlsgate_aws::{MemoryObjects, ObjectSource};
use hlsgate_manifest_rewriter::{App, Config, handle};
use lambda_http::{Body, Request, Response};

pub const SECRET: &str = "test-only-origin-secret";

pub fn env(extra: &[(&str, &str)]) -> Env {
    let keys = public_keys_json();
    let mut vars: Vec<(String, String)> = vec![
        ("MEDIA_BUCKET".into(), "media".into()),
        ("CDN_DOMAIN".into(), CDN_DOMAIN.into()),
        ("ORIGIN_SECRET".into(), SECRET.into()),
        ("PUBLIC_KEYS".into(), keys),
        (
            "CORS_ALLOWED_ORIGINS".into(),
            "https://player.example.com".into(),
        ),
    ];
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Env::from_pairs(vars)
}

pub fn config(extra: &[(&str, &str)]) -> Config {
    Config::from(env(extra)).unwrap()
}

pub fn clock() -> hlsgate_manifest_rewriter::Clock {
    Arc::new(|| NOW)
}

pub type MemApp = App<MemoryObjects, StaticSecret>;

pub fn app_with<S: ObjectSource>(extra: &[(&str, &str)], objects: S) -> App<S, StaticSecret> {
    App::new(
        config(extra),
        objects,
        StaticSecret(Versions::new(
            SECRET,
            Some("test-only-previous-secret".into()),
        )),
        clock(),
    )
}

pub fn app(extra: &[(&str, &str)]) -> MemApp {
    let objects = MemoryObjects::new();
    for (k, v) in ladder_files() {
        objects.put(k, v);
    }
    app_with(extra, objects)
}

pub fn good_query() -> String {
    forwarded_query(&signed_folder("demo"))
}

pub const SHAPES: [Shape; 3] = [Shape::Rest, Shape::Http, Shape::FunctionUrl];

/// A playlist request as API Gateway or a Function URL would deliver it:
/// the fixture event of its shape, with CloudFront's headers and the origin
/// secret, edited.
#[derive(Debug, Clone)]
pub struct Call {
    pub shape: Shape,
    pub method: String,
    /// The path as the viewer sent it (may be percent-encoded).
    pub path: String,
    pub query: String,
    /// Header overrides; `None` removes the header.
    pub headers: Vec<(String, Option<String>)>,
}

impl Call {
    pub fn get(path: &str, query: &str) -> Call {
        Call {
            shape: Shape::Http,
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
        }
    }

    pub fn master() -> Call {
        Call::get("/videos/demo/master.m3u8", &good_query())
    }

    pub fn shape(mut self, shape: Shape) -> Call {
        self.shape = shape;
        self
    }

    pub fn method(mut self, m: &str) -> Call {
        self.method = m.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.into(), Some(value.into())));
        self
    }

    pub fn without(mut self, name: &str) -> Call {
        self.headers.push((name.into(), None));
        self
    }

    pub fn api_request(&self) -> ApiRequest {
        let file = match self.shape {
            Shape::Rest => "events/apigw-rest-playlist.json",
            Shape::Http => "events/apigw-http-playlist.json",
            Shape::FunctionUrl => "events/function-url-playlist.json",
        };
        let decoded = percent_encoding::percent_decode_str(&self.path).decode_utf8_lossy();
        let proxy = decoded.strip_prefix('/').unwrap_or(&decoded).to_string();
        let mut r = ApiRequest::from_fixture(self.shape, file)
            .method(&self.method)
            .path(&self.path)
            .query(&self.query);
        if self.shape != Shape::FunctionUrl {
            r = r.path_parameter("proxy", &proxy);
        }
        for (name, value) in &self.headers {
            r = match value {
                Some(v) => r.header(name, v),
                None => r.without(name),
            };
        }
        r
    }

    pub fn request(&self) -> Request {
        self.api_request().request()
    }
}

pub async fn call<S: ObjectSource>(app: &App<S, StaticSecret>, c: &Call) -> Response<Body> {
    handle(app, c.request()).await
}

/// Every child playlist of `master` (served at `url`) requested from `app`
/// as CloudFront forwards it, each answer's URIs checked.
pub async fn follow_children<S: ObjectSource>(
    app: &App<S, StaticSecret>,
    master: &str,
    url: &str,
) -> usize {
    hlsgate_aws::testing::follow_children(
        async |path: &str, query: &str| call(app, &Call::get(path, query)).await,
        master,
        url,
    )
    .await
}
