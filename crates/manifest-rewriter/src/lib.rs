//! The manifest-rewriter Lambda: behind API Gateway `{proxy+}` (REST or HTTP
//! API) or a Function URL, it serves HLS playlists from S3 with every URI
//! signed.
//!
//! Order of checks, each answered before the next is tried:
//! 1. the origin secret header (403, no detail; the `origin_secret_mismatch`
//!    refusals are counted on their own for the alarm);
//! 2. the method (`OPTIONS` preflight, `GET`/`HEAD`, else 405);
//! 3. the path (400 for tricks, 404 for non-playlists and other prefixes):
//!    a playlist, or a video folder's AES-128 key (`KEY_PREFIX/ID/hls.key`,
//!    stored outside the media prefix under `KEYS_PREFIX`);
//! 4. the forwarded signature copy, or in cookie mode the forwarded signed
//!    cookies (403 unless they verify for this URL);
//! 5. S3 (404 missing, 502/503 for store trouble, with a request id); a
//!    key is answered here, its 16 bytes, never logged;
//! 6. the rewrite, compression and Lambda's 6 MB limit (502 if over).
//!
//! `main.rs` only wires clients; everything here is tested directly.

pub mod body;
pub mod config;
pub mod path;

use hlsgate_aws::cache::{CacheStatus, CachedObjects};
use hlsgate_aws::env::url_origin;
use hlsgate_aws::metrics::{Unit, name};
use hlsgate_aws::origin::{OriginGuard, Via};
use hlsgate_aws::secret::SecretSource;
pub use hlsgate_aws::web::{Clock, system_clock};
use hlsgate_aws::web::{Frame, Refusal, cloudfront_viewer_ip, cookie_header};
use hlsgate_aws::{ObjectSource, SourceError};
use hlsgate_core::hls::{Limits, QueryParams, Rewriter};
use hlsgate_core::signing::{Context, Forwarded, Verified, VerifyError, verify_cookies};
use hlsgate_core::video::KEY_BYTES;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use crate::body::{BODY_BUDGET, ContentCoding, encoded_len, lambda_body, negotiate, render};
pub use crate::config::{Config, SecretConfig};
use crate::path::{PathError, Resource, resource};
pub use hlsgate_core::signing::Delivery;

/// The HLS media type (RFC 8216).
pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// Everything a request needs, built once per cold start.
pub struct App<S, O> {
    pub config: Config,
    /// Methods, CORS and the log lines (`hlsgate_aws::web`).
    pub frame: Frame,
    pub objects: CachedObjects<S>,
    /// The origin secret check.
    pub origin: OriginGuard<O>,
    pub clock: Clock,
}

hlsgate_aws::app_debug!(App<S, O>);

impl<S: ObjectSource, O: SecretSource> App<S, O> {
    pub fn new(config: Config, objects: S, secret: O, clock: Clock) -> Self {
        App {
            frame: Frame::new(
                &[Method::GET, Method::HEAD],
                "Range",
                config.cors_origins.clone(),
                false,
                config.metrics.clone(),
            ),
            objects: CachedObjects::new(objects, config.cache),
            origin: OriginGuard::new(&config.origin, secret),
            config,
            clock,
        }
    }
}

/// Every 403 looks the same from outside: which check failed is for the
/// logs only.
fn forbidden(detail: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::FORBIDDEN, "forbidden", reason).detail(detail)
}

/// What a request did, for its log line.
#[derive(Debug, Default)]
struct Outcome {
    key: Option<String>,
    cache: Option<CacheStatus>,
    encoding: Option<ContentCoding>,
    rewritten: Option<usize>,
    skipped: Option<usize>,
    input_bytes: Option<usize>,
    body_bytes: usize,
    /// The body as the viewer gets it (compressed or not).
    bytes_out: usize,
    verify: Option<&'static str>,
    /// `key` for a key request (a playlist otherwise).
    kind: Option<&'static str>,
}

hlsgate_aws::impl_outcome!(
    Outcome,
    o,
    metrics(doc) {
        if let Some(c) = o.cache {
            c.record(doc);
        }
        if let Some(n) = o.rewritten {
            doc.add(name::URIS_SIGNED, Unit::Count, n as f64, &[]);
        }
        doc.add(name::BYTES_OUT, Unit::Bytes, o.bytes_out as f64, &[]);
    },
    key = o.key.as_deref(),
    cache = o.cache.map(CacheStatus::as_str),
    encoding = o.encoding.map(ContentCoding::as_str),
    input_bytes = o.input_bytes,
    body_bytes = o.body_bytes,
    uris_signed = o.rewritten,
    uris_skipped = o.skipped,
    verify = o.verify,
    kind = o.kind,
);

/// Handles one request. Never panics on input; every answer carries
/// `Cache-Control: private, no-store` and CORS headers for allowed origins.
pub async fn handle<S: ObjectSource, O: SecretSource>(
    app: &App<S, O>,
    req: Request,
) -> Response<Body> {
    app.frame
        .serve(req, async |req: &Request, out: &mut Outcome| {
            serve(app, req, out).await
        })
        .await
}

async fn serve<S: ObjectSource, O: SecretSource>(
    app: &App<S, O>,
    req: &Request,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let cfg = &app.config;

    // 1. Only CloudFront knows the origin secret.
    if app.origin.check(req.headers()).await? == Via::Direct {
        return Err(forbidden("origin_header_missing", "origin header missing"));
    }

    // 2. Method.
    if let Some(preflight) = app.frame.method(req)? {
        return Ok(preflight);
    }

    // 3. Path → a playlist or a key.
    let wanted = resource(req, &cfg.key_prefix, &cfg.keys_prefix).map_err(|e| match e {
        PathError::BadRequest(r) => Refusal::new(StatusCode::BAD_REQUEST, "bad_path", r),
        PathError::NotFound(r) => Refusal::new(StatusCode::NOT_FOUND, "not_found", r),
    })?;
    out.key = Some(wanted.path().to_string());
    let public_url = format!("{}/{}", public_origin(cfg, req.headers())?, wanted.path());

    // 4. The forwarded signature copy, else (cookie mode) the signed
    //    cookies: nothing is served on a credential not checked here.
    let query = req.uri().query().unwrap_or("");
    let forwarded = Forwarded::from_query(query, &cfg.suffix)
        .map_err(|e| forbidden("bad_forwarded_copy", format!("forwarded parameters: {e}")))?;
    let ctx = Context {
        now: (app.clock)(),
        viewer_ip: cloudfront_viewer_ip(req.headers()),
    };
    let copy = match forwarded {
        Some(f) => {
            let verified = f.verify(&public_url, &cfg.key_group, ctx);
            checked(&mut out.verify, verified, "signature copy")?;
            Some(f)
        }
        None if cfg.mode == Delivery::Cookies => {
            // The origin request policy forwards only the `CloudFront-*`
            // signing cookies.
            let Some(cookies) = cookie_header(req.headers()) else {
                return Err(forbidden(
                    "no_credentials",
                    "no forwarded copy and no signed cookies",
                ));
            };
            let verified = verify_cookies(&public_url, &cookies, &cfg.key_group, ctx);
            checked(&mut out.verify, verified, "signed cookies")?;
            None
        }
        None => {
            return Err(forbidden(
                "no_credentials",
                format!("no {} parameters (URL mode)", cfg.suffix),
            ));
        }
    };

    let key = match wanted {
        Resource::Playlist(key) => key,
        Resource::Key { object, .. } => return serve_key(app, &object, out).await,
    };
    let rewriter = copy
        .as_ref()
        .map(|f| rewriter_for(cfg, f, &public_url))
        .transpose()?;

    // 5. The playlist.
    let (raw, cache) = app
        .objects
        .get(&key, cfg.max_playlist_bytes)
        .await
        .map_err(source_refusal)?;
    out.cache = Some(cache);
    out.input_bytes = Some(raw.len());

    // 6. Rewrite straight into the chosen coding.
    let accept = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let encoding = if raw.len() >= cfg.compress_min_bytes {
        negotiate(accept)
    } else {
        ContentCoding::Identity
    };
    let rendered = render(rewriter.as_ref(), &raw, encoding)
        .map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, "bad_playlist", e.to_string()))?;
    if let Some(report) = &rendered.report {
        out.rewritten = Some(report.rewritten);
        out.skipped = Some(report.skipped);
    }
    out.encoding = Some(encoding);
    out.bytes_out = rendered.bytes.len();
    let body = lambda_body(rendered.bytes, encoding);
    let size = encoded_len(&body);
    out.body_bytes = size;
    if size > BODY_BUDGET {
        return Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "response_too_large",
            format!(
                "the {} body is {size} bytes in the response, over Lambda's limit ({BODY_BUDGET}); \
                 the client {} compression",
                encoding.as_str(),
                if encoding == ContentCoding::Identity {
                    "did not accept"
                } else {
                    "accepted"
                }
            ),
        ));
    }
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PLAYLIST_TYPE),
    );
    if let Some(ce) = encoding.header() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(ce));
    }
    h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(resp)
}

/// The media type of a key answer.
pub const KEY_TYPE: &str = "application/octet-stream";

/// An AES-128 key: exactly [`KEY_BYTES`] bytes, read from `object`
/// (outside the media prefix). Neither the bytes nor anything derived from
/// them is logged.
async fn serve_key<S: ObjectSource, O: SecretSource>(
    app: &App<S, O>,
    object: &str,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    out.kind = Some("key");
    let (raw, cache) = app.objects.get(object, 64).await.map_err(|e| match e {
        SourceError::NotFound => {
            Refusal::new(StatusCode::NOT_FOUND, "not_found", "no key for this video")
        }
        SourceError::TooLarge { .. } => Refusal::new(
            StatusCode::BAD_GATEWAY,
            "bad_key",
            format!("the stored key is not {KEY_BYTES} bytes"),
        ),
        e => Refusal::storage(&e),
    })?;
    out.cache = Some(cache);
    if raw.len() != KEY_BYTES {
        return Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "bad_key",
            format!("the stored key is {} bytes, not {KEY_BYTES}", raw.len()),
        ));
    }
    out.body_bytes = KEY_BYTES;
    out.bytes_out = KEY_BYTES;
    let mut resp = Response::new(Body::Binary(raw.to_vec()));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(KEY_TYPE));
    Ok(resp)
}

/// Media URIs get the edge set; child playlists the edge set and the copy,
/// so their own requests reach us with it.
fn rewriter_for(cfg: &Config, f: &Forwarded, public_url: &str) -> Result<Rewriter, Refusal> {
    let bad = |e: &dyn std::fmt::Display| {
        forbidden("bad_forwarded_copy", format!("forwarded values: {e}"))
    };
    let edge = QueryParams::from_pairs(f.edge_pairs()).map_err(|e| bad(&e))?;
    let child = QueryParams::from_pairs(f.with_copy(&cfg.suffix)).map_err(|e| bad(&e))?;
    Rewriter::new(edge)
        .child_params(child)
        .limits(Limits {
            max_input_bytes: usize::try_from(cfg.max_playlist_bytes).unwrap_or(usize::MAX),
            max_uris: cfg.max_uris,
        })
        .base_url(public_url)
        .map_err(|e| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "config",
                format!("public URL {public_url}: {e}"),
            )
        })
}

fn source_refusal(e: SourceError) -> Refusal {
    match e {
        SourceError::NotFound => Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such object"),
        SourceError::TooLarge { .. } => {
            Refusal::new(StatusCode::BAD_GATEWAY, "playlist_too_large", e.to_string())
        }
        _ => Refusal::storage(&e),
    }
}

/// Records the verdict for the log line; a 403 unless it passed.
fn checked(
    verdict: &mut Option<&'static str>,
    verified: Result<Verified, VerifyError>,
    what: &str,
) -> Result<(), Refusal> {
    match verified {
        Ok(_) => *verdict = Some("valid"),
        // CloudFront checked the address at the edge; without the viewer's
        // address here we cannot check it again.
        Err(VerifyError::IpUnknown { .. }) => *verdict = Some("valid_ip_unchecked"),
        Err(e) => {
            *verdict = Some(e.code());
            return Err(forbidden(e.code(), format!("{what}: {}", e.code())));
        }
    }
    Ok(())
}

/// The origin of the public URLs: the distribution's header when the
/// function is configured to read one and the request has it, else
/// `CDN_DOMAIN`. A malformed header is the distribution's fault (502).
fn public_origin(cfg: &Config, headers: &HeaderMap) -> Result<String, Refusal> {
    let from_header = cfg
        .public_origin_header
        .as_ref()
        .and_then(|h| headers.get(h));
    match from_header {
        Some(v) => {
            let v = v.to_str().unwrap_or_default();
            url_origin(v)
                .ok()
                .filter(|o| o == v)
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "bad_public_origin",
                        format!("the public origin header is {v:?}, not an origin like https://d111.cloudfront.net"),
                    )
                })
        }
        None if cfg.public_origin.is_empty() => Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "bad_public_origin",
            "no public origin header from the distribution and no CDN_DOMAIN",
        )),
        None => Ok(cfg.public_origin.clone()),
    }
}
