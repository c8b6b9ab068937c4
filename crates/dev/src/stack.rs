//! Building the stack: the data folder, the embedded S3, the three
//! functions configured from the environment the template sets, the seed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use hlsgate_aws::env::Env;
use hlsgate_aws::local_s3::LocalS3;
use hlsgate_aws::secret::{Secret, StaticKeys, StaticSecret, Versions};
use hlsgate_aws::{ObjectSink, S3Objects, web};
use hlsgate_core::signing::Delivery;
use hlsgate_core::video::{DEFAULT_MASTER_NAME, SIDECAR_NAME, folder_key};
use hlsgate_signed_url_issuer::keys::FileKeys;
use serde_json::{Value, json};

use crate::error::DevError;
use crate::setup::{DataDir, KEY_PREFIX, MEDIA_BUCKET, SAMPLE_ID, Secrets, UPLOAD_BUCKET};
use crate::transcode::{PrintNotifier, Tools};
use crate::*;

/// Builds the stack and binds its port; [`serve`] answers requests.
pub async fn start(opts: Options) -> Result<(Stack, tokio::net::TcpListener), DevError> {
    let mode = opts.mode;
    let token = match &opts.dev_token {
        Some(t) if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
            return Err(DevError::usage(
                "--dev-token: at least 16 printable characters, no spaces",
            ));
        }
        Some(t) => t.clone(),
        None => setup::random_token(16)?,
    };
    let tools = Tools::find().ok();
    if opts.video.is_some() && tools.is_none() {
        return Err(DevError::env(format!(
            "--video: {}",
            transcode::INSTALL_FFMPEG
        )));
    }
    let hlsjs = match &opts.hlsjs {
        Some(p) => {
            Some(Bytes::from(std::fs::read(p).map_err(|e| {
                DevError::env(format!("--hlsjs {}: {e}", p.display()))
            })?))
        }
        None => None,
    };
    let data = DataDir::new(
        std::path::absolute(&opts.data)
            .map_err(|e| DevError::env(format!("--data {}: {e}", opts.data.display())))?,
    );
    data.prepare()?;
    let secrets = data.secrets()?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| DevError::env(format!("cannot listen on 127.0.0.1:{}: {e}", opts.port)))?;
    let port = listener.local_addr().map_err(DevError::env)?.port();
    let public_origin = format!("http://127.0.0.1:{port}");
    let s3_port = opts.s3_port.unwrap_or(if opts.port == 0 {
        0
    } else {
        port.saturating_add(1)
    });
    // The page PUTs presigned parts straight to it, as to the upload bucket.
    let local_s3 = LocalS3::start_with(
        &data.s3(),
        SocketAddr::from(([127, 0, 0, 1], s3_port)),
        std::slice::from_ref(&public_origin),
        secrets.s3_keys.clone(),
    )
    .await
    .map_err(DevError::io(format!(
        "cannot start the embedded S3 on 127.0.0.1:{s3_port} (--s3-port to move it)"
    )))?;
    let s3 = local_s3.client();
    let s3_endpoint = local_s3.endpoint();

    let grants = match &opts.entitlement {
        grants::DevEntitlement::Dynamodb { endpoint } => {
            Some(grants::start_table(endpoint.as_deref()).await?)
        }
        _ => None,
    };
    let sessions = if opts.sessions_table() {
        let endpoint = match &opts.entitlement {
            grants::DevEntitlement::Dynamodb { endpoint } => endpoint.as_deref(),
            _ => None,
        };
        Some(grants::start_sessions(grants.as_ref(), endpoint).await?)
    } else {
        None
    };
    let mut env = function_env(&public_origin, &data, &secrets, mode);
    env.extend(grants::env(&opts.entitlement));
    env.extend(session_env(&opts));
    if opts.encrypt {
        env.retain(|(k, _)| k != "ENCRYPTION");
        env.push(("ENCRYPTION".to_string(), "aes-128".to_string()));
    }
    let config_error = |what: &str, e: hlsgate_aws::ConfigError| {
        DevError::env(format!("{what} config: {}", e.problems.join("; ")))
    };
    let rewriter_config = hlsgate_manifest_rewriter::Config::from(Env::from_pairs(env.clone()))
        .map_err(|e| config_error("manifest-rewriter", e))?;
    let rewriter = hlsgate_manifest_rewriter::App::new(
        rewriter_config,
        S3Objects::new(s3.clone(), MEDIA_BUCKET),
        StaticSecret(Versions::new(secrets.origin_secret.clone(), None)),
        web::system_clock(),
    );
    let issuer_config = hlsgate_signed_url_issuer::Config::from(Env::from_pairs(env.clone()))
        .map_err(|e| config_error("signed-url-issuer", e))?;
    let entitlement = grants::entitlements(&issuer_config.entitlement, grants.as_ref())?;
    let mut issuer = hlsgate_signed_url_issuer::App::new(
        issuer_config,
        S3Objects::new(s3.clone(), MEDIA_BUCKET),
        FileKeys(data.signing_keys()),
        entitlement,
        web::system_clock(),
    );
    if let Some(s) = &sessions {
        issuer = issuer.with_sessions_table(s.table.clone());
    }
    let issuer = issuer.with_origin(Secret::Literal(StaticKeys(
        secrets.origin_secret.clone().into(),
    )));
    let keys = issuer
        .keys
        .current()
        .await
        .map_err(|e| DevError::env(format!("{}: {e}", data.signing_keys().display())))?;
    write_playlist_event(
        &data,
        &public_origin,
        keys.signer(),
        &secrets,
        &rewriter.config.suffix,
    )?;
    let upload_config = hlsgate_upload_api::Config::from(Env::from_pairs(env.clone()))
        .map_err(|e| config_error("upload-api", e))?;
    let uploader = hlsgate_upload_api::App::new(
        upload_config,
        hlsgate_upload_api::S3Uploads {
            client: s3.clone(),
            bucket: UPLOAD_BUCKET.to_string(),
        },
        S3Objects::new(s3.clone(), MEDIA_BUCKET),
    );
    let jobs_config = hlsgate_mediaconvert_jobs::Config::from(Env::from_pairs(env.clone()))
        .map_err(|e| config_error("mediaconvert-jobs", e))?;
    let key_provider = hlsgate_key_provider::App {
        config: hlsgate_key_provider::Config::from(Env::from_pairs(env.clone()))
            .map_err(|e| config_error("key-provider", e))?,
        media: S3Objects::new(s3.clone(), MEDIA_BUCKET),
    };
    let (transcoder, queue) = transcode::transcoder(tools, s3.clone(), data.tmp(), key_provider);
    let jobs = Arc::new(hlsgate_mediaconvert_jobs::App {
        notifier: PrintNotifier {
            topic_arn: jobs_config.topic_arn.clone(),
        },
        config: jobs_config,
        transcoder,
        media: S3Objects::new(s3.clone(), MEDIA_BUCKET),
        uploads: s3.clone(),
    });
    tokio::spawn(transcode::worker(
        queue,
        jobs.clone(),
        s3.clone(),
        data.tmp(),
    ));

    seed(&s3).await?;
    if let Some(g) = &grants {
        g.grant(SAMPLE_ID).await?;
    }
    let watch_env: Vec<(String, String)> = env
        .iter()
        .cloned()
        .chain([
            ("AWS_ENDPOINT_URL_S3".to_string(), s3_endpoint.clone()),
            (
                "AWS_ACCESS_KEY_ID".to_string(),
                secrets.s3_keys.access_key.clone(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                secrets.s3_keys.secret_key.clone(),
            ),
            ("AWS_REGION".to_string(), LocalS3::REGION.to_string()),
        ])
        .chain(grants::watch_env(
            grants
                .as_ref()
                .map(|g| g.endpoint.as_str())
                .or(sessions.as_ref().map(|s| s.endpoint.as_str())),
        ))
        .collect();
    setup::write_private(&data.lambda_env(), setup::env_file(&watch_env).as_bytes())?;

    let stack = Stack {
        public_origin,
        token,
        mode,
        data,
        secrets,
        s3,
        s3_endpoint,
        rewriter,
        issuer,
        uploader,
        jobs,
        grants,
        sessions,
        hlsjs,
        sequencer: AtomicU64::new(0),
        viewer_country: opts.viewer_country.clone(),
    };
    Ok((stack, listener))
}

/// The issuer's session settings from the flags.
fn session_env(opts: &Options) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(s) = opts.signature_seconds {
        env.push(("SIGNATURE_SECONDS".to_string(), s.to_string()));
    }
    if opts.sessions_table() {
        env.push((
            "SESSIONS_TABLE".to_string(),
            grants::DEV_SESSIONS_TABLE.to_string(),
        ));
    }
    if opts.max_streams > 0 {
        env.push(("MAX_STREAMS".to_string(), opts.max_streams.to_string()));
        env.push(("STREAM_LIMIT".to_string(), opts.stream_limit.to_string()));
    }
    env
}

/// The functions' environment, as the template sets it in AWS but
/// pointed at the local stack. The jobs ladder (`LADDER`, `SEGMENT_SECONDS`,
/// `GOP_SECONDS`, `AUDIO_BITRATE`, `ENCODING`), `ENCRYPTION` and the track
/// settings (`AUDIO_TRACKS_MAX`, `CAPTIONS`, `TRICK_PLAY`,
/// `THUMBNAIL_SECONDS`, `THUMBNAIL_WIDTH`, `POSTER_SECONDS`) may be
/// overridden from the process environment.
pub fn function_env(
    public_origin: &str,
    data: &DataDir,
    secrets: &Secrets,
    mode: Delivery,
) -> Vec<(String, String)> {
    // Bare base64 bodies (which PUBLIC_KEYS also takes): one line, no
    // escapes for a .env reader to turn back into line breaks.
    let public_keys =
        serde_json::from_str::<serde_json::Map<String, Value>>(&secrets.public_keys_json)
            .map(|keys| {
                let bodies: serde_json::Map<String, Value> = keys
                    .into_iter()
                    .map(|(id, pem)| {
                        let body: String = pem
                            .as_str()
                            .unwrap_or_default()
                            .lines()
                            .filter(|l| !l.starts_with("-----"))
                            .flat_map(|l| l.trim().chars())
                            .collect();
                        (id, Value::String(body))
                    })
                    .collect();
                Value::Object(bodies).to_string()
            })
            .unwrap_or_else(|_| secrets.public_keys_json.clone());
    let mut env: Vec<(String, String)> = [
        // Shared.
        ("MEDIA_BUCKET", MEDIA_BUCKET),
        ("KEY_PREFIX", KEY_PREFIX),
        ("CDN_DOMAIN", public_origin),
        ("S3_FORCE_PATH_STYLE", "true"),
        ("CORS_ALLOWED_ORIGINS", public_origin),
        // manifest-rewriter: cookies are on, so a playlist request without
        // the forwarded copy is one the edge let through on cookies.
        ("ORIGIN_SECRET", secrets.origin_secret.as_str()),
        // Pseudonyms in logs and upload keys, and the upload handles' MAC.
        ("LOG_HASH_KEY", secrets.log_hash_key.as_str()),
        ("PUBLIC_KEYS", public_keys.as_str()),
        ("AUTH_MODE", "cookies"),
        // As behind a Function URL: the edge says which origin the viewer used.
        ("PUBLIC_ORIGIN_HEADER", crate::edge::PUBLIC_ORIGIN_HEADER),
        ("CACHE_TTL_SECONDS", "2"),
        // signed-url-issuer.
        (
            "SIGNING_KEYS_FILE",
            &data.signing_keys().display().to_string(),
        ),
        ("DEFAULT_MODE", mode.as_str()),
        // The issuer is served by the edge at /playback/, as the
        // distribution serves it: cookies on the edge's own host.
        ("HOST_ONLY_COOKIES", "true"),
        ("BIND_VIEWER_IP", "true"),
        ("ENTITLEMENT_CLAIM", "groups"),
        ("ENTITLEMENT_VALUES", DEV_GROUP),
        // upload-api: the dev token is an uploader too; the smallest parts
        // S3 takes, so a few MB show several.
        ("UPLOADER_CLAIM", "groups"),
        ("UPLOADER_VALUES", DEV_UPLOADER_GROUP),
        ("UPLOAD_PART_BYTES", "5242880"),
        ("MAX_UPLOAD_BYTES", &MAX_UPLOAD_BYTES.to_string()),
        // mediaconvert-jobs (and upload-api).
        ("INPUT_BUCKET", UPLOAD_BUCKET),
        ("INPUT_PREFIX", "uploads/"),
        ("MEDIACONVERT_ROLE_ARN", transcode::MEDIACONVERT_ROLE),
        // key-provider: MediaConvert's role is its one caller; the jobs
        // function names it as MediaConvert's SPEKE provider (used with
        // --encrypt).
        ("CALLER_ROLE_ARN", transcode::MEDIACONVERT_ROLE),
        ("SPEKE_URL", transcode::LOCAL_SPEKE_URL),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sns:us-east-1:000000000000:hlsgate-dev-notices",
        ),
        ("NOTIFY_PROGRESS", "true"),
        ("STATUS_UPDATE_SECONDS", "10"),
        ("LADDER", "640x360@800k:7,426x240@400k:7,256x144@200k:7"),
        ("SEGMENT_SECONDS", "2"),
        ("GOP_SECONDS", "2"),
        ("AUDIO_BITRATE", "96000"),
        // Short clips: a thumbnail every 2 s, the poster at 1 s.
        ("THUMBNAIL_SECONDS", "2"),
        ("POSTER_SECONDS", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for name in [
        "LADDER",
        "SEGMENT_SECONDS",
        "GOP_SECONDS",
        "AUDIO_BITRATE",
        "ENCODING",
        "ENCRYPTION",
        "AUDIO_TRACKS_MAX",
        "CAPTIONS",
        "TRICK_PLAY",
        "THUMBNAIL_SECONDS",
        "THUMBNAIL_WIDTH",
        "POSTER_SECONDS",
    ] {
        if let Ok(v) = std::env::var(name) {
            env.retain(|(k, _)| k != name);
            env.push((name.to_string(), v));
        }
    }
    env
}

/// `DATA/dev/events/playlist-sample.json`: the playlist event the rewriter's
/// fixture shows, for the seed video, with this stack's origin secret and a
/// forwarded copy valid for six hours, for `cargo lambda invoke`.
fn write_playlist_event(
    data: &DataDir,
    public_origin: &str,
    signer: &hlsgate_core::signing::Signer,
    secrets: &Secrets,
    suffix: &hlsgate_core::signing::ParamSuffix,
) -> Result<(), DevError> {
    let mut event: Value = serde_json::from_str(include_str!(
        "../../../fixtures/events/apigw-http-playlist.json"
    ))
    .map_err(DevError::env)?;
    let folder = folder_key(KEY_PREFIX, SAMPLE_ID);
    let path = format!("/{folder}{DEFAULT_MASTER_NAME}");
    let now = web::system_clock()();
    let expires = hlsgate_core::signing::Epoch::new(now + 6 * 3600).map_err(DevError::env)?;
    let signed = signer
        .sign_folder(&format!("{public_origin}/{folder}"), expires, None, None)
        .map_err(DevError::env)?;
    let copy: Vec<(String, String)> = hlsgate_core::signing::Forwarded::from_signed(&signed)
        .copy(suffix)
        .map(|(n, v)| (n, v.to_string()))
        .collect();
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(
        copy.iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    event["queryStringParameters"] = Value::Object(
        copy.into_iter()
            .map(|(n, v)| (n, Value::String(v)))
            .collect(),
    );
    event["headers"]["x-origin-verify"] = json!(secrets.origin_secret);
    event["headers"]["cloudfront-viewer-address"] = json!("127.0.0.1:50000");
    event["headers"]["origin"] = json!(public_origin);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"]["proxy"] = json!(path.trim_start_matches('/'));
    let dir = data.dev().join("events");
    std::fs::create_dir_all(&dir).map_err(|e| DevError::env(format!("{}: {e}", dir.display())))?;
    let text = serde_json::to_string_pretty(&event).map_err(DevError::env)?;
    setup::write_private(&dir.join("playlist-sample.json"), text.as_bytes())
}

/// Puts the seed ladder in the media bucket as video `sample`, once.
async fn seed(s3: &aws_sdk_s3::Client) -> Result<(), DevError> {
    let folder = folder_key(KEY_PREFIX, SAMPLE_ID);
    if s3
        .head_object()
        .bucket(MEDIA_BUCKET)
        .key(format!("{folder}{DEFAULT_MASTER_NAME}"))
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    let playback = setup::sample_playback(KEY_PREFIX)?;
    let sidecar = serde_json::to_vec_pretty(&playback).map_err(DevError::env)?;
    let mut files: Vec<(&str, Bytes)> = setup::sample_files()
        .iter()
        .map(|(n, b)| (*n, Bytes::from_static(b)))
        .collect();
    files.push((SIDECAR_NAME, Bytes::from(sidecar)));
    // The master last, as the transcoder writes it.
    files.sort_by_key(|(n, _)| *n == DEFAULT_MASTER_NAME);
    let media = S3Objects::new(s3.clone(), MEDIA_BUCKET);
    for (name, bytes) in files {
        let key = format!("{folder}{name}");
        media
            .write(&key, bytes, setup::content_type(name))
            .await
            .map_err(|e| DevError::env(format!("seeding {key}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_accept_the_dev_environment() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.prepare().unwrap();
        let secrets = data.secrets().unwrap();
        for mode in [Delivery::Url, Delivery::Cookies] {
            let env = function_env("http://127.0.0.1:8080", &data, &secrets, mode);
            let r = hlsgate_manifest_rewriter::Config::from(Env::from_pairs(env.clone())).unwrap();
            assert_eq!(r.public_origin, "http://127.0.0.1:8080");
            let i = hlsgate_signed_url_issuer::Config::from(Env::from_pairs(env.clone())).unwrap();
            assert_eq!(i.default_mode, mode);
            assert_eq!(i.cookies.as_ref().unwrap().domain, None, "host-only");
            assert!(i.origin.is_some());
            assert!(r.public_origin_header.is_some());
            let j = hlsgate_mediaconvert_jobs::Config::from(Env::from_pairs(env)).unwrap();
            assert_eq!(j.ladder.segment_seconds, 2);
        }
    }
}
