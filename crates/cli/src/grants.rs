//! `hlsgate grant`, `revoke` and `grants`: one viewer's rows of the
//! DynamoDB grants table, for support staff fixing a purchase by hand. The
//! item layout and the client are the issuer's own
//! (`hlsgate_signed_url_issuer::entitlement::{grants, table}`); the
//! credentials and region are the caller's (the AWS SDK's usual chain).

use std::process::ExitCode;
use std::time::Duration;

use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::grants::{Grant, Target, Window, read_terms};
use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;

use crate::{CliError, Outcome, timearg};

/// Which table, and how to reach it.
#[derive(Debug, clap::Args)]
pub struct TableArgs {
    /// The grants table's name (the stack's GrantsTableName output).
    #[arg(long, env = "GRANTS_TABLE")]
    table: String,
    /// A DynamoDB-compatible server instead of AWS (dynalite, DynamoDB Local).
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    endpoint: Option<String>,
    /// The viewer: their subject claim (`sub`).
    #[arg(long)]
    subject: String,
}

#[derive(Debug, clap::Args)]
pub struct GrantArgs {
    #[command(flatten)]
    table: TableArgs,
    /// A video id, or a collection: `course-101-*`, or `*` for everything
    /// (counted only where ENTITLEMENT_VIDEOS_WILDCARDS=true).
    #[arg(long)]
    video: String,
    /// When the grant ends: a duration from now (48h, 30d), epoch seconds or
    /// an RFC 3339 time. Without it, the grant does not end.
    #[arg(long)]
    until: Option<String>,
    /// When the grant starts (same forms); without it, now.
    #[arg(long)]
    from: Option<String>,
    /// The countries the grant holds in (a regional plan): ISO 3166-1
    /// alpha-2 codes, comma-separated (DE,AT).
    #[arg(long, value_delimiter = ',')]
    countries: Option<Vec<String>>,
    /// The plan's screens: streams at once, over the issuer's MAX_STREAMS
    /// (0: no limit).
    #[arg(long)]
    max_streams: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    table: TableArgs,
    /// The video id or collection the grant names.
    #[arg(long)]
    video: String,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    table: TableArgs,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

fn target(s: &str) -> Result<Target, CliError> {
    Target::parse(s).map_err(CliError::usage)
}

pub(crate) fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the runtime"))?
        .block_on(f)
}

/// The table commands' calls: ten seconds each, retries included.
pub(crate) const TABLE_TIMEOUT: Duration = Duration::from_secs(10);

async fn open(args: &TableArgs) -> GrantsTable {
    let client = dynamo::client_for(args.endpoint.as_deref(), TABLE_TIMEOUT).await;
    GrantsTable::new(client, args.table.clone())
}

fn failed(what: &str, table: &str) -> impl FnOnce(hlsgate_aws::error::CallError) -> CliError {
    let what = format!("{what} on {table}");
    move |e| CliError::Environment(format!("{what}: {e}"))
}

fn epoch(arg: Option<&str>, now: u64) -> Result<Option<u64>, CliError> {
    arg.map(|s| {
        timearg::parse(s, now)
            .map(|e| e.seconds())
            .map_err(CliError::usage)
    })
    .transpose()
}

pub(crate) fn rfc3339(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(epoch))
        .to_string()
}

pub fn grant(args: GrantArgs) -> Outcome {
    let now = timearg::now();
    let target = target(&args.video)?;
    let expires_at = epoch(args.until.as_deref(), now)?;
    let not_before = epoch(args.from.as_deref(), now)?;
    if let Some(end) = expires_at {
        if end <= now {
            return Err(CliError::usage(format!(
                "--until {} is not in the future",
                rfc3339(end)
            )));
        }
        if not_before.is_some_and(|start| start >= end) {
            return Err(CliError::usage("--from must be before --until"));
        }
    }
    let codes = args
        .countries
        .as_ref()
        .map(|c| c.iter().map(String::as_str));
    let terms = read_terms(codes, args.max_streams.as_deref()).map_err(CliError::usage)?;
    let g = Grant {
        subject: args.table.subject.clone(),
        target,
        window: Window {
            not_before,
            expires_at,
        },
        terms,
    };
    block_on(async {
        let t = open(&args.table).await;
        t.put(&g).await.map_err(failed("PutItem", t.name()))
    })?;
    let until = expires_at.map_or_else(
        || "with no end".to_string(),
        |e| format!("until {}", rfc3339(e)),
    );
    println!("granted {} to {} {until}", g.target, g.subject);
    Ok(ExitCode::SUCCESS)
}

pub fn revoke(args: RevokeArgs) -> Outcome {
    let target = target(&args.video)?;
    let existed = block_on(async {
        let t = open(&args.table).await;
        t.delete(&args.table.subject, &target)
            .await
            .map_err(failed("DeleteItem", t.name()))
    })?;
    if existed {
        println!("revoked {target} from {}", args.table.subject);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "hlsgate: {} holds no grant for {target}",
            args.table.subject
        );
        Ok(ExitCode::from(crate::error::EXIT_REFUSED))
    }
}

pub fn list(args: ListArgs) -> Outcome {
    let now = timearg::now();
    let grants = block_on(async {
        let t = open(&args.table).await;
        t.list(&args.table.subject)
            .await
            .map_err(failed("Query", t.name()))
    })?;
    for g in &grants {
        use hlsgate_signed_url_issuer::entitlement::grants::State;
        let state = match g.window.state(now) {
            State::Valid(_) => "valid",
            State::NotYet(_) => "not yet",
            State::Expired(_) => "expired",
            // An end that is not whole seconds up to year 9999: it grants
            // nothing; `hlsgate grant` writes it again correctly.
            State::Malformed => {
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"video": g.target.to_string(), "state": "malformed"})
                    );
                } else {
                    println!("{:<40} malformed (grants nothing)", g.target.to_string());
                }
                continue;
            }
        };
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "video": g.target.to_string(),
                    "not_before": g.window.not_before,
                    "expires_at": g.window.expires_at,
                    "countries": g.terms.countries.as_ref().map(|c| c.codes().iter().map(|c| c.as_str()).collect::<Vec<_>>()),
                    "max_streams": g.terms.max_streams,
                    "state": state,
                })
            );
        } else {
            let end = g.window.expires_at.map_or_else(|| "-".to_string(), rfc3339);
            let start = g.window.not_before.map_or_else(|| "-".to_string(), rfc3339);
            let mut terms = String::new();
            if let Some(c) = &g.terms.countries {
                terms.push_str(&format!(" countries {c}"));
            }
            if let Some(n) = g.terms.max_streams {
                terms.push_str(&format!(" streams {n}"));
            }
            println!(
                "{:<40} {:<8} from {start:<21} until {end}{terms}",
                g.target.to_string(),
                state
            );
        }
    }
    if grants.is_empty() && !args.json {
        eprintln!("hlsgate: {} holds no grants", args.table.subject);
    }
    Ok(ExitCode::SUCCESS)
}
