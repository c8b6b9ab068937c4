//! Integration tests of the mediaconvert-jobs handler: fixtures in, jobs,
//! claims, sidecars and notices out; the AWS adapters replayed with
//! aws-smithy-mocks.

mod common;
mod submit;
