//! Moving sources and outputs between the buckets and the work folder.

use super::*;

/// `s3://bucket/key` → (`bucket`, `key`).
pub fn split_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (b, k) = rest.split_once('/')?;
    (!b.is_empty() && !k.is_empty()).then_some((b, k))
}

pub(crate) async fn download(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    to: &Path,
) -> Result<(), DevError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| DevError::env(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
    let mut reader = out.body.into_async_read();
    let mut file = tokio::fs::File::create(to)
        .await
        .map_err(|e| DevError::env(format!("{}: {e}", to.display())))?;
    tokio::io::copy(&mut reader, &mut file)
        .await
        .map_err(DevError::env)?;
    Ok(())
}

/// What S3 said of a stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    /// Without quotes, as S3 events carry it.
    pub etag: String,
}

/// Puts a local file into a bucket with its content type.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    from: &Path,
) -> Result<Stored, DevError> {
    let body = aws_sdk_s3::primitives::ByteStream::from_path(from)
        .await
        .map_err(|e| DevError::env(format!("{}: {e}", from.display())))?;
    let size = body.size_hint().0;
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(crate::setup::content_type(key))
        .body(body)
        .send()
        .await
        .map_err(|e| DevError::env(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
    Ok(Stored {
        size,
        etag: out.e_tag().unwrap_or("").trim_matches('"').to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::events::rfc3339_now;

    #[test]
    fn s3_uris_and_dates() {
        assert_eq!(split_s3_uri("s3://b/k/x"), Some(("b", "k/x")));
        assert_eq!(split_s3_uri("s3://b/"), None);
        assert_eq!(split_s3_uri("https://b/k"), None);
        let t = rfc3339_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20"), "{t}");
    }
}
