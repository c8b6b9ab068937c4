//! Wiring only: config and clients once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::{S3Objects, sdk, start};
use hlsgate_upload_api::{App, Config, S3Uploads, handle};
use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(started) = start::configure::<Config>().await else {
        return ExitCode::FAILURE;
    };
    let uploads = S3Uploads {
        client: sdk::s3_client(&started.sdk, started.config.aws.s3_path_style),
        bucket: started.config.upload_bucket.clone(),
    };
    let media: S3Objects = started.s3(&started.config.media_bucket);
    let init_us = started.init_us();
    let app = App::new(started.config, uploads, media);
    tracing::info!(
        init_us,
        bucket = %app.config.upload_bucket,
        prefix = %app.config.input_prefix,
        max_upload_bytes = app.config.max_upload_bytes,
        part_bytes = app.config.part_bytes,
        "ready"
    );
    let app = &app;
    start::exit(
        lambda_http::run(service_fn(|req: Request| async move {
            Ok::<_, Infallible>(handle(app, req).await)
        }))
        .await,
    )
}
