//! The HLS group's outputs: the picture renditions, the audio group's
//! renditions, the WebVTT subtitle renditions, and their codec settings.

use super::*;

/// AAC stereo from audio selector `stream`, labelled with the track's
/// language and name when it has them.
pub(super) fn aac(
    stream: u32,
    track: Option<&hlsgate_core::tracks::Track>,
    encoding: &LadderSettings,
) -> AudioDescription {
    let language = track.and_then(|t| t.language.clone());
    let mut d = AudioDescription::builder()
        .audio_source_name(audio_selector(stream))
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
        );
    if let Some(t) = track.filter(|t| stream_name_ok(&t.name)) {
        d = d.stream_name(&t.name);
    }
    if language.is_some() {
        d = d
            .set_custom_language_code(language)
            .language_code_control(AudioLanguageCodeControl::UseConfigured);
    }
    d.build()
}

/// `AudioDescription.StreamName` is `^[\w\s]*$` in MediaConvert's model,
/// with Java's ASCII `\w`: `Français (CA)` would make the service refuse the
/// whole job. Such a name is left out of the job (MediaConvert names the
/// rendition); `playback.json` and the issuer's answer keep it for menus.
pub(super) fn stream_name_ok(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b" \t\n\x0b\x0c\r".contains(&b))
}

pub(super) fn m3u8() -> ContainerSettings {
    ContainerSettings::builder()
        .container(ContainerType::M3U8)
        .build()
}

/// A video rendition: its audio muxed in (one stream), or pointing at the
/// audio group (several); an I-frame playlist beside it with
/// `TRICK_PLAY=iframes`.
pub(super) fn picture_output(
    name_modifier: &str,
    video: VideoDescription,
    job: &JobSpec,
    encoding: &LadderSettings,
    tracks: &TrackSettings,
) -> Output {
    let mut hls = HlsSettings::builder().i_frame_only_manifest(if tracks.iframes {
        HlsIFrameOnlyManifest::Include
    } else {
        HlsIFrameOnlyManifest::Exclude
    });
    let mut out = Output::builder()
        .name_modifier(name_modifier)
        .container_settings(m3u8())
        .video_description(video);
    if job.plan.audio_group() {
        hls = hls.audio_rendition_sets(AUDIO_GROUP);
    } else {
        let only = job.plan.audio.first();
        out = out.audio_descriptions(aac(1, only.map(|a| &a.track), encoding));
    }
    out.output_settings(OutputSettings::builder().hls_settings(hls.build()).build())
        .build()
}

/// One rendition of the audio group: `EXT-X-MEDIA TYPE=AUDIO`, the default
/// one `DEFAULT=YES`, every one `AUTOSELECT=YES`.
pub(super) fn audio_output(a: &AudioTrack, encoding: &LadderSettings) -> Output {
    Output::builder()
        .name_modifier(audio_name(a))
        .container_settings(m3u8())
        .audio_descriptions(aac(a.stream, Some(&a.track), encoding))
        .output_settings(
            OutputSettings::builder()
                .hls_settings(
                    HlsSettings::builder()
                        .audio_group_id(AUDIO_GROUP)
                        .audio_only_container(HlsAudioOnlyContainer::Automatic)
                        .audio_track_type(if a.track.default {
                            HlsAudioTrackType::AlternateAudioAutoSelectDefault
                        } else {
                            HlsAudioTrackType::AlternateAudioAutoSelect
                        })
                        .build(),
                )
                .build(),
        )
        .build()
}

/// One WebVTT subtitle rendition (`EXT-X-MEDIA TYPE=SUBTITLES`) from
/// captions selector `n`.
pub(super) fn caption_output(n: usize, c: &Caption) -> Output {
    Output::builder()
        .name_modifier(caption_name(n, c))
        .container_settings(m3u8())
        .caption_descriptions(
            CaptionDescription::builder()
                .caption_selector_name(caption_selector(n))
                .set_custom_language_code(
                    c.track
                        .language
                        .as_deref()
                        .map(crate::language::caption_description),
                )
                .language_description(&c.track.name)
                .destination_settings(
                    CaptionDestinationSettings::builder()
                        .destination_type(CaptionDestinationType::Webvtt)
                        .webvtt_destination_settings(WebvttDestinationSettings::builder().build())
                        .build(),
                )
                .build(),
        )
        .build()
}

/// H.264 QVBR: a rung's size, ceiling and quality; or, for automated ABR,
/// no size (`MediaConvert` picks the renditions) and multi-pass.
pub(super) fn video(rung: Option<&Rung>, encoding: &LadderSettings) -> VideoDescription {
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
