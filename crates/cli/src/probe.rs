//! `hlsgate probe`: prove a live deployment from outside (the
//! hlsgate-probe crate; docs/probe.md). Exit 0 every check passed, 1 a
//! check failed, 2 usage, 3 the issuer could not be reached.

use std::process::ExitCode;
use std::time::Duration;

use hlsgate_core::signing::{Delivery, KeySize};
use hlsgate_core::video::VideoId;
use hlsgate_probe::{Options, Segments, Token};

use crate::error::EXIT_REFUSED;
use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issuer's origin as players reach it: the distribution
    /// (https://d111.cloudfront.net, or your alternate domain).
    #[arg(long)]
    issuer: String,
    /// The video to play (a ready one). Given twice, the second is a
    /// folder the first one's signature must not open (else a made-up one).
    #[arg(long, required = true, num_args = 1)]
    video: Vec<String>,
    /// A viewer's bearer token, entitled to the video. Prefer the
    /// environment variable: arguments show in the process list.
    #[arg(long, env = "HLSGATE_PROBE_TOKEN", hide_env_values = true)]
    token: String,
    /// The mode to ask for (the issuer's DEFAULT_MODE when not given).
    #[arg(long, value_parser = crate::choice::<Delivery>())]
    mode: Option<Delivery>,
    /// The player page's origin (https://app.example): CORS is checked for it.
    #[arg(long)]
    origin: Option<String>,
    /// A public key of the distribution's key group, as ID=FILE (PEM):
    /// every signature handed out is verified, and a refusal explained.
    /// Repeat for every key.
    #[arg(long = "public-key", value_name = "ID=FILE")]
    public_keys: Vec<String>,
    /// Which segments of each rendition: the first, a middle and the last
    /// (sample), or every one (all).
    #[arg(long, value_parser = crate::choice::<Segments>(), default_value = "sample")]
    segments: Segments,
    /// Each request's limit, in seconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout_seconds: u64,
    /// The report as JSON (docs/probe.schema.json) instead of the table.
    #[arg(long)]
    json: bool,
}

/// An origin: scheme, host and port, nothing after.
fn origin(flag: &str, s: &str) -> Result<url::Url, CliError> {
    let url = url::Url::parse(s).map_err(|e| CliError::usage(format!("{flag} {s:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(CliError::usage(format!(
            "{flag} {s:?}: give an origin only, like https://d111.cloudfront.net"
        )));
    }
    Ok(url)
}

fn parse_video(s: &str) -> Result<VideoId, CliError> {
    VideoId::parse(s).map_err(|e| CliError::usage(format!("--video: {e}")))
}

pub fn run(args: Args) -> Outcome {
    if args.token.trim().is_empty() {
        return Err(CliError::usage("--token is empty"));
    }
    let (video, other_video) = match args.video.as_slice() {
        [one] => (one, None),
        [one, other] => (one, Some(other)),
        _ => {
            return Err(CliError::usage(
                "--video: one video, or two (the second for the other-folder try)",
            ));
        }
    };
    let keys = if args.public_keys.is_empty() {
        None
    } else {
        Some(crate::verify::key_group(
            &args.public_keys,
            KeySize::CloudFront,
        )?)
    };
    let opts = Options {
        issuer: origin("--issuer", &args.issuer)?,
        video: parse_video(video)?,
        token: Token::new(args.token),
        mode: args.mode,
        origin: args
            .origin
            .as_deref()
            .map(|o| origin("--origin", o).map(|u| u.origin().ascii_serialization()))
            .transpose()?,
        keys,
        segments: args.segments,
        other_video: other_video.map(|v| parse_video(v)).transpose()?,
        timeout: Duration::from_secs(args.timeout_seconds),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the runtime"))?;
    let report = runtime
        .block_on(hlsgate_probe::run(&opts))
        .map_err(|e| CliError::Environment(e.to_string()))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}
