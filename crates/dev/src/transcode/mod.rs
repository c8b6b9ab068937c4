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
use hlsgate_mediaconvert_jobs::job::{AUDIO_GROUP, audio_name, caption_name, rung_name};
use hlsgate_mediaconvert_jobs::key::{ContentKey, Encryption, JobEncryption};
use hlsgate_mediaconvert_jobs::tracks::{AudioTrack, Plan};
use hlsgate_mediaconvert_jobs::{App, JobSpec, Notice, Notifier, Transcoder, handle};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::setup::ACCOUNT;

mod board;
mod events;
mod ffmpeg;
mod master;
mod progress;
mod speke;
mod storage;
mod tools;
mod tracks;

pub use board::*;
pub use events::*;
pub use ffmpeg::*;
pub use master::*;
use progress::*;
pub use speke::{KeyProviderApp, LOCAL_SPEKE_URL, MEDIACONVERT_ROLE};
pub use storage::*;
pub use tools::*;
pub use tracks::*;

/// The jobs function as the local stack runs it.
pub type JobsApp = App<LocalTranscoder, PrintNotifier, S3Objects, aws_sdk_s3::Client>;

/// Queues jobs for the worker; answers a MediaConvert-shaped job id.
#[derive(Debug, Clone)]
pub struct LocalTranscoder {
    queue: mpsc::UnboundedSender<(String, JobSpec)>,
    pub board: Arc<JobBoard>,
    tools: Option<Tools>,
    /// Reads sources for the probe, as MediaConvert's Probe reads them.
    s3: aws_sdk_s3::Client,
    tmp: PathBuf,
    /// What a job with a SPEKE key provider asks for its key.
    key_provider: Arc<KeyProviderApp>,
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

    /// ffprobe on a copy of the source: its audio streams' languages.
    async fn probe(&self, source_uri: &str) -> Result<Vec<Option<String>>, CallError> {
        let Some(tools) = &self.tools else {
            return Err(CallError::local(INSTALL_FFMPEG));
        };
        let (bucket, key) = split_s3_uri(source_uri)
            .ok_or_else(|| CallError::local(format!("bad source {source_uri}")))?;
        let dir = self.tmp.join(format!(
            "probe-{}",
            crate::setup::random_token(4).map_err(|e| CallError::local(e.to_string()))?
        ));
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| CallError::local(e.to_string()))?;
        let file = dir.join("source");
        let result = async {
            download(&self.s3, bucket, key, &file).await?;
            probe(tools, &file).await
        }
        .await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        match result {
            Ok(p) => Ok(p.audio_languages),
            // MediaConvert's Probe refuses what it cannot read (400): not
            // worth a retry; the job then fails on the same input.
            Err(e) => {
                let mut err = CallError::local(e.to_string());
                err.failure = hlsgate_aws::CallFailure::Rejected;
                Err(err)
            }
        }
    }
}

/// The transcoder and the receiving end of its queue, for [`worker`].
pub fn transcoder(
    tools: Option<Tools>,
    s3: aws_sdk_s3::Client,
    tmp: PathBuf,
    key_provider: KeyProviderApp,
) -> (LocalTranscoder, mpsc::UnboundedReceiver<(String, JobSpec)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        LocalTranscoder {
            queue: tx,
            board: Arc::new(JobBoard::default()),
            tools,
            s3,
            tmp,
            key_provider: Arc::new(key_provider),
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
            Ok((outputs, poster)) => {
                board.update(&job_id, |j| j.percent = 100);
                state_event(
                    &job_id,
                    &spec,
                    "COMPLETE",
                    complete_detail(&spec, outputs, poster.as_deref()),
                )
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
) -> Result<(Vec<Output>, Option<String>), JobFailure> {
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

    // 3. The ladder, encrypted with the video's key when the job has one:
    //    the key in the job, or the key provider's answer to MediaConvert's
    //    SPEKE request (the key file stays outside `out`, so it is never
    //    uploaded).
    let key = match &spec.encryption {
        None => None,
        Some(JobEncryption::Static(k)) => Some((*k.bytes(), ContentKey::uri().to_string())),
        Some(JobEncryption::Speke {
            method: Encryption::Aes128,
            provider,
        }) => Some(
            speke::ask(&app.transcoder.key_provider, provider, &spec.video_id)
                .await
                .map_err(JobFailure::internal)?,
        ),
        Some(JobEncryption::Speke { method, .. }) => {
            return Err(JobFailure::internal(format!(
                "ENCRYPTION={}: a DRM vendor's packaging; the local transcoder encrypts AES-128 only",
                <&str>::from(*method)
            )));
        }
    };
    let key_info = match key {
        Some((k, uri)) => {
            let key_file = dir.join("content.key");
            let info = dir.join("key-info");
            let lines = format!("{uri}\n{}\n", key_file.display());
            for (path, bytes) in [(&key_file, k.as_slice()), (&info, lines.as_bytes())] {
                tokio::fs::write(path, bytes)
                    .await
                    .map_err(|e| JobFailure::internal(format!("{}: {e}", path.display())))?;
            }
            Some(info)
        }
        None => None,
    };
    let args = ffmpeg_args(
        &source,
        &out_dir,
        basename,
        rungs,
        &app.config.ladder,
        Audio::of(probe.has_audio, &spec.plan),
        key_info.as_deref(),
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

    // 4. What MediaConvert adds beside the renditions, then its master.
    let settings = &app.config.tracks;
    let stems: Vec<(String, u32, u32)> = rungs
        .iter()
        .map(|r| {
            (
                format!("{basename}{}", rung_name(r, rungs)),
                r.width,
                r.height,
            )
        })
        .collect();
    let subtitles = captions(
        tools,
        s3,
        spec,
        &source,
        dir,
        basename,
        app.config.ladder.segment_seconds,
    )
    .await?;
    // ffprobe cannot read packets in ciphertext: an encrypted ladder gets
    // no I-frame playlists locally (MediaConvert writes them, with keys).
    let iframe_infs = if settings.iframes && spec.encryption.is_none() {
        iframes(tools, &out_dir, &stems).await?
    } else {
        Vec::new()
    };
    let image = if settings.thumbnails {
        Some(thumbnails(tools, &source, &out_dir, basename, settings, &probe).await?)
    } else {
        None
    };
    let poster_name = if settings.poster_seconds > 0 {
        Some(poster(tools, &source, &out_dir, settings, &probe).await?)
    } else {
        None
    };
    let master_path = out_dir.join(format!("{basename}.m3u8"));
    let written = tokio::fs::read_to_string(&master_path)
        .await
        .map_err(|e| JobFailure::internal(format!("{}: {e}", master_path.display())))?;
    let rewritten = master(
        &written,
        &spec.plan,
        basename,
        &subtitles,
        &iframe_infs,
        image.as_ref(),
    );
    tokio::fs::write(&master_path, rewritten)
        .await
        .map_err(|e| JobFailure::internal(format!("{}: {e}", master_path.display())))?;

    // 5. Into the media bucket, the master last: a player never sees a
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
    let outputs = rungs
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
        .collect();
    let poster = poster_name.map(|n| format!("s3://{dst_bucket}/{dst_folder}/{n}"));
    Ok((outputs, poster))
}
