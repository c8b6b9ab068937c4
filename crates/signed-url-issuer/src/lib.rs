//! The signed-url-issuer Lambda: `GET /playback/{videoId}` behind API
//! Gateway with a JWT (HTTP API) or Cognito (REST API) authorizer. It decides
//! who may watch, and for how long, and hands out exactly one signature per
//! playback: a custom policy on the video's folder.
//!
//! Order of checks, each answered before the next is tried:
//! 0. the origin header, when one is configured: absent, the request came
//!    straight to the API; matching, through the distribution (then the
//!    viewer's address is CloudFront's `CloudFront-Viewer-Address`, and
//!    host-only cookies may be issued); wrong, 403;
//! 1. the method (`OPTIONS` preflight, `GET`, else 405);
//! 2. the principal from the authorizer's context (401 without one);
//! 3. the video id and `?mode=` (400);
//! 4. entitlement (403; 503 when the store cannot answer), with the end
//!    of the viewer's grant, which caps the signature's expiry;
//! 5. the catalog: `playback.json`, else the master (404 when not ready);
//! 6. the signing keys (503 when none could ever be read);
//! 7. the signature: a URL, or cookies.
//!
//! `main.rs` only wires clients; everything here is tested directly.

pub mod catalog;
pub mod config;
pub mod entitlement;
pub mod keys;
/// Who is asking (shared with the upload API).
pub use hlsgate_aws::viewer;

use std::net::IpAddr;

use hlsgate_aws::ObjectSource;
use hlsgate_aws::cache::CachedObjects;
use hlsgate_aws::metrics::name;
use hlsgate_aws::origin::{OriginGuard, Via};
use hlsgate_aws::secret::Secret;
pub use hlsgate_aws::web::{Clock, system_clock};
use hlsgate_aws::web::{Frame, Refusal, cloudfront_viewer_ip};
use hlsgate_core::signing::{CookieOptions, Epoch, Forwarded};
use hlsgate_core::video::VideoId;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::catalog::{Catalog, CatalogError};
pub use crate::config::Config;
use crate::entitlement::{Decision, Entitlement};
use crate::keys::{KeyRing, KeySource};
use crate::viewer::Viewer;
pub use hlsgate_core::signing::Delivery;

/// Everything a request needs, built once per cold start.
pub struct App<S, K, E> {
    pub config: Config,
    /// Methods, CORS and the log lines (`hlsgate_aws::web`).
    pub frame: Frame,
    pub catalog: Catalog<S>,
    pub keys: KeyRing<K>,
    pub entitlement: E,
    /// The origin secret check, when `config.origin` is set
    /// ([`App::with_origin`]).
    pub origin: Option<OriginGuard<Secret>>,
    pub clock: Clock,
}

hlsgate_aws::app_debug!(App<S, K, E>);

impl<S: ObjectSource, K: KeySource, E: Entitlement> App<S, K, E> {
    pub fn new(config: Config, objects: S, keys: K, entitlement: E, clock: Clock) -> Self {
        App {
            // Cookie mode: the browser must send credentials so it keeps
            // the cookies; config refuses `*` with cookies.
            // Host-only cookies are same-origin: no credentialed CORS.
            frame: Frame::new(
                &[Method::GET],
                "Authorization",
                config.cors_origins.clone(),
                config.cookies.as_ref().is_some_and(|c| c.domain.is_some()),
                config.metrics.clone(),
            ),
            catalog: Catalog::new(
                CachedObjects::new(objects, config.cache),
                config.key_prefix.clone(),
            ),
            keys: KeyRing::new(keys, config.hash, config.keys_refresh),
            entitlement,
            origin: None,
            config,
            clock,
        }
    }

    /// The origin secret from `source` (the location in `config.origin`);
    /// without it a configured origin secret refuses every request (500).
    #[must_use]
    pub fn with_origin(mut self, source: Secret) -> Self {
        self.origin = self
            .config
            .origin
            .as_ref()
            .map(|o| OriginGuard::new(o, source));
        self
    }
}

/// What a request did, for its log line.
#[derive(Debug, Default)]
struct Outcome {
    subject: Option<String>,
    video_id: Option<String>,
    mode: Option<Delivery>,
    expires: Option<u64>,
    ttl: Option<u64>,
    key_id: Option<String>,
    ip_bound: bool,
    sidecar: Option<bool>,
    cache: Option<hlsgate_aws::cache::CacheStatus>,
    via: Option<Via>,
    /// The end of the viewer's grant, when the store gave one.
    grant_until: Option<u64>,
    /// A signature went out.
    signed: bool,
}

hlsgate_aws::impl_outcome!(
    Outcome,
    o,
    metrics(doc) {
        if let Some(c) = o.cache {
            c.record(doc);
        }
        if o.signed
            && let (Some(mode), Some(key)) = (o.mode, o.key_id.as_deref())
        {
            doc.count(name::SIGNATURES, &[("Mode", mode.as_str()), ("KeyId", key)]);
        }
    },
    via = o.via.map(|v| match v {
        Via::Cdn => "cdn",
        Via::Direct => "direct",
    }),
    subject = o.subject.as_deref(),
    video_id = o.video_id.as_deref(),
    mode = o.mode.map(Delivery::as_str),
    expires = o.expires,
    grant_until = o.grant_until,
    ttl_seconds = o.ttl,
    key_id = o.key_id.as_deref(),
    ip_bound = o.ip_bound,
    sidecar = o.sidecar,
);

/// Handles one request. Never panics on input; every answer carries
/// `Cache-Control: private, no-store`, and CORS headers for allowed origins.
pub async fn handle<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    req: Request,
) -> Response<Body> {
    app.frame
        .serve(req, async |playback: &Request, outcome: &mut Outcome| {
            serve(app, playback, outcome).await
        })
        .await
}

async fn serve<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    req: &Request,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let cfg = &app.config;

    // 0. Through the distribution, or straight to the API?
    let via = match (&cfg.origin, &app.origin) {
        (None, _) => Via::Direct,
        (Some(_), Some(guard)) => guard.check(req.headers()).await?,
        (Some(_), None) => {
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "config",
                "an origin secret is configured but the app was built without it (App::with_origin)",
            ));
        }
    };
    out.via = Some(via);

    // 1. Method.
    if let Some(preflight) = app.frame.method(req)? {
        return Ok(preflight);
    }

    // 2. Who.
    let viewer = Viewer::required(req, &cfg.subject_claim)?;
    out.subject = Some(subject_hash(cfg, &viewer.subject));

    // 3. What.
    let id = video_id(req)
        .map_err(|reason| Refusal::new(StatusCode::BAD_REQUEST, "bad_video_id", reason))?;
    out.video_id = Some(id.to_string());
    let mode = requested_mode(cfg, req, via)?;
    out.mode = Some(mode);

    // 4. May they, and until when?
    let now = (app.clock)();
    let grant_until = match app.entitlement.check(&viewer, &id, now).await {
        // Whatever decided it (a custom `Entitlement` too), an end no
        // answer can carry is the grant's fault, never a 5xx.
        Ok(Decision::Allowed { until: Some(end) }) if end > entitlement::grants::LAST_EPOCH => {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "not_entitled",
                format!("the grant's end {end} is past year 9999"),
            )
            .detail(entitlement::grants::GRANT_MALFORMED));
        }
        Ok(Decision::Allowed { until: Some(end) }) if end <= now => {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "not_entitled",
                format!("the grant ended at {end} (now {now})"),
            )
            .detail(entitlement::grants::GRANT_EXPIRED));
        }
        Ok(Decision::Allowed { until }) => until,
        Ok(Decision::Denied(d)) => {
            return Err(
                Refusal::new(StatusCode::FORBIDDEN, "not_entitled", d.reason).detail(d.detail),
            );
        }
        Err(e) => {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "entitlement_unavailable",
                e.to_string(),
            )
            .detail(e.detail));
        }
    };
    out.grant_until = grant_until;

    // 5. Is it ready, and how long does it play?
    let ready = app
        .catalog
        .find(&id)
        .await
        .map_err(catalog_refusal)?
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no playback.json and no master playlist",
            )
        })?;
    out.sidecar = Some(ready.from_sidecar);
    out.cache = ready.cache;

    // 6. Keys.
    let keys = app.keys.current().await.map_err(|e| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            e.to_string(),
        )
    })?;
    let signer = keys.signer();
    out.key_id = Some(signer.key_pair_id().to_string());

    // 7. Sign the folder, once; a rental never outlives its grant.
    let by_rule = now.saturating_add(cfg.ttl.seconds(ready.duration_seconds));
    let expires = grant_until.map_or(by_rule, |u| by_rule.min(u));
    let ttl = expires.saturating_sub(now);
    out.ttl = Some(ttl);
    out.expires = Some(expires);
    let ip = if cfg.bind_ip {
        // Through CloudFront the connection is CloudFront's; the viewer is
        // in the header it sets (and overwrites, so a viewer cannot).
        let viewer_ip = match via {
            Via::Cdn => cloudfront_viewer_ip(req.headers()),
            Via::Direct => viewer.source_ip,
        };
        bind_address(viewer_ip)
    } else {
        None
    };
    out.ip_bound = ip.is_some();
    let folder = cfg.folder_url(id.as_str());
    let internal = |e: &dyn std::fmt::Display| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "signing_failed",
            e.to_string(),
        )
    };
    let expires_epoch = Epoch::new(expires).map_err(|e| internal(&e))?;
    let signed = signer
        .sign_folder(&folder, expires_epoch, None, ip)
        .map_err(|e| internal(&e))?;
    let manifest = format!("{folder}{}", ready.master_name);
    let expires_at = rfc3339(expires).map_err(|e| internal(&e))?;

    let poster = ready.poster_name.as_ref().map(|p| format!("{folder}{p}"));
    let (manifest_url, poster_url, cookies) = match mode {
        Delivery::Url => {
            let query: Vec<String> = Forwarded::from_signed(&signed)
                .with_copy(&cfg.suffix)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            // The poster goes straight to the media origin: CloudFront's
            // own parameters, no forwarded copy for the rewriter.
            (
                format!("{manifest}?{}", query.join("&")),
                poster.map(|p| format!("{p}?{}", signed.query_string())),
                Vec::new(),
            )
        }
        Delivery::Cookies => {
            let Some(c) = &cfg.cookies else {
                return Err(internal(&"cookie mode without cookie settings"));
            };
            let opts = CookieOptions {
                domain: c.domain.clone(),
                path: Some(format!("/{}", cfg.folder_key(id.as_str()))),
                same_site: c.same_site,
                expires: true,
            };
            let cookies = signed.set_cookie_headers(&opts).map_err(|e| internal(&e))?;
            (manifest, poster, cookies)
        }
    };
    // The tracks let a player draw its audio and subtitle menus (and know
    // of trick play) before it loads the master.
    let mut body = serde_json::json!({
        "manifest_url": manifest_url,
        "expires_at": expires_at,
        "mode": mode.as_str(),
        "tracks": ready.tracks,
    });
    if let Some(p) = poster_url {
        body["poster_url"] = p.into();
    }
    if let Some(until) = grant_until {
        // The player may say "rental ends in …"; a new signature is never
        // issued past it.
        body["grant_expires_at"] = rfc3339(until).map_err(|e| internal(&e))?.into();
    }
    out.signed = true;
    let mut resp = Response::new(Body::Text(body.to_string()));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for c in cookies {
        let v = HeaderValue::try_from(c).map_err(|e| internal(&e))?;
        h.append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The `{videoId}` path parameter, else the segment after `/playback/`.
fn video_id(req: &Request) -> Result<VideoId, String> {
    let params = req.path_parameters_ref();
    let raw = match params.and_then(|p| p.first("videoId")) {
        Some(v) => v.to_string(),
        None => {
            let path = req.uri().path();
            let (_, rest) = path
                .split_once("/playback/")
                .ok_or_else(|| format!("path {path:?} is not /playback/{{videoId}}"))?;
            rest.to_string()
        }
    };
    VideoId::parse(&raw).map_err(|e| e.to_string())
}

fn requested_mode(cfg: &Config, req: &Request, via: Via) -> Result<Delivery, Refusal> {
    let params = req.query_string_parameters_ref();
    let mode: Delivery = match params.and_then(|p| p.first("mode")) {
        None => cfg.default_mode,
        Some(asked) => asked.parse().map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_mode",
                "mode must be url or cookies",
            )
        })?,
    };
    if mode == Delivery::Cookies {
        let unavailable = |reason: &str| {
            Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "cookies_unavailable",
                reason,
            ))
        };
        match &cfg.cookies {
            None => {
                return unavailable(
                    "mode=cookies asked but neither COOKIE_DOMAIN nor HOST_ONLY_COOKIES is configured",
                );
            }
            // Host-only cookies set on the API's own host would never reach
            // the CDN: only through the distribution do they land there.
            Some(c) if c.domain.is_none() && via == Via::Direct => {
                return unavailable(
                    "host-only cookies are issued only through the distribution: \
                     GET https://CDN/playback/ID",
                );
            }
            Some(_) => {}
        }
    }
    Ok(mode)
}

/// The policy's `IpAddress` for a viewer: their IPv4 address as a /32.
/// CloudFront policies hold IPv4 ranges only; an IPv6 viewer gets an
/// unbound signature rather than none.
fn bind_address(ip: Option<IpAddr>) -> Option<ipnet::Ipv4Net> {
    let v4 = match ip {
        Some(IpAddr::V4(v4)) => v4,
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4,
            None => {
                tracing::info!(
                    "IPv6 viewer: CloudFront cannot bind a signature to an IPv6 address; issuing it unbound"
                );
                return None;
            }
        },
        None => {
            tracing::warn!(
                "no source address in the request context; issuing an unbound signature"
            );
            return None;
        }
    };
    ipnet::Ipv4Net::new(v4, 32).ok()
}

fn catalog_refusal(e: CatalogError) -> Refusal {
    match e {
        CatalogError::Store(e) => Refusal::storage(&e),
        CatalogError::BadSidecar(_) => {
            Refusal::new(StatusCode::BAD_GATEWAY, "bad_sidecar", e.to_string())
        }
    }
}

fn rfc3339(epoch: u64) -> Result<String, String> {
    let t = i64::try_from(epoch)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| format!("expiry {epoch} is out of range"))?;
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())
}

/// A pseudonym for the viewer in logs ([`hlsgate_aws::viewer::pseudonym`]
/// under `LOG_HASH_KEY`).
pub fn subject_hash(cfg: &Config, subject: &str) -> String {
    cfg.log_hash.of(subject)
}
