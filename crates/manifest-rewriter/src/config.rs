//! The function's configuration, read from the environment once at cold start.

use std::time::Duration;

use hlsgate_aws::cache::CacheLimits;
use hlsgate_aws::env::{ConfigError, Env, MediaLocation};
use hlsgate_aws::metrics::Metrics;
use hlsgate_aws::origin::OriginConfig;
use hlsgate_aws::sdk::AwsSettings;
use hlsgate_aws::secret::SecretLocation;
use hlsgate_core::signing::{Delivery, KeyGroup, ParamSuffix};
use http::HeaderName;

/// Where the origin secret comes from: `ORIGIN_SECRET_ARN`, or
/// `ORIGIN_SECRET` for local runs.
pub type SecretConfig = SecretLocation;

/// The function's name in logs and metrics.
pub const FUNCTION: &str = "manifest-rewriter";

/// Everything the handler needs besides its clients.
#[derive(Debug)]
pub struct Config {
    /// The bucket holding the HLS output (`MEDIA_BUCKET`).
    pub bucket: String,
    /// Keys served, and public paths, start with this (`KEY_PREFIX`,
    /// default `videos/`). The CDN path of an object is its key.
    pub key_prefix: String,
    /// `KEYS_PREFIX` (default `keys/`): where encrypted ladders' keys are
    /// stored, outside `KEY_PREFIX`; served at `KEY_PREFIX/ID/hls.key`.
    pub keys_prefix: String,
    /// `https://CDN_DOMAIN` (or the value itself when it has a scheme, for
    /// local stacks): the origin of the public playlist URLs. Empty when
    /// `PUBLIC_ORIGIN_HEADER` brings it with each request.
    pub public_origin: String,
    /// `PUBLIC_ORIGIN_HEADER`: a header holding the public origin
    /// (`https://d111.cloudfront.net`), set by the distribution's
    /// viewer-request function from the viewer's `Host`. Behind a Function
    /// URL the distribution's domain is not known when the function is
    /// created; a request with the header uses it, one without falls back
    /// to `CDN_DOMAIN` (one of the two is required).
    pub public_origin_header: Option<HeaderName>,
    /// The origin secret: `ORIGIN_HEADER` (default `X-Origin-Verify`),
    /// `ORIGIN_SECRET_ARN`, `ORIGIN_SECRET_TTL_SECONDS` (default 300).
    pub origin: OriginConfig,
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
    /// `METRICS_NAMESPACE` (default `hlsgate`).
    pub metrics: Metrics,
    pub aws: AwsSettings,
}

impl Config {
    /// Reads `env`; every problem is reported at once.
    pub fn from(mut env: Env) -> Result<Config, ConfigError> {
        let public_origin_header = env
            .optional("PUBLIC_ORIGIN_HEADER")
            .map(str::to_string)
            .and_then(|h| match HeaderName::try_from(h.as_str()) {
                Ok(name) => Some(name),
                Err(_) => {
                    env.problem(format!(
                        "PUBLIC_ORIGIN_HEADER={h:?}: not a valid header name"
                    ));
                    None
                }
            });
        let media: MediaLocation = env.media_location_with(public_origin_header.is_none());
        let keys_prefix = env.keys_prefix(&media.key_prefix);
        let origin = env.origin_config();
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
        let metrics = Metrics::from_env(&mut env, FUNCTION);
        let aws = AwsSettings::from_env(&mut env);
        env.finish()?;
        Ok(Config {
            bucket: media.bucket,
            key_prefix: media.key_prefix,
            keys_prefix,
            public_origin: media.public_origin,
            public_origin_header,
            origin,
            key_group,
            suffix,
            mode,
            max_playlist_bytes,
            max_uris,
            cache,
            cors_origins,
            compress_min_bytes,
            metrics,
            aws,
        })
    }
}

hlsgate_aws::function_config!(Config);
