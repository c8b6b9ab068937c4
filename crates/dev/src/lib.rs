//! `hlsgate dev`: the whole system in one process on 127.0.0.1, over the
//! Lambdas' own handlers.
//!
//! | in AWS | here |
//! |---|---|
//! | S3 (upload and media buckets) | an embedded S3 server (s3s-fs) over `--data`, reached through aws-sdk-s3 |
//! | CloudFront `/playback/*` → API Gateway + JWT authorizer → signed-url-issuer | `/playback/{videoId}` with a dev bearer token, plus the origin secret and `CloudFront-Viewer-Address` the distribution adds → the issuer's `handle` (host-only cookies); `/_origin/issuer/playback/{videoId}` is the API's own URL, without them |
//! | CloudFront (trusted key group, OAC, origin request policy) | the [`edge`] at `/videos/**` |
//! | Function URL (or API Gateway `{proxy+}`) → manifest-rewriter | the rewriter's `handle`, behind the edge, which adds the viewer-request function's `X-Hlsgate-Origin`; also bare at `/_origin/rewriter/**` |
//! | API Gateway + JWT authorizer → upload-api (`/uploads…`, `/videos/{id}/status`) | `/_origin/issuer/uploads…` and `/_origin/issuer/videos/{id}/status` with the dev bearer token → the upload API's `handle`; its presigned part URLs point at the embedded S3, which answers browsers as the bucket's CORS rule does |
//! | EventBridge "Object Created" → mediaconvert-jobs | a completed upload, or the dev-only `PUT /upload/NAME` (scripts) → the jobs `handle` on a real-shaped event |
//! | MediaConvert | ffmpeg with the jobs config's ladder ([`transcode`]) |
//! | SNS | a printed, logged notice |

pub mod edge;
pub mod error;
pub mod grants;
pub mod lambda;
mod player;
mod routes;
pub mod setup;
mod stack;
pub mod transcode;
mod uploads;

pub use crate::routes::serve;
pub use crate::stack::{function_env, start};
pub use crate::uploads::check_upload_name;

pub use crate::error::DevError;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use hlsgate_aws::S3Objects;
use hlsgate_aws::secret::StaticSecret;
use hlsgate_core::signing::Delivery;
use hlsgate_signed_url_issuer::entitlement::Entitlements;
use hlsgate_signed_url_issuer::keys::FileKeys;
pub use hlsgate_signed_url_issuer::sessions::StreamLimit;

use crate::setup::{DataDir, MEDIA_BUCKET, Secrets, UPLOAD_BUCKET};
use crate::transcode::JobsApp;

/// The rewriter as the stack runs it.
pub type RewriterApp = hlsgate_manifest_rewriter::App<S3Objects, StaticSecret>;
/// The issuer as the stack runs it.
pub type IssuerApp = hlsgate_signed_url_issuer::App<S3Objects, FileKeys, Entitlements>;
/// The upload API as the stack runs it: multipart and presigning against
/// the embedded S3.
pub type UploadApp = hlsgate_upload_api::App<hlsgate_upload_api::S3Uploads, S3Objects>;

macro_rules! hlsjs_version {
    () => {
        "1.7.4"
    };
}
/// The hls.js the player loads: the version `e2e/package.json` pins (a test
/// keeps the two equal).
pub const HLSJS_VERSION: &str = hlsjs_version!();
/// hls.js when `--hlsjs` is not given: jsDelivr serves the npm package's
/// file as published.
pub const HLSJS_CDN: &str = concat!(
    "https://cdn.jsdelivr.net/npm/hls.js@",
    hlsjs_version!(),
    "/dist/hls.min.js"
);
/// Subresource integrity of that file (SHA-384 of npm's `dist/hls.min.js`;
/// a test recomputes it from the copy `make e2e-tools` installs), so a
/// changed file on the CDN is refused by the browser rather than run.
pub const HLSJS_CDN_INTEGRITY: &str =
    "sha384-p9vgU/7IYJWd3I4STrtqxqR/2cAQlhIX7D/HrTnIMEjjcUox165b7se7sxmm3zDg";

/// The viewer every dev token stands for, and the claim the dev rule wants.
pub const DEV_SUBJECT: &str = "dev-viewer";
pub const DEV_GROUP: &str = "viewers";
/// The dev token's uploader group (`UPLOADER_VALUES`): it may upload through
/// the upload API too.
pub const DEV_UPLOADER_GROUP: &str = "editors";

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
    /// Where the issuer's entitlement comes from.
    pub entitlement: grants::DevEntitlement,
    /// Uploads become AES-128 encrypted ladders (`ENCRYPTION=aes-128`).
    pub encrypt: bool,
    /// `SIGNATURE_SECONDS`; `None` for the function's default (300).
    pub signature_seconds: Option<u64>,
    /// `MAX_STREAMS` (0: no limit) and `STREAM_LIMIT`.
    pub max_streams: u16,
    pub stream_limit: StreamLimit,
    /// What the edge says in `CloudFront-Viewer-Country` to the issuer:
    /// an ISO 3166-1 alpha-2 code, or `ZZ` (unknown).
    pub viewer_country: String,
}

impl Options {
    /// Sessions are recorded (a table on dynalite) when streams are
    /// limited or dynalite runs anyway for the grants; else stateless.
    pub fn sessions_table(&self) -> bool {
        self.max_streams > 0 || matches!(self.entitlement, grants::DevEntitlement::Dynamodb { .. })
    }
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
    pub uploader: UploadApp,
    pub jobs: Arc<JobsApp>,
    /// The grants table, with `--entitlement dynamodb`.
    pub grants: Option<grants::DevGrants>,
    /// The sessions table ([`Options::sessions_table`]).
    pub sessions: Option<grants::DevSessions>,
    pub(crate) hlsjs: Option<Bytes>,
    pub(crate) sequencer: AtomicU64,
    /// [`Options::viewer_country`].
    pub(crate) viewer_country: String,
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
    let player_line = match &opts.hlsjs {
        Some(p) => format!("hls.js {}", p.display()),
        None => format!(
            "hls.js {HLSJS_VERSION} from jsDelivr; offline, pass --hlsjs PATH/hls.min.js (make dev does)"
        ),
    };
    let o = &stack.public_origin;
    println!("hlsgate dev listening on {o}");
    let grants_line = match (&stack.grants, &opts.entitlement) {
        (Some(g), _) => format!(
            "\n  grants     {} on {}   (the dev viewer holds each video for 2 h: hlsgate grants --table {} --endpoint {} --subject {DEV_SUBJECT})",
            grants::DEV_GRANTS_TABLE,
            g.endpoint,
            grants::DEV_GRANTS_TABLE,
            g.endpoint
        ),
        (None, grants::DevEntitlement::Webhook { url, .. }) => {
            format!(
                "\n  webhook    POST {url}   (signed with --entitlement-secret; docs/entitlement.md)"
            )
        }
        _ => String::new(),
    };
    let seconds = stack.issuer.config.sessions.signature.longest();
    let sessions_line = match &stack.sessions {
        Some(s) => format!(
            "\n  sessions   {} on {}   (signatures of {seconds} s, renewed by the page; {}: hlsgate sessions list --table {} --endpoint {} --subject {DEV_SUBJECT})",
            grants::DEV_SESSIONS_TABLE,
            s.endpoint,
            match stack.issuer.config.sessions.max_streams {
                0 => "no stream limit".to_string(),
                n => format!("{n} streams, then {}", stack.issuer.config.sessions.limit),
            },
            grants::DEV_SESSIONS_TABLE,
            s.endpoint
        ),
        None => format!(
            "\n  sessions   stateless   (signatures of {seconds} s, renewed by the page; --max-streams N records them)"
        ),
    };
    let rules_line = format!(
        "\n  rules      the edge says the viewer is in {}   (--viewer-country XX; with {}'s variables: hlsgate rules set ID --countries DE --origins {o} …)",
        stack.viewer_country,
        stack.data.lambda_env().display()
    );
    println!(
        "\n  player     {o}/#token={token}   ({player_line})\n  dev token  {token}   (Authorization: Bearer …; --dev-token to fix it)\n  issuer     GET {o}/playback/{{videoId}}[?mode=url|cookies]   (default {mode}; through the edge, as /playback/* on the distribution)\n  edge       {o}/videos/…   (CloudFront: key group {kid}; signed URLs or cookies)\n  rewriter   {o}/_origin/rewriter/videos/…   (API Gateway: needs the origin secret)\n  S3         {s3}   (path-style; buckets {UPLOAD_BUCKET}, {MEDIA_BUCKET})\n  uploads    drop a file on the page (the upload API at {o}/_origin/issuer/uploads), or PUT {o}/upload/NAME from scripts   ({tools_line})\n  data       {data}   (dev keys, origin secret, buckets; never commit it)\n  lambdas    cargo lambda watch reads {env}{grants_line}{sessions_line}{rules_line}\n  probe      HLSGATE_PROBE_TOKEN={token} hlsgate probe --issuer {o} --video sample --public-key {kid}={pem}   (docs/probe.md)\n",
        token = stack.token,
        mode = stack.mode,
        kid = stack.secrets.key_pair_id,
        s3 = stack.s3_endpoint,
        data = stack.data.root.display(),
        env = stack.data.lambda_env().display(),
        pem = stack.data.public_key_pem().display(),
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
        r = stop_signal() => {
            let signal = r?;
            println!("\nhlsgate dev: stopped ({signal})");
            Ok(())
        }
    }
    // Returning drops the stack: dynalite, and every other child it
    // started, ends with it.
}

/// Ctrl-C, or SIGTERM or SIGHUP (a service manager, a closed terminal, a
/// test harness): each stops the stack the same way, so no child outlives it.
async fn stop_signal() -> Result<&'static str, DevError> {
    let waiting = |e: std::io::Error| DevError::env(format!("waiting for a stop signal: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(waiting)?;
        let mut hup = signal(SignalKind::hangup()).map_err(waiting)?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "SIGINT").map_err(waiting),
            _ = term.recv() => Ok("SIGTERM"),
            _ = hup.recv() => Ok("SIGHUP"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map(|()| "Ctrl-C")
            .map_err(waiting)
    }
}
