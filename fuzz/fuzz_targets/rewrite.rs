//! Fuzzes the HLS rewriter; the checks live in
//! `crates/core/tests/it/hls/fuzz_case.rs`, which the regression test
//! replays over `fixtures/hls/fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

// The target uses `signed_uris`; the tests also use `insertions`.
#[allow(dead_code)]
#[path = "../../crates/core/tests/it/hls/align.rs"]
mod align;
#[path = "../../crates/core/tests/it/hls/fuzz_case.rs"]
mod fuzz_case;

fuzz_target!(|data: &[u8]| fuzz_case::run(data));
