//! The adapters against the wire: replayed SDK responses (aws-smithy-mocks)
//! and a real socket for timeouts.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod local_s3;
mod logs;
mod s3;
mod secrets;
mod web;
