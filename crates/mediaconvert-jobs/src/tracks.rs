//! The tracks of one job: which audio streams, which caption files, decided
//! at submission from the upload's bucket and the transcoder's probe, so
//! the job request and `playback.json` say the same thing.
//!
//! The rule (docs/tracks.md):
//! 1. Audio: every audio stream the probe finds, up to `AUDIO_TRACKS_MAX`,
//!    in the container's order, with the container's language. One stream
//!    stays muxed into every video rendition; two or more become an audio
//!    group. A probe the service refuses (not a timeout or throttling)
//!    leaves MediaConvert's default: the first stream, muxed.
//! 2. Captions: with `STEM.json` beside the upload, exactly the files it
//!    lists; without it, every `STEM.LANG.vtt|srt` beside the upload whose
//!    last change is not after the upload's own, sorted by language then
//!    key. A file that is missing, too large, or not the format its name
//!    says stops the job before `CreateJob`, with an error notice naming it.
//!
//! Deterministic: the listing is filtered by the upload's own last-modified
//! time, so a redelivery (even one that finds no job claim) asks for the
//! same tracks; a caption added after the video takes a new upload of the
//! video.

use std::future::Future;

use bytes::Bytes;
use hlsgate_aws::{CallError, SourceError};
use hlsgate_core::tracks::{
    CaptionFormat, MAX_CAPTION_BYTES, MAX_CAPTION_TRACKS, MAX_MANIFEST_BYTES, Sidecar, Track,
    TrackError, TrackManifest, Tracks, check_caption, clean_name, container_language,
    language_name, manifest_key, upload_stem,
};
use serde::{Deserialize, Serialize};

use crate::event::Upload;

/// Bytes of a caption file read to check its opening.
pub const CAPTION_HEAD_BYTES: u64 = 4096;

/// Most objects listed beside an upload when looking for sidecars.
pub const MAX_LISTED: usize = 1000;

/// What the job asks for beyond the picture ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The source's audio streams taken, in order. Empty: the source's
    /// default stream, muxed (today's layout, and what a refused probe
    /// leaves). One: muxed, with its language. More: an audio group.
    #[serde(default)]
    pub audio: Vec<AudioTrack>,
    #[serde(default)]
    pub captions: Vec<Caption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioTrack {
    /// The stream's number among the source's audio streams, from 1
    /// (MediaConvert's audio selector `Tracks`).
    pub stream: u32,
    #[serde(flatten)]
    pub track: Track,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caption {
    /// `s3://bucket/key` of the caption file.
    pub source_uri: String,
    pub format: CaptionFormat,
    #[serde(flatten)]
    pub track: Track,
}

impl Plan {
    /// Whether the audio is an alternate group rather than muxed.
    pub fn audio_group(&self) -> bool {
        self.audio.len() > 1
    }

    /// What `playback.json` says of these tracks, with the trick play the
    /// settings add.
    pub fn tracks(&self, settings: &TrackSettings) -> Tracks {
        Tracks {
            audio: if self.audio_group() {
                self.audio.iter().map(|a| a.track.clone()).collect()
            } else {
                Vec::new()
            },
            subtitles: self.captions.iter().map(|c| c.track.clone()).collect(),
            iframes: settings.iframes,
            thumbnails: settings.thumbnails,
        }
    }
}

/// `AUDIO_TRACKS_MAX`, `CAPTIONS`, `TRICK_PLAY`, `THUMBNAIL_SECONDS`,
/// `THUMBNAIL_WIDTH`, `POSTER_SECONDS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSettings {
    /// Most audio streams taken (`AUDIO_TRACKS_MAX`, 8).
    pub audio_tracks_max: u32,
    /// Look for caption files (`CAPTIONS`, true).
    pub captions: bool,
    /// `TRICK_PLAY` has `iframes` (default `iframes,thumbnails`; `none`).
    pub iframes: bool,
    /// `TRICK_PLAY` has `thumbnails`.
    pub thumbnails: bool,
    /// One thumbnail every this many seconds (`THUMBNAIL_SECONDS`, 10).
    pub thumbnail_seconds: u32,
    /// Thumbnail width in pixels, a multiple of 8 (`THUMBNAIL_WIDTH`, 312).
    pub thumbnail_width: u32,
    /// The poster is the frame at this second (`POSTER_SECONDS`, 5; 0: no
    /// poster). A shorter video gets its first frame.
    pub poster_seconds: u32,
}

/// `TRICK_PLAY`'s items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::VariantNames)]
#[strum(serialize_all = "lowercase")]
pub enum TrickPlay {
    Iframes,
    Thumbnails,
    None,
}

impl TrackSettings {
    pub fn from_env(env: &mut hlsgate_aws::Env) -> TrackSettings {
        let audio_tracks_max = env.int_in("AUDIO_TRACKS_MAX", 8, 1, 16) as u32;
        let captions = env.flag("CAPTIONS", true);
        let items = env.list("TRICK_PLAY");
        let mut parsed = Vec::new();
        for item in if items.is_empty() {
            vec!["iframes".to_string(), "thumbnails".to_string()]
        } else {
            items
        } {
            match item.parse::<TrickPlay>() {
                Ok(t) => parsed.push(t),
                Err(_) => env.problem(format!(
                    "TRICK_PLAY: {item:?} is not one of iframes, thumbnails, none"
                )),
            }
        }
        if parsed.contains(&TrickPlay::None) && parsed.len() > 1 {
            env.problem("TRICK_PLAY: none cannot be listed with iframes or thumbnails");
        }
        let thumbnail_seconds = env.int_in("THUMBNAIL_SECONDS", 10, 1, 300) as u32;
        let thumbnail_width = env.int_in("THUMBNAIL_WIDTH", 312, 64, 1920) as u32;
        if !thumbnail_width.is_multiple_of(8) {
            env.problem(format!(
                "THUMBNAIL_WIDTH ({thumbnail_width}) must be a multiple of 8 (MediaConvert's rule)"
            ));
        }
        let poster_seconds = env.int_in("POSTER_SECONDS", 5, 0, 3600) as u32;
        TrackSettings {
            audio_tracks_max,
            captions,
            iframes: parsed.contains(&TrickPlay::Iframes),
            thumbnails: parsed.contains(&TrickPlay::Thumbnails),
            thumbnail_seconds,
            thumbnail_width,
            poster_seconds,
        }
    }
}

/// One object beside an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// Milliseconds since the epoch.
    pub last_modified_ms: i64,
}

/// The upload bucket, as the jobs function reads it: a listing beside the
/// upload and the first bytes of small files. S3 in AWS and in the local
/// stack; an in-memory one in tests.
pub trait Uploads: Send + Sync {
    /// Up to `max` objects under `prefix`, in key order.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Listed>, SourceError>> + Send;

    /// The first `max_bytes` of `key` (all of it when shorter).
    fn head(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Bytes, SourceError>> + Send;
}

impl Uploads for aws_sdk_s3::Client {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<Listed>, SourceError> {
        let mut out = Vec::new();
        let mut pages = self
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| SourceError::from(CallError::from_sdk(&e)))?;
            for o in page.contents() {
                if out.len() >= max {
                    return Ok(out);
                }
                out.push(Listed {
                    key: o.key().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                    last_modified_ms: o
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    async fn head(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Bytes, SourceError> {
        let out = self
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(format!("bytes=0-{}", max_bytes.saturating_sub(1)))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_no_such_key() => SourceError::NotFound,
                _ => CallError::from_sdk(&e).into(),
            })?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| SourceError::Unavailable {
                detail: format!("reading the body: {e}"),
                request_id: None,
            })?;
        let mut bytes = body.into_bytes();
        bytes.truncate(max_bytes as usize);
        Ok(bytes)
    }
}

/// Why no plan was made.
#[derive(Debug)]
pub enum PlanError {
    /// The upload's tracks are wrong (a caption that cannot be used, a bad
    /// manifest): the job is not submitted and the team is told.
    Rejected(TrackError),
    /// Reading the bucket failed: retry.
    Store(SourceError),
    /// The probe failed in a way a retry may mend.
    Probe(CallError),
}

/// The tracks of `upload`: `probe` is the transcoder's answer (the
/// source's audio streams' language codes, in order), or the error it gave.
pub async fn plan<U: Uploads>(
    uploads: &U,
    settings: &TrackSettings,
    upload: &Upload,
    probe: Result<Vec<Option<String>>, CallError>,
) -> Result<Plan, PlanError> {
    let manifest = if settings.captions {
        read_manifest(uploads, upload).await?
    } else {
        None
    };
    let streams = match probe {
        Ok(s) => s,
        Err(e) if e.is_transient() => return Err(PlanError::Probe(e)),
        Err(e) => {
            tracing::warn!(key = %upload.key, error = %e, "probe refused; the source's default audio is used");
            Vec::new()
        }
    };
    let labels = manifest
        .as_ref()
        .map(|m| m.audio.as_slice())
        .unwrap_or_default();
    let mut audio: Vec<AudioTrack> = streams
        .iter()
        .take(settings.audio_tracks_max as usize)
        .enumerate()
        .map(|(i, code)| {
            let label = labels.get(i);
            let language = label
                .and_then(|l| l.language.as_deref())
                .and_then(hlsgate_core::tracks::language_tag)
                .or_else(|| container_language(code.as_deref()));
            let name = label
                .and_then(|l| l.name.as_deref())
                .and_then(clean_name)
                .or_else(|| language.as_deref().map(language_name))
                .unwrap_or_else(|| format!("Audio {}", i + 1));
            AudioTrack {
                stream: i as u32 + 1,
                track: Track {
                    language,
                    name,
                    default: label.is_some_and(|l| l.default),
                },
            }
        })
        .collect();
    one_default(audio.iter_mut().map(|a| &mut a.track), true);
    let mut captions = if !settings.captions {
        Vec::new()
    } else if let Some(listed) = manifest.as_ref().and_then(|m| m.subtitles.as_ref()) {
        let folder = upload.key.rfind('/').map_or("", |i| &upload.key[..=i]);
        let mut out = Vec::new();
        for c in listed {
            let key = format!("{folder}{}", c.file);
            let format = c
                .file
                .rsplit_once('.')
                .and_then(|(_, e)| e.parse().ok())
                .unwrap_or(CaptionFormat::Vtt);
            let language = hlsgate_core::tracks::language_tag(&c.language).unwrap_or_default();
            let track = Track {
                name: c
                    .name
                    .as_deref()
                    .and_then(clean_name)
                    .unwrap_or_else(|| language_name(&language)),
                language: Some(language),
                default: c.default,
            };
            out.push((key, format, track));
        }
        out
    } else {
        sidecars(uploads, upload).await?
    };
    if captions.len() > MAX_CAPTION_TRACKS {
        return Err(PlanError::Rejected(TrackError::TooManyCaptions));
    }
    for (key, format, track) in &captions {
        if let Some(Err(reason)) = track.language.as_deref().map(crate::language::check) {
            return Err(PlanError::Rejected(TrackError::Caption {
                file: key.clone(),
                reason,
            }));
        }
        check(uploads, &upload.bucket, key, *format).await?;
    }
    one_default(captions.iter_mut().map(|c| &mut c.2), false);
    Ok(Plan {
        audio,
        captions: captions
            .into_iter()
            .map(|(key, format, track)| Caption {
                source_uri: format!("s3://{}/{key}", upload.bucket),
                format,
                track,
            })
            .collect(),
    })
}

/// At most one default; with `first`, the first track when none was asked.
fn one_default<'a>(tracks: impl Iterator<Item = &'a mut Track>, first: bool) {
    let mut tracks: Vec<&mut Track> = tracks.collect();
    let chosen = tracks
        .iter()
        .position(|t| t.default)
        .or(if first && !tracks.is_empty() {
            Some(0)
        } else {
            None
        });
    for (i, t) in tracks.iter_mut().enumerate() {
        t.default = Some(i) == chosen;
    }
}

async fn read_manifest<U: Uploads>(
    uploads: &U,
    upload: &Upload,
) -> Result<Option<TrackManifest>, PlanError> {
    let key = manifest_key(&upload.key);
    match uploads
        .head(&upload.bucket, &key, MAX_MANIFEST_BYTES + 1)
        .await
    {
        Ok(body) if body.len() as u64 > MAX_MANIFEST_BYTES => {
            Err(PlanError::Rejected(TrackError::Manifest {
                file: key,
                reason: format!("over {MAX_MANIFEST_BYTES} bytes"),
            }))
        }
        Ok(body) => TrackManifest::parse(&key, &body)
            .map(Some)
            .map_err(PlanError::Rejected),
        Err(SourceError::NotFound) => Ok(None),
        Err(e) => Err(PlanError::Store(e)),
    }
}

async fn sidecars<U: Uploads>(
    uploads: &U,
    upload: &Upload,
) -> Result<Vec<(String, CaptionFormat, Track)>, PlanError> {
    let prefix = format!("{}.", upload_stem(&upload.key));
    let listed = uploads
        .list(&upload.bucket, &prefix, MAX_LISTED)
        .await
        .map_err(PlanError::Store)?;
    // The upload's own time bounds what belongs to it; if the listing does
    // not show the upload (an eventually consistent moment), take none
    // rather than a set a redelivery might not see.
    let Some(video) = listed.iter().find(|o| o.key == upload.key) else {
        tracing::warn!(key = %upload.key, "the upload is not in its own listing; no caption files taken");
        return Ok(Vec::new());
    };
    let mut found: Vec<(String, CaptionFormat, Track)> = listed
        .iter()
        .filter(|o| o.last_modified_ms <= video.last_modified_ms)
        .filter_map(|o| Sidecar::of(&upload.key, &o.key))
        .map(|s| {
            let name = language_name(&s.language);
            (
                s.key,
                s.format,
                Track {
                    language: Some(s.language),
                    name,
                    default: false,
                },
            )
        })
        .collect();
    found.sort_by(|a, b| (&a.2.language, &a.0).cmp(&(&b.2.language, &b.0)));
    Ok(found)
}

async fn check<U: Uploads>(
    uploads: &U,
    bucket: &str,
    key: &str,
    format: CaptionFormat,
) -> Result<(), PlanError> {
    let rejected = |reason: String| {
        PlanError::Rejected(TrackError::Caption {
            file: key.to_string(),
            reason,
        })
    };
    let listed = uploads
        .list(bucket, key, 1)
        .await
        .map_err(PlanError::Store)?;
    match listed.first() {
        Some(o) if o.key == key && o.size > MAX_CAPTION_BYTES => {
            return Err(rejected(format!(
                "is {} bytes, over the {MAX_CAPTION_BYTES}-byte limit",
                o.size
            )));
        }
        Some(o) if o.key == key && o.size == 0 => return Err(rejected("is empty".into())),
        Some(o) if o.key == key => {}
        _ => return Err(rejected("is missing".into())),
    }
    let head = match uploads.head(bucket, key, CAPTION_HEAD_BYTES).await {
        Ok(h) => h,
        Err(SourceError::NotFound) => return Err(rejected("cannot be read".into())),
        Err(e) => return Err(PlanError::Store(e)),
    };
    check_caption(key, format, &head).map_err(PlanError::Rejected)
}
