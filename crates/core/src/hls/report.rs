//! What a rewrite did: which URIs were signed, which were left alone and why.

use std::collections::BTreeMap;

use serde::Serialize;
use strum::{EnumCount, EnumIter, IntoStaticStr};

/// Where a URI sits in the playlist. Its name is the tag (and attribute) that
/// carries it, as it appears in the report. The variant list, its count and
/// its names are all derived from this one declaration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumCount, EnumIter, IntoStaticStr,
)]
pub enum UriSource {
    /// The URI line after `#EXTINF` (a media segment).
    #[strum(serialize = "EXTINF")]
    Segment,
    /// The URI line after `#EXT-X-STREAM-INF` (a variant playlist).
    #[strum(serialize = "EXT-X-STREAM-INF")]
    Variant,
    /// A URI line with neither before it.
    #[strum(serialize = "uri-line")]
    Line,
    #[strum(serialize = "EXT-X-KEY")]
    Key,
    #[strum(serialize = "EXT-X-SESSION-KEY")]
    SessionKey,
    #[strum(serialize = "EXT-X-MAP")]
    Map,
    #[strum(serialize = "EXT-X-MEDIA")]
    Media,
    #[strum(serialize = "EXT-X-I-FRAME-STREAM-INF")]
    IFrameStream,
    #[strum(serialize = "EXT-X-IMAGE-STREAM-INF")]
    ImageStream,
    #[strum(serialize = "EXT-X-SESSION-DATA")]
    SessionData,
    #[strum(serialize = "EXT-X-PART")]
    Part,
    #[strum(serialize = "EXT-X-PRELOAD-HINT")]
    PreloadHint,
    #[strum(serialize = "EXT-X-RENDITION-REPORT")]
    RenditionReport,
    #[strum(serialize = "EXT-X-CONTENT-STEERING:SERVER-URI")]
    SteeringServer,
    #[strum(serialize = "EXT-X-DATERANGE:X-ASSET-URI")]
    AssetUri,
    #[strum(serialize = "EXT-X-DATERANGE:X-ASSET-LIST")]
    AssetList,
}

impl UriSource {
    /// Every source, in declaration order.
    pub fn all() -> impl Iterator<Item = UriSource> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// The tag (and attribute, where the tag has several) carrying the URI.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the URI is fetched through the origin function, which
    /// verifies the forwarded copy, and so gets the child parameter set: a
    /// playlist (served by the rewriter again) or a key (`EXT-X-KEY`,
    /// `EXT-X-SESSION-KEY`: served by its key route).
    pub fn gets_child_params(self) -> bool {
        self.is_playlist() || matches!(self, Self::Key | Self::SessionKey)
    }

    /// Whether the URI names a playlist.
    pub fn is_playlist(self) -> bool {
        matches!(
            self,
            Self::Variant
                | Self::Media
                | Self::IFrameStream
                | Self::ImageStream
                | Self::RenditionReport
                | Self::AssetUri
        )
    }
}

/// Why a URI was left unsigned.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumCount, EnumIter, IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum SkipReason {
    /// `URI=""`.
    Empty,
    /// A `data:` URI: the data is inline, there is nothing to fetch.
    Data,
    /// A scheme other than http(s): `skd://` (FairPlay), and the like.
    Scheme,
    /// Contains a `{$name}` variable reference: its final form is only known to
    /// the player.
    Variable,
    /// Resolves (as a WHATWG parser resolves it against the playlist's URL)
    /// to another origin (scheme, host or port) than the playlist's own: key
    /// servers, ad servers, and spellings such as `\\host\x`, `/\t/host/x`
    /// or a leading control character. Our signature must not leak there.
    OtherOrigin,
    /// Could name a host of its own (an absolute URL, `//host/…`), and no base
    /// URL was given to compare it with.
    NoBaseUrl,
    /// Does not resolve to a URL at all (`https://[bad/x`), so where it points
    /// is unknown.
    BadUrl,
}

impl SkipReason {
    /// Every reason, in declaration order.
    pub fn all() -> impl Iterator<Item = SkipReason> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Serialize for UriSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Whether the playlist is a master (multivariant) or a media playlist, judged
/// by the tags it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaylistKind {
    Master,
    Media,
    /// Both master-only and media-only tags (invalid, but copied as is).
    Mixed,
    /// Neither: no tags that tell.
    Unknown,
}

/// Counts for one tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TagCounts {
    pub rewritten: usize,
    pub skipped: usize,
}

/// One URI left unsigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedUri {
    /// 1-based line number.
    pub line: usize,
    pub tag: UriSource,
    pub reason: SkipReason,
    pub uri: String,
}

/// A tag whose attribute list could not be read to its end (a quote left
/// open): it is copied unchanged from that point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedTag {
    /// 1-based line number.
    pub line: usize,
    pub tag: String,
}

/// What a rewrite did. Counts are exact; `skipped_uris` and `malformed_tags`
/// list the first [`Report::MAX_LISTED`] of each as examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub kind: PlaylistKind,
    /// Lines in the input.
    pub lines: usize,
    pub input_bytes: usize,
    pub output_bytes: usize,
    pub rewritten: usize,
    pub skipped: usize,
    /// Per tag, only tags that were seen.
    pub by_tag: BTreeMap<&'static str, TagCounts>,
    /// Per reason, only reasons that occurred.
    pub skipped_reasons: BTreeMap<&'static str, usize>,
    pub skipped_uris: Vec<SkippedUri>,
    /// Tags with a quote left open.
    pub malformed: usize,
    pub malformed_tags: Vec<MalformedTag>,
}

impl Report {
    pub const MAX_LISTED: usize = 32;

    /// Counts for one tag (zero when it was not seen).
    pub fn tag(&self, source: UriSource) -> TagCounts {
        self.by_tag
            .get(source.as_str())
            .copied()
            .unwrap_or_default()
    }

    /// How many URIs were skipped for `reason`.
    pub fn skipped_for(&self, reason: SkipReason) -> usize {
        self.skipped_reasons
            .get(reason.as_str())
            .copied()
            .unwrap_or(0)
    }
}

/// The scanner's running tally: fixed arrays, so counting costs no allocation.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    rewritten: [usize; <UriSource as EnumCount>::COUNT],
    skipped: [usize; <UriSource as EnumCount>::COUNT],
    reasons: [usize; <SkipReason as EnumCount>::COUNT],
    listed: Vec<SkippedUri>,
    malformed: usize,
    malformed_listed: Vec<MalformedTag>,
    pub(crate) seen_master: bool,
    pub(crate) seen_media: bool,
}

impl Tally {
    pub(crate) fn rewritten(&mut self, source: UriSource) {
        self.rewritten[source as usize] += 1;
    }

    pub(crate) fn skipped(
        &mut self,
        source: UriSource,
        reason: SkipReason,
        line: usize,
        uri: &str,
    ) {
        self.skipped[source as usize] += 1;
        self.reasons[reason as usize] += 1;
        if self.listed.len() < Report::MAX_LISTED {
            self.listed.push(SkippedUri {
                line,
                tag: source,
                reason,
                uri: uri.to_string(),
            });
        }
    }

    pub(crate) fn malformed(&mut self, line: usize, tag: &[u8]) {
        self.malformed += 1;
        if self.malformed_listed.len() < Report::MAX_LISTED {
            self.malformed_listed.push(MalformedTag {
                line,
                tag: String::from_utf8_lossy(tag).into_owned(),
            });
        }
    }

    pub(crate) fn finish(self, lines: usize, input_bytes: usize, output_bytes: usize) -> Report {
        let kind = match (self.seen_master, self.seen_media) {
            (true, false) => PlaylistKind::Master,
            (false, true) => PlaylistKind::Media,
            (true, true) => PlaylistKind::Mixed,
            (false, false) => PlaylistKind::Unknown,
        };
        let by_tag = UriSource::all()
            .filter_map(|s| {
                let c = TagCounts {
                    rewritten: self.rewritten[s as usize],
                    skipped: self.skipped[s as usize],
                };
                (c != TagCounts::default()).then_some((s.as_str(), c))
            })
            .collect();
        let skipped_reasons = SkipReason::all()
            .filter(|&r| self.reasons[r as usize] > 0)
            .map(|r| (r.as_str(), self.reasons[r as usize]))
            .collect();
        Report {
            kind,
            lines,
            input_bytes,
            output_bytes,
            rewritten: self.rewritten.iter().sum(),
            skipped: self.skipped.iter().sum(),
            by_tag,
            skipped_reasons,
            skipped_uris: self.listed,
            malformed: self.malformed,
            malformed_tags: self.malformed_listed,
        }
    }
}
