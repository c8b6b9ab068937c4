//! Integration tests for hlsgate-core, one module per feature.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

mod common;
mod conformance;
mod failures;
mod hls;
mod props;
mod roundtrip;
mod speke;
