//! Reading and writing objects: two small traits, the S3 adapter behind
//! them, and an in-memory one for tests, benchmarks and local runs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use bytes::{Bytes, BytesMut};

use crate::error::{CallError, CallFailure};

/// An object's bytes and its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Bytes,
    pub etag: Option<String>,
}

/// The answer to a (possibly conditional) read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Object(Object),
    /// The `If-None-Match` entity tag still matches.
    NotModified,
}

/// Why a read failed, sorted by what the caller should answer. Carries the
/// store's request id for support, never the store's error text for viewers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Missing, or not readable by us (S3 answers 403 for a missing key when
    /// the role may not list the bucket): the viewer sees 404 either way.
    #[error("not found")]
    NotFound,
    #[error("object is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("throttled (request id {request_id:?})")]
    Throttled { request_id: Option<String> },
    #[error("timed out")]
    Timeout,
    #[error("store unavailable: {detail} (request id {request_id:?})")]
    Unavailable {
        detail: String,
        request_id: Option<String>,
    },
}

/// Reads one object by key.
pub trait ObjectSource: Send + Sync {
    /// Reads `key`, refusing more than `max_bytes` before reading the body.
    /// With `if_none_match`, an unchanged object answers
    /// [`Fetched::NotModified`].
    fn get(
        &self,
        key: &str,
        max_bytes: u64,
        if_none_match: Option<&str>,
    ) -> impl Future<Output = Result<Fetched, SourceError>> + Send;

    /// True when `key` exists (a `HEAD`: nothing is read).
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, SourceError>> + Send;
}

/// Writes one object by key, replacing what was there.
pub trait ObjectSink: Send + Sync {
    fn write(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;

    /// Writes only when nothing is stored at `key`: `Ok(false)` when
    /// something was (S3's conditional `If-None-Match: *`).
    fn write_new(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;

    /// Deletes `key`; deleting nothing is not an error (as in S3).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), SourceError>> + Send;
}

/// Objects in one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Objects {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl ObjectSource for S3Objects {
    async fn get(
        &self,
        key: &str,
        max_bytes: u64,
        if_none_match: Option<&str>,
    ) -> Result<Fetched, SourceError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(if_none_match.map(str::to_string))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => return classify(e, GetObjectError::is_no_such_key),
        };
        if let Some(len) = out.content_length().and_then(|n| u64::try_from(n).ok())
            && len > max_bytes
        {
            // Dropping the body closes the connection without reading it.
            return Err(SourceError::TooLarge {
                size: len,
                limit: max_bytes,
            });
        }
        let etag = out.e_tag().map(str::to_string);
        let request_id = out.request_id().map(str::to_string);
        let mut body = out.body;
        let mut buf = BytesMut::new();
        loop {
            match body.try_next().await {
                Ok(Some(chunk)) => {
                    let size = (buf.len() + chunk.len()) as u64;
                    if size > max_bytes {
                        // The length header was absent or wrong.
                        return Err(SourceError::TooLarge {
                            size,
                            limit: max_bytes,
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(SourceError::Unavailable {
                        detail: format!("reading the body failed: {e}"),
                        request_id,
                    });
                }
            }
        }
        Ok(Fetched::Object(Object {
            body: buf.freeze(),
            etag,
        }))
    }

    async fn exists(&self, key: &str) -> Result<bool, SourceError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) => match classify(e, HeadObjectError::is_not_found) {
                Err(SourceError::NotFound) => Ok(false),
                Err(e) => Err(e),
                // A HEAD without If-None-Match is never answered 304.
                Ok(_) => Ok(true),
            },
        }
    }
}

impl S3Objects {
    fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
    }
}

impl ObjectSink for S3Objects {
    async fn write(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), SourceError> {
        match self.put(key, body, content_type).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(CallError::from_sdk(&e).into()),
        }
    }

    async fn write_new(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<bool, SourceError> {
        let out = self
            .put(key, body, content_type)
            .if_none_match("*")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            // 412: an object is there; 409: a concurrent conditional write won.
            Err(SdkError::ServiceError(se)) if matches!(se.raw().status().as_u16(), 409 | 412) => {
                Ok(false)
            }
            Err(e) => Err(CallError::from_sdk(&e).into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), SourceError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(CallError::from_sdk(&e).into()),
        }
    }
}

/// Sorts an SDK error into what the viewer should see: a 304 is not an
/// error, a missing or unreadable object is [`SourceError::NotFound`], the
/// rest is described by [`CallError`].
fn classify<E: ProvideErrorMetadata>(
    err: SdkError<E, HttpResponse>,
    is_missing: fn(&E) -> bool,
) -> Result<Fetched, SourceError> {
    if let SdkError::ServiceError(se) = &err {
        let status = se.raw().status().as_u16();
        if status == 304 {
            return Ok(Fetched::NotModified);
        }
        if is_missing(se.err())
            || status == 404
            || status == 403
            || se.err().code() == Some("AccessDenied")
        {
            return Err(SourceError::NotFound);
        }
    }
    Err(CallError::from_sdk(&err).into())
}

/// A failed store call, without the store's own words (they never reach a
/// viewer): throttling and time-outs as such, the rest as a short detail.
impl From<CallError> for SourceError {
    fn from(e: CallError) -> Self {
        let request_id = e.request_id;
        let detail = match (e.failure, e.status) {
            (CallFailure::Throttled, _) => return SourceError::Throttled { request_id },
            (CallFailure::Timeout, _) => return SourceError::Timeout,
            (CallFailure::Unreachable, _) => format!(
                "could not reach the store ({})",
                e.message.as_deref().unwrap_or("dispatch failure")
            ),
            (CallFailure::Other, Some(status)) => format!("unreadable response (HTTP {status})"),
            (CallFailure::Other, None) => "request could not be built".to_string(),
            (_, status) => format!(
                "HTTP {} {}",
                status.unwrap_or_default(),
                e.code.as_deref().unwrap_or_default()
            ),
        };
        SourceError::Unavailable { detail, request_id }
    }
}

/// Objects held in memory, keyed by key; the entity tag is a counter bumped
/// on every `put`.
#[derive(Debug, Clone, Default)]
pub struct MemoryObjects {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    objects: HashMap<String, Object>,
    content_types: HashMap<String, String>,
    version: u64,
    reads: u64,
}

impl MemoryInner {
    fn store(&mut self, key: String, body: Bytes) {
        self.version += 1;
        let etag = format!("\"v{}\"", self.version);
        self.objects.insert(
            key,
            Object {
                body,
                etag: Some(etag),
            },
        );
    }
}

impl MemoryObjects {
    pub fn new() -> Self {
        MemoryObjects::default()
    }

    pub fn put(&self, key: impl Into<String>, body: impl Into<Bytes>) {
        self.lock().store(key.into(), body.into());
    }

    pub fn remove(&self, key: &str) {
        self.lock().objects.remove(key);
    }

    /// The bytes stored under `key`.
    pub fn body(&self, key: &str) -> Option<Bytes> {
        self.lock().objects.get(key).map(|o| o.body.clone())
    }

    /// The content type given to the last [`ObjectSink::write`] of `key`.
    pub fn content_type(&self, key: &str) -> Option<String> {
        self.lock().content_types.get(key).cloned()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().objects.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Reads served so far (conditional ones included).
    pub fn reads(&self) -> u64 {
        self.lock().reads
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ObjectSource for MemoryObjects {
    async fn get(
        &self,
        key: &str,
        max_bytes: u64,
        if_none_match: Option<&str>,
    ) -> Result<Fetched, SourceError> {
        let mut inner = self.lock();
        inner.reads += 1;
        let obj = inner.objects.get(key).ok_or(SourceError::NotFound)?;
        if if_none_match.is_some() && obj.etag.as_deref() == if_none_match {
            return Ok(Fetched::NotModified);
        }
        let size = obj.body.len() as u64;
        if size > max_bytes {
            return Err(SourceError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        Ok(Fetched::Object(obj.clone()))
    }

    async fn exists(&self, key: &str) -> Result<bool, SourceError> {
        let mut inner = self.lock();
        inner.reads += 1;
        Ok(inner.objects.contains_key(key))
    }
}

impl ObjectSink for MemoryObjects {
    async fn write(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), SourceError> {
        let mut inner = self.lock();
        inner.store(key.to_string(), body);
        inner
            .content_types
            .insert(key.to_string(), content_type.to_string());
        Ok(())
    }

    async fn write_new(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<bool, SourceError> {
        if self.body(key).is_some() {
            return Ok(false);
        }
        self.write(key, body, content_type).await.map(|()| true)
    }

    async fn delete(&self, key: &str) -> Result<(), SourceError> {
        self.remove(key);
        Ok(())
    }
}
