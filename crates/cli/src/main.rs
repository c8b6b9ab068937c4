//! `hlsgate`: generate CloudFront signing keys, sign URLs and cookies, verify
//! them offline with the exact reason CloudFront would refuse them, and sign
//! every URI of an HLS playlist.

#[cfg(feature = "dev")]
mod dev;
mod error;
#[cfg(feature = "dev")]
mod grants;
mod keygen;
#[cfg(feature = "probe")]
mod probe;
mod rewrite;
#[cfg(feature = "dev")]
mod rules;
#[cfg(feature = "dev")]
mod sessions;
mod sign;
mod timearg;
mod verify;
mod video_id;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Secure HLS video-on-demand on AWS: CloudFront signing and playlist tools.
#[derive(Debug, Parser)]
#[command(name = "hlsgate", version, about, long_about = None, after_help = error::EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a CloudFront signing key pair (RSA-2048 or ECDSA P-256).
    Keygen(keygen::Args),
    /// Sign a URL (canned or custom policy), or produce signed cookies.
    Sign(sign::Args),
    /// Verify a signed URL or signed cookies and say exactly why they fail.
    Verify(verify::Args),
    /// Put signed query parameters into every URI of an HLS playlist.
    Rewrite(rewrite::Args),
    /// Print the video id an upload key becomes (the jobs Lambda's rule).
    VideoId(video_id::Args),
    /// Run the whole system locally: S3, issuer, edge, rewriter, transcoder, player.
    #[cfg(feature = "dev")]
    Dev(dev::Args),
    /// Grant a viewer a video or a collection in the DynamoDB grants table.
    #[cfg(feature = "dev")]
    Grant(grants::GrantArgs),
    /// Delete a viewer's grant from the grants table.
    #[cfg(feature = "dev")]
    Revoke(grants::RevokeArgs),
    /// List a viewer's grants, with what each means now.
    #[cfg(feature = "dev")]
    Grants(grants::ListArgs),
    /// List or end a viewer's playback sessions in the sessions table.
    #[cfg(feature = "dev")]
    Sessions(sessions::Args),
    /// Show, set or clear a video's playback rules (countries, sites, window).
    #[cfg(feature = "dev")]
    Rules(rules::Args),
    /// Prove a deployment from outside: play as a player, attack as an
    /// attacker, explain every failure.
    #[cfg(feature = "probe")]
    Probe(probe::Args),
}

pub use error::{CliError, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Rewrite(args) => rewrite::run(args),
        Command::VideoId(args) => video_id::run(args),
        #[cfg(feature = "dev")]
        Command::Dev(args) => dev::run(args),
        #[cfg(feature = "dev")]
        Command::Grant(args) => grants::grant(args),
        #[cfg(feature = "dev")]
        Command::Revoke(args) => grants::revoke(args),
        #[cfg(feature = "dev")]
        Command::Grants(args) => grants::list(args),
        #[cfg(feature = "dev")]
        Command::Sessions(args) => sessions::run(args),
        #[cfg(feature = "dev")]
        Command::Rules(args) => rules::run(args),
        #[cfg(feature = "probe")]
        Command::Probe(args) => probe::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hlsgate: error: {e}");
            e.exit_code()
        }
    }
}

/// Reads a file with the path in the error message.
/// A clap value parser for one of our enums: its `FromStr` names, listed in
/// `--help` and in the error for a wrong value.
pub fn choice<T>() -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr + strum::VariantNames + Clone + Send + Sync + 'static,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(T::VARIANTS).try_map(|s| s.parse::<T>())
}

pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(CliError::io(format!("cannot read {}", path.display())))
}
