//! hlsgate core: CloudFront signing and verification, and the byte-preserving
//! HLS rewriter. Pure library: no AWS SDK, no async runtime, no
//! I/O; callers pass in bytes, keys and the current time.

#![forbid(clippy::print_stdout, clippy::print_stderr)]

pub mod hls;
pub mod mac;
pub mod rules;
pub mod session;
pub mod signing;
pub mod speke;
pub mod status;
pub mod tracks;
pub mod upload;
pub mod video;
