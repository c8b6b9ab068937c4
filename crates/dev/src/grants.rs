//! `hlsgate dev --entitlement dynamodb|webhook`: the issuer's store, locally;
//! and the sessions table, with `--max-streams` or the grants table.
//!
//! With `dynamodb` the stack starts dynalite (or uses `--dynamodb-endpoint`),
//! creates the grants table, and grants the dev viewer the seed video, and
//! each video uploaded from the page, for [`DEV_GRANT_SECONDS`]: the page
//! then counts the grant down. With `webhook` the issuer asks the team's own
//! endpoint, signed with `--entitlement-secret`.

use std::time::Duration;

use hlsgate_aws::local_dynamodb::LocalDynamo;
use hlsgate_aws::secret::{Secret, StaticKeys};
use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::grants::{Grant, Target, Window};
use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;
use hlsgate_signed_url_issuer::entitlement::webhook::Webhook;
use hlsgate_signed_url_issuer::entitlement::{EntitlementConfig, Entitlements, Store, Terms};
use hlsgate_signed_url_issuer::sessions::table::SessionsTable;

use crate::DEV_SUBJECT;
use crate::error::DevError;

/// The local grants table.
pub const DEV_GRANTS_TABLE: &str = "hlsgate-dev-grants";
/// How long the dev viewer's grants last: long enough to watch, short
/// enough that the countdown visibly moves.
pub const DEV_GRANT_SECONDS: u64 = 2 * 3600;
/// The webhook's key when `--entitlement-secret` is not given.
pub const DEV_WEBHOOK_SECRET: &str = "hlsgate-dev-webhook-secret";

/// Where the dev issuer's entitlement comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DevEntitlement {
    /// The dev claim rule only (`groups` = `viewers`).
    #[default]
    Claims,
    /// The grants table on dynalite, or on the server at `endpoint`.
    Dynamodb { endpoint: Option<String> },
    /// The team's endpoint.
    Webhook { url: String, secret: Option<String> },
}

/// The grants table of a running stack, and the server it lives on.
#[derive(Debug)]
pub struct DevGrants {
    pub table: GrantsTable,
    pub endpoint: String,
    /// Stopped with the stack; `None` for `--dynamodb-endpoint`.
    _server: Option<LocalDynamo>,
}

impl DevGrants {
    /// Grants the dev viewer `video` for [`DEV_GRANT_SECONDS`] from now.
    pub async fn grant(&self, video: &str) -> Result<(), DevError> {
        let target = Target::parse(video).map_err(DevError::env)?;
        let now = hlsgate_aws::web::system_clock()();
        self.table
            .put(&Grant {
                subject: DEV_SUBJECT.to_string(),
                target,
                window: Window {
                    not_before: None,
                    expires_at: Some(now + DEV_GRANT_SECONDS),
                },
                terms: Terms::NONE,
            })
            .await
            .map_err(|e| DevError::env(format!("granting {video} in {DEV_GRANTS_TABLE}: {e}")))
    }
}

/// The variables the issuer reads for `choice`, added to the stack's.
pub fn env(choice: &DevEntitlement) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match choice {
        DevEntitlement::Claims => Vec::new(),
        DevEntitlement::Dynamodb { .. } => vec![
            ("ENTITLEMENT", "dynamodb".into()),
            ("GRANTS_TABLE", DEV_GRANTS_TABLE.into()),
            // A grant changed by hand shows within a second.
            ("ENTITLEMENT_CACHE_SECONDS", "1".into()),
        ],
        DevEntitlement::Webhook { url, secret } => vec![
            ("ENTITLEMENT", "webhook".into()),
            ("ENTITLEMENT_URL", url.clone()),
            (
                "ENTITLEMENT_SECRET",
                secret.clone().unwrap_or_else(|| DEV_WEBHOOK_SECRET.into()),
            ),
            ("ENTITLEMENT_CLAIMS", "groups".into()),
        ],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// dynalite started for `why` (a flag), or the server at `endpoint`.
fn server(endpoint: Option<&str>, why: &str) -> Result<(Option<LocalDynamo>, String), DevError> {
    Ok(match endpoint {
        Some(e) => (None, e.to_string()),
        None => {
            let s = LocalDynamo::start().map_err(|e| {
                DevError::env(format!("{why}: {e}; or pass --dynamodb-endpoint URL"))
            })?;
            let e = s.endpoint();
            (Some(s), e)
        }
    })
}

/// Ignores "the table exists" (a server given with --dynamodb-endpoint).
fn created(
    r: Result<(), hlsgate_aws::error::CallError>,
    table: &str,
    endpoint: &str,
) -> Result<(), DevError> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.code.as_deref() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(DevError::env(format!(
            "creating {table} on {endpoint}: {e}"
        ))),
    }
}

/// The local sessions table (`--max-streams`, or with the grants table).
pub const DEV_SESSIONS_TABLE: &str = "hlsgate-dev-sessions";

/// The sessions table of a running stack.
#[derive(Debug)]
pub struct DevSessions {
    pub table: SessionsTable,
    pub endpoint: String,
    /// Stopped with the stack; `None` when it shares the grants' server.
    _server: Option<LocalDynamo>,
}

/// The sessions table, on the grants' server when there is one.
pub async fn start_sessions(
    grants: Option<&DevGrants>,
    endpoint: Option<&str>,
) -> Result<DevSessions, DevError> {
    let (server, endpoint) = match grants {
        Some(g) => (None, g.endpoint.clone()),
        None => server(endpoint, "--max-streams")?,
    };
    let t = SessionsTable::new(
        dynamo::local_client(&endpoint, Duration::from_secs(5)),
        DEV_SESSIONS_TABLE,
    );
    created(t.create().await, DEV_SESSIONS_TABLE, &endpoint)?;
    Ok(DevSessions {
        table: t,
        endpoint,
        _server: server,
    })
}

/// The table's server and the table, made if missing.
pub async fn start_table(endpoint: Option<&str>) -> Result<DevGrants, DevError> {
    let (server, endpoint) = server(endpoint, "--entitlement dynamodb")?;
    let t = GrantsTable::new(
        dynamo::local_client(&endpoint, Duration::from_secs(5)),
        DEV_GRANTS_TABLE,
    );
    created(t.create().await, DEV_GRANTS_TABLE, &endpoint)?;
    Ok(DevGrants {
        table: t,
        endpoint,
        _server: server,
    })
}

/// The issuer's entitlement for `config`, over the local table or webhook.
pub fn entitlements(
    config: &EntitlementConfig,
    grants: Option<&DevGrants>,
) -> Result<Entitlements, DevError> {
    if let Some(g) = grants {
        return Entitlements::with_store(config, Store::Table(g.table.clone()))
            .map_err(DevError::env);
    }
    match &config.webhook {
        Some(hook) => {
            let secret = match &hook.secret {
                hlsgate_aws::secret::SecretLocation::Literal(s) => s.clone(),
                _ => {
                    return Err(DevError::env(
                        "the dev webhook's secret is given on the command line",
                    ));
                }
            };
            let webhook = Webhook::new(hook.clone(), Secret::Literal(StaticKeys(secret.into())))
                .map_err(DevError::env)?;
            Entitlements::with_store(config, Store::Webhook(Box::new(webhook)))
                .map_err(DevError::env)
        }
        None => Ok(Entitlements::claims(config)),
    }
}

/// The `make watch` environment's extra lines: the functions reach the
/// local table through the SDK's service-specific endpoint variable.
pub fn watch_env(endpoint: Option<&str>) -> Vec<(String, String)> {
    endpoint
        .map(|e| vec![("AWS_ENDPOINT_URL_DYNAMODB".to_string(), e.to_string())])
        .unwrap_or_default()
}
