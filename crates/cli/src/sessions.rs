//! `hlsgate sessions list|end`: one viewer's playback sessions in the
//! sessions table, for support staff ("sign me out everywhere") and for
//! ending a leaked account's playback. The table code is the issuer's own
//! (`hlsgate_signed_url_issuer::sessions::table`); an ended session stops
//! at its next renewal, within one signature lifetime.

use std::process::ExitCode;

use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::sessions::table::SessionsTable;
use hlsgate_signed_url_issuer::sessions::{EndReason, SessionId};

use crate::grants::{TABLE_TIMEOUT, block_on, rfc3339};
use crate::{CliError, Outcome, timearg};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// A viewer's active sessions, oldest first.
    List {
        #[command(flatten)]
        table: TableArgs,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End a viewer's sessions (all of them, or one): each stops at its
    /// next renewal.
    End {
        #[command(flatten)]
        table: TableArgs,
        /// Only this session (an id from `hlsgate sessions list`).
        #[arg(long)]
        session: Option<String>,
    },
}

/// Which table, and how to reach it.
#[derive(Debug, clap::Args)]
struct TableArgs {
    /// The sessions table's name (the stack's SessionsTableName output).
    #[arg(long, env = "SESSIONS_TABLE")]
    table: String,
    /// A DynamoDB-compatible server instead of AWS (dynalite, DynamoDB Local).
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    endpoint: Option<String>,
    /// The viewer: their subject claim (`sub`).
    #[arg(long)]
    subject: String,
}

async fn open(args: &TableArgs) -> SessionsTable {
    let client = dynamo::client_for(args.endpoint.as_deref(), TABLE_TIMEOUT).await;
    SessionsTable::new(client, args.table.clone())
}

fn failed(e: hlsgate_signed_url_issuer::sessions::table::SessionsError) -> CliError {
    CliError::Environment(e.to_string())
}

pub fn run(args: Args) -> Outcome {
    let now = timearg::now();
    match args.command {
        Command::List { table, json } => {
            let sessions = block_on(async {
                open(&table)
                    .await
                    .list(&table.subject, now)
                    .await
                    .map_err(failed)
            })?;
            for s in &sessions {
                if json {
                    println!("{}", serde_json::to_string(s).map_err(CliError::usage)?);
                } else {
                    println!(
                        "{:<28} {:<24} {:<20} started {}  renewed {}",
                        s.id,
                        s.video_id,
                        s.device.as_deref().unwrap_or("-"),
                        rfc3339(s.started),
                        rfc3339(s.renewed),
                    );
                }
            }
            if sessions.is_empty() && !json {
                eprintln!("hlsgate: {} has no active sessions", table.subject);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::End { table, session } => {
            let ended = block_on(async {
                let t = open(&table).await;
                match &session {
                    Some(raw) => {
                        let id = SessionId::parse(raw).ok_or_else(|| {
                            CliError::usage(format!("--session {raw:?} is not a session id"))
                        })?;
                        let ended = t
                            .end(&table.subject, &id, EndReason::Operator, now)
                            .await
                            .map_err(failed)?;
                        Ok(usize::from(ended))
                    }
                    None => t
                        .end_all(&table.subject, EndReason::Operator, now)
                        .await
                        .map_err(failed),
                }
            })?;
            if ended == 0 {
                eprintln!(
                    "hlsgate: {} has no active session{}",
                    table.subject,
                    session.map(|s| format!(" {s}")).unwrap_or_default()
                );
                return Ok(ExitCode::from(crate::error::EXIT_REFUSED));
            }
            println!(
                "ended {ended} session{} of {}: each stops at its next renewal",
                if ended == 1 { "" } else { "s" },
                table.subject
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
