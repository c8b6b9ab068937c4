//! Configuration from the environment, read once per cold start. Every
//! problem is listed at once, so one failed start says it all.

use hlsgate_aws::metrics::Metrics;
use hlsgate_aws::sdk::AwsSettings;
use hlsgate_aws::{ConfigError, Env};

/// The function's name in logs and metrics.
pub const FUNCTION: &str = "mediaconvert-jobs";

/// The stack's name when `STACK_NAME` is not set.
pub const DEFAULT_STACK: &str = "hlsgate";

pub use hlsgate_aws::env::DEFAULT_EXTENSIONS;

/// The default ladder: 270p to 1080p. Ceilings follow Apple's HLS authoring
/// guide for 30 fps H.264; QVBR spends less on easy content.
pub const DEFAULT_LADDER: &str =
    "1920x1080@6000k:8,1280x720@3500k:7,960x540@2000k:7,640x360@900k:7,480x270@400k:7";

/// What `MediaConvert` accepts for `StatusUpdateInterval`, in seconds.
pub const STATUS_UPDATE_SECONDS: [u32; 15] = [
    10, 12, 15, 20, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600,
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `METRICS_NAMESPACE` (default `hlsgate`): where `JobsSubmitted`,
    /// `JobsCompleted` and `JobsFailed` go.
    pub metrics: Metrics,
    /// Tags our jobs (`UserMetadata.stack`); state changes of other jobs in
    /// the account are ignored (`STACK_NAME`, default `hlsgate`).
    pub stack: String,
    /// Only uploads to this bucket are taken, when set (`INPUT_BUCKET`).
    pub input_bucket: Option<String>,
    /// Only keys under this prefix are taken (`INPUT_PREFIX`, `uploads/`).
    pub input_prefix: String,
    /// Lower-case extensions taken, without the dot (`INPUT_EXTENSIONS`).
    pub extensions: Vec<String>,
    /// Larger uploads are refused, not transcoded (`MAX_UPLOAD_BYTES`, the
    /// upload API's limit): whatever wrote them.
    pub max_upload_bytes: u64,
    /// Where the ladders go (`MEDIA_BUCKET`, shared with the other functions).
    pub media_bucket: String,
    /// Video folders are `KEY_PREFIX` + id + `/` (`videos/`).
    pub key_prefix: String,
    /// Job claims (`JOB_CLAIM_PREFIX`, `jobs/`), in the media bucket but
    /// outside `KEY_PREFIX`, so no signed URL ever covers them.
    pub claim_prefix: String,
    /// Each video's processing status (`STATUS_PREFIX`, `status/`), in the
    /// media bucket outside `KEY_PREFIX`; the upload API reads it.
    pub status_prefix: String,
    /// `ENCRYPTION` (`none`, `aes-128`: each video's segments under its
    /// own key; `sample-aes`: a DRM vendor's), `KEY_EXCHANGE` (`speke`,
    /// `static`) and the SPEKE provider: see [`crate::key`].
    pub encryption: crate::key::Encryption,
    pub key_exchange: crate::key::KeyExchange,
    pub speke: Option<crate::key::Speke>,
    /// `KEYS_PREFIX` (`keys/`): where the keys are stored, outside
    /// `KEY_PREFIX`.
    pub keys_prefix: String,
    /// The role `MediaConvert` assumes to read uploads and write ladders
    /// (`MEDIACONVERT_ROLE_ARN`).
    pub role_arn: String,
    /// An on-demand queue (`MEDIACONVERT_QUEUE_ARN`); the account's
    /// `Default` queue when unset.
    pub queue_arn: Option<String>,
    /// Overrides the regional endpoint (`MEDIACONVERT_ENDPOINT`).
    pub endpoint: Option<String>,
    /// Where notices go (`NOTIFY_TOPIC_ARN`).
    pub topic_arn: String,
    /// Publish `STATUS_UPDATE` progress too (`NOTIFY_PROGRESS`, false).
    pub notify_progress: bool,
    /// Seconds between progress events (`STATUS_UPDATE_SECONDS`, 60).
    pub status_update_seconds: u32,
    pub ladder: LadderSettings,
    /// Audio streams, captions, trick play and the poster.
    pub tracks: crate::tracks::TrackSettings,
    pub aws: AwsSettings,
}

/// How the ladder is made.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderSettings {
    pub abr: Abr,
    /// HLS segment length (`SEGMENT_SECONDS`, 6).
    pub segment_seconds: u32,
    /// Keyframe interval (`GOP_SECONDS`, 2); segments are whole GOPs, so it
    /// must divide `segment_seconds`.
    pub gop_seconds: u32,
    /// AAC stereo bitrate muxed into every rendition (`AUDIO_BITRATE`, 128000).
    pub audio_bitrate: u32,
}

/// Fixed ladder or `MediaConvert`'s automated ABR (`ENCODING`).
#[derive(Debug, Clone, PartialEq)]
pub enum Abr {
    /// `ENCODING=ladder` (default): the rungs of `LADDER`.
    Ladder(Vec<Rung>),
    /// `ENCODING=auto`: `MediaConvert` picks up to `max_renditions`
    /// (`ABR_MAX_RENDITIONS`, 6) between `min_bitrate` (`ABR_MIN_BITRATE`,
    /// 600k) and `max_bitrate` (`ABR_MAX_BITRATE`, 8000k). Needs an
    /// on-demand queue and bills at the Professional tier.
    Auto {
        max_renditions: u32,
        min_bitrate: u32,
        max_bitrate: u32,
    },
}

/// One rendition of a fixed ladder: `WIDTHxHEIGHT@BITRATE[:QUALITY]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub width: u32,
    pub height: u32,
    /// QVBR ceiling, bits per second.
    pub max_bitrate: u32,
    /// QVBR quality level, 1–10 (default 7).
    pub quality: u32,
}

impl Rung {
    /// `MediaConvert`'s billing class for the rung: SD below 720 lines,
    /// HD to 1080, UHD above.
    pub fn billing_class(&self) -> &'static str {
        match self.height {
            0..720 => "SD",
            720..=1080 => "HD",
            _ => "UHD",
        }
    }
}

/// Reads a bitrate: `6000k`, `6M`, `6.5M` or plain bits per second.
pub fn parse_bitrate(s: &str) -> Result<u32, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (num, scale) = if let Some(n) = lower.strip_suffix('k') {
        (n, 1_000.0)
    } else if let Some(n) = lower.strip_suffix('m') {
        (n, 1_000_000.0)
    } else {
        (lower.as_str(), 1.0)
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a bitrate like 6000k or 6M"))?;
    let bps = value * scale;
    if !(bps.is_finite() && (100_000.0..=100_000_000.0).contains(&bps)) {
        return Err(format!("{s:?} is outside 100k to 100M"));
    }
    Ok(bps.round() as u32)
}

/// Reads a ladder: rungs `WIDTHxHEIGHT@BITRATE[:QUALITY]`, comma-separated.
pub fn parse_ladder(spec: &str) -> Result<Vec<Rung>, String> {
    let mut rungs: Vec<Rung> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |why: &str| format!("rung {item:?}: {why} (expected like 1280x720@3500k:7)");
        let (size, rate) = item.split_once('@').ok_or_else(|| bad("no @bitrate"))?;
        let (w, h) = size
            .split_once(['x', 'X'])
            .ok_or_else(|| bad("no WIDTHxHEIGHT"))?;
        let width: u32 = w.trim().parse().map_err(|_| bad("width is not a number"))?;
        let height: u32 = h
            .trim()
            .parse()
            .map_err(|_| bad("height is not a number"))?;
        let (rate, quality) = match rate.split_once(':') {
            Some((r, q)) => (
                r,
                q.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|q| (1..=10).contains(q))
                    .ok_or_else(|| bad("quality must be 1 to 10"))?,
            ),
            None => (rate, 7),
        };
        let max_bitrate = parse_bitrate(rate).map_err(|e| bad(&e))?;
        // H.264 level 5.2 tops out at 4096x2304; chroma subsampling wants
        // even sizes.
        if !(32..=4096).contains(&width) || !(32..=2304).contains(&height) {
            return Err(bad("size must be within 32x32 and 4096x2304"));
        }
        if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            return Err(bad("width and height must be even"));
        }
        let rung = Rung {
            width,
            height,
            max_bitrate,
            quality,
        };
        if rungs
            .iter()
            .any(|r| r.width == width && r.height == height && r.max_bitrate == max_bitrate)
        {
            return Err(bad("listed twice"));
        }
        rungs.push(rung);
    }
    if rungs.is_empty() {
        return Err("the ladder has no rungs".into());
    }
    if rungs.len() > 10 {
        return Err(format!("{} rungs; at most 10", rungs.len()));
    }
    Ok(rungs)
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from(Env::from_process())
    }

    pub fn from(mut env: Env) -> Result<Config, ConfigError> {
        let stack = env.parse_with("STACK_NAME", DEFAULT_STACK.to_string(), |s| {
            let ok = (1..=64).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            ok.then(|| s.to_string())
                .ok_or_else(|| "must be 1 to 64 characters of A-Z, a-z, 0-9 and `-`".into())
        });
        let input_bucket = env.optional("INPUT_BUCKET").map(str::to_string);
        let input_prefix = env.input_prefix();
        let extensions = env.input_extensions();
        let max_upload_bytes = env.max_upload_bytes();
        let media_bucket = env
            .required(
                "MEDIA_BUCKET",
                "the S3 bucket the HLS ladders are written to",
            )
            .unwrap_or_default();
        let key_prefix = env.key_prefix("KEY_PREFIX", "videos/");
        let crate::key::KeySettings {
            encryption,
            exchange: key_exchange,
            speke,
        } = crate::key::KeySettings::from_env(&mut env);
        let keys_prefix = env.keys_prefix(&key_prefix);
        let claim_prefix = env.private_prefix(
            "JOB_CLAIM_PREFIX",
            hlsgate_core::video::DEFAULT_JOB_CLAIM_PREFIX,
            &key_prefix,
            "viewers must never be able to read job claims",
        );
        let status_prefix = env.status_prefix(&key_prefix);
        let role_arn = env
            .required(
                "MEDIACONVERT_ROLE_ARN",
                "the IAM role MediaConvert assumes to read uploads and write ladders",
            )
            .unwrap_or_default();
        if !role_arn.is_empty() && !is_arn(&role_arn, "iam", "role/") {
            env.problem(format!(
                "MEDIACONVERT_ROLE_ARN={role_arn:?}: expected arn:aws:iam::ACCOUNT:role/NAME"
            ));
        }
        let queue_arn = env.optional("MEDIACONVERT_QUEUE_ARN").map(str::to_string);
        if let Some(q) = &queue_arn
            && !is_arn(q, "mediaconvert", "queues/")
        {
            env.problem(format!(
                "MEDIACONVERT_QUEUE_ARN={q:?}: expected arn:aws:mediaconvert:REGION:ACCOUNT:queues/NAME"
            ));
        }
        let endpoint = env.optional("MEDIACONVERT_ENDPOINT").map(str::to_string);
        if let Some(e) = &endpoint
            && !(e.starts_with("https://") || e.starts_with("http://"))
        {
            env.problem(format!(
                "MEDIACONVERT_ENDPOINT={e:?}: expected an https:// URL"
            ));
        }
        let topic_arn = env
            .required(
                "NOTIFY_TOPIC_ARN",
                "the SNS topic for ready and failed notices",
            )
            .unwrap_or_default();
        if !topic_arn.is_empty() && !is_arn(&topic_arn, "sns", "") {
            env.problem(format!(
                "NOTIFY_TOPIC_ARN={topic_arn:?}: expected arn:aws:sns:REGION:ACCOUNT:NAME"
            ));
        }
        let notify_progress = env.flag("NOTIFY_PROGRESS", false);
        let status_update_seconds = env.parse_with("STATUS_UPDATE_SECONDS", 60, |s| {
            s.parse::<u32>()
                .ok()
                .filter(|n| STATUS_UPDATE_SECONDS.contains(n))
                .ok_or_else(|| format!("must be one of {STATUS_UPDATE_SECONDS:?}"))
        });
        let ladder = ladder_settings(&mut env);
        let tracks = crate::tracks::TrackSettings::from_env(&mut env);
        let metrics = Metrics::from_env(&mut env, FUNCTION);
        let aws = AwsSettings::from_env(&mut env);
        env.finish()?;
        Ok(Config {
            stack,
            input_bucket,
            input_prefix,
            extensions,
            max_upload_bytes,
            media_bucket,
            key_prefix,
            claim_prefix,
            status_prefix,
            encryption,
            key_exchange,
            speke,
            keys_prefix,
            role_arn,
            queue_arn,
            endpoint,
            topic_arn,
            notify_progress,
            status_update_seconds,
            ladder,
            tracks,
            metrics,
            aws,
        })
    }

    /// A job's encryption when MediaConvert asks a SPEKE provider for the
    /// key (`None` without encryption, or with `KEY_EXCHANGE=static`).
    pub fn speke_encryption(&self) -> Option<crate::key::JobEncryption> {
        match self.encryption {
            crate::key::Encryption::None => None,
            method => self
                .speke
                .clone()
                .map(|provider| crate::key::JobEncryption::Speke { method, provider }),
        }
    }

    /// `KEY_PREFIX/id/`: the video's folder in the media bucket.
    pub fn folder_key(&self, id: &str) -> String {
        hlsgate_core::video::folder_key(&self.key_prefix, id)
    }
}

fn ladder_settings(env: &mut Env) -> LadderSettings {
    let auto = env.parse_with("ENCODING", false, |s| match s {
        "ladder" => Ok(false),
        "auto" => Ok(true),
        _ => Err("expected ladder or auto".into()),
    });
    let abr = if auto {
        let max_renditions = env.int_in("ABR_MAX_RENDITIONS", 6, 3, 15) as u32;
        let min_bitrate = env.parse_with("ABR_MIN_BITRATE", 600_000, parse_bitrate);
        let max_bitrate = env.parse_with("ABR_MAX_BITRATE", 8_000_000, parse_bitrate);
        if min_bitrate >= max_bitrate {
            env.problem("ABR_MIN_BITRATE must be below ABR_MAX_BITRATE");
        }
        Abr::Auto {
            max_renditions,
            min_bitrate,
            max_bitrate,
        }
    } else {
        let default = parse_ladder(DEFAULT_LADDER).unwrap_or_default();
        Abr::Ladder(env.parse_with("LADDER", default, parse_ladder))
    };
    let segment_seconds = env.int_in("SEGMENT_SECONDS", 6, 1, 30) as u32;
    let gop_seconds = env.int_in("GOP_SECONDS", 2, 1, 10) as u32;
    if !segment_seconds.is_multiple_of(gop_seconds) {
        env.problem(format!(
            "SEGMENT_SECONDS ({segment_seconds}) must be a multiple of GOP_SECONDS ({gop_seconds}): \
             a segment starts on a keyframe"
        ));
    }
    let audio_bitrate = env.int_in("AUDIO_BITRATE", 128_000, 32_000, 320_000) as u32;
    LadderSettings {
        abr,
        segment_seconds,
        gop_seconds,
        audio_bitrate,
    }
}

/// `arn:PARTITION:SERVICE:…:RESOURCE` with a 12-digit account and a
/// resource starting with `resource_prefix`.
fn is_arn(arn: &str, service: &str, resource_prefix: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == service
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].len() > resource_prefix.len()
        && parts[5].starts_with(resource_prefix)
}

hlsgate_aws::function_config!(Config);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders() {
        let l = parse_ladder(DEFAULT_LADDER).unwrap();
        assert_eq!(l.len(), 5);
        assert_eq!(
            l[0],
            Rung {
                width: 1920,
                height: 1080,
                max_bitrate: 6_000_000,
                quality: 8
            }
        );
        assert_eq!(l[4].height, 270);
        assert_eq!(l[4].billing_class(), "SD");
        assert_eq!(l[1].billing_class(), "HD");
        assert_eq!(
            parse_ladder(" 3840X2160@16M , 640x360@900000 ").unwrap()[1].max_bitrate,
            900_000
        );
        assert_eq!(parse_bitrate("6.5M"), Ok(6_500_000));
        for bad in [
            "",
            "1280x720",
            "1280@3M",
            "axb@3M",
            "1281x720@3M",
            "1280x720@3Q",
            "1280x720@3M:11",
            "1280x720@3M:0",
            "1280x720@50k",
            "8192x4320@20M",
            "1280x720@3M,1280x720@3M",
        ] {
            assert!(parse_ladder(bad).is_err(), "{bad}");
        }
        let eleven = (0..11)
            .map(|i| format!("640x360@{}k", 900 + i))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_ladder(&eleven).unwrap_err().contains("at most 10"));
    }

    #[test]
    fn arns() {
        assert!(is_arn(
            "arn:aws:iam::123456789012:role/hlsgate-mc",
            "iam",
            "role/"
        ));
        assert!(is_arn(
            "arn:aws-cn:sns:cn-north-1:123456789012:topic",
            "sns",
            ""
        ));
        assert!(!is_arn("arn:aws:iam::1234:role/x", "iam", "role/"));
        assert!(!is_arn("arn:aws:iam::123456789012:user/x", "iam", "role/"));
        assert!(!is_arn("role/x", "iam", "role/"));
    }
}
