//! `hlsgate verify`: check a signed URL or signed cookies as CloudFront would,
//! and say exactly why they fail. Exit 0 valid, 1 invalid, 2 usage error.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use hlsgate_core::signing::{
    Context, KeyGroup, KeyPairId, KeySize, public_key_from_pem, verify_cookies, verify_url,
};
use serde_json::json;

use crate::error::EXIT_REFUSED;
use crate::sign::Format;
use crate::{CliError, Outcome, read_file, timearg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signed URL, or with --cookie the URL being requested.
    #[arg(long)]
    url: String,
    /// Signed cookies as in a Cookie header: 'CloudFront-Policy=…; CloudFront-Signature=…; …'.
    #[arg(long)]
    cookie: Option<String>,
    /// A public key of the key group, as ID=FILE (PEM; a private key file works
    /// too). Repeat for every key of the group.
    #[arg(long = "public-key", value_name = "ID=FILE", required = true)]
    public_keys: Vec<String>,
    /// Check at this time instead of now: epoch seconds, duration from now, RFC 3339.
    #[arg(long)]
    now: Option<String>,
    /// The viewer's IP address, to check an AWS:SourceIp condition.
    #[arg(long)]
    ip: Option<IpAddr>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Accept RSA keys of any size: tests only.
    #[arg(long)]
    allow_any_key_size: bool,
}

pub fn run(args: Args) -> Outcome {
    let size = if args.allow_any_key_size {
        KeySize::AllowAny
    } else {
        KeySize::CloudFront
    };
    let keys = key_group(&args.public_keys, size)?;
    let real_now = timearg::now();
    let now = match &args.now {
        Some(t) => timearg::parse(t, real_now)
            .map_err(|e| CliError::usage(format!("--now: {e}")))?
            .seconds(),
        None => real_now,
    };
    let ctx = Context {
        now,
        viewer_ip: args.ip,
    };
    let result = match &args.cookie {
        Some(c) => verify_cookies(&args.url, c, &keys, ctx),
        None => verify_url(&args.url, &keys, ctx),
    };
    let valid = result.is_ok();
    match (args.format, result) {
        (Format::Text, Ok(v)) => println!("{v}"),
        (Format::Text, Err(e)) => println!("invalid: {e}"),
        (Format::Json, Ok(v)) => {
            let mut out = serde_json::to_value(&v)?;
            out["valid"] = json!(true);
            out["now"] = json!(now);
            print_json(&out)?;
        }
        (Format::Json, Err(e)) => print_json(&json!({
            "valid": false,
            "reason": e.code(),
            "message": e.to_string(),
            "details": e.details(),
            "now": now,
        }))?,
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}

/// The key group of `--public-key ID=FILE` arguments (PEM files; a
/// private key's file works too).
pub fn key_group(specs: &[String], size: KeySize) -> Result<KeyGroup, CliError> {
    let mut keys = KeyGroup::new();
    for spec in specs {
        let (id, file) = spec
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--public-key {spec:?}: expected ID=FILE")))?;
        let id = KeyPairId::new(id).map_err(|e| CliError::usage(format!("--public-key: {e}")))?;
        let path = PathBuf::from(file);
        let key = public_key_from_pem(&read_file(&path)?, size)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        keys.insert(id, key);
    }
    Ok(keys)
}

fn print_json(v: &serde_json::Value) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
