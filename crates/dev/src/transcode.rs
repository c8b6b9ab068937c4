//! MediaConvert's stand-in: a [`Transcoder`] that queues jobs for ffmpeg, and
//! a worker that runs them with the jobs function's own ladder (renditions,
//! segment length, keyframe interval, audio bitrate, MediaConvert's file
//! names), writes the HLS into the media bucket, and hands the jobs handler
//! the "MediaConvert Job State Change" events MediaConvert would send:
//! `STATUS_UPDATE` while it runs, then `COMPLETE` or `ERROR`.
//!
//! SNS's stand-in, [`PrintNotifier`], prints every notice and logs it.

use crate::error::DevError;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hlsgate_aws::{CallError, S3Objects};
use hlsgate_mediaconvert_jobs::config::{Abr, LadderSettings, Rung};
use hlsgate_mediaconvert_jobs::job::rung_name;
use hlsgate_mediaconvert_jobs::{App, JobSpec, Notice, Notifier, Transcoder, handle};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::setup::ACCOUNT;

/// The jobs function as the local stack runs it.
pub type JobsApp = App<LocalTranscoder, PrintNotifier, S3Objects>;

/// What to tell someone without ffmpeg.
pub const INSTALL_FFMPEG: &str = "ffmpeg and ffprobe are needed to transcode uploads locally \
     (the seed video plays without them): install them with `sudo apt-get install ffmpeg` \
     (Debian/Ubuntu), `brew install ffmpeg` (macOS) or from https://ffmpeg.org/download.html, \
     or point HLSGATE_FFMPEG / HLSGATE_FFPROBE at them";

/// The programs, from `HLSGATE_FFMPEG`/`HLSGATE_FFPROBE` or `PATH`.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Tools {
    /// Finds both, or says how to install them.
    pub fn find() -> Result<Tools, DevError> {
        let find = |var: &str, name: &str| -> Option<PathBuf> {
            if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
                let p = PathBuf::from(p);
                return p.is_file().then_some(p);
            }
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        };
        match (
            find("HLSGATE_FFMPEG", "ffmpeg"),
            find("HLSGATE_FFPROBE", "ffprobe"),
        ) {
            (Some(ffmpeg), Some(ffprobe)) => Ok(Tools { ffmpeg, ffprobe }),
            _ => Err(DevError::env(INSTALL_FFMPEG)),
        }
    }
}

/// One job as the page and the terminal see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub job_id: String,
    pub video_id: String,
    pub source_key: String,
    /// `SUBMITTED`, `PROGRESSING`, `COMPLETE` or `ERROR`.
    pub status: &'static str,
    pub percent: u32,
    pub error: Option<String>,
}

/// Every job since start, newest last.
#[derive(Debug, Default)]
pub struct JobBoard {
    jobs: Mutex<BTreeMap<String, JobView>>,
}

impl JobBoard {
    pub fn update(&self, job_id: &str, f: impl FnOnce(&mut JobView)) {
        if let Ok(mut jobs) = self.jobs.lock()
            && let Some(j) = jobs.get_mut(job_id)
        {
            f(j);
        }
    }

    fn insert(&self, view: JobView) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(view.job_id.clone(), view);
        }
    }

    pub fn get(&self, job_id: &str) -> Option<JobView> {
        self.jobs.lock().ok()?.get(job_id).cloned()
    }

    pub fn to_json(&self) -> Value {
        let jobs = self.jobs.lock().map(|j| j.clone()).unwrap_or_default();
        Value::Array(
            jobs.values()
                .map(|j| {
                    json!({
                        "job_id": j.job_id, "video_id": j.video_id, "source_key": j.source_key,
                        "status": j.status, "percent": j.percent, "error": j.error,
                    })
                })
                .collect(),
        )
    }
}

/// Queues jobs for the worker; answers a MediaConvert-shaped job id.
#[derive(Debug, Clone)]
pub struct LocalTranscoder {
    queue: mpsc::UnboundedSender<(String, JobSpec)>,
    pub board: Arc<JobBoard>,
    tools: Option<Tools>,
}

impl LocalTranscoder {
    /// ffmpeg and ffprobe, when they were found at start.
    pub fn tools(&self) -> Option<&Tools> {
        self.tools.as_ref()
    }
}

impl Transcoder for LocalTranscoder {
    async fn submit(&self, job: &JobSpec) -> Result<String, CallError> {
        if self.tools.is_none() {
            return Err(CallError::local(INSTALL_FFMPEG));
        }
        let job_id = format!(
            "{}-{}",
            now_ms(),
            crate::setup::random_token(3).map_err(|e| CallError::local(e.to_string()))?
        );
        self.board.insert(JobView {
            job_id: job_id.clone(),
            video_id: job.video_id.to_string(),
            source_key: job.metadata.get("sourceKey").cloned().unwrap_or_default(),
            status: "SUBMITTED",
            percent: 0,
            error: None,
        });
        self.queue
            .send((job_id.clone(), job.clone()))
            .map_err(|_| CallError::local("the local transcoder has stopped"))?;
        Ok(job_id)
    }
}

/// The transcoder and the receiving end of its queue, for [`worker`].
pub fn transcoder(
    tools: Option<Tools>,
) -> (LocalTranscoder, mpsc::UnboundedReceiver<(String, JobSpec)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        LocalTranscoder {
            queue: tx,
            board: Arc::new(JobBoard::default()),
            tools,
        },
        rx,
    )
}

/// Prints each notice (and logs it) where SNS would deliver it.
#[derive(Debug, Clone)]
pub struct PrintNotifier {
    pub topic_arn: String,
}

impl Notifier for PrintNotifier {
    async fn publish(&self, notice: &Notice) -> Result<String, CallError> {
        let message_id =
            crate::setup::random_token(16).map_err(|e| CallError::local(e.to_string()))?;
        let body = serde_json::to_string_pretty(&notice.body).unwrap_or_default();
        println!(
            "\nSNS publish to {} (message {message_id})\n  Subject: {}\n  Attributes: event={} videoId={}\n{}\n",
            self.topic_arn,
            notice.subject,
            notice.kind.as_str(),
            notice.video_id,
            indent(&body)
        );
        tracing::info!(
            topic = %self.topic_arn,
            %message_id,
            subject = %notice.subject,
            body = %notice.body,
            "sns publish (printed: the local stack has no SNS)"
        );
        Ok(message_id)
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

/// Why a job failed: MediaConvert's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub code: i64,
    pub message: String,
}

impl JobFailure {
    /// 1010: the input could not be read or decoded.
    fn input(message: impl Into<String>) -> JobFailure {
        JobFailure {
            code: 1010,
            message: message.into(),
        }
    }

    /// 1517: an output could not be written (MediaConvert's "write error").
    fn output(message: impl Into<String>) -> JobFailure {
        JobFailure {
            code: 1517,
            message: message.into(),
        }
    }

    /// 1999: anything else.
    fn internal(message: impl Into<String>) -> JobFailure {
        JobFailure {
            code: 1999,
            message: message.into(),
        }
    }
}

/// One rendition written: its playlist and what MediaConvert reports of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub playlist_uri: String,
    pub width: u32,
    pub height: u32,
    pub average_bitrate: u64,
    pub duration_ms: u64,
}

/// Runs queued jobs one at a time, until the queue closes.
pub async fn worker(
    mut queue: mpsc::UnboundedReceiver<(String, JobSpec)>,
    app: Arc<JobsApp>,
    s3: aws_sdk_s3::Client,
    tmp: PathBuf,
) {
    while let Some((job_id, spec)) = queue.recv().await {
        let board = app.transcoder.board.clone();
        board.update(&job_id, |j| j.status = "PROGRESSING");
        let Some(tools) = app.transcoder.tools.clone() else {
            continue;
        };
        let dir = tmp.join(&job_id);
        let result = run_job(&app, &tools, &s3, &job_id, &spec, &dir).await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        let event = match &result {
            Ok(outputs) => {
                board.update(&job_id, |j| j.percent = 100);
                state_event(&job_id, &spec, "COMPLETE", complete_detail(&spec, outputs))
            }
            Err(f) => {
                board.update(&job_id, |j| {
                    j.status = "ERROR";
                    j.error = Some(f.message.clone());
                });
                state_event(
                    &job_id,
                    &spec,
                    "ERROR",
                    json!({"errorCode": f.code, "errorMessage": f.message}),
                )
            }
        };
        match handle(&app, &event).await {
            Ok(summary) => {
                tracing::info!(%job_id, %summary, "job state handled");
                if result.is_ok() {
                    board.update(&job_id, |j| j.status = "COMPLETE");
                }
            }
            Err(e) => {
                tracing::error!(%job_id, error = %e, "the jobs handler failed on the job's end");
                board.update(&job_id, |j| {
                    j.status = "ERROR";
                    j.error = Some(e.to_string());
                });
            }
        }
    }
}

async fn run_job(
    app: &JobsApp,
    tools: &Tools,
    s3: &aws_sdk_s3::Client,
    job_id: &str,
    spec: &JobSpec,
    dir: &Path,
) -> Result<Vec<Output>, JobFailure> {
    let Abr::Ladder(rungs) = &app.config.ladder.abr else {
        return Err(JobFailure::internal(
            "ENCODING=auto is MediaConvert's automated ABR; the local transcoder needs a LADDER",
        ));
    };
    let (src_bucket, src_key) = split_s3_uri(&spec.source_uri)
        .ok_or_else(|| JobFailure::input(format!("bad source {}", spec.source_uri)))?;
    let (dst_bucket, dst_base) = split_s3_uri(&spec.destination)
        .ok_or_else(|| JobFailure::internal(format!("bad destination {}", spec.destination)))?;
    let (dst_folder, basename) = dst_base.rsplit_once('/').unwrap_or(("", dst_base));
    let out_dir = dir.join("out");
    tokio::fs::create_dir_all(&out_dir)
        .await
        .map_err(|e| JobFailure::internal(format!("{}: {e}", out_dir.display())))?;

    // 1. The upload, from S3 as MediaConvert reads it.
    let source = dir.join("source");
    download(s3, src_bucket, src_key, &source)
        .await
        .map_err(|e| {
            JobFailure::input(format!(
                "Unable to open input file [{}]: {e}",
                spec.source_uri
            ))
        })?;

    // 2. What is in it.
    let probe = probe(tools, &source).await.map_err(|e| {
        JobFailure::input(format!(
            "Unable to open input file [{}]: [Failed probe/open: {e}]",
            spec.source_uri
        ))
    })?;

    // 3. The ladder.
    let args = ffmpeg_args(
        &source,
        &out_dir,
        basename,
        rungs,
        &app.config.ladder,
        probe.has_audio,
    );
    let label = spec.video_id.to_string();
    let mut bar = Progress::new(&label);
    let mut last_update = Instant::now();
    let interval = Duration::from_secs(u64::from(app.config.status_update_seconds));
    let mut child = tokio::process::Command::new(&tools.ffmpeg)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            JobFailure::internal(format!("cannot start {}: {e}", tools.ffmpeg.display()))
        })?;
    let mut stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut text).await;
        }
        text
    });
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Some(us) = line.strip_prefix("out_time_us=") else {
                continue;
            };
            let Ok(us) = us.trim().parse::<u64>() else {
                continue;
            };
            let percent = ((us / 1000) * 100)
                .checked_div(probe.duration_ms)
                .map_or(0, |p| p.min(99) as u32);
            bar.show(percent);
            app.transcoder
                .board
                .update(job_id, |j| j.percent = j.percent.max(percent));
            if last_update.elapsed() >= interval {
                last_update = Instant::now();
                let event = state_event(
                    job_id,
                    spec,
                    "STATUS_UPDATE",
                    json!({"jobProgress": {"jobPercentComplete": percent, "currentPhase": "TRANSCODING"}}),
                );
                if let Err(e) = handle(app, &event).await {
                    tracing::warn!(%job_id, error = %e, "progress notice failed");
                }
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| JobFailure::internal(format!("ffmpeg: {e}")))?;
    let errors = stderr_task.await.unwrap_or_default();
    if !status.success() {
        bar.finish("failed");
        let tail: Vec<&str> = errors.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(JobFailure::input(format!(
            "Transcoding failed ({status}): {}",
            tail.join(" / ")
        )));
    }
    bar.finish("done");

    // 4. Into the media bucket, the master last: a player never sees a
    // master whose renditions are missing.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .map_err(|e| JobFailure::output(format!("{}: {e}", out_dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let master = format!("{basename}.m3u8");
    files.sort_by_key(|p| {
        (
            p.file_name().is_some_and(|n| n == master.as_str()),
            p.clone(),
        )
    });
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let key = format!("{dst_folder}/{name}");
        let stored = upload(s3, dst_bucket, &key, f).await.map_err(|e| {
            JobFailure::output(format!("Write error on s3://{dst_bucket}/{key}: {e}"))
        })?;
        *sizes
            .entry(
                name.rsplit_once('_')
                    .map_or(name.clone(), |(a, _)| a.to_string()),
            )
            .or_default() += stored.size;
    }
    Ok(rungs
        .iter()
        .map(|r| {
            let stem = format!("{basename}{}", rung_name(r, rungs));
            let bytes = sizes.get(&stem).copied().unwrap_or(0);
            Output {
                playlist_uri: format!("s3://{dst_bucket}/{dst_folder}/{stem}.m3u8"),
                width: r.width,
                height: r.height,
                average_bitrate: (bytes * 8 * 1000)
                    .checked_div(probe.duration_ms)
                    .unwrap_or(0),
                duration_ms: probe.duration_ms,
            }
        })
        .collect())
}

/// The ffmpeg command line for a ladder: one H.264 rendition per rung
/// (`rung_name` names, capped CRF standing in for QVBR), AAC stereo in each,
/// keyframes every `gop_seconds` and nowhere else, MPEG-TS segments of
/// `segment_seconds` numbered from 1, and the master `BASENAME.m3u8`.
pub fn ffmpeg_args(
    source: &Path,
    out_dir: &Path,
    basename: &str,
    rungs: &[Rung],
    encoding: &LadderSettings,
    has_audio: bool,
) -> Vec<String> {
    let mut a: Vec<String> = [
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-i",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(source.display().to_string());
    let n = rungs.len();
    let mut graph = format!("[0:v:0]split={n}");
    for i in 0..n {
        graph.push_str(&format!("[s{i}]"));
    }
    for (i, r) in rungs.iter().enumerate() {
        graph.push_str(&format!(
            ";[s{i}]scale={}:{},setsar=1[v{i}]",
            r.width, r.height
        ));
    }
    a.extend(["-filter_complex".to_string(), graph]);
    for i in 0..n {
        a.extend(["-map".to_string(), format!("[v{i}]")]);
        if has_audio {
            a.extend(["-map".to_string(), "0:a:0".to_string()]);
        }
    }
    a.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    for (i, r) in rungs.iter().enumerate() {
        // QVBR quality 1–10 as CRF 35–17; the rung's ceiling caps it.
        let crf = 37 - 2 * r.quality.min(10);
        a.extend([
            format!("-crf:v:{i}"),
            crf.to_string(),
            format!("-maxrate:v:{i}"),
            r.max_bitrate.to_string(),
            format!("-bufsize:v:{i}"),
            (u64::from(r.max_bitrate) * 2).to_string(),
        ]);
    }
    a.extend([
        "-force_key_frames".to_string(),
        format!("expr:gte(t,n_forced*{})", encoding.gop_seconds),
        "-sc_threshold".to_string(),
        "0".to_string(),
    ]);
    if has_audio {
        a.extend([
            "-c:a".to_string(),
            "aac".to_string(),
            "-b:a".to_string(),
            encoding.audio_bitrate.to_string(),
            "-ac".to_string(),
            "2".to_string(),
            "-ar".to_string(),
            "48000".to_string(),
        ]);
    }
    let map: Vec<String> = rungs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = rung_name(r, rungs);
            let name = name.trim_start_matches('_');
            if has_audio {
                format!("v:{i},a:{i},name:{name}")
            } else {
                format!("v:{i},name:{name}")
            }
        })
        .collect();
    a.extend([
        "-f".to_string(),
        "hls".to_string(),
        "-hls_time".to_string(),
        encoding.segment_seconds.to_string(),
        "-hls_playlist_type".to_string(),
        "vod".to_string(),
        "-hls_flags".to_string(),
        "independent_segments".to_string(),
        "-hls_segment_type".to_string(),
        "mpegts".to_string(),
        "-start_number".to_string(),
        "1".to_string(),
        "-master_pl_name".to_string(),
        format!("{basename}.m3u8"),
        "-hls_segment_filename".to_string(),
        out_dir
            .join(format!("{basename}_%v_%05d.ts"))
            .display()
            .to_string(),
        "-var_stream_map".to_string(),
        map.join(" "),
        out_dir
            .join(format!("{basename}_%v.m3u8"))
            .display()
            .to_string(),
    ]);
    a
}

/// What ffprobe says of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub duration_ms: u64,
    pub has_audio: bool,
}

async fn probe(tools: &Tools, source: &Path) -> Result<Probe, DevError> {
    let out = tokio::process::Command::new(&tools.ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type",
            "-of",
            "json",
        ])
        .arg(source)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| DevError::env(format!("cannot start {}: {e}", tools.ffprobe.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("unreadable input").trim();
        return Err(DevError::env(
            last.replace(&source.display().to_string(), "input"),
        ));
    }
    parse_probe(&out.stdout)
}

/// Reads ffprobe's JSON: a video stream is required.
pub fn parse_probe(json: &[u8]) -> Result<Probe, DevError> {
    let v: Value =
        serde_json::from_slice(json).map_err(|e| DevError::env(format!("ffprobe output: {e}")))?;
    let kinds: Vec<&str> = v["streams"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["codec_type"].as_str()).collect())
        .unwrap_or_default();
    if !kinds.contains(&"video") {
        return Err(DevError::env("no video stream"));
    }
    let seconds: f64 = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .filter(|d: &f64| d.is_finite() && *d >= 0.0)
        .unwrap_or(0.0);
    Ok(Probe {
        duration_ms: (seconds * 1000.0).round() as u64,
        has_audio: kinds.contains(&"audio"),
    })
}

/// `s3://bucket/key` → (`bucket`, `key`).
pub fn split_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (b, k) = rest.split_once('/')?;
    (!b.is_empty() && !k.is_empty()).then_some((b, k))
}

async fn download(
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

/// The `detail` of a `COMPLETE` event: the HLS group and its outputs.
fn complete_detail(spec: &JobSpec, outputs: &[Output]) -> Value {
    json!({
        "outputGroupDetails": [{
            "type": "HLS_GROUP",
            "playlistFilePaths": [format!("{}.m3u8", spec.destination)],
            "outputDetails": outputs.iter().map(|o| json!({
                "outputFilePaths": [o.playlist_uri],
                "durationInMs": o.duration_ms,
                "videoDetails": {
                    "widthInPx": o.width,
                    "heightInPx": o.height,
                    "averageBitrate": o.average_bitrate,
                },
            })).collect::<Vec<_>>(),
        }],
    })
}

/// An EventBridge event around `detail`, as a rule's target receives it.
fn eventbridge(detail_type: &str, source: &str, resource: String, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": crate::setup::random_token(16).unwrap_or_default(),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": rfc3339_now(),
        "region": hlsgate_aws::sdk::LOCAL_REGION,
        "resources": [resource],
        "detail": detail,
    })
}

/// A "MediaConvert Job State Change" event, as EventBridge delivers it.
pub fn state_event(job_id: &str, spec: &JobSpec, status: &str, extra: Value) -> Value {
    let region = hlsgate_aws::sdk::LOCAL_REGION;
    let mut detail = json!({
        "timestamp": now_ms(),
        "accountId": ACCOUNT,
        "queue": format!("arn:aws:mediaconvert:{region}:{ACCOUNT}:queues/Default"),
        "jobId": job_id,
        "status": status,
        "userMetadata": spec.metadata,
    });
    if let (Some(d), Some(x)) = (detail.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            d.insert(k.clone(), v.clone());
        }
    }
    eventbridge(
        "MediaConvert Job State Change",
        "aws.mediaconvert",
        format!("arn:aws:mediaconvert:{region}:{ACCOUNT}:jobs/{job_id}"),
        detail,
    )
}

/// An "Object Created" event for an upload, as EventBridge delivers it.
pub fn object_created_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: &str,
    sequencer: &str,
) -> Value {
    eventbridge(
        "Object Created",
        "aws.s3",
        format!("arn:aws:s3:::{bucket}"),
        json!({
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer},
            "request-id": crate::setup::random_token(8).unwrap_or_default(),
            "requester": ACCOUNT,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        }),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The terminal's progress bar (a line per quarter when not a terminal).
struct Progress {
    label: String,
    tty: bool,
    shown: Option<u32>,
}

impl Progress {
    fn new(label: &str) -> Progress {
        Progress {
            label: label.to_string(),
            tty: std::io::stderr().is_terminal(),
            shown: None,
        }
    }

    fn show(&mut self, percent: u32) {
        if self.tty {
            if self.shown == Some(percent) {
                return;
            }
            let filled = (percent / 5) as usize;
            eprint!(
                "\r  transcoding {} [{}{}] {percent:>3}%",
                self.label,
                "#".repeat(filled),
                "-".repeat(20 - filled)
            );
        } else {
            let step = percent / 25 * 25;
            if self.shown.is_some_and(|s| s >= step) {
                return;
            }
            eprintln!("  transcoding {}: {step}%", self.label);
            self.shown = Some(step);
            return;
        }
        self.shown = Some(percent);
    }

    fn finish(&mut self, word: &str) {
        if self.tty {
            eprintln!();
        }
        eprintln!("  transcoding {}: {word}", self.label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hlsgate_mediaconvert_jobs::config::parse_ladder;

    fn encoding(ladder: &str) -> LadderSettings {
        LadderSettings {
            abr: Abr::Ladder(parse_ladder(ladder).unwrap()),
            segment_seconds: 4,
            gop_seconds: 2,
            audio_bitrate: 96_000,
        }
    }

    #[test]
    fn the_ladder_becomes_ffmpeg_arguments() {
        let enc = encoding("640x360@800k:7,640x360@500k:5,256x144@200k");
        let Abr::Ladder(rungs) = &enc.abr else {
            unreachable!()
        };
        let a = ffmpeg_args(
            Path::new("/in"),
            Path::new("/out"),
            "master",
            rungs,
            &enc,
            true,
        );
        let joined = a.join(" ");
        assert!(joined.contains("[0:v:0]split=3[s0][s1][s2];[s0]scale=640:360,setsar=1[v0]"));
        assert!(joined.contains("-crf:v:0 23 -maxrate:v:0 800000 -bufsize:v:0 1600000"));
        assert!(joined.contains("-crf:v:1 27"));
        assert!(joined.contains("-force_key_frames expr:gte(t,n_forced*2)"));
        assert!(joined.contains("-hls_time 4 "));
        assert!(joined.contains("-b:a 96000"));
        assert!(joined.contains("-master_pl_name master.m3u8"));
        assert!(joined.contains("-hls_segment_filename /out/master_%v_%05d.ts"));
        // Two rungs share a height: MediaConvert's name modifiers tell them apart.
        assert!(joined.contains("v:0,a:0,name:360p_800k v:1,a:1,name:360p_500k v:2,a:2,name:144p"));
        assert_eq!(a.last().unwrap(), "/out/master_%v.m3u8");
        let silent = ffmpeg_args(
            Path::new("/in"),
            Path::new("/out"),
            "master",
            rungs,
            &enc,
            false,
        );
        assert!(!silent.iter().any(|s| s == "0:a:0" || s == "-c:a"));
        assert!(
            silent
                .join(" ")
                .contains("v:0,name:360p_800k v:1,name:360p_500k")
        );
    }

    #[test]
    fn probes() {
        let p = parse_probe(
            br#"{"streams":[{"codec_type":"video"},{"codec_type":"audio"}],"format":{"duration":"12.0215"}}"#,
        )
        .unwrap();
        assert_eq!(
            p,
            Probe {
                duration_ms: 12_022,
                has_audio: true
            }
        );
        assert_eq!(
            parse_probe(br#"{"streams":[{"codec_type":"audio"}],"format":{}}"#)
                .unwrap_err()
                .to_string(),
            "no video stream"
        );
        assert!(parse_probe(b"not json").is_err());
    }

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
