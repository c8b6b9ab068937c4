//! signed-url-issuer: the handler from real-shaped REST and HTTP API events,
//! keys through a replayed Secrets Manager, and an end-to-end run of an
//! issued URL through the manifest-rewriter.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
mod config;
mod e2e;
mod handler;
mod keys;
mod logs;
mod payloads;
/// The rewriter's test setup (keys, ladder, events, checks), shared so the
/// end-to-end test plays by exactly the rewriter's rules.
#[path = "../../../manifest-rewriter/tests/it/common.rs"]
#[allow(dead_code)]
mod rw;
