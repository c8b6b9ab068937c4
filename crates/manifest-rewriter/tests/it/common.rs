//! Shared test setup: keys, config, events and playlist checks.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hlsgate_aws::env::Env;
use hlsgate_aws::secret::{StaticSecret, Versions};
use hlsgate_aws::{MemoryObjects, ObjectSource};
use hlsgate_core::signing::*;
use hlsgate_manifest_rewriter::{App, Config, handle};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub const CDN: &str = "https://d111111abcdef8.cloudfront.net";
pub const SECRET: &str = "test-only-origin-secret";
pub const KEY_ID: &str = "K2JCJMDEHXQW5F";
pub const ECDSA_KEY_ID: &str = "K3ECDSATESTKEY";
pub const NOW: u64 = 1_795_256_130;
pub const EXPIRES: u64 = NOW + 3600;
pub const SUFFIX: &str = "-PREFIX";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn rsa_key() -> PrivateKey {
    private_key_from_pem(
        &read("conformance/keys/test-rsa2048-pkcs1.pem"),
        KeySize::CloudFront,
    )
    .unwrap()
}

/// A P-256 key made once per test binary: the key group holds two keys.
pub fn ecdsa_key() -> PrivateKey {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let pem = PEM.get_or_init(|| {
        private_key_to_pem(&PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap()
    });
    private_key_from_pem(pem.as_bytes(), KeySize::CloudFront).unwrap()
}

pub fn rsa_signer(hash: HashAlgorithm) -> Signer {
    Signer::new(rsa_key(), KeyPairId::new(KEY_ID).unwrap(), hash)
}

pub fn ecdsa_signer() -> Signer {
    Signer::new(
        ecdsa_key(),
        KeyPairId::new(ECDSA_KEY_ID).unwrap(),
        HashAlgorithm::Sha256,
    )
}

pub fn public_keys_json() -> String {
    let rsa = public_key_to_pem(&rsa_key().public_key().unwrap()).unwrap();
    let ec = public_key_to_pem(&ecdsa_key().public_key().unwrap()).unwrap();
    // One PEM, one bare base64 body, as a template would pass it.
    let bare: String = ec.lines().filter(|l| !l.starts_with("-----")).collect();
    json!({ KEY_ID: rsa, ECDSA_KEY_ID: bare }).to_string()
}

pub fn env(extra: &[(&str, &str)]) -> Env {
    let keys = public_keys_json();
    let mut vars: Vec<(String, String)> = vec![
        ("MEDIA_BUCKET".into(), "media".into()),
        ("CDN_DOMAIN".into(), "d111111abcdef8.cloudfront.net".into()),
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

/// The ladder under `videos/demo/`.
pub fn ladder_files() -> Vec<(String, Vec<u8>)> {
    let root = fixtures().join("hls/ladder");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "m3u8") {
                let rel = p.strip_prefix(&root).unwrap().to_str().unwrap().to_string();
                out.push((format!("videos/demo/{rel}"), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
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

/// The forwarded copy only, as CloudFront's origin request policy passes it.
pub fn forwarded_query(signed: &SignedParams) -> String {
    Forwarded::from_signed(signed)
        .edge_pairs()
        .map(|(n, v)| format!("{n}{SUFFIX}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A folder policy for `videos/ID/*` by `signer`, valid until `expires`,
/// bound to the `ip` range (CIDR) when given.
pub fn sign_folder(signer: &Signer, id: &str, expires: u64, ip: Option<&str>) -> SignedParams {
    signer
        .sign_folder(
            &format!("{CDN}/videos/{id}/"),
            Epoch::new(expires).unwrap(),
            None,
            ip.map(|r| parse_source_ip(r).unwrap()),
        )
        .unwrap()
}

/// The usual folder policy: RSA, SHA1, valid until EXPIRES.
pub fn signed_folder(id: &str) -> SignedParams {
    sign_folder(&rsa_signer(HashAlgorithm::Sha1), id, EXPIRES, None)
}

pub fn good_query() -> String {
    forwarded_query(&signed_folder("demo"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Rest,
    Http,
    FunctionUrl,
}

pub const SHAPES: [Shape; 3] = [Shape::Rest, Shape::Http, Shape::FunctionUrl];

/// A request as API Gateway or a Function URL would deliver it.
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

    pub fn event(&self) -> Value {
        let file = match self.shape {
            Shape::Rest => "events/apigw-rest-playlist.json",
            Shape::Http => "events/apigw-http-playlist.json",
            Shape::FunctionUrl => "events/function-url-playlist.json",
        };
        let mut ev: Value = serde_json::from_slice(&read(file)).unwrap();
        let decoded = percent_encoding::percent_decode_str(&self.path)
            .decode_utf8_lossy()
            .into_owned();
        let proxy = decoded.strip_prefix('/').unwrap_or(&decoded).to_string();
        let pairs: Vec<(String, String)> = self
            .query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                (n.to_string(), v.to_string())
            })
            .collect();
        match self.shape {
            Shape::Rest => {
                // REST APIs hand over decoded paths and parameters.
                ev["path"] = json!(decoded);
                ev["httpMethod"] = json!(self.method);
                ev["requestContext"]["httpMethod"] = json!(self.method);
                ev["requestContext"]["path"] = json!(format!("/prod{decoded}"));
                ev["pathParameters"] = json!({ "proxy": proxy });
                let mut single = serde_json::Map::new();
                let mut multi = serde_json::Map::new();
                for (n, v) in &pairs {
                    single.insert(n.clone(), json!(v));
                    multi
                        .entry(n.clone())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                        .unwrap()
                        .push(json!(v));
                }
                ev["queryStringParameters"] = Value::Object(single);
                ev["multiValueQueryStringParameters"] = Value::Object(multi);
                for (name, value) in &self.headers {
                    let key = find_key(&ev["headers"], name).unwrap_or_else(|| name.clone());
                    match value {
                        Some(v) => {
                            ev["headers"][&key] = json!(v);
                            ev["multiValueHeaders"][&key] = json!([v]);
                        }
                        None => {
                            ev["headers"].as_object_mut().unwrap().remove(&key);
                            ev["multiValueHeaders"]
                                .as_object_mut()
                                .unwrap()
                                .remove(&key);
                        }
                    }
                }
            }
            Shape::Http | Shape::FunctionUrl => {
                ev["rawPath"] = json!(self.path);
                ev["rawQueryString"] = json!(self.query);
                ev["requestContext"]["http"]["method"] = json!(self.method);
                ev["requestContext"]["http"]["path"] = json!(decoded);
                if self.shape == Shape::Http {
                    ev["pathParameters"] = json!({ "proxy": proxy });
                }
                for (name, value) in &self.headers {
                    let key = name.to_ascii_lowercase();
                    match value {
                        Some(v) => ev["headers"][&key] = json!(v),
                        None => {
                            ev["headers"].as_object_mut().unwrap().remove(&key);
                        }
                    }
                }
            }
        }
        ev
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.event().to_string()).unwrap()
    }
}

fn find_key(headers: &Value, name: &str) -> Option<String> {
    headers
        .as_object()?
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

pub async fn call<S: ObjectSource>(app: &App<S, StaticSecret>, c: &Call) -> Response<Body> {
    handle(app, c.request()).await
}

pub fn header<'a>(r: &'a Response<Body>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The body bytes, decompressed per `Content-Encoding`.
pub fn body(r: &Response<Body>) -> Vec<u8> {
    let raw: Vec<u8> = match r.body() {
        Body::Empty => Vec::new(),
        Body::Text(s) => s.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => panic!("unexpected body"),
    };
    let mut out = Vec::new();
    match header(r, "content-encoding") {
        None => out = raw,
        Some("gzip") => {
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(&raw[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unknown encoding {other}"),
    }
    out
}

pub fn json_body(r: &Response<Body>) -> Value {
    serde_json::from_slice(&body(r)).unwrap()
}

/// Every URI of a playlist (URI lines and `URI="…"` attributes).
pub fn uris(playlist: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in playlist.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('#') {
            out.push(line.to_string());
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("URI=\"") {
            let after = &rest[i + 5..];
            let end = after.find('"').unwrap();
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

pub fn key_group() -> KeyGroup {
    hlsgate_manifest_rewriter::config::parse_public_keys(&public_keys_json()).unwrap()
}

/// Checks every URI of `playlist` (served at `url`): CloudFront would accept
/// it, and child playlists carry the forwarded copy, media URIs do not.
/// Returns the child playlist URLs.
pub fn check_signed(playlist: &str, url: &str) -> Vec<String> {
    let base = url::Url::parse(url).unwrap();
    let keys = key_group();
    let ctx = Context {
        now: NOW,
        viewer_ip: None,
    };
    let mut children = Vec::new();
    let all = uris(playlist);
    assert!(!all.is_empty(), "no URIs in {url}");
    for uri in all {
        let abs = base.join(&uri).unwrap();
        let v =
            verify_url(abs.as_str(), &keys, ctx).unwrap_or_else(|e| panic!("{uri} in {url}: {e}"));
        assert_eq!(v.expires.seconds(), EXPIRES);
        let has_copy = abs.query_pairs().any(|(n, _)| n.ends_with(SUFFIX));
        let is_playlist = abs.path().ends_with(".m3u8");
        assert_eq!(has_copy, is_playlist, "{uri} in {url}");
        if is_playlist {
            children.push(abs.to_string());
        }
    }
    children
}

/// Requests every child playlist of `master` (served at `url`) as CloudFront
/// would forward it (path and the suffixed copy only) and checks each
/// answer's URIs; returns how many were served.
pub async fn follow_children<S: ObjectSource>(
    app: &App<S, StaticSecret>,
    master: &str,
    url: &str,
) -> usize {
    let mut served = 0;
    for child in check_signed(master, url) {
        let u = url::Url::parse(&child).unwrap();
        let q: Vec<String> = u
            .query_pairs()
            .filter(|(n, _)| n.ends_with(SUFFIX))
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let r = call(app, &Call::get(u.path(), &q.join("&"))).await;
        assert_eq!(r.status(), 200, "{child}");
        let grandchildren = check_signed(&String::from_utf8(body(&r)).unwrap(), &child);
        assert!(
            grandchildren.is_empty(),
            "media playlists have no children: {child}"
        );
        served += 1;
    }
    served
}
