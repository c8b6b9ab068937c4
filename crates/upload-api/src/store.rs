//! The upload bucket's multipart calls, behind a small trait: the SDK's S3
//! client (and its own presigner) in the function and the local stack, a
//! local S3 server in the tests.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use hlsgate_aws::CallError;

/// A part as the uploader reports it: its number and the `ETag` S3 gave it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PartDone {
    pub number: u32,
    pub etag: String,
}

/// A part as S3 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub number: u32,
    pub size: u64,
    pub etag: String,
}

/// Multipart uploads into one bucket.
pub trait UploadStore: Send + Sync {
    /// Starts an upload of `key`; its upload id.
    fn start(
        &self,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<String, CallError>> + Send;

    /// A presigned `UploadPart` URL for each `(number, length)`, valid
    /// `ttl`. The length is signed (`Content-Length` among the signed
    /// headers): S3 refuses a body of any other length.
    fn part_urls(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, u64)],
        ttl: Duration,
    ) -> impl Future<Output = Result<Vec<String>, CallError>> + Send;

    /// The parts stored so far (every page of `ListParts`).
    fn parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredPart>, CallError>> + Send;

    /// Assembles `parts` (the `ETag`s S3 listed), telling S3 the total it
    /// must come to (`MpuObjectSize`).
    fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartDone],
        total: u64,
    ) -> impl Future<Output = Result<(), CallError>> + Send;

    fn abort(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// The SDK's S3 client on `bucket`.
#[derive(Debug, Clone)]
pub struct S3Uploads {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl UploadStore for S3Uploads {
    async fn start(&self, key: &str, content_type: &str) -> Result<String, CallError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        out.upload_id
            .ok_or_else(|| CallError::local("CreateMultipartUpload answered no upload id"))
    }

    async fn part_urls(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, u64)],
        ttl: Duration,
    ) -> Result<Vec<String>, CallError> {
        let config =
            PresigningConfig::expires_in(ttl).map_err(|e| CallError::local(e.to_string()))?;
        let mut urls = Vec::new();
        for &(n, len) in parts {
            let signed = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(i32::try_from(n).unwrap_or(i32::MAX))
                .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                .presigned(config.clone())
                .await
                .map_err(|e| CallError::from_sdk(&e))?;
            urls.push(signed.uri().to_string());
        }
        Ok(urls)
    }

    async fn parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, CallError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .map_err(|e| CallError::from_sdk(&e))?;
            for p in out.parts() {
                parts.push(StoredPart {
                    number: p
                        .part_number()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(0),
                    size: p.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    etag: p.e_tag().unwrap_or_default().to_string(),
                });
            }
            match (out.is_truncated(), out.next_part_number_marker()) {
                (Some(true), Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(parts),
            }
        }
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartDone],
        total: u64,
    ) -> Result<(), CallError> {
        let done = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(i32::try_from(p.number).unwrap_or(i32::MAX))
                            .e_tag(&p.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .mpu_object_size(i64::try_from(total).unwrap_or(i64::MAX))
            .multipart_upload(done)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(())
    }

    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), CallError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(())
    }
}
