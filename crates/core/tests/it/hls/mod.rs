//! The HLS rewriter: golden files, the real-playlist corpus, properties and
//! refusals. Helpers here check rewrites without using the rewriter's own
//! scanner, so a scanner bug cannot hide itself.

mod align;
mod corpus;
mod errors;
mod fuzz_case;
mod golden;
mod origin;
mod props;

pub use align::insertions;
use hlsgate_core::hls::{QueryParams, Rewriter};

/// Parameters for media URIs: shaped like a real custom-policy signature.
pub const MEDIA: &str =
    "Policy=eyJTdGF0ZW1lbnQiOlt7fV19&Signature=c2ln~bmF0_dXJl-&Key-Pair-Id=KTESTMEDIA";
/// Parameters for child playlists: the edge set plus the forwarded copy.
pub const CHILD: &str = "Policy=eyJTdGF0ZW1lbnQiOlt7fV19&Signature=c2ln~bmF0_dXJl-&Key-Pair-Id=KTESTMEDIA\
&Policy-hg=eyJTdGF0ZW1lbnQiOlt7fV19&Signature-hg=c2ln~bmF0_dXJl-&Key-Pair-Id-hg=KTESTMEDIA";
/// The playlist's own URL in the golden and corpus tests.
pub const BASE: &str = "https://cdn.example.com/videos/v1/master.m3u8";

/// The test rewriter (media and child sets) without a base URL.
pub fn unbased() -> Rewriter {
    Rewriter::new(QueryParams::parse(MEDIA).unwrap())
        .child_params(QueryParams::parse(CHILD).unwrap())
}

/// The test rewriter for a playlist at `base`.
pub fn rewriter(base: &str) -> Rewriter {
    unbased().base_url(base).unwrap()
}

/// Inputs the fuzzer once failed on: replayed with the fuzz target's checks.
#[test]
fn fuzz_regressions() {
    let dir = crate::common::fixtures().join("hls/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        fuzz_case::run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}

#[test]
fn insertions_helper_catches_changes() {
    let s = ["A=1"];
    assert_eq!(
        insertions(b"x\ny?\nz?q\n", b"x?A=1\ny?A=1\nz?q&A=1\n", &s),
        Ok(3)
    );
    assert!(insertions(b"x\n", b"x?A=1\n\n", &s).is_err()); // extra byte
    assert!(insertions(b"x\n", b"y?A=1\n", &s).is_err()); // changed byte
    assert!(insertions(b"x\nw", b"x?A=1\n", &s).is_err()); // lost byte
    assert!(insertions(b"x\n", b"x?A=2\n", &s).is_err()); // other params
    assert!(insertions(b"x\n", b"x?A=1?A=1\n", &s).is_err()); // second `?`
    assert!(insertions(b"x\n", b"x&A=1\n", &s).is_err()); // `&` without a query
    // In tags the separator is judged per attribute value.
    let tag = |i: &str, o: &str| insertions(i.as_bytes(), o.as_bytes(), &s);
    assert_eq!(
        tag("#T:A=\"?\",URI=\"k\"\n", "#T:A=\"?\",URI=\"k?A=1\"\n"),
        Ok(1)
    );
    assert!(tag("#T:URI=\"k?x\"\n", "#T:URI=\"k?x?A=1\"\n").is_err());
    assert!(tag("#T:URI=\"k\"\n", "#T:URI=\"k&A=1\"\n").is_err());
    assert_eq!(
        tag("#T:A=1?,URI=k?b=1,X=2\n", "#T:A=1?,URI=k?b=1&A=1,X=2\n"),
        Ok(1)
    );
    assert!(tag("#T:A=1?,URI=k,X=2\n", "#T:A=1?,URI=k&A=1,X=2\n").is_err());
    // A quote in a URI line is part of the URI (found by the fuzzer).
    assert_eq!(insertions(b"a?b\"c\n", b"a?b\"c&A=1\n", &s), Ok(1));
}
