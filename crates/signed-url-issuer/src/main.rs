//! Wiring only: config, clients and keys once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::secret::SecretsManagerSecret;
use hlsgate_aws::{S3Objects, sdk, start};
use hlsgate_signed_url_issuer::config::KeysConfig;
use hlsgate_signed_url_issuer::entitlement::Entitlement;
use hlsgate_signed_url_issuer::keys::{FileKeys, KeySource, StaticKeys};
use hlsgate_signed_url_issuer::{App, Config, handle, system_clock};
use lambda_http::{Request, service_fn};
use secrecy::SecretString;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let Some(config) = start::configure(Config::from_env) else {
        return ExitCode::FAILURE;
    };
    let sdk_config = sdk::load(config.timeouts).await;
    let objects = S3Objects::new(
        sdk::s3_client(&sdk_config, config.s3_path_style),
        config.bucket.clone(),
    );
    // Claims-based entitlement; a database-backed one is another
    // `Entitlement` passed here (see entitlement.rs).
    let entitlement = config.entitlement.clone();
    let result = match config.keys.clone() {
        KeysConfig::SecretsManager(id) => {
            let client = aws_sdk_secretsmanager::Client::new(&sdk_config);
            let keys = SecretsManagerSecret::new(client, id);
            start(config, objects, keys, entitlement, started).await
        }
        KeysConfig::File(path) => {
            tracing::warn!("SIGNING_KEYS_FILE is set: a key file is for local runs only");
            start(config, objects, FileKeys(path), entitlement, started).await
        }
        KeysConfig::Literal(json) => {
            tracing::warn!("SIGNING_KEYS is set: keys in the environment are for local runs only");
            let keys = StaticKeys(SecretString::from(json));
            start(config, objects, keys, entitlement, started).await
        }
    };
    start::exit(result)
}

/// Loads the keys (a bad secret stops the start), then serves.
async fn start<K: KeySource, E: Entitlement>(
    config: Config,
    objects: S3Objects,
    keys: K,
    entitlement: E,
    started: std::time::Instant,
) -> Result<(), lambda_http::Error> {
    let app = App::new(config, objects, keys, entitlement, system_clock());
    let loaded = app.keys.current().await?;
    tracing::info!(
        init_us = started.elapsed().as_micros() as u64,
        bucket = %app.config.bucket,
        default_mode = app.config.default_mode.as_str(),
        cookies = app.config.cookies.is_some(),
        key_ids = ?loaded.ids(),
        active_key = %loaded.signer().key_pair_id(),
        hash = %app.config.hash,
        "ready"
    );
    let app = &app;
    lambda_http::run(service_fn(|req: Request| async move {
        Ok::<_, Infallible>(handle(app, req).await)
    }))
    .await
}
