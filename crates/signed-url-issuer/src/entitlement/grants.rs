//! A grant: one viewer may watch one video, or a collection, in a window of
//! time. The table's item layout and the rule that turns grants into a
//! decision, shared by the issuer, `hlsgate grant` and the local stack.
//!
//! One item per grant (see `docs/entitlement.md`):
//!
//! | attribute    | type | what |
//! |--------------|------|------|
//! | `subject`    | S    | partition key: the viewer's subject claim |
//! | `video`      | S    | sort key: a video id, or `*` + a prefix for a collection (`*course-101-`; `*` alone is everything) |
//! | `expires_at` | N    | optional: epoch seconds the grant ends (the table's TTL attribute) |
//! | `not_before` | N    | optional: epoch seconds the grant starts |
//! | `countries`  | SS or L of S | optional: ISO 3166-1 alpha-2 codes; the grant holds only there (a regional plan) |
//! | `max_streams`| N    | optional: the plan's screens, over `MAX_STREAMS` (0: no limit) |
//!
//! A video id never holds `*`, so the two kinds of sort key cannot meet, and
//! a viewer's collection grants are one `begins_with(video, "*")` range.

use std::borrow::Cow;
use std::fmt;

use hlsgate_core::video::VideoId;

use hlsgate_core::rules::{Countries, Country};
use hlsgate_core::session::MAX_SLOTS;

use super::{Decision, Terms};

/// Attribute names, declared once.
pub mod attr {
    pub const SUBJECT: &str = "subject";
    pub const VIDEO: &str = "video";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const NOT_BEFORE: &str = "not_before";
    pub const COUNTRIES: &str = "countries";
    pub const MAX_STREAMS: &str = "max_streams";
}

/// The denials' codes (the `refused` line's `detail`, the `Refusals`
/// metric's `Reason`).
pub const GRANT_EXPIRED: &str = "grant_expired";
pub const GRANT_NOT_YET: &str = "grant_not_yet";
pub const NO_GRANT: &str = "no_grant";
/// An end that is not whole epoch seconds up to [`LAST_EPOCH`]: negative,
/// not finite, not a number, or milliseconds by mistake.
pub const GRANT_MALFORMED: &str = "grant_malformed";

/// The last second a grant's end may name, 9999-12-31T23:59:59Z: the
/// answer's RFC 3339 times have four-digit years. An end before it but past
/// what a signature can carry is capped by the TTL rule, as every end is.
pub const LAST_EPOCH: u64 = 253_402_300_799;

/// A grant's end or start as stored or answered (`1767225600`, `1.7672256e9`,
/// `1767225600.0`): whole epoch seconds, at most [`LAST_EPOCH`]; `None` for
/// anything else.
pub fn parse_epoch(text: &str) -> Option<u64> {
    let seconds = text.parse::<u64>().ok().or_else(|| {
        // DynamoDB and JSON numbers may be written with a fraction or an
        // exponent: whole seconds only (rounding inwards or outwards would
        // be wrong for one of the two ends).
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
            // Saturates past u64::MAX, which the bound below refuses.
            .map(|f| f as u64)
    })?;
    (seconds <= LAST_EPOCH).then_some(seconds)
}

/// The first character of a collection's sort key.
pub const COLLECTION_MARK: char = '*';

/// What a grant covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Video(VideoId),
    /// Every id starting with the prefix (empty: every video).
    Collection(String),
}

impl Target {
    /// As people write it: `intro`, `course-101-*`, `*`.
    pub fn parse(s: &str) -> Result<Target, String> {
        match s.strip_suffix(COLLECTION_MARK) {
            Some(prefix) => {
                let ok = prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok || prefix.len() >= hlsgate_core::video::MAX_VIDEO_ID_BYTES {
                    return Err(format!(
                        "{s:?}: a collection is a video id prefix (letters, digits, - and _) \
                         followed by *"
                    ));
                }
                Ok(Target::Collection(prefix.to_string()))
            }
            None => VideoId::parse(s)
                .map(Target::Video)
                .map_err(|e| format!("{s:?}: {e} (a collection ends in *)")),
        }
    }

    /// The table's sort key.
    pub fn sort_key(&self) -> String {
        match self {
            Target::Video(id) => id.to_string(),
            Target::Collection(prefix) => format!("{COLLECTION_MARK}{prefix}"),
        }
    }

    /// From the table's sort key.
    pub fn from_sort_key(key: &str) -> Result<Target, String> {
        match key.strip_prefix(COLLECTION_MARK) {
            Some(prefix) => Target::parse(&format!("{prefix}{COLLECTION_MARK}")),
            None => Target::parse(key),
        }
    }

    /// True when this target covers `video`.
    pub fn covers(&self, video: &VideoId) -> bool {
        match self {
            Target::Video(id) => id == video,
            Target::Collection(prefix) => video.as_str().starts_with(prefix.as_str()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Video(id) => f.write_str(id.as_str()),
            Target::Collection(prefix) => write!(f, "{prefix}{COLLECTION_MARK}"),
        }
    }
}

/// When a grant holds: `[not_before, expires_at)`, either end open. An end
/// past [`LAST_EPOCH`] makes the window [`State::Malformed`]
/// ([`Window::MALFORMED`] stands for an end that is not a number at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub not_before: Option<u64>,
    pub expires_at: Option<u64>,
}

/// Where `now` falls in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotYet(u64),
    Valid(Option<u64>),
    Expired(u64),
    Malformed,
}

impl Window {
    /// A grant whose ends could not be read: it grants nothing, and says so.
    pub const MALFORMED: Window = Window {
        not_before: None,
        expires_at: Some(u64::MAX),
    };

    pub fn state(&self, now: u64) -> State {
        let past_end = |e: Option<u64>| e.is_some_and(|s| s > LAST_EPOCH);
        if past_end(self.not_before) || past_end(self.expires_at) {
            return State::Malformed;
        }
        match (self.not_before, self.expires_at) {
            (Some(start), _) if now < start => State::NotYet(start),
            // DynamoDB's TTL deletes expired items late (within days):
            // our own clock decides.
            (_, Some(end)) if now >= end => State::Expired(end),
            (_, end) => State::Valid(end),
        }
    }
}

/// One grant, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject: String,
    pub target: Target,
    pub window: Window,
    pub terms: Terms,
}

/// A grant's terms from what a store holds: country codes (an allow list)
/// and a stream count of 0 to [`MAX_SLOTS`]. `Err` says what is wrong; such
/// a grant grants nothing ([`Window::MALFORMED`]).
pub fn read_terms<'a>(
    countries: Option<impl IntoIterator<Item = &'a str>>,
    max_streams: Option<&str>,
) -> Result<Terms, String> {
    let countries = match countries {
        None => None,
        Some(codes) => {
            let list = codes
                .into_iter()
                .map(str::parse::<Country>)
                .collect::<Result<Vec<_>, _>>()?;
            let c = Countries::Allow(list);
            c.check()?;
            Some(c)
        }
    };
    let max_streams = match max_streams {
        None => None,
        Some(n) => Some(
            n.parse::<u16>()
                .ok()
                .filter(|n| *n <= MAX_SLOTS)
                .ok_or_else(|| format!("max_streams {n:?} is not 0 to {MAX_SLOTS}"))?,
        ),
    };
    Ok(Terms {
        countries,
        max_streams,
    })
}

/// The decision from every grant that covers a video, or the problems of
/// items that could not be read. A valid grant allows: the one that lasts
/// longest (no end beats any end; the first of equals), with its terms;
/// else a grant that starts later says `grant_not_yet`,
/// one that cannot be read `grant_malformed`, an ended one `grant_expired`;
/// nothing at all is `no_grant`.
pub fn decide<'a>(grants: impl IntoIterator<Item = (Window, &'a Terms)>, now: u64) -> Decision {
    let mut best: Option<(Option<u64>, &Terms)> = None;
    let mut not_yet: Option<u64> = None;
    let mut expired: Option<u64> = None;
    let mut malformed = false;
    for (w, terms) in grants {
        match w.state(now) {
            State::Valid(end) => {
                let longer = match (best, end) {
                    (None, _) => true,
                    (Some((None, _)), _) => false,
                    (Some((Some(_), _)), None) => true,
                    (Some((Some(a), _)), Some(b)) => b > a,
                };
                if longer {
                    best = Some((end, terms));
                }
            }
            State::NotYet(start) => not_yet = Some(not_yet.map_or(start, |s| s.min(start))),
            State::Expired(end) => expired = Some(expired.map_or(end, |e| e.max(end))),
            State::Malformed => malformed = true,
        }
    }
    match (best, not_yet, expired) {
        (Some((until, terms)), _, _) => Decision::Allowed {
            until,
            terms: terms.clone(),
        },
        (None, None, _) if malformed => Decision::denied(
            GRANT_MALFORMED,
            Cow::Owned(format!(
                "a grant's end is not whole epoch seconds up to {LAST_EPOCH}"
            )),
        ),
        (None, Some(start), _) => Decision::denied(
            GRANT_NOT_YET,
            Cow::Owned(format!("the grant starts at {start} (now {now})")),
        ),
        (None, None, Some(end)) => Decision::denied(
            GRANT_EXPIRED,
            Cow::Owned(format!("the grant ended at {end} (now {now})")),
        ),
        (None, None, None) => Decision::denied(NO_GRANT, "no grant for this viewer and video"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> VideoId {
        VideoId::parse(s).unwrap()
    }

    #[test]
    fn targets_round_trip_through_the_sort_key() {
        for s in ["intro", "course-101-*", "*", "a_b*"] {
            let t = Target::parse(s).unwrap();
            assert_eq!(t.to_string(), s);
            assert_eq!(Target::from_sort_key(&t.sort_key()).unwrap(), t);
        }
        assert_eq!(Target::parse("course-*").unwrap().sort_key(), "*course-");
        assert_eq!(Target::parse("*").unwrap().sort_key(), "*");
        for bad in ["", "a*b", "a b*", "**", "a/b", "x.y*"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        let c = Target::parse("course-1*").unwrap();
        assert!(c.covers(&id("course-1")));
        assert!(c.covers(&id("course-12")));
        assert!(!c.covers(&id("course-2")));
        assert!(Target::parse("*").unwrap().covers(&id("anything")));
        assert!(!Target::parse("intro").unwrap().covers(&id("intro2")));
    }

    /// Windows without terms.
    fn decide(windows: &[Window], now: u64) -> Decision {
        super::decide(windows.iter().map(|w| (*w, &Terms::NONE)), now)
    }

    #[test]
    fn the_longest_grant_decides_with_its_terms() {
        let w = |ex: Option<u64>| Window {
            not_before: None,
            expires_at: ex,
        };
        let t = |n: u16| read_terms(Some(["DE"]), Some(&n.to_string())).unwrap();
        let (one, two, three) = (t(1), t(2), t(3));
        let terms = |d: Decision| match d {
            Decision::Allowed { terms, .. } => terms.max_streams,
            Decision::Denied(_) => None,
        };
        let g = [
            (w(Some(1500)), &one),
            (w(None), &two),
            (w(Some(1800)), &three),
        ];
        assert_eq!(terms(super::decide(g, 1000)), Some(2));
        let g = [
            (w(Some(1500)), &one),
            (w(Some(1800)), &three),
            (w(Some(900)), &two),
        ];
        assert_eq!(terms(super::decide(g, 1000)), Some(3));
        assert_eq!(
            one.countries,
            Some(Countries::Allow(vec!["DE".parse().unwrap()]))
        );
    }

    #[test]
    fn terms_are_country_codes_and_a_stream_count() {
        assert_eq!(read_terms(None::<[&str; 0]>, None), Ok(Terms::NONE));
        assert_eq!(
            read_terms(None::<[&str; 0]>, Some("0"))
                .unwrap()
                .max_streams,
            Some(0)
        );
        for (countries, streams) in [
            (Some(vec!["XX"]), None),
            (Some(vec![]), None),
            (None, Some("101")),
            (None, Some("-1")),
            (None, Some("1.5")),
        ] {
            assert!(
                read_terms(countries.clone(), streams).is_err(),
                "{countries:?} {streams:?}"
            );
        }
    }

    #[test]
    fn the_best_valid_grant_wins_and_refusals_say_why() {
        let w = |nb: Option<u64>, ex: Option<u64>| Window {
            not_before: nb,
            expires_at: ex,
        };
        let now = 1000;
        assert_eq!(
            decide(&[w(None, Some(1500)), w(None, Some(1200))], now),
            Decision::allowed_until(Some(1500))
        );
        assert_eq!(
            decide(&[w(None, Some(1500)), w(None, None)], now),
            Decision::ALLOWED
        );
        // The window is [not_before, expires_at).
        assert_eq!(
            decide(&[w(Some(1000), Some(1001))], now),
            Decision::allowed_until(Some(1001))
        );
        let detail = |d: Decision| match d {
            Decision::Denied(d) => d.detail,
            Decision::Allowed { .. } => "allowed",
        };
        assert_eq!(detail(decide(&[w(None, Some(1000))], now)), "grant_expired");
        assert_eq!(detail(decide(&[w(Some(1001), None)], now)), "grant_not_yet");
        assert_eq!(
            detail(decide(&[w(None, Some(10)), w(Some(2000), None)], now)),
            "grant_not_yet"
        );
        assert_eq!(detail(decide(&[], now)), "no_grant");
        // Milliseconds by mistake, or an end that could not be read.
        assert_eq!(
            detail(decide(&[w(None, Some(253_402_300_800))], now)),
            "grant_malformed"
        );
        assert_eq!(
            detail(decide(&[Window::MALFORMED, w(None, Some(10))], now)),
            "grant_malformed"
        );
        assert_eq!(
            decide(&[Window::MALFORMED, w(None, Some(LAST_EPOCH))], now),
            Decision::allowed_until(Some(LAST_EPOCH))
        );
    }

    #[test]
    fn epochs_are_whole_seconds_up_to_year_9999() {
        assert_eq!(parse_epoch("1767225600"), Some(1_767_225_600));
        assert_eq!(parse_epoch("1767225600.0"), Some(1_767_225_600));
        assert_eq!(parse_epoch("1.7672256e9"), Some(1_767_225_600));
        assert_eq!(parse_epoch("253402300799"), Some(LAST_EPOCH));
        for bad in [
            "253402300800",
            "1e30",
            "-5",
            "1.5",
            "NaN",
            "inf",
            "tomorrow",
            "18446744073709551616",
        ] {
            assert_eq!(parse_epoch(bad), None, "{bad}");
        }
    }
}
