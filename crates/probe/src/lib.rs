//! `hlsgate probe`: proves a live deployment from outside, in one run.
//!
//! 1. **Plays like a player** (`play.rs`): asks the issuer through the
//!    distribution, follows the master, every playlist, the key, and the
//!    first, a middle and the last segment of every rendition, in the mode
//!    asked for; checks statuses, types, `Cache-Control`, every URI's
//!    signature and origin, byte ranges and CORS.
//! 2. **Probes like an attacker** (`attack.rs`): the same requests without
//!    a signature, with a changed one, on another folder, on the private
//!    prefixes, with the forwarded copy alone, with an expired policy; each
//!    must be refused, and one that is not is a security finding.
//! 3. **Renews and ends the session** (`session.rs`) when the issuer has
//!    sessions.
//! 4. **Explains** (`explain.rs`) every refusal it did not expect.
//!
//! Nothing it prints carries a token, a signature, a policy or a cookie
//! value (`redact.rs`). `docs/probe.md` is the manual.

// The walk's own types carry signed URLs and cookies: they stay inside
// the crate, and none of them has a `Debug` that could print one.
mod attack;
mod client;
mod explain;
mod play;
mod redact;
pub mod report;
mod session;
mod signature;

pub use client::FetchError;

use std::collections::BTreeMap;
use std::time::Duration;

use ::http::HeaderName;
use hlsgate_core::signing::{Delivery, KeyGroup};
use hlsgate_core::video::VideoId;
use url::Url;

use crate::client::{Fetched, Http};
use crate::redact::Redactor;
use crate::report::{Check, Report, Target, Timings};

/// The viewer's bearer token: never printed, never in `Debug`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Which segments of each rendition are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::EnumString, strum::VariantNames)]
#[strum(serialize_all = "lowercase")]
pub enum Segments {
    /// The first, a middle and the last.
    #[default]
    Sample,
    /// Every one.
    All,
}

/// What to probe.
#[derive(Debug)]
pub struct Options {
    /// The issuer's origin, as a player reaches it: the distribution
    /// (`https://d111.cloudfront.net`).
    pub issuer: Url,
    pub video: VideoId,
    pub token: Token,
    /// The mode to ask for; the issuer's default when `None`.
    pub mode: Option<Delivery>,
    /// The player page's origin (`https://app.example`), for CORS.
    pub origin: Option<String>,
    /// The distribution's key group, to verify every signature handed out.
    pub keys: Option<KeyGroup>,
    pub segments: Segments,
    /// A second video (`--video` given twice) whose folder the first
    /// one's signature must not open; a made-up folder when `None`.
    pub other_video: Option<VideoId>,
    /// Each request's limit.
    pub timeout: Duration,
}

/// The first request got no answer: nothing else can be probed.
#[derive(Debug, thiserror::Error)]
#[error("could not reach the issuer at {url}: {error}")]
pub struct Unreachable {
    pub url: String,
    pub error: FetchError,
}

/// The seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One run's state: the checks so far, the cookies the issuer set, the
/// timings.
pub(crate) struct Probe<'a> {
    pub opts: &'a Options,
    pub http: Http,
    pub redact: Redactor,
    pub checks: Vec<Check>,
    pub timings: Timings,
    /// The `CloudFront-*` cookies, in cookie mode (name → value).
    pub cookies: BTreeMap<String, String>,
}

impl<'a> Probe<'a> {
    pub fn new(opts: &'a Options) -> Result<Probe<'a>, String> {
        Ok(Probe {
            opts,
            http: Http::new(opts.timeout)?,
            redact: Redactor::new(),
            checks: Vec::new(),
            timings: Timings::default(),
            cookies: BTreeMap::new(),
        })
    }

    /// The `Cookie` header a browser would send with the signed cookies.
    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// A GET through the distribution, as the player makes it: the
    /// cookies when `cookies`, the page's origin when given; `X-Cache`
    /// counted.
    pub async fn fetch(
        &mut self,
        url: &str,
        cookies: Option<&str>,
        extra: &[(HeaderName, String)],
    ) -> Result<Fetched, FetchError> {
        let mut headers: Vec<(HeaderName, String)> = extra.to_vec();
        if let Some(c) = cookies {
            headers.push((::http::header::COOKIE, c.to_string()));
        }
        if let Some(o) = &self.opts.origin
            && !extra.iter().any(|(n, _)| n == ::http::header::ORIGIN)
        {
            headers.push((::http::header::ORIGIN, o.clone()));
        }
        let answer = self.http.get(url, &headers).await?;
        let x_cache = answer.header("x-cache");
        if !x_cache.is_empty() {
            *self.timings.x_cache.entry(x_cache.to_string()).or_default() += 1;
        }
        Ok(answer)
    }

    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }
}

/// Runs every check against the deployment.
pub async fn run(opts: &Options) -> Result<Report, Unreachable> {
    let mut probe = Probe::new(opts).map_err(|e| Unreachable {
        url: opts.issuer.to_string(),
        error: FetchError::Other(e),
    })?;
    if let Some(playback) = probe.start().await? {
        let walk = probe.play(&playback).await;
        probe.attack(&playback, &walk).await;
        probe.session(&playback).await;
    }
    let target = Target {
        issuer: opts.issuer.as_str().trim_end_matches('/').to_string(),
        video: opts.video.as_str().to_string(),
        mode: opts.mode.map(Delivery::as_str),
    };
    Ok(Report::new(target, probe.checks, probe.timings))
}
