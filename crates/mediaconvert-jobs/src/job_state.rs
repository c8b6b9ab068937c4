//! A job's change of state: every step recorded in the video's status;
//! `COMPLETE` writes `playback.json` and publishes; `ERROR` publishes.

use bytes::Bytes;
use hlsgate_aws::{Fetched, ObjectSink, ObjectSource};
use hlsgate_core::status::Step;
use hlsgate_core::tracks::Tracks;
use hlsgate_core::video::{DEFAULT_MASTER_NAME, Playback, Rendition, SIDECAR_NAME, VideoId};
use serde_json::{Value, json};

use crate::event::JobState;
use crate::*;

/// Acts on a job's change of state: every step is recorded in the video's
/// status; `COMPLETE` writes `playback.json` and publishes; `ERROR`
/// publishes; `STATUS_UPDATE` publishes when `NOTIFY_PROGRESS` is on;
/// anything else is logged.
pub async fn notify<T, N, S, U>(app: &App<T, N, S, U>, state: &JobState) -> Result<Value, Failure>
where
    T: Transcoder,
    N: Notifier,
    S: ObjectSink + ObjectSource,
    U: Uploads,
{
    let config = &app.config;
    if state.user_metadata.get("stack") != Some(&config.stack) {
        tracing::debug!(job_id = %state.job_id, "job of another stack ignored");
        return Ok(json!({"ignored": "job of another stack", "job_id": state.job_id}));
    }
    let video_id = match state
        .user_metadata
        .get("videoId")
        .map(|s| VideoId::parse(s))
    {
        Some(Ok(id)) => id,
        Some(Err(e)) => {
            tracing::warn!(job_id = %state.job_id, error = %e, "job metadata has a bad videoId");
            return Ok(json!({"ignored": "bad videoId", "job_id": state.job_id}));
        }
        None => {
            tracing::warn!(job_id = %state.job_id, "job metadata has no videoId");
            return Ok(json!({"ignored": "no videoId", "job_id": state.job_id}));
        }
    };
    let mut common = json!({"jobId": state.job_id});
    for (meta, field) in [("sourceKey", "sourceKey"), ("sourceBucket", "sourceBucket")] {
        if let Some(v) = state.user_metadata.get(meta) {
            common[field] = v.clone().into();
        }
    }
    let source_key = state
        .user_metadata
        .get("sourceKey")
        .map_or("", String::as_str);
    let token = state.user_metadata.get("token").map(String::as_str);
    let job_id = state.job_id.clone();
    let step = match state.status.as_str() {
        "PROGRESSING" => Some(Step::Progressing {
            job_id,
            percent: None,
            phase: None,
        }),
        "STATUS_UPDATE" => {
            let progress = state.job_progress.as_ref();
            Some(Step::Progressing {
                job_id,
                percent: progress
                    .and_then(|p| p.job_percent_complete)
                    .map(|p| p.min(100) as u8),
                phase: progress.and_then(|p| p.current_phase.clone()),
            })
        }
        "ERROR" => Some(Step::error(
            Some(job_id),
            state.error_code,
            None,
            state.error_message.as_deref().unwrap_or(""),
        )),
        // Recorded once playback.json is written, below.
        _ => None,
    };
    if let Some(step) = step {
        let next = status::step(&video_id, source_key, token, step);
        status::record(&app.media, &config.status_prefix, next).await?;
    }
    let notice = match state.status.as_str() {
        "COMPLETE" => {
            let mut playback = playback(config, &video_id, state);
            playback.tracks = claimed_tracks(app, state).await;
            let key = format!("{}{SIDECAR_NAME}", config.folder_key(video_id.as_str()));
            let body = serde_json::to_vec_pretty(&playback).unwrap_or_default();
            app.media
                .write(&key, Bytes::from(body), "application/json")
                .await
                .map_err(|source| Failure::Store {
                    what: format!("writing {key}"),
                    source,
                })?;
            tracing::info!(video_id = %video_id, job_id = %state.job_id, %key, "playback.json written");
            let complete = Step::Complete {
                job_id: state.job_id.clone(),
                duration_seconds: playback.duration_seconds,
                renditions: playback.renditions.clone(),
            };
            let next = status::step(&video_id, source_key, token, complete);
            status::record(&app.media, &config.status_prefix, next).await?;
            common["masterKey"] = playback.master_key.clone().into();
            common["playbackPath"] = playback.public_path.clone().into();
            common["durationSeconds"] = json!(playback.duration_seconds);
            common["renditions"] = json!(playback.renditions);
            common["tracks"] = json!(playback.tracks);
            Notice::new(
                NoticeKind::Complete,
                &config.stack,
                video_id.as_str(),
                common,
            )
        }
        "ERROR" => {
            let message =
                hlsgate_core::status::cut_message(state.error_message.as_deref().unwrap_or(""));
            tracing::warn!(
                video_id = %video_id,
                job_id = %state.job_id,
                error_code = state.error_code,
                error_message = %message,
                "job failed"
            );
            common["errorCode"] = json!(state.error_code);
            common["errorMessage"] = message.into();
            Notice::new(NoticeKind::Error, &config.stack, video_id.as_str(), common)
        }
        "STATUS_UPDATE" if config.notify_progress => {
            let progress = state.job_progress.as_ref();
            common["percentComplete"] = json!(progress.and_then(|p| p.job_percent_complete));
            common["phase"] = json!(progress.and_then(|p| p.current_phase.clone()));
            Notice::new(
                NoticeKind::Progress,
                &config.stack,
                video_id.as_str(),
                common,
            )
        }
        other => {
            tracing::info!(video_id = %video_id, job_id = %state.job_id, status = other, "job state");
            return Ok(json!({"status": other, "job_id": state.job_id, "published": false}));
        }
    };
    let message_id = app
        .notifier
        .publish(&notice)
        .await
        .map_err(|source| Failure::Call {
            what: format!("publishing the {} notice", notice.kind.as_str()),
            source,
        })?;
    tracing::info!(
        video_id = %video_id,
        job_id = %state.job_id,
        event = notice.kind.as_str(),
        %message_id,
        "notice published"
    );
    Ok(json!({
        "status": state.status,
        "job_id": state.job_id,
        "published": notice.kind.as_str(),
        "message_id": message_id,
    }))
}

/// The tracks the job was asked for, from its claim (found by the token in
/// its metadata). Without a claim the sidecar says none: the ladder plays
/// the same, the menus are just not known ahead.
async fn claimed_tracks<T, N, S, U>(app: &App<T, N, S, U>, state: &JobState) -> Tracks
where
    S: ObjectSource,
{
    let Some(token) = state.user_metadata.get("token") else {
        return Tracks::default();
    };
    let key = format!("{}{token}.json", app.config.claim_prefix);
    match app.media.get(&key, MAX_CLAIM_BYTES, None).await {
        Ok(Fetched::Object(o)) => match serde_json::from_slice::<JobClaim>(&o.body) {
            Ok(claim) => claim.tracks,
            Err(e) => {
                tracing::warn!(%key, error = %e, "unreadable job claim; playback.json lists no tracks");
                Tracks::default()
            }
        },
        other => {
            tracing::warn!(%key, outcome = ?other.err(), "no job claim; playback.json lists no tracks");
            Tracks::default()
        }
    }
}

/// The sidecar for a completed job. The master is where [`submit`] put it;
/// duration and renditions come from the HLS group's output details.
pub fn playback(config: &Config, id: &VideoId, state: &JobState) -> Playback {
    let master_key = format!("{}{DEFAULT_MASTER_NAME}", config.folder_key(id.as_str()));
    let hls = state
        .output_group_details
        .iter()
        .find(|g| g.kind.as_deref() == Some("HLS_GROUP"));
    if let Some(reported) = hls.and_then(|g| g.playlist_file_paths.first()) {
        let expected = format!("s3://{}/{master_key}", config.media_bucket);
        if reported != &expected {
            tracing::warn!(%reported, %expected, "the job's master is not where we asked for it");
        }
    }
    let outputs = hls.map(|g| g.output_details.as_slice()).unwrap_or(&[]);
    let duration_ms = outputs.iter().filter_map(|o| o.duration_in_ms).max();
    let renditions = outputs
        .iter()
        .filter_map(|o| o.video_details.as_ref())
        .map(|v| Rendition {
            width: v.width_in_px,
            height: v.height_in_px,
            bitrate: v.average_bitrate,
        })
        .collect();
    // The frame capture group reports the last frame it wrote: the poster.
    let folder = config.folder_key(id.as_str());
    let bucket_prefix = format!("s3://{}/", config.media_bucket);
    let poster_key = state
        .output_group_details
        .iter()
        .filter(|g| g.kind.as_deref() == Some("FILE_GROUP"))
        .flat_map(|g| &g.output_details)
        .flat_map(|o| &o.output_file_paths)
        .filter_map(|p| p.strip_prefix(&bucket_prefix))
        .find(|k| k.starts_with(&folder) && k.ends_with(".jpg"))
        .map(str::to_string);
    Playback {
        video_id: id.clone(),
        public_path: format!("/{master_key}"),
        master_key,
        duration_seconds: duration_ms.map(|ms| ms as f64 / 1000.0),
        renditions,
        tracks: Tracks::default(),
        poster_key,
    }
}
