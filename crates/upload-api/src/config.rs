//! Configuration from the environment, read once per cold start; every
//! problem is listed at once. The upload settings the jobs function also
//! reads (`INPUT_BUCKET`, `INPUT_PREFIX`, `INPUT_EXTENSIONS`,
//! `STATUS_PREFIX`) are read by the same `Env` methods, so both agree.

use std::time::Duration;

use hlsgate_aws::metrics::Metrics;
use hlsgate_aws::sdk::AwsSettings;
use hlsgate_aws::viewer::PseudonymKey;
use hlsgate_aws::{ConfigError, Env};

/// The function's name in logs and metrics.
pub const FUNCTION: &str = "upload-api";

/// S3's smallest part (all but the last), its largest, and its most parts.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
pub const MAX_PARTS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct Config {
    /// The upload bucket (`INPUT_BUCKET`, required here).
    pub upload_bucket: String,
    /// `INPUT_PREFIX` (`uploads/`): every upload's key starts with it.
    pub input_prefix: String,
    /// `INPUT_EXTENSIONS`: the names taken, as the jobs function takes them.
    pub extensions: Vec<String>,
    /// Largest upload (`MAX_UPLOAD_BYTES`, 20 GiB).
    pub max_upload_bytes: u64,
    /// Part size (`UPLOAD_PART_BYTES`, 16 MiB; raised for a file that would
    /// need more than 10,000 parts).
    pub part_bytes: u64,
    /// How long a presigned part URL is valid (`UPLOAD_URL_SECONDS`, 900).
    pub url_ttl: Duration,
    /// Where the statuses are (`MEDIA_BUCKET`).
    pub media_bucket: String,
    /// `STATUS_PREFIX` (`status/`), outside `KEY_PREFIX`.
    pub status_prefix: String,
    /// `SUBJECT_CLAIM` (`sub`): who the caller is.
    pub subject_claim: String,
    /// `UPLOADER_CLAIM` (`cognito:groups`) holding one of `UPLOADER_VALUES`
    /// (required, e.g. `editors`) makes an uploader.
    pub uploader_claim: String,
    pub uploader_values: Vec<String>,
    /// `STATUS_READER_VALUES` (none): values of `UPLOADER_CLAIM` that may
    /// read every video's status (the platform's backend).
    pub status_reader_values: Vec<String>,
    /// The pseudonym key (`LOG_HASH_KEY_SECRET_ARN` or `LOG_HASH_KEY`):
    /// uploaders' pseudonyms in keys and logs.
    pub log_hash: PseudonymKey,
    /// `CORS_ALLOWED_ORIGINS`: the pages that upload.
    pub cors_origins: Vec<String>,
    pub metrics: Metrics,
    pub aws: AwsSettings,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from(Env::from_process())
    }

    pub fn from(mut env: Env) -> Result<Config, ConfigError> {
        let upload_bucket = env
            .required("INPUT_BUCKET", "the S3 bucket uploads go to")
            .unwrap_or_default();
        let input_prefix = env.input_prefix();
        let extensions = env.input_extensions();
        let max_upload_bytes = env.max_upload_bytes();
        let part_bytes = env.int_in(
            "UPLOAD_PART_BYTES",
            16 * 1024 * 1024,
            MIN_PART_BYTES,
            MAX_PART_BYTES,
        );
        let url_ttl = Duration::from_secs(env.int_in("UPLOAD_URL_SECONDS", 900, 60, 3600));
        let media_bucket = env
            .required("MEDIA_BUCKET", "the S3 bucket of the ladders and statuses")
            .unwrap_or_default();
        let key_prefix = env.key_prefix("KEY_PREFIX", "videos/");
        let status_prefix = env.status_prefix(&key_prefix);
        let subject_claim = hlsgate_aws::viewer::subject_claim(&env);
        let uploader_claim = env
            .optional("UPLOADER_CLAIM")
            .unwrap_or("cognito:groups")
            .to_string();
        let uploader_values = env.list("UPLOADER_VALUES");
        if uploader_values.is_empty() {
            env.problem(
                "UPLOADER_VALUES is required: the values of UPLOADER_CLAIM that make an uploader \
                 (e.g. editors)",
            );
        }
        let status_reader_values = env.list("STATUS_READER_VALUES");
        let log_hash = PseudonymKey::required(&mut env, "signs the upload handles");
        let cors_origins = env.origins("CORS_ALLOWED_ORIGINS");
        let metrics = Metrics::from_env(&mut env, FUNCTION);
        let aws = AwsSettings::from_env(&mut env);
        env.finish()?;
        Ok(Config {
            upload_bucket,
            input_prefix,
            extensions,
            max_upload_bytes,
            part_bytes,
            url_ttl,
            media_bucket,
            status_prefix,
            subject_claim,
            uploader_claim,
            uploader_values,
            status_reader_values,
            log_hash,
            cors_origins,
            metrics,
            aws,
        })
    }

    /// The part size for a file of `size` bytes: `UPLOAD_PART_BYTES`, or
    /// the smallest whole MiB that fits it in 10,000 parts.
    pub fn part_size(&self, size: u64) -> u64 {
        let mib = 1024 * 1024;
        let needed = size.div_ceil(MAX_PARTS).div_ceil(mib) * mib;
        self.part_bytes.max(needed)
    }
}

hlsgate_aws::function_config!(Config, log_hash);
