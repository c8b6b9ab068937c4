//! `hlsgate dev`: the whole system in one process on 127.0.0.1, over the
//! Lambdas' own handlers.
//!
//! | in AWS | here |
//! |---|---|
//! | S3 (upload and media buckets) | an embedded S3 server (s3s-fs) over `--data`, reached through aws-sdk-s3 |
//! | API Gateway + JWT authorizer → signed-url-issuer | `/api/playback/{videoId}` with a dev bearer token → the issuer's `handle` |
//! | CloudFront (trusted key group, OAC, origin request policy) | the [`edge`] at `/videos/**` |
//! | API Gateway `{proxy+}` → manifest-rewriter | the rewriter's `handle`, behind the edge; also bare at `/_origin/rewriter/**` |
//! | EventBridge "Object Created" → mediaconvert-jobs | `PUT /upload/NAME` → the jobs `handle` on a real-shaped event |
//! | MediaConvert | ffmpeg with the jobs config's ladder ([`transcode`]) |
//! | SNS | a printed, logged notice |

pub mod edge;
pub mod error;
pub mod lambda;
pub mod setup;
pub mod transcode;

pub use crate::error::DevError;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use hlsgate_aws::env::Env;
use hlsgate_aws::local_s3::LocalS3;
use hlsgate_aws::secret::{StaticSecret, Versions};
use hlsgate_aws::{ObjectSink, S3Objects, web};
use hlsgate_core::signing::{Context, Delivery};
use hlsgate_core::video::{DEFAULT_MASTER_NAME, SIDECAR_NAME, folder_key};
use hlsgate_signed_url_issuer::entitlement::ClaimsEntitlement;
use hlsgate_signed_url_issuer::keys::FileKeys;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt;

use crate::edge::Denial;
use crate::lambda::json_response;
use crate::setup::{DataDir, KEY_PREFIX, MEDIA_BUCKET, SAMPLE_ID, Secrets, UPLOAD_BUCKET};
use crate::transcode::{JobsApp, PrintNotifier, Tools};

/// The rewriter as the stack runs it.
pub type RewriterApp = hlsgate_manifest_rewriter::App<S3Objects, StaticSecret>;
/// The issuer as the stack runs it.
pub type IssuerApp = hlsgate_signed_url_issuer::App<S3Objects, FileKeys, ClaimsEntitlement>;

/// hls.js when `--hlsjs` is not given.
pub const HLSJS_CDN: &str = "https://cdn.jsdelivr.net/npm/hls.js@1.7.4/dist/hls.min.js";

/// The viewer every dev token stands for, and the claim the dev rule wants.
pub const DEV_SUBJECT: &str = "dev-viewer";
pub const DEV_GROUP: &str = "viewers";

/// The largest upload taken (S3's single-PUT limit is 5 GB).
pub const MAX_UPLOAD_BYTES: u64 = 4 << 30;

/// `hlsgate dev`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    /// 0 for a free port.
    pub port: u16,
    /// The embedded S3's port; `None`: the next one (a free one with port 0).
    pub s3_port: Option<u16>,
    pub data: PathBuf,
    pub video: Option<PathBuf>,
    pub hlsjs: Option<PathBuf>,
    pub dev_token: Option<String>,
    /// What the issuer hands out by default.
    pub mode: Delivery,
}

/// The running stack.
pub struct Stack {
    pub public_origin: String,
    pub token: String,
    pub mode: Delivery,
    pub data: DataDir,
    pub secrets: Secrets,
    pub s3: aws_sdk_s3::Client,
    pub s3_endpoint: String,
    pub rewriter: RewriterApp,
    pub issuer: IssuerApp,
    pub jobs: Arc<JobsApp>,
    hlsjs: Option<Bytes>,
    sequencer: AtomicU64,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("public_origin", &self.public_origin)
            .finish_non_exhaustive()
    }
}

/// Starts everything, then serves until Ctrl-C.
pub async fn run(opts: Options) -> Result<(), DevError> {
    let (stack, listener) = start(opts.clone()).await?;
    let tools_line = match stack.jobs.transcoder.tools() {
        Some(t) => format!("ffmpeg {}", t.ffmpeg.display()),
        None => "ffmpeg not found: uploads answer 503 until it is installed".to_string(),
    };
    let o = &stack.public_origin;
    println!("hlsgate dev listening on {o}");
    println!(
        "\n  player     {o}/#token={token}\n  dev token  {token}   (Authorization: Bearer …; --dev-token to fix it)\n  issuer     GET {o}/api/playback/{{videoId}}[?mode=url|cookies]   (default {mode})\n  edge       {o}/videos/…   (CloudFront: key group {kid}; signed URLs or cookies)\n  rewriter   {o}/_origin/rewriter/videos/…   (API Gateway: needs the origin secret)\n  S3         {s3}   (path-style; buckets {UPLOAD_BUCKET}, {MEDIA_BUCKET})\n  uploads    PUT {o}/upload/NAME, or drop a file on the page   ({tools_line})\n  data       {data}   (dev keys, origin secret, buckets; never commit it)\n  lambdas    cargo lambda watch reads {env}\n",
        token = stack.token,
        mode = stack.mode,
        kid = stack.secrets.key_pair_id,
        s3 = stack.s3_endpoint,
        data = stack.data.root.display(),
        env = stack.data.lambda_env().display(),
    );
    let stack = Arc::new(stack);
    if let Some(video) = &opts.video {
        let name = video
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video.mp4".into());
        match stack.ingest(&name, video).await {
            Ok(v) => println!("  --video    {name}: {v}"),
            Err((_, v)) => return Err(DevError::env(format!("--video {}: {v}", video.display()))),
        }
    }
    tokio::select! {
        () = serve(stack.clone(), listener) => Ok(()),
        r = tokio::signal::ctrl_c() => {
            r.map_err(|e| DevError::env(format!("waiting for Ctrl-C: {e}")))?;
            println!("\nhlsgate dev: stopped");
            Ok(())
        }
    }
}

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
    let local_s3 = LocalS3::start_on(&data.s3(), SocketAddr::from(([127, 0, 0, 1], s3_port)))
        .await
        .map_err(DevError::io(format!(
            "cannot start the embedded S3 on 127.0.0.1:{s3_port} (--s3-port to move it)"
        )))?;
    let s3 = local_s3.client();
    let s3_endpoint = local_s3.endpoint();

    let env = function_env(&public_origin, &data, &secrets, mode);
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
    let entitlement = issuer_config.entitlement.clone();
    let issuer = hlsgate_signed_url_issuer::App::new(
        issuer_config,
        S3Objects::new(s3.clone(), MEDIA_BUCKET),
        FileKeys(data.signing_keys()),
        entitlement,
        web::system_clock(),
    );
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
    let jobs_config = hlsgate_mediaconvert_jobs::Config::from(Env::from_pairs(env.clone()))
        .map_err(|e| config_error("mediaconvert-jobs", e))?;
    let (transcoder, queue) = transcode::transcoder(tools);
    let jobs = Arc::new(hlsgate_mediaconvert_jobs::App {
        notifier: PrintNotifier {
            topic_arn: jobs_config.topic_arn.clone(),
        },
        config: jobs_config,
        transcoder,
        media: S3Objects::new(s3.clone(), MEDIA_BUCKET),
    });
    tokio::spawn(transcode::worker(
        queue,
        jobs.clone(),
        s3.clone(),
        data.tmp(),
    ));

    seed(&s3).await?;
    let watch_env: Vec<(String, String)> = env
        .iter()
        .cloned()
        .chain([
            ("AWS_ENDPOINT_URL_S3".to_string(), s3_endpoint.clone()),
            (
                "AWS_ACCESS_KEY_ID".to_string(),
                LocalS3::ACCESS_KEY.to_string(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                LocalS3::SECRET_KEY.to_string(),
            ),
            ("AWS_REGION".to_string(), LocalS3::REGION.to_string()),
        ])
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
        jobs,
        hlsjs,
        sequencer: AtomicU64::new(0),
    };
    Ok((stack, listener))
}

/// The three functions' environment, as the template sets it in AWS but
/// pointed at the local stack. The jobs ladder (`LADDER`, `SEGMENT_SECONDS`,
/// `GOP_SECONDS`, `AUDIO_BITRATE`, `ENCODING`) may be overridden from the
/// process environment.
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
        ("PUBLIC_KEYS", public_keys.as_str()),
        ("AUTH_MODE", "cookies"),
        ("CACHE_TTL_SECONDS", "2"),
        // signed-url-issuer.
        (
            "SIGNING_KEYS_FILE",
            &data.signing_keys().display().to_string(),
        ),
        ("DEFAULT_MODE", mode.as_str()),
        ("COOKIE_DOMAIN", "127.0.0.1"),
        ("BIND_VIEWER_IP", "true"),
        ("ENTITLEMENT_CLAIM", "groups"),
        ("ENTITLEMENT_VALUES", DEV_GROUP),
        // mediaconvert-jobs.
        ("INPUT_BUCKET", UPLOAD_BUCKET),
        ("INPUT_PREFIX", "uploads/"),
        (
            "MEDIACONVERT_ROLE_ARN",
            "arn:aws:iam::000000000000:role/hlsgate-dev-mediaconvert",
        ),
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
        .with_copy(suffix)
        .filter(|(n, _)| n.ends_with(suffix.as_str()))
        .map(|(n, v)| (n.to_string(), v.to_string()))
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

/// Accepts connections until the listener fails.
pub async fn serve(stack: Arc<Stack>, listener: tokio::net::TcpListener) {
    while let Ok((sock, peer)) = listener.accept().await {
        let stack = stack.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let stack = stack.clone();
                async move { Ok::<_, Infallible>(stack.route(req, peer).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(sock), svc)
                .await;
        });
    }
}

type Answer = Response<Full<Bytes>>;

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
    json_response(status, &json!({"error": code, "message": message.into()}))
}

impl Stack {
    async fn route(&self, req: Request<Incoming>, peer: SocketAddr) -> Answer {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let mut answer = match (&method, path.as_str()) {
            (_, p)
                if p.strip_prefix('/')
                    .is_some_and(|k| k.starts_with(KEY_PREFIX)) =>
            {
                self.edge(&req, peer).await
            }
            (_, p) if p.starts_with("/_origin/rewriter/") => self.bare_rewriter(&req, peer).await,
            (&Method::GET, "/") => self.page(req.headers()),
            (&Method::GET, "/favicon.ico") => {
                text(StatusCode::NO_CONTENT, "image/x-icon", Bytes::new())
            }
            (&Method::GET, "/hls.js") => match &self.hlsjs {
                Some(b) => text(StatusCode::OK, "text/javascript", b.clone()),
                None => error(StatusCode::NOT_FOUND, "not_found", "no --hlsjs given"),
            },
            (_, p) if p.starts_with("/api/playback/") => self.issue(&req, peer).await,
            (&Method::GET, "/api/videos") => match self.unauthorized(req.headers()) {
                Some(refused) => refused,
                None => self.videos().await,
            },
            (&Method::PUT, p) if p.starts_with("/upload/") => self.put_upload(req).await,
            _ => error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{method} {path}"),
            ),
        };
        answer
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        tracing::debug!(%method, %path, status = answer.status().as_u16(), "dev request");
        answer
    }

    /// The dev authorizer: `Authorization: Bearer TOKEN`, compared in
    /// constant time; the 401 when it fails.
    fn unauthorized(&self, headers: &HeaderMap) -> Option<Answer> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.token.as_bytes())) {
            return None;
        }
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            if presented.is_empty() {
                "no bearer token: send Authorization: Bearer DEV_TOKEN (printed at start)"
            } else {
                "wrong bearer token"
            },
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        Some(r)
    }

    /// The issuer, behind the dev authorizer: a valid token becomes the JWT
    /// authorizer's context for subject `dev-viewer` in group `viewers`.
    async fn issue(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let authorizer = if req.method() == Method::OPTIONS {
            None
        } else {
            if let Some(refused) = self.unauthorized(req.headers()) {
                return refused;
            }
            Some(format!("[{DEV_GROUP}]"))
        };
        let raw = req.uri().path();
        let id = raw.trim_start_matches("/api/playback/");
        let path = format!("/playback/{id}");
        let decoded_id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
        let mut api = lambda::http_api_request(
            req.method(),
            &path,
            req.uri().query().unwrap_or(""),
            &lambda::header_pairs(req.headers()),
            peer,
            "GET /playback/{videoId}",
        )
        .path_parameter("videoId", &decoded_id);
        if let Some(groups) = &authorizer {
            api = api.jwt(
                &[
                    ("sub", DEV_SUBJECT),
                    ("groups", groups),
                    ("iss", "hlsgate-dev"),
                ],
                None,
            );
        }
        match api.try_request() {
            Ok(r) => lambda::response(hlsgate_signed_url_issuer::handle(&self.issuer, r).await),
            Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        }
    }

    /// CloudFront for `/videos/**`.
    async fn edge(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let method = req.method().clone();
        // The response-headers policy's CORS: the origins the functions allow.
        let cors_origins = &self.rewriter.config.cors_origins;
        let cors = web::allowed_origin(cors_origins, req.headers())
            .and_then(|o| HeaderValue::try_from(o).ok());
        let mut answer = if method == Method::OPTIONS {
            lambda::response(self.rewriter.frame.preflight(req.headers()))
        } else if method != Method::GET && method != Method::HEAD {
            edge::denied(&Denial {
                code: "MethodNotAllowed",
                message: "This distribution is not configured to allow the HTTP request method that was used for this request.",
                reason: format!("method {method}: the behaviours allow GET, HEAD, OPTIONS"),
            })
        } else {
            self.edge_get(req, peer).await
        };
        if let Some(origin) = cors {
            let h = answer.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Content-Range, Content-Length, X-Hlsgate-Dev-Reason"),
            );
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        answer
    }

    async fn edge_get(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        // CloudFront checks the URL as the viewer asked for it, host included.
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| self.public_origin.clone(), |h| format!("http://{h}"));
        let url = format!("{host}{path_and_query}");
        let cookies: Vec<&str> = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let cookies = (!cookies.is_empty()).then(|| cookies.join("; "));
        let ctx = Context {
            now: (self.rewriter.clock)(),
            viewer_ip: Some(peer.ip()),
        };
        if let Err(d) = edge::authorize(
            &url,
            cookies.as_deref(),
            &self.rewriter.config.key_group,
            ctx,
        ) {
            tracing::info!(%path_and_query, reason = %d.reason, "edge: 403");
            return edge::denied(&d);
        }
        let Some(key) = edge::object_key(req.uri().path()) else {
            return edge::s3_error(
                StatusCode::BAD_REQUEST,
                "InvalidURI",
                "a path no S3 key answers to",
            );
        };
        if key.ends_with(".m3u8") {
            let query = edge::forwarded_query(
                req.uri().query().unwrap_or(""),
                &self.rewriter.config.suffix,
            );
            let mut headers = vec![
                (
                    self.rewriter.config.origin_header.as_str().to_string(),
                    self.secrets.origin_secret.clone(),
                ),
                (
                    "cloudfront-viewer-address".to_string(),
                    edge::viewer_address(peer),
                ),
                ("accept".to_string(), "*/*".to_string()),
                ("user-agent".to_string(), "Amazon CloudFront".to_string()),
                (
                    "via".to_string(),
                    "1.1 hlsgate-dev (CloudFront)".to_string(),
                ),
            ];
            for name in [header::ACCEPT_ENCODING, header::ORIGIN] {
                if let Some(v) = req.headers().get(&name).and_then(|v| v.to_str().ok()) {
                    headers.push((name.as_str().to_string(), v.to_string()));
                }
            }
            let mut answer = self
                .call_rewriter(req.method(), req.uri().path(), &query, headers, peer)
                .await;
            answer
                .headers_mut()
                .insert("x-cache", HeaderValue::from_static("Miss from cloudfront"));
            return answer;
        }
        let range = req
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok());
        edge::from_s3(&self.s3, MEDIA_BUCKET, &key, req.method(), range).await
    }

    /// The rewriter's API without CloudFront in front: what anyone who
    /// finds the API Gateway URL can call. Only the origin secret stops them.
    async fn bare_rewriter(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let path = req.uri().path().trim_start_matches("/_origin/rewriter");
        self.call_rewriter(
            req.method(),
            path,
            req.uri().query().unwrap_or(""),
            lambda::header_pairs(req.headers()),
            peer,
        )
        .await
    }

    async fn call_rewriter(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        headers: Vec<(String, String)>,
        peer: SocketAddr,
    ) -> Answer {
        let proxy = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned();
        let api = lambda::http_api_request(method, path, query, &headers, peer, "ANY /{proxy+}")
            .path_parameter("proxy", &proxy);
        match api.try_request() {
            Ok(r) => lambda::response(hlsgate_manifest_rewriter::handle(&self.rewriter, r).await),
            Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        }
    }

    /// The player page; other host names are sent to 127.0.0.1, where the
    /// signatures and cookies are issued.
    fn page(&self, headers: &HeaderMap) -> Answer {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if host.is_some_and(|h| format!("http://{h}") != self.public_origin) {
            let mut r = text(StatusCode::FOUND, "text/plain", "see 127.0.0.1");
            if let Ok(v) = HeaderValue::try_from(format!("{}/", self.public_origin)) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        let src = if self.hlsjs.is_some() {
            "/hls.js"
        } else {
            HLSJS_CDN
        };
        let html = include_str!("../assets/player.html")
            .replace("{{HLSJS_SRC}}", src)
            .replace("{{DEFAULT_MODE}}", self.mode.as_str())
            .replace("{{SAMPLE_ID}}", SAMPLE_ID);
        text(StatusCode::OK, "text/html; charset=utf-8", html)
    }

    /// Videos in the media bucket (those with a master) and every job.
    async fn videos(&self) -> Answer {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let out = match self
                .s3
                .list_objects_v2()
                .bucket(MEDIA_BUCKET)
                .prefix(KEY_PREFIX)
                .set_continuation_token(token.take())
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) => {
                    return error(
                        StatusCode::BAD_GATEWAY,
                        "storage_error",
                        aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                    );
                }
            };
            for o in out.contents() {
                if let Some(id) = o
                    .key()
                    .and_then(|k| k.strip_prefix(KEY_PREFIX))
                    .and_then(|k| k.strip_suffix("/master.m3u8"))
                    .filter(|id| !id.contains('/'))
                {
                    ids.push(id.to_string());
                }
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        json_response(
            StatusCode::OK,
            &json!({"videos": ids, "jobs": self.jobs.transcoder.board.to_json()}),
        )
    }

    /// `PUT /upload/NAME`: the body becomes `uploads/NAME`.
    async fn put_upload(&self, req: Request<Incoming>) -> Answer {
        if let Some(refused) = self.unauthorized(req.headers()) {
            return refused;
        }
        let raw = req.uri().path().trim_start_matches("/upload/");
        let name = percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned();
        if let Err(e) = check_upload_name(&name) {
            return error(StatusCode::BAD_REQUEST, "bad_name", e.to_string());
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("uploads are at most {MAX_UPLOAD_BYTES} bytes"),
            );
        }
        let path = self.data.tmp().join(format!(
            "upload-{}",
            setup::random_token(8).unwrap_or_default()
        ));
        let result = async {
            receive(req.into_body(), &path).await?;
            self.ingest(&name, &path).await
        }
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        match result {
            Ok(v) => json_response(StatusCode::ACCEPTED, &v),
            Err((status, v)) => json_response(status, &v),
        }
    }

    /// Puts a file into the upload bucket and runs the jobs handler on the
    /// "Object Created" event EventBridge would deliver.
    pub async fn ingest(
        &self,
        name: &str,
        file: &std::path::Path,
    ) -> Result<Value, (StatusCode, Value)> {
        let fail = |status: StatusCode, code: &str, m: String| {
            (status, json!({"error": code, "message": m}))
        };
        check_upload_name(name)
            .map_err(|e| fail(StatusCode::BAD_REQUEST, "bad_name", e.to_string()))?;
        let key = format!("uploads/{name}");
        let stored = transcode::upload(&self.s3, UPLOAD_BUCKET, &key, file)
            .await
            .map_err(|e| fail(StatusCode::BAD_GATEWAY, "storage_error", e.to_string()))?;
        let seq = self.sequencer.fetch_add(1, Ordering::Relaxed);
        let sequencer = format!("{:010X}{seq:08X}", std::process::id());
        let event = transcode::object_created_event(
            UPLOAD_BUCKET,
            &key,
            stored.size,
            &stored.etag,
            &sequencer,
        );
        let summary = hlsgate_mediaconvert_jobs::handle(&self.jobs, &event)
            .await
            .map_err(|e| {
                fail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transcoder_unavailable",
                    e.to_string(),
                )
            })?;
        let upload = &summary["uploads"][0];
        match upload["outcome"].as_str() {
            Some("submitted" | "duplicate") => Ok(json!({
                "key": key,
                "video_id": upload["video_id"],
                "job_id": upload["job_id"],
                "outcome": upload["outcome"],
            })),
            _ => Err(fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ignored",
                upload["reason"]
                    .as_str()
                    .unwrap_or("the jobs function ignored the upload")
                    .to_string(),
            )),
        }
    }
}

/// An upload's file name: one path segment of printable characters.
pub fn check_upload_name(name: &str) -> Result<(), DevError> {
    if name.is_empty() || name.len() > 200 {
        return Err(DevError::usage("the name must be 1 to 200 bytes"));
    }
    if name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(DevError::usage(
            "the name must be a file name, without / or \\",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DevError::usage("the name must not hold control characters"));
    }
    Ok(())
}

/// Streams a request body to a file, refusing more than [`MAX_UPLOAD_BYTES`].
async fn receive(mut body: Incoming, to: &std::path::Path) -> Result<(), (StatusCode, Value)> {
    let io = |e: std::io::Error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "io", "message": format!("{}: {e}", to.display())}),
        )
    };
    let mut file = tokio::fs::File::create(to).await.map_err(io)?;
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_body", "message": e.to_string()}),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > MAX_UPLOAD_BYTES {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"error": "too_large", "message": format!("uploads are at most {MAX_UPLOAD_BYTES} bytes")}),
                ));
            }
            file.write_all(&data).await.map_err(io)?;
        }
    }
    if total == 0 {
        return Err((
            StatusCode::BAD_REQUEST,
            json!({"error": "empty", "message": "the upload is empty"}),
        ));
    }
    file.flush().await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names() {
        assert!(check_upload_name("My Trip.mp4").is_ok());
        assert!(check_upload_name("../x.mp4").is_err());
        assert!(check_upload_name("a/b.mp4").is_err());
        assert!(check_upload_name("").is_err());
        assert!(check_upload_name("a\nb.mp4").is_err());
        assert!(check_upload_name(&"x".repeat(201)).is_err());
    }

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
            assert_eq!(i.cookies.as_ref().unwrap().domain, "127.0.0.1");
            let j = hlsgate_mediaconvert_jobs::Config::from(Env::from_pairs(env)).unwrap();
            assert_eq!(j.ladder.segment_seconds, 2);
        }
    }
}
