//! The team's own entitlement endpoint (`ENTITLEMENT=webhook`,
//! `ENTITLEMENT_URL`): one signed `POST` per (subject, video) the cache
//! does not hold.
//!
//! The request (documented with verifiers in `docs/entitlement.md`):
//! - body `{"subject": …, "video_id": …, "claims": {…}}`, the claims being
//!   only those `ENTITLEMENT_CLAIMS` names, as the authorizer passed them;
//! - [`TIMESTAMP_HEADER`]: epoch seconds; [`SIGNATURE_HEADER`]: `v1=` and
//!   the hex HMAC-SHA256, keyed by the secret's text, of
//!   `TIMESTAMP "." BODY` ([`signature`]).
//!
//! The answer must be 200 with `{"allow": bool, "expires_at"?: epoch,
//! "countries"?: [code], "max_streams"?: n}` (the grant's terms) in at
//! most [`MAX_ANSWER_BYTES`], within `ENTITLEMENT_TIMEOUT_MS`. Anything else
//! (a redirect, which is never followed, another status, a bad or
//! oversized body, a time-out) is an [`EntitlementError`]: 503, not 403.
//! TLS is required except on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hlsgate_aws::cache::{Refresh, Refreshing};
use hlsgate_aws::env::Env;
use hlsgate_aws::secret::{KeySource, Secret, SecretLocation, SecretVars};
use hlsgate_core::video::VideoId;
use hmac::{KeyInit, Mac};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::grants::{self, Window};
use super::{Decision, EntitlementError, Terms};
use crate::viewer::Viewer;

pub const TIMESTAMP_HEADER: &str = "x-hlsgate-timestamp";
pub const SIGNATURE_HEADER: &str = "x-hlsgate-signature";
/// The largest answer read; a longer one is an error.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The webhook's HMAC key.
pub const SECRET_VARS: SecretVars = SecretVars {
    secrets_manager: "ENTITLEMENT_SECRET_ARN",
    file: None,
    literal: "ENTITLEMENT_SECRET",
    what: "the Secrets Manager secret whose text keys the webhook's HMAC-SHA256 signature",
};

/// The webhook's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// `ENTITLEMENT_URL`: `https://…`, or `http://` on loopback only.
    pub url: Url,
    pub secret: SecretLocation,
    /// `ENTITLEMENT_CLAIMS`: the claims sent along (none by default).
    pub claims: Vec<String>,
    pub timeout: Duration,
}

impl WebhookConfig {
    pub fn from_env(env: &mut Env, timeout: Duration) -> WebhookConfig {
        let url = env
            .required(
                "ENTITLEMENT_URL",
                "the entitlement webhook (ENTITLEMENT=webhook)",
            )
            .and_then(|raw| match endpoint(&raw) {
                Ok(u) => Some(u),
                Err(e) => {
                    env.problem(format!("ENTITLEMENT_URL={raw:?}: {e}"));
                    None
                }
            })
            .unwrap_or_else(|| Url::parse("https://invalid.example/").expect("a valid URL"));
        let secret = env.secret_location(SECRET_VARS);
        let claims = env.list("ENTITLEMENT_CLAIMS");
        WebhookConfig {
            url,
            secret,
            claims,
            timeout,
        }
    }
}

/// `raw` as an endpoint: HTTPS, or plain HTTP to a loopback host.
pub fn endpoint(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| e.to_string())?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("TLS is required: use https:// (http:// only on loopback)".into()),
        other => return Err(format!("scheme {other:?}: expected https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL would be logged: use the signature".into());
    }
    if url.fragment().is_some() {
        return Err("a fragment is never sent".into());
    }
    Ok(url)
}

/// `v1=` + hex HMAC-SHA256(key, `TIMESTAMP.BODY`): the signature header.
pub fn signature(key: &[u8], timestamp: u64, body: &[u8]) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        // HMAC takes any key length; this arm is never taken.
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("v1={}", hex::encode(digest))
}

#[derive(Debug, Deserialize)]
struct Answer {
    allow: bool,
    /// Any JSON number: one that is not whole epoch seconds up to year
    /// 9999 (`1e30`, milliseconds by mistake) is a malformed grant, a 403.
    #[serde(default)]
    expires_at: Option<serde_json::Number>,
    /// The grant's terms (`docs/playback-rules.md`): where it holds…
    #[serde(default)]
    countries: Option<Vec<String>>,
    /// …and on how many screens.
    #[serde(default)]
    max_streams: Option<serde_json::Number>,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The webhook client.
pub struct Webhook {
    config: WebhookConfig,
    source: Secret,
    key: Refreshing<SecretString>,
    client: HttpsClient,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.config.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// The client for `config`, its key from `source` (read again every
    /// five minutes, so a rotation is picked up). Fails without system
    /// root certificates.
    pub fn new(config: WebhookConfig, source: Secret) -> Result<Webhook, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("the webhook's TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Webhook {
            config,
            source,
            key: Refreshing::new(Refresh::DEFAULT),
            client,
        })
    }

    /// The JSON body for one question.
    pub fn body(&self, viewer: &Viewer, video: &VideoId) -> Vec<u8> {
        let claims: serde_json::Map<String, serde_json::Value> = self
            .config
            .claims
            .iter()
            .filter_map(|name| viewer.claim(name).map(|v| (name.clone(), v.clone())))
            .collect();
        serde_json::json!({
            "subject": viewer.subject,
            "video_id": video.as_str(),
            "claims": claims,
        })
        .to_string()
        .into_bytes()
    }

    pub async fn check(
        &self,
        viewer: &Viewer,
        video: &VideoId,
        now: u64,
    ) -> Result<Decision, EntitlementError> {
        let key: Arc<SecretString> = self
            .key
            .get_at(Instant::now(), "the webhook key", self.source.fetch())
            .await
            .map_err(|e| EntitlementError::new("webhook_key_unavailable", e.to_string()))?;
        let body = self.body(viewer, video);
        let sig = signature(key.expose_secret().as_bytes(), now, &body);
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.config.url.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("hlsgate/", env!("CARGO_PKG_VERSION")),
            )
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, sig)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| EntitlementError::new("webhook_request", e.to_string()))?;
        // In errors and logs: no query string, which may hold a token.
        let shown = format!(
            "{}{}",
            self.config.url.origin().ascii_serialization(),
            self.config.url.path()
        );
        let url = shown.as_str();
        let call = async {
            let resp =
                self.client.request(req).await.map_err(|e| {
                    EntitlementError::new("webhook_unreachable", format!("{url}: {e}"))
                })?;
            let status = resp.status();
            if status.is_redirection() {
                return Err(EntitlementError::new(
                    "webhook_redirect",
                    format!("{url} answered {status}; redirects are not followed"),
                ));
            }
            if status != StatusCode::OK {
                return Err(EntitlementError::new(
                    "webhook_status",
                    format!("{url} answered {status}"),
                ));
            }
            let bytes = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    EntitlementError::new(
                        "webhook_answer",
                        format!(
                            "{url}: the answer could not be read in {MAX_ANSWER_BYTES} bytes: {e}"
                        ),
                    )
                })?
                .to_bytes();
            serde_json::from_slice::<Answer>(&bytes).map_err(|e| {
                EntitlementError::new(
                    "webhook_answer",
                    format!("{url}: expected {{\"allow\": bool, \"expires_at\"?: epoch, \"countries\"?: [code], \"max_streams\"?: n}}: {e}"),
                )
            })
        };
        let answer = tokio::time::timeout(self.config.timeout, call)
            .await
            .map_err(|_| {
                EntitlementError::new(
                    "webhook_timeout",
                    format!("{url} did not answer within {:?}", self.config.timeout),
                )
            })??;
        Ok(if answer.allow {
            let window = match answer.expires_at {
                None => Window::default(),
                Some(n) => {
                    grants::parse_epoch(&n.to_string()).map_or(Window::MALFORMED, |end| Window {
                        not_before: None,
                        expires_at: Some(end),
                    })
                }
            };
            let streams = answer.max_streams.map(|n| n.to_string());
            let codes = answer
                .countries
                .as_ref()
                .map(|c| c.iter().map(String::as_str));
            match grants::read_terms(codes, streams.as_deref()) {
                Ok(terms) => grants::decide([(window, &terms)], now),
                Err(e) => {
                    tracing::warn!(error = %e, "the webhook's terms cannot be read; it grants nothing");
                    grants::decide([(Window::MALFORMED, &Terms::NONE)], now)
                }
            }
        } else {
            Decision::denied("webhook_denied", "the entitlement webhook said no")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tls_or_loopback() {
        for ok in [
            "https://grants.example.com/check",
            "http://127.0.0.1:8080/x",
            "http://[::1]:9/",
            "http://localhost:3000/",
        ] {
            assert!(endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://grants.example.com/",
            "http://10.0.0.1/",
            "ftp://x/",
            "https://user:pw@x.example/",
            "https://x.example/#f",
            "not a url",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signature_covers_the_timestamp_and_the_body() {
        let a = signature(b"k", 1, b"{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64, "{a}");
        assert_ne!(a, signature(b"k", 2, b"{}"));
        assert_ne!(a, signature(b"k", 1, b"{ }"));
        assert_ne!(a, signature(b"j", 1, b"{}"));
    }
}
