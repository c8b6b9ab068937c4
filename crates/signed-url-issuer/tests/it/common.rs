//! Shared setup: keys, config, events and checks for the issuer.

use std::collections::HashMap;

use hlsgate_aws::env::Env;
use hlsgate_aws::{MemoryObjects, ObjectSource};
use hlsgate_core::signing::*;
use hlsgate_signed_url_issuer::entitlement::{ClaimsEntitlement, Entitlement};
use hlsgate_signed_url_issuer::keys::{KeySource, StaticKeys};
use hlsgate_signed_url_issuer::{App, Config, handle};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::{Value, json};

pub use hlsgate_aws::testing::*;

pub const SUB: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
pub const VIEWER_IP: &str = "203.0.113.10";

/// CloudFront's view at `now`, of a viewer whose address no policy names.
pub fn ctx(now: u64) -> Context {
    Context {
        now,
        viewer_ip: None,
    }
}

pub fn pem(key: &PrivateKey) -> String {
    private_key_to_pem(key).unwrap()
}

/// The signing-keys secret: RSA and ECDSA keys, `active` naming one.
pub fn keys_json(active: &str) -> String {
    json!({"keys": [
        {"id": KEY_ID, "private_key": pem(&rsa_key()), "active": active == KEY_ID},
        {"id": ECDSA_KEY_ID, "private_key": pem(&ecdsa_key()), "active": active == ECDSA_KEY_ID},
    ]})
    .to_string()
}

pub fn env(extra: &[(&str, &str)]) -> Env {
    let keys = keys_json(KEY_ID);
    let mut vars: Vec<(String, String)> = vec![
        ("MEDIA_BUCKET".into(), "media".into()),
        ("CDN_DOMAIN".into(), CDN_DOMAIN.into()),
        ("SIGNING_KEYS".into(), keys),
        ("LOG_HASH_KEY".into(), "test-only-log-hash-key".into()),
        ("ENTITLEMENT_CLAIM".into(), "cognito:groups".into()),
        ("ENTITLEMENT_VALUES".into(), "subscribers".into()),
        (
            "CORS_ALLOWED_ORIGINS".into(),
            "https://player.example.com".into(),
        ),
    ];
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        if !v.is_empty() {
            vars.push((k.to_string(), v.to_string()));
        }
    }
    Env::from_pairs(vars)
}

/// Settings for signed cookies: the CDN under the cookie domain.
pub const COOKIES: &[(&str, &str)] = &[
    ("CDN_DOMAIN", "cdn.example.com"),
    ("COOKIE_DOMAIN", "example.com"),
    ("COOKIE_SAMESITE", "none"),
];

pub fn config(extra: &[(&str, &str)]) -> Config {
    Config::from(env(extra)).unwrap_or_else(|e| panic!("{e}"))
}

/// The ladder under `videos/demo/`, and a sidecar saying it plays 2 h.
pub fn store() -> MemoryObjects {
    let objects = MemoryObjects::new();
    for (k, v) in ladder_files() {
        objects.put(k, v);
    }
    objects.put("videos/demo/playback.json", sidecar("demo", 7200.0));
    objects
}

pub fn sidecar(id: &str, duration: f64) -> String {
    json!({
        "video_id": id,
        "master_key": format!("videos/{id}/master.m3u8"),
        "public_path": format!("/videos/{id}/master.m3u8"),
        "duration_seconds": duration,
        "renditions": [{"width": 1920, "height": 1080, "bitrate": 6_000_000}],
    })
    .to_string()
}

pub type TestApp<S = MemoryObjects, K = StaticKeys, E = ClaimsEntitlement> = App<S, K, E>;

pub fn app_parts<S: ObjectSource, K: KeySource, E: Entitlement>(
    extra: &[(&str, &str)],
    objects: S,
    keys: K,
    entitlement: E,
) -> App<S, K, E> {
    App::new(
        config(extra),
        objects,
        keys,
        entitlement,
        std::sync::Arc::new(|| NOW),
    )
}

/// An app over [`store`] with the test keys (RSA active) and `entitlement`.
pub fn app_entitled<E: Entitlement>(entitlement: E) -> TestApp<MemoryObjects, StaticKeys, E> {
    let keys = StaticKeys(SecretString::from(keys_json(KEY_ID)));
    app_parts(&[], store(), keys, entitlement)
}

/// An app over [`store`] with the keys and rules of `extra`'s config.
pub fn app(extra: &[(&str, &str)]) -> TestApp {
    app_with(extra, store())
}

pub fn app_with<S: ObjectSource>(extra: &[(&str, &str)], objects: S) -> TestApp<S> {
    let cfg = config(extra);
    let keys = match &cfg.keys {
        hlsgate_signed_url_issuer::config::KeysConfig::Literal(j) => {
            StaticKeys(SecretString::from(j.clone()))
        }
        other => panic!("tests use literal keys, not {other:?}"),
    };
    let rules = cfg.entitlement.claims.clone().unwrap_or_default();
    app_parts(extra, objects, keys, rules)
}

pub const SHAPES: [Shape; 2] = [Shape::Rest, Shape::Http];

/// A playback request as API Gateway delivers it: the fixture event of its
/// shape (with the authorizer's claims), edited.
#[derive(Debug, Clone)]
pub struct Call {
    pub shape: Shape,
    pub anonymous: bool,
    pub method: String,
    pub video_id: String,
    pub query: Vec<(String, String)>,
    /// Claims replacing or adding to the fixture's; `None` removes one.
    pub claims: Vec<(String, Option<String>)>,
    pub headers: Vec<(String, String)>,
    /// Headers of the fixture's taken out.
    pub removed: Vec<String>,
    pub source_ip: Option<String>,
    /// `/sessions`, `/sessions/ID` or `/sessions/ID/end` after the video.
    pub tail: String,
    pub session: Option<String>,
    pub body: Option<String>,
}

impl Call {
    pub fn new(shape: Shape) -> Call {
        Call {
            shape,
            anonymous: false,
            method: "GET".into(),
            video_id: "demo".into(),
            query: Vec::new(),
            claims: Vec::new(),
            headers: Vec::new(),
            removed: Vec::new(),
            source_ip: None,
            tail: String::new(),
            session: None,
            body: None,
        }
    }

    /// `POST /playback/{videoId}/sessions/{id}`: a renewal.
    pub fn renew(shape: Shape, session: &str) -> Call {
        Call::new(shape).method("POST").session(session, "")
    }

    /// The route of session `id`, with `end` (`"/end"`) or not.
    pub fn session(mut self, id: &str, end: &str) -> Call {
        self.tail = format!("/sessions/{id}{end}");
        self.session = Some(id.into());
        self
    }

    /// `GET /playback/{videoId}/sessions`.
    pub fn list(shape: Shape) -> Call {
        let mut c = Call::new(shape);
        c.tail = "/sessions".into();
        c
    }

    pub fn body(mut self, text: &str) -> Call {
        self.body = Some(text.into());
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Call {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn anonymous(mut self) -> Call {
        self.anonymous = true;
        self
    }

    pub fn video(mut self, id: &str) -> Call {
        self.video_id = id.into();
        self
    }

    pub fn method(mut self, m: &str) -> Call {
        self.method = m.into();
        self
    }

    pub fn mode(mut self, m: &str) -> Call {
        self.query.push(("mode".into(), m.into()));
        self
    }

    pub fn claim(mut self, name: &str, value: Option<&str>) -> Call {
        self.claims.push((name.into(), value.map(str::to_string)));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Without the fixture's header `name`.
    pub fn without(mut self, name: &str) -> Call {
        self.removed.push(name.into());
        self
    }

    pub fn with_source_ip(mut self, ip: &str) -> Call {
        self.source_ip = Some(ip.into());
        self
    }

    pub fn fixture(&self) -> &'static str {
        match (self.shape, self.anonymous) {
            (Shape::Rest, false) => "events/apigw-rest-playback.json",
            (Shape::Rest, true) => "events/apigw-rest-playback-anonymous.json",
            (_, false) => "events/apigw-http-playback.json",
            (_, true) => "events/apigw-http-playback-anonymous.json",
        }
    }

    pub fn api_request(&self) -> ApiRequest {
        let raw_query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut r = ApiRequest::from_fixture(self.shape, self.fixture())
            .method(&self.method)
            .path(&format!("/playback/{}{}", self.video_id, self.tail))
            .path_parameter("videoId", &self.video_id);
        if let Some(id) = &self.session {
            r = r.path_parameter("sessionId", id);
        }
        if let Some(b) = &self.body {
            r = r.body(b);
        }
        if !raw_query.is_empty() {
            r = r.query(&raw_query.join("&"));
        }
        for k in &self.removed {
            r = r.without(k);
        }
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        if let Some(ip) = &self.source_ip {
            r = r.source_ip(ip);
        }
        for (k, v) in &self.claims {
            r = r.claim(k, v.as_deref());
        }
        r
    }

    pub fn event(&self) -> Value {
        self.api_request().event()
    }

    pub fn request(&self) -> Request {
        self.api_request().request()
    }
}

pub async fn call<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    c: &Call,
) -> Response<Body> {
    handle(app, c.request()).await
}

pub fn set_cookies(r: &Response<Body>) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Name → value of `Set-Cookie` headers, as a browser would send them back.
pub fn cookie_jar(r: &Response<Body>) -> HashMap<String, String> {
    set_cookies(r)
        .iter()
        .map(|c| {
            let first = c.split(';').next().unwrap();
            let (n, v) = first.split_once('=').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect()
}
