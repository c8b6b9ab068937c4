//! Wiring only: config and clients once per cold start, then the handler.

use std::process::ExitCode;

use hlsgate_aws::start;
use hlsgate_mediaconvert_jobs::{App, Config, MediaConvert, SnsNotifier, handle};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(started) = start::configure::<Config>().await else {
        return ExitCode::FAILURE;
    };
    let media = started.s3(&started.config.media_bucket);
    // The upload bucket is named by each event; one client reads any.
    let uploads = hlsgate_aws::sdk::s3_client(&started.sdk, started.config.aws.s3_path_style);
    let (config, sdk_config) = (&started.config, &started.sdk);
    // The regional endpoint (mediaconvert.REGION.amazonaws.com) is the SDK's
    // default; DescribeEndpoints is deprecated and never called.
    let mut mc_config = aws_sdk_mediaconvert::config::Builder::from(sdk_config);
    mc_config.set_endpoint_url(config.endpoint.clone());
    let mc_config = mc_config.build();
    let transcoder = MediaConvert::new(aws_sdk_mediaconvert::Client::from_conf(mc_config), config);
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(sdk_config), &config.topic_arn);
    tracing::info!(
        init_us = started.init_us(),
        stack = %config.stack,
        input_prefix = %config.input_prefix,
        media_bucket = %config.media_bucket,
        encoding = ?config.ladder,
        "ready"
    );
    let app = App {
        config: started.config,
        transcoder,
        notifier,
        media,
        uploads,
    };
    let app = &app;
    let result = lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        handle(app, &event.payload).await
    }))
    .await;
    start::exit(result)
}
