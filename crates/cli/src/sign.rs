//! `hlsgate sign`: a signed URL, its query parameters, or signed cookies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use hlsgate_core::signing::{
    CookieOptions, HashAlgorithm, KeyPairId, KeySize, Policy, PolicyKind, SameSite, Signer,
    parse_source_ip, private_key_from_pem, resource_url,
};
use serde_json::json;

use crate::{CliError, Outcome, choice, read_file, timearg};

/// Output of `verify`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Output of `sign`: `query` prints only the signing parameters, ready for
/// `hlsgate rewrite --params`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SignFormat {
    Text,
    Json,
    Query,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The URL to sign (its own query string is kept, first).
    #[arg(long)]
    url: String,
    /// CloudFront public key id of the key group (e.g. K2JCJMDEHXQW5F).
    #[arg(long)]
    key_pair_id: String,
    /// Private key PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    #[arg(long)]
    private_key: PathBuf,
    /// Expiry: epoch seconds, a duration from now (15m, 2h) or RFC 3339.
    #[arg(long)]
    expires: String,
    /// Not valid before (custom policy): same forms as --expires.
    #[arg(long)]
    starts: Option<String>,
    /// Viewer IPv4 address or CIDR range (custom policy).
    #[arg(long)]
    ip: Option<String>,
    /// Hash under the signature; SHA256 adds Hash-Algorithm=SHA256.
    #[arg(long, value_parser = choice::<HashAlgorithm>(), default_value = "sha1")]
    hash: HashAlgorithm,
    /// Force a custom policy on this resource pattern (`*` and `?` wildcards),
    /// e.g. https://CDN/videos/ID/* to sign a whole folder once.
    #[arg(long)]
    policy_resource: Option<String>,
    /// Print Set-Cookie headers instead of the URL (text format).
    #[arg(long)]
    cookies: bool,
    /// Cookie Domain attribute.
    #[arg(long, requires = "cookies")]
    cookie_domain: Option<String>,
    /// Cookie Path attribute (default /).
    #[arg(long, requires = "cookies")]
    cookie_path: Option<String>,
    /// Cookie SameSite attribute.
    #[arg(long, value_parser = choice::<SameSite>(), default_value = "lax", requires = "cookies")]
    same_site: SameSite,
    /// Output format: text (the URL, or Set-Cookie lines), json, or query
    /// (only the signing parameters, for `hlsgate rewrite --params`).
    #[arg(long, value_enum, default_value = "text")]
    format: SignFormat,
    /// Accept RSA keys of any size (CloudFront accepts only 2048): tests only.
    #[arg(long)]
    allow_any_key_size: bool,
}

pub fn run(args: Args) -> Outcome {
    let now = timearg::now();
    let expires = timearg::parse(&args.expires, now)
        .map_err(|e| CliError::usage(format!("--expires: {e}")))?;
    if expires.seconds() <= now {
        eprintln!("hlsgate: warning: --expires {expires} is already in the past");
    }
    let starts = args
        .starts
        .as_deref()
        .map(|s| timearg::parse(s, now).map_err(|e| CliError::usage(format!("--starts: {e}"))))
        .transpose()?;
    let ip = args
        .ip
        .as_deref()
        .map(|s| parse_source_ip(s).map_err(|e| CliError::usage(format!("--ip: {e}"))))
        .transpose()?;
    let size = if args.allow_any_key_size {
        KeySize::AllowAny
    } else {
        KeySize::CloudFront
    };
    let key = private_key_from_pem(&read_file(&args.private_key)?, size)
        .map_err(|e| CliError::usage(format!("{}: {e}", args.private_key.display())))?;
    let key_pair_id = KeyPairId::new(&args.key_pair_id).map_err(CliError::usage)?;
    let signer = Signer::new(key, key_pair_id, args.hash);

    let custom = args.policy_resource.is_some() || starts.is_some() || ip.is_some();
    let signed = if custom {
        let resource = match &args.policy_resource {
            Some(p) => p.clone(),
            None => resource_url(&args.url).map_err(CliError::usage)?.0,
        };
        let mut policy = Policy::new(resource, expires).map_err(CliError::usage)?;
        if let Some(s) = starts {
            policy = policy.with_start(s).map_err(CliError::usage)?;
        }
        if let Some(ip) = ip {
            policy = policy.with_source_ip(ip);
        }
        signer.sign_custom(&policy).map_err(CliError::usage)?
    } else {
        signer
            .sign_canned(&args.url, expires)
            .map_err(CliError::usage)?
    };
    let url = signed.apply_to(&args.url).map_err(CliError::usage)?;
    let cookie_opts = CookieOptions {
        domain: args.cookie_domain.clone(),
        path: args.cookie_path.clone(),
        same_site: args.same_site,
        expires: true,
    };
    let set_cookies = signed
        .set_cookie_headers(&cookie_opts)
        .map_err(CliError::usage)?;

    match args.format {
        SignFormat::Query => println!("{}", signed.query_string()),
        SignFormat::Text if args.cookies => {
            for c in &set_cookies {
                println!("Set-Cookie: {c}");
            }
        }
        SignFormat::Text => println!("{url}"),
        SignFormat::Json => {
            let cookies: BTreeMap<&str, String> = signed.cookies().into_iter().collect();
            let mut out = json!({
                "url": url,
                "kind": signed.kind(),
                "policy": signed.policy_json(),
                "signature": signed.signature(),
                "key_pair_id": signed.key_pair_id().as_str(),
                "hash_algorithm": signed.hash(),
                "expires": signed.expires(),
                "query": signed.query_string(),
                "cookies": cookies,
            });
            if signed.kind() == PolicyKind::Custom {
                out["policy_base64"] = json!(signed.policy_b64());
            }
            if args.cookies {
                out["set_cookie"] = json!(set_cookies);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&out).map_err(CliError::usage)?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
