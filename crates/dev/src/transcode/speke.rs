//! MediaConvert's side of SPEKE, locally: a job with a `SpekeKeyProvider`
//! gets its key by asking the key provider's own handler, with the request
//! MediaConvert sends for an HLS AES-128 group (SPEKE v1.0, the video id as
//! the content id, a fresh key id), signed as the MediaConvert role's
//! session. What comes back is read as an encryptor reads it: the key, and
//! the URI to write into `EXT-X-KEY`.

use hlsgate_aws::S3Objects;
use hlsgate_aws::testing::{ApiRequest, Shape};
use hlsgate_core::speke::Version;
use hlsgate_core::speke::encryptor::{read_answer, request};
use hlsgate_core::video::{KEY_BYTES, VideoId};
use hlsgate_mediaconvert_jobs::key::Speke;
use lambda_http::Body;

/// The key provider as the local stack runs it.
pub type KeyProviderApp = hlsgate_key_provider::App<S3Objects>;

/// Where the local jobs function says the provider is. Nothing listens
/// there: the transcoder calls the handler in-process, as MediaConvert
/// would call the API.
pub const LOCAL_SPEKE_URL: &str = "https://key-provider.hlsgate.localhost/v1/copyProtection";

/// The role the local MediaConvert assumes, and the session it calls as.
pub const MEDIACONVERT_ROLE: &str = "arn:aws:iam::000000000000:role/hlsgate-dev-mediaconvert";
const SESSION: &str =
    "arn:aws:sts::000000000000:assumed-role/hlsgate-dev-mediaconvert/MediaConvert";

/// The key and its URI, as the provider answered them for `video`.
pub async fn ask(
    provider: &KeyProviderApp,
    speke: &Speke,
    video: &VideoId,
) -> Result<([u8; KEY_BYTES], String), String> {
    let system = speke
        .system_ids
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let kid = kid()?;
    let body = request(Version::V1, video, &kid, system);
    let req = ApiRequest::new(Shape::Rest)
        .method("POST")
        .path("/copyProtection")
        .header("content-type", "application/xml")
        .caller_arn(SESSION)
        .body(&body)
        .request();
    let answer = hlsgate_key_provider::handle(provider, req).await;
    let status = answer.status();
    let text = match answer.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    if !status.is_success() {
        // A refusal carries SPEKE's message, never a key.
        return Err(format!(
            "Failed to get key from SPEKE key provider {}: HTTP {status}: {}",
            speke.url,
            text.trim()
        ));
    }
    let answered =
        read_answer(text.as_bytes(), Version::V1).map_err(|e| format!("SPEKE answer: {e}"))?;
    let key = answered
        .key()
        .ok_or("SPEKE answer: not one 16-byte content key")?;
    let uri = answered
        .key_uri()
        .ok_or("SPEKE answer: no URIExtXKey or HLSSignalingData")?;
    Ok((key, uri))
}

/// A random key id, as an encryptor makes one per content id.
fn kid() -> Result<String, String> {
    let hex = crate::setup::random_token(16).map_err(|e| e.to_string())?;
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}
