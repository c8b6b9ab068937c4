//! Wiring only: config, clients and keys once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::secret::Secret;
use hlsgate_aws::{S3Objects, sdk, start};
use hlsgate_signed_url_issuer::entitlement::Entitlements;
use hlsgate_signed_url_issuer::{App, Config, handle, system_clock};
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
    let keys = Secret::new("the signing keys", config.keys.clone(), &sdk_config);
    let entitlement = Entitlements::new(&config);
    let app = App::new(config, objects, keys, entitlement, system_clock());
    start::exit(run(app, started).await)
}

async fn run(
    app: App<S3Objects, Secret, Entitlements>,
    started: std::time::Instant,
) -> Result<(), lambda_http::Error> {
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
