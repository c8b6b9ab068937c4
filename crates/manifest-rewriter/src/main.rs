//! Wiring only: config and clients once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::secret::Secret;
use hlsgate_aws::start;
use hlsgate_manifest_rewriter::{App, Config, handle, system_clock};
use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(started) = start::configure::<Config>().await else {
        return ExitCode::FAILURE;
    };
    let objects = started.s3(&started.config.bucket);
    let secret = Secret::new(
        "the origin secret",
        started.config.origin.secret.clone(),
        &started.sdk,
    );
    tracing::info!(
        init_us = started.init_us(),
        bucket = %started.config.bucket,
        mode = %started.config.mode,
        "ready"
    );
    let app = &App::new(started.config, objects, secret, system_clock());
    let result = lambda_http::run(service_fn(|req: Request| async move {
        Ok::<_, Infallible>(handle(app, req).await)
    }))
    .await;
    start::exit(result)
}
