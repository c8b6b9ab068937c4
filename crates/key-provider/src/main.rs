//! Wiring only: config and the media bucket once per cold start, then the
//! handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::start;
use hlsgate_key_provider::{App, Config, handle};
use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(started) = start::configure::<Config>().await else {
        return ExitCode::FAILURE;
    };
    let media = started.s3(&started.config.media_bucket);
    tracing::info!(
        init_us = started.init_us(),
        bucket = %started.config.media_bucket,
        keys_prefix = %started.config.keys_prefix,
        caller = %started.config.caller_role_arn,
        "ready"
    );
    let app = App {
        config: started.config,
        media,
    };
    let app = &app;
    start::exit(
        lambda_http::run(service_fn(|req: Request| async move {
            Ok::<_, Infallible>(handle(app, req).await)
        }))
        .await,
    )
}
