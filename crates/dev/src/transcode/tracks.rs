//! What MediaConvert adds to the ladder besides the renditions, made with
//! ffmpeg: WebVTT subtitle renditions (ffmpeg's HLS WebVTT segmenter),
//! I-frame playlists (byte ranges of each keyframe in the rendition's own
//! segments, found with ffprobe), image thumbnails (the `fps` and `scale`
//! filters, listed in the Roku image playlist MediaConvert writes), the
//! poster, and the master that names them all as MediaConvert's does.

use std::fmt::Write as _;

use hlsgate_mediaconvert_jobs::tracks::TrackSettings;

use super::*;

/// The subtitle group's `GROUP-ID`, as MediaConvert names it.
pub const SUBTITLE_GROUP: &str = "subs";

/// An `EXT-X-I-FRAME-STREAM-INF` to add to the master.
#[derive(Debug, Clone, PartialEq)]
pub struct IFrameInf {
    pub uri: String,
    pub bandwidth: u64,
    pub resolution: (u32, u32),
}

/// The `EXT-X-IMAGE-STREAM-INF` of the thumbnails.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInf {
    pub uri: String,
    pub bandwidth: u64,
    pub resolution: (u32, u32),
}

/// One video packet of a segment, as ffprobe lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packet {
    pub pts: f64,
    pub pos: u64,
    pub keyframe: bool,
}

/// A rendition's segment and its video packets.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPackets {
    pub uri: String,
    pub duration: f64,
    pub size: u64,
    pub packets: Vec<Packet>,
}

/// Runs ffmpeg to the end. Failing to start it is ours (1999); ffmpeg's
/// refusal is the input's (1010), `what` then the last lines of its errors.
async fn run_ffmpeg(
    tools: &Tools,
    args: &[String],
    what: impl FnOnce(&str) -> String,
) -> Result<(), JobFailure> {
    let out = tokio::process::Command::new(&tools.ffmpeg)
        .args(["-hide_banner", "-nostdin", "-y", "-loglevel", "error"])
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            JobFailure::internal(format!("cannot start {}: {e}", tools.ffmpeg.display()))
        })?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(2).collect();
    let tail = tail.into_iter().rev().collect::<Vec<_>>().join(" / ");
    Err(JobFailure::input(what(&tail)))
}

fn strings<const N: usize>(a: [&str; N]) -> Vec<String> {
    a.map(String::from).to_vec()
}

/// Each caption file as a WebVTT rendition: ffmpeg's HLS muxer segments it
/// against a tiny video with keyframes every segment, so the subtitle
/// segments are as long as the video's; only the WebVTT playlist and
/// segments are kept. Answers each rendition's playlist name.
pub(crate) async fn captions(
    tools: &Tools,
    s3: &aws_sdk_s3::Client,
    spec: &JobSpec,
    source: &Path,
    dir: &Path,
    basename: &str,
    segment_seconds: u32,
) -> Result<Vec<String>, JobFailure> {
    // The job's outputs, as run_job lays them out.
    let out_dir = &dir.join("out");
    let mut playlists = Vec::new();
    for (i, c) in spec.plan.captions.iter().enumerate() {
        let n = i + 1;
        let failed = |e: &dyn std::fmt::Display| {
            JobFailure::input(format!(
                "Caption file [{}] could not be used: {e}",
                c.source_uri
            ))
        };
        let (bucket, key) = split_s3_uri(&c.source_uri).ok_or_else(|| failed(&"bad URI"))?;
        let file = dir.join(format!("caption_{n}.{}", c.format));
        download(s3, bucket, key, &file)
            .await
            .map_err(|e| failed(&e))?;
        let work = dir.join(format!("caption_{n}"));
        tokio::fs::create_dir_all(&work)
            .await
            .map_err(|e| JobFailure::internal(e.to_string()))?;
        let name = caption_name(n, c);
        let name = name.trim_start_matches('_');
        let mut args = vec!["-i".to_string(), source.display().to_string()];
        args.extend(["-i".to_string(), file.display().to_string()]);
        args.extend(strings([
            "-map",
            "0:v:0",
            "-map",
            "1:s:0",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-vf",
            "scale=64:-2",
            "-sc_threshold",
            "0",
            "-c:s",
            "webvtt",
            "-f",
            "hls",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_type",
            "mpegts",
            "-start_number",
            "1",
        ]));
        args.extend([
            "-force_key_frames".to_string(),
            format!("expr:gte(t,n_forced*{segment_seconds})"),
            "-hls_time".to_string(),
            segment_seconds.to_string(),
            "-master_pl_name".to_string(),
            "unused.m3u8".to_string(),
            "-hls_segment_filename".to_string(),
            work.join("unused_%05d.ts").display().to_string(),
            "-var_stream_map".to_string(),
            format!("v:0,s:0,sgroup:{SUBTITLE_GROUP},name:{name}"),
            work.join(format!("{basename}_%v.m3u8"))
                .display()
                .to_string(),
        ]);
        run_ffmpeg(tools, &args, |e| failed(&e).message).await?;
        let playlist = format!("{basename}_{name}_vtt.m3u8");
        let mut kept = 0;
        for entry in std::fs::read_dir(&work).map_err(|e| JobFailure::internal(e.to_string()))? {
            let path = entry
                .map_err(|e| JobFailure::internal(e.to_string()))?
                .path();
            let file_name = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file_name == playlist || file_name.ends_with(".vtt") {
                tokio::fs::rename(&path, out_dir.join(&file_name))
                    .await
                    .map_err(|e| JobFailure::internal(e.to_string()))?;
                kept += 1;
            }
        }
        if kept < 2 {
            return Err(failed(&"ffmpeg wrote no WebVTT segments"));
        }
        playlists.push(playlist);
    }
    Ok(playlists)
}

/// `(uri, duration)` of each segment of a media playlist.
pub fn media_segments(playlist: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut duration = None;
    for line in playlist.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            duration = d.split(',').next().and_then(|d| d.parse::<f64>().ok());
        } else if !line.is_empty() && !line.starts_with('#') {
            out.push((line.to_string(), duration.take().unwrap_or(0.0)));
        }
    }
    out
}

/// ffprobe's `pts_time,size,pos,flags` lines of one segment's video.
pub fn parse_packets(csv: &str) -> Vec<Packet> {
    csv.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            Some(Packet {
                pts: f.first()?.parse().ok()?,
                pos: f.get(2)?.parse().ok()?,
                keyframe: f.get(3)?.starts_with('K'),
            })
        })
        .collect()
}

/// The I-frame playlist of a rendition: one entry per keyframe, a byte
/// range of its segment from the keyframe's first TS packet to the next
/// video packet, lasting until the next keyframe. Answers the playlist and
/// its peak bandwidth.
pub fn iframe_playlist(segments: &[SegmentPackets]) -> (String, u64) {
    let mut entries = Vec::new();
    let mut peak = 0u64;
    for s in segments {
        let start = s.packets.first().map_or(0.0, |p| p.pts);
        let keys: Vec<usize> = (0..s.packets.len())
            .filter(|&i| s.packets[i].keyframe)
            .collect();
        for (k, &i) in keys.iter().enumerate() {
            let p = s.packets[i];
            let end_pos = s.packets.get(i + 1).map_or(s.size, |n| n.pos);
            let end_time = keys
                .get(k + 1)
                .map_or(s.duration, |&j| s.packets[j].pts - start);
            let duration = (end_time - (p.pts - start)).max(0.001);
            let len = end_pos.saturating_sub(p.pos);
            peak = peak.max((len as f64 * 8.0 / duration) as u64);
            entries.push((duration, len, p.pos, s.uri.clone()));
        }
    }
    let target = entries.iter().map(|e| e.0).fold(1.0f64, f64::max).ceil() as u64;
    let mut out = format!(
        "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:1\n\
         #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n"
    );
    for (d, len, pos, uri) in entries {
        let _ = write!(
            out,
            "#EXTINF:{d:.5},\n#EXT-X-BYTERANGE:{len}@{pos}\n{uri}\n"
        );
    }
    out.push_str("#EXT-X-ENDLIST\n");
    (out, peak)
}

/// Writes `STEM_I-Frame.m3u8` beside each rendition `STEM.m3u8`.
pub(crate) async fn iframes(
    tools: &Tools,
    out_dir: &Path,
    renditions: &[(String, u32, u32)],
) -> Result<Vec<IFrameInf>, JobFailure> {
    let mut infs = Vec::new();
    for (stem, width, height) in renditions {
        let text = tokio::fs::read_to_string(out_dir.join(format!("{stem}.m3u8")))
            .await
            .map_err(|e| JobFailure::internal(format!("{stem}.m3u8: {e}")))?;
        let mut segments = Vec::new();
        for (uri, duration) in media_segments(&text) {
            let path = out_dir.join(&uri);
            let out = tokio::process::Command::new(&tools.ffprobe)
                .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
                .arg("packet=pts_time,size,pos,flags")
                .args(["-of", "csv=p=0"])
                .arg(&path)
                .stdin(Stdio::null())
                .output()
                .await
                .map_err(|e| JobFailure::internal(format!("ffprobe: {e}")))?;
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            segments.push(SegmentPackets {
                uri,
                duration,
                size,
                packets: parse_packets(&String::from_utf8_lossy(&out.stdout)),
            });
        }
        let (playlist, bandwidth) = iframe_playlist(&segments);
        let uri = format!("{stem}_I-Frame.m3u8");
        tokio::fs::write(out_dir.join(&uri), playlist)
            .await
            .map_err(|e| JobFailure::output(e.to_string()))?;
        infs.push(IFrameInf {
            uri,
            bandwidth,
            resolution: (*width, *height),
        });
    }
    Ok(infs)
}

/// The thumbnails' height: the picture's aspect ratio at `width`, even.
pub fn thumbnail_height(width: u32, source: (u32, u32)) -> u32 {
    let (w, h) = source;
    if w == 0 || h == 0 {
        return width * 9 / 16 / 2 * 2;
    }
    let exact = f64::from(width) * f64::from(h) / f64::from(w);
    ((exact / 2.0).round() as u32 * 2).max(2)
}

/// The Roku image playlist MediaConvert writes for 1x1 tiles.
pub fn image_playlist(
    files: &[String],
    every: u32,
    duration: f64,
    resolution: (u32, u32),
) -> String {
    let mut out = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:{every}\n#EXT-X-VERSION:7\n#EXT-X-MEDIA-SEQUENCE:1\n\
         #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-IMAGES-ONLY\n"
    );
    for (i, f) in files.iter().enumerate() {
        let start = i as f64 * f64::from(every);
        let d = (duration - start).min(f64::from(every));
        if d <= 0.05 {
            break;
        }
        let _ = write!(
            out,
            "#EXTINF:{d:.3},\n#EXT-X-TILES:RESOLUTION={}x{},LAYOUT=1x1,DURATION={d:.3}\n{f}\n",
            resolution.0, resolution.1
        );
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// One JPEG every `THUMBNAIL_SECONDS` at `THUMBNAIL_WIDTH`, and their
/// image playlist `BASENAME_thumbnails.m3u8`.
pub(crate) async fn thumbnails(
    tools: &Tools,
    source: &Path,
    out_dir: &Path,
    basename: &str,
    settings: &TrackSettings,
    probe: &Probe,
) -> Result<ImageInf, JobFailure> {
    let width = settings.thumbnail_width;
    let height = thumbnail_height(width, (probe.width, probe.height));
    let mut args = vec!["-i".to_string(), source.display().to_string()];
    args.extend([
        "-an".to_string(),
        "-vf".to_string(),
        format!(
            "fps=1/{},scale={width}:{height}",
            settings.thumbnail_seconds
        ),
        "-q:v".to_string(),
        "5".to_string(),
        "-start_number".to_string(),
        "1".to_string(),
        out_dir
            .join(format!("{basename}_thumbnails_%05d.jpg"))
            .display()
            .to_string(),
    ]);
    run_ffmpeg(tools, &args, |e| format!("Thumbnails: {e}")).await?;
    let prefix = format!("{basename}_thumbnails_");
    let mut files: Vec<String> = std::fs::read_dir(out_dir)
        .map_err(|e| JobFailure::internal(e.to_string()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".jpg"))
        .collect();
    files.sort();
    let mut bytes = 0;
    for f in &files {
        bytes = bytes.max(std::fs::metadata(out_dir.join(f)).map_or(0, |m| m.len()));
    }
    let uri = format!("{basename}_thumbnails.m3u8");
    let text = image_playlist(
        &files,
        settings.thumbnail_seconds,
        probe.duration_ms as f64 / 1000.0,
        (width, height),
    );
    tokio::fs::write(out_dir.join(&uri), text)
        .await
        .map_err(|e| JobFailure::output(e.to_string()))?;
    Ok(ImageInf {
        uri,
        bandwidth: (bytes * 8).div_ceil(u64::from(settings.thumbnail_seconds)),
        resolution: (width, height),
    })
}

/// The frame at `POSTER_SECONDS` (the first frame of a shorter video), named
/// as MediaConvert's frame capture names it. Answers the file name.
pub(crate) async fn poster(
    tools: &Tools,
    source: &Path,
    out_dir: &Path,
    settings: &TrackSettings,
    probe: &Probe,
) -> Result<String, JobFailure> {
    let at = u64::from(settings.poster_seconds);
    let (at, n) = if probe.duration_ms > at * 1000 {
        (at, 1)
    } else {
        (0, 0)
    };
    let name = format!(
        "{}.{n:07}.jpg",
        hlsgate_mediaconvert_jobs::job::POSTER_BASENAME
    );
    let mut args = vec!["-ss".to_string(), at.to_string()];
    args.extend(["-i".to_string(), source.display().to_string()]);
    args.extend(strings(["-frames:v", "1", "-q:v", "3"]));
    args.push(out_dir.join(&name).display().to_string());
    run_ffmpeg(tools, &args, |e| format!("Frame capture: {e}")).await?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iframe_playlists_cover_each_keyframe() {
        let csv = "1.400000,9048,564,K_\n1.480000,4432,9964,__\n3.400000,8000,40000,K_\n3.480000,100,52000,__\n";
        let packets = parse_packets(csv);
        assert_eq!(packets.len(), 4);
        assert!(packets[0].keyframe && !packets[1].keyframe);
        let (p, peak) = iframe_playlist(&[SegmentPackets {
            uri: "master_360p_00001.ts".into(),
            duration: 4.0,
            size: 60000,
            packets,
        }]);
        assert_eq!(
            p,
            "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n\
             #EXTINF:2.00000,\n#EXT-X-BYTERANGE:9400@564\nmaster_360p_00001.ts\n\
             #EXTINF:2.00000,\n#EXT-X-BYTERANGE:12000@40000\nmaster_360p_00001.ts\n#EXT-X-ENDLIST\n"
        );
        assert_eq!(peak, 48_000);
        assert_eq!(
            media_segments("#EXTM3U\n#EXTINF:4.0,\na.ts\n#EXTINF:1.5,\nb.ts\n"),
            [("a.ts".to_string(), 4.0), ("b.ts".to_string(), 1.5)]
        );
    }

    #[test]
    fn image_playlists_are_roku_shaped() {
        assert_eq!(thumbnail_height(312, (640, 360)), 176);
        assert_eq!(thumbnail_height(312, (1920, 1080)), 176);
        let p = image_playlist(
            &[
                "t_00001.jpg".into(),
                "t_00002.jpg".into(),
                "t_00003.jpg".into(),
            ],
            2,
            4.02,
            (312, 176),
        );
        assert_eq!(
            p,
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-VERSION:7\n#EXT-X-MEDIA-SEQUENCE:1\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-IMAGES-ONLY\n\
             #EXTINF:2.000,\n#EXT-X-TILES:RESOLUTION=312x176,LAYOUT=1x1,DURATION=2.000\nt_00001.jpg\n\
             #EXTINF:2.000,\n#EXT-X-TILES:RESOLUTION=312x176,LAYOUT=1x1,DURATION=2.000\nt_00002.jpg\n\
             #EXT-X-ENDLIST\n"
        );
    }
}
