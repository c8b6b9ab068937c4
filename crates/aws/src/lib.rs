//! Thin AWS adapters shared by the hlsgate Lambdas. Each capability is a
//! small trait with an SDK-backed implementation and a fake for tests; the
//! handlers never see the SDK.

pub mod cache;
pub mod content_key;
pub mod env;
pub mod error;
pub mod local_dynamodb;
#[cfg(feature = "local-s3")]
pub mod local_s3;
pub mod metrics;
pub mod objects;
pub mod origin;
pub mod sdk;
pub mod secret;
pub mod start;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod viewer;
pub mod web;

pub use env::{ConfigError, Env};
pub use error::{CallError, CallFailure};
pub use objects::{
    Fetched, MemoryObjects, Object, ObjectSink, ObjectSource, S3Objects, SourceError,
};
