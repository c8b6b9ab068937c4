//! CloudFront signed URLs and cookies: policies, signing (RSA-SHA1, RSA-SHA256,
//! ECDSA P-256 with SHA1 or SHA256), and verification that names the reason a
//! request would be refused.
//!
//! ```
//! use hlsgate_core::signing::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let signer = Signer::new(key, KeyPairId::new("K2JCJMDEHXQW5F")?, HashAlgorithm::Sha256);
//! // One signature for a whole folder, reused for every URL under it.
//! let folder = signer.sign_folder(
//!     "https://d111111abcdef8.cloudfront.net/videos/abc123/",
//!     Epoch::new(1_893_456_000)?,
//!     None,
//!     None,
//! )?;
//! let master = folder.apply_to("https://d111111abcdef8.cloudfront.net/videos/abc123/master.m3u8")?;
//! assert!(master.contains("&Key-Pair-Id=K2JCJMDEHXQW5F&Signature="));
//! # Ok(()) }
//! ```

mod b64;
mod crypto;
mod delivery;
pub mod forwarded;
mod keys;
pub mod names;
mod policy;
mod signer;
mod verify;
pub mod wildcard;

use std::fmt;

use serde::Serialize;

pub use b64::{decode as b64_decode, encode as b64_encode};
pub use crypto::{CryptoError, KeyAlgorithm, PrivateKey, PublicKey};
pub use delivery::Delivery;
pub use forwarded::{Forwarded, ForwardedError, ParamSuffix};
pub use keys::{
    KeyError, KeyPairId, KeySize, private_key_from_pem, private_key_to_pem, public_key_from_pem,
    public_key_to_pem,
};
pub use policy::{Epoch, Policy, PolicyError, PolicyKind, YEAR_3000, parse_source_ip};
pub use signer::{
    CookieOptions, SameSite, SignError, SignedParams, Signer, normalize_url, resource_url,
};
pub use verify::{
    Context, KeyGroup, KeyGroupError, MAX_COOKIE_BYTES, MAX_POLICY_BYTES, MAX_URL_BYTES, Verified,
    VerifyError, conditions, verify_cookies, verify_url, verify_url_with,
};

/// The digest under the signature. CloudFront's default is SHA1; SHA256 is
/// announced with `Hash-Algorithm=SHA256` (cookie `CloudFront-Hash-Algorithm`).
///
/// `FromStr` takes `sha1`/`sha256` in any case (configuration, the command
/// line); [`from_param`](Self::from_param) takes only CloudFront's spelling
/// (what arrives in a request).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum HashAlgorithm {
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
}

impl HashAlgorithm {
    /// The parameter value: `SHA1` or `SHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA1",
            HashAlgorithm::Sha256 => "SHA256",
        }
    }

    /// Parses the parameter value exactly as CloudFront spells it.
    pub fn from_param(s: &str) -> Option<Self> {
        match s {
            "SHA1" => Some(HashAlgorithm::Sha1),
            "SHA256" => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
