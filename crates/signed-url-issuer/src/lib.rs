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
//!    of the viewer's grant, which caps the signature's expiry, and its
//!    terms; then the playback rules ([`rules`]): the grant's countries, the
//!    video's window, countries and sites (403, each with its own code);
//! 5. the catalog: `playback.json`, else the master (404 when not ready);
//! 6. the signing keys (503 when none could ever be read);
//! 7. the session and its stream limit (the grant's, else `MAX_STREAMS`);
//! 8. the signature: a URL, or cookies.
//!
//! `main.rs` only wires clients; everything here is tested directly.

pub mod catalog;
pub mod config;
pub mod dynamo;
pub mod entitlement;
pub mod keys;
mod playback;
mod routes;
pub mod rules;
pub mod sessions;
/// Who is asking (shared with the upload API).
pub use hlsgate_aws::viewer;

use std::net::IpAddr;

use hlsgate_aws::ObjectSource;
use hlsgate_aws::cache::CachedObjects;
use hlsgate_aws::metrics::name;
use hlsgate_aws::origin::{OriginGuard, Via};
use hlsgate_aws::secret::Secret;
pub use hlsgate_aws::web::{Clock, system_clock};
use hlsgate_aws::web::{Frame, Refusal};
use http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::catalog::{Catalog, CatalogError};
pub use crate::config::Config;
use crate::entitlement::Entitlement;
use crate::keys::{KeyRing, KeySource};
use crate::routes::Route;
use crate::sessions::{EndReason, Sessions};
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
    /// The session store and key ([`App::with_sessions_table`]).
    pub sessions: Sessions,
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
                &[Method::GET, Method::POST, Method::DELETE],
                "Authorization",
                config.cors_origins.clone(),
                config.cookies.as_ref().is_some_and(|c| c.domain.is_some()),
                config.metrics.clone(),
            ),
            catalog: Catalog::new(
                CachedObjects::new(objects, config.cache),
                config.key_prefix.clone(),
                config.rules_prefix.clone(),
            ),
            keys: KeyRing::new(keys, config.hash, config.keys_refresh),
            entitlement,
            sessions: Sessions::new(config.sessions.clone(), config.log_hash.key.as_ref()),
            origin: None,
            config,
            clock,
        }
    }

    /// Sessions recorded in `table` (`SESSIONS_TABLE`): stream limits and
    /// ending sessions work.
    #[must_use]
    pub fn with_sessions_table(mut self, table: sessions::table::SessionsTable) -> Self {
        self.sessions = self.sessions.with_table(table);
        self
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

/// What a request did to a session, for the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SessionEvent {
    /// By store (`table`, `stateless`).
    Started(&'static str),
    Renewed,
    /// By reason.
    Refused(&'static str),
}

/// What a request did, for its log line.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
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
    /// The session's pseudonym.
    session: Option<String>,
    session_event: Option<SessionEvent>,
    /// A session ended by this request, and why.
    ended: Option<EndReason>,
    /// The pseudonym of the session a start evicted.
    evicted: Option<String>,
    /// The viewer's country, when the distribution said.
    country: Option<hlsgate_core::rules::Country>,
    /// The video has playback rules.
    rules: bool,
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
        match o.session_event {
            Some(SessionEvent::Started(store)) => {
                doc.count(name::SESSIONS_STARTED, &[("Store", store)]);
            }
            Some(SessionEvent::Renewed) => {
                doc.count(name::SESSIONS_RENEWED, &[]);
            }
            Some(SessionEvent::Refused(reason)) => {
                doc.count(name::SESSIONS_REFUSED, &[("Reason", reason)]);
            }
            None => {}
        }
        if let Some(why) = o.ended {
            doc.count(name::SESSIONS_ENDED, &[("Reason", why.into())]);
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
    session = o.session.as_deref(),
    session_ended = o.ended.map(<&str>::from),
    evicted = o.evicted.as_deref(),
    country = o.country.as_ref().map(hlsgate_core::rules::Country::as_str),
    rules = o.rules,
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

    // 1. Method and route.
    if let Some(preflight) = app.frame.method(req)? {
        return Ok(preflight);
    }
    let (id, route) = Route::of(req)?;
    out.video_id = Some(id.to_string());

    // The end token stands in for the bearer token: a closing page's beacon
    // carries none.
    if let Route::EndByToken(sid) = &route {
        return routes::end_by_token(app, req, &id, sid, out).await;
    }

    // 2. Who.
    let viewer = Viewer::required(req, &cfg.subject_claim)?;
    out.subject = Some(subject_hash(cfg, &viewer.subject));

    match route {
        Route::Start => playback::playback(app, req, via, &viewer, &id, None, out).await,
        Route::Renew(sid) => playback::playback(app, req, via, &viewer, &id, Some(sid), out).await,
        Route::End(sid) => routes::end(app, &viewer, &sid, EndReason::Viewer, out).await,
        Route::List => routes::list(app, &viewer).await,
        Route::EndByToken(_) => unreachable!("answered above"),
    }
}

pub(crate) fn requested_mode(cfg: &Config, req: &Request, via: Via) -> Result<Delivery, Refusal> {
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
pub(crate) fn bind_address(ip: Option<IpAddr>) -> Option<ipnet::Ipv4Net> {
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

pub(crate) fn catalog_refusal(e: CatalogError) -> Refusal {
    match e {
        CatalogError::Store(e) => Refusal::storage(&e),
        CatalogError::BadSidecar(_) => {
            Refusal::new(StatusCode::BAD_GATEWAY, "bad_sidecar", e.to_string())
        }
        CatalogError::BadRules(_) => {
            Refusal::new(StatusCode::BAD_GATEWAY, "bad_rules", e.to_string())
        }
    }
}

pub(crate) fn rfc3339(epoch: u64) -> Result<String, String> {
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
