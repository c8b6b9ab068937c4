//! The function's configuration, read from the environment once at cold start.

use std::time::Duration;

use hlsgate_aws::cache::CacheLimits;
use hlsgate_aws::cache::Refresh;
use hlsgate_aws::env::{ConfigError, Env, MediaLocation};
use hlsgate_aws::sdk::AwsSettings;
use hlsgate_aws::secret::{SecretLocation, SecretVars};
use hlsgate_core::signing::{Delivery, KeyGroup, ParamSuffix};
use http::HeaderName;

/// Where the origin secret comes from: `ORIGIN_SECRET_ARN`, or
/// `ORIGIN_SECRET` for local runs.
pub type SecretConfig = SecretLocation;

/// The variables of the origin secret.
pub const ORIGIN_SECRET_VARS: SecretVars = SecretVars {
    secrets_manager: "ORIGIN_SECRET_ARN",
    file: None,
    literal: "ORIGIN_SECRET",
    what: "the Secrets Manager secret CloudFront sends as the origin header",
};

/// Everything the handler needs besides its clients.
#[derive(Debug)]
pub struct Config {
    /// The bucket holding the HLS output (`MEDIA_BUCKET`).
    pub bucket: String,
    /// Keys served, and public paths, start with this (`KEY_PREFIX`,
    /// default `videos/`). The CDN path of an object is its key.
    pub key_prefix: String,
    /// `https://CDN_DOMAIN` (or the value itself when it has a scheme, for
    /// local stacks): the origin of the public playlist URLs.
    pub public_origin: String,
    /// The header CloudFront adds (`ORIGIN_HEADER`, default `X-Origin-Verify`).
    pub origin_header: HeaderName,
    pub origin_secret: SecretConfig,
    /// `ORIGIN_SECRET_TTL_SECONDS` (default 300).
    pub secret_refresh: Refresh,
    /// The key group's public keys (`PUBLIC_KEYS`).
    pub key_group: KeyGroup,
    /// Suffix of the forwarded copy (`PARAM_SUFFIX`, default `-PREFIX`).
    pub suffix: ParamSuffix,
    /// `AUTH_MODE`: `url` (default) or `cookies`. With cookies, a request
    /// without the forwarded copy must carry the signed `CloudFront-*`
    /// cookies (forwarded by the origin request policy), verified here as
    /// the copy is; it then gets the playlist as stored.
    pub mode: Delivery,
    /// Largest playlist read from S3 (`MAX_PLAYLIST_BYTES`, default 8 MiB).
    pub max_playlist_bytes: u64,
    /// Most URIs signed in one playlist (`MAX_URIS`, default 100,000).
    pub max_uris: usize,
    /// `CACHE_TTL_SECONDS` (default 10; 0 turns the cache off) and
    /// `CACHE_MAX_BYTES` (default 32 MiB).
    pub cache: CacheLimits,
    /// Origins whose browsers may read the playlists (`CORS_ALLOWED_ORIGINS`,
    /// comma-separated; `*` for any).
    pub cors_origins: Vec<String>,
    /// Bodies at least this large are compressed when the client accepts it
    /// (`COMPRESS_MIN_BYTES`, default 4096).
    pub compress_min_bytes: usize,
    pub aws: AwsSettings,
}

impl Config {
    /// Reads `env`; every problem is reported at once.
    pub fn from(mut env: Env) -> Result<Config, ConfigError> {
        let media: MediaLocation = env.media_location();
        let origin_header = env.parse_with(
            "ORIGIN_HEADER",
            HeaderName::from_static("x-origin-verify"),
            |h| HeaderName::try_from(h).map_err(|_| "not a valid header name".to_string()),
        );
        let origin_secret = env.secret_location(ORIGIN_SECRET_VARS);
        let secret_refresh = Refresh {
            ttl: Duration::from_secs(env.int_in("ORIGIN_SECRET_TTL_SECONDS", 300, 1, 86_400)),
            ..Refresh::DEFAULT
        };
        let key_group = match env.required(
            "PUBLIC_KEYS",
            r#"the key group's public keys, as JSON {"K2JCJMDEHXQW5F": "-----BEGIN PUBLIC KEY-----…"}"#,
        ) {
            Some(json) => KeyGroup::from_json(&json).unwrap_or_else(|e| {
                env.problem(format!("PUBLIC_KEYS: {e}"));
                KeyGroup::new()
            }),
            None => KeyGroup::new(),
        };
        let suffix = env.parse_or("PARAM_SUFFIX", ParamSuffix::default());
        let mode = env.choice("AUTH_MODE", Delivery::Url);
        let max_playlist_bytes = env.int_in("MAX_PLAYLIST_BYTES", 8 << 20, 1024, 64 << 20);
        let max_uris = env.int_in("MAX_URIS", 100_000, 1, 1_000_000) as usize;
        let cache = CacheLimits {
            ttl: Duration::from_secs(env.int_in("CACHE_TTL_SECONDS", 10, 0, 3600)),
            max_bytes: env.int_in("CACHE_MAX_BYTES", 32 << 20, 0, 1 << 30) as usize,
            ..CacheLimits::DEFAULT
        };
        let cors_origins = env.origins("CORS_ALLOWED_ORIGINS");
        let compress_min_bytes = env.int_in("COMPRESS_MIN_BYTES", 4096, 0, 1 << 30) as usize;
        let aws = AwsSettings::from_env(&mut env);
        env.finish()?;
        Ok(Config {
            bucket: media.bucket,
            key_prefix: media.key_prefix,
            public_origin: media.public_origin,
            origin_header,
            origin_secret,
            secret_refresh,
            key_group,
            suffix,
            mode,
            max_playlist_bytes,
            max_uris,
            cache,
            cors_origins,
            compress_min_bytes,
            aws,
        })
    }
}

hlsgate_aws::function_config!(Config);
