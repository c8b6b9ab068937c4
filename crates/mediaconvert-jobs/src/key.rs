//! How a ladder is encrypted, and where its key comes from.
//!
//! `ENCRYPTION=aes-128`: each video's segments under the video's own
//! AES-128 key, the folder key (see [`hlsgate_aws::content_key`]), served by
//! the rewriter's key route at the relative URI `hls.key`.
//!
//! - `KEY_EXCHANGE=speke` (the default): the job names the key provider
//!   (`SPEKE_URL`, our `key-provider` function behind an IAM-authorised
//!   API), the video id as SPEKE's `ResourceId`, and the HLS AES-128 system
//!   id. MediaConvert asks the provider for the key; the key is never in the
//!   job's settings, so no `GetJob` or `ListJobs` caller reads it.
//! - `KEY_EXCHANGE=static`: the jobs function makes or reads the key and
//!   writes it into the job (`StaticKeyValue`), for accounts that cannot
//!   deploy the provider's API. Anyone who can read the job reads the key.
//!
//! `ENCRYPTION=sample-aes` is a DRM vendor's ladder (FairPlay): SPEKE only,
//! to the vendor's `SPEKE_URL`, with its `SPEKE_SYSTEM_IDS` and
//! `SPEKE_CERTIFICATE_ARN`; the vendor's licence server serves the keys.

use hlsgate_aws::Env;
pub use hlsgate_aws::content_key::{ContentKey, KeyError, ensure};
use hlsgate_core::speke::{self, HLS_AES_128};

/// `ENCRYPTION`: whether ladders are encrypted, and how.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    strum::EnumString,
    strum::VariantNames,
    strum::IntoStaticStr,
)]
pub enum Encryption {
    #[default]
    #[strum(serialize = "none")]
    None,
    /// Whole segments under AES-128 (`METHOD=AES-128`).
    #[strum(serialize = "aes-128")]
    Aes128,
    /// Samples under a DRM vendor's keys (`METHOD=SAMPLE-AES`, FairPlay).
    #[strum(serialize = "sample-aes")]
    SampleAes,
}

/// `KEY_EXCHANGE`: how the key reaches MediaConvert.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    strum::EnumString,
    strum::VariantNames,
    strum::IntoStaticStr,
)]
pub enum KeyExchange {
    /// MediaConvert asks a SPEKE key provider.
    #[default]
    #[strum(serialize = "speke")]
    Speke,
    /// The key is written into the job.
    #[strum(serialize = "static")]
    Static,
}

/// A SPEKE key provider, as the job names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speke {
    /// `SPEKE_URL`: the provider's API Gateway URL, same Region as MediaConvert.
    pub url: String,
    /// `SPEKE_SYSTEM_IDS`: one, as MediaConvert's Apple HLS groups take one
    /// (HLS AES-128 by default).
    pub system_ids: Vec<String>,
    /// `SPEKE_CERTIFICATE_ARN`: an ACM certificate for content key
    /// encryption, when the provider supports it.
    pub certificate_arn: Option<String>,
}

/// How one job's ladder is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEncryption {
    /// The key itself, in the job (`KEY_EXCHANGE=static`).
    Static(ContentKey),
    /// MediaConvert asks `provider` for the video's key.
    Speke { method: Encryption, provider: Speke },
}

/// The encryption settings of the environment, read together so each
/// combination that cannot work is refused at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySettings {
    pub encryption: Encryption,
    pub exchange: KeyExchange,
    /// With `KEY_EXCHANGE=speke` and encryption on.
    pub speke: Option<Speke>,
}

impl KeySettings {
    pub fn from_env(env: &mut Env) -> KeySettings {
        let encryption = env.choice("ENCRYPTION", Encryption::None);
        let exchange = env.choice("KEY_EXCHANGE", KeyExchange::Speke);
        let url = env.optional("SPEKE_URL").map(str::to_string);
        let ids = env.list("SPEKE_SYSTEM_IDS");
        let certificate_arn = env.optional("SPEKE_CERTIFICATE_ARN").map(str::to_string);
        let speke = match (encryption, exchange) {
            (Encryption::None, _) | (Encryption::Aes128, KeyExchange::Static) => None,
            (Encryption::SampleAes, KeyExchange::Static) => {
                env.problem(
                    "ENCRYPTION=sample-aes takes its keys from a DRM vendor: set KEY_EXCHANGE=speke \
                     and the vendor's SPEKE_URL",
                );
                None
            }
            (method, KeyExchange::Speke) => {
                let url = match url {
                    Some(u) if https_url(&u) => u,
                    Some(_) => {
                        env.problem(
                            "SPEKE_URL must be https://HOST[:PORT]/PATH, with no user info \
                             (MediaConvert's pattern)",
                        );
                        String::new()
                    }
                    None => {
                        env.problem(
                            "SPEKE_URL is required with KEY_EXCHANGE=speke: the key provider's \
                             API URL (or KEY_EXCHANGE=static)",
                        );
                        String::new()
                    }
                };
                let system_ids = match (method, ids.is_empty()) {
                    (Encryption::Aes128, true) => vec![HLS_AES_128.to_string()],
                    (_, true) => {
                        env.problem(
                            "SPEKE_SYSTEM_IDS is required with ENCRYPTION=sample-aes: the DRM \
                             system id the vendor gave (FairPlay: 94ce86fb-07ff-4f43-adb8-93d2fa968ca2)",
                        );
                        Vec::new()
                    }
                    (_, false) => ids,
                };
                if system_ids.len() > 1 {
                    env.problem(
                        "SPEKE_SYSTEM_IDS: MediaConvert's HLS output groups take one system id",
                    );
                }
                if system_ids.iter().any(|id| speke::uuid(id).is_none()) {
                    env.problem("SPEKE_SYSTEM_IDS must be UUIDs (8-4-4-4-12 hex digits)");
                }
                if let Some(arn) = &certificate_arn
                    && !(arn.starts_with("arn:aws:acm:") || arn.starts_with("arn:aws-us-gov:acm:"))
                {
                    env.problem(
                        "SPEKE_CERTIFICATE_ARN must be an ACM certificate ARN (arn:aws:acm:…)",
                    );
                }
                Some(Speke {
                    url,
                    system_ids,
                    certificate_arn,
                })
            }
        };
        KeySettings {
            encryption,
            exchange,
            speke,
        }
    }
}

/// MediaConvert's pattern for a SPEKE URL: `^https://[^:@/]*(:\d*)?(/.*)?$`.
fn https_url(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("https://") else {
        return false;
    };
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
    !host.is_empty() && !host.contains('@') && port.bytes().all(|b| b.is_ascii_digit())
}
