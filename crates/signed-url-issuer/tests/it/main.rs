//! signed-url-issuer: the handler from real-shaped REST and HTTP API events,
//! keys through a replayed Secrets Manager, and an end-to-end run of an
//! issued URL through the manifest-rewriter.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
mod config;
mod e2e;
mod grants;
mod handler;
mod keys;
mod logs;
mod payloads;
mod rules;
mod sessions;
mod webhook;
