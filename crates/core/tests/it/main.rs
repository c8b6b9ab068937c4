//! Integration tests for hlsgate-core, one module per feature.

mod common;
mod conformance;
mod failures;
mod props;
mod roundtrip;
