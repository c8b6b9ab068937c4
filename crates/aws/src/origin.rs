//! The origin secret, for both HTTP functions: CloudFront adds it as a
//! header to every request it sends an origin (an origin custom header,
//! which overwrites a viewer's header of the same name), so a request that
//! carries it came through the distribution. The rewriter refuses a request
//! without it; the issuer, also reachable on its own `execute-api` URL,
//! serves both and trusts what only CloudFront sets (the viewer's address,
//! the CDN's host for host-only cookies) only when the secret matches.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::cache::Refresh;
use crate::env::Env;
use crate::secret::{Check, RotatingSecret, SecretLocation, SecretSource, SecretVars};
use crate::web::Refusal;

/// The variables of the origin secret.
pub const ORIGIN_SECRET_VARS: SecretVars = SecretVars {
    secrets_manager: "ORIGIN_SECRET_ARN",
    file: None,
    literal: "ORIGIN_SECRET",
    what: "the Secrets Manager secret CloudFront sends as the origin header",
};

/// The refusal detail (logs and the `Refusals` metric) of a wrong secret.
pub const MISMATCH: &str = "origin_secret_mismatch";

/// Where the secret is and which header carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginConfig {
    /// `ORIGIN_HEADER` (default `X-Origin-Verify`).
    pub header: HeaderName,
    /// `ORIGIN_SECRET_ARN`, or `ORIGIN_SECRET` for local runs.
    pub secret: SecretLocation,
    /// `ORIGIN_SECRET_TTL_SECONDS` (default 300): how soon a rotation is
    /// picked up (a mismatch refreshes early).
    pub refresh: Refresh,
}

impl Env {
    /// The origin secret's settings; its location is required.
    pub fn origin_config(&mut self) -> OriginConfig {
        let (header, refresh) = self.origin_header_and_refresh();
        let secret = self.secret_location(ORIGIN_SECRET_VARS);
        OriginConfig {
            header,
            secret,
            refresh,
        }
    }

    /// [`origin_config`](Self::origin_config) when any of its location
    /// variables is set, else `None` (every variable is still read, so the
    /// docs' tables list them all).
    pub fn origin_config_if_set(&mut self) -> Option<OriginConfig> {
        let (header, refresh) = self.origin_header_and_refresh();
        let any = [
            ORIGIN_SECRET_VARS.secrets_manager,
            ORIGIN_SECRET_VARS.literal,
        ]
        .iter()
        .any(|v| self.optional(v).is_some());
        any.then(|| OriginConfig {
            header,
            secret: self.secret_location(ORIGIN_SECRET_VARS),
            refresh,
        })
    }

    fn origin_header_and_refresh(&mut self) -> (HeaderName, Refresh) {
        let header = self.parse_with(
            "ORIGIN_HEADER",
            HeaderName::from_static("x-origin-verify"),
            |h| HeaderName::try_from(h).map_err(|_| "not a valid header name".to_string()),
        );
        let refresh = Refresh {
            ttl: Duration::from_secs(self.int_in("ORIGIN_SECRET_TTL_SECONDS", 300, 1, 86_400)),
            ..Refresh::DEFAULT
        };
        (header, refresh)
    }
}

/// How a request reached the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// With the matching secret: through the distribution.
    Cdn,
    /// Without the header: straight to the function's own URL.
    Direct,
}

/// The check of the origin header against the rotating secret.
#[derive(Debug)]
pub struct OriginGuard<S> {
    header: HeaderName,
    secret: RotatingSecret<S>,
}

impl<S: SecretSource> OriginGuard<S> {
    pub fn new(config: &OriginConfig, source: S) -> Self {
        OriginGuard {
            header: config.header.clone(),
            secret: RotatingSecret::new(source, config.refresh),
        }
    }

    /// [`Via::Cdn`] when the header matches the current or previous value,
    /// [`Via::Direct`] when it is absent (or empty); a 403 (detail
    /// [`MISMATCH`]) when it is wrong, a 503 when the secret cannot be read.
    pub async fn check(&self, headers: &HeaderMap) -> Result<Via, Refusal> {
        let presented = headers
            .get(&self.header)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if presented.is_empty() {
            return Ok(Via::Direct);
        }
        // Boxed: the secret's fetch is the SDK's deep future, which would
        // otherwise sit inline in every handler's (compile-time layout depth).
        match Box::pin(self.secret.check(presented)).await {
            Ok(Check::Accepted) => Ok(Via::Cdn),
            Ok(Check::Refused) => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "origin header does not match",
            )
            .detail(MISMATCH)),
            Err(e) => Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "origin_secret_unavailable",
                e.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{StaticSecret, Versions};

    fn guard() -> OriginGuard<StaticSecret> {
        let mut env = Env::from_pairs([("ORIGIN_SECRET", "s3cret")]);
        let config = env.origin_config_if_set().unwrap();
        env.finish().unwrap();
        OriginGuard::new(
            &config,
            StaticSecret(Versions::new("s3cret", Some("old".into()))),
        )
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-origin-verify", value.parse().unwrap());
        h
    }

    #[tokio::test]
    async fn the_header_says_how_a_request_came() {
        let g = guard();
        assert_eq!(g.check(&HeaderMap::new()).await.unwrap(), Via::Direct);
        assert_eq!(g.check(&with("s3cret")).await.unwrap(), Via::Cdn);
        assert_eq!(g.check(&with("old")).await.unwrap(), Via::Cdn);
        let r = g.check(&with("guess")).await.unwrap_err();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.code, "forbidden");
        assert_eq!(r.detail, Some(MISMATCH));
    }

    #[test]
    fn unset_is_none_and_half_set_is_a_problem() {
        let mut env = Env::from_pairs([("ORIGIN_HEADER", "X-Other")]);
        assert!(env.origin_config_if_set().is_none());
        let mut env = Env::from_pairs([("ORIGIN_SECRET", "a"), ("ORIGIN_SECRET_ARN", "b")]);
        env.origin_config_if_set();
        assert!(env.finish().is_err());
    }
}
