//! The jobs ladder as ffmpeg arguments, and what ffprobe says of an input.

use super::*;

/// The ffmpeg command line for a ladder: one H.264 rendition per rung
/// (`rung_name` names, capped CRF standing in for QVBR), AAC stereo in each,
/// keyframes every `gop_seconds` and nowhere else, MPEG-TS segments of
/// `segment_seconds` numbered from 1, and the master `BASENAME.m3u8`; with
/// `key_info` (ffmpeg's key info file: the key URI, the key file), every
/// segment AES-128 encrypted, as MediaConvert does with the key it got.
pub fn ffmpeg_args(
    source: &Path,
    out_dir: &Path,
    basename: &str,
    rungs: &[Rung],
    encoding: &LadderSettings,
    audio: Audio<'_>,
    key_info: Option<&Path>,
) -> Vec<String> {
    let group: &[AudioTrack] = match audio {
        Audio::Group(g) => g,
        _ => &[],
    };
    let muxed = audio == Audio::Muxed;
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
        if muxed {
            a.extend(["-map".to_string(), "0:a:0".to_string()]);
        }
    }
    for t in group {
        a.extend(["-map".to_string(), format!("0:a:{}", t.stream - 1)]);
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
    if audio != Audio::Silent {
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
    let mut map: Vec<String> = rungs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = rung_name(r, rungs);
            let name = name.trim_start_matches('_');
            if muxed {
                format!("v:{i},a:{i},name:{name}")
            } else if group.is_empty() {
                format!("v:{i},name:{name}")
            } else {
                format!("v:{i},agroup:{AUDIO_GROUP},name:{name}")
            }
        })
        .collect();
    for (k, t) in group.iter().enumerate() {
        let name = audio_name(t);
        map.push(format!(
            "a:{k},agroup:{AUDIO_GROUP},name:{}",
            name.trim_start_matches('_')
        ));
    }
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
    ]);
    if let Some(info) = key_info {
        a.extend(["-hls_key_info_file".to_string(), info.display().to_string()]);
    }
    a.extend([
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

/// Where a ladder's audio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audio<'a> {
    /// The source has none.
    Silent,
    /// Its first stream, in every video rendition.
    Muxed,
    /// Several streams: an audio group, the video renditions silent.
    Group(&'a [AudioTrack]),
}

impl Audio<'_> {
    pub fn of(has_audio: bool, plan: &Plan) -> Audio<'_> {
        match (has_audio, plan.audio_group()) {
            (false, _) => Audio::Silent,
            (true, false) => Audio::Muxed,
            (true, true) => Audio::Group(&plan.audio),
        }
    }
}

/// What ffprobe says of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub duration_ms: u64,
    pub has_audio: bool,
    /// The language tag of each audio stream, in order.
    pub audio_languages: Vec<Option<String>>,
    /// The first video stream's size.
    pub width: u32,
    pub height: u32,
}

pub(crate) async fn probe(tools: &Tools, source: &Path) -> Result<Probe, DevError> {
    let out = tokio::process::Command::new(&tools.ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,width,height:stream_tags=language",
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
    let streams = v["streams"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let kinds: Vec<&str> = streams
        .iter()
        .filter_map(|s| s["codec_type"].as_str())
        .collect();
    let picture = streams.iter().find(|s| s["codec_type"] == "video");
    let size = |k: &str| picture.and_then(|p| p[k].as_u64()).unwrap_or(0) as u32;
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
        audio_languages: streams
            .iter()
            .filter(|s| s["codec_type"] == "audio")
            .map(|s| s["tags"]["language"].as_str().map(str::to_string))
            .collect(),
        width: size("width"),
        height: size("height"),
    })
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
            Audio::Muxed,
            None,
        );
        let joined = a.join(" ");
        assert!(!joined.contains("-hls_key_info_file"));
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
            Audio::Silent,
            Some(Path::new("/job/key-info")),
        );
        assert!(
            silent
                .join(" ")
                .contains("-hls_key_info_file /job/key-info")
        );
        assert!(!silent.iter().any(|s| s == "0:a:0" || s == "-c:a"));
        assert!(
            silent
                .join(" ")
                .contains("v:0,name:360p_800k v:1,name:360p_500k")
        );
    }

    #[test]
    fn two_audio_streams_become_an_audio_group() {
        let enc = encoding("640x360@800k,256x144@200k");
        let Abr::Ladder(rungs) = &enc.abr else {
            unreachable!()
        };
        let track = |stream: u32, lang: &str| hlsgate_mediaconvert_jobs::tracks::AudioTrack {
            stream,
            track: hlsgate_core::tracks::Track {
                language: Some(lang.into()),
                name: lang.into(),
                default: stream == 1,
            },
        };
        let plan = Plan {
            audio: vec![track(1, "eng"), track(2, "fra")],
            captions: vec![],
        };
        let a = ffmpeg_args(
            Path::new("/in"),
            Path::new("/out"),
            "master",
            rungs,
            &enc,
            Audio::of(true, &plan),
            None,
        );
        let joined = a.join(" ");
        assert!(
            joined.contains("-map [v1] -map 0:a:0 -map 0:a:1 -c:v"),
            "{joined}"
        );
        assert!(
            joined.contains(
                "v:0,agroup:audio,name:360p v:1,agroup:audio,name:144p \
                 a:0,agroup:audio,name:audio_1_eng a:1,agroup:audio,name:audio_2_fra"
            ),
            "{joined}"
        );
    }

    #[test]
    fn probes() {
        let p = parse_probe(
            br#"{"streams":[{"codec_type":"video","width":640,"height":360},{"codec_type":"audio","tags":{"language":"eng"}},{"codec_type":"audio"}],"format":{"duration":"12.0215"}}"#,
        )
        .unwrap();
        assert_eq!(
            p,
            Probe {
                duration_ms: 12_022,
                has_audio: true,
                audio_languages: vec![Some("eng".into()), None],
                width: 640,
                height: 360,
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
}
