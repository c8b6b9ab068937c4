//! A bounded in-memory cache of raw objects, by key and entity tag.
//!
//! Fresh entries (younger than the TTL) are served without asking the store.
//! Stale ones are revalidated with `If-None-Match`, so an unchanged playlist
//! costs a 304 and no body. Least recently used entries go first when the
//! byte budget is full; an object larger than a quarter of the budget is
//! never kept, so one huge playlist cannot flush the hot ones.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lru::LruCache;

use crate::objects::{Fetched, ObjectSource, SourceError};

/// How a read was served, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Fresh in the cache; the store was not asked.
    Hit,
    /// Stale in the cache; the store said it is unchanged.
    Revalidated,
    /// Read from the store.
    Miss,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Revalidated => "revalidated",
            CacheStatus::Miss => "miss",
        }
    }

    /// Counts this read as `CacheHits`, or `CacheMisses` when the store was
    /// asked (a revalidation is a store request, if a cheap one).
    pub fn record(self, doc: &mut crate::metrics::Emf) {
        let metric = match self {
            CacheStatus::Hit => crate::metrics::name::CACHE_HITS,
            CacheStatus::Revalidated | CacheStatus::Miss => crate::metrics::name::CACHE_MISSES,
        };
        doc.count(metric, &[]);
    }
}

/// Cache limits. A zero TTL or budget turns the cache off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    pub ttl: Duration,
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl CacheLimits {
    pub const DEFAULT: CacheLimits = CacheLimits {
        ttl: Duration::from_secs(10),
        max_bytes: 32 << 20,
        max_entries: 1024,
    };

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_bytes > 0 && self.max_entries > 0
    }
}

#[derive(Debug)]
struct Entry {
    body: Bytes,
    /// `None`: the object was not there ([`CachedObjects::get_or_absent`]).
    etag: Option<String>,
    checked: Instant,
}

/// A store with a cache in front of it.
#[derive(Debug)]
pub struct CachedObjects<S> {
    source: S,
    limits: CacheLimits,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    entries: LruCache<String, Entry>,
    bytes: usize,
}

impl<S: ObjectSource> CachedObjects<S> {
    pub fn new(source: S, limits: CacheLimits) -> Self {
        let cap = NonZeroUsize::new(limits.max_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        CachedObjects {
            source,
            limits,
            state: Mutex::new(State {
                entries: LruCache::new(cap),
                bytes: 0,
            }),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// Bytes held now.
    pub fn cached_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Reads `key` (at most `max_bytes`), from the cache when it can.
    pub async fn get(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<(Bytes, CacheStatus), SourceError> {
        self.get_at(key, max_bytes, Instant::now()).await
    }

    /// [`get`](Self::get) at a given instant (tests move time forward).
    pub async fn get_at(
        &self,
        key: &str,
        max_bytes: u64,
        now: Instant,
    ) -> Result<(Bytes, CacheStatus), SourceError> {
        match self.read(key, max_bytes, now, false).await? {
            (Some(body), status) => Ok((body, status)),
            (None, _) => Err(SourceError::NotFound),
        }
    }

    /// Reads `key` like [`get`](Self::get), but an object that is not there
    /// is `None`, and its absence is cached for the TTL too: for objects
    /// most keys never have (a video's playback rules), whose absence would
    /// otherwise cost a store request every time.
    pub async fn get_or_absent(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<(Option<Bytes>, CacheStatus), SourceError> {
        self.get_or_absent_at(key, max_bytes, Instant::now()).await
    }

    /// [`get_or_absent`](Self::get_or_absent) at a given instant.
    pub async fn get_or_absent_at(
        &self,
        key: &str,
        max_bytes: u64,
        now: Instant,
    ) -> Result<(Option<Bytes>, CacheStatus), SourceError> {
        self.read(key, max_bytes, now, true).await
    }

    async fn read(
        &self,
        key: &str,
        max_bytes: u64,
        now: Instant,
        keep_absence: bool,
    ) -> Result<(Option<Bytes>, CacheStatus), SourceError> {
        let cached = {
            let mut st = self.lock();
            st.entries
                .get(key)
                .filter(|e| keep_absence || e.etag.is_some())
                .map(|e| (e.body.clone(), e.etag.clone(), e.checked))
        };
        let etag = match cached {
            Some((_, None, checked))
                if now.saturating_duration_since(checked) < self.limits.ttl =>
            {
                return Ok((None, CacheStatus::Hit));
            }
            Some((body, _, checked))
                if now.saturating_duration_since(checked) < self.limits.ttl =>
            {
                if body.len() as u64 > max_bytes {
                    return Err(SourceError::TooLarge {
                        size: body.len() as u64,
                        limit: max_bytes,
                    });
                }
                return Ok((Some(body), CacheStatus::Hit));
            }
            Some((_, etag, _)) => etag,
            None => None,
        };
        let mut fetched = self.source.get(key, max_bytes, etag.as_deref()).await;
        if etag.is_some() && fetched == Ok(Fetched::NotModified) {
            if let Some(body) = self.touch(key, now) {
                return Ok((Some(body), CacheStatus::Revalidated));
            }
            // Evicted while we asked: read it whole.
            fetched = self.source.get(key, max_bytes, None).await;
        }
        let mut st = self.lock();
        match fetched {
            Ok(Fetched::Object(o)) => {
                Self::forget(&mut st, key);
                let keep = self.limits.enabled() && o.body.len() <= self.limits.max_bytes / 4;
                if let Some(etag) = o.etag.filter(|_| keep) {
                    self.insert(&mut st, key, o.body.clone(), Some(etag), now);
                }
                Ok((Some(o.body), CacheStatus::Miss))
            }
            // We sent no entity tag; a 304 here is the store's bug.
            Ok(Fetched::NotModified) => Err(SourceError::Unavailable {
                detail: "unexpected 304 to an unconditional read".into(),
                request_id: None,
            }),
            Err(SourceError::NotFound) => {
                Self::forget(&mut st, key);
                if keep_absence && self.limits.enabled() {
                    self.insert(&mut st, key, Bytes::new(), None, now);
                }
                if keep_absence {
                    Ok((None, CacheStatus::Miss))
                } else {
                    Err(SourceError::NotFound)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Marks an entry as just checked and returns its body.
    fn touch(&self, key: &str, now: Instant) -> Option<Bytes> {
        let mut st = self.lock();
        let e = st.entries.get_mut(key)?;
        e.checked = now;
        Some(e.body.clone())
    }

    fn insert(&self, st: &mut State, key: &str, body: Bytes, etag: Option<String>, now: Instant) {
        st.bytes += body.len();
        let entry = Entry {
            body,
            etag,
            checked: now,
        };
        if let Some((_, old)) = st.entries.push(key.to_string(), entry) {
            // Pushed out by the entry count (the same key was forgotten above).
            st.bytes -= old.body.len();
        }
        while st.bytes > self.limits.max_bytes {
            match st.entries.pop_lru() {
                Some((_, old)) => st.bytes -= old.body.len(),
                None => break,
            }
        }
    }

    fn forget(st: &mut State, key: &str) {
        if let Some(old) = st.entries.pop(key) {
            st.bytes -= old.body.len();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ---- A value fetched again after a TTL (secrets, signing keys) ----

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::MemoryObjects;

    const TTL: Duration = Duration::from_secs(10);

    fn cache(max_bytes: usize) -> CachedObjects<MemoryObjects> {
        CachedObjects::new(
            MemoryObjects::new(),
            CacheLimits {
                ttl: TTL,
                max_bytes,
                max_entries: 8,
            },
        )
    }

    #[tokio::test]
    async fn hit_then_revalidate_then_change() {
        let c = cache(1 << 20);
        c.source().put("a.m3u8", "one");
        let t0 = Instant::now();
        let get = |t| c.get_at("a.m3u8", 100, t);
        assert_eq!(
            get(t0).await.unwrap(),
            (Bytes::from("one"), CacheStatus::Miss)
        );
        assert_eq!(get(t0 + TTL / 2).await.unwrap().1, CacheStatus::Hit);
        assert_eq!(c.source().reads(), 1, "a fresh hit does not ask the store");
        assert_eq!(get(t0 + TTL).await.unwrap().1, CacheStatus::Revalidated);
        assert_eq!(get(t0 + TTL + TTL / 2).await.unwrap().1, CacheStatus::Hit);
        c.source().put("a.m3u8", "two");
        assert_eq!(
            get(t0 + 3 * TTL).await.unwrap(),
            (Bytes::from("two"), CacheStatus::Miss)
        );
        c.source().remove("a.m3u8");
        assert_eq!(get(t0 + 5 * TTL).await, Err(SourceError::NotFound));
        assert_eq!(c.cached_bytes(), 0, "a deleted object leaves the cache");
    }

    #[tokio::test]
    async fn an_absence_is_kept_for_the_ttl_where_asked() {
        let c = cache(1 << 20);
        let t0 = Instant::now();
        let absent = |t| c.get_or_absent_at("rules/a.json", 100, t);
        assert_eq!(absent(t0).await.unwrap(), (None, CacheStatus::Miss));
        assert_eq!(
            absent(t0 + TTL / 2).await.unwrap(),
            (None, CacheStatus::Hit)
        );
        assert_eq!(
            c.source().reads(),
            1,
            "a fresh absence does not ask the store"
        );
        // A plain read never takes an absence from the cache.
        assert_eq!(
            c.get_at("rules/a.json", 100, t0).await,
            Err(SourceError::NotFound)
        );
        assert_eq!(c.source().reads(), 2);
        assert_eq!(absent(t0).await.unwrap(), (None, CacheStatus::Miss));
        c.source().put("rules/a.json", "{}");
        assert_eq!(
            absent(t0 + TTL / 2).await.unwrap(),
            (None, CacheStatus::Hit)
        );
        assert_eq!(
            absent(t0 + TTL).await.unwrap(),
            (Some(Bytes::from("{}")), CacheStatus::Miss),
            "a new object is seen once the absence is stale"
        );
        c.source().remove("rules/a.json");
        assert_eq!(
            absent(t0 + 3 * TTL).await.unwrap(),
            (None, CacheStatus::Miss)
        );
        assert_eq!(c.cached_bytes(), 0);
    }

    #[tokio::test]
    async fn budget_evicts_least_recently_used_and_skips_huge() {
        let c = cache(40);
        let t = Instant::now();
        for k in ["a", "b", "c", "d"] {
            c.source().put(k, "0123456789");
        }
        c.source().put("huge", "x".repeat(11));
        for k in ["a", "b", "c", "d"] {
            c.get_at(k, 100, t).await.unwrap();
        }
        assert_eq!(c.cached_bytes(), 40);
        c.get_at("a", 100, t).await.unwrap(); // a is now the most recent
        c.source().put("e", "0123456789");
        c.get_at("e", 100, t).await.unwrap();
        assert_eq!(c.cached_bytes(), 40);
        assert_eq!(c.get_at("a", 100, t).await.unwrap().1, CacheStatus::Hit);
        assert_eq!(c.get_at("b", 100, t).await.unwrap().1, CacheStatus::Miss);
        c.get_at("huge", 100, t).await.unwrap();
        assert_eq!(c.get_at("huge", 100, t).await.unwrap().1, CacheStatus::Miss);
    }

    #[tokio::test]
    async fn size_limit_applies_to_hits_and_zero_ttl_disables() {
        let c = cache(1 << 20);
        c.source().put("a", "0123456789");
        let t = Instant::now();
        c.get_at("a", 100, t).await.unwrap();
        assert_eq!(
            c.get_at("a", 5, t).await,
            Err(SourceError::TooLarge { size: 10, limit: 5 })
        );
        let off = CachedObjects::new(
            MemoryObjects::new(),
            CacheLimits {
                ttl: Duration::ZERO,
                ..CacheLimits::DEFAULT
            },
        );
        off.source().put("a", "x");
        off.get_at("a", 10, t).await.unwrap();
        off.get_at("a", 10, t).await.unwrap();
        assert_eq!(off.source().reads(), 2);
        assert_eq!(off.cached_bytes(), 0);
    }
}
