//! What a probe found: one line per check, the timings, and how the run
//! ended; as a table for a person and as JSON for CI
//! (`docs/probe.schema.json` is the JSON's schema, and a test holds the
//! output to it).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// The part of the probe a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Part {
    /// What a player does, expecting it to work.
    Play,
    /// What an attacker tries, expecting a refusal.
    Attack,
    /// Renewing and ending the session.
    Session,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not run: what it needs is missing (a failed step before it, or a
    /// feature the deployment does not have); `got` says which.
    Skip,
}

/// Why a check failed: one stable code per fault (the docs list them all,
/// and a test holds the list to this enum). Attack problems are security
/// findings.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Problem {
    // The player's path.
    /// A request got no answer (after the first, which exits 3).
    Unreachable,
    /// The issuer did not answer 200 to the token.
    IssuerRefused,
    /// The issuer's 200 is not a playback answer.
    IssuerAnswer,
    /// A signed answer (the issuer's, a key) may be cached.
    AnswerCacheable,
    /// A signed playlist may be cached.
    PlaylistCacheable,
    /// A playlist came from CloudFront's cache (`X-Cache: Hit`).
    PlaylistFromCache,
    /// `--origin` is not allowed by CORS, or without credentials in
    /// cookie mode.
    CorsMissing,
    /// Cookie mode: the four cookies are not all set, or not for the folder.
    CookiesIncomplete,
    /// The signature's key id is not in the key group given.
    UnknownKeyId,
    /// The signature does not verify with the key it names.
    BadSignature,
    /// The signature's policy has expired.
    Expired,
    /// The policy starts later.
    NotYetValid,
    /// The policy's resource does not cover the URL.
    ResourceMismatch,
    /// The policy binds a viewer address.
    IpBound,
    /// The signing values cannot be read.
    SignatureMalformed,
    /// A signed request was refused for a reason the probe cannot see.
    Refused,
    /// A 404 where the ladder should be.
    NotFound,
    /// Another status where a 200 (or 206) was expected.
    BadStatus,
    /// Not a playlist: its type, or no `#EXTM3U`.
    NotAPlaylist,
    /// URL mode: a URI without the folder's signature.
    UriUnsigned,
    /// A URI that leaves the playlist's origin.
    UriOtherOrigin,
    /// Cookie mode: a URI outside the folder the cookies cover.
    UriOutsideFolder,
    /// The key is not 16 bytes.
    KeyInvalid,
    /// A range request answered with the whole object.
    RangeIgnored,
    /// The renewal or the end was refused.
    SessionRefused,
    // The attacker's tries.
    /// A playlist served without a signature.
    UnsignedPlaylistServed,
    /// A changed signature accepted.
    TamperedSignatureAccepted,
    /// The folder's signature opened another folder.
    OtherFolderOpened,
    /// A segment served without a signature.
    UnsignedSegmentServed,
    /// A key served without a signature.
    UnsignedKeyServed,
    /// A private prefix (`keys/`, `status/`, …) served through the distribution.
    PrivatePathReachable,
    /// The forwarded `-PREFIX` copy accepted without CloudFront's parameters.
    CopyAloneAccepted,
    /// A policy with a past expiry accepted with the old signature.
    ExpiredPolicyAccepted,
    /// CORS allows an origin nobody configured.
    CorsAnyOrigin,
}

impl Problem {
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Every problem, in declaration order.
    pub fn all() -> impl Iterator<Item = Problem> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// A refusal that did not happen: the deployment is open.
    pub fn is_security(self) -> bool {
        self >= Problem::UnsignedPlaylistServed
    }
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable: `play.master`, `attack.unsigned-segment`, …
    pub id: &'static str,
    pub part: Part,
    pub outcome: Outcome,
    pub expected: String,
    pub got: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// A failed refusal: the deployment is open to it.
    pub security: bool,
    /// Why, when it failed: the verifier's reason, or the likely causes in
    /// order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

impl Check {
    pub fn new(id: &'static str, part: Part, expected: impl Into<String>) -> Check {
        Check {
            id,
            part,
            outcome: Outcome::Pass,
            expected: expected.into(),
            got: String::new(),
            problem: None,
            security: false,
            why: Vec::new(),
        }
    }

    pub fn pass(mut self, got: impl Into<String>) -> Check {
        self.outcome = Outcome::Pass;
        self.got = got.into();
        self
    }

    pub fn fail(mut self, problem: Problem, got: impl Into<String>) -> Check {
        self.outcome = Outcome::Fail;
        self.problem = Some(problem);
        self.security = problem.is_security();
        self.got = got.into();
        self
    }

    pub fn skip(mut self, why: impl Into<String>) -> Check {
        self.outcome = Outcome::Skip;
        self.got = why.into();
        self
    }

    pub fn why(mut self, why: Vec<String>) -> Check {
        self.why = why;
        self
    }

    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Fail
    }
}

/// Milliseconds, for the JSON.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How long things took, as the probe saw them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// The issuer's answer to the start.
    #[serde(serialize_with = "opt_ms", rename = "issuer_ms")]
    pub issuer: Option<Duration>,
    /// The master playlist, whole.
    #[serde(serialize_with = "opt_ms", rename = "first_playlist_ms")]
    pub first_playlist: Option<Duration>,
    /// The median time to the first byte of the segments fetched.
    #[serde(serialize_with = "opt_ms", rename = "segment_ttfb_p50_ms")]
    pub segment_ttfb_p50: Option<Duration>,
    pub segments_fetched: usize,
    /// CloudFront's `X-Cache` values, counted (`Miss from cloudfront`: 3).
    pub x_cache: std::collections::BTreeMap<String, usize>,
}

fn opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&ms(*d)),
        None => s.serialize_none(),
    }
}

/// The median of some durations.
pub fn p50(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len().checked_sub(1)? / 2).copied()
}

/// What was probed.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub issuer: String,
    pub video: String,
    /// The mode asked for; the issuer's default when `None`.
    pub mode: Option<&'static str>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The JSON's version: a field removed or changed in meaning bumps it.
    pub schema: u32,
    pub target: Target,
    pub passed: bool,
    pub checks: Vec<Check>,
    pub timings: Timings,
    pub summary: Summary,
}

/// Counts of the outcomes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Failed checks that are security findings.
    pub security_findings: usize,
}

/// The JSON's version.
pub const SCHEMA_VERSION: u32 = 1;

impl Report {
    pub fn new(target: Target, checks: Vec<Check>, timings: Timings) -> Report {
        let mut summary = Summary::default();
        for c in &checks {
            match c.outcome {
                Outcome::Pass => summary.passed += 1,
                Outcome::Fail => summary.failed += 1,
                Outcome::Skip => summary.skipped += 1,
            }
            if c.security && c.failed() {
                summary.security_findings += 1;
            }
        }
        Report {
            schema: SCHEMA_VERSION,
            target,
            passed: summary.failed == 0,
            checks,
            timings,
            summary,
        }
    }

    /// The distinct problems found.
    pub fn problems(&self) -> std::collections::BTreeSet<Problem> {
        self.checks.iter().filter_map(|c| c.problem).collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The table a person reads.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "hlsgate probe: {} video {} ({} mode)\n",
            self.target.issuer,
            self.target.video,
            self.target.mode.unwrap_or("the issuer's default")
        );
        let id_width = self
            .checks
            .iter()
            .map(|c| c.id.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let exp_width = self
            .checks
            .iter()
            .map(|c| c.expected.chars().count())
            .max()
            .unwrap_or(8)
            .clamp(8, 44);
        let _ = writeln!(
            out,
            "  {:id_width$}  {:6}  {:exp_width$}  GOT",
            "CHECK", "RESULT", "EXPECTED"
        );
        for c in &self.checks {
            let result = match (c.outcome, c.security) {
                (Outcome::Fail, true) => "OPEN",
                (Outcome::Fail, false) => "FAIL",
                (Outcome::Pass, _) => "pass",
                (Outcome::Skip, _) => "skip",
            };
            let mut got = c.got.clone();
            if let Some(p) = c.problem {
                let _ = write!(got, " [{}]", p.code());
            }
            let _ = writeln!(
                out,
                "  {:id_width$}  {:6}  {:exp_width$}  {}",
                c.id, result, c.expected, got
            );
            for line in &c.why {
                let _ = writeln!(out, "  {:id_width$}          why: {line}", "");
            }
        }
        let t = &self.timings;
        let show =
            |d: Option<Duration>| d.map_or_else(|| "-".to_string(), |d| format!("{} ms", ms(d)));
        let _ = write!(
            out,
            "\ntimings: issuer {}, first playlist {}, segment time to first byte p50 {} ({} fetched)",
            show(t.issuer),
            show(t.first_playlist),
            show(t.segment_ttfb_p50),
            t.segments_fetched
        );
        if !t.x_cache.is_empty() {
            let seen: Vec<String> = t.x_cache.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            let _ = write!(out, "; X-Cache {}", seen.join(", "));
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{}: {} passed, {} failed ({} security findings), {} skipped",
            if self.passed { "PASSED" } else { "FAILED" },
            s.passed,
            s.failed,
            s.security_findings,
            s.skipped
        );
        out
    }
}
