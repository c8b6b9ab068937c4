//! The only module with `unsafe`: a small, safe wrapper over AWS-LC's EVP API.
//!
//! Why AWS-LC and not the `rsa` crate: `rsa` 0.9 has RUSTSEC-2023-0071 (Marvin,
//! a timing side channel in its variable-time big-integer code) and signs at a
//! fraction of OpenSSL's rate. AWS-LC's RSA private operation is constant-time
//! and blinded, its ECDSA uses constant-time P-256 arithmetic, it is the library
//! the AWS SDK's TLS stack already links, and it builds with `cc` alone. The
//! safe crates over it (`aws-lc-rs`, `ring`) refuse to *sign* with SHA-1 on
//! purpose, but CloudFront's default hash is SHA-1, so we call the EVP functions
//! ourselves. Every pointer is owned by a RAII guard; every call's result is
//! checked; the error queue is cleared after a failure.

use std::fmt;
use std::ptr;

use aws_lc_sys as lc;

use super::HashAlgorithm;

/// What AWS-LC said when an operation failed (no key material, ever).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CryptoError(String);

impl CryptoError {
    fn from_queue(what: &str) -> Self {
        // SAFETY: ERR_get_error/ERR_error_string_n/ERR_clear_error only touch the
        // thread-local error queue; the buffer is ours and its length is passed.
        let detail = unsafe {
            let code = lc::ERR_get_error();
            lc::ERR_clear_error();
            if code == 0 {
                String::new()
            } else {
                let mut buf = [0 as std::ffi::c_char; 160];
                lc::ERR_error_string_n(code, buf.as_mut_ptr(), buf.len());
                std::ffi::CStr::from_ptr(buf.as_ptr())
                    .to_string_lossy()
                    .into_owned()
            }
        };
        if detail.is_empty() {
            CryptoError(what.to_string())
        } else {
            CryptoError(format!("{what} ({detail})"))
        }
    }
}

/// The kind of key: CloudFront accepts RSA-2048 and ECDSA P-256 public keys.
/// `FromStr` takes `rsa` or `ecdsa` (any case); `Display` is the long name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::VariantNames)]
#[strum(ascii_case_insensitive)]
pub enum KeyAlgorithm {
    /// RSA 2048-bit (the only RSA size CloudFront accepts).
    #[strum(serialize = "rsa")]
    Rsa,
    /// ECDSA P-256: about 15x faster to sign with, smaller signatures.
    #[strum(serialize = "ecdsa")]
    EcdsaP256,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::Rsa => "RSA",
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
        })
    }
}

/// An owned `EVP_PKEY`.
struct Pkey(ptr::NonNull<lc::EVP_PKEY>);

// SAFETY: an EVP_PKEY is reference counted with atomic counts and AWS-LC's
// signing and verifying functions take it as read-only input (RSA blinding state
// is guarded internally), so sharing it between threads is sound as long as we
// never mutate it after construction, which this module does not.
unsafe impl Send for Pkey {}
unsafe impl Sync for Pkey {}

impl Drop for Pkey {
    fn drop(&mut self) {
        // SAFETY: we own one reference to this key.
        unsafe { lc::EVP_PKEY_free(self.0.as_ptr()) }
    }
}

impl Pkey {
    fn new(raw: *mut lc::EVP_PKEY, what: &str) -> Result<Self, CryptoError> {
        ptr::NonNull::new(raw)
            .map(Pkey)
            .ok_or_else(|| CryptoError::from_queue(what))
    }

    fn as_ptr(&self) -> *mut lc::EVP_PKEY {
        self.0.as_ptr()
    }

    fn algorithm(&self) -> Result<KeyAlgorithm, CryptoError> {
        // SAFETY: the key is valid for the life of self.
        let id = unsafe { lc::EVP_PKEY_id(self.as_ptr()) };
        match id {
            lc::EVP_PKEY_RSA => Ok(KeyAlgorithm::Rsa),
            lc::EVP_PKEY_EC => {
                // SAFETY: the key is an EC key, so get0 returns a borrowed EC_KEY
                // whose group is borrowed from it.
                let nid = unsafe {
                    let ec = lc::EVP_PKEY_get0_EC_KEY(self.as_ptr());
                    if ec.is_null() {
                        return Err(CryptoError("EC key without parameters".into()));
                    }
                    lc::EC_GROUP_get_curve_name(lc::EC_KEY_get0_group(ec))
                };
                if nid == lc::NID_X9_62_prime256v1 {
                    Ok(KeyAlgorithm::EcdsaP256)
                } else {
                    Err(CryptoError(
                        "EC key is not on P-256 (prime256v1): CloudFront accepts only P-256".into(),
                    ))
                }
            }
            _ => Err(CryptoError(
                "unsupported key type: CloudFront accepts RSA and ECDSA P-256 keys".into(),
            )),
        }
    }

    fn bits(&self) -> u32 {
        // SAFETY: the key is valid for the life of self.
        let bits = unsafe { lc::EVP_PKEY_bits(self.as_ptr()) };
        u32::try_from(bits).unwrap_or(0)
    }

    fn marshal(&self, public: bool) -> Result<Vec<u8>, CryptoError> {
        // SAFETY: CBB is initialised before use and cleaned up on every path;
        // CBB_finish hands us a buffer we copy and free with OPENSSL_free.
        unsafe {
            let mut cbb: lc::CBB = std::mem::zeroed();
            if lc::CBB_init(&mut cbb, 256) != 1 {
                return Err(CryptoError::from_queue("out of memory"));
            }
            let ok = if public {
                lc::EVP_marshal_public_key(&mut cbb, self.as_ptr())
            } else {
                lc::EVP_marshal_private_key(&mut cbb, self.as_ptr())
            };
            let mut out: *mut u8 = ptr::null_mut();
            let mut len = 0usize;
            if ok != 1 || lc::CBB_finish(&mut cbb, &mut out, &mut len) != 1 {
                lc::CBB_cleanup(&mut cbb);
                return Err(CryptoError::from_queue("cannot encode key"));
            }
            let der = std::slice::from_raw_parts(out, len).to_vec();
            lc::OPENSSL_cleanse(out.cast(), len);
            lc::OPENSSL_free(out.cast());
            Ok(der)
        }
    }
}

fn md(hash: HashAlgorithm) -> *const lc::EVP_MD {
    // SAFETY: these return pointers to static digest descriptions.
    unsafe {
        match hash {
            HashAlgorithm::Sha1 => lc::EVP_sha1(),
            HashAlgorithm::Sha256 => lc::EVP_sha256(),
        }
    }
}

/// An owned `EVP_MD_CTX`.
struct MdCtx(ptr::NonNull<lc::EVP_MD_CTX>);

impl MdCtx {
    fn new() -> Result<Self, CryptoError> {
        // SAFETY: allocation; null is handled.
        ptr::NonNull::new(unsafe { lc::EVP_MD_CTX_new() })
            .map(MdCtx)
            .ok_or_else(|| CryptoError::from_queue("out of memory"))
    }
}

impl Drop for MdCtx {
    fn drop(&mut self) {
        // SAFETY: we own the context.
        unsafe { lc::EVP_MD_CTX_free(self.0.as_ptr()) }
    }
}

/// Parses DER into an EVP_PKEY with `EVP_parse_private_key` or
/// `EVP_parse_public_key`, refusing trailing bytes.
fn parse_evp(
    der: &[u8],
    parse: unsafe extern "C" fn(*mut lc::CBS) -> *mut lc::EVP_PKEY,
    what: &str,
) -> Result<Pkey, CryptoError> {
    // SAFETY: the CBS borrows `der` for the duration of this call only; the
    // parsed key is owned by Pkey from here on, so it is freed on every path.
    unsafe {
        let mut cbs: lc::CBS = std::mem::zeroed();
        lc::CBS_init(&mut cbs, der.as_ptr(), der.len());
        let pkey = Pkey::new(parse(&mut cbs), &format!("not a valid {what}"))?;
        if cbs.len != 0 {
            return Err(CryptoError(format!("trailing bytes after the {what}")));
        }
        Ok(pkey)
    }
}

unsafe extern "C" fn ec_parse_any_curve(cbs: *mut lc::CBS) -> *mut lc::EC_KEY {
    // SAFETY: a NULL group means "take the curve from the key's parameters".
    unsafe { lc::EC_KEY_parse_private_key(cbs, ptr::null()) }
}

/// Wraps an RSA or EC_KEY in a fresh EVP_PKEY (taking ownership of it).
fn wrap_rsa(rsa: *mut lc::RSA) -> Result<Pkey, CryptoError> {
    // SAFETY: on success EVP_PKEY_assign_RSA takes ownership of `rsa`; on
    // failure we free both.
    unsafe {
        let pkey = Pkey::new(lc::EVP_PKEY_new(), "out of memory")?;
        if lc::EVP_PKEY_assign_RSA(pkey.as_ptr(), rsa) != 1 {
            lc::RSA_free(rsa);
            return Err(CryptoError::from_queue("cannot load RSA key"));
        }
        Ok(pkey)
    }
}

fn wrap_ec(ec: *mut lc::EC_KEY) -> Result<Pkey, CryptoError> {
    // SAFETY: as for wrap_rsa.
    unsafe {
        let pkey = Pkey::new(lc::EVP_PKEY_new(), "out of memory")?;
        if lc::EVP_PKEY_assign_EC_KEY(pkey.as_ptr(), ec) != 1 {
            lc::EC_KEY_free(ec);
            return Err(CryptoError::from_queue("cannot load EC key"));
        }
        Ok(pkey)
    }
}

/// One of the DER encodings we accept for keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerFormat {
    /// PKCS#8 `PrivateKeyInfo` (PEM "PRIVATE KEY").
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` (PEM "RSA PRIVATE KEY").
    Pkcs1,
    /// SEC1 `ECPrivateKey` (PEM "EC PRIVATE KEY").
    Sec1,
    /// X.509 `SubjectPublicKeyInfo` (PEM "PUBLIC KEY").
    Spki,
    /// PKCS#1 `RSAPublicKey` (PEM "RSA PUBLIC KEY").
    Pkcs1Public,
}

fn parse_pkey_der(der: &[u8], format: DerFormat) -> Result<Pkey, CryptoError> {
    let bad = |what: &str| CryptoError::from_queue(&format!("not a valid {what}"));
    // SAFETY: each branch hands the parsed object to a typed owner (Pkey, or
    // wrap_* which takes ownership) or frees it with its own free function.
    unsafe {
        match format {
            DerFormat::Pkcs8 => parse_evp(der, lc::EVP_parse_private_key, "PKCS#8 private key"),
            DerFormat::Spki => parse_evp(der, lc::EVP_parse_public_key, "public key"),
            DerFormat::Pkcs1 | DerFormat::Pkcs1Public | DerFormat::Sec1 => {
                let mut cbs: lc::CBS = std::mem::zeroed();
                lc::CBS_init(&mut cbs, der.as_ptr(), der.len());
                match format {
                    DerFormat::Pkcs1 | DerFormat::Pkcs1Public => {
                        let rsa = if format == DerFormat::Pkcs1 {
                            lc::RSA_parse_private_key(&mut cbs)
                        } else {
                            lc::RSA_parse_public_key(&mut cbs)
                        };
                        if rsa.is_null() {
                            return Err(bad("PKCS#1 RSA key"));
                        }
                        if cbs.len != 0 {
                            lc::RSA_free(rsa);
                            return Err(CryptoError("trailing bytes after PKCS#1 key".into()));
                        }
                        wrap_rsa(rsa)
                    }
                    _ => {
                        let ec = ec_parse_any_curve(&mut cbs);
                        if ec.is_null() {
                            return Err(bad("SEC1 EC private key"));
                        }
                        if cbs.len != 0 {
                            lc::EC_KEY_free(ec);
                            return Err(CryptoError("trailing bytes after SEC1 key".into()));
                        }
                        wrap_ec(ec)
                    }
                }
            }
        }
    }
}

/// A private signing key (RSA or ECDSA P-256). Cheap to share across threads.
pub struct PrivateKey {
    pkey: Pkey,
    algorithm: KeyAlgorithm,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "PrivateKey({} {} bits)", self.algorithm, self.bits())
    }
}

impl PrivateKey {
    /// Parses a DER private key in the given format.
    pub fn from_der(der: &[u8], format: DerFormat) -> Result<Self, CryptoError> {
        if matches!(format, DerFormat::Spki | DerFormat::Pkcs1Public) {
            return Err(CryptoError(
                "this is a public key; signing needs the private key".into(),
            ));
        }
        let pkey = parse_pkey_der(der, format)?;
        let algorithm = pkey.algorithm()?;
        Ok(PrivateKey { pkey, algorithm })
    }

    /// Generates a new RSA-2048 or ECDSA P-256 key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, CryptoError> {
        let id = match algorithm {
            KeyAlgorithm::Rsa => lc::EVP_PKEY_RSA,
            KeyAlgorithm::EcdsaP256 => lc::EVP_PKEY_EC,
        };
        // SAFETY: the keygen context is freed on every path; the generated key
        // is owned by Pkey (or freed here when generation failed half-way).
        unsafe {
            let ctx = lc::EVP_PKEY_CTX_new_id(id, ptr::null_mut());
            if ctx.is_null() {
                return Err(CryptoError::from_queue("out of memory"));
            }
            let configured = lc::EVP_PKEY_keygen_init(ctx) == 1
                && match algorithm {
                    KeyAlgorithm::Rsa => lc::EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048),
                    KeyAlgorithm::EcdsaP256 => {
                        lc::EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, lc::NID_X9_62_prime256v1)
                    }
                } == 1;
            let mut out: *mut lc::EVP_PKEY = ptr::null_mut();
            let ok = configured && lc::EVP_PKEY_keygen(ctx, &mut out) == 1;
            lc::EVP_PKEY_CTX_free(ctx);
            if !ok {
                if !out.is_null() {
                    lc::EVP_PKEY_free(out);
                }
                return Err(CryptoError::from_queue("key generation failed"));
            }
            let pkey = Pkey::new(out, "key generation failed")?;
            Ok(PrivateKey { pkey, algorithm })
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Modulus size for RSA, curve size (256) for ECDSA.
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// PKCS#8 DER of the private key. Handle with care: this is the secret.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, CryptoError> {
        self.pkey.marshal(false)
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, CryptoError> {
        let spki = self.pkey.marshal(true)?;
        PublicKey::from_der(&spki, DerFormat::Spki)
    }

    /// Signs `message`: RSA PKCS#1 v1.5, or ECDSA with a DER signature.
    pub fn sign(&self, hash: HashAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let ctx = MdCtx::new()?;
        // SAFETY: ctx and key are live; the output buffer has EVP_PKEY_size
        // bytes, the maximum signature length, and we pass its length.
        unsafe {
            if lc::EVP_DigestSignInit(
                ctx.0.as_ptr(),
                ptr::null_mut(),
                md(hash),
                ptr::null_mut(),
                self.pkey.as_ptr(),
            ) != 1
            {
                return Err(CryptoError::from_queue("cannot start signing"));
            }
            let max = usize::try_from(lc::EVP_PKEY_size(self.pkey.as_ptr())).unwrap_or(0);
            let mut sig = vec![0u8; max];
            let mut len = max;
            if lc::EVP_DigestSign(
                ctx.0.as_ptr(),
                sig.as_mut_ptr(),
                &mut len,
                message.as_ptr(),
                message.len(),
            ) != 1
            {
                return Err(CryptoError::from_queue("signing failed"));
            }
            sig.truncate(len);
            Ok(sig)
        }
    }
}

/// A public verification key (RSA or ECDSA P-256).
pub struct PublicKey {
    pkey: Pkey,
    algorithm: KeyAlgorithm,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {} bits)", self.algorithm, self.bits())
    }
}

impl PublicKey {
    pub fn from_der(der: &[u8], format: DerFormat) -> Result<Self, CryptoError> {
        let pkey = match format {
            DerFormat::Spki | DerFormat::Pkcs1Public => parse_pkey_der(der, format)?,
            // A private key also carries its public half.
            _ => return PrivateKey::from_der(der, format)?.public_key(),
        };
        let algorithm = pkey.algorithm()?;
        Ok(PublicKey { pkey, algorithm })
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// SubjectPublicKeyInfo DER: what CloudFront's public key resource takes (as PEM).
    pub fn to_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        self.pkey.marshal(true)
    }

    /// True when `signature` is a valid signature of `message` under this key.
    pub fn verify(&self, hash: HashAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        let Ok(ctx) = MdCtx::new() else {
            return false;
        };
        // SAFETY: ctx and key are live; the slices are passed with their lengths.
        unsafe {
            let ok = lc::EVP_DigestVerifyInit(
                ctx.0.as_ptr(),
                ptr::null_mut(),
                md(hash),
                ptr::null_mut(),
                self.pkey.as_ptr(),
            ) == 1
                && lc::EVP_DigestVerify(
                    ctx.0.as_ptr(),
                    signature.as_ptr(),
                    signature.len(),
                    message.as_ptr(),
                    message.len(),
                ) == 1;
            if !ok {
                lc::ERR_clear_error();
            }
            ok
        }
    }
}

/// Overwrites a buffer that held key material, in a way the optimiser keeps.
pub fn cleanse(buf: &mut [u8]) {
    // SAFETY: the pointer and length describe a live, writable buffer.
    unsafe { lc::OPENSSL_cleanse(buf.as_mut_ptr().cast(), buf.len()) }
}
