//! manifest-rewriter: the handler from real-shaped events, against an
//! in-memory store, a replayed S3 SDK and a real S3 protocol server.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
mod config;
mod handler;
mod keys;
mod large;
mod logs;
mod s3_errors;
mod s3_server;
