//! Integration tests of the mediaconvert-jobs handler: fixtures in, jobs,
//! claims, sidecars and notices out; the AWS adapters replayed with
//! aws-smithy-mocks.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod aws;
mod common;
mod config;
mod contract;
mod events;
mod notify;
mod status;
mod submit;
mod tracks;
