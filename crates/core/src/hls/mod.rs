//! The byte-preserving HLS playlist rewriter.
//!
//! [`Rewriter`] scans a playlist once and puts a fixed set of query
//! parameters (one CloudFront signature) into every URI that must carry it:
//! URI lines (segments, variant streams) and the `URI`-like attributes of
//! `EXT-X-KEY`, `EXT-X-SESSION-KEY`, `EXT-X-MAP`, `EXT-X-MEDIA`,
//! `EXT-X-I-FRAME-STREAM-INF`, `EXT-X-IMAGE-STREAM-INF`, `EXT-X-SESSION-DATA`,
//! `EXT-X-PART`, `EXT-X-PRELOAD-HINT`, `EXT-X-RENDITION-REPORT`,
//! `EXT-X-CONTENT-STEERING` (`SERVER-URI`) and `EXT-X-DATERANGE`
//! (`X-ASSET-URI`, `X-ASSET-LIST`). Everything else is copied byte for byte.
//!
//! It leaves alone, and reports, what must not carry the signature: `data:`
//! and non-http(s) URIs (`skd://`), absolute URLs on other hosts, and URIs
//! with `{$variable}` references. See docs/manifest-rewriter.md and docs/cli.md for the
//! full rules.

mod query;
mod report;
mod rewrite;
mod uri;

pub use query::{ParamsError, QueryParams};
pub use report::{
    MalformedTag, PlaylistKind, Report, SkipReason, SkippedUri, TagCounts, UriSource,
};
pub use rewrite::{BaseUrlError, Limits, PlaylistUri, RewriteError, Rewriter};
