//! The scanner: one pass over the playlist bytes, copying every byte it does
//! not change and inserting query parameters into the URIs it finds.
//!
//! The output is the input with insertions (and, where a URI already carries
//! one of our parameter names, that value replaced). Nothing is parsed into a
//! structure and written back, so tags, attributes, comments, blank lines,
//! line endings and a missing final newline all come out as they went in.

use std::io::{self, Write};
use std::ops::Range;
use std::sync::LazyLock;

use memchr::memchr;

use super::uri::UriShape;
use thiserror::Error;
use url::Url;

use super::query::QueryParams;
use super::report::{Report, SkipReason, Tally, UriSource};

/// Input limits. A playlist over either is refused rather than half-served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest playlist accepted, in bytes.
    pub max_input_bytes: usize,
    /// Most URIs (signed and skipped) accepted in one playlist.
    pub max_uris: usize,
}

impl Limits {
    /// 16 MiB and 100,000 URIs: about 13× the largest real VOD playlist we
    /// know (40,001 segments in 1.2 MB), yet small enough that the output of a
    /// full-size playlist fits comfortably in memory.
    pub const DEFAULT: Limits = Limits {
        max_input_bytes: 16 * 1024 * 1024,
        max_uris: 100_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a playlist could not be rewritten. After an error, whatever
/// [`Rewriter::rewrite_to`] already wrote is incomplete and must be discarded.
#[derive(Debug, Error)]
pub enum RewriteError {
    #[error("the playlist is empty; it must start with #EXTM3U")]
    Empty,
    #[error("the playlist is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the playlist has more than {limit} URIs (limit reached at line {line})")]
    TooManyUris { limit: usize, line: usize },
    #[error("the playlist starts with a UTF-8 byte order mark; RFC 8216 §4 forbids one")]
    Bom,
    #[error("the first line must be #EXTM3U (RFC 8216 §4.3.1.1), but it is {found:?}")]
    NoHeader { found: String },
    #[error("line {line}: {tag} URI is not valid UTF-8")]
    InvalidUtf8 { line: usize, tag: &'static str },
    #[error("writing the playlist: {0}")]
    Io(#[from] io::Error),
}

impl RewriteError {
    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::NoHeader { .. } | Self::Bom => Some(1),
            Self::TooManyUris { line, .. } | Self::InvalidUtf8 { line, .. } => Some(*line),
            Self::Empty | Self::TooLarge { .. } | Self::Io(_) => None,
        }
    }
}

/// The base URL given to [`Rewriter::base_url`] is not an http(s) URL with a
/// host.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("base URL {0:?} must be an absolute http:// or https:// URL with a host")]
pub struct BaseUrlError(pub String);

/// Signs every URI of a playlist with fixed parameter sets.
///
/// ```
/// use hlsgate_core::hls::{QueryParams, Rewriter};
/// let rw = Rewriter::new(QueryParams::parse("Policy=p&Signature=s&Key-Pair-Id=K").unwrap());
/// let (out, report) = rw.rewrite(b"#EXTM3U\n#EXTINF:4,\nseg1.ts\n").unwrap();
/// assert_eq!(out, b"#EXTM3U\n#EXTINF:4,\nseg1.ts?Policy=p&Signature=s&Key-Pair-Id=K\n");
/// assert_eq!(report.rewritten, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Rewriter {
    media: QueryParams,
    child: Option<QueryParams>,
    base: Base,
    sign_variable_uris: bool,
    limits: Limits,
}

impl Rewriter {
    /// A rewriter that gives `media` to every URI it signs. Without a base URL,
    /// only relative references are signed: a URI that could name a host
    /// (an absolute URL, `//host/…`, `\\host\…`) is left as it is.
    pub fn new(media: QueryParams) -> Self {
        Self {
            media,
            child: None,
            base: Base::Unknown,
            sign_variable_uris: false,
            limits: Limits::DEFAULT,
        }
    }

    /// The set for URIs the origin function serves and verifies: playlists
    /// (variant streams, renditions, I-frame and image streams, rendition
    /// reports, interstitial assets) and keys (`EXT-X-KEY`,
    /// `EXT-X-SESSION-KEY`), instead of the media set. It should be
    /// complete: it replaces the media set for those URIs, it is not added
    /// to it.
    pub fn child_params(mut self, child: QueryParams) -> Self {
        self.child = Some(child);
        self
    }

    /// The playlist's own URL, as the player fetched it. Every URI is resolved
    /// against it with the WHATWG URL parser, as players do, and signed only
    /// when the result has the same origin (scheme, host and port).
    pub fn base_url(mut self, base: &str) -> Result<Self, BaseUrlError> {
        let url = Url::parse(base).map_err(|_| BaseUrlError(base.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(BaseUrlError(base.to_string()));
        }
        self.base = Base::Playlist(url);
        Ok(self)
    }

    /// Also sign URIs holding `{$name}` variable references (off by default:
    /// once substituted they may point anywhere).
    pub fn sign_variable_uris(mut self, yes: bool) -> Self {
        self.sign_variable_uris = yes;
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Rewrites into a new buffer.
    pub fn rewrite(&self, input: &[u8]) -> Result<(Vec<u8>, Report), RewriteError> {
        let mut out = Vec::with_capacity(input.len() + input.len() / 2);
        let report = self.rewrite_to(input, &mut out)?;
        Ok((out, report))
    }

    /// Rewrites into `out`, writing unchanged runs straight from `input`: no
    /// second copy of the playlist is built. The limits and the header are
    /// checked before anything is written; a later error leaves `out` holding
    /// a partial playlist.
    pub fn rewrite_to<W: Write>(&self, input: &[u8], out: W) -> Result<Report, RewriteError> {
        self.scan(input, out, None)
    }

    /// Every URI of a playlist, in order, with the tag that carries it and
    /// its line, as the rewriter finds them (the same table of URI-bearing
    /// tags, the same limits); nothing is written. What a player would
    /// fetch, for tools that follow a playlist (`hlsgate probe`).
    pub fn uris(&self, input: &[u8]) -> Result<Vec<PlaylistUri>, RewriteError> {
        let mut found = Vec::new();
        self.scan(input, io::sink(), Some(&mut found))?;
        Ok(found)
    }

    /// [`Rewriter::uris`] without a rewriter of one's own.
    pub fn list(input: &[u8]) -> Result<Vec<PlaylistUri>, RewriteError> {
        static LISTER: LazyLock<Rewriter> = LazyLock::new(|| {
            // Listing writes nothing: the parameters are never used.
            Rewriter::new(
                QueryParams::parse("list=1").unwrap_or_else(|_| unreachable!("a valid query")),
            )
        });
        LISTER.uris(input)
    }

    fn scan<W: Write>(
        &self,
        input: &[u8],
        out: W,
        found: Option<&mut Vec<PlaylistUri>>,
    ) -> Result<Report, RewriteError> {
        if input.len() > self.limits.max_input_bytes {
            return Err(RewriteError::TooLarge {
                size: input.len(),
                limit: self.limits.max_input_bytes,
            });
        }
        check_header(input)?;
        let mut scan = Scan {
            rw: self,
            out: Out {
                input,
                w: out,
                cursor: 0,
                written: 0,
            },
            tally: Tally::default(),
            uris: 0,
            pending: None,
            line: 0,
            found,
        };
        // One SIMD search over the whole input rather than one per line:
        // lines are short, and a search's set-up is most of its cost there.
        let mut pos = 0;
        for end in memchr::memchr_iter(b'\n', input) {
            scan.line += 1;
            scan.line_at(pos, end)?;
            pos = end + 1;
        }
        if pos < input.len() {
            scan.line += 1;
            scan.line_at(pos, input.len())?;
        }
        let lines = scan.line;
        let written = scan.out.finish()?;
        Ok(scan.tally.finish(lines, input.len(), written))
    }
}

fn check_header(input: &[u8]) -> Result<(), RewriteError> {
    if input.is_empty() {
        return Err(RewriteError::Empty);
    }
    if input.starts_with(b"\xEF\xBB\xBF") {
        return Err(RewriteError::Bom);
    }
    let end = memchr(b'\n', input).unwrap_or(input.len());
    let first = &input[..end];
    if trim_end(first) == b"#EXTM3U" {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&first[..first.len().min(80)]).into_owned();
    Err(RewriteError::NoHeader { found: shown })
}

/// Which attributes of a tag hold URIs.
type UriAttrs = &'static [(&'static [u8], UriSource)];

/// What a tag tells: the kind of playlist it belongs to, and its URI attributes.
#[derive(Clone, Copy)]
enum Tag {
    /// A URI line follows.
    Announces(UriSource, Kind),
    Attrs(UriAttrs, Kind),
    Marks(Kind),
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Master,
    Media,
}

fn tag(name: &[u8]) -> Tag {
    use Kind::*;
    use UriSource as S;
    match name {
        b"#EXTINF" => Tag::Announces(S::Segment, Media),
        b"#EXT-X-STREAM-INF" => Tag::Announces(S::Variant, Master),
        b"#EXT-X-KEY" => Tag::Attrs(&[(b"URI", S::Key)], Media),
        b"#EXT-X-MAP" => Tag::Attrs(&[(b"URI", S::Map)], Media),
        b"#EXT-X-PART" => Tag::Attrs(&[(b"URI", S::Part)], Media),
        b"#EXT-X-PRELOAD-HINT" => Tag::Attrs(&[(b"URI", S::PreloadHint)], Media),
        b"#EXT-X-RENDITION-REPORT" => Tag::Attrs(&[(b"URI", S::RenditionReport)], Media),
        b"#EXT-X-DATERANGE" => Tag::Attrs(
            &[
                (b"X-ASSET-URI", S::AssetUri),
                (b"X-ASSET-LIST", S::AssetList),
            ],
            Media,
        ),
        b"#EXT-X-SESSION-KEY" => Tag::Attrs(&[(b"URI", S::SessionKey)], Master),
        b"#EXT-X-MEDIA" => Tag::Attrs(&[(b"URI", S::Media)], Master),
        b"#EXT-X-I-FRAME-STREAM-INF" => Tag::Attrs(&[(b"URI", S::IFrameStream)], Master),
        b"#EXT-X-IMAGE-STREAM-INF" => Tag::Attrs(&[(b"URI", S::ImageStream)], Master),
        b"#EXT-X-SESSION-DATA" => Tag::Attrs(&[(b"URI", S::SessionData)], Master),
        b"#EXT-X-CONTENT-STEERING" => Tag::Attrs(&[(b"SERVER-URI", S::SteeringServer)], Master),
        b"#EXT-X-TARGETDURATION"
        | b"#EXT-X-MEDIA-SEQUENCE"
        | b"#EXT-X-DISCONTINUITY-SEQUENCE"
        | b"#EXT-X-ENDLIST"
        | b"#EXT-X-PLAYLIST-TYPE"
        | b"#EXT-X-I-FRAMES-ONLY"
        | b"#EXT-X-PART-INF"
        | b"#EXT-X-SERVER-CONTROL"
        | b"#EXT-X-BYTERANGE"
        | b"#EXT-X-DISCONTINUITY"
        | b"#EXT-X-PROGRAM-DATE-TIME"
        | b"#EXT-X-GAP"
        | b"#EXT-X-BITRATE"
        | b"#EXT-X-SKIP" => Tag::Marks(Media),
        _ => Tag::Other,
    }
}

/// Copies `input` to `w`, applying edits in order.
struct Out<'a, W> {
    input: &'a [u8],
    w: W,
    /// Everything before this offset has been written.
    cursor: usize,
    written: usize,
}

impl<W: Write> Out<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)?;
        self.written += bytes.len();
        Ok(())
    }

    /// Replaces `range` of the input with `parts` (an empty range inserts).
    fn edit(&mut self, range: Range<usize>, parts: &[&[u8]]) -> io::Result<()> {
        debug_assert!(self.cursor <= range.start && range.start <= range.end);
        let input = self.input;
        self.put(&input[self.cursor..range.start])?;
        for part in parts {
            self.put(part)?;
        }
        self.cursor = range.end;
        Ok(())
    }

    fn finish(mut self) -> io::Result<usize> {
        let input = self.input;
        self.put(&input[self.cursor..])?;
        self.w.flush()?;
        Ok(self.written)
    }
}

struct Scan<'a, W> {
    rw: &'a Rewriter,
    out: Out<'a, W>,
    tally: Tally,
    uris: usize,
    /// The tag that announced the next URI line, if any.
    pending: Option<UriSource>,
    line: usize,
    /// With [`Rewriter::uris`]: every URI seen, signed or not.
    found: Option<&'a mut Vec<PlaylistUri>>,
}

/// One URI of a playlist (see [`Rewriter::uris`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistUri {
    pub source: UriSource,
    /// The URI as written (attribute quotes and line blanks removed).
    pub uri: String,
    /// 1-based line number.
    pub line: usize,
}

impl<W: Write> Scan<'_, W> {
    /// One line, `input[start..end]`, without its `\n`.
    fn line_at(&mut self, start: usize, end: usize) -> Result<(), RewriteError> {
        let input = self.out.input;
        let line = &input[start..end];
        // Leading blanks are not part of anything (players trim lines too).
        let lead = line.len() - trim_start(line).len();
        let line = &line[lead..];
        let start = start + lead;
        if line.first() == Some(&b'#') {
            if line.starts_with(b"#EXT") {
                self.tag_line(start, line)?;
            }
            // Anything else starting with `#` is a comment.
            return Ok(());
        }
        let body = trim_end(line);
        if body.is_empty() {
            return Ok(()); // blank line
        }
        let source = self.pending.take().unwrap_or(UriSource::Line);
        self.uri(start..start + body.len(), source)
    }

    fn tag_line(&mut self, start: usize, line: &[u8]) -> Result<(), RewriteError> {
        let colon = memchr(b':', line);
        let name = match colon {
            Some(c) => &line[..c],
            None => trim_end(line),
        };
        let mark = |tally: &mut Tally, kind: Kind| match kind {
            Kind::Master => tally.seen_master = true,
            Kind::Media => tally.seen_media = true,
        };
        match tag(name) {
            Tag::Announces(source, kind) => {
                mark(&mut self.tally, kind);
                self.pending = Some(source);
            }
            Tag::Marks(kind) => mark(&mut self.tally, kind),
            Tag::Attrs(attrs, kind) => {
                mark(&mut self.tally, kind);
                if let Some(c) = colon {
                    // Attribute list: after the colon, without a trailing CR.
                    let list_end = start + line.len() - usize::from(line.ends_with(b"\r"));
                    self.attributes(name, start + c + 1, list_end, attrs)?;
                }
            }
            Tag::Other => {}
        }
        Ok(())
    }

    /// Walks an attribute list `NAME=VALUE,…` and handles the values of the
    /// URI attributes. Quoted values may hold commas and `URI` text; names are
    /// matched whole. A malformed list ends the walk (see `malformed`).
    fn attributes(
        &mut self,
        tag: &[u8],
        from: usize,
        to: usize,
        attrs: UriAttrs,
    ) -> Result<(), RewriteError> {
        let input = self.out.input;
        let mut i = from;
        while i < to {
            while i < to && matches!(input[i], b' ' | b'\t') {
                i += 1;
            }
            let name_start = i;
            while i < to && input[i] != b'=' && input[i] != b',' {
                if input[i] == b'"' {
                    return self.malformed(tag); // a quote where a name belongs
                }
                i += 1;
            }
            let name = trim_end(&input[name_start..i]);
            let mut value = None;
            let mut stray_quote = false;
            if i < to && input[i] == b'=' {
                i += 1;
                if i < to && input[i] == b'"' {
                    let close = memchr(b'"', &input[i + 1..to]);
                    let Some(close) = close else {
                        return self.malformed(tag);
                    };
                    value = Some(i + 1..i + 1 + close);
                    i += close + 2;
                    while i < to && input[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    if i < to && input[i] != b',' {
                        return self.malformed(tag); // text after the closing quote
                    }
                } else {
                    // Unquoted (against the spec for URIs, but players read
                    // them): up to the next comma.
                    let v_start = i;
                    while i < to && input[i] != b',' {
                        i += 1;
                    }
                    let v = v_start..v_start + trim_end(&input[v_start..i]).len();
                    stray_quote = memchr(b'"', &input[v.clone()]).is_some();
                    value = Some(v);
                }
            }
            i += 1; // the comma
            if let Some(value) = value
                && let Some(&(_, source)) = attrs.iter().find(|(n, _)| *n == name)
            {
                if stray_quote {
                    // `URI=a"b`: no way to tell where the URI was meant to end.
                    return self.malformed(tag);
                }
                self.uri(value, source)?;
            }
        }
        Ok(())
    }

    /// A quote left open, text after a closing quote, a quote in a name, or a
    /// quote inside an unquoted URI value: the rest of the list cannot be read
    /// reliably, so it is left as it is and reported.
    fn malformed(&mut self, tag: &[u8]) -> Result<(), RewriteError> {
        self.tally.malformed(self.line, &tag[1..]);
        Ok(())
    }

    fn uri(&mut self, range: Range<usize>, source: UriSource) -> Result<(), RewriteError> {
        if self.uris == self.rw.limits.max_uris {
            return Err(RewriteError::TooManyUris {
                limit: self.rw.limits.max_uris,
                line: self.line,
            });
        }
        self.uris += 1;
        let input = self.out.input;
        let uri =
            std::str::from_utf8(&input[range.clone()]).map_err(|_| RewriteError::InvalidUtf8 {
                line: self.line,
                tag: source.as_str(),
            })?;
        if let Some(found) = self.found.as_deref_mut() {
            found.push(PlaylistUri {
                source,
                uri: uri.to_string(),
                line: self.line,
            });
        }
        let shape = UriShape::of(uri.as_bytes());
        if let Err(reason) = self.classify(uri, &shape) {
            self.tally.skipped(source, reason, self.line, uri);
            return Ok(());
        }
        let child =
            source.gets_child_params() || (source == UriSource::Line && self.tally.seen_master);
        let params = match (&self.rw.child, child) {
            (Some(child), true) => child,
            _ => &self.rw.media,
        };
        sign(&mut self.out, range.start, uri, &shape, params)?;
        self.tally.rewritten(source);
        Ok(())
    }

    /// `Ok` when `uri` must carry our parameters: it resolves, as the player
    /// resolves it (a WHATWG URL parser: backslashes read as slashes, tabs and
    /// newlines dropped, leading blanks and C0 controls trimmed, host case and
    /// default ports folded), to the playlist's own origin.
    fn classify(&self, uri: &str, shape: &UriShape) -> Result<(), SkipReason> {
        if uri.is_empty() {
            return Err(SkipReason::Empty);
        }
        let variable = !self.rw.sign_variable_uris && shape.variable;
        if shape.stays_on_any_origin {
            return if variable {
                Err(SkipReason::Variable)
            } else {
                Ok(())
            };
        }
        let (first, second) = self.rw.base.urls();
        let Ok(url) = first.join(uri) else {
            return Err(if variable {
                SkipReason::Variable
            } else {
                SkipReason::BadUrl
            });
        };
        match url.scheme() {
            "http" | "https" => {}
            "data" => return Err(SkipReason::Data),
            _ => return Err(SkipReason::Scheme),
        }
        if variable {
            return Err(SkipReason::Variable);
        }
        if url.origin() != first.origin() {
            return Err(match self.rw.base {
                Base::Playlist(_) => SkipReason::OtherOrigin,
                Base::Unknown => SkipReason::NoBaseUrl,
            });
        }
        // Without the playlist's URL, a URI that stays on the stand-in could
        // still be an absolute URL naming it: only one that also stays on a
        // second stand-in is relative, and so on whatever host serves it.
        match second {
            Some(second) if second.join(uri).map(|u| u.origin()) != Ok(second.origin()) => {
                Err(SkipReason::NoBaseUrl)
            }
            _ => Ok(()),
        }
    }
}

/// What URIs resolve against: the playlist's own URL, or, when it is not
/// known, two stand-ins that only tell relative references from the rest.
#[derive(Debug, Clone)]
enum Base {
    Playlist(Url),
    Unknown,
}

/// The stand-in playlist URLs (`.invalid` hosts, RFC 2606), one of each
/// scheme: `https:x.ts` is a path on an https page but the host `x.ts` on an
/// http one (found by the fuzzer), so only what stays on both is relative.
static STAND_INS: LazyLock<[Url; 2]> = LazyLock::new(|| {
    [
        "https://base-a.hlsgate.invalid/stand-in/playlist.m3u8",
        "http://base-b.hlsgate.invalid:8080/stand-in/playlist.m3u8",
    ]
    .map(|u| Url::parse(u).expect("a fixed valid URL"))
});

impl Base {
    fn urls(&self) -> (&Url, Option<&Url>) {
        match self {
            Self::Playlist(url) => (url, None),
            Self::Unknown => (&STAND_INS[0], Some(&STAND_INS[1])),
        }
    }
}

/// Puts `params` into `uri` (which starts at input offset `at`): before any
/// `#fragment`, after an existing query with `&` (none after a trailing `?` or
/// `&`), replacing the values of parameters already there.
fn sign<W: Write>(
    out: &mut Out<'_, W>,
    at: usize,
    uri: &str,
    shape: &UriShape,
    params: &QueryParams,
) -> io::Result<()> {
    let body_end = shape.fragment.unwrap_or(uri.len());
    let body = &uri[..body_end];
    let insert_at = at + body_end;
    let p = params.as_str().as_bytes();
    let Some(q) = shape.query else {
        return out.edit(insert_at..insert_at, &[b"?", p]);
    };
    let query = &body[q + 1..];
    let holds_ours = query
        .split('&')
        .any(|pair| params.contains_name(pair_name(pair).as_bytes()));
    if !holds_ours {
        let sep: &[u8] = if query.is_empty() || query.ends_with('&') {
            b""
        } else {
            b"&"
        };
        return out.edit(insert_at..insert_at, &[sep, p]);
    }

    // Replace our values where they stand, keep every other pair, then add
    // the ones that were missing, in our order.
    let mut merged = String::with_capacity(query.len() + p.len());
    let mut used = vec![false; params.pairs().count()];
    for (n, pair) in query.split('&').enumerate() {
        if n > 0 {
            merged.push('&');
        }
        let name = pair_name(pair);
        match params
            .pairs()
            .enumerate()
            .find(|(_, (ours, _))| *ours == name)
        {
            Some((k, (ours, value))) => {
                used[k] = true;
                merged.push_str(ours);
                merged.push('=');
                merged.push_str(value);
            }
            None => merged.push_str(pair),
        }
    }
    for (k, (name, value)) in params.pairs().enumerate() {
        if used[k] {
            continue;
        }
        if !(merged.is_empty() || merged.ends_with('&')) {
            merged.push('&');
        }
        merged.push_str(name);
        merged.push('=');
        merged.push_str(value);
    }
    let query_start = at + q + 1;
    out.edit(query_start..insert_at, &[merged.as_bytes()])
}

fn pair_name(pair: &str) -> &str {
    pair.split_once('=').map_or(pair, |(n, _)| n)
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}
