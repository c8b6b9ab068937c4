//! `hlsgate rules show|set|clear VIDEO`: a video's playback rules
//! (`docs/playback-rules.md`), one JSON object at `RULES_PREFIX/VIDEO.json`
//! in the media bucket, for the team's back office. The format and its
//! checks are the issuer's own (`hlsgate_core::rules`); the credentials and
//! region are the caller's (the AWS SDK's usual chain). The issuer sees a
//! change within its `CACHE_TTL_SECONDS`.

use std::process::ExitCode;

use bytes::Bytes;
use hlsgate_aws::env::Env;
use hlsgate_aws::objects::{Fetched, ObjectSink, ObjectSource, S3Objects, SourceError};
use hlsgate_aws::sdk::Timeouts;
use hlsgate_core::rules::{Countries, MAX_RULES_BYTES, SiteOrigin, VideoRules, rules_key};
use hlsgate_core::video::VideoId;

use crate::grants::{block_on, rfc3339};
use crate::{CliError, Outcome, timearg};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// A video's rules, or that it has none.
    Show {
        #[command(flatten)]
        at: Where,
        /// JSON, as stored.
        #[arg(long)]
        json: bool,
    },
    /// Sets the rules given, keeping the video's others.
    Set {
        #[command(flatten)]
        at: Where,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Removes all of a video's rules: it plays wherever its viewers are
    /// entitled.
    Clear {
        #[command(flatten)]
        at: Where,
    },
}

/// Which video, and where its rules are.
#[derive(Debug, clap::Args)]
struct Where {
    /// The video id.
    video: String,
    /// The media bucket (the stack's MediaBucketName output).
    #[arg(long, env = "MEDIA_BUCKET")]
    bucket: String,
    /// The issuer's RULES_PREFIX.
    #[arg(long, env = "RULES_PREFIX", default_value = "rules/")]
    prefix: String,
    /// An S3-compatible server instead of AWS (`hlsgate dev`'s: its
    /// lambda.env names it and its keys).
    #[arg(long, env = "AWS_ENDPOINT_URL_S3")]
    endpoint: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RuleArgs {
    /// Plays only in these countries: ISO 3166-1 alpha-2 codes, comma-separated (DE,AT).
    #[arg(long, value_delimiter = ',', conflicts_with = "deny_countries")]
    countries: Option<Vec<String>>,
    /// Plays anywhere but these countries.
    #[arg(long, value_delimiter = ',')]
    deny_countries: Option<Vec<String>>,
    /// Only pages of these sites may start a playback: origins, comma-separated (https://shop.example).
    #[arg(long, value_delimiter = ',')]
    origins: Option<Vec<String>>,
    /// With --origins: whether a request naming no site (a native app) may start one.
    #[arg(long)]
    allow_no_origin: Option<bool>,
    /// Plays from then: epoch seconds, an RFC 3339 time, or a duration from now (2h).
    #[arg(long)]
    from: Option<String>,
    /// Plays until then (same forms); no signature outlives it.
    #[arg(long)]
    until: Option<String>,
}

impl RuleArgs {
    /// `rules` with the given ones replaced.
    fn apply(self, mut rules: VideoRules, now: u64) -> Result<VideoRules, CliError> {
        let codes = |list: Vec<String>| {
            list.iter()
                .map(|c| c.parse())
                .collect::<Result<Vec<_>, _>>()
                .map_err(CliError::usage)
        };
        let given = self.countries.is_some()
            || self.deny_countries.is_some()
            || self.origins.is_some()
            || self.allow_no_origin.is_some()
            || self.from.is_some()
            || self.until.is_some();
        if !given {
            return Err(CliError::usage(
                "name a rule: --countries, --deny-countries, --origins, --allow-no-origin, --from or --until",
            ));
        }
        if let Some(list) = self.countries {
            rules.countries = Some(Countries::Allow(codes(list)?));
        }
        if let Some(list) = self.deny_countries {
            rules.countries = Some(Countries::Deny(codes(list)?));
        }
        if let Some(list) = self.origins {
            let sites = list
                .iter()
                .map(|o| o.parse::<SiteOrigin>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(CliError::usage)?;
            rules.origins = Some(sites);
        }
        if let Some(b) = self.allow_no_origin {
            rules.allow_no_origin = b;
        }
        let epoch = |s: &str| {
            timearg::parse(s, now)
                .map(|e| e.seconds())
                .map_err(CliError::usage)
        };
        if let Some(f) = &self.from {
            rules.available_from = Some(epoch(f)?);
        }
        if let Some(u) = &self.until {
            rules.available_until = Some(epoch(u)?);
        }
        rules.check_shape().map_err(CliError::usage)?;
        Ok(rules)
    }
}

/// The rules' key, with the prefix and id checked as the issuer checks them.
fn key(at: &Where) -> Result<String, CliError> {
    let id =
        VideoId::parse(&at.video).map_err(|e| CliError::usage(format!("{:?}: {e}", at.video)))?;
    let mut env = Env::from_pairs([("RULES_PREFIX", at.prefix.as_str())]);
    let key_prefix = env.key_prefix("KEY_PREFIX", "videos/");
    let prefix = env.rules_prefix(&key_prefix);
    env.finish().map_err(CliError::usage)?;
    Ok(rules_key(&prefix, &id))
}

async fn bucket(at: &Where) -> S3Objects {
    let client = hlsgate_aws::sdk::s3_client_at(at.endpoint.as_deref(), Timeouts::DEFAULT).await;
    S3Objects::new(client, at.bucket.clone())
}

fn failed(what: &str, key: &str) -> impl FnOnce(SourceError) -> CliError {
    let what = format!("{what} {key}");
    move |e| CliError::Environment(format!("{what}: {e}"))
}

/// The stored rules, `None` when there are none.
async fn read(objects: &S3Objects, key: &str) -> Result<Option<VideoRules>, CliError> {
    match objects.get(key, MAX_RULES_BYTES, None).await {
        Ok(Fetched::Object(o)) => VideoRules::from_json(&o.body)
            .map(Some)
            .map_err(|e| CliError::Environment(format!("{key} holds no rules the issuer can read ({e}): `hlsgate rules clear` and set them again"))),
        Ok(Fetched::NotModified) | Err(SourceError::NotFound) => Ok(None),
        Err(e) => Err(failed("reading", key)(e)),
    }
}

/// The rules in words, a line each.
fn describe(rules: &VideoRules) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(c) = &rules.countries {
        lines.push(format!("countries  {c}"));
    }
    if let Some(o) = &rules.origins {
        let sites: Vec<&str> = o.iter().map(SiteOrigin::as_str).collect();
        let native = if rules.allow_no_origin {
            " (and requests naming no site)"
        } else {
            ""
        };
        lines.push(format!("origins    {}{native}", sites.join(", ")));
    }
    if let Some(f) = rules.available_from {
        lines.push(format!("from       {}", rfc3339(f)));
    }
    if let Some(u) = rules.available_until {
        lines.push(format!("until      {}", rfc3339(u)));
    }
    lines
}

fn print(video: &str, rules: &VideoRules) {
    println!("{video}:");
    for line in describe(rules) {
        println!("  {line}");
    }
}

pub fn run(args: Args) -> Outcome {
    match args.command {
        Command::Show { at, json } => {
            let key = key(&at)?;
            let rules = block_on(async { read(&bucket(&at).await, &key).await })?;
            match (rules, json) {
                (Some(r), true) => {
                    println!("{}", serde_json::to_string(&r).map_err(CliError::usage)?)
                }
                (Some(r), false) => print(&at.video, &r),
                (None, true) => println!("{{}}"),
                (None, false) => println!("{}: no playback rules", at.video),
            }
        }
        Command::Set { at, rules } => {
            let key = key(&at)?;
            let now = timearg::now();
            let written = block_on(async {
                let objects = bucket(&at).await;
                let current = read(&objects, &key).await?.unwrap_or_default();
                let next = rules.apply(current, now)?;
                let body = serde_json::to_vec(&next).map_err(CliError::usage)?;
                objects
                    .write(&key, Bytes::from(body), "application/json")
                    .await
                    .map_err(failed("writing", &key))?;
                Ok(next)
            })?;
            print(&at.video, &written);
        }
        Command::Clear { at } => {
            let key = key(&at)?;
            block_on(async {
                bucket(&at)
                    .await
                    .delete(&key)
                    .await
                    .map_err(failed("deleting", &key))
            })?;
            println!("{}: no playback rules", at.video);
        }
    }
    Ok(ExitCode::SUCCESS)
}
