//! Integration tests of the upload API: a real S3 protocol server (s3s-fs)
//! behind the SDK's client and presigner, parts sent as a browser sends
//! them (plain HTTP PUTs to the presigned URLs).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
mod config;
mod status;
mod uploads;
