//! The transcoding job: what we ask for ([`JobSpec`]), the [`Transcoder`]
//! trait that runs it, and the `MediaConvert` adapter that turns the spec and
//! the configured ladder into a `CreateJob` request built from the SDK's
//! types.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_mediaconvert::operation::create_job::builders::CreateJobFluentBuilder;
use aws_sdk_mediaconvert::types::{
    AacCodecProfile, AacCodingMode, AacRateControlMode, AacSettings, AudioCodec,
    AudioCodecSettings, AudioDefaultSelection, AudioDescription, AudioLanguageCodeControl,
    AudioSelector, AudioSelectorType, AutomatedAbrSettings, AutomatedEncodingSettings,
    CaptionDescription, CaptionDestinationSettings, CaptionDestinationType, CaptionSelector,
    CaptionSourceSettings, CaptionSourceType, ContainerSettings, ContainerType, FileGroupSettings,
    FileSourceSettings, FrameCaptureSettings, H264CodecLevel, H264CodecProfile,
    H264FramerateControl, H264GopSizeUnits, H264InterlaceMode, H264ParControl,
    H264QualityTuningLevel, H264QvbrSettings, H264RateControlMode, H264SceneChangeDetect,
    H264Settings, HlsAudioOnlyContainer, HlsAudioTrackType, HlsCaptionLanguageSetting,
    HlsCaptionSegmentLengthControl, HlsClientCache, HlsCodecSpecification, HlsDirectoryStructure,
    HlsEncryptionSettings, HlsEncryptionType, HlsGroupSettings, HlsIFrameOnlyManifest,
    HlsImageBasedTrickPlay, HlsImageBasedTrickPlaySettings, HlsInitializationVectorInManifest,
    HlsIntervalCadence, HlsKeyProviderType, HlsManifestCompression, HlsManifestDurationFormat,
    HlsOutputSelection, HlsProgramDateTime, HlsSegmentControl, HlsSegmentLengthControl,
    HlsSettings, HlsStreamInfResolution, HlsTimedMetadataId3Frame, Input, InputTimecodeSource,
    JobSettings, Output, OutputGroup, OutputGroupSettings, OutputGroupType, OutputSettings,
    ProbeInputFile, ScalingBehavior, SpekeKeyProvider, StaticKeyProvider, StatusUpdateInterval,
    TrackType, VideoCodec, VideoCodecSettings, VideoDescription, VideoSelector,
    WebvttDestinationSettings,
};
use hlsgate_aws::CallError;
use hlsgate_core::tracks::CaptionFormat;
use hlsgate_core::video::VideoId;

use crate::config::{Abr, LadderSettings, Rung};
use crate::tracks::{AudioTrack, Caption, Plan, TrackSettings};

mod renditions;
use renditions::*;

/// The master playlist's name without `.m3u8`: `MediaConvert` names the HLS
/// group's master after the destination's last segment.
pub const MASTER_BASENAME: &str = "master";

/// The audio group's `GROUP-ID`, when the source has several audio streams.
pub const AUDIO_GROUP: &str = "audio";

/// The poster's file group writes `POSTER_BASENAME.NNNNNNN.jpg`.
pub const POSTER_BASENAME: &str = "poster";

/// Frames captured for the poster: the first, then the one at
/// `POSTER_SECONDS`; `MediaConvert` reports the last one written, which is
/// the poster.
const POSTER_CAPTURES: i32 = 2;

/// JPEG quality of the poster (`MediaConvert`'s default is 80).
const POSTER_QUALITY: i32 = 80;

/// The `n`th audio selector (from 1).
fn audio_selector(n: u32) -> String {
    format!("Audio Selector {n}")
}

/// The `n`th captions selector (from 1).
fn caption_selector(n: usize) -> String {
    format!("Captions Selector {n}")
}

/// Longest `sourceKey` carried in the job's user metadata; a longer key is
/// left out there (the job claim and the logs keep it).
pub const MAX_METADATA_KEY_BYTES: usize = 256;

/// One job to run: everything that depends on the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Idempotency token (`ClientRequestToken`), 64 hex characters.
    pub token: String,
    pub video_id: VideoId,
    /// `s3://bucket/key` of the upload, key as stored.
    pub source_uri: String,
    /// `s3://media/videos/ID/master`: the master becomes `master.m3u8`.
    pub destination: String,
    /// `UserMetadata`: `videoId`, `sourceKey`, `sourceBucket`, `stack`.
    pub metadata: BTreeMap<String, String>,
    /// How the ladder is encrypted, when it is.
    pub encryption: Option<crate::key::JobEncryption>,
    /// The audio streams and caption files the job takes.
    pub plan: Plan,
}

/// Runs transcoding jobs. `MediaConvert` in AWS; a local transcoder in dev.
pub trait Transcoder: Send + Sync {
    /// Submits `job`; answers the job id.
    fn submit(&self, job: &JobSpec) -> impl Future<Output = Result<String, CallError>> + Send;

    /// The language code of each audio stream of `source_uri`, in the
    /// container's order (`None`: the container does not say).
    fn probe(
        &self,
        source_uri: &str,
    ) -> impl Future<Output = Result<Vec<Option<String>>, CallError>> + Send;
}

/// `MediaConvert` on its regional endpoint, with our role, queue and ladder.
#[derive(Debug, Clone)]
pub struct MediaConvert {
    client: aws_sdk_mediaconvert::Client,
    pub role_arn: String,
    pub queue_arn: Option<String>,
    pub status_update_seconds: u32,
    pub ladder: LadderSettings,
    pub tracks: TrackSettings,
}

impl MediaConvert {
    pub fn new(
        client: aws_sdk_mediaconvert::Client,
        config: &crate::config::Config,
    ) -> MediaConvert {
        MediaConvert {
            client,
            role_arn: config.role_arn.clone(),
            queue_arn: config.queue_arn.clone(),
            status_update_seconds: config.status_update_seconds,
            ladder: config.ladder.clone(),
            tracks: config.tracks.clone(),
        }
    }

    /// The whole `CreateJob` request for `job`, ready to send.
    pub fn request(&self, job: &JobSpec) -> CreateJobFluentBuilder {
        let interval = format!("SECONDS_{}", self.status_update_seconds);
        self.client
            .create_job()
            .role(&self.role_arn)
            .set_queue(self.queue_arn.clone())
            .client_request_token(&job.token)
            .set_user_metadata(Some(job.metadata.clone().into_iter().collect()))
            .status_update_interval(StatusUpdateInterval::from(interval.as_str()))
            .settings(job_settings(job, &self.ladder, &self.tracks))
    }
}

impl Transcoder for MediaConvert {
    async fn submit(&self, job: &JobSpec) -> Result<String, CallError> {
        let out = self
            .request(job)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(out
            .job()
            .and_then(|j| j.id())
            .unwrap_or_default()
            .to_string())
    }

    /// `Probe`, with the function's own credentials (it reads the upload
    /// itself, so the function's role needs `s3:GetObject` on it).
    async fn probe(&self, source_uri: &str) -> Result<Vec<Option<String>>, CallError> {
        let out = self
            .client
            .probe()
            .input_files(ProbeInputFile::builder().file_url(source_uri).build())
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        let tracks = out
            .probe_results()
            .first()
            .and_then(|r| r.container())
            .map(|c| c.tracks())
            .unwrap_or_default();
        Ok(tracks
            .iter()
            .filter(|t| t.track_type() == Some(&TrackType::Audio))
            .map(|t| {
                t.audio_properties()
                    .and_then(|a| a.language_code())
                    .map(str::to_string)
            })
            .collect())
    }
}

/// The job's settings: one input (its audio streams and caption files as
/// selectors), the HLS output group, and the poster's frame capture.
pub fn job_settings(
    job: &JobSpec,
    encoding: &LadderSettings,
    tracks: &TrackSettings,
) -> JobSettings {
    let plan = &job.plan;
    let mut input = Input::builder()
        .file_input(&job.source_uri)
        .video_selector(VideoSelector::builder().build())
        .timecode_source(InputTimecodeSource::Zerobased);
    if plan.audio.is_empty() {
        input = input.audio_selectors(
            audio_selector(1),
            AudioSelector::builder()
                .default_selection(AudioDefaultSelection::Default)
                .build(),
        );
    }
    for a in &plan.audio {
        input = input.audio_selectors(
            audio_selector(a.stream),
            AudioSelector::builder()
                .selector_type(AudioSelectorType::Track)
                .tracks(a.stream as i32)
                .default_selection(if a.stream == 1 {
                    AudioDefaultSelection::Default
                } else {
                    AudioDefaultSelection::NotDefault
                })
                .build(),
        );
    }
    for (i, c) in plan.captions.iter().enumerate() {
        input = input.caption_selectors(
            caption_selector(i + 1),
            selector_language(CaptionSelector::builder(), c.track.language.as_deref())
                .source_settings(
                    CaptionSourceSettings::builder()
                        .source_type(match c.format {
                            CaptionFormat::Vtt => CaptionSourceType::Webvtt,
                            CaptionFormat::Srt => CaptionSourceType::Srt,
                        })
                        .file_source_settings(
                            FileSourceSettings::builder()
                                .source_file(&c.source_uri)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        );
    }
    let mut settings = JobSettings::builder()
        .inputs(input.build())
        .output_groups(hls_group(job, encoding, tracks));
    if tracks.poster_seconds > 0 {
        settings = settings.output_groups(poster_group(job, tracks));
    }
    settings.build()
}

/// A caption selector's language: MediaConvert's enum value, or the
/// three-letter code it takes (never the two-letter tag: the whole job
/// would be refused).
fn selector_language(
    b: aws_sdk_mediaconvert::types::builders::CaptionSelectorBuilder,
    tag: Option<&str>,
) -> aws_sdk_mediaconvert::types::builders::CaptionSelectorBuilder {
    use crate::language::SelectorLanguage as L;
    match tag.and_then(crate::language::selector) {
        Some(L::Listed(code)) => b.language_code(code),
        Some(L::Custom(code)) => b.custom_language_code(code),
        None => b,
    }
}

/// `s3://media/videos/ID/poster`: the poster's file group destination.
pub fn poster_destination(job: &JobSpec) -> String {
    let folder = job
        .destination
        .rsplit_once('/')
        .map_or(job.destination.as_str(), |(f, _)| f);
    format!("{folder}/{POSTER_BASENAME}")
}

/// A file group with one frame capture: frame 0, then the frame at
/// `POSTER_SECONDS` (the poster), JPEG at the source's size.
fn poster_group(job: &JobSpec, tracks: &TrackSettings) -> OutputGroup {
    OutputGroup::builder()
        .name("File Group")
        .custom_name("poster")
        .output_group_settings(
            OutputGroupSettings::builder()
                .r#type(OutputGroupType::FileGroupSettings)
                .file_group_settings(
                    FileGroupSettings::builder()
                        .destination(poster_destination(job))
                        .build(),
                )
                .build(),
        )
        .outputs(
            Output::builder()
                .container_settings(
                    ContainerSettings::builder()
                        .container(ContainerType::Raw)
                        .build(),
                )
                .video_description(
                    VideoDescription::builder()
                        .scaling_behavior(ScalingBehavior::Default)
                        .codec_settings(
                            VideoCodecSettings::builder()
                                .codec(VideoCodec::FrameCapture)
                                .frame_capture_settings(
                                    FrameCaptureSettings::builder()
                                        .framerate_numerator(1)
                                        .framerate_denominator(tracks.poster_seconds as i32)
                                        .max_captures(POSTER_CAPTURES)
                                        .quality(POSTER_QUALITY)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
}

fn hls_group(job: &JobSpec, encoding: &LadderSettings, tracks: &TrackSettings) -> OutputGroup {
    let mut settings = HlsGroupSettings::builder()
        .destination(&job.destination)
        .segment_length(encoding.segment_seconds as i32)
        .min_segment_length(0)
        // Segments end on GOP boundaries: every rendition cuts at the same
        // instants, so players switch cleanly.
        .segment_length_control(HlsSegmentLengthControl::GopMultiple)
        .segment_control(HlsSegmentControl::SegmentedFiles)
        .directory_structure(HlsDirectoryStructure::SingleDirectory)
        .manifest_duration_format(HlsManifestDurationFormat::FloatingPoint)
        .manifest_compression(HlsManifestCompression::None)
        .output_selection(HlsOutputSelection::ManifestsAndSegments)
        .stream_inf_resolution(HlsStreamInfResolution::Include)
        .codec_specification(HlsCodecSpecification::Rfc4281)
        .client_cache(HlsClientCache::Enabled)
        .program_date_time(HlsProgramDateTime::Exclude)
        .timed_metadata_id3_frame(HlsTimedMetadataId3Frame::None)
        .caption_language_setting(HlsCaptionLanguageSetting::Omit)
        .set_encryption(
            job.encryption
                .as_ref()
                .map(|e| encryption(e, job.video_id.as_str())),
        );
    if !job.plan.captions.is_empty() {
        // WebVTT segments as long as the video's, so a player fetches
        // captions as it fetches pictures.
        settings =
            settings.caption_segment_length_control(HlsCaptionSegmentLengthControl::MatchVideo);
    }
    if tracks.thumbnails {
        // One JPEG per thumbnail (1x1 tiles), every THUMBNAIL_SECONDS, at
        // THUMBNAIL_WIDTH and the picture's aspect ratio: the Roku image
        // playlist a seek bar can use without cutting tiles.
        settings = settings
            .image_based_trick_play(HlsImageBasedTrickPlay::Advanced)
            .image_based_trick_play_settings(
                HlsImageBasedTrickPlaySettings::builder()
                    .interval_cadence(HlsIntervalCadence::FollowCustom)
                    .thumbnail_interval(f64::from(tracks.thumbnail_seconds))
                    .thumbnail_width(tracks.thumbnail_width as i32)
                    .tile_width(1)
                    .tile_height(1)
                    .build(),
            );
    }
    let group = OutputGroup::builder()
        .name("Apple HLS")
        .custom_name("hlsgate")
        .output_group_settings(
            OutputGroupSettings::builder()
                .r#type(OutputGroupType::HlsGroupSettings)
                .hls_group_settings(settings.build())
                .build(),
        );
    let picture =
        |name: &str, video: VideoDescription| picture_output(name, video, job, encoding, tracks);
    let group = match &encoding.abr {
        Abr::Ladder(rungs) => rungs.iter().fold(group, |g, rung| {
            g.outputs(picture(
                &rung_name(rung, rungs),
                self::video(Some(rung), encoding),
            ))
        }),
        Abr::Auto {
            max_renditions,
            min_bitrate,
            max_bitrate,
        } => group
            .automated_encoding_settings(
                AutomatedEncodingSettings::builder()
                    .abr_settings(
                        AutomatedAbrSettings::builder()
                            .max_renditions(*max_renditions as i32)
                            .min_abr_bitrate(*min_bitrate as i32)
                            .max_abr_bitrate(*max_bitrate as i32)
                            .build(),
                    )
                    .build(),
            )
            .outputs(picture("_abr", self::video(None, encoding))),
    };
    let group = if job.plan.audio_group() {
        job.plan
            .audio
            .iter()
            .fold(group, |g, a| g.outputs(audio_output(a, encoding)))
    } else {
        group
    };
    job.plan
        .captions
        .iter()
        .enumerate()
        .fold(group, |g, (i, c)| g.outputs(caption_output(i + 1, c)))
        .build()
}

/// `_audio_2_fr`: an audio rendition's name modifier.
pub fn audio_name(a: &AudioTrack) -> String {
    match &a.track.language {
        Some(l) => format!("_audio_{}_{}", a.stream, l.to_ascii_lowercase()),
        None => format!("_audio_{}", a.stream),
    }
}

/// `_subtitles_1_en`: a subtitle rendition's name modifier.
pub fn caption_name(n: usize, c: &Caption) -> String {
    let lang = c.track.language.as_deref().unwrap_or("und");
    format!("_subtitles_{n}_{}", lang.to_ascii_lowercase())
}
/// The group's encryption. The IV is left to follow the segment's media
/// sequence number (HLS's rule when no IV is given, unique per segment of a
/// rendition) and written into each `EXT-X-KEY`, so no player has to infer
/// it.
///
/// - Static: AES-128 with the video's key in the job, the relative key URI
///   [`crate::key::ContentKey::uri`].
/// - SPEKE: the provider, the video id as `ResourceId`, one system id; the
///   provider's answer says the key URI (ours: the same relative one).
fn encryption(e: &crate::key::JobEncryption, video_id: &str) -> HlsEncryptionSettings {
    use crate::key::{Encryption, JobEncryption};
    let settings = HlsEncryptionSettings::builder()
        .initialization_vector_in_manifest(HlsInitializationVectorInManifest::Include);
    match e {
        JobEncryption::Static(key) => settings
            .encryption_method(HlsEncryptionType::Aes128)
            .r#type(HlsKeyProviderType::StaticKey)
            .static_key_provider(
                StaticKeyProvider::builder()
                    .static_key_value(key.hex())
                    .url(crate::key::ContentKey::uri())
                    .key_format("identity")
                    .key_format_versions("1")
                    .build(),
            )
            .build(),
        JobEncryption::Speke { method, provider } => settings
            .encryption_method(match method {
                Encryption::SampleAes => HlsEncryptionType::SampleAes,
                _ => HlsEncryptionType::Aes128,
            })
            .r#type(HlsKeyProviderType::Speke)
            .speke_key_provider(
                SpekeKeyProvider::builder()
                    .resource_id(video_id)
                    .set_system_ids(Some(provider.system_ids.clone()))
                    .url(&provider.url)
                    .set_certificate_arn(provider.certificate_arn.clone())
                    .build(),
            )
            .build(),
    }
}

/// `_720p`; `_720p_3500k` when two rungs share a height.
pub fn rung_name(rung: &Rung, ladder: &[Rung]) -> String {
    let shared = ladder.iter().filter(|r| r.height == rung.height).count() > 1;
    if shared {
        format!("_{}p_{}k", rung.height, rung.max_bitrate / 1000)
    } else {
        format!("_{}p", rung.height)
    }
}
