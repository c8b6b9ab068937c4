//! The function's configuration, read from the environment once at cold start.

use std::time::Duration;

use hlsgate_aws::cache::CacheLimits;
use hlsgate_aws::cache::Refresh;
use hlsgate_aws::env::{ConfigError, Env, MediaLocation};
use hlsgate_aws::metrics::Metrics;
use hlsgate_aws::origin::OriginConfig;
use hlsgate_aws::sdk::AwsSettings;
use hlsgate_aws::secret::{SecretLocation, SecretVars};
use hlsgate_aws::viewer::PseudonymKey;
use hlsgate_core::rules::UnknownCountry;
use hlsgate_core::signing::{Delivery, HashAlgorithm, ParamSuffix, SameSite};

use crate::entitlement::EntitlementConfig;
use crate::sessions::SessionsConfig;

/// Where the signing keys come from: `SIGNING_KEYS_SECRET_ARN`, or
/// `SIGNING_KEYS_FILE` / `SIGNING_KEYS` for local runs.
pub type KeysConfig = SecretLocation;

/// The variables of the signing keys.
pub const KEYS_VARS: SecretVars = SecretVars {
    secrets_manager: "SIGNING_KEYS_SECRET_ARN",
    file: Some("SIGNING_KEYS_FILE"),
    literal: "SIGNING_KEYS",
    what: r#"the Secrets Manager secret holding {"keys":[{"id","private_key","active"}]}"#,
};

/// The function's name in logs and metrics.
pub const FUNCTION: &str = "signed-url-issuer";

/// Signed-cookie attributes. Cookie mode needs cookies the browser sends
/// to the CDN: either `COOKIE_DOMAIN`, a parent of both the API's and the
/// CDN's hosts, or `HOST_ONLY_COOKIES`, for an issuer served on the CDN's
/// own host (the distribution's `/playback/*` behaviour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// `COOKIE_DOMAIN`: a parent domain of both the API and the CDN
    /// (`example.com` for `api.example.com` and `cdn.example.com`); `None`
    /// for host-only cookies (`HOST_ONLY_COOKIES=true`), which are issued
    /// only to requests that came through the distribution.
    pub domain: Option<String>,
    /// `COOKIE_SAMESITE`: `lax` (default), `strict` or `none`.
    pub same_site: SameSite,
}

/// How long a signature lives with `SIGNATURE_SECONDS=duration`:
/// `clamp(duration × factor + margin, min, max)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TtlPolicy {
    /// `TTL_DURATION_FACTOR` (default 1.5): room to pause and seek back.
    pub factor: f64,
    /// `TTL_MARGIN_SECONDS` (default 300): start-up, buffering, clock skew.
    pub margin: u64,
    /// `TTL_MIN_SECONDS` (default 900): a short clip can still be replayed.
    pub min: u64,
    /// `TTL_MAX_SECONDS` (default 21,600, 6 h): the most a leaked URL is
    /// worth; also used when the duration is unknown.
    pub max: u64,
}

impl TtlPolicy {
    pub const DEFAULT: TtlPolicy = TtlPolicy {
        factor: 1.5,
        margin: 300,
        min: 900,
        max: 21_600,
    };

    /// Seconds a signature for a video of `duration` seconds lives.
    pub fn seconds(&self, duration: Option<f64>) -> u64 {
        let Some(d) = duration.filter(|d| d.is_finite() && *d >= 0.0) else {
            return self.max;
        };
        let want = (d * self.factor).ceil() + self.margin as f64;
        // `as` saturates: a huge duration becomes u64::MAX, then max.
        (want as u64).clamp(self.min, self.max)
    }
}

/// Everything the handler needs besides its clients.
#[derive(Debug)]
pub struct Config {
    /// The bucket holding the HLS output (`MEDIA_BUCKET`).
    pub bucket: String,
    /// Video folders are `KEY_PREFIX` + id + `/` (default `videos/`), in
    /// the bucket and on the CDN alike.
    pub key_prefix: String,
    /// `https://CDN_DOMAIN`.
    pub public_origin: String,
    pub keys: KeysConfig,
    /// `SIGNING_KEYS_TTL_SECONDS` (default 300): how soon a rotation in
    /// Secrets Manager is picked up.
    pub keys_refresh: Refresh,
    /// `SIGNING_HASH`: `SHA256` (default) or `SHA1`.
    pub hash: HashAlgorithm,
    /// Suffix of the forwarded copy (`PARAM_SUFFIX`, default `-PREFIX`);
    /// must match the rewriter's.
    pub suffix: ParamSuffix,
    /// `DEFAULT_MODE`: `url` (default) or `cookies`; `?mode=` overrides.
    pub default_mode: Delivery,
    pub cookies: Option<CookieConfig>,
    /// `SIGNATURE_SECONDS`, `SESSION_GRACE_SECONDS`, `MAX_STREAMS`,
    /// `STREAM_LIMIT`, `SESSIONS_TABLE` (and the `TTL_*` rule for
    /// `SIGNATURE_SECONDS=duration`).
    pub sessions: SessionsConfig,
    /// `BIND_VIEWER_IP`: bind signatures to the viewer's IPv4 address.
    pub bind_ip: bool,
    /// `ENTITLEMENT` and its settings.
    pub entitlement: EntitlementConfig,
    /// `SUBJECT_CLAIM` (default `sub`): the claim naming the viewer.
    pub subject_claim: String,
    /// `LOG_HASH_KEY_SECRET_ARN` or `LOG_HASH_KEY` (required): key of the
    /// HMAC that pseudonymises subjects in logs, and from which the
    /// sessions' MAC key is derived.
    pub log_hash: PseudonymKey,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins, or `*` (URL mode only).
    pub cors_origins: Vec<String>,
    /// `RULES_PREFIX` (`rules/`): each video's playback rules
    /// (`docs/playback-rules.md`), outside `KEY_PREFIX`.
    pub rules_prefix: String,
    /// `UNKNOWN_COUNTRY` (`refuse`): what a viewer whose country is not
    /// known gets where a country rule exists.
    pub unknown_country: UnknownCountry,
    /// `CACHE_TTL_SECONDS` (default 10): how long a `playback.json` (and a
    /// video's rules, or their absence) is reused.
    pub cache: CacheLimits,
    /// The origin secret (`ORIGIN_SECRET_ARN`, `ORIGIN_HEADER`), when the
    /// issuer is also served through the distribution: a request carrying
    /// the matching header came through CloudFront, so its
    /// `CloudFront-Viewer-Address` is the viewer's and host-only cookies
    /// land on the CDN's host. A wrong value is a 403.
    pub origin: Option<OriginConfig>,
    /// `METRICS_NAMESPACE` (default `hlsgate`).
    pub metrics: Metrics,
    pub aws: AwsSettings,
}

impl Config {
    /// Reads `env`; every problem is reported at once.
    pub fn from(mut env: Env) -> Result<Config, ConfigError> {
        let MediaLocation {
            bucket,
            key_prefix,
            public_origin,
        } = env.media_location();
        let keys = env.secret_location(KEYS_VARS);
        let keys_refresh = Refresh {
            ttl: Duration::from_secs(env.int_in("SIGNING_KEYS_TTL_SECONDS", 300, 1, 86_400)),
            ..Refresh::DEFAULT
        };
        let hash = env.choice("SIGNING_HASH", HashAlgorithm::Sha256);
        let suffix = env.parse_or("PARAM_SUFFIX", ParamSuffix::default());
        let default_mode = env.choice("DEFAULT_MODE", Delivery::Url);
        let same_site = env.choice("COOKIE_SAMESITE", SameSite::Lax);
        let host_only = env.flag("HOST_ONLY_COOKIES", false);
        let origin = env.origin_config_if_set();
        let domain = env
            .optional("COOKIE_DOMAIN")
            .map(str::to_string)
            .and_then(|d| {
                let d = d.trim_start_matches('.').to_ascii_lowercase();
                let ok = d.contains('.')
                    && d.split('.').all(|l| {
                        !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
                if ok {
                    Some(d)
                } else {
                    env.problem(format!(
                        "COOKIE_DOMAIN={d:?}: expected a domain like example.com"
                    ));
                    None
                }
            });
        if let Some(d) = &domain {
            let authority = public_origin.split_once("://").map_or("", |(_, a)| a);
            let host = authority.split(':').next().unwrap_or(authority);
            if !public_origin.is_empty() && host != d && !host.ends_with(&format!(".{d}")) {
                env.problem(format!(
                    "COOKIE_DOMAIN={d:?} does not cover the CDN host {host:?}: browsers would never \
                     send the cookies to CloudFront (use an alternate domain name on the \
                     distribution, like cdn.example.com with COOKIE_DOMAIN=example.com, or \
                     serve the issuer through the distribution with HOST_ONLY_COOKIES=true)"
                ));
            }
        }
        if host_only && domain.is_some() {
            env.problem("set COOKIE_DOMAIN or HOST_ONLY_COOKIES=true, not both");
        }
        if host_only && origin.is_none() {
            env.problem(
                "HOST_ONLY_COOKIES=true needs ORIGIN_SECRET_ARN: host-only cookies are issued only \
                 to requests that came through the distribution, which the origin secret proves",
            );
        }
        let cookies = (host_only || domain.is_some()).then(|| CookieConfig {
            domain: domain.clone(),
            same_site,
        });
        if default_mode == Delivery::Cookies && cookies.is_none() {
            env.problem(
                "DEFAULT_MODE=cookies needs COOKIE_DOMAIN (a parent domain of the API and the CDN) \
                 or HOST_ONLY_COOKIES=true (the issuer served through the distribution)",
            );
        }
        let sessions = SessionsConfig::from_env(&mut env, ttl_policy);
        let bind_ip = env.flag("BIND_VIEWER_IP", false);
        let entitlement = EntitlementConfig::from_env(&mut env);
        let subject_claim = hlsgate_aws::viewer::subject_claim(&env);
        let log_hash =
            PseudonymKey::required(&mut env, "keys the playback sessions' ids and end tokens");
        let cors_origins = env.origins("CORS_ALLOWED_ORIGINS");
        if domain.is_some() && cors_origins.iter().any(|o| o == "*") {
            env.problem(
                "CORS_ALLOWED_ORIGINS=* cannot be used with COOKIE_DOMAIN: browsers refuse \
                 credentials for any origin; list the player's origins",
            );
        }
        let rules_prefix = env.rules_prefix(&key_prefix);
        let unknown_country = env.choice("UNKNOWN_COUNTRY", UnknownCountry::Refuse);
        let cache = CacheLimits {
            ttl: Duration::from_secs(env.int_in("CACHE_TTL_SECONDS", 10, 0, 3600)),
            ..CacheLimits::DEFAULT
        };
        let metrics = Metrics::from_env(&mut env, FUNCTION);
        let aws = AwsSettings::from_env(&mut env);
        env.finish()?;
        Ok(Config {
            bucket,
            key_prefix,
            public_origin,
            keys,
            keys_refresh,
            hash,
            suffix,
            default_mode,
            cookies,
            sessions,
            bind_ip,
            entitlement,
            subject_claim,
            log_hash,
            cors_origins,
            rules_prefix,
            unknown_country,
            cache,
            origin,
            metrics,
            aws,
        })
    }

    /// `videos/abc/`: the video's folder in the bucket.
    pub fn folder_key(&self, id: &str) -> String {
        hlsgate_core::video::folder_key(&self.key_prefix, id)
    }

    /// `https://cdn/videos/abc/`: the video's folder on the CDN.
    pub fn folder_url(&self, id: &str) -> String {
        format!("{}/{}", self.public_origin, self.folder_key(id))
    }
}

fn ttl_policy(env: &mut Env) -> TtlPolicy {
    let d = TtlPolicy::DEFAULT;
    let factor = env.parse_with("TTL_DURATION_FACTOR", d.factor, |s| {
        s.parse::<f64>()
            .ok()
            .filter(|f| (1.0..=10.0).contains(f))
            .ok_or_else(|| "expected a number from 1 to 10".to_string())
    });
    // CloudFront accepts any expiry, but a signature for more than a week is
    // a leaked URL's best friend.
    let week = 7 * 86_400;
    let margin = env.int_in("TTL_MARGIN_SECONDS", d.margin, 0, week);
    let min = env.int_in("TTL_MIN_SECONDS", d.min, 60, week);
    let max = env.int_in("TTL_MAX_SECONDS", d.max, 60, week);
    if min > max {
        env.problem(format!(
            "TTL_MIN_SECONDS ({min}) is greater than TTL_MAX_SECONDS ({max})"
        ));
    }
    TtlPolicy {
        factor,
        margin,
        min,
        max,
    }
}

hlsgate_aws::function_config!(Config, log_hash);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped_and_unknown_durations_get_the_max() {
        let p = TtlPolicy::DEFAULT;
        // A 2 h film: 2 h × 1.5 + 5 min.
        assert_eq!(p.seconds(Some(7200.0)), 11_100);
        // A 30 s clip gets the minimum.
        assert_eq!(p.seconds(Some(30.0)), 900);
        // A 5 h recording is capped.
        assert_eq!(p.seconds(Some(18_000.0)), 21_600);
        assert_eq!(p.seconds(None), 21_600);
        assert_eq!(p.seconds(Some(f64::NAN)), 21_600);
        assert_eq!(p.seconds(Some(1e300)), 21_600);
        // Fractions round up, never cutting the last second.
        assert_eq!(p.seconds(Some(1000.1)), 1801);
    }
}
