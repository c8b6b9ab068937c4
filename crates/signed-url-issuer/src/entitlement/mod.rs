//! May this viewer watch this video, and until when?
//!
//! [`Entitlement`] is the seam: the handler asks it once per request and
//! answers 403 on [`Decision::Denied`], 503 on an [`EntitlementError`]. An
//! allowed decision may carry the end of the viewer's grant (a rental), and
//! the signature never outlives it.
//!
//! `ENTITLEMENT` picks where grants live; every configured rule must pass:
//! - `claims` (default): the token's claims only ([`ClaimsEntitlement`]);
//! - `dynamodb`: a grants table ([`table::GrantsTable`]), after any claim
//!   rule;
//! - `webhook`: the team's own HTTPS endpoint ([`webhook::Webhook`]), after
//!   any claim rule.
//!
//! A store's answers are cached per (subject, video) for a few seconds
//! ([`cache::DecisionCache`]). Anything else is another implementation of
//! the trait:
//!
//! ```
//! use std::collections::HashSet;
//! use hlsgate_core::video::VideoId;
//! use hlsgate_signed_url_issuer::entitlement::{Decision, Entitlement, EntitlementError};
//! use hlsgate_signed_url_issuer::viewer::Viewer;
//!
//! /// Stands in for a lookup keyed by (subject, video id).
//! struct Purchases(HashSet<(String, String)>);
//!
//! impl Entitlement for Purchases {
//!     async fn check(&self, viewer: &Viewer, video: &VideoId, _now: u64) -> Result<Decision, EntitlementError> {
//!         // A real lookup returns an EntitlementError on throttling or
//!         // timeouts, so the viewer gets a retryable 503, not a 403.
//!         let key = (viewer.subject.clone(), video.to_string());
//!         Ok(if self.0.contains(&key) {
//!             Decision::ALLOWED
//!         } else {
//!             Decision::denied("not_purchased", "no purchase on record")
//!         })
//!     }
//! }
//! ```

pub mod cache;
pub mod claims;
pub mod grants;
pub mod table;
pub mod webhook;

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use hlsgate_aws::env::Env;
use hlsgate_core::rules::Countries;
use hlsgate_core::video::VideoId;

pub use self::cache::{CacheTtls, DecisionCache};
pub use self::claims::ClaimsEntitlement;
use self::table::GrantsTable;
use self::webhook::{Webhook, WebhookConfig};
use crate::viewer::Viewer;

/// The answer for one viewer and video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `until` (epoch seconds) ends the grant: the signature's
    /// expiry is the earlier of the TTL rule's and this. `terms` are the
    /// grant's own rules (`docs/playback-rules.md`).
    Allowed { until: Option<u64>, terms: Terms },
    /// Refused; the reason is logged, never shown.
    Denied(Denial),
}

/// Why a viewer was refused: a short code for the `Refusals` metric and a
/// sentence for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// `grant_expired`, `grant_not_yet`, `no_grant`, `claim_missing`, …
    pub detail: &'static str,
    pub reason: Cow<'static, str>,
}

/// What a grant says beyond its window: the countries it holds in (a
/// regional plan) and how many screens may play at once (a plan's streams,
/// over `MAX_STREAMS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms {
    /// An allow list: the grant holds only there.
    pub countries: Option<Countries>,
    /// `0` is no limit.
    pub max_streams: Option<u16>,
}

impl Terms {
    pub const NONE: Terms = Terms {
        countries: None,
        max_streams: None,
    };
}

impl Decision {
    /// Allowed, with no end but the TTL rule's.
    pub const ALLOWED: Decision = Decision::Allowed {
        until: None,
        terms: Terms::NONE,
    };

    /// Allowed until `until`, with no terms.
    pub fn allowed_until(until: Option<u64>) -> Decision {
        Decision::Allowed {
            until,
            terms: Terms::NONE,
        }
    }

    pub fn denied(detail: &'static str, reason: impl Into<Cow<'static, str>>) -> Decision {
        Decision::Denied(Denial {
            detail,
            reason: reason.into(),
        })
    }

    /// Nothing configured would ever allow: refused, whoever asks.
    pub fn no_rule() -> Decision {
        Decision::denied("no_rule", "no entitlement rule configured")
    }
}

/// The entitlement store could not answer: a 503 the viewer may retry,
/// never a 403 that hides an outage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entitlement store unavailable: {message}")]
pub struct EntitlementError {
    /// `grants_throttled`, `grants_table_missing`, `webhook_timeout`, …
    pub detail: &'static str,
    pub message: String,
}

impl EntitlementError {
    pub fn new(detail: &'static str, message: impl Into<String>) -> Self {
        EntitlementError {
            detail,
            message: message.into(),
        }
    }
}

/// Decides whether a viewer may watch a video at `now` (epoch seconds).
pub trait Entitlement: Send + Sync {
    fn check(
        &self,
        viewer: &Viewer,
        video: &VideoId,
        now: u64,
    ) -> impl Future<Output = Result<Decision, EntitlementError>> + Send;
}

/// `ENTITLEMENT`: where grants live.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum Backend {
    Claims,
    Dynamodb,
    Webhook,
}

/// Said when `ENTITLEMENT_VIDEOS_WILDCARDS` has nothing to apply to.
pub const WILDCARDS_UNUSED: &str = "ENTITLEMENT_VIDEOS_WILDCARDS is set but neither \
     ENTITLEMENT_VIDEOS_CLAIM nor ENTITLEMENT=dynamodb uses it";

/// The entitlement settings, read once at cold start.
#[derive(Debug, Clone)]
pub struct EntitlementConfig {
    pub backend: Backend,
    /// The claim rules; `None` when none is set (only with a store).
    pub claims: Option<ClaimsEntitlement>,
    /// `GRANTS_TABLE` (with `ENTITLEMENT=dynamodb`).
    pub table: Option<String>,
    /// `ENTITLEMENT_VIDEOS_WILDCARDS`: collection grants (`prefix*`, `*`)
    /// count, in the claim and in the table.
    pub wildcards: bool,
    /// `ENTITLEMENT_URL` and its settings (with `ENTITLEMENT=webhook`).
    pub webhook: Option<WebhookConfig>,
    /// `ENTITLEMENT_TIMEOUT_MS` (default 1,000): one store answer, retries
    /// included.
    pub timeout: Duration,
    /// `ENTITLEMENT_CACHE_SECONDS`, `ENTITLEMENT_DENY_CACHE_SECONDS`.
    pub cache: CacheTtls,
}

impl EntitlementConfig {
    /// Reads the settings; problems are recorded in `env`.
    pub fn from_env(env: &mut Env) -> Self {
        let backend = env.choice("ENTITLEMENT", Backend::Claims);
        let wildcards = env.flag("ENTITLEMENT_VIDEOS_WILDCARDS", false);
        let claims = ClaimsEntitlement::from_env(env, wildcards);
        let uses_wildcards = backend == Backend::Dynamodb
            || claims.as_ref().is_some_and(|c| c.videos_claim.is_some());
        if wildcards && !uses_wildcards {
            env.problem(WILDCARDS_UNUSED);
        }
        if backend == Backend::Claims && claims.is_none() {
            env.problem(
                "no entitlement rule: set ENTITLEMENT_CLAIM and ENTITLEMENT_VALUES, and/or \
                 ENTITLEMENT_VIDEOS_CLAIM, or ENTITLEMENT_ANY_VIEWER=true to let every \
                 signed-in viewer watch everything, or ENTITLEMENT=dynamodb|webhook",
            );
        }
        if claims.as_ref().is_some_and(|c| c.any_viewer) && backend != Backend::Claims {
            env.problem(format!(
                "ENTITLEMENT_ANY_VIEWER=true with ENTITLEMENT={}: the store would never be asked",
                <&str>::from(backend)
            ));
        }
        let table = match backend {
            Backend::Dynamodb => env.required(
                "GRANTS_TABLE",
                "the DynamoDB grants table (ENTITLEMENT=dynamodb)",
            ),
            _ => {
                if env.optional("GRANTS_TABLE").is_some() {
                    env.problem("GRANTS_TABLE is set but ENTITLEMENT is not dynamodb");
                }
                None
            }
        };
        let timeout = env.millis(
            "ENTITLEMENT_TIMEOUT_MS",
            Duration::from_secs(1),
            100,
            10_000,
        );
        let webhook = match backend {
            Backend::Webhook => Some(WebhookConfig::from_env(env, timeout)),
            _ => {
                if env.optional("ENTITLEMENT_URL").is_some() {
                    env.problem("ENTITLEMENT_URL is set but ENTITLEMENT is not webhook");
                }
                None
            }
        };
        let cache = CacheTtls::from_env(env);
        EntitlementConfig {
            backend,
            claims,
            table,
            wildcards,
            webhook,
            timeout,
            cache,
        }
    }
}

/// Where a store's decisions come from.
#[derive(Debug)]
pub enum Store {
    Table(GrantsTable),
    /// Boxed: the HTTPS client is large, and a store is built once.
    Webhook(Box<Webhook>),
}

impl Store {
    async fn check(
        &self,
        viewer: &Viewer,
        video: &VideoId,
        now: u64,
        wildcards: bool,
    ) -> Result<Decision, EntitlementError> {
        match self {
            Store::Table(t) => t.check(&viewer.subject, video, wildcards, now).await,
            Store::Webhook(w) => w.check(viewer, video, now).await,
        }
    }
}

/// The configured rules, whichever backend holds them: what `main.rs`
/// builds. Claim rules first (no I/O), then the store through its cache.
#[derive(Debug)]
pub struct Entitlements {
    claims: Option<ClaimsEntitlement>,
    store: Option<Store>,
    wildcards: bool,
    cache: DecisionCache,
}

impl Entitlements {
    /// The claim rules of `config` alone (`ENTITLEMENT=claims`).
    pub fn claims(config: &EntitlementConfig) -> Entitlements {
        Entitlements {
            claims: config.claims.clone(),
            store: None,
            wildcards: config.wildcards,
            cache: DecisionCache::new(config.cache),
        }
    }

    /// The claim rules of `config` and `store`, which must be the kind
    /// `config.backend` names.
    pub fn with_store(config: &EntitlementConfig, store: Store) -> Result<Entitlements, String> {
        let matches = matches!(
            (config.backend, &store),
            (Backend::Dynamodb, Store::Table(_)) | (Backend::Webhook, Store::Webhook(_))
        );
        if !matches {
            return Err(format!(
                "ENTITLEMENT={} but the store given is another kind",
                <&str>::from(config.backend)
            ));
        }
        Ok(Entitlements {
            store: Some(store),
            ..Entitlements::claims(config)
        })
    }

    /// What `config` names, connected through `sdk`: the claims alone, the
    /// grants table (probed once: a missing table stops the start with a
    /// clear error), or the webhook with its key's location.
    pub async fn connect(
        config: &EntitlementConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Entitlements, String> {
        let store = match (config.backend, &config.table, &config.webhook) {
            (Backend::Dynamodb, Some(name), _) => {
                let table =
                    GrantsTable::new(crate::dynamo::client(sdk, config.timeout), name.clone());
                table.probe().await.map_err(|e| e.message)?;
                Store::Table(table)
            }
            (Backend::Webhook, _, Some(hook)) => {
                let key =
                    hlsgate_aws::secret::Secret::new("the webhook key", hook.secret.clone(), sdk);
                Store::Webhook(Box::new(Webhook::new(hook.clone(), key)?))
            }
            _ => return Ok(Entitlements::claims(config)),
        };
        Entitlements::with_store(config, store)
    }

    /// The decision cache, for its figures.
    pub fn cache(&self) -> &DecisionCache {
        &self.cache
    }
}

impl Entitlement for Entitlements {
    async fn check(
        &self,
        viewer: &Viewer,
        video: &VideoId,
        now: u64,
    ) -> Result<Decision, EntitlementError> {
        if let Some(claims) = &self.claims {
            let d = claims.decide(viewer, video);
            if matches!(d, Decision::Denied(_)) || self.store.is_none() {
                return Ok(d);
            }
        }
        let Some(store) = &self.store else {
            return Ok(Decision::no_rule());
        };
        if let Some(hit) = self.cache.get(&viewer.subject, video, now) {
            return Ok(hit);
        }
        let decision = store.check(viewer, video, now, self.wildcards).await?;
        self.cache.put(&viewer.subject, video, &decision, now);
        Ok(decision)
    }
}
