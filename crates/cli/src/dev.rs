//! `hlsgate dev`: the whole system on this machine (see the hlsgate-dev crate).

use std::path::PathBuf;
use std::process::ExitCode;

use hlsgate_core::signing::Delivery;
use hlsgate_dev::DevError;

use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port of the player, issuer, edge and uploads on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Port of the embedded S3 (default: the next one; any free one with --port 0).
    #[arg(long)]
    s3_port: Option<u16>,
    /// Folder for the buckets, the dev keys and the origin secret (made on first start).
    #[arg(long, default_value = ".hlsgate")]
    data: PathBuf,
    /// A video to upload at start (needs ffmpeg).
    #[arg(long)]
    video: Option<PathBuf>,
    /// A local hls.js (hls.min.js) for the player, instead of the CDN copy.
    #[arg(long)]
    hlsjs: Option<PathBuf>,
    /// The dev bearer token (at least 16 characters); random when not given.
    #[arg(long, env = "HLSGATE_DEV_TOKEN")]
    dev_token: Option<String>,
    /// What the issuer hands out unless the request says ?mode=: a signed
    /// manifest URL (url) or signed cookies for the video's folder (cookies).
    #[arg(long, value_parser = crate::choice::<Delivery>(), default_value = "url")]
    mode: Delivery,
}

pub fn run(args: Args) -> Outcome {
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .compact()
            .with_target(false)
            .with_writer(std::io::stderr)
            .with_env_filter(hlsgate_aws::telemetry::filter(
                "info,aws_config=warn,aws_smithy_runtime=warn,s3s=warn",
            ))
            .finish(),
    );
    let opts = hlsgate_dev::Options {
        port: args.port,
        s3_port: args.s3_port,
        data: args.data,
        video: args.video,
        hlsjs: args.hlsjs,
        dev_token: args.dev_token,
        mode: args.mode,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the runtime"))?;
    runtime
        .block_on(hlsgate_dev::run(opts))
        .map_err(|e| match e {
            DevError::Usage(m) => CliError::Usage(m),
            other => CliError::Environment(other.to_string()),
        })?;
    Ok(ExitCode::SUCCESS)
}
