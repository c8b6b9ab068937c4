//! `hlsgate rewrite`: put signed query parameters into every URI of a playlist,
//! byte for byte otherwise. Exit 0 done, 1 the playlist was refused, 2 usage.

use std::io::{self, BufWriter, Read};
use std::path::PathBuf;

use crate::error::EXIT_REFUSED;
use crate::{CliError, Outcome};
use std::process::ExitCode;

use hlsgate_core::hls::{Limits, QueryParams, Rewriter};

/// Exit status when the playlist itself is refused.

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Reads the playlist from FILE (or stdin) and writes the signed \
playlist to stdout. Exit status: 0 done, 1 the playlist was refused (nothing is \
written), 2 usage error."
)]
pub struct Args {
    /// Query parameters for media URIs (segments, keys, init sections, parts):
    /// 'Policy=…&Signature=…&Key-Pair-Id=…', as `hlsgate sign --format query` prints them.
    #[arg(long, value_name = "QUERY")]
    params: QueryParams,
    /// Query parameters for URIs the origin function serves again instead of
    /// --params: playlists (variant streams, renditions, I-frame streams,
    /// rendition reports) and keys (EXT-X-KEY, EXT-X-SESSION-KEY). The
    /// complete set, not an addition.
    #[arg(long, value_name = "QUERY")]
    child_params: Option<QueryParams>,
    /// The playlist's own URL. Every URI is resolved against it as a player
    /// does (WHATWG) and signed only when it stays on its scheme, host and
    /// port; without it only relative references are signed.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Also sign URIs with {$variable} references.
    #[arg(long)]
    sign_variable_uris: bool,
    /// Print what was done as JSON on stderr.
    #[arg(long)]
    report: bool,
    /// Refuse playlists larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT.max_input_bytes)]
    max_bytes: usize,
    /// Refuse playlists with more URIs than this.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_uris)]
    max_uris: usize,
    /// The playlist to read; stdin when absent or `-`.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
}

pub fn run(args: Args) -> Outcome {
    let mut rewriter = Rewriter::new(args.params)
        .sign_variable_uris(args.sign_variable_uris)
        .limits(Limits {
            max_input_bytes: args.max_bytes,
            max_uris: args.max_uris,
        });
    if let Some(child) = args.child_params {
        rewriter = rewriter.child_params(child);
    }
    if let Some(base) = &args.base_url {
        rewriter = rewriter
            .base_url(base)
            .map_err(|e| CliError::usage(format!("--base-url: {e}")))?;
    }

    let input = read_input(args.input.as_deref(), args.max_bytes)?;
    if input.len() > args.max_bytes {
        // Only max + 1 bytes were read, so say "over", not how much.
        let max = args.max_bytes;
        return Ok(refuse(&format!(
            "the playlist is over the limit of {max} bytes (--max-bytes)"
        )));
    }
    // A dry run first, so a refused playlist leaves stdout empty instead of
    // half-written: scanning twice is cheap, holding a second copy is not.
    if let Err(e) = rewriter.rewrite_to(&input, io::sink()) {
        return Ok(refuse(&e.to_string()));
    }
    let stdout = io::stdout().lock();
    let report = rewriter
        .rewrite_to(&input, BufWriter::with_capacity(64 * 1024, stdout))
        .map_err(|e| CliError::Environment(format!("writing the playlist: {e}")))?;

    if args.report {
        let json = serde_json::to_string_pretty(&report)?;
        eprintln!("{json}");
    } else if report.skipped > 0 {
        let reasons: Vec<String> = report
            .skipped_reasons
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        eprintln!(
            "hlsgate: left {} URI(s) unsigned ({}); --report lists them",
            report.skipped,
            reasons.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn refuse(why: &str) -> ExitCode {
    eprintln!("hlsgate: invalid playlist: {why}");
    ExitCode::from(EXIT_REFUSED)
}

/// Reads at most `max + 1` bytes: enough to tell a playlist over the limit
/// without holding all of it.
fn read_input(path: Option<&std::path::Path>, max: usize) -> Result<Vec<u8>, CliError> {
    let reader: Box<dyn Read> = match path {
        None => Box::new(io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(io::stdin().lock()),
        Some(p) => Box::new(
            std::fs::File::open(p).map_err(CliError::io(format!("cannot read {}", p.display())))?,
        ),
    };
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(CliError::io("reading the playlist"))?;
    Ok(bytes)
}
