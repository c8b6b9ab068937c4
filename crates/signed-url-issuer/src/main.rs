//! Wiring only: config, clients and keys once per cold start, then the handler.

use std::convert::Infallible;
use std::process::ExitCode;

use hlsgate_aws::secret::Secret;
use hlsgate_aws::{S3Objects, start};
use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::Entitlements;
use hlsgate_signed_url_issuer::sessions::table::SessionsTable;
use hlsgate_signed_url_issuer::{App, Config, handle, system_clock};
use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(started) = start::configure::<Config>().await else {
        return ExitCode::FAILURE;
    };
    let objects = started.s3(&started.config.bucket);
    let keys = Secret::new(
        "the signing keys",
        started.config.keys.clone(),
        &started.sdk,
    );
    let entitlement = match Entitlements::connect(&started.config.entitlement, &started.sdk).await {
        Ok(e) => e,
        Err(e) => return start::exit(Err(e)),
    };
    let origin = started
        .config
        .origin
        .as_ref()
        .map(|o| Secret::new("the origin secret", o.secret.clone(), &started.sdk));
    let sessions = match &started.config.sessions.table {
        Some(name) => {
            let table = SessionsTable::new(
                dynamo::client(&started.sdk, started.config.entitlement.timeout),
                name.clone(),
            );
            if let Err(e) = table.probe().await {
                return start::exit(Err(e.message));
            }
            Some(table)
        }
        None => None,
    };
    let init_us = started.init_us();
    let mut app = App::new(started.config, objects, keys, entitlement, system_clock());
    if let Some(table) = sessions {
        app = app.with_sessions_table(table);
    }
    if let Some(origin) = origin {
        app = app.with_origin(origin);
    }
    start::exit(run(app, init_us).await)
}

async fn run(
    app: App<S3Objects, Secret, Entitlements>,
    init_us: u64,
) -> Result<(), lambda_http::Error> {
    let loaded = app.keys.current().await?;
    tracing::info!(
        init_us,
        bucket = %app.config.bucket,
        default_mode = app.config.default_mode.as_str(),
        cookies = app.config.cookies.as_ref().map(|c| c.domain.as_deref().unwrap_or("host-only")),
        through_cdn = app.origin.is_some(),
        key_ids = ?loaded.ids(),
        active_key = %loaded.signer().key_pair_id(),
        hash = %app.config.hash,
        entitlement = <&str>::from(app.config.entitlement.backend),
        sessions = app.sessions.store_name(),
        signature_seconds = app.config.sessions.signature.longest(),
        max_streams = app.config.sessions.max_streams,
        "ready"
    );
    let app = &app;
    lambda_http::run(service_fn(|req: Request| async move {
        Ok::<_, Infallible>(handle(app, req).await)
    }))
    .await
}
