//! The transcoding job: what we ask for ([`JobSpec`]), the [`Transcoder`]
//! trait that runs it, and the `MediaConvert` adapter that turns the spec and
//! the configured ladder into a `CreateJob` request built from the SDK's
//! types.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_mediaconvert::operation::create_job::builders::CreateJobFluentBuilder;
use aws_sdk_mediaconvert::types::{
    AacCodecProfile, AacCodingMode, AacRateControlMode, AacSettings, AudioCodec,
    AudioCodecSettings, AudioDefaultSelection, AudioDescription, AudioSelector,
    AutomatedAbrSettings, AutomatedEncodingSettings, ContainerSettings, ContainerType,
    H264CodecLevel, H264CodecProfile, H264FramerateControl, H264GopSizeUnits, H264InterlaceMode,
    H264ParControl, H264QualityTuningLevel, H264QvbrSettings, H264RateControlMode,
    H264SceneChangeDetect, H264Settings, HlsCaptionLanguageSetting, HlsClientCache,
    HlsCodecSpecification, HlsDirectoryStructure, HlsEncryptionSettings, HlsEncryptionType,
    HlsGroupSettings, HlsInitializationVectorInManifest, HlsKeyProviderType,
    HlsManifestCompression, HlsManifestDurationFormat, HlsOutputSelection, HlsProgramDateTime,
    HlsSegmentControl, HlsSegmentLengthControl, HlsStreamInfResolution, HlsTimedMetadataId3Frame,
    Input, InputTimecodeSource, JobSettings, Output, OutputGroup, OutputGroupSettings,
    OutputGroupType, ScalingBehavior, StaticKeyProvider, StatusUpdateInterval, VideoCodec,
    VideoCodecSettings, VideoDescription, VideoSelector,
};
use hlsgate_aws::CallError;
use hlsgate_core::video::VideoId;

use crate::config::{Abr, LadderSettings, Rung};

/// The master playlist's name without `.m3u8`: `MediaConvert` names the HLS
/// group's master after the destination's last segment.
pub const MASTER_BASENAME: &str = "master";

/// The audio selector every output reads.
const AUDIO_SELECTOR: &str = "Audio Selector 1";

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
    /// The video's AES-128 key, with `ENCRYPTION=aes-128`.
    pub key: Option<crate::key::ContentKey>,
}

/// Runs transcoding jobs. `MediaConvert` in AWS; a local transcoder in dev.
pub trait Transcoder: Send + Sync {
    /// Submits `job`; answers the job id.
    fn submit(&self, job: &JobSpec) -> impl Future<Output = Result<String, CallError>> + Send;
}

/// `MediaConvert` on its regional endpoint, with our role, queue and ladder.
#[derive(Debug, Clone)]
pub struct MediaConvert {
    client: aws_sdk_mediaconvert::Client,
    pub role_arn: String,
    pub queue_arn: Option<String>,
    pub status_update_seconds: u32,
    pub ladder: LadderSettings,
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
            .settings(job_settings(job, &self.ladder))
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
}

/// The job's settings: one input, one HLS output group.
pub fn job_settings(job: &JobSpec, encoding: &LadderSettings) -> JobSettings {
    let input = Input::builder()
        .file_input(&job.source_uri)
        .audio_selectors(
            AUDIO_SELECTOR,
            AudioSelector::builder()
                .default_selection(AudioDefaultSelection::Default)
                .build(),
        )
        .video_selector(VideoSelector::builder().build())
        .timecode_source(InputTimecodeSource::Zerobased)
        .build();
    JobSettings::builder()
        .inputs(input)
        .output_groups(hls_group(job, encoding))
        .build()
}

fn hls_group(job: &JobSpec, encoding: &LadderSettings) -> OutputGroup {
    let settings = HlsGroupSettings::builder()
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
        .set_encryption(job.key.as_ref().map(encryption))
        .build();
    let group = OutputGroup::builder()
        .name("Apple HLS")
        .custom_name("hlsgate")
        .output_group_settings(
            OutputGroupSettings::builder()
                .r#type(OutputGroupType::HlsGroupSettings)
                .hls_group_settings(settings)
                .build(),
        );
    match &encoding.abr {
        Abr::Ladder(rungs) => rungs
            .iter()
            .fold(group, |g, rung| {
                g.outputs(output(
                    &rung_name(rung, rungs),
                    video(Some(rung), encoding),
                    encoding,
                ))
            })
            .build(),
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
            .outputs(output("_abr", video(None, encoding), encoding))
            .build(),
    }
}

/// AES-128 with the video's static key. The IV is left to follow the
/// segment's media sequence number (HLS's rule when no IV is given, unique
/// per segment of a rendition) and written into each `EXT-X-KEY`, so no
/// player has to infer it.
fn encryption(key: &crate::key::ContentKey) -> HlsEncryptionSettings {
    HlsEncryptionSettings::builder()
        .encryption_method(HlsEncryptionType::Aes128)
        .r#type(HlsKeyProviderType::StaticKey)
        .initialization_vector_in_manifest(HlsInitializationVectorInManifest::Include)
        .static_key_provider(
            StaticKeyProvider::builder()
                .static_key_value(key.hex())
                .url(crate::key::ContentKey::uri())
                .key_format("identity")
                .key_format_versions("1")
                .build(),
        )
        .build()
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

fn output(name_modifier: &str, video: VideoDescription, encoding: &LadderSettings) -> Output {
    let audio = AudioDescription::builder()
        .audio_source_name(AUDIO_SELECTOR)
        .codec_settings(
            AudioCodecSettings::builder()
                .codec(AudioCodec::Aac)
                .aac_settings(
                    AacSettings::builder()
                        .bitrate(encoding.audio_bitrate as i32)
                        .coding_mode(AacCodingMode::CodingMode20)
                        .sample_rate(48_000)
                        .codec_profile(AacCodecProfile::Lc)
                        .rate_control_mode(AacRateControlMode::Cbr)
                        .build(),
                )
                .build(),
        )
        .build();
    Output::builder()
        .name_modifier(name_modifier)
        .container_settings(
            ContainerSettings::builder()
                .container(ContainerType::M3U8)
                .build(),
        )
        .video_description(video)
        .audio_descriptions(audio)
        .build()
}

/// H.264 QVBR: a rung's size, ceiling and quality; or, for automated ABR,
/// no size (`MediaConvert` picks the renditions) and multi-pass.
fn video(rung: Option<&Rung>, encoding: &LadderSettings) -> VideoDescription {
    let qvbr = match rung {
        Some(r) => H264QvbrSettings::builder()
            .qvbr_quality_level(r.quality as i32)
            .build(),
        None => H264QvbrSettings::builder().build(),
    };
    let h264 = H264Settings::builder()
        .rate_control_mode(H264RateControlMode::Qvbr)
        .qvbr_settings(qvbr)
        .set_max_bitrate(rung.map(|r| r.max_bitrate as i32))
        .codec_profile(H264CodecProfile::High)
        .codec_level(H264CodecLevel::Auto)
        .quality_tuning_level(if rung.is_some() {
            H264QualityTuningLevel::SinglePassHq
        } else {
            H264QualityTuningLevel::MultiPassHq
        })
        // A keyframe every GOP_SECONDS, closed GOPs, and scene-change
        // keyframes that do not shift the cadence: segments of every
        // rendition start on the same frame.
        .gop_size(f64::from(encoding.gop_seconds))
        .gop_size_units(H264GopSizeUnits::Seconds)
        .gop_closed_cadence(1)
        .scene_change_detect(H264SceneChangeDetect::TransitionDetection)
        .interlace_mode(H264InterlaceMode::Progressive)
        .framerate_control(H264FramerateControl::InitializeFromSource)
        .par_control(H264ParControl::InitializeFromSource)
        .build();
    VideoDescription::builder()
        .set_width(rung.map(|r| r.width as i32))
        .set_height(rung.map(|r| r.height as i32))
        .scaling_behavior(ScalingBehavior::Default)
        .codec_settings(
            VideoCodecSettings::builder()
                .codec(VideoCodec::H264)
                .h264_settings(h264)
                .build(),
        )
        .build()
}
