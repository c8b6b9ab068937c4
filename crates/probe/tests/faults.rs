//! The probe against a stand-in deployment on 127.0.0.1: an issuer, an
//! edge that checks signatures as CloudFront does (the core verifier), a
//! rewriter (the core rewriter) and an encrypted, byte-ranged ladder. Run
//! as it is, every check passes; each fault breaks one thing, and the probe
//! must report exactly that fault's problem and nothing else. Every run's
//! output is searched for each value the stand-in issued, and its JSON is
//! held to `docs/probe.schema.json`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hlsgate_core::hls::{QueryParams, Rewriter};
use hlsgate_core::signing::Delivery;
use hlsgate_core::signing::{
    Context, CookieOptions, Epoch, Forwarded, HashAlgorithm, KeyAlgorithm, KeyGroup, KeyPairId,
    KeySize, ParamSuffix, PrivateKey, Signer, public_key_from_pem, public_key_to_pem,
    verify_cookies, verify_url,
};
use hlsgate_core::video::VideoId;
use hlsgate_probe::report::{Outcome, Problem, Report};
use hlsgate_probe::{Options, Segments, Token};
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;

const TOKEN: &str = "probe-test-token-3f9d2c";
const APP: &str = "https://app.example";
const KEY_ID: &str = "KPROBETESTKEY1";
const END_TOKEN: &str = "end-token-7d1e0b";
const SESSION: &str = "session-5c2a9e";

/// One thing the stand-in does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The media playlists carry `Cache-Control: public, max-age=60`.
    CacheablePlaylist,
    /// The playlists come from CloudFront's cache (a cache policy that
    /// overrides the origin's `no-store`).
    PlaylistFromCache,
    /// One segment URI (not one the probe fetches) has no signature.
    UnsignedUri,
    /// One segment URI is signed for another host.
    OtherOriginUri,
    /// The edge serves segments without checking a signature.
    UnsignedSegment,
    /// `keys/` is served by the distribution.
    KeysReachable,
    /// CORS names whatever origin asks.
    CorsAnyOrigin,
    /// The issuer's preflight does not allow `Authorization`.
    PreflightWithoutAuthorization,
    /// Cookie mode: one segment URI (not one the probe fetches) outside
    /// the folder the cookies cover.
    OutsideFolderUri,
    /// The issuer signs with a key id the distribution does not trust.
    WrongKeyPairId,
}

struct StandIn {
    fault: Fault,
    origin: String,
    signer: Signer,
    keys: KeyGroup,
    /// The trusted key's PEM, to give the probe its own copy of the group.
    pem: String,
    ended: AtomicBool,
    /// The start asked for cookies: renewals set them too.
    cookies: AtomicBool,
    /// Every credential handed out, to look for in the output.
    issued: Mutex<Vec<String>>,
}

fn now() -> u64 {
    hlsgate_probe::now()
}

fn answer(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    r
}

fn cloudfront_403(code: &str) -> Response<Full<Bytes>> {
    answer(
        StatusCode::FORBIDDEN,
        "text/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>Access denied</Message></Error>"
        ),
    )
}

const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:4\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nlow.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=1600000,RESOLUTION=1280x720\nhigh.m3u8\n";

fn low(fault: Fault) -> String {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI=\"hls.key\"\n",
    );
    for i in 0..5 {
        // The probe samples 0, 2 and 4: the faults sit on 1 and 3, so
        // nothing but the fault itself can fail.
        let uri = match (fault, i) {
            (Fault::UnsignedUri, 1) => "UNSIGNED:low1.ts".to_string(),
            (Fault::OtherOriginUri, 3) => "OTHER:low3.ts".to_string(),
            (Fault::OutsideFolderUri, 3) => "../v2/low3.ts".to_string(),
            _ => format!("low{i}.ts"),
        };
        s.push_str(&format!("#EXTINF:4,\n{uri}\n"));
    }
    s + "#EXT-X-ENDLIST\n"
}

const HIGH: &str = "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:4\n\
#EXTINF:4,\n#EXT-X-BYTERANGE:1000@0\nhigh.ts\n\
#EXTINF:4,\n#EXT-X-BYTERANGE:1000\nhigh.ts\n\
#EXTINF:4,\n#EXT-X-BYTERANGE:1000\nhigh.ts\n#EXT-X-ENDLIST\n";

impl StandIn {
    /// A start's or a renewal's answer: the JSON, and the cookies in
    /// cookie mode.
    fn issue(&self) -> Response<Full<Bytes>> {
        let folder = format!("{}/videos/v1/", self.origin);
        let signed = self
            .signer
            .sign_folder(&folder, Epoch::new(now() + 300).unwrap(), None, None)
            .unwrap();
        let cookies = self.cookies.load(Ordering::SeqCst);
        let fwd = Forwarded::from_signed(&signed);
        let suffix = ParamSuffix::default();
        let query: Vec<String> = fwd
            .with_copy(&suffix)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        {
            let mut issued = self.issued.lock().unwrap();
            issued.push(signed.signature().to_string());
            issued.push(signed.policy_b64().unwrap().to_string());
        }
        let manifest_url = if cookies {
            format!("{folder}master.m3u8")
        } else {
            format!("{folder}master.m3u8?{}", query.join("&"))
        };
        let body = serde_json::json!({
            "manifest_url": manifest_url,
            "expires_at": "2030-01-01T00:00:00Z",
            "mode": if cookies { "cookies" } else { "url" },
            "session": {"id": SESSION, "expires_at": "2030-01-01T00:00:00Z", "refresh_at": "2030-01-01T00:00:00Z", "end_token": END_TOKEN},
        });
        let mut r = answer(StatusCode::OK, "application/json", body.to_string());
        if cookies {
            let opts = CookieOptions {
                path: Some("/videos/v1/".into()),
                expires: true,
                ..CookieOptions::default()
            };
            for c in signed.set_cookie_headers(&opts).unwrap() {
                r.headers_mut()
                    .append(header::SET_COOKIE, c.parse().unwrap());
            }
        }
        r
    }

    fn issuer(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() == http::Method::OPTIONS {
            // API Gateway's CORS answer to the browser's preflight.
            let mut r = answer(StatusCode::NO_CONTENT, "text/plain", "");
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, POST, DELETE".parse().unwrap(),
            );
            let allowed = if self.fault == Fault::PreflightWithoutAuthorization {
                "content-type"
            } else {
                "authorization, content-type"
            };
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                allowed.parse().unwrap(),
            );
            return r;
        }
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if bearer != Some(&format!("Bearer {TOKEN}")) {
            return answer(
                StatusCode::UNAUTHORIZED,
                "application/json",
                r#"{"error":"unauthenticated"}"#,
            );
        }
        let path = req.uri().path();
        let mut r = match (req.method().as_str(), path) {
            ("GET", "/playback/v1") => {
                let cookies = req.uri().query() == Some("mode=cookies");
                self.cookies.store(cookies, Ordering::SeqCst);
                self.issue()
            }
            ("POST", p) if p == format!("/playback/v1/sessions/{SESSION}") => {
                if self.ended.load(Ordering::SeqCst) {
                    answer(
                        StatusCode::FORBIDDEN,
                        "application/json",
                        r#"{"error":"session_ended"}"#,
                    )
                } else {
                    self.issue()
                }
            }
            ("DELETE", p) if p == format!("/playback/v1/sessions/{SESSION}") => {
                self.ended.store(true, Ordering::SeqCst);
                answer(StatusCode::NO_CONTENT, "application/json", "")
            }
            _ => answer(
                StatusCode::NOT_FOUND,
                "application/json",
                r#"{"error":"not_found"}"#,
            ),
        };
        r.headers_mut()
            .insert(header::CACHE_CONTROL, "private, no-store".parse().unwrap());
        r
    }

    /// CloudFront, then the rewriter or the S3 origin.
    fn edge(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("");
        let url = format!("{}{}", self.origin, req.uri());
        let skip_check = self.fault == Fault::UnsignedSegment && path.ends_with(".ts");
        if path.starts_with("/keys/") && self.fault == Fault::KeysReachable {
            return answer(StatusCode::OK, "binary/octet-stream", vec![7u8; 16]);
        }
        if !path.starts_with("/videos/") {
            return cloudfront_403("AccessDenied");
        }
        if !skip_check {
            let ctx = Context {
                now: now(),
                viewer_ip: None,
            };
            let has_params = query.split('&').any(|p| p.starts_with("Signature="));
            let cookie = req
                .headers()
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok());
            let verdict = match (has_params, cookie) {
                (true, _) => verify_url(&url, &self.keys, ctx).map(|_| ()),
                (false, Some(c)) => verify_cookies(&url, c, &self.keys, ctx).map(|_| ()),
                (false, None) => return cloudfront_403("MissingKey"),
            };
            if verdict.is_err() {
                return cloudfront_403("AccessDenied");
            }
        }
        let name = path.rsplit('/').next().unwrap_or("");
        let no_store = "private, no-store";
        if name.ends_with(".m3u8") {
            let text = match name {
                "master.m3u8" => MASTER.to_string(),
                "low.m3u8" => low(self.fault),
                "high.m3u8" => HIGH.to_string(),
                _ => {
                    return answer(
                        StatusCode::NOT_FOUND,
                        "application/json",
                        r#"{"error":"not_found"}"#,
                    );
                }
            };
            // The rewriter: CloudFront's names on segments, both sets on
            // playlists and keys, from the forwarded copy.
            // Cookie mode: no copy is forwarded, the playlist passes as it is.
            let (out, edge) = match Forwarded::from_query(query, &ParamSuffix::default()).unwrap() {
                None => (text, Vec::new()),
                Some(fwd) => {
                    let suffix = ParamSuffix::default();
                    let edge: Vec<String> =
                        fwd.edge_pairs().map(|(n, v)| format!("{n}={v}")).collect();
                    let both: Vec<String> = fwd
                        .with_copy(&suffix)
                        .map(|(n, v)| format!("{n}={v}"))
                        .collect();
                    let rw = Rewriter::new(QueryParams::parse(&edge.join("&")).unwrap())
                        .child_params(QueryParams::parse(&both.join("&")).unwrap())
                        .base_url(&url)
                        .unwrap();
                    let (out, _) = rw.rewrite(text.as_bytes()).unwrap();
                    (String::from_utf8(out).unwrap(), edge)
                }
            };
            let out = out.replace("UNSIGNED:low1.ts", "low1.ts").replace(
                "OTHER:low3.ts",
                &format!("https://other.example/videos/v1/low3.ts?{}", edge.join("&")),
            );
            let mut r = answer(StatusCode::OK, "application/vnd.apple.mpegurl", out);
            let cache = if self.fault == Fault::CacheablePlaylist && name != "master.m3u8" {
                "public, max-age=60"
            } else {
                no_store
            };
            r.headers_mut()
                .insert(header::CACHE_CONTROL, cache.parse().unwrap());
            let x_cache = if self.fault == Fault::PlaylistFromCache {
                "Hit from cloudfront"
            } else {
                "Miss from cloudfront"
            };
            r.headers_mut().insert("x-cache", x_cache.parse().unwrap());
            self.cors(req, &mut r);
            return r;
        }
        if name == "hls.key" {
            let mut r = answer(StatusCode::OK, "binary/octet-stream", vec![1u8; 16]);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, no_store.parse().unwrap());
            return r;
        }
        if name.ends_with(".ts") {
            let body: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
            let range = req
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes="))
                .and_then(|v| v.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
            let mut r = match range {
                Some((a, b)) => {
                    let b = b.min(body.len() - 1);
                    let mut r = answer(
                        StatusCode::PARTIAL_CONTENT,
                        "video/MP2T",
                        body[a..=b].to_vec(),
                    );
                    r.headers_mut().insert(
                        header::CONTENT_RANGE,
                        format!("bytes {a}-{b}/{}", body.len()).parse().unwrap(),
                    );
                    r
                }
                None => answer(StatusCode::OK, "video/MP2T", body),
            };
            r.headers_mut()
                .insert("x-cache", "Miss from cloudfront".parse().unwrap());
            return r;
        }
        answer(
            StatusCode::FORBIDDEN,
            "application/xml",
            "<Error><Code>AccessDenied</Code></Error>",
        )
    }

    fn cors(&self, req: &Request<Incoming>, r: &mut Response<Full<Bytes>>) {
        let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
            return;
        };
        if self.fault == Fault::CorsAnyOrigin || origin == APP {
            let h = r.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true".parse().unwrap(),
            );
        }
    }

    fn route(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let mut r = if req.uri().path().starts_with("/playback/") {
            self.issuer(req)
        } else {
            self.edge(req)
        };
        if req.uri().path().starts_with("/playback/") {
            self.cors(req, &mut r);
        }
        r
    }
}

/// The stand-in on a free port, with `fault`.
async fn start(fault: Fault) -> Arc<StandIn> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut keys = KeyGroup::new();
    let pem = public_key_to_pem(&key.public_key().unwrap()).unwrap();
    keys.insert(KeyPairId::new(KEY_ID).unwrap(), key.public_key().unwrap());
    let signing_id = if fault == Fault::WrongKeyPairId {
        "KWRONGKEYID001"
    } else {
        KEY_ID
    };
    let stand_in = Arc::new(StandIn {
        fault,
        origin,
        signer: Signer::new(
            key,
            KeyPairId::new(signing_id).unwrap(),
            HashAlgorithm::Sha256,
        ),
        keys,
        pem,
        ended: AtomicBool::new(false),
        cookies: AtomicBool::new(false),
        issued: Mutex::new(vec![TOKEN.into(), END_TOKEN.into(), SESSION.into()]),
    });
    let s = stand_in.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let r = s.route(&req);
                    async move { Ok::<_, Infallible>(r) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    stand_in
}

fn options(s: &StandIn) -> Options {
    Options {
        issuer: url::Url::parse(&s.origin).unwrap(),
        video: VideoId::parse("v1").unwrap(),
        token: Token::new(TOKEN),
        mode: None,
        origin: Some(APP.into()),
        keys: Some({
            let mut group = KeyGroup::new();
            group.insert(
                KeyPairId::new(KEY_ID).unwrap(),
                public_key_from_pem(s.pem.as_bytes(), KeySize::CloudFront).unwrap(),
            );
            group
        }),
        segments: Segments::Sample,
        other_video: None,
        timeout: Duration::from_secs(10),
    }
}

/// Runs the probe on `fault`, checks the output carries no credential and
/// the JSON meets the schema, and returns the report.
async fn probe(fault: Fault) -> Report {
    probe_in(fault, None).await
}

/// [`probe`] asking for `mode`.
async fn probe_in(fault: Fault, mode: Option<Delivery>) -> Report {
    let s = start(fault).await;
    let mut opts = options(&s);
    opts.mode = mode;
    let report = hlsgate_probe::run(&opts).await.unwrap();
    let text = report.to_text();
    let json = report.to_json();
    for secret in s.issued.lock().unwrap().iter() {
        assert!(
            !text.contains(secret.as_str()),
            "{fault:?}: the table shows an issued value:\n{text}"
        );
        assert!(
            !json.contains(secret.as_str()),
            "{fault:?}: the JSON shows an issued value"
        );
    }
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{fault:?}: the JSON does not meet the schema: {errors:#?}"
    );
    report
}

/// `docs/probe.schema.json`, the JSON output's contract.
fn schema() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/probe.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts the run passed, with each of `ids` run and passed.
fn passes(report: &Report, ids: &[&str]) {
    assert!(report.passed, "{}", report.to_text());
    let ran: BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Pass)
        .map(|c| c.id)
        .collect();
    for id in ids {
        assert!(ran.contains(id), "{id} did not pass:\n{}", report.to_text());
    }
}

fn failed(report: &Report) -> Vec<(&'static str, Problem)> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| (c.id, c.problem.unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_deployment_passes_every_check() {
    let report = probe(Fault::None).await;
    passes(
        &report,
        &[
            "issuer.preflight",
            "issuer.signature",
            "play.key",
            "play.segments",
            "play.range",
            "attack.unsigned-key",
            "attack.expired-policy",
            "session.renew",
            "session.end",
        ],
    );
    assert_eq!(report.timings.segments_fetched, 6, "{}", report.to_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_its_own_named_failure_and_nothing_else_fails() {
    let cases = [
        (
            Fault::CacheablePlaylist,
            Problem::PlaylistCacheable,
            "play.playlists.no-store",
        ),
        (
            Fault::UnsignedUri,
            Problem::UriUnsigned,
            "play.playlists.uris",
        ),
        (
            Fault::OtherOriginUri,
            Problem::UriOtherOrigin,
            "play.playlists.uris",
        ),
        (
            Fault::UnsignedSegment,
            Problem::UnsignedSegmentServed,
            "attack.unsigned-segment",
        ),
        (
            Fault::KeysReachable,
            Problem::PrivatePathReachable,
            "attack.private.keys",
        ),
        (
            Fault::CorsAnyOrigin,
            Problem::CorsAnyOrigin,
            "attack.cors-any-origin",
        ),
        (
            Fault::WrongKeyPairId,
            Problem::UnknownKeyId,
            "issuer.signature",
        ),
        (
            Fault::PreflightWithoutAuthorization,
            Problem::CorsMissing,
            "issuer.preflight",
        ),
    ];
    for (fault, problem, id) in cases {
        let report = probe(fault).await;
        let text = report.to_text();
        assert!(!report.passed, "{fault:?} passed:\n{text}");
        let problems: Vec<Problem> = report.problems().into_iter().collect();
        assert_eq!(problems, vec![problem], "{fault:?}:\n{text}");
        assert!(
            failed(&report).contains(&(id, problem)),
            "{fault:?}: {id} did not fail:\n{text}"
        );
        assert_eq!(
            report.summary.security_findings > 0,
            problem.is_security(),
            "{fault:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_pair_id_is_explained_with_the_key_group() {
    let report = probe(Fault::WrongKeyPairId).await;
    let master = report
        .checks
        .iter()
        .find(|c| c.id == "play.master")
        .unwrap();
    assert_eq!(master.problem, Some(Problem::UnknownKeyId));
    assert!(
        master.why.iter().any(|w| w
            .contains("key id KWRONGKEYID001 is not in the key group you gave (KPROBETESTKEY1)")),
        "{}",
        report.to_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_a_refusal_lists_the_likely_causes() {
    let s = start(Fault::WrongKeyPairId).await;
    let mut opts = options(&s);
    opts.keys = None;
    let report = hlsgate_probe::run(&opts).await.unwrap();
    let master = report
        .checks
        .iter()
        .find(|c| c.id == "play.master")
        .unwrap();
    assert_eq!(
        master.problem,
        Some(Problem::Refused),
        "{}",
        report.to_text()
    );
    assert!(
        master.why[0].contains("the distribution refused it (AccessDenied)"),
        "{:?}",
        master.why
    );
    assert!(
        master.why[1].starts_with(
            "likely: key pair id KWRONGKEYID001 is not in the distribution's trusted key group"
        ),
        "{:?}",
        master.why
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_issuer_is_unreachable_and_a_bad_token_a_failed_check() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let s = start(Fault::None).await;
    let mut opts = options(&s);
    opts.issuer = url::Url::parse(&closed).unwrap();
    assert!(hlsgate_probe::run(&opts).await.is_err());
    let mut opts = options(&s);
    opts.token = Token::new("not-the-token");
    let report = hlsgate_probe::run(&opts).await.unwrap();
    assert_eq!(
        failed(&report),
        vec![("issuer.start", Problem::IssuerRefused)]
    );
}

#[test]
fn every_problem_is_in_the_manual_and_every_code_there_is_a_problem() {
    let manual =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/probe.md"))
            .unwrap();
    let listed: BTreeSet<String> = manual
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(code, _)| code.to_string()))
        .filter(|code| code.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let known: BTreeSet<String> = Problem::all().map(|p| p.code().to_string()).collect();
    assert_eq!(
        listed, known,
        "docs/probe.md's problem table and report::Problem differ"
    );
}

#[test]
fn the_schema_lists_every_problem() {
    let schema = schema();
    let listed: Vec<&str> = schema["$defs"]["check"]["properties"]["problem"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let known: Vec<&str> = Problem::all().map(Problem::code).collect();
    assert_eq!(listed, known);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_mode_plays_and_a_uri_outside_the_folder_is_named() {
    let report = probe_in(Fault::None, Some(Delivery::Cookies)).await;
    assert_eq!(report.target.mode, Some("cookies"));
    passes(
        &report,
        &[
            "issuer.cookies",
            "issuer.signature",
            "play.key",
            "attack.tampered-signature",
            "attack.expired-policy",
            "attack.copy-alone",
        ],
    );
    let report = probe_in(Fault::OutsideFolderUri, Some(Delivery::Cookies)).await;
    let problems: Vec<Problem> = report.problems().into_iter().collect();
    assert_eq!(
        problems,
        vec![Problem::UriOutsideFolder],
        "{}",
        report.to_text()
    );
}
