//! Wiring only: config and clients once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::secret::{SecretSource, SecretsManagerSecret, StaticSecret, Versions};
use hlsgate_aws::{S3Objects, sdk, start};
use hlsgate_manifest_rewriter::{App, Config, SecretConfig, handle, system_clock};
use lambda_http::{Request, service_fn};

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
    let clock = system_clock();
    tracing::info!(
        init_us = started.elapsed().as_micros() as u64,
        bucket = %config.bucket,
        mode = ?config.mode,
        "ready"
    );
    let result = match config.origin_secret.clone() {
        SecretConfig::SecretsManager(id) => {
            let client = aws_sdk_secretsmanager::Client::new(&sdk_config);
            run(App::new(
                config,
                objects,
                SecretsManagerSecret::new(client, id),
                clock,
            ))
            .await
        }
        SecretConfig::Literal(v) => {
            tracing::warn!("ORIGIN_SECRET is set: a literal origin secret is for local runs only");
            run(App::new(
                config,
                objects,
                StaticSecret(Versions::new(v, None)),
                clock,
            ))
            .await
        }
    };
    start::exit(result)
}

async fn run<O: SecretSource>(app: App<S3Objects, O>) -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(|req: Request| {
        let app = &app;
        async move { Ok::<_, Infallible>(handle(app, req).await) }
    }))
    .await
}
