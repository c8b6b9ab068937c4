//! Playback sessions: a signature lives minutes, and the player renews it
//! while the viewer watches (`docs/sessions.md`).
//!
//! - `GET /playback/{videoId}` starts one: entitlement, then admission
//!   (the stream limit), then the signature and the session's id, times and
//!   end token.
//! - `POST /playback/{videoId}/sessions/{sessionId}` renews it: entitlement
//!   again (a revoked grant ends the session here), then the store says
//!   whether the session still holds, then a fresh signature.
//! - `DELETE …/sessions/{sessionId}` (bearer) and `POST …/end` (the end
//!   token, for `navigator.sendBeacon`) end it.
//! - `GET /playback/{videoId}/sessions` lists the viewer's active sessions.
//!
//! Without `SESSIONS_TABLE` sessions are stateless ([`SessionId::Stateless`]):
//! renewal and short signatures work, stream limits and ending a session
//! do not. With it ([`table::SessionsTable`]) every admission is a
//! conditional write.

pub mod table;

use hlsgate_aws::env::Env;
use hlsgate_core::mac::MacKey;
pub use hlsgate_core::session::{Lifetime, SessionId};
use hlsgate_core::session::{MAX_SLOTS, NONCE_BYTES};
use secrecy::ExposeSecret;
use serde::Serialize;

use self::table::{SessionsError, SessionsTable};
use crate::config::TtlPolicy;

/// `SIGNATURE_SECONDS`: how long each signature lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignatureRule {
    /// A fixed lifetime (default 300 s), renewed by the player.
    Seconds(u64),
    /// `SIGNATURE_SECONDS=duration`: the video's duration by the `TTL_*`
    /// rule, for players that cannot renew (hours; `docs/sessions.md`).
    Duration(TtlPolicy),
}

impl SignatureRule {
    /// Seconds a signature for a video of `duration` seconds lives.
    pub fn seconds(&self, duration: Option<f64>) -> u64 {
        match self {
            SignatureRule::Seconds(s) => *s,
            SignatureRule::Duration(p) => p.seconds(duration),
        }
    }

    /// The longest signature this rule makes.
    pub fn longest(&self) -> u64 {
        match self {
            SignatureRule::Seconds(s) => *s,
            SignatureRule::Duration(p) => p.max,
        }
    }
}

/// The default `SIGNATURE_SECONDS`.
pub const DEFAULT_SIGNATURE_SECONDS: u64 = 300;
/// The shortest signature the function makes (tests and local runs; the
/// template allows 60 and up).
pub const MIN_SIGNATURE_SECONDS: u64 = 5;
/// The longest fixed lifetime: a day.
pub const MAX_SIGNATURE_SECONDS: u64 = 86_400;

/// `STREAM_LIMIT`: what a start past `MAX_STREAMS` does.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
    strum::Display,
)]
#[strum(serialize_all = "kebab-case")]
pub enum StreamLimit {
    /// `409 too_many_streams`, listing the viewer's active sessions.
    Refuse,
    /// The oldest session is replaced; its next renewal is refused.
    EvictOldest,
}

/// The session settings.
#[derive(Debug, Clone)]
pub struct SessionsConfig {
    pub signature: SignatureRule,
    /// `SESSION_GRACE_SECONDS` (default twice the signature's lifetime):
    /// how long after its signature expired a session may still renew.
    pub grace: u64,
    /// `MAX_STREAMS` (default 0, no limit): active sessions per subject.
    pub max_streams: u16,
    /// `STREAM_LIMIT` (default `refuse`).
    pub limit: StreamLimit,
    /// `SESSIONS_TABLE`: where sessions are recorded; none is stateless.
    pub table: Option<String>,
}

impl SessionsConfig {
    /// Reads the settings; the `TTL_*` rule is read only for
    /// `SIGNATURE_SECONDS=duration`.
    pub fn from_env(env: &mut Env, ttl: impl FnOnce(&mut Env) -> TtlPolicy) -> SessionsConfig {
        let signature = match env.optional("SIGNATURE_SECONDS") {
            Some("duration") => SignatureRule::Duration(ttl(env)),
            _ => {
                let ttl_vars = [
                    "TTL_DURATION_FACTOR",
                    "TTL_MARGIN_SECONDS",
                    "TTL_MIN_SECONDS",
                    "TTL_MAX_SECONDS",
                ];
                if let Some(v) = ttl_vars.iter().find(|v| env.optional(v).is_some()) {
                    env.problem(format!(
                        "{v} applies only with SIGNATURE_SECONDS=duration (signatures as long as \
                         the video, for players that cannot renew); sessions renew signatures of \
                         SIGNATURE_SECONDS (default {DEFAULT_SIGNATURE_SECONDS})"
                    ));
                }
                SignatureRule::Seconds(env.int_in(
                    "SIGNATURE_SECONDS",
                    DEFAULT_SIGNATURE_SECONDS,
                    MIN_SIGNATURE_SECONDS,
                    MAX_SIGNATURE_SECONDS,
                ))
            }
        };
        let grace = env.int_in(
            "SESSION_GRACE_SECONDS",
            2 * signature.longest(),
            0,
            7 * 86_400,
        );
        let max_streams = env.int_in("MAX_STREAMS", 0, 0, u64::from(MAX_SLOTS));
        let limit_set = env.optional("STREAM_LIMIT").is_some();
        let limit = env.choice("STREAM_LIMIT", StreamLimit::Refuse);
        let table = env.optional("SESSIONS_TABLE").map(str::to_string);
        if max_streams > 0 && table.is_none() {
            env.problem(format!(
                "MAX_STREAMS={max_streams} needs SESSIONS_TABLE: streams are counted in the \
                 sessions table (stateless sessions cannot be counted)"
            ));
        }
        if limit_set && max_streams == 0 {
            env.problem("STREAM_LIMIT is set but MAX_STREAMS is 0 (no limit)");
        }
        SessionsConfig {
            signature,
            grace,
            max_streams: u16::try_from(max_streams).unwrap_or(MAX_SLOTS),
            limit,
            table,
        }
    }
}

/// A session as the viewer's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub video_id: String,
    /// What the device called itself at start (`?device=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Epoch seconds.
    pub started: u64,
    pub renewed: u64,
}

/// Why a session may not renew; as a string, the refusal's detail (the
/// `refused` line, the `SessionsRefused` metric's `Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case", prefix = "session_")]
pub enum Lapse {
    /// Ended: by the viewer, an operator, a revoked grant.
    Ended,
    /// Another session took its stream slot (`STREAM_LIMIT=evict-oldest`).
    Replaced,
    /// Its grace ran out, or it was never issued: start a new one.
    Expired,
}

/// How a session ended (`end_reason`, the `SessionsEnded` metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum EndReason {
    /// `DELETE` with the viewer's token.
    Viewer,
    /// The end token, from a closing page.
    Beacon,
    /// `hlsgate sessions end`.
    Operator,
    /// Renewal found the viewer no longer entitled.
    Revoked,
    /// Renewal found the playback rules no longer allow it (the window
    /// closed, another country, another site).
    Restricted,
    /// A newer session took its slot.
    Evicted,
}

/// What admission decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admitted {
        id: SessionId,
        /// The session it replaced (`evict-oldest`).
        evicted: Option<String>,
    },
    /// Every slot is held: the holders.
    Full(Vec<SessionInfo>),
}

/// A new session's facts.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub subject: &'a str,
    pub video: &'a str,
    pub device: Option<&'a str>,
    pub now: u64,
    /// When its first signature expires.
    pub signature_expires: u64,
    /// Streams the viewer may hold at once (the grant's, else
    /// `MAX_STREAMS`; 0 is no limit). Counted only with a table.
    pub max_streams: u16,
}

/// Where sessions live, and the key of their ids and end tokens.
#[derive(Debug)]
pub struct Sessions {
    pub config: SessionsConfig,
    key: Option<MacKey>,
    table: Option<SessionsTable>,
}

impl Sessions {
    /// Sessions keyed by `secret` (the pseudonym key): stateless until a
    /// table is given ([`Sessions::with_table`]).
    pub fn new(config: SessionsConfig, secret: Option<&secrecy::SecretString>) -> Sessions {
        let key = secret.and_then(|s| {
            MacKey::derive(
                hlsgate_core::session::KEY_LABEL,
                s.expose_secret().as_bytes(),
            )
        });
        Sessions {
            config,
            key,
            table: None,
        }
    }

    #[must_use]
    pub fn with_table(mut self, table: SessionsTable) -> Sessions {
        self.table = Some(table);
        self
    }

    /// `table` or `stateless`, for logs and metrics.
    pub fn store_name(&self) -> &'static str {
        if self.table.is_some() {
            "table"
        } else {
            "stateless"
        }
    }

    /// Whether streams can be counted (a table records sessions).
    pub fn counts_streams(&self) -> bool {
        self.table.is_some()
    }

    /// The MAC key; `None` only when the app was built without the
    /// pseudonym key, which config refuses.
    pub fn key(&self) -> Option<&MacKey> {
        self.key.as_ref()
    }

    /// A session is over at its signature's expiry plus the grace.
    pub fn lapses_at(&self, signature_expires: u64) -> u64 {
        signature_expires.saturating_add(self.config.grace)
    }

    /// Admits a new session, or says the viewer's streams are all in use.
    pub async fn start(
        &self,
        key: &MacKey,
        new: &NewSession<'_>,
        nonce: [u8; NONCE_BYTES],
    ) -> Result<Admission, SessionsError> {
        match &self.table {
            None => Ok(Admission::Admitted {
                id: SessionId::stateless(key, new.subject, new.video, new.now, nonce),
                evicted: None,
            }),
            Some(t) => {
                t.admit(
                    new,
                    nonce,
                    self.config.limit,
                    self.lapses_at(new.signature_expires),
                )
                .await
            }
        }
    }

    /// Whether `id` may renew for `subject` watching `video`, and if so,
    /// records the renewal (until `signature_expires` plus the grace).
    pub async fn renew(
        &self,
        key: &MacKey,
        subject: &str,
        video: &str,
        id: &SessionId,
        now: u64,
        signature_expires: u64,
    ) -> Result<Result<(), Lapse>, SessionsError> {
        match &self.table {
            None => Ok(if id.is_stateless_for(key, subject, video) {
                Ok(())
            } else {
                Err(Lapse::Expired)
            }),
            Some(t) => {
                t.renew(subject, video, id, now, self.lapses_at(signature_expires))
                    .await
            }
        }
    }

    /// Ends `id`; `false` when there was no such session to end (or the
    /// store keeps none).
    pub async fn end(
        &self,
        subject: &str,
        id: &SessionId,
        reason: EndReason,
        now: u64,
    ) -> Result<bool, SessionsError> {
        match &self.table {
            None => Ok(false),
            Some(t) => t.end(subject, id, reason, now).await,
        }
    }

    /// The viewer's active sessions (none when stateless).
    pub async fn list(&self, subject: &str, now: u64) -> Result<Vec<SessionInfo>, SessionsError> {
        match &self.table {
            None => Ok(Vec::new()),
            Some(t) => t.list(subject, now).await,
        }
    }
}

/// The device label a start may carry (`?device=`): at most 64 characters,
/// printable; anything else is dropped, not refused.
pub fn device_label(raw: Option<&str>) -> Option<String> {
    let s = raw?.trim();
    let ok = !s.is_empty() && s.chars().count() <= 64 && s.chars().all(|c| !c.is_control());
    ok.then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<SessionsConfig, String> {
        let mut env = Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let c = SessionsConfig::from_env(&mut env, |_| TtlPolicy::DEFAULT);
        env.finish().map_err(|e| e.to_string())?;
        Ok(c)
    }

    #[test]
    fn defaults_are_five_minute_signatures_and_a_grace_of_two() {
        let c = config(&[]).unwrap();
        assert_eq!(c.signature, SignatureRule::Seconds(300));
        assert_eq!(c.grace, 600);
        assert_eq!(
            (c.max_streams, c.limit, c.table),
            (0, StreamLimit::Refuse, None)
        );
        let c = config(&[("SIGNATURE_SECONDS", "10")]).unwrap();
        assert_eq!(c.grace, 20);
        let c = config(&[("SIGNATURE_SECONDS", "duration")]).unwrap();
        assert_eq!(c.signature, SignatureRule::Duration(TtlPolicy::DEFAULT));
        assert_eq!(c.signature.seconds(Some(7200.0)), 11_100);
    }

    #[test]
    fn inconsistent_settings_are_refused_with_the_variable_named() {
        for (pairs, says) in [
            (vec![("SIGNATURE_SECONDS", "4")], "SIGNATURE_SECONDS"),
            (vec![("SIGNATURE_SECONDS", "86401")], "SIGNATURE_SECONDS"),
            (vec![("SIGNATURE_SECONDS", "soon")], "SIGNATURE_SECONDS"),
            (
                vec![("TTL_MAX_SECONDS", "900")],
                "SIGNATURE_SECONDS=duration",
            ),
            (vec![("MAX_STREAMS", "2")], "needs SESSIONS_TABLE"),
            (
                vec![("MAX_STREAMS", "101"), ("SESSIONS_TABLE", "t")],
                "MAX_STREAMS",
            ),
            (vec![("STREAM_LIMIT", "refuse")], "MAX_STREAMS is 0"),
            (
                vec![
                    ("MAX_STREAMS", "2"),
                    ("SESSIONS_TABLE", "t"),
                    ("STREAM_LIMIT", "kick"),
                ],
                "STREAM_LIMIT",
            ),
        ] {
            let e = config(&pairs).unwrap_err();
            assert!(e.contains(says), "{pairs:?}: {e}");
        }
        let c = config(&[
            ("MAX_STREAMS", "2"),
            ("SESSIONS_TABLE", "t"),
            ("STREAM_LIMIT", "evict-oldest"),
        ])
        .unwrap();
        assert_eq!(c.limit, StreamLimit::EvictOldest);
    }

    #[test]
    fn a_lapse_is_named_as_the_refusal_details_and_metrics_name_it() {
        let names: Vec<&str> = [Lapse::Ended, Lapse::Replaced, Lapse::Expired]
            .into_iter()
            .map(Into::into)
            .collect();
        assert_eq!(
            names,
            ["session_ended", "session_replaced", "session_expired"]
        );
        assert_eq!(<&str>::from(EndReason::Revoked), "revoked");
    }

    #[test]
    fn device_labels_are_short_printable_text() {
        assert_eq!(device_label(Some(" TV ")).as_deref(), Some("TV"));
        assert_eq!(device_label(Some("")), None);
        assert_eq!(device_label(Some("a\nb")), None);
        assert_eq!(device_label(Some(&"x".repeat(65))), None);
        assert_eq!(device_label(None), None);
    }
}
