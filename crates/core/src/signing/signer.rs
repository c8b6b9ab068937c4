//! Signing: a key, its CloudFront key-pair id and a hash algorithm produce
//! [`SignedParams`], which become a signed URL, bare query parameters, or signed
//! cookies. A folder signature (custom policy on `https://CDN/videos/ID/*`) is
//! made once and applied to any number of URLs under it.

use std::sync::Arc;

use super::crypto::{CryptoError, PrivateKey};
use super::keys::KeyPairId;
use super::policy::{Epoch, Policy, PolicyError, PolicyKind};
use super::{HashAlgorithm, b64, names, wildcard};

/// Why signing, or applying a signature to a URL, failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("URL {url} is not covered by the signed resource {pattern}")]
    NotCovered { url: String, pattern: String },
    #[error(
        "invalid cookie attribute {name}: {value:?} (no ';', ',', spaces or control characters)"
    )]
    CookieAttribute { name: &'static str, value: String },
    #[error("signing failed: {0}")]
    Crypto(#[from] CryptoError),
}

/// Normalises a URL the way a browser sends it (percent-encoded path, lower-case
/// scheme and host), so a canned signature matches the request CloudFront sees.
/// Returns (URL without fragment, fragment including `#`).
pub fn normalize_url(input: &str) -> Result<(String, String), SignError> {
    let err = |reason: &str| SignError::Url {
        url: input.to_string(),
        reason: reason.to_string(),
    };
    let mut url = url::Url::parse(input).map_err(|e| err(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err("scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("credentials in a URL are not allowed"));
    }
    let fragment = url.fragment().map(|f| format!("#{f}")).unwrap_or_default();
    url.set_fragment(None);
    Ok((url.into(), fragment))
}

/// The URL as CloudFront matches it: normalised, without signing parameters
/// (which CloudFront strips). Returns (that URL, fragment including `#`).
pub fn resource_url(input: &str) -> Result<(String, String), SignError> {
    let (normalized, fragment) = normalize_url(input)?;
    Ok((
        names::strip_signing_params(&normalized, &names::QUERY),
        fragment,
    ))
}

/// A reusable signer: one private key, its key-pair id, one hash algorithm.
/// Cheap to clone and safe to share between threads.
#[derive(Debug, Clone)]
pub struct Signer {
    key: Arc<PrivateKey>,
    key_pair_id: KeyPairId,
    hash: HashAlgorithm,
}

impl Signer {
    pub fn new(key: PrivateKey, key_pair_id: KeyPairId, hash: HashAlgorithm) -> Self {
        Signer {
            key: Arc::new(key),
            key_pair_id,
            hash,
        }
    }

    pub fn key_pair_id(&self) -> &KeyPairId {
        &self.key_pair_id
    }

    pub fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// CloudFront-safe base64 signature over exactly these bytes.
    pub fn sign_bytes(&self, policy_json: &[u8]) -> Result<String, CryptoError> {
        Ok(b64::encode(&self.key.sign(self.hash, policy_json)?))
    }

    /// Canned policy for one exact URL (normalised as a browser sends it; any
    /// signing parameters already on it are dropped first).
    pub fn sign_canned(&self, url: &str, expires: Epoch) -> Result<SignedParams, SignError> {
        let (resource, _fragment) = resource_url(url)?;
        let policy = Policy::new(resource, expires)?;
        self.sign_policy(policy, PolicyKind::Canned)
    }

    /// Custom policy, carried in the `Policy` parameter.
    pub fn sign_custom(&self, policy: &Policy) -> Result<SignedParams, SignError> {
        self.sign_policy(policy.clone(), PolicyKind::Custom)
    }

    /// One signature for every URL under `folder_url` (which must end in `/`):
    /// a custom policy on `folder_url*`. Apply it with [`SignedParams::apply_to`].
    pub fn sign_folder(
        &self,
        folder_url: &str,
        expires: Epoch,
        starts: Option<Epoch>,
        source_ip: Option<ipnet::Ipv4Net>,
    ) -> Result<SignedParams, SignError> {
        let (folder, _) = normalize_url(folder_url)?;
        if !folder.ends_with('/') || folder.contains('?') {
            return Err(SignError::Url {
                url: folder_url.to_string(),
                reason: "a folder URL ends with '/' and has no query".into(),
            });
        }
        let mut policy = Policy::new(format!("{folder}*"), expires)?;
        if let Some(s) = starts {
            policy = policy.with_start(s)?;
        }
        if let Some(ip) = source_ip {
            policy = policy.with_source_ip(ip);
        }
        self.sign_custom(&policy)
    }

    fn sign_policy(&self, policy: Policy, kind: PolicyKind) -> Result<SignedParams, SignError> {
        let json = policy.to_json();
        let signature = self.sign_bytes(json.as_bytes())?;
        let policy_b64 = match kind {
            PolicyKind::Canned => None,
            PolicyKind::Custom => Some(b64::encode(json.as_bytes())),
        };
        Ok(SignedParams {
            kind,
            policy,
            policy_json: json,
            policy_b64,
            signature,
            key_pair_id: self.key_pair_id.clone(),
            hash: self.hash,
        })
    }
}

/// The result of signing: everything needed to build URLs or cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParams {
    kind: PolicyKind,
    policy: Policy,
    policy_json: String,
    policy_b64: Option<String>,
    signature: String,
    key_pair_id: KeyPairId,
    hash: HashAlgorithm,
}

/// `SameSite` attribute of the signed cookies: `strict`, `lax` or `none`
/// (any case) in configuration and on the command line.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    strum::EnumString,
    strum::Display,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum SameSite {
    Strict,
    /// Default: sent on same-site requests (player and CDN under one site).
    #[default]
    Lax,
    /// Needed when the player page and the CDN are on different sites.
    None,
}

impl From<SameSite> for cookie::SameSite {
    fn from(s: SameSite) -> Self {
        match s {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        }
    }
}

/// Attributes for `Set-Cookie`. `Secure` and `HttpOnly` are always set.
#[derive(Debug, Clone, Default)]
pub struct CookieOptions {
    /// `Domain=`; none means host-only on the host that sets them.
    pub domain: Option<String>,
    /// `Path=`; default `/`.
    pub path: Option<String>,
    pub same_site: SameSite,
    /// Also set `Expires=` to the policy expiry, so browsers drop dead cookies.
    pub expires: bool,
}

impl SignedParams {
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The exact JSON that was signed.
    pub fn policy_json(&self) -> &str {
        &self.policy_json
    }

    /// The `Policy` value (custom policies only).
    pub fn policy_b64(&self) -> Option<&str> {
        self.policy_b64.as_deref()
    }

    pub fn signature(&self) -> &str {
        &self.signature
    }

    pub fn key_pair_id(&self) -> &KeyPairId {
        &self.key_pair_id
    }

    pub fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    pub fn expires(&self) -> Epoch {
        self.policy.expires()
    }

    /// Name/value pairs in CloudFront's order: `Expires` or `Policy`, then
    /// `Key-Pair-Id`, `Signature`, and `Hash-Algorithm` when not SHA1.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        self.pairs(&names::QUERY)
    }

    /// The same values under cookie names (`CloudFront-…`).
    pub fn cookies(&self) -> Vec<(&'static str, String)> {
        self.pairs(&names::COOKIE)
    }

    fn pairs(&self, names: &names::Names) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(4);
        match &self.policy_b64 {
            Some(p) => out.push((names.policy, p.clone())),
            None => out.push((names.expires, self.expires().seconds().to_string())),
        }
        out.push((names.key_pair_id, self.key_pair_id.to_string()));
        out.push((names.signature, self.signature.clone()));
        if self.hash != HashAlgorithm::Sha1 {
            out.push((names.hash_algorithm, self.hash.as_str().to_string()));
        }
        out
    }

    /// `Expires=…&Key-Pair-Id=…&Signature=…`: for appending elsewhere. Values
    /// use CloudFront-safe base64 and need no escaping.
    pub fn query_string(&self) -> String {
        join_pairs(&self.query_pairs())
    }

    /// True when a request for `url` is covered by the signed resource.
    pub fn covers(&self, url: &str) -> bool {
        resource_url(url).is_ok_and(|(base, _)| self.covers_resource_url(&base))
    }

    /// `base` is already in [`resource_url`] form.
    fn covers_resource_url(&self, base: &str) -> bool {
        match self.kind {
            PolicyKind::Canned => base == self.policy.resource(),
            PolicyKind::Custom => wildcard::matches(self.policy.resource(), base),
        }
    }

    /// A signed URL: the URL's own query kept first, our parameters after it
    /// (`&` when it already has a query), any `#fragment` kept last. Signing
    /// parameters already on the URL are replaced, so applying twice is the same
    /// as applying once. Refuses URLs the signature does not cover.
    pub fn apply_to(&self, url: &str) -> Result<String, SignError> {
        let (base, fragment) = resource_url(url)?;
        if !self.covers_resource_url(&base) {
            return Err(SignError::NotCovered {
                url: base,
                pattern: self.policy.resource().to_string(),
            });
        }
        let mut out = String::with_capacity(base.len() + 700);
        out.push_str(&base);
        out.push(if base.contains('?') { '&' } else { '?' });
        out.push_str(&self.query_string());
        out.push_str(&fragment);
        Ok(out)
    }

    /// Ready `Set-Cookie` header values, one per cookie.
    pub fn set_cookie_headers(&self, opts: &CookieOptions) -> Result<Vec<String>, SignError> {
        let check = |name: &'static str, v: &str| {
            if v.is_empty()
                || v.chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == ';' || c == ',')
            {
                Err(SignError::CookieAttribute {
                    name,
                    value: v.to_string(),
                })
            } else {
                Ok(())
            }
        };
        if let Some(d) = &opts.domain {
            check("Domain", d)?;
        }
        let path = opts.path.as_deref().unwrap_or("/");
        check("Path", path)?;
        let expires = if opts.expires {
            i64::try_from(self.expires().seconds())
                .ok()
                .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        } else {
            None
        };
        Ok(self
            .cookies()
            .into_iter()
            .map(|(name, value)| {
                let mut c = cookie::Cookie::build((name, value))
                    .path(path.to_string())
                    .secure(true)
                    .http_only(true)
                    .same_site(opts.same_site.into());
                if let Some(d) = &opts.domain {
                    c = c.domain(d.clone());
                }
                if let Some(t) = expires {
                    c = c.expires(t);
                }
                c.build().to_string()
            })
            .collect())
    }
}

pub(crate) fn join_pairs(pairs: &[(&str, String)]) -> String {
    let mut s = String::with_capacity(700);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}
