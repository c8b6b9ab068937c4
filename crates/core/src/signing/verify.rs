//! Verification, as CloudFront does it, with the exact reason a request fails:
//! CloudFront only ever answers "Access denied".
//!
//! Order of checks: form of the parameters, key id, signature, then the policy
//! (resource, start, expiry, source IP). Times follow the condition names:
//! valid when `DateGreaterThan < now < DateLessThan`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::crypto::PublicKey;
use super::keys::{KeyError, KeyPairId, KeySize, public_key_from_pem};
use super::names::{self, Found, Names};
use super::policy::{Epoch, Policy, PolicyKind};
use super::{HashAlgorithm, b64, wildcard};

/// Longest URL CloudFront accepts.
pub const MAX_URL_BYTES: usize = 8192;
/// Longest `Cookie` header we read.
pub const MAX_COOKIE_BYTES: usize = 16 * 1024;
/// Longest decoded policy we parse.
pub const MAX_POLICY_BYTES: usize = 4096;

/// The public keys of a CloudFront key group, by key-pair id. Any of them may
/// have made a signature (key rotation).
#[derive(Debug, Default)]
pub struct KeyGroup {
    keys: BTreeMap<String, PublicKey>,
}

impl KeyGroup {
    pub fn new() -> Self {
        KeyGroup::default()
    }

    pub fn insert(&mut self, id: KeyPairId, key: PublicKey) {
        self.keys.insert(id.as_str().to_string(), key);
    }

    pub fn get(&self, id: &str) -> Option<&PublicKey> {
        self.keys.get(id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `{"KEYID": "PEM or base64 DER SPKI", …}` (`PUBLIC_KEYS`): a bare
    /// base64 body is accepted because templates cannot easily hold PEM's
    /// line breaks. RSA keys must be CloudFront's size.
    pub fn from_json(json: &str) -> Result<KeyGroup, KeyGroupError> {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| KeyGroupError::NotJson(e.to_string()))?;
        if map.is_empty() {
            return Err(KeyGroupError::Empty);
        }
        let mut group = KeyGroup::new();
        for (id, v) in map {
            let key_id = KeyPairId::new(&id).map_err(|e| KeyGroupError::BadId(id.clone(), e))?;
            let text = v
                .as_str()
                .ok_or_else(|| KeyGroupError::NotText(id.clone()))?;
            let pem = if text.contains("-----BEGIN") {
                text.replace("\\n", "\n")
            } else {
                format!(
                    "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                    text.split_whitespace().collect::<String>()
                )
            };
            let key = public_key_from_pem(pem.as_bytes(), KeySize::CloudFront)
                .map_err(|e| KeyGroupError::BadKey(id.clone(), e))?;
            group.insert(key_id, key);
        }
        Ok(group)
    }
}

/// Why a key group's JSON was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyGroupError {
    #[error("not a JSON object of key id to public key: {0}")]
    NotJson(String),
    #[error("no keys")]
    Empty,
    #[error("key id {0:?}: {1}")]
    BadId(String, #[source] KeyError),
    #[error("key {0}: the value must be a string")]
    NotText(String),
    #[error("key {0}: {1}")]
    BadKey(String, #[source] KeyError),
}

/// What a request is checked against, besides its keys.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Current time, seconds since the epoch.
    pub now: u64,
    /// The viewer's address, when known. A policy with `AWS:SourceIp` fails
    /// without one: we never pass what we could not check.
    pub viewer_ip: Option<IpAddr>,
}

/// Why a signed request is refused. Each has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("canned/custom mismatch: {0}")]
    CannedCustomMismatch(String),
    #[error("unknown key id {key_pair_id:?}: the key group has {known:?}")]
    UnknownKeyId {
        key_pair_id: String,
        known: Vec<String>,
    },
    #[error("bad signature: {detail}")]
    BadSignature { key_pair_id: String, detail: String },
    #[error("resource does not match: the policy covers {pattern} but the request is for {url}")]
    ResourceMismatch { pattern: String, url: String },
    #[error("not yet valid: valid after {starts}, now is {now}")]
    NotYetValid { starts: Epoch, now: u64 },
    #[error("expired: valid until {expires}, now is {now} ({} s late)", now.saturating_sub(expires.seconds()))]
    Expired { expires: Epoch, now: u64 },
    #[error("IP outside range: viewer {ip} is not in {cidr}")]
    IpOutside { ip: IpAddr, cidr: Ipv4Net },
    #[error("IP unknown: the policy binds to {cidr} but no viewer IP was given")]
    IpUnknown { cidr: Ipv4Net },
}

impl VerifyError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::CannedCustomMismatch(_) => "canned_custom_mismatch",
            VerifyError::UnknownKeyId { .. } => "unknown_key_id",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::ResourceMismatch { .. } => "resource_mismatch",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::Expired { .. } => "expired",
            VerifyError::IpOutside { .. } => "ip_outside_range",
            VerifyError::IpUnknown { .. } => "ip_unknown",
        }
    }

    /// The facts behind the reason, for JSON output.
    pub fn details(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            VerifyError::Malformed(m) | VerifyError::CannedCustomMismatch(m) => {
                json!({ "problem": m })
            }
            VerifyError::UnknownKeyId { key_pair_id, known } => {
                json!({ "key_pair_id": key_pair_id, "known_key_ids": known })
            }
            VerifyError::BadSignature {
                key_pair_id,
                detail,
            } => json!({ "key_pair_id": key_pair_id, "problem": detail }),
            VerifyError::ResourceMismatch { pattern, url } => {
                json!({ "pattern": pattern, "url": url })
            }
            VerifyError::NotYetValid { starts, now } => json!({ "starts": starts, "now": now }),
            VerifyError::Expired { expires, now } => json!({ "expires": expires, "now": now }),
            VerifyError::IpOutside { ip, cidr } => {
                json!({ "ip": ip.to_string(), "cidr": cidr.to_string() })
            }
            VerifyError::IpUnknown { cidr } => json!({ "cidr": cidr.to_string() }),
        }
    }
}

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub kind: PolicyKind,
    pub key_pair_id: String,
    pub hash_algorithm: HashAlgorithm,
    /// The resource pattern (for canned policies, the URL itself).
    pub resource: String,
    /// The URL as matched: the request URL without signing parameters.
    pub url: String,
    pub expires: Epoch,
    pub starts: Option<Epoch>,
    pub source_ip: Option<String>,
}

impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "valid: {} policy, key {}, {}, resource {}, expires {}",
            self.kind, self.key_pair_id, self.hash_algorithm, self.resource, self.expires
        )?;
        if let Some(s) = self.starts {
            write!(f, ", starts {s}")?;
        }
        if let Some(ip) = &self.source_ip {
            write!(f, ", source IP {ip}")?;
        }
        Ok(())
    }
}

/// A policy's conditions for a request of `url` (without its signing
/// parameters): resource, start, expiry, source IP, in that order. What a
/// policy's clear text says without its signature checked (`hlsgate
/// probe` without the key group); [`verify_url`] and [`verify_cookies`]
/// check them after the signature.
pub fn conditions(policy: &Policy, url: &str, ctx: Context) -> Result<(), VerifyError> {
    if !wildcard::matches(policy.resource(), url) {
        return Err(VerifyError::ResourceMismatch {
            pattern: policy.resource().to_string(),
            url: url.to_string(),
        });
    }
    if let Some(starts) = policy.starts()
        && ctx.now <= starts.seconds()
    {
        return Err(VerifyError::NotYetValid {
            starts,
            now: ctx.now,
        });
    }
    if ctx.now >= policy.expires().seconds() {
        return Err(VerifyError::Expired {
            expires: policy.expires(),
            now: ctx.now,
        });
    }
    if let Some(cidr) = policy.source_ip() {
        match ctx.viewer_ip {
            None => return Err(VerifyError::IpUnknown { cidr }),
            Some(IpAddr::V4(v4)) if cidr.contains(&v4) => {}
            Some(ip) => return Err(VerifyError::IpOutside { ip, cidr }),
        }
    }
    Ok(())
}

fn malformed(m: impl Into<String>) -> VerifyError {
    VerifyError::Malformed(m.into())
}

/// Verifies a signed URL (signing parameters in its query string).
pub fn verify_url(
    signed_url: &str,
    keys: &KeyGroup,
    ctx: Context,
) -> Result<Verified, VerifyError> {
    verify_url_with(signed_url, &names::QUERY, keys, ctx)
}

/// Like [`verify_url`], but reading the signing values under other names
/// (e.g. a suffixed copy forwarded to an origin).
pub fn verify_url_with(
    signed_url: &str,
    names: &Names,
    keys: &KeyGroup,
    ctx: Context,
) -> Result<Verified, VerifyError> {
    let url = request_url(signed_url)?;
    let (resource_url, found) = names::split_signing_params(&url, names).map_err(malformed)?;
    if found.is_empty() {
        return Err(malformed(format!(
            "the URL carries no signing parameters ({}, {}, {})",
            names.signature, names.key_pair_id, names.expires
        )));
    }
    check(&resource_url, &found, names, keys, ctx)
}

/// Verifies a request for `url` carrying signed cookies (`Cookie` header form:
/// `CloudFront-Policy=…; CloudFront-Signature=…; …`). Signing parameters in the
/// URL's own query are not part of the cookie check and are kept as they are.
pub fn verify_cookies(
    url: &str,
    cookie_header: &str,
    keys: &KeyGroup,
    ctx: Context,
) -> Result<Verified, VerifyError> {
    if cookie_header.len() > MAX_COOKIE_BYTES {
        return Err(malformed(format!(
            "Cookie header is {} bytes, over the {MAX_COOKIE_BYTES}-byte limit",
            cookie_header.len()
        )));
    }
    let url = request_url(url)?;
    let names = &names::COOKIE;
    let found = Found::from_cookie_header(cookie_header).map_err(malformed)?;
    if found.is_empty() {
        return Err(malformed("no CloudFront-* cookies found"));
    }
    check(&url, &found, names, keys, ctx)
}

/// Normalises the request URL (as the browser sends it) and drops the fragment.
fn request_url(input: &str) -> Result<String, VerifyError> {
    if input.len() > MAX_URL_BYTES {
        return Err(malformed(format!(
            "URL is {} bytes, over CloudFront's {MAX_URL_BYTES}-byte limit",
            input.len()
        )));
    }
    super::signer::normalize_url(input)
        .map(|(u, _fragment)| u)
        .map_err(|e| malformed(e.to_string()))
}

fn check(
    url: &str,
    found: &Found,
    names: &Names,
    keys: &KeyGroup,
    ctx: Context,
) -> Result<Verified, VerifyError> {
    // 1. Form.
    let kind = match (&found.expires, &found.policy) {
        (Some(_), Some(_)) => {
            return Err(VerifyError::CannedCustomMismatch(format!(
                "both {} (canned) and {} (custom) are present; a signature uses one or the other",
                names.expires, names.policy
            )));
        }
        (Some(_), None) => PolicyKind::Canned,
        (None, Some(_)) => PolicyKind::Custom,
        (None, None) => {
            return Err(malformed(format!(
                "neither {} (canned) nor {} (custom) is present",
                names.expires, names.policy
            )));
        }
    };
    let signature = found
        .signature
        .as_deref()
        .ok_or_else(|| malformed(format!("{} is missing", names.signature)))?;
    let key_pair_id = found
        .key_pair_id
        .as_deref()
        .ok_or_else(|| malformed(format!("{} is missing", names.key_pair_id)))?;
    let hash = match found.hash_algorithm.as_deref() {
        None => HashAlgorithm::Sha1,
        Some(h) => HashAlgorithm::from_param(h).ok_or_else(|| {
            malformed(format!(
                "{} is {h:?}; CloudFront accepts SHA1 or SHA256",
                names.hash_algorithm
            ))
        })?,
    };

    // 2. Key.
    let key = keys
        .get(key_pair_id)
        .ok_or_else(|| VerifyError::UnknownKeyId {
            key_pair_id: key_pair_id.to_string(),
            known: keys.ids(),
        })?;

    // 3. Signature over the policy bytes.
    let sig = b64::decode(signature).map_err(|e| {
        malformed(format!(
            "{} is not CloudFront-safe base64: {e}",
            names.signature
        ))
    })?;
    let policy_bytes: Vec<u8> = match kind {
        PolicyKind::Canned => {
            let raw = found.expires.as_deref().unwrap_or_default();
            if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) || raw.len() > 20 {
                return Err(malformed(format!(
                    "{} must be whole seconds since the epoch, got {raw:?}",
                    names.expires
                )));
            }
            let secs: u64 = raw
                .parse()
                .map_err(|_| malformed(format!("{} is out of range", names.expires)))?;
            let expires =
                Epoch::new(secs).map_err(|e| malformed(format!("{}: {e}", names.expires)))?;
            Policy::new(url, expires)
                .map_err(|e| malformed(e.to_string()))?
                .to_json()
                .into_bytes()
        }
        PolicyKind::Custom => {
            let raw = found.policy.as_deref().unwrap_or_default();
            let bytes = b64::decode(raw).map_err(|e| {
                malformed(format!(
                    "{} is not CloudFront-safe base64: {e}",
                    names.policy
                ))
            })?;
            if bytes.len() > MAX_POLICY_BYTES {
                return Err(malformed(format!(
                    "policy is {} bytes, over the {MAX_POLICY_BYTES}-byte limit",
                    bytes.len()
                )));
            }
            bytes
        }
    };
    if !key.verify(hash, &policy_bytes, &sig) {
        let other = match hash {
            HashAlgorithm::Sha1 => HashAlgorithm::Sha256,
            HashAlgorithm::Sha256 => HashAlgorithm::Sha1,
        };
        let detail = if key.verify(other, &policy_bytes, &sig) {
            let fix = if other == HashAlgorithm::Sha256 {
                format!("add {}=SHA256", names.hash_algorithm)
            } else {
                format!("drop {} or set it to SHA1", names.hash_algorithm)
            };
            format!("the signature is valid over {other}, but the request says {hash}: {fix}")
        } else {
            match kind {
                PolicyKind::Canned => format!(
                    "does not verify with key {key_pair_id} ({hash}) over the canned policy for {url}; \
                     was it signed for another URL, another expiry, or with another key?"
                ),
                PolicyKind::Custom => format!(
                    "does not verify with key {key_pair_id} ({hash}) over the given policy; \
                     the policy or signature was changed, or another key signed it"
                ),
            }
        };
        return Err(VerifyError::BadSignature {
            key_pair_id: key_pair_id.to_string(),
            detail,
        });
    }

    // 4. Policy conditions.
    let policy = Policy::from_json(&policy_bytes)
        .map_err(|e| malformed(format!("signed policy is invalid: {e}")))?;

    conditions(&policy, url, ctx)?;

    Ok(Verified {
        kind,
        key_pair_id: key_pair_id.to_string(),
        hash_algorithm: hash,
        resource: policy.resource().to_string(),
        url: url.to_string(),
        expires: policy.expires(),
        starts: policy.starts(),
        source_ip: policy.source_ip().map(|n| n.to_string()),
    })
}
