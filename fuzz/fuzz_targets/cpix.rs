//! Fuzzes the SPEKE (CPIX) request reader and answerer; the checks live in
//! `crates/core/tests/it/speke_fuzz_case.rs`, which `make test` replays over
//! `fixtures/speke/` and `fixtures/speke/fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/core/tests/it/speke_fuzz_case.rs"]
mod fuzz_case;

fuzz_target!(|data: &[u8]| fuzz_case::run(data));
