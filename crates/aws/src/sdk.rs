//! Loading the SDK configuration once, with time limits that fit under API
//! Gateway's 29-second integration timeout.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::env::Env;

/// How long one AWS call may take, and how often it is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// One attempt, including reading the response.
    pub attempt: Duration,
    /// All attempts together, backoff included.
    pub operation: Duration,
    /// Attempts in all (1 = no retries).
    pub max_attempts: u32,
}

/// How a function reaches AWS: the SDK's time limits and S3's addressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsSettings {
    pub timeouts: Timeouts,
    /// `S3_FORCE_PATH_STYLE`: path-style addressing, for local S3 servers.
    pub s3_path_style: bool,
}

impl AwsSettings {
    /// Reads the timeouts ([`Timeouts::from_env`]) and `S3_FORCE_PATH_STYLE`.
    pub fn from_env(env: &mut Env) -> AwsSettings {
        AwsSettings {
            timeouts: Timeouts::from_env(env),
            s3_path_style: env.flag("S3_FORCE_PATH_STYLE", false),
        }
    }
}

impl Timeouts {
    /// 1 s to connect, 3 s an attempt, 3 attempts, 8 s in all: a slow S3
    /// answer becomes a clean 503 long before API Gateway's 29 s cut-off.
    pub const DEFAULT: Timeouts = Timeouts {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(3),
        operation: Duration::from_secs(8),
        max_attempts: 3,
    };

    /// Reads `AWS_CONNECT_TIMEOUT_MS`, `AWS_ATTEMPT_TIMEOUT_MS`,
    /// `AWS_OPERATION_TIMEOUT_MS` (at most 25,000) and `AWS_MAX_ATTEMPTS` (1–5).
    pub fn from_env(env: &mut Env) -> Timeouts {
        let d = Timeouts::DEFAULT;
        let t = Timeouts {
            connect: env.millis("AWS_CONNECT_TIMEOUT_MS", d.connect, 50, 10_000),
            attempt: env.millis("AWS_ATTEMPT_TIMEOUT_MS", d.attempt, 100, 25_000),
            operation: env.millis("AWS_OPERATION_TIMEOUT_MS", d.operation, 100, 25_000),
            max_attempts: env.int_in("AWS_MAX_ATTEMPTS", 3, 1, 5) as u32,
        };
        if t.attempt > t.operation {
            env.problem("AWS_ATTEMPT_TIMEOUT_MS must not exceed AWS_OPERATION_TIMEOUT_MS");
        }
        t
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_secs(1))
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::DEFAULT
    }
}

/// The shared SDK configuration: region and credentials from the Lambda
/// environment (`AWS_ENDPOINT_URL` too, for a local S3), with `timeouts`.
///
/// In Lambda, region and credentials are plain environment variables. Taking
/// them straight from there skips building the profile and IMDS provider
/// chains, about 15 ms of every cold start; the precedence is the same as the
/// default chain's, where the environment comes first.
pub async fn load(timeouts: Timeouts) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts.timeout_config())
        .retry_config(timeouts.retry_config());
    if let Some(region) = std::env::var("AWS_REGION")
        .ok()
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
    {
        loader = loader.region(aws_config::Region::new(region));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    loader.load().await
}

/// An S3 client; `path_style` for local S3 servers that do not serve
/// bucket subdomains.
pub fn s3_client(sdk: &SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An S3 client on the SDK's usual chain (credentials, region, and
/// `AWS_ENDPOINT_URL_S3`), at `endpoint` when given: an S3-compatible
/// server, path-style. For the command line.
pub async fn s3_client_at(endpoint: Option<&str>, timeouts: Timeouts) -> aws_sdk_s3::Client {
    let sdk = load(timeouts).await;
    let mut conf = aws_sdk_s3::config::Builder::from(&sdk);
    if let Some(e) = endpoint {
        // Local S3 servers serve no bucket subdomains.
        conf = conf.endpoint_url(e).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(conf.build())
}

/// The region clients of a local S3 server use (any would do; it is signed).
pub const LOCAL_REGION: &str = "us-east-1";

/// An S3 client for a server that is not AWS (a local S3 on loopback):
/// path-style, fixed credentials, [`LOCAL_REGION`]; `timeouts` when given, else
/// the SDK's defaults.
pub fn endpoint_s3_client(
    endpoint: &str,
    credentials: aws_sdk_s3::config::Credentials,
    timeouts: Option<Timeouts>,
) -> aws_sdk_s3::Client {
    let mut conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(aws_config::Region::new(LOCAL_REGION))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .force_path_style(true);
    if let Some(t) = timeouts {
        conf = conf
            .timeout_config(t.timeout_config())
            .retry_config(t.retry_config());
    }
    aws_sdk_s3::Client::from_conf(conf.build())
}
