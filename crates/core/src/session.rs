//! Playback sessions: their ids, their end tokens, and when they renew.
//!
//! A playback is a session: the issuer signs the video's folder for a few
//! minutes, and the player renews the signature while the viewer watches.
//! Two kinds of id:
//! - **tracked** (`t…`): 128 random bits, recorded in the sessions table,
//!   with the stream slot it holds when streams are limited (`t….1`). The
//!   table decides whether it may renew.
//! - **stateless** (`s…`): the start, 128 random bits and a MAC over the
//!   subject, the video, the start and those bits. Any issuer with the key
//!   can check it; nothing can end it but the viewer's entitlement.
//!
//! The **end token** lets a page that is closing end its own session with
//! `navigator.sendBeacon`, which carries no `Authorization`: it names the
//! subject and holds a MAC over the subject, the video and the session id,
//! so it ends that one session and nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::mac::MacKey;

/// Random bytes in every id.
pub const NONCE_BYTES: usize = 16;
/// Bytes of MAC kept in an id or an end token (128 bits).
pub const TAG_BYTES: usize = 16;
/// The most stream slots a subject can have.
pub const MAX_SLOTS: u16 = 100;
/// The longest subject an end token carries.
pub const MAX_SUBJECT_BYTES: usize = 512;
/// The longest id or token read.
pub const MAX_TOKEN_BYTES: usize = 1024;

const TRACKED: char = 't';
const STATELESS: char = 's';
/// The label the session key is derived under ([`MacKey::derive`]).
pub const KEY_LABEL: &str = "hlsgate playback session v1";

/// A session id, as the answers and the routes carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionId {
    Tracked {
        nonce: [u8; NONCE_BYTES],
        /// The stream slot it holds, when streams are limited.
        slot: Option<u16>,
    },
    Stateless {
        start: u64,
        nonce: [u8; NONCE_BYTES],
        tag: [u8; TAG_BYTES],
    },
}

impl SessionId {
    /// A new tracked id.
    pub fn tracked(nonce: [u8; NONCE_BYTES], slot: Option<u16>) -> SessionId {
        SessionId::Tracked { nonce, slot }
    }

    /// A new stateless id for `subject` watching `video`, started at `start`.
    pub fn stateless(
        key: &MacKey,
        subject: &str,
        video: &str,
        start: u64,
        nonce: [u8; NONCE_BYTES],
    ) -> SessionId {
        let start_bytes = start.to_be_bytes();
        let full = key.tag(&Self::stateless_fields(
            subject,
            video,
            &start_bytes,
            &nonce,
        ));
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        SessionId::Stateless { start, nonce, tag }
    }

    fn stateless_fields<'a>(
        subject: &'a str,
        video: &'a str,
        start: &'a [u8; 8],
        nonce: &'a [u8; NONCE_BYTES],
    ) -> [&'a [u8]; 5] {
        [
            b"session",
            subject.as_bytes(),
            video.as_bytes(),
            start,
            nonce,
        ]
    }

    /// True for a stateless id this key made for `subject` and `video`;
    /// false for any other id.
    pub fn is_stateless_for(&self, key: &MacKey, subject: &str, video: &str) -> bool {
        let SessionId::Stateless { start, nonce, tag } = self else {
            return false;
        };
        let start_bytes = start.to_be_bytes();
        key.verify(
            &Self::stateless_fields(subject, video, &start_bytes, nonce),
            tag,
        )
    }

    /// When it started, for a stateless id.
    pub fn start(&self) -> Option<u64> {
        match self {
            SessionId::Stateless { start, .. } => Some(*start),
            SessionId::Tracked { .. } => None,
        }
    }

    /// The slot a tracked id holds.
    pub fn slot(&self) -> Option<u16> {
        match self {
            SessionId::Tracked { slot, .. } => *slot,
            SessionId::Stateless { .. } => None,
        }
    }

    /// The random part, encoded: what a table keys an unlimited session by.
    pub fn nonce_text(&self) -> String {
        match self {
            SessionId::Tracked { nonce, .. } | SessionId::Stateless { nonce, .. } => {
                URL_SAFE_NO_PAD.encode(nonce)
            }
        }
    }

    /// Reads an id; `None` for anything this module did not write.
    pub fn parse(s: &str) -> Option<SessionId> {
        if s.len() > MAX_TOKEN_BYTES || !s.is_ascii() {
            return None;
        }
        let mut chars = s.chars();
        let kind = chars.next()?;
        let rest = chars.as_str();
        match kind {
            TRACKED => {
                let (nonce, slot) = match rest.split_once('.') {
                    Some((n, slot)) => {
                        // Canonical digits only: one id, one spelling.
                        let ok = !slot.is_empty()
                            && slot.bytes().all(|b| b.is_ascii_digit())
                            && (slot == "0" || !slot.starts_with('0'));
                        let slot: u16 = slot.parse().ok().filter(|_| ok)?;
                        (n, Some(slot).filter(|s| *s < MAX_SLOTS)?)
                    }
                    None => (rest, u16::MAX),
                };
                let nonce: [u8; NONCE_BYTES] =
                    URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
                Some(SessionId::Tracked {
                    nonce,
                    slot: (slot != u16::MAX).then_some(slot),
                })
            }
            STATELESS => {
                let bytes = URL_SAFE_NO_PAD.decode(rest).ok()?;
                if bytes.len() != 8 + NONCE_BYTES + TAG_BYTES {
                    return None;
                }
                let (start, rest) = bytes.split_at(8);
                let (nonce, tag) = rest.split_at(NONCE_BYTES);
                Some(SessionId::Stateless {
                    start: u64::from_be_bytes(start.try_into().ok()?),
                    nonce: nonce.try_into().ok()?,
                    tag: tag.try_into().ok()?,
                })
            }
            _ => None,
        }
    }

    /// The end token for this session of `subject` watching `video`.
    pub fn end_token(&self, key: &MacKey, subject: &str, video: &str) -> String {
        let id = self.to_string();
        let tag = key.tag(&[b"end", subject.as_bytes(), video.as_bytes(), id.as_bytes()]);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(subject),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        )
    }

    /// The subject of an end token made for this session and `video`;
    /// `None` for any other token. The MAC is checked before the subject
    /// is read as text.
    pub fn end_token_subject(&self, key: &MacKey, token: &str, video: &str) -> Option<String> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let (subject, tag) = token.split_once('.')?;
        let subject = URL_SAFE_NO_PAD.decode(subject).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if subject.len() > MAX_SUBJECT_BYTES || tag.len() != TAG_BYTES {
            return None;
        }
        let id = self.to_string();
        key.verify(&[b"end", &subject, video.as_bytes(), id.as_bytes()], &tag)
            .then(|| String::from_utf8(subject).ok())
            .flatten()
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionId::Tracked { nonce, slot } => {
                write!(f, "{TRACKED}{}", URL_SAFE_NO_PAD.encode(nonce))?;
                if let Some(s) = slot {
                    write!(f, ".{s}")?;
                }
                Ok(())
            }
            SessionId::Stateless { start, nonce, tag } => {
                let mut bytes = Vec::with_capacity(8 + NONCE_BYTES + TAG_BYTES);
                bytes.extend_from_slice(&start.to_be_bytes());
                bytes.extend_from_slice(nonce);
                bytes.extend_from_slice(tag);
                write!(f, "{STATELESS}{}", URL_SAFE_NO_PAD.encode(bytes))
            }
        }
    }
}

/// One signature's times: when it expires, and when the player should
/// renew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub expires: u64,
    /// Two thirds of the way: a renewal that fails has a third of the
    /// lifetime left to be tried again.
    pub refresh_at: u64,
}

impl Lifetime {
    /// A signature made at `now` for `seconds`, never past `cap` (the end
    /// of the viewer's grant).
    pub fn new(now: u64, seconds: u64, cap: Option<u64>) -> Lifetime {
        let by_rule = now.saturating_add(seconds);
        let expires = cap.map_or(by_rule, |c| by_rule.min(c));
        let life = expires.saturating_sub(now);
        Lifetime {
            expires,
            refresh_at: now + (life * 2).div_ceil(3).min(life),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MacKey {
        MacKey::derive(KEY_LABEL, b"test-only").unwrap()
    }

    #[test]
    fn tracked_ids_round_trip_with_and_without_a_slot() {
        for slot in [None, Some(0), Some(7), Some(MAX_SLOTS - 1)] {
            let id = SessionId::tracked([7; 16], slot);
            let text = id.to_string();
            assert!(text.starts_with('t'), "{text}");
            assert_eq!(SessionId::parse(&text), Some(id.clone()), "{text}");
            assert_eq!(id.slot(), slot);
        }
        let base = SessionId::tracked([7; 16], None).to_string();
        for bad in [
            format!("{base}."),
            format!("{base}.01"),
            format!("{base}.-1"),
            format!("{base}.{MAX_SLOTS}"),
            format!("{base}.1.2"),
            base[..base.len() - 1].to_string(),
            format!("x{}", &base[1..]),
            String::new(),
            "é".into(),
        ] {
            assert_eq!(SessionId::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_stateless_id_is_bound_to_its_subject_video_and_start() {
        let k = key();
        let id = SessionId::stateless(&k, "alice", "intro", 1_800_000_000, [9; 16]);
        let text = id.to_string();
        let back = SessionId::parse(&text).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.start(), Some(1_800_000_000));
        assert!(back.is_stateless_for(&k, "alice", "intro"));
        assert!(!back.is_stateless_for(&k, "bob", "intro"));
        assert!(!back.is_stateless_for(&k, "alice", "outro"));
        assert!(!back.is_stateless_for(
            &MacKey::derive(KEY_LABEL, b"x").unwrap(),
            "alice",
            "intro"
        ));
        let SessionId::Stateless { nonce, tag, .. } = back else {
            unreachable!()
        };
        let moved = SessionId::Stateless {
            start: 1_800_000_001,
            nonce,
            tag,
        };
        assert!(!moved.is_stateless_for(&k, "alice", "intro"));
        assert!(!SessionId::tracked([9; 16], None).is_stateless_for(&k, "alice", "intro"));
    }

    #[test]
    fn an_end_token_ends_one_session_only() {
        let k = key();
        let id = SessionId::tracked([1; 16], Some(0));
        let other = SessionId::tracked([2; 16], Some(0));
        let token = id.end_token(&k, "alice", "intro");
        assert_eq!(
            id.end_token_subject(&k, &token, "intro").as_deref(),
            Some("alice")
        );
        assert_eq!(other.end_token_subject(&k, &token, "intro"), None);
        assert_eq!(id.end_token_subject(&k, &token, "outro"), None);
        // Another subject's name with this tag.
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("bob"));
        assert_eq!(id.end_token_subject(&k, &forged, "intro"), None);
        for junk in ["", ".", "a.b", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert_eq!(id.end_token_subject(&k, junk, "intro"), None, "{junk}");
        }
    }

    #[test]
    fn a_lifetime_renews_at_two_thirds_and_never_outlives_the_cap() {
        assert_eq!(
            Lifetime::new(1000, 300, None),
            Lifetime {
                expires: 1300,
                refresh_at: 1200
            }
        );
        assert_eq!(
            Lifetime::new(1000, 10, None),
            Lifetime {
                expires: 1010,
                refresh_at: 1007
            }
        );
        assert_eq!(
            Lifetime::new(1000, 300, Some(1030)),
            Lifetime {
                expires: 1030,
                refresh_at: 1020
            }
        );
        assert_eq!(Lifetime::new(1000, 300, Some(1000)).refresh_at, 1000);
    }
}
