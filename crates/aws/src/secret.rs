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
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

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

/// Cache timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// Age after which the cached versions are fetched again.
    pub ttl: Duration,
    /// Shortest interval between refreshes caused by a wrong header.
    pub min_refresh: Duration,
}

impl Refresh {
    pub const DEFAULT: Refresh = Refresh {
        ttl: Duration::from_secs(300),
        min_refresh: Duration::from_secs(30),
    };
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Accepted,
    Refused,
}

/// A value fetched from somewhere slow and kept for a TTL. A failed refresh
/// keeps the last value and is not retried for `min_refresh`; only a value
/// never fetched is an error.
#[derive(Debug)]
pub struct Refreshing<T> {
    refresh: Refresh,
    state: Mutex<Option<Cached<T>>>,
}

#[derive(Debug)]
struct Cached<T> {
    value: Arc<T>,
    fetched: Instant,
    /// Last fetch attempt, successful or not.
    attempted: Instant,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached {
            value: Arc::clone(&self.value),
            fetched: self.fetched,
            attempted: self.attempted,
        }
    }
}

impl<T> Cached<T> {
    fn fresh(&self, refresh: &Refresh, now: Instant) -> bool {
        now.saturating_duration_since(self.fetched) < refresh.ttl
            || self.recently_tried(refresh, now)
    }

    fn recently_tried(&self, refresh: &Refresh, now: Instant) -> bool {
        now.saturating_duration_since(self.attempted) < refresh.min_refresh
    }
}

impl<T> Refreshing<T> {
    pub fn new(refresh: Refresh) -> Self {
        Refreshing {
            refresh,
            state: Mutex::new(None),
        }
    }

    /// The cached value while fresh; else `fetch`'s, or the stale one (with a
    /// warning naming `what`) when `fetch` fails.
    pub async fn get_at<E, F>(&self, now: Instant, what: &str, fetch: F) -> Result<Arc<T>, E>
    where
        E: std::fmt::Display,
        F: Future<Output = Result<T, E>>,
    {
        let cached = self.lock().clone();
        match cached {
            Some(c) if c.fresh(&self.refresh, now) => Ok(c.value),
            stale => self.reload(stale, now, what, fetch).await,
        }
    }

    /// Fetches again unless a fetch was tried within `min_refresh`: for a
    /// caller that has reason to think the value changed. `None` when it was
    /// too soon.
    pub async fn refresh_early<E, F>(
        &self,
        now: Instant,
        what: &str,
        fetch: F,
    ) -> Option<Result<Arc<T>, E>>
    where
        E: std::fmt::Display,
        F: Future<Output = Result<T, E>>,
    {
        let cached = self.lock().clone();
        if cached
            .as_ref()
            .is_some_and(|c| c.recently_tried(&self.refresh, now))
        {
            return None;
        }
        Some(self.reload(cached, now, what, fetch).await)
    }

    async fn reload<E, F>(
        &self,
        stale: Option<Cached<T>>,
        now: Instant,
        what: &str,
        fetch: F,
    ) -> Result<Arc<T>, E>
    where
        E: std::fmt::Display,
        F: Future<Output = Result<T, E>>,
    {
        match fetch.await {
            Ok(v) => {
                let value = Arc::new(v);
                *self.lock() = Some(Cached {
                    value: Arc::clone(&value),
                    fetched: now,
                    attempted: now,
                });
                Ok(value)
            }
            Err(e) => match stale {
                Some(mut c) => {
                    tracing::warn!(error = %e, "{what}: refresh failed; keeping the cached value");
                    // Try again after min_refresh, not on every request.
                    c.attempted = now;
                    let value = Arc::clone(&c.value);
                    *self.lock() = Some(c);
                    Ok(value)
                }
                None => Err(e),
            },
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Cached<T>>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
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
    use std::sync::atomic::{AtomicUsize, Ordering};

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
