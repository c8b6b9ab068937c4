//! `hlsgate dev`: the whole system on this machine (see the hlsgate-dev crate).

use std::path::PathBuf;
use std::process::ExitCode;

use hlsgate_core::signing::Delivery;
use hlsgate_dev::DevError;
use hlsgate_dev::StreamLimit;
use hlsgate_dev::grants::DevEntitlement;
use hlsgate_signed_url_issuer::entitlement::Backend;

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
    /// Where the issuer's entitlement comes from: the dev claim rule
    /// (claims), a local grants table (dynamodb: dynalite, started here), or
    /// your own endpoint (webhook, with --entitlement-url).
    #[arg(long, value_parser = crate::choice::<Backend>(), default_value = "claims")]
    entitlement: Backend,
    /// With --entitlement dynamodb: a running DynamoDB-compatible server to
    /// use instead of starting dynalite.
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// With --entitlement webhook: the endpoint the issuer POSTs to.
    #[arg(long)]
    entitlement_url: Option<String>,
    /// With --entitlement webhook: the HMAC key it signs with (a fixed dev
    /// key when not given).
    #[arg(long, env = "HLSGATE_DEV_ENTITLEMENT_SECRET")]
    entitlement_secret: Option<String>,
    /// Uploads become AES-128 encrypted ladders (the jobs function's
    /// ENCRYPTION=aes-128): each job's key comes from the key provider over
    /// SPEKE, as in AWS; keys in the embedded S3 outside videos/, served by
    /// the rewriter's key route to the folder's signature.
    #[arg(long)]
    encrypt: bool,
    /// How long each signature lives (the issuer's SIGNATURE_SECONDS,
    /// default 300); the page renews it while it plays.
    #[arg(long, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    signature_seconds: Option<u64>,
    /// Active sessions per viewer (MAX_STREAMS; 0, the default, is no
    /// limit); sessions are then recorded in a table on dynalite.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=100))]
    max_streams: u16,
    /// Past --max-streams: refuse the new start (409), or end the oldest
    /// session at its next renewal.
    #[arg(long, value_parser = crate::choice::<StreamLimit>(), default_value = "refuse")]
    stream_limit: StreamLimit,
    /// The country the edge says the viewer is in (CloudFront-Viewer-Country,
    /// for the playback rules): an ISO 3166-1 alpha-2 code, or ZZ, CloudFront's
    /// unknown.
    #[arg(long, default_value = "ZZ", value_parser = viewer_country)]
    viewer_country: String,
}

fn viewer_country(s: &str) -> Result<String, String> {
    if s.eq_ignore_ascii_case(hlsgate_core::rules::UNKNOWN_COUNTRY_CODE) {
        return Ok(hlsgate_core::rules::UNKNOWN_COUNTRY_CODE.to_string());
    }
    s.parse::<hlsgate_core::rules::Country>()
        .map(|c| c.to_string())
}

/// The dev stack's entitlement from the flags; flags for another backend
/// are a usage error rather than silently ignored.
fn entitlement(args: &Args) -> Result<DevEntitlement, CliError> {
    let stray = |flag: &str| {
        Err(CliError::usage(format!(
            "{flag} needs --entitlement {}",
            if flag == "--dynamodb-endpoint" {
                "dynamodb"
            } else {
                "webhook"
            }
        )))
    };
    if args.entitlement != Backend::Dynamodb && args.dynamodb_endpoint.is_some() {
        return stray("--dynamodb-endpoint");
    }
    if args.entitlement != Backend::Webhook && args.entitlement_url.is_some() {
        return stray("--entitlement-url");
    }
    Ok(match args.entitlement {
        Backend::Claims => DevEntitlement::Claims,
        Backend::Dynamodb => DevEntitlement::Dynamodb {
            endpoint: args.dynamodb_endpoint.clone(),
        },
        Backend::Webhook => DevEntitlement::Webhook {
            url: args.entitlement_url.clone().ok_or_else(|| {
                CliError::usage("--entitlement webhook needs --entitlement-url URL")
            })?,
            secret: args.entitlement_secret.clone(),
        },
    })
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
    let entitlement = entitlement(&args)?;
    let opts = hlsgate_dev::Options {
        port: args.port,
        s3_port: args.s3_port,
        data: args.data,
        video: args.video,
        hlsjs: args.hlsjs,
        dev_token: args.dev_token,
        mode: args.mode,
        entitlement,
        encrypt: args.encrypt,
        signature_seconds: args.signature_seconds,
        max_streams: args.max_streams,
        stream_limit: args.stream_limit,
        viewer_country: args.viewer_country,
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
