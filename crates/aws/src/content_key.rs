//! Each video's AES-128 key, made once and kept: the folder key.
//!
//! The key is 16 bytes from the OS CSPRNG, stored at `KEYS_PREFIX/ID.key` in
//! the media bucket, outside `KEY_PREFIX`: the media origin's access control
//! covers only `KEY_PREFIX`, so the key is served by the rewriter's key route
//! alone, to the folder's signature. It is written with "create only if
//! absent"; a later job for the same folder reads and reuses it, so one
//! folder never holds segments under two keys. The key provider (SPEKE)
//! hands it to MediaConvert; with `KEY_EXCHANGE=static` the jobs function
//! writes it into the job instead.

use bytes::Bytes;
use hlsgate_core::video::{KEY_BYTES, KEY_NAME, VideoId, key_object};

use crate::{Fetched, ObjectSink, ObjectSource, SourceError};

/// A video's AES-128 key. Its `Debug` says nothing of the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentKey([u8; KEY_BYTES]);

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKey([redacted])")
    }
}

impl ContentKey {
    /// Sixteen bytes from the operating system's CSPRNG.
    pub fn generate() -> Result<ContentKey, String> {
        let mut k = [0u8; KEY_BYTES];
        getrandom::fill(&mut k).map_err(|e| format!("the OS random source: {e}"))?;
        Ok(ContentKey(k))
    }

    /// A fixed key, for tests only.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> ContentKey {
        ContentKey(bytes)
    }

    pub fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// The 32 hex characters `StaticKeyValue` wants.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The URI players fetch it from, relative to the video's folder.
    pub fn uri() -> &'static str {
        KEY_NAME
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading or writing {key}: {source}")]
    Store { key: String, source: SourceError },
    #[error(
        "{key} holds {len} bytes, not a 16-byte AES-128 key: refusing to encrypt the folder under another"
    )]
    Corrupt { key: String, len: usize },
    #[error("{0}")]
    Random(String),
}

/// The key of video `id`: the stored one, else a new one stored first.
pub async fn ensure<S: ObjectSink + ObjectSource>(
    media: &S,
    keys_prefix: &str,
    id: &VideoId,
) -> Result<ContentKey, KeyError> {
    let key = key_object(keys_prefix, id.as_str());
    if let Some(existing) = read(media, &key).await? {
        return Ok(existing);
    }
    let fresh = ContentKey::generate().map_err(KeyError::Random)?;
    let created = media
        .write_new(
            &key,
            Bytes::copy_from_slice(fresh.bytes()),
            "application/octet-stream",
        )
        .await
        .map_err(|source| KeyError::Store {
            key: key.clone(),
            source,
        })?;
    if created {
        return Ok(fresh);
    }
    // Another invocation stored one first: use it.
    match read(media, &key).await? {
        Some(stored) => Ok(stored),
        None => Err(KeyError::Store {
            key,
            source: SourceError::NotFound,
        }),
    }
}

async fn read<S: ObjectSource>(media: &S, key: &str) -> Result<Option<ContentKey>, KeyError> {
    match media.get(key, 64, None).await {
        Ok(Fetched::Object(o)) => {
            let bytes: [u8; KEY_BYTES] =
                o.body.as_ref().try_into().map_err(|_| KeyError::Corrupt {
                    key: key.to_string(),
                    len: o.body.len(),
                })?;
            Ok(Some(ContentKey(bytes)))
        }
        Ok(Fetched::NotModified) | Err(SourceError::NotFound) => Ok(None),
        Err(source) => Err(KeyError::Store {
            key: key.to_string(),
            source,
        }),
    }
}
