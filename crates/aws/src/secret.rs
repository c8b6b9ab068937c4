//! A shared secret that rotates: the value CloudFront adds as a custom origin
//! header, kept in Secrets Manager.
//!
//! Both the current and the previous version are accepted, so a rotation
//! never locks CloudFront out while its distribution is being updated. Values
//! are cached with a TTL; a header that matches neither triggers one early
//! refresh (at most every `min_refresh`), so a fresh rotation is picked up
//! without waiting for the TTL and without letting strangers hammer Secrets
//! Manager. Comparisons take the same time whatever the bytes.

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::Env;
use crate::cache::{Refresh, Refreshing};

/// The versions a request may present.
#[derive(Clone)]
pub struct Versions {
    pub current: SecretString,
    pub previous: Option<SecretString>,
}

impl std::fmt::Debug for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions")
            .field("current", &"[redacted]")
            .field("previous", &self.previous.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Versions {
    pub fn new(current: impl Into<String>, previous: Option<String>) -> Self {
        Versions {
            current: SecretString::from(current.into()),
            previous: previous.map(SecretString::from),
        }
    }

    /// True when `presented` equals either version. Both are always compared,
    /// in constant time for equal lengths.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let cur = self.current.expose_secret().as_bytes().ct_eq(presented);
        let prev = match &self.previous {
            Some(p) => p.expose_secret().as_bytes().ct_eq(presented),
            None => subtle::Choice::from(0),
        };
        bool::from(cur | prev)
    }
}

/// Why the secret could not be read. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} not found")]
    NotFound(String),
    #[error("secret {0} has no string value, or an empty one")]
    Empty(String),
    #[error("Secrets Manager unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    File(String),
}

/// Fetches the versions of one secret.
pub trait SecretSource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<Versions, SecretError>> + Send;
}

/// A fixed value, for local runs and tests.
#[derive(Debug, Clone)]
pub struct StaticSecret(pub Versions);

impl SecretSource for StaticSecret {
    async fn fetch(&self) -> Result<Versions, SecretError> {
        Ok(self.0.clone())
    }
}

/// The `AWSCURRENT` and `AWSPREVIOUS` versions of a Secrets Manager secret
/// (a plain string, as CloudFront's `{{resolve:secretsmanager:…}}` reads it).
#[derive(Debug, Clone)]
pub struct SecretsManagerSecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSecret {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretsManagerSecret {
            client,
            secret_id: secret_id.into(),
        }
    }

    async fn stage(&self, stage: &str) -> Result<Option<SecretString>, SecretError> {
        let res = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await;
        match res {
            Ok(out) => match out.secret_string {
                Some(s) if !s.is_empty() => Ok(Some(SecretString::from(s))),
                _ => Err(SecretError::Empty(self.secret_id.clone())),
            },
            Err(SdkError::ServiceError(se)) if se.err().is_resource_not_found_exception() => {
                Ok(None)
            }
            Err(e) => Err(SecretError::Unavailable(describe(&e))),
        }
    }
}

/// The error's code and request id only: Secrets Manager messages can quote
/// the secret id, never the value, but we keep logs to what support needs.
fn describe(
    e: &SdkError<GetSecretValueError, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> String {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    use aws_sdk_secretsmanager::operation::RequestId;
    match e {
        SdkError::ServiceError(se) => format!(
            "{} (HTTP {}, request id {})",
            se.err().code().unwrap_or("unknown error"),
            se.raw().status().as_u16(),
            e.request_id().unwrap_or("none")
        ),
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::DispatchFailure(_) => "could not connect".to_string(),
        _ => "unexpected response".to_string(),
    }
}

impl SecretsManagerSecret {
    /// The `AWSCURRENT` value alone.
    pub async fn current(&self) -> Result<SecretString, SecretError> {
        self.stage("AWSCURRENT")
            .await?
            .ok_or_else(|| SecretError::NotFound(self.secret_id.clone()))
    }
}

impl SecretSource for SecretsManagerSecret {
    async fn fetch(&self) -> Result<Versions, SecretError> {
        let current = self.current().await?;
        // No previous version before the first rotation: that is fine.
        let previous = self.stage("AWSPREVIOUS").await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "origin secret: previous version unreadable; accepting the current one only");
            None
        });
        Ok(Versions { current, previous })
    }
}

/// The current text of a secret: the signing keys' JSON document.
pub trait KeySource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<SecretString, SecretError>> + Send;
}

/// The `AWSCURRENT` version of a Secrets Manager secret.
impl KeySource for SecretsManagerSecret {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        self.current().await
    }
}

/// JSON given directly (`SIGNING_KEYS`), for local runs and tests.
#[derive(Debug, Clone)]
pub struct StaticKeys(pub SecretString);

impl KeySource for StaticKeys {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        Ok(self.0.clone())
    }
}

/// A file (`SIGNING_KEYS_FILE`), read again on every refresh so a local
/// rotation is an edit.
#[derive(Debug, Clone)]
pub struct FileKeys(pub PathBuf);

impl KeySource for FileKeys {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        let text = tokio::fs::read_to_string(&self.0)
            .await
            .map_err(|e| SecretError::File(format!("{}: {e}", self.0.display())))?;
        Ok(SecretString::from(text))
    }
}

/// Where a secret's value comes from: one of a function's variables.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretLocation {
    /// A Secrets Manager secret id or ARN (`ORIGIN_SECRET_ARN`,
    /// `SIGNING_KEYS_SECRET_ARN`).
    SecretsManager(String),
    /// A file read at every refresh (`SIGNING_KEYS_FILE`), for local runs.
    File(PathBuf),
    /// The value itself (`ORIGIN_SECRET`, `SIGNING_KEYS`), for local runs.
    Literal(String),
}

impl std::fmt::Debug for SecretLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretLocation::SecretsManager(id) => write!(f, "SecretsManager({id:?})"),
            SecretLocation::File(p) => write!(f, "File({p:?})"),
            SecretLocation::Literal(_) => f.write_str("Literal([redacted])"),
        }
    }
}

/// The variables one secret may be given by: exactly one must be set.
#[derive(Debug, Clone, Copy)]
pub struct SecretVars {
    pub secrets_manager: &'static str,
    pub file: Option<&'static str>,
    pub literal: &'static str,
    /// Said when none is set: what the secret is.
    pub what: &'static str,
}

impl Env {
    /// The one location `vars` name; none, or more than one, is a problem.
    pub fn secret_location(&mut self, vars: SecretVars) -> SecretLocation {
        let arn = self.optional(vars.secrets_manager).map(str::to_string);
        let file = vars.file.and_then(|f| self.optional(f)).map(PathBuf::from);
        let literal = self.optional(vars.literal).map(str::to_string);
        match (arn, file, literal) {
            (Some(a), None, None) => SecretLocation::SecretsManager(a),
            (None, Some(f), None) => SecretLocation::File(f),
            (None, None, Some(l)) => SecretLocation::Literal(l),
            (None, None, None) => {
                let local: Vec<&str> = vars.file.into_iter().chain([vars.literal]).collect();
                self.problem(format!(
                    "{} is required: {} ({} for local runs)",
                    vars.secrets_manager,
                    vars.what,
                    local.join(" or ")
                ));
                SecretLocation::Literal(String::new())
            }
            _ => {
                let all: Vec<&str> = [vars.secrets_manager]
                    .into_iter()
                    .chain(vars.file)
                    .chain([vars.literal])
                    .collect();
                self.problem(format!("set one of {}", all.join(", ")));
                SecretLocation::Literal(String::new())
            }
        }
    }
}

/// A secret wherever it lives: the one backend both functions build from
/// a [`SecretLocation`]. A new place for secrets is one variant here.
#[derive(Debug, Clone)]
pub enum Secret {
    SecretsManager(SecretsManagerSecret),
    File(FileKeys),
    Literal(StaticKeys),
}

impl Secret {
    /// The backend for `location`; `what` names the secret in the warning
    /// a local-only location gets.
    pub fn new(what: &str, location: SecretLocation, sdk: &aws_config::SdkConfig) -> Secret {
        match location {
            SecretLocation::SecretsManager(id) => Secret::SecretsManager(
                SecretsManagerSecret::new(aws_sdk_secretsmanager::Client::new(sdk), id),
            ),
            SecretLocation::File(path) => {
                tracing::warn!("{what} comes from a file: for local runs only");
                Secret::File(FileKeys(path))
            }
            SecretLocation::Literal(value) => {
                tracing::warn!("{what} is set in the environment: for local runs only");
                Secret::Literal(StaticKeys(SecretString::from(value)))
            }
        }
    }
}

impl KeySource for Secret {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        match self {
            Secret::SecretsManager(s) => KeySource::fetch(s).await,
            Secret::File(f) => f.fetch().await,
            Secret::Literal(l) => l.fetch().await,
        }
    }
}

/// Secrets Manager gives the current and previous versions; a file or a
/// literal only the one value.
impl SecretSource for Secret {
    async fn fetch(&self) -> Result<Versions, SecretError> {
        match self {
            Secret::SecretsManager(s) => SecretSource::fetch(s).await,
            Secret::File(_) | Secret::Literal(_) => Ok(Versions {
                current: KeySource::fetch(self).await?,
                previous: None,
            }),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Accepted,
    Refused,
}

/// A [`SecretSource`] behind a TTL cache.
#[derive(Debug)]
pub struct RotatingSecret<S> {
    source: S,
    cache: Refreshing<Versions>,
}

impl<S: SecretSource> RotatingSecret<S> {
    pub fn new(source: S, refresh: Refresh) -> Self {
        RotatingSecret {
            source,
            cache: Refreshing::new(refresh),
        }
    }

    /// Checks a presented value. `Err` only when no value could ever be read
    /// (the caller answers 503); a failed refresh keeps using the last value.
    pub async fn check(&self, presented: &[u8]) -> Result<Check, SecretError> {
        self.check_at(presented, Instant::now()).await
    }

    /// [`check`](Self::check) at a given instant (tests move time forward).
    pub async fn check_at(&self, presented: &[u8], now: Instant) -> Result<Check, SecretError> {
        const WHAT: &str = "origin secret";
        let versions = self.cache.get_at(now, WHAT, self.source.fetch()).await?;
        if versions.accepts(presented) {
            return Ok(Check::Accepted);
        }
        let Some(fresh) = self
            .cache
            .refresh_early(now, WHAT, self.source.fetch())
            .await
        else {
            return Ok(Check::Refused);
        };
        Ok(if fresh?.accepts(presented) {
            Check::Accepted
        } else {
            Check::Refused
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: SecretVars = SecretVars {
        secrets_manager: "S_ARN",
        file: Some("S_FILE"),
        literal: "S",
        what: "the thing",
    };

    #[test]
    fn exactly_one_location_is_taken() {
        let loc = |pairs: &[(&str, &str)]| {
            let mut env = Env::from_pairs(pairs.iter().copied());
            let l = env.secret_location(VARS);
            (l, env.finish().err().map(|e| e.problems))
        };
        assert_eq!(
            loc(&[("S_ARN", "arn")]).0,
            SecretLocation::SecretsManager("arn".into())
        );
        assert_eq!(
            loc(&[("S_FILE", "/k")]).0,
            SecretLocation::File("/k".into())
        );
        assert_eq!(loc(&[("S", "v")]).0, SecretLocation::Literal("v".into()));
        assert_eq!(
            loc(&[]).1,
            Some(vec![
                "S_ARN is required: the thing (S_FILE or S for local runs)".into()
            ])
        );
        assert_eq!(
            loc(&[("S_ARN", "a"), ("S", "v")]).1,
            Some(vec!["set one of S_ARN, S_FILE, S".into()])
        );
        assert_eq!(
            format!("{:?}", SecretLocation::Literal("v".into())),
            "Literal([redacted])"
        );
    }

    #[tokio::test]
    async fn a_literal_or_a_file_is_one_version() {
        let dir = std::env::temp_dir().join(format!("hlsgate-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("s.txt");
        std::fs::write(&path, "from-file").unwrap_or_default();
        let file = Secret::File(FileKeys(path.clone()));
        let v = SecretSource::fetch(&file).await.map_err(|e| e.to_string());
        assert!(
            v.as_ref()
                .is_ok_and(|v| v.accepts(b"from-file") && v.previous.is_none())
        );
        let lit = Secret::Literal(StaticKeys(SecretString::from("lit")));
        let k = KeySource::fetch(&lit)
            .await
            .map(|s| s.expose_secret().to_string());
        assert_eq!(k, Ok("lit".to_string()));
        std::fs::remove_file(&path).unwrap_or_default();
        let gone = SecretSource::fetch(&file)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(gone.is_err_and(|e| e.contains("s.txt")));
    }
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Returns the versions in `script`, one per fetch (the last repeats).
    struct Script {
        script: Vec<Result<Versions, SecretError>>,
        calls: AtomicUsize,
    }

    impl SecretSource for &Script {
        async fn fetch(&self) -> Result<Versions, SecretError> {
            let i = self.calls.fetch_add(1, Ordering::SeqCst);
            self.script[i.min(self.script.len() - 1)].clone()
        }
    }

    fn script(s: Vec<Result<Versions, SecretError>>) -> Script {
        Script {
            script: s,
            calls: AtomicUsize::new(0),
        }
    }

    #[test]
    fn accepts_current_and_previous_only() {
        let v = Versions::new("new-secret", Some("old-secret".into()));
        assert!(v.accepts(b"new-secret"));
        assert!(v.accepts(b"old-secret"));
        assert!(!v.accepts(b"new-secreT"));
        assert!(!v.accepts(b"new-secret "));
        assert!(!v.accepts(b""));
        assert!(!Versions::new("a", None).accepts(b""));
        assert_eq!(
            format!("{v:?}"),
            r#"Versions { current: "[redacted]", previous: Some("[redacted]") }"#
        );
    }

    #[tokio::test]
    async fn caches_for_the_ttl_and_refreshes_on_rotation() {
        let s = script(vec![
            Ok(Versions::new("v1", None)),
            Ok(Versions::new("v2", Some("v1".into()))),
        ]);
        let r = RotatingSecret::new(&s, Refresh::DEFAULT);
        let t = Instant::now();
        assert_eq!(r.check_at(b"v1", t).await, Ok(Check::Accepted));
        assert_eq!(
            r.check_at(b"v1", t + Duration::from_secs(100)).await,
            Ok(Check::Accepted)
        );
        assert_eq!(s.calls.load(Ordering::SeqCst), 1);
        // Rotated: a wrong-looking header within min_refresh is refused
        // without asking again…
        assert_eq!(
            r.check_at(b"v2", t + Duration::from_secs(10)).await,
            Ok(Check::Refused)
        );
        assert_eq!(s.calls.load(Ordering::SeqCst), 1);
        // …and after it, one refresh picks up the new value.
        assert_eq!(
            r.check_at(b"v2", t + Duration::from_secs(40)).await,
            Ok(Check::Accepted)
        );
        assert_eq!(
            r.check_at(b"v1", t + Duration::from_secs(41)).await,
            Ok(Check::Accepted)
        );
        assert_eq!(
            r.check_at(b"v0", t + Duration::from_secs(42)).await,
            Ok(Check::Refused)
        );
        assert_eq!(s.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failed_refresh_keeps_the_last_value_and_no_value_is_an_error() {
        let down = SecretError::Unavailable("down".into());
        let s = script(vec![Ok(Versions::new("v1", None)), Err(down.clone())]);
        let r = RotatingSecret::new(&s, Refresh::DEFAULT);
        let t = Instant::now();
        assert_eq!(r.check_at(b"v1", t).await, Ok(Check::Accepted));
        let later = t + Duration::from_secs(301);
        assert_eq!(r.check_at(b"v1", later).await, Ok(Check::Accepted));
        assert_eq!(s.calls.load(Ordering::SeqCst), 2);
        // The failure is not retried on every request.
        assert_eq!(
            r.check_at(b"v1", later + Duration::from_secs(1)).await,
            Ok(Check::Accepted)
        );
        assert_eq!(s.calls.load(Ordering::SeqCst), 2);

        let never = script(vec![Err(down.clone())]);
        let r = RotatingSecret::new(&never, Refresh::DEFAULT);
        assert_eq!(r.check_at(b"v1", t).await, Err(down));
    }
}
