//! Keys from PEM (PKCS#1, PKCS#8, SEC1, SubjectPublicKeyInfo), key-pair ids, and
//! the RSA key-size rule CloudFront enforces.

use std::fmt;

use super::crypto::{self, CryptoError, DerFormat, KeyAlgorithm, PrivateKey, PublicKey};

/// Why a key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not PEM: {0}")]
    Pem(String),
    #[error(
        "no key found in the PEM input (expected PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY)"
    )]
    NoKey,
    #[error(
        "the PEM holds an encrypted key; decrypt it first (openssl pkey -in key.pem -out plain.pem)"
    )]
    Encrypted,
    #[error("expected a {expected} key but the PEM holds a {found:?} block")]
    WrongKind {
        expected: &'static str,
        found: String,
    },
    #[error(
        "RSA key is {bits} bits; CloudFront only accepts 2048-bit RSA keys (use --allow-any-key-size for tests only)"
    )]
    RsaKeySize { bits: u32 },
    #[error(
        "invalid key pair id {0:?}: expected the CloudFront public key id, letters and digits only (e.g. K2JCJMDEHXQW5F)"
    )]
    KeyPairId(String),
    #[error("{0}")]
    Crypto(#[from] CryptoError),
}

/// Whether to enforce CloudFront's RSA-2048 rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySize {
    /// RSA keys must be exactly 2048 bits (CloudFront's only accepted size).
    #[default]
    CloudFront,
    /// Any RSA size: for tests and experiments only.
    AllowAny,
}

impl KeySize {
    fn check(self, algorithm: KeyAlgorithm, bits: u32) -> Result<(), KeyError> {
        if self == KeySize::CloudFront && algorithm == KeyAlgorithm::Rsa && bits != 2048 {
            return Err(KeyError::RsaKeySize { bits });
        }
        Ok(())
    }
}

/// A CloudFront public key id (`Key-Pair-Id`), checked so it can be put into a
/// query string or a cookie without escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPairId(String);

impl KeyPairId {
    pub fn new(id: impl Into<String>) -> Result<Self, KeyError> {
        let id = id.into();
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyError::KeyPairId(id));
        }
        Ok(KeyPairId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyPairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn label_format(label: &str) -> Option<DerFormat> {
    Some(match label {
        "PRIVATE KEY" => DerFormat::Pkcs8,
        "RSA PRIVATE KEY" => DerFormat::Pkcs1,
        "EC PRIVATE KEY" => DerFormat::Sec1,
        "PUBLIC KEY" => DerFormat::Spki,
        "RSA PUBLIC KEY" => DerFormat::Pkcs1Public,
        _ => return None,
    })
}

/// Finds the first key block, skipping `EC PARAMETERS` and similar, and
/// returns its DER and format. The DER buffer should be wiped by the caller.
fn key_block(pem_text: &[u8]) -> Result<(DerFormat, Vec<u8>), KeyError> {
    let blocks = pem::parse_many(pem_text).map_err(|e| KeyError::Pem(e.to_string()))?;
    if blocks.is_empty() {
        return Err(KeyError::Pem("no PEM block found".into()));
    }
    for block in blocks {
        if block.tag() == "ENCRYPTED PRIVATE KEY" || block.headers().get("Proc-Type").is_some() {
            return Err(KeyError::Encrypted);
        }
        if let Some(format) = label_format(block.tag()) {
            return Ok((format, block.into_contents()));
        }
    }
    Err(KeyError::NoKey)
}

/// Loads a private key from PEM (PKCS#8, PKCS#1 or SEC1).
pub fn private_key_from_pem(pem_text: &[u8], size: KeySize) -> Result<PrivateKey, KeyError> {
    let (format, mut der) = key_block(pem_text)?;
    if matches!(format, DerFormat::Spki | DerFormat::Pkcs1Public) {
        return Err(KeyError::WrongKind {
            expected: "private",
            found: "PUBLIC KEY".into(),
        });
    }
    let key = PrivateKey::from_der(&der, format);
    crypto::cleanse(&mut der);
    let key = key?;
    size.check(key.algorithm(), key.bits())?;
    Ok(key)
}

/// Loads a public key from PEM. A private key PEM is accepted too (its public
/// half is used), which lets `hlsgate verify` take either file.
pub fn public_key_from_pem(pem_text: &[u8], size: KeySize) -> Result<PublicKey, KeyError> {
    let (format, mut der) = key_block(pem_text)?;
    let key = PublicKey::from_der(&der, format);
    crypto::cleanse(&mut der);
    let key = key?;
    size.check(key.algorithm(), key.bits())?;
    Ok(key)
}

/// PKCS#8 PEM ("PRIVATE KEY") of a private key.
pub fn private_key_to_pem(key: &PrivateKey) -> Result<String, KeyError> {
    let mut der = key.to_pkcs8_der()?;
    let text = pem::encode(&pem::Pem::new("PRIVATE KEY", der.clone()));
    crypto::cleanse(&mut der);
    Ok(text)
}

/// SubjectPublicKeyInfo PEM ("PUBLIC KEY"): what CloudFront's public key takes.
pub fn public_key_to_pem(key: &PublicKey) -> Result<String, KeyError> {
    Ok(pem::encode(&pem::Pem::new(
        "PUBLIC KEY",
        key.to_spki_der()?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pair_ids_are_alphanumeric() {
        assert!(KeyPairId::new("K2JCJMDEHXQW5F").is_ok());
        assert!(KeyPairId::new("APKAEIBAERJR2EXAMPLE").is_ok());
        for bad in ["", "K2 J", "K2&Signature=x", "K2;Domain=evil", "Ké"] {
            assert!(KeyPairId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn not_pem_and_encrypted_are_clear() {
        assert!(matches!(
            private_key_from_pem(b"hello", KeySize::CloudFront),
            Err(KeyError::Pem(_))
        ));
        let enc =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(
            private_key_from_pem(enc, KeySize::CloudFront).unwrap_err(),
            KeyError::Encrypted
        );
        let cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            private_key_from_pem(cert, KeySize::CloudFront).unwrap_err(),
            KeyError::NoKey
        );
    }
}
