//! Wiring only: config and clients once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::secret::Secret;
use hlsgate_aws::{S3Objects, sdk, start};
use hlsgate_manifest_rewriter::{App, Config, handle, system_clock};
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
    let secret = Secret::new(
        "the origin secret",
        config.origin_secret.clone(),
        &sdk_config,
    );
    tracing::info!(
        init_us = started.elapsed().as_micros() as u64,
        bucket = %config.bucket,
        mode = %config.mode,
        "ready"
    );
    let app = &App::new(config, objects, secret, system_clock());
    let result = lambda_http::run(service_fn(|req: Request| async move {
        Ok::<_, Infallible>(handle(app, req).await)
    }))
    .await;
    start::exit(result)
}
