//! Typed configuration from environment variables, read once at cold start.
//!
//! Every problem is collected, so one failed start lists every missing or bad
//! variable instead of the first.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Every problem found in the environment, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "configuration: {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// Logs every problem and prints them on stderr: what a `main` does
    /// before it stops, so the first failed start says it all.
    pub fn report(&self) {
        tracing::error!(problems = ?self.problems, "{self}");
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{self}");
        }
    }
}

/// What [`Env::media_location`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLocation {
    /// `MEDIA_BUCKET`.
    pub bucket: String,
    /// `KEY_PREFIX`: video folders, in S3 and on the CDN.
    pub key_prefix: String,
    /// `CDN_DOMAIN` as an origin (`https://d111.cloudfront.net`).
    pub public_origin: String,
}

/// Reads variables and records what is wrong with them.
pub struct Env {
    vars: HashMap<String, String>,
    problems: Vec<String>,
    /// Every name asked for, when someone wants to know ([`Env::tracking`]).
    read: Option<ReadNames>,
}

/// The names an [`Env`] was asked for: what a configuration reads, which
/// the docs' tables are checked against.
#[derive(Debug, Clone, Default)]
pub struct ReadNames(std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>);

impl ReadNames {
    pub fn names(&self) -> std::collections::BTreeSet<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn add(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string());
    }
}

impl fmt::Debug for Env {
    /// Names only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("problems", &self.problems)
            .finish()
    }
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

impl Env {
    /// The process environment. Variables that are not UTF-8 are skipped,
    /// as if unset.
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Env {
            vars,
            problems: Vec::new(),
            read: None,
        }
    }

    /// A fixed set of variables (tests, local runs).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            problems: Vec::new(),
            read: None,
        }
    }

    /// This environment, recording every name read into the returned set.
    pub fn tracking(mut self) -> (Env, ReadNames) {
        let names = ReadNames::default();
        self.read = Some(names.clone());
        (self, names)
    }

    /// Records a problem found while interpreting values.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    /// The value, or `None` when unset or empty (an empty variable is how
    /// templates say "not given").
    pub fn optional(&self, name: &str) -> Option<&str> {
        if let Some(read) = &self.read {
            read.add(name);
        }
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value; a missing or empty variable is a problem.
    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let v = self.optional(name).map(str::to_string);
        if v.is_none() {
            self.problems.push(format!("{name} is required: {what}"));
        }
        v
    }

    /// Parses the value with `FromStr`, or takes `default` when unset.
    pub fn parse_or<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.parse_with(name, default, |s| s.parse::<T>().map_err(|e| e.to_string()))
    }

    /// One of an enum's names (its `FromStr`), or `default` when unset; a
    /// wrong value is reported with the names it could have been.
    pub fn choice<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr + strum::VariantNames,
    {
        self.parse_with(name, default, |s| {
            s.parse::<T>()
                .map_err(|_| format!("expected {}", one_of(T::VARIANTS)))
        })
    }

    /// Like [`parse_or`](Self::parse_or) with a custom parser.
    pub fn parse_with<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.optional(name).map(str::to_string) {
            None => default,
            Some(v) => match parse(v.trim()) {
                Ok(t) => t,
                Err(e) => {
                    self.problems.push(format!("{name}={v:?}: {e}"));
                    default
                }
            },
        }
    }

    /// A whole number within `min..=max`.
    pub fn int_in(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        self.parse_with(name, default, |s| {
            let n: u64 = s
                .parse()
                .map_err(|_| "expected a whole number".to_string())?;
            if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be between {min} and {max}"))
            }
        })
    }

    /// Milliseconds within `min..=max`.
    pub fn millis(&mut self, name: &str, default: Duration, min: u64, max: u64) -> Duration {
        let ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(self.int_in(name, ms, min, max))
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        self.parse_with(name, default, |s| match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err("expected true or false".to_string()),
        })
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A key prefix like `videos/`: relative, ending in `/`, with no `//`,
    /// `.` or `..` segment.
    pub fn key_prefix(&mut self, name: &str, default: &str) -> String {
        self.parse_with(name, default.to_string(), |p| {
            let ok = p.ends_with('/')
                && !p.starts_with('/')
                && !p.contains("//")
                && !p.split('/').any(|s| s == "." || s == "..");
            if ok {
                Ok(p.to_string())
            } else {
                Err("must be like `videos/`: relative, ending in `/`, no `//`, `.` or `..`".into())
            }
        })
    }

    /// `KEYS_PREFIX` (default `keys/`): where encrypted ladders' AES-128
    /// keys are stored, which must not overlap `key_prefix` (the media
    /// origin serves everything under that): the jobs function writes
    /// there and the rewriter reads there, so both read it here.
    pub fn keys_prefix(&mut self, key_prefix: &str) -> String {
        self.private_prefix(
            "KEYS_PREFIX",
            DEFAULT_KEYS_PREFIX,
            key_prefix,
            "keys under the media prefix would be served by the media origin to anyone with a \
             segment's signature",
        )
    }

    /// `STATUS_PREFIX` (`status/`): each video's processing status, in the
    /// media bucket outside `key_prefix`; the jobs function writes there and
    /// the upload API reads there.
    pub fn status_prefix(&mut self, key_prefix: &str) -> String {
        self.private_prefix(
            "STATUS_PREFIX",
            DEFAULT_STATUS_PREFIX,
            key_prefix,
            "viewers must never be able to read the statuses",
        )
    }

    /// `RULES_PREFIX` (`rules/`): each video's playback rules, in the media
    /// bucket outside `key_prefix`; the back office writes there and the
    /// issuer reads there.
    pub fn rules_prefix(&mut self, key_prefix: &str) -> String {
        self.private_prefix(
            "RULES_PREFIX",
            DEFAULT_RULES_PREFIX,
            key_prefix,
            "viewers must never be able to read a video's rules",
        )
    }

    /// `INPUT_PREFIX` (`uploads/`): where uploads are taken from, in the
    /// upload bucket.
    pub fn input_prefix(&mut self) -> String {
        self.key_prefix("INPUT_PREFIX", DEFAULT_INPUT_PREFIX)
    }

    /// `MAX_UPLOAD_BYTES` (20 GiB; 1 byte to S3's 5 TiB): the largest upload
    /// the upload API assembles and the jobs function transcodes.
    pub fn max_upload_bytes(&mut self) -> u64 {
        self.int_in(
            "MAX_UPLOAD_BYTES",
            20 * 1024 * 1024 * 1024,
            1,
            5 * 1024 * 1024 * 1024 * 1024,
        )
    }

    /// `INPUT_EXTENSIONS` ([`DEFAULT_EXTENSIONS`]): the upload extensions
    /// taken, lower case, without the dot.
    pub fn input_extensions(&mut self) -> Vec<String> {
        let list = self.list("INPUT_EXTENSIONS");
        let list = if list.is_empty() {
            DEFAULT_EXTENSIONS.split(',').map(str::to_string).collect()
        } else {
            list
        };
        let extensions: Vec<String> = list
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        if extensions
            .iter()
            .any(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            self.problem("INPUT_EXTENSIONS: each item is letters and digits, like mp4");
        }
        extensions
    }

    /// A prefix of the media bucket that must not overlap `key_prefix`
    /// (everything under that is served to signed viewers); `why` says what
    /// an overlap would expose.
    pub fn private_prefix(
        &mut self,
        name: &str,
        default: &str,
        key_prefix: &str,
        why: &str,
    ) -> String {
        let prefix = self.key_prefix(name, default);
        if prefix.starts_with(key_prefix) || key_prefix.starts_with(&prefix) {
            self.problem(format!(
                "{name}={prefix:?} overlaps KEY_PREFIX={key_prefix:?}: {why}"
            ));
        }
        prefix
    }

    /// A CDN domain as an origin: `d111.cloudfront.net` →
    /// `https://d111.cloudfront.net`; a value with a scheme is kept
    /// (lowercased, no trailing `/`) for local stacks. Empty when unset and
    /// not `required` (the problem is recorded when it is).
    pub fn cdn_origin(&mut self, name: &str, what: &str, required: bool) -> String {
        let domain = if required {
            self.required(name, what)
        } else {
            self.optional(name).map(str::to_string)
        };
        let Some(domain) = domain else {
            return String::new();
        };
        let with_scheme = if domain.contains("://") {
            domain.clone()
        } else {
            format!("https://{domain}")
        };
        url_origin(&with_scheme).unwrap_or_else(|e| {
            self.problem(format!("{name}={domain:?}: {e}"));
            String::new()
        })
    }

    /// `MEDIA_BUCKET`, `KEY_PREFIX` (default `videos/`) and `CDN_DOMAIN`, in
    /// that order: where the HLS output lives and the origin viewers reach it
    /// on, which the rewriter and the issuer must read alike.
    pub fn media_location(&mut self) -> MediaLocation {
        self.media_location_with(true)
    }

    /// [`media_location`](Self::media_location), with `CDN_DOMAIN` optional
    /// when the caller learns the origin per request (the rewriter behind
    /// a Function URL, where the distribution's domain cannot be known when
    /// the function is created).
    pub fn media_location_with(&mut self, cdn_required: bool) -> MediaLocation {
        let bucket = self
            .required("MEDIA_BUCKET", "the S3 bucket holding the HLS output")
            .unwrap_or_default();
        let key_prefix = self.key_prefix("KEY_PREFIX", "videos/");
        let public_origin = self.cdn_origin(
            "CDN_DOMAIN",
            "the CloudFront domain viewers use (d111111abcdef8.cloudfront.net)",
            cdn_required,
        );
        MediaLocation {
            bucket,
            key_prefix,
            public_origin,
        }
    }

    /// A comma-separated list of browser origins (`https://player.example.com`)
    /// or `*`.
    pub fn origins(&mut self, name: &str) -> Vec<String> {
        let list = self.list(name);
        for o in &list {
            if o != "*" && url_origin(o).as_deref() != Ok(o.as_str()) {
                self.problem(format!(
                    "{name}: {o:?} is not an origin like https://player.example.com"
                ));
            }
        }
        list
    }

    /// Ends reading: every problem recorded, or nothing.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

pub use hlsgate_core::video::{
    DEFAULT_INPUT_PREFIX, DEFAULT_KEYS_PREFIX, DEFAULT_RULES_PREFIX, DEFAULT_STATUS_PREFIX,
};

/// Upload extensions accepted when `INPUT_EXTENSIONS` is not set.
pub const DEFAULT_EXTENSIONS: &str = "mp4,mov,m4v,mkv,webm";

/// `scheme://host[:port]` in canonical form, or why not.
/// `s` as a browser origin (`https://host[:port]`, lowercased, no path):
/// the one check of CDN domains, CORS origins and per-request origins.
pub fn url_origin(s: &str) -> Result<String, String> {
    let (scheme, rest) = s.split_once("://").ok_or("no scheme")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err("scheme must be https (or http for local runs)".into());
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid {
        return Err("expected a host name (and port), no path".into());
    }
    Ok(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, strum::EnumString, strum::VariantNames)]
    #[strum(serialize_all = "lowercase")]
    enum Pick {
        Url,
        Cookies,
    }

    #[test]
    fn choices_name_what_they_could_have_been() {
        let mut env = Env::from_pairs([("A", "cookies"), ("B", "COOKIES")]);
        assert_eq!(env.choice("A", Pick::Url), Pick::Cookies);
        assert_eq!(env.choice("UNSET", Pick::Url), Pick::Url);
        assert_eq!(env.choice("B", Pick::Url), Pick::Url);
        assert_eq!(
            env.finish().unwrap_err().to_string(),
            ConfigError {
                problems: vec![r#"B="COOKIES": expected url or cookies"#.into()]
            }
            .to_string()
        );
        assert_eq!(one_of(&["a", "b", "c"]), "a, b or c");
    }

    #[test]
    fn collects_every_problem() {
        let mut env = Env::from_pairs([("N", "x"), ("R", "7"), ("F", "maybe"), ("E", "")]);
        assert_eq!(env.required("MISSING", "the bucket"), None);
        assert_eq!(env.required("E", "empty counts as missing"), None);
        assert_eq!(env.int_in("N", 5, 1, 10), 5);
        assert_eq!(env.int_in("R", 5, 1, 6), 5);
        assert!(env.flag("F", true));
        let err = env.finish().unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
        let text = err.to_string();
        assert!(text.starts_with("configuration: 5 problems\n  - MISSING is required: the bucket"));
        assert!(text.contains(r#"R="7": must be between 1 and 6"#));
        assert!(text.contains(r#"F="maybe": expected true or false"#));
    }

    #[test]
    fn defaults_and_values() {
        let mut env = Env::from_pairs([("L", " a, ,b "), ("M", "250"), ("T", "yes")]);
        assert_eq!(env.list("L"), ["a", "b"]);
        assert!(env.list("NONE").is_empty());
        assert_eq!(
            env.millis("M", Duration::from_secs(1), 1, 1000),
            Duration::from_millis(250)
        );
        assert!(env.flag("T", false));
        assert_eq!(env.parse_or("U", 3u8), 3);
        assert!(env.finish().is_ok());
    }

    #[test]
    fn origins_and_prefixes() {
        let mut env = Env::from_pairs([
            ("A", "D111.cloudfront.net"),
            ("B", "http://127.0.0.1:8080/"),
            ("C", "d111.cloudfront.net/videos"),
            ("D", "ftp://x"),
            ("O", "https://player.example.com, *"),
            ("BADO", "https://player.example.com/app"),
            ("P", "/videos"),
        ]);
        assert_eq!(env.cdn_origin("A", "", true), "https://d111.cloudfront.net");
        assert_eq!(env.cdn_origin("B", "", true), "http://127.0.0.1:8080");
        assert_eq!(env.cdn_origin("MISSING", "the CDN", false), "");
        assert_eq!(env.origins("O"), ["https://player.example.com", "*"]);
        assert_eq!(env.key_prefix("NONE", "videos/"), "videos/");
        assert_eq!(env.problems.len(), 0);
        env.cdn_origin("C", "", true);
        env.cdn_origin("D", "", false);
        env.cdn_origin("MISSING", "the CDN", true);
        env.origins("BADO");
        env.key_prefix("P", "videos/");
        let err = env.finish().unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
    }
}
