//! The local transcoder's master playlist: ffmpeg's, made MediaConvert's.

use hlsgate_mediaconvert_jobs::tracks::Caption;

use super::*;

/// ffmpeg's master, made MediaConvert's: its `EXT-X-MEDIA` lines replaced
/// by the plan's (names, languages, `DEFAULT`/`AUTOSELECT`), the variants
/// pointed at the audio group and the subtitle group, then the I-frame and
/// image streams.
pub fn master(
    ffmpeg: &str,
    plan: &Plan,
    basename: &str,
    subtitles: &[String],
    iframes: &[IFrameInf],
    image: Option<&ImageInf>,
) -> String {
    let yes = |b: bool| if b { "YES" } else { "NO" };
    let mut media = Vec::new();
    if plan.audio_group() {
        for a in &plan.audio {
            let lang = a
                .track
                .language
                .as_ref()
                .map(|l| format!(",LANGUAGE=\"{l}\""))
                .unwrap_or_default();
            media.push(format!(
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP}\"{lang},NAME=\"{}\",AUTOSELECT=YES,DEFAULT={},CHANNELS=\"2\",URI=\"{basename}{}.m3u8\"",
                a.track.name,
                yes(a.track.default),
                audio_name(a)
            ));
        }
    }
    let captions: &[Caption] = &plan.captions;
    for (c, uri) in captions.iter().zip(subtitles) {
        let lang = c.track.language.as_deref().unwrap_or("und");
        media.push(format!(
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{SUBTITLE_GROUP}\",LANGUAGE=\"{lang}\",NAME=\"{}\",AUTOSELECT=YES,DEFAULT={},FORCED=NO,URI=\"{uri}\"",
            c.track.name,
            yes(c.track.default)
        ));
    }
    let mut out = Vec::new();
    let mut media_written = false;
    for line in ffmpeg.lines() {
        if line.starts_with("#EXT-X-MEDIA:") || line.trim().is_empty() {
            continue;
        }
        if line.starts_with("#EXT-X-VERSION:") && !iframes.is_empty() {
            out.push("#EXT-X-VERSION:4".to_string());
            continue;
        }
        if let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            if !media_written {
                out.append(&mut media);
                media_written = true;
            }
            // ffmpeg's group attributes go; ours are appended. (Splitting on
            // commas also splits CODECS="a,b", which the join puts back.)
            let kept: Vec<&str> = attrs
                .split(',')
                .filter(|a| !a.starts_with("AUDIO=") && !a.starts_with("SUBTITLES="))
                .collect();
            let mut attrs = vec![kept.join(",")];
            if plan.audio_group() {
                attrs.push(format!("AUDIO=\"{AUDIO_GROUP}\""));
            }
            if !subtitles.is_empty() {
                attrs.push(format!("SUBTITLES=\"{SUBTITLE_GROUP}\""));
            }
            out.push(format!("#EXT-X-STREAM-INF:{}", attrs.join(",")));
            continue;
        }
        out.push(line.to_string());
    }
    for i in iframes {
        out.push(format!(
            "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={},RESOLUTION={}x{},URI=\"{}\"",
            i.bandwidth.max(1),
            i.resolution.0,
            i.resolution.1,
            i.uri
        ));
    }
    if let Some(i) = image {
        out.push(format!(
            "#EXT-X-IMAGE-STREAM-INF:BANDWIDTH={},RESOLUTION={}x{},CODECS=\"jpeg\",URI=\"{}\"",
            i.bandwidth.max(1),
            i.resolution.0,
            i.resolution.1,
            i.uri
        ));
    }
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use hlsgate_core::tracks::{CaptionFormat, Track};

    fn track(lang: &str, name: &str, default: bool) -> Track {
        Track {
            language: Some(lang.into()),
            name: name.into(),
            default,
        }
    }

    #[test]
    fn the_master_names_the_groups_and_trick_play() {
        let ffmpeg = "#EXTM3U\n#EXT-X-VERSION:3\n\
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_audio\",NAME=\"audio_2\",DEFAULT=YES,LANGUAGE=\"eng\",URI=\"master_audio_1_eng.m3u8\"\n\
            #EXT-X-STREAM-INF:BANDWIDTH=75900,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"group_audio\"\n\
            master_360p.m3u8\n\n";
        let plan = Plan {
            audio: vec![
                AudioTrack {
                    stream: 1,
                    track: track("eng", "English", true),
                },
                AudioTrack {
                    stream: 2,
                    track: track("fra", "Français", false),
                },
            ],
            captions: vec![Caption {
                source_uri: "s3://in/uploads/a.en.vtt".into(),
                format: CaptionFormat::Vtt,
                track: track("en", "English", false),
            }],
        };
        let m = master(
            ffmpeg,
            &plan,
            "master",
            &["master_subtitles_1_en_vtt.m3u8".into()],
            &[IFrameInf {
                uri: "master_360p_I-Frame.m3u8".into(),
                bandwidth: 9000,
                resolution: (640, 360),
            }],
            Some(&ImageInf {
                uri: "master_thumbnails.m3u8".into(),
                bandwidth: 800,
                resolution: (312, 176),
            }),
        );
        assert_eq!(
            m,
            "#EXTM3U\n#EXT-X-VERSION:4\n\
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",LANGUAGE=\"eng\",NAME=\"English\",AUTOSELECT=YES,DEFAULT=YES,CHANNELS=\"2\",URI=\"master_audio_1_eng.m3u8\"\n\
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",LANGUAGE=\"fra\",NAME=\"Français\",AUTOSELECT=YES,DEFAULT=NO,CHANNELS=\"2\",URI=\"master_audio_2_fra.m3u8\"\n\
            #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"en\",NAME=\"English\",AUTOSELECT=YES,DEFAULT=NO,FORCED=NO,URI=\"master_subtitles_1_en_vtt.m3u8\"\n\
            #EXT-X-STREAM-INF:BANDWIDTH=75900,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"audio\",SUBTITLES=\"subs\"\n\
            master_360p.m3u8\n\
            #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=9000,RESOLUTION=640x360,URI=\"master_360p_I-Frame.m3u8\"\n\
            #EXT-X-IMAGE-STREAM-INF:BANDWIDTH=800,RESOLUTION=312x176,CODECS=\"jpeg\",URI=\"master_thumbnails.m3u8\"\n"
        );
        // The rewriter's parser reads it, and the core parser agrees.
        assert!(m3u8_rs::parse_master_playlist_res(m.as_bytes()).is_ok());
    }
}
