//! The signing keys: one JSON secret holding every key of the key group,
//! exactly one of them active.
//!
//! ```json
//! {"keys": [
//!   {"id": "K2JCJMDEHXQW5F", "private_key": "-----BEGIN PRIVATE KEY-----\n…", "active": true},
//!   {"id": "K3OLDKEYSTILLIN", "private_key": "-----BEGIN EC PRIVATE KEY-----\n…", "active": false}
//! ]}
//! ```
//!
//! The secret is parsed once per fetch and cached for a TTL, so a rotation
//! (a new key made active) reaches every warm function without a deploy. A
//! secret that stops parsing keeps the last good keys (with a warning); one
//! that never parsed stops the function at start. Errors name key ids, never
//! key material.

use std::sync::Arc;
use std::time::Instant;

use hlsgate_aws::cache::{Refresh, Refreshing};
use hlsgate_aws::secret::SecretError;
pub use hlsgate_aws::secret::{FileKeys, KeySource, StaticKeys};
use hlsgate_core::signing::{
    HashAlgorithm, KeyPairId, KeySize, PrivateKey, Signer, private_key_from_pem,
};
use secrecy::ExposeSecret;
use serde::Deserialize;

/// Why no keys could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("signing keys unreadable: {0}")]
    Source(String),
    #[error("signing keys secret is invalid: {0}")]
    Invalid(String),
}

impl From<SecretError> for KeysError {
    fn from(e: SecretError) -> Self {
        KeysError::Source(e.to_string())
    }
}

/// The parsed secret: a signer for the active key, and every id.
#[derive(Debug)]
pub struct SigningKeys {
    signer: Signer,
    ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    keys: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    private_key: String,
    #[serde(default)]
    active: bool,
}

impl SigningKeys {
    /// Parses the secret's JSON: every key must load (CloudFront's rules:
    /// RSA 2048 or ECDSA P-256), ids must be distinct, one key active.
    pub fn parse(json: &str, hash: HashAlgorithm) -> Result<SigningKeys, KeysError> {
        let invalid = |m: String| KeysError::Invalid(m);
        // Position only: serde_json's messages can quote a value, and a value
        // here may be a key.
        let doc: Document = serde_json::from_str(json).map_err(|e| {
            invalid(format!(
                r#"expected {{"keys":[{{"id","private_key","active"}}]}} (JSON error at line {} column {})"#,
                e.line(),
                e.column()
            ))
        })?;
        if doc.keys.is_empty() {
            return Err(invalid("no keys".into()));
        }
        let mut ids: Vec<String> = Vec::with_capacity(doc.keys.len());
        let mut active: Vec<(KeyPairId, PrivateKey)> = Vec::new();
        for (n, entry) in doc.keys.iter().enumerate() {
            // Not echoed: a key pasted into the wrong field must not reach a log.
            let id = KeyPairId::new(&entry.id).map_err(|_| {
                invalid(format!(
                    "key #{}: the id is not a CloudFront public key id (letters and digits, like K2JCJMDEHXQW5F)",
                    n + 1
                ))
            })?;
            if ids.contains(&entry.id) {
                return Err(invalid(format!("key id {} appears twice", entry.id)));
            }
            let pem = entry.private_key.replace("\\n", "\n");
            let key = private_key_from_pem(pem.as_bytes(), KeySize::CloudFront)
                .map_err(|e| invalid(format!("key {}: {e}", entry.id)))?;
            ids.push(entry.id.clone());
            if entry.active {
                active.push((id, key));
            }
        }
        let (id, key) = match active.len() {
            1 => active.remove(0),
            0 => return Err(invalid("no key is marked \"active\": true".into())),
            _ => {
                let names: Vec<String> = active.iter().map(|(id, _)| id.to_string()).collect();
                return Err(invalid(format!(
                    "{} keys are active ({}); exactly one may be",
                    names.len(),
                    names.join(", ")
                )));
            }
        };
        Ok(SigningKeys {
            signer: Signer::new(key, id, hash),
            ids,
        })
    }

    /// The signer for the active key.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Every key id in the secret, in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// A [`KeySource`] behind a TTL cache.
#[derive(Debug)]
pub struct KeyRing<S> {
    source: S,
    hash: HashAlgorithm,
    cache: Refreshing<SigningKeys>,
}

impl<S: KeySource> KeyRing<S> {
    pub fn new(source: S, hash: HashAlgorithm, refresh: Refresh) -> Self {
        KeyRing {
            source,
            hash,
            cache: Refreshing::new(refresh),
        }
    }

    /// The current keys. `Err` only when no valid secret was ever read.
    pub async fn current(&self) -> Result<Arc<SigningKeys>, KeysError> {
        self.current_at(Instant::now()).await
    }

    /// [`current`](Self::current) at a given instant (tests move time).
    pub async fn current_at(&self, now: Instant) -> Result<Arc<SigningKeys>, KeysError> {
        let fetch = async {
            let json = self.source.fetch().await?;
            SigningKeys::parse(json.expose_secret(), self.hash)
        };
        self.cache.get_at(now, "signing keys", fetch).await
    }
}
