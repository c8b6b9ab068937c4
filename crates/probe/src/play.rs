//! The player's path: the master, every playlist it names, the key, and
//! segments of every rendition, as hls.js or AVPlayer would fetch them.

use std::time::Duration;

use hlsgate_core::hls::{Rewriter, UriSource};
use hlsgate_core::signing::Delivery;
use http::{HeaderName, StatusCode, header};
use url::Url;

use crate::client::Fetched;
use crate::report::{Check, Part, Problem};
use crate::session::{Playback, cache_control, never_cached, status_line};
use crate::{Probe, Segments, explain, signature};

/// The media types a playlist may be served as (RFC 8216 §4 and what
/// players accept).
const PLAYLIST_TYPES: [&str; 4] = [
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "audio/mpegurl",
    "audio/x-mpegurl",
];

/// What the walk found, for the attacker's tries.
#[derive(Clone, Default)]
pub struct Walk {
    /// A segment's URL as the playlist names it (signed in URL mode).
    pub segment: Option<String>,
    /// The key's URL, when the ladder is encrypted.
    pub key: Option<String>,
}

/// A playlist fetched.
struct Playlist {
    url: String,
    answer: Fetched,
}

/// One thing to fetch from a media playlist.
#[derive(Clone)]
struct Fetch {
    url: String,
    /// `EXT-X-BYTERANGE`: (offset, length).
    range: Option<(u64, u64)>,
}

/// Whether an answer is a playlist: its type and its first line.
fn is_playlist(answer: &Fetched) -> bool {
    let ct = answer.header(header::CONTENT_TYPE);
    let ct = ct.split(';').next().unwrap_or("").trim();
    let body = answer
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&answer.body);
    PLAYLIST_TYPES.iter().any(|t| t.eq_ignore_ascii_case(ct)) && body.starts_with(b"#EXTM3U")
}

/// One of the indexes `segments` asks for out of `n`.
fn sample(n: usize, segments: Segments) -> Vec<usize> {
    match (segments, n) {
        (_, 0) => vec![],
        (Segments::All, n) => (0..n).collect(),
        (Segments::Sample, n) => {
            let mut v = vec![0, n / 2, n - 1];
            v.dedup();
            v
        }
    }
}

impl Probe<'_> {
    fn play_cookies(&self, playback: &Playback) -> Option<String> {
        (playback.mode == Delivery::Cookies).then(|| self.cookie_header().unwrap_or_default())
    }

    /// A refused signed request: its check failed with the explanation.
    fn refused(&self, check: Check, answer: &Fetched, url: &str, cookie: Option<&str>) -> Check {
        if answer.status == StatusCode::NOT_FOUND {
            return check.fail(Problem::NotFound, status_line(answer));
        }
        if answer.status != StatusCode::FORBIDDEN {
            return check.fail(Problem::BadStatus, status_line(answer));
        }
        let (problem, why) = explain::refusal(
            answer,
            explain::Presented { url, cookie },
            self.opts.keys.as_ref(),
            crate::now(),
            &self.redact,
        );
        check.fail(problem, status_line(answer)).why(why)
    }

    /// [`refused`](Self::refused) for one of a check's many URLs: `got`
    /// says which.
    fn refused_at(&self, check: Check, answer: &Fetched, url: &str, cookie: Option<&str>) -> Check {
        let c = self.refused(check, answer, url, cookie);
        Check {
            got: format!("{}: {}", self.redact.url(url), c.got),
            ..c
        }
    }

    /// The player's path.
    pub async fn play(&mut self, playback: &Playback) -> Walk {
        let mut walk = Walk::default();
        let cookies = self.play_cookies(playback);
        let master_url = playback.answer.manifest_url.clone();
        let check = Check::new("play.master", Part::Play, "200, an HLS playlist");
        let master = match self.fetch(&master_url, cookies.as_deref(), &[]).await {
            Err(e) => {
                self.push(check.fail(Problem::Unreachable, e.to_string()));
                return walk;
            }
            Ok(a) if !a.ok() => {
                let c = self.refused(check, &a, &master_url, cookies.as_deref());
                self.push(c);
                return walk;
            }
            Ok(a) if !is_playlist(&a) => {
                self.push(check.fail(
                    Problem::NotAPlaylist,
                    format!("{}, {}", a.status.as_u16(), a.header(header::CONTENT_TYPE)),
                ));
                return walk;
            }
            Ok(a) => a,
        };
        self.timings.first_playlist = Some(master.elapsed);
        self.push(check.pass(format!(
            "200 in {} ms, {} bytes",
            master.elapsed.as_millis(),
            master.body.len()
        )));
        // Twice: a signed playlist must never come from a cache.
        let again = self.fetch(&master_url, cookies.as_deref(), &[]).await.ok();
        let mut served = vec![Playlist {
            url: master_url.clone(),
            answer: master,
        }];
        self.no_store("play.master.no-store", &served, again.as_ref());
        self.cors(
            "play.master.cors",
            &master_url,
            &served[0].answer,
            playback.mode,
        );

        // The playlists the master names (or the master itself, when it is
        // a media playlist).
        // The video's folder: what the signature's policy and the cookies'
        // path cover.
        let folder = Url::parse(&master_url)
            .ok()
            .and_then(|u| u.path().rsplit_once('/').map(|(f, _)| format!("{f}/")))
            .unwrap_or_else(|| "/".into());
        let listed = self.uris("play.master.uris", &served, playback.mode, &folder);
        let children: Vec<String> = dedup(
            listed
                .iter()
                .filter(|(s, _)| s.is_playlist())
                .map(|(_, u)| u.clone()),
        );
        let media: Vec<Playlist> =
            if children.is_empty() {
                std::mem::take(&mut served)
            } else {
                let check = Check::new(
                    "play.playlists",
                    Part::Play,
                    format!("{} playlists: 200, HLS", children.len()),
                );
                let mut fetched = Vec::new();
                let mut failed: Option<Check> = None;
                for url in &children {
                    match self.fetch(url, cookies.as_deref(), &[]).await {
                        Ok(a) if a.ok() && is_playlist(&a) => fetched.push(Playlist {
                            url: url.clone(),
                            answer: a,
                        }),
                        Ok(a) if a.ok() => {
                            failed.get_or_insert_with(|| {
                                check.clone().fail(
                                    Problem::NotAPlaylist,
                                    format!(
                                        "{}: {}",
                                        self.redact.url(url),
                                        a.header(header::CONTENT_TYPE)
                                    ),
                                )
                            });
                        }
                        Ok(a) => {
                            failed.get_or_insert_with(|| {
                                self.refused_at(check.clone(), &a, url, cookies.as_deref())
                            });
                        }
                        Err(e) => {
                            failed.get_or_insert_with(|| {
                                check.clone().fail(Problem::Unreachable, e.to_string())
                            });
                        }
                    }
                }
                self.push(failed.unwrap_or_else(|| {
                    check.pass(format!("{} of {}", fetched.len(), children.len()))
                }));
                if !fetched.is_empty() {
                    self.no_store("play.playlists.no-store", &fetched, None);
                }
                fetched
            };
        if media.is_empty() {
            return walk;
        }
        let listed = if children.is_empty() {
            listed
        } else {
            self.uris("play.playlists.uris", &media, playback.mode, &folder)
        };

        // The key.
        let keys: Vec<String> = dedup(
            listed
                .iter()
                .filter(|(s, u)| {
                    matches!(s, UriSource::Key | UriSource::SessionKey) && u.starts_with("http")
                })
                .map(|(_, u)| u.clone()),
        );
        self.key(&keys, cookies.as_deref()).await;
        walk.key = keys.first().cloned();

        // Segments.
        let parts: Vec<Fetch> = media
            .iter()
            .flat_map(|p| segments_of(p, self.opts.segments))
            .collect();
        walk.segment = parts
            .iter()
            .find(|p| p.range.is_none())
            .or(parts.first())
            .map(|p| p.url.clone());
        self.segments(&parts, cookies.as_deref()).await;
        if let Some(first) = parts.iter().find(|p| p.range.is_none()) {
            self.range(&first.url.clone(), cookies.as_deref()).await;
        } else {
            self.push(
                Check::new("play.range", Part::Play, "206 for a range request")
                    .skip("every segment was fetched with its own byte range"),
            );
        }
        walk
    }

    /// `Cache-Control: no-store` on every playlist, none from a cache.
    fn no_store(&mut self, id: &'static str, playlists: &[Playlist], again: Option<&Fetched>) {
        let check = Check::new(
            id,
            Part::Play,
            "Cache-Control: private, no-store; never from a cache",
        );
        let cacheable = playlists.iter().find(|p| !never_cached(&p.answer));
        let hit = playlists
            .iter()
            .map(|p| &p.answer)
            .chain(again)
            // `Hit` or `RefreshHit from cloudfront`: kept in its cache.
            .find(|a| a.header("x-cache").to_ascii_lowercase().contains("hit"));
        self.push(match (cacheable, hit) {
            (Some(p), _) => check
                .fail(Problem::PlaylistCacheable, cache_control(&p.answer))
                .why(vec![format!(
                    "{} may be kept by CloudFront or a proxy and served to anyone with the URL",
                    self.redact.url(&p.url)
                )]),
            (None, Some(a)) => check.fail(
                Problem::PlaylistFromCache,
                format!("X-Cache: {}", a.header("x-cache")),
            ),
            (None, None) => check.pass(cache_control(&playlists[0].answer)),
        });
    }

    /// Every URI of `playlists` checked: signed (URL mode) and on the
    /// playlist's origin, or inside `folder`, the master's, which the
    /// cookies cover (cookie mode). Returns them resolved.
    fn uris(
        &mut self,
        id: &'static str,
        playlists: &[Playlist],
        mode: Delivery,
        folder: &str,
    ) -> Vec<(UriSource, String)> {
        let mut out = Vec::new();
        let mut problems: Vec<(Problem, String)> = Vec::new();
        let mut total = 0;
        for p in playlists {
            let Ok(base) = Url::parse(&p.url) else {
                continue;
            };
            let listed = match Rewriter::list(&p.answer.body) {
                Ok(l) => l,
                Err(e) => {
                    problems.push((
                        Problem::NotAPlaylist,
                        format!("{}: {e}", self.redact.url(&p.url)),
                    ));
                    continue;
                }
            };
            for u in listed {
                total += 1;
                let Ok(resolved) = base.join(&u.uri) else {
                    problems.push((
                        Problem::UriOtherOrigin,
                        format!("line {}: not a URL", u.line),
                    ));
                    continue;
                };
                if !matches!(resolved.scheme(), "http" | "https") {
                    // data:, skd:// (a DRM vendor's key): not ours to sign.
                    continue;
                }
                let shown = format!(
                    "{} line {} ({})",
                    self.redact.url(&p.url),
                    u.line,
                    u.source.as_str()
                );
                if resolved.origin() != base.origin() {
                    problems.push((
                        Problem::UriOtherOrigin,
                        format!("{shown}: {}", self.redact.url(resolved.as_str())),
                    ));
                } else if mode == Delivery::Url {
                    let f = signature::found_in_url(resolved.as_str());
                    if !signature::complete(&f) {
                        problems.push((
                            Problem::UriUnsigned,
                            format!("{shown}: {}", self.redact.url(resolved.as_str())),
                        ));
                    }
                } else if !resolved.path().starts_with(folder) {
                    problems.push((
                        Problem::UriOutsideFolder,
                        format!("{shown}: {}", resolved.path()),
                    ));
                }
                out.push((u.source, resolved.to_string()));
            }
        }
        let expected = match mode {
            Delivery::Url => "every URI signed, on the playlist's origin",
            Delivery::Cookies => "every URI in the folder, on the playlist's origin",
        };
        let check = Check::new(id, Part::Play, expected);
        self.push(match problems.first() {
            None => check.pass(format!("{total} URIs")),
            Some((problem, _)) => check
                .fail(*problem, format!("{} of {total} URIs", problems.len()))
                .why(problems.iter().take(5).map(|(_, s)| s.clone()).collect()),
        });
        out
    }

    /// The ladder's key: 200, 16 bytes, never cached.
    async fn key(&mut self, keys: &[String], cookies: Option<&str>) {
        let check = Check::new(
            "play.key",
            Part::Play,
            "200, 16 bytes, Cache-Control: no-store",
        );
        let Some(url) = keys.first() else {
            self.push(check.skip("not encrypted (no EXT-X-KEY with an http(s) URI)"));
            return;
        };
        let c = match self.fetch(url, cookies, &[]).await {
            Err(e) => check.fail(Problem::Unreachable, e.to_string()),
            Ok(a) if !a.ok() => self.refused(check, &a, url, cookies),
            Ok(a) if a.body.len() != hlsgate_core::video::KEY_BYTES => {
                check.fail(Problem::KeyInvalid, format!("200, {} bytes", a.body.len()))
            }
            Ok(a) if !never_cached(&a) => check.fail(Problem::AnswerCacheable, cache_control(&a)),
            Ok(a) => check.pass(format!("200, 16 bytes, {}", cache_control(&a))),
        };
        self.push(c);
    }

    /// The sampled segments: 200, or 206 with the bytes asked for.
    async fn segments(&mut self, parts: &[Fetch], cookies: Option<&str>) {
        let check = Check::new(
            "play.segments",
            Part::Play,
            format!("{} segments: 200 (206 for byte ranges)", parts.len()),
        );
        if parts.is_empty() {
            self.push(check.skip("no segments in the playlists"));
            return;
        }
        let mut failed: Option<Check> = None;
        let mut ttfb = Vec::with_capacity(parts.len());
        for part in parts {
            let extra: Vec<(HeaderName, String)> = part
                .range
                .map(|(o, n)| {
                    vec![(
                        header::RANGE,
                        format!("bytes={o}-{}", o.saturating_add(n.max(1) - 1)),
                    )]
                })
                .unwrap_or_default();
            match self.fetch(&part.url, cookies, &extra).await {
                Ok(a) if a.ok() => {
                    ttfb.push(a.ttfb);
                    if let Some((_, n)) = part.range
                        && (a.status != StatusCode::PARTIAL_CONTENT || a.body.len() as u64 != n)
                    {
                        failed.get_or_insert_with(|| {
                            check.clone().fail(
                                Problem::RangeIgnored,
                                format!(
                                    "{}: {} with {} bytes for a {n}-byte range",
                                    self.redact.url(&part.url),
                                    a.status.as_u16(),
                                    a.body.len()
                                ),
                            )
                        });
                    }
                }
                Ok(a) => {
                    failed.get_or_insert_with(|| {
                        self.refused_at(check.clone(), &a, &part.url, cookies)
                    });
                }
                Err(e) => {
                    failed.get_or_insert_with(|| {
                        check.clone().fail(Problem::Unreachable, e.to_string())
                    });
                }
            }
        }
        self.timings.segments_fetched = ttfb.len();
        self.timings.segment_ttfb_p50 = crate::report::p50(ttfb);
        let p50 = self.timings.segment_ttfb_p50.unwrap_or(Duration::ZERO);
        self.push(failed.unwrap_or_else(|| {
            check.pass(format!(
                "{} fetched, time to first byte p50 {} ms",
                parts.len(),
                p50.as_millis()
            ))
        }));
    }

    /// A range request on a whole segment: players (AVPlayer) send them.
    async fn range(&mut self, url: &str, cookies: Option<&str>) {
        let check = Check::new("play.range", Part::Play, "206 with bytes 0-99");
        let extra = [(header::RANGE, "bytes=0-99".to_string())];
        let c = match self.fetch(url, cookies, &extra).await {
            Err(e) => check.fail(Problem::Unreachable, e.to_string()),
            Ok(a)
                if a.status == StatusCode::PARTIAL_CONTENT
                    && a.body.len() <= 100
                    && a.header(header::CONTENT_RANGE).starts_with("bytes 0-") =>
            {
                check.pass(format!("206, {}", a.header(header::CONTENT_RANGE)))
            }
            Ok(a) if a.ok() => check.fail(
                Problem::RangeIgnored,
                format!("{} with {} bytes", a.status.as_u16(), a.body.len()),
            ),
            Ok(a) => self.refused(check, &a, url, cookies),
        };
        self.push(c);
    }
}

/// The parts of a media playlist to fetch: its first init section, and
/// the sampled segments, with their byte ranges.
fn segments_of(p: &Playlist, which: Segments) -> Vec<Fetch> {
    let Ok(base) = Url::parse(&p.url) else {
        return vec![];
    };
    let Ok(parsed) = m3u8_rs::parse_media_playlist_res(&p.answer.body) else {
        return vec![];
    };
    let resolve = |u: &str| {
        base.join(u)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let mut out = Vec::new();
    if let Some(map) = parsed.segments.iter().find_map(|s| s.map.as_ref())
        && let Some(url) = resolve(&map.uri)
    {
        out.push(Fetch {
            url: url.to_string(),
            range: map
                .byte_range
                .as_ref()
                .map(|r| (r.offset.unwrap_or(0), r.length)),
        });
    }
    // A byte range without an offset starts where the previous one ended.
    let mut ranges = Vec::with_capacity(parsed.segments.len());
    let mut next = 0u64;
    for s in &parsed.segments {
        ranges.push(s.byte_range.as_ref().map(|r| {
            let o = r.offset.unwrap_or(next);
            next = o.saturating_add(r.length);
            (o, r.length)
        }));
    }
    for i in sample(parsed.segments.len(), which) {
        if let Some(url) = resolve(&parsed.segments[i].uri) {
            out.push(Fetch {
                url: url.to_string(),
                range: ranges[i],
            });
        }
    }
    out
}

fn dedup(urls: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    urls.filter(|u| seen.insert(u.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playlist(text: &str) -> Playlist {
        Playlist {
            url: "https://d.example/videos/a/high.m3u8?Policy=p".into(),
            answer: Fetched {
                status: StatusCode::OK,
                headers: http::HeaderMap::new(),
                body: bytes::Bytes::from(text.to_string()),
                ttfb: Duration::ZERO,
                elapsed: Duration::ZERO,
            },
        }
    }

    #[test]
    fn byte_ranges_follow_on_and_the_map_comes_first() {
        let p = playlist(
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"700@0\"\n\
             #EXTINF:4,\n#EXT-X-BYTERANGE:1000@700\nall.mp4\n#EXTINF:4,\n#EXT-X-BYTERANGE:500\nall.mp4\n\
             #EXTINF:4,\n#EXT-X-BYTERANGE:18446744073709551615@18446744073709551615\nall.mp4\n\
             #EXTINF:4,\n#EXT-X-BYTERANGE:10\nall.mp4\n#EXT-X-ENDLIST\n",
        );
        let fetches = segments_of(&p, Segments::All);
        let ranges: Vec<Option<(u64, u64)>> = fetches.iter().map(|f| f.range).collect();
        assert_eq!(
            ranges,
            vec![
                Some((0, 700)),
                Some((700, 1000)),
                Some((1700, 500)),
                Some((u64::MAX, u64::MAX)),
                Some((u64::MAX, 10)),
            ]
        );
        assert_eq!(fetches[0].url, "https://d.example/videos/a/init.mp4");
    }

    #[test]
    fn first_middle_last() {
        assert_eq!(sample(0, Segments::Sample), Vec::<usize>::new());
        assert_eq!(sample(1, Segments::Sample), vec![0]);
        assert_eq!(sample(2, Segments::Sample), vec![0, 1]);
        assert_eq!(sample(7, Segments::Sample), vec![0, 3, 6]);
        assert_eq!(sample(3, Segments::All), vec![0, 1, 2]);
    }
}
