//! A store's decisions, kept per (subject, video) for a few seconds: a
//! player that asks again (a reload, a second tab, a retry) costs no lookup.
//!
//! Allowed answers live `ENTITLEMENT_CACHE_SECONDS` (default 5), never past
//! the grant's own end; denials `ENTITLEMENT_DENY_CACHE_SECONDS` (default 1),
//! so a purchase just made plays at once. Errors are never kept. Seconds are
//! the app's clock, so a revocation shows within the allow TTL.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use hlsgate_aws::env::Env;
use hlsgate_core::video::VideoId;
use lru::LruCache;

use super::Decision;

/// How long decisions are kept, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTtls {
    pub allow: u64,
    pub deny: u64,
}

impl CacheTtls {
    pub const DEFAULT: CacheTtls = CacheTtls { allow: 5, deny: 1 };

    /// `ENTITLEMENT_CACHE_SECONDS` (0–300) and `ENTITLEMENT_DENY_CACHE_SECONDS`
    /// (0 to the allow TTL).
    pub fn from_env(env: &mut Env) -> CacheTtls {
        let d = CacheTtls::DEFAULT;
        let allow = env.int_in("ENTITLEMENT_CACHE_SECONDS", d.allow, 0, 300);
        let deny = env.int_in("ENTITLEMENT_DENY_CACHE_SECONDS", d.deny.min(allow), 0, 300);
        if deny > allow {
            env.problem(format!(
                "ENTITLEMENT_DENY_CACHE_SECONDS ({deny}) is longer than ENTITLEMENT_CACHE_SECONDS \
                 ({allow}): a purchase would wait longer than a revocation"
            ));
        }
        CacheTtls { allow, deny }
    }
}

/// Entries at most; the least recently used go first.
pub const CAPACITY: usize = 10_000;

#[derive(Debug)]
struct Entry {
    decision: Decision,
    /// Epoch second from which the entry is stale.
    stale_at: u64,
}

/// The cache; see the module.
#[derive(Debug)]
pub struct DecisionCache {
    ttls: CacheTtls,
    entries: Mutex<LruCache<(String, String), Entry>>,
}

impl DecisionCache {
    pub fn new(ttls: CacheTtls) -> Self {
        DecisionCache {
            ttls,
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    fn key(subject: &str, video: &VideoId) -> (String, String) {
        (subject.to_string(), video.as_str().to_string())
    }

    /// The kept decision, while fresh at `now`.
    pub fn get(&self, subject: &str, video: &VideoId, now: u64) -> Option<Decision> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = Self::key(subject, video);
        match entries.get(&key) {
            Some(e) if now < e.stale_at => Some(e.decision.clone()),
            Some(_) => {
                entries.pop(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps `decision`, made at `now`.
    pub fn put(&self, subject: &str, video: &VideoId, decision: &Decision, now: u64) {
        let stale_at = match decision {
            Decision::Allowed { until, .. } => {
                let kept = now.saturating_add(self.ttls.allow);
                until.map_or(kept, |u| kept.min(u))
            }
            Decision::Denied(_) => now.saturating_add(self.ttls.deny),
        };
        if stale_at <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.put(
            Self::key(subject, video),
            Entry {
                decision: decision.clone(),
                stale_at,
            },
        );
    }

    /// Entries held (fresh or not yet evicted).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> VideoId {
        VideoId::parse(s).unwrap()
    }

    #[test]
    fn allowed_kept_for_the_ttl_but_never_past_the_grant() {
        let c = DecisionCache::new(CacheTtls { allow: 5, deny: 1 });
        c.put("u", &id("a"), &Decision::ALLOWED, 100);
        assert_eq!(c.get("u", &id("a"), 104), Some(Decision::ALLOWED));
        assert_eq!(c.get("u", &id("a"), 105), None);
        // A rental ending in 2 s is kept 2 s, not 5.
        let rental = Decision::allowed_until(Some(102));
        c.put("u", &id("b"), &rental, 100);
        assert_eq!(c.get("u", &id("b"), 101), Some(rental));
        assert_eq!(c.get("u", &id("b"), 102), None);
        // Other viewers and videos are other entries.
        assert_eq!(c.get("v", &id("a"), 100), None);
    }

    #[test]
    fn denials_kept_shorter_and_zero_keeps_nothing() {
        let c = DecisionCache::new(CacheTtls { allow: 5, deny: 1 });
        let no = Decision::denied("no_grant", "none");
        c.put("u", &id("a"), &no, 100);
        assert_eq!(c.get("u", &id("a"), 100), Some(no.clone()));
        assert_eq!(c.get("u", &id("a"), 101), None);
        let off = DecisionCache::new(CacheTtls { allow: 0, deny: 0 });
        off.put("u", &id("a"), &Decision::ALLOWED, 100);
        off.put("u", &id("b"), &no, 100);
        assert!(off.is_empty());
    }

    #[test]
    fn deny_ttl_is_bounded_by_the_allow_ttl() {
        let read = |pairs: &[(&str, &str)]| {
            let mut env = Env::from_pairs(pairs.iter().copied());
            let t = CacheTtls::from_env(&mut env);
            env.finish().map(|()| t).map_err(|e| e.problems)
        };
        assert_eq!(read(&[]).unwrap(), CacheTtls::DEFAULT);
        assert_eq!(
            read(&[("ENTITLEMENT_CACHE_SECONDS", "0")]).unwrap(),
            CacheTtls { allow: 0, deny: 0 }
        );
        assert!(
            read(&[
                ("ENTITLEMENT_CACHE_SECONDS", "2"),
                ("ENTITLEMENT_DENY_CACHE_SECONDS", "3")
            ])
            .is_err()
        );
    }
}
