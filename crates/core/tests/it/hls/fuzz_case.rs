//! The fuzz target's body, shared with the regression test that replays
//! `fixtures/hls/fuzz/` (the fuzz target includes this file by path).
//!
//! The first byte picks the options; the rest follows `#EXTM3U\n`. Whatever
//! the bytes, the rewriter must not panic, and when it accepts the playlist:
//! - the output is the input plus one parameter set per signed URI, and
//!   nothing else (unless the input already holds one of our names, which the
//!   rewriter then replaces);
//! - every signed URI stays on the playlist's origin, resolved here with the
//!   `url` crate's WHATWG parser as a player resolves it (and, without a base
//!   URL, on the origin of any page it is resolved against);
//! - a second rewrite gives the same bytes;
//! - the report's byte counts are right.

use hlsgate_core::hls::{Limits, QueryParams, Rewriter};
use url::Url;

const MEDIA: &str = "Policy=eyJTIjpbXX0_&Signature=c2ln~bmF0-&Key-Pair-Id=KFUZZ";
const CHILD: &str =
    "Policy=eyJTIjpbXX0_&Signature=c2ln~bmF0-&Key-Pair-Id=KFUZZ&Policy-hg=eyJTIjpbXX0_";
const NAMES: [&[u8]; 4] = [b"Policy", b"Signature", b"Key-Pair-Id", b"Policy-hg"];
const BASE: &str = "https://cdn.example.com/v/1/index.m3u8";
/// Without a base URL a signed URI must be relative: it stays on whatever
/// page it is resolved against, these two included.
const ANY_BASES: [&str; 2] = ["http://a.test:8080/x/y.m3u8", "https://b.test/index.m3u8"];

/// One fuzz input: panics when a property fails.
pub fn run(data: &[u8]) {
    let Some((&options, body)) = data.split_first() else {
        return;
    };
    let mut input = b"#EXTM3U\n".to_vec();
    // Bit 6: let the body replace the header, to fuzz header checks too.
    if options & 0x40 != 0 {
        input.clear();
    }
    input.extend_from_slice(body);

    let mut rw = Rewriter::new(QueryParams::parse(MEDIA).unwrap())
        .sign_variable_uris(options & 1 != 0)
        .limits(Limits {
            max_input_bytes: 1 << 20,
            max_uris: if options & 0x20 != 0 { 3 } else { 10_000 },
        });
    if options & 2 != 0 {
        rw = rw.child_params(QueryParams::parse(CHILD).unwrap());
    }
    if options & 4 != 0 {
        rw = rw.base_url(BASE).unwrap();
    }

    let Ok((out, report)) = rw.rewrite(&input) else {
        return;
    };
    assert_eq!(report.input_bytes, input.len());
    assert_eq!(report.output_bytes, out.len());
    let holds_ours = NAMES
        .iter()
        .any(|n| input.windows(n.len()).any(|w| w == *n));
    if !holds_ours {
        let signed = super::align::signed_uris(&input, &out, &[MEDIA, CHILD])
            .unwrap_or_else(|e| panic!("not insert-only: {e}"));
        assert_eq!(signed.len(), report.rewritten, "insertions vs report");
        let bases: &[&str] = if options & 4 != 0 {
            &[BASE]
        } else {
            &ANY_BASES
        };
        let bases: Vec<Url> = bases.iter().map(|b| Url::parse(b).unwrap()).collect();
        for uri in &signed {
            for base in &bases {
                let stays = base.join(uri).is_ok_and(|u| u.origin() == base.origin());
                assert!(stays, "signed {uri:?}, which leaves {base}");
            }
        }
    }
    let (again, _) = rw.rewrite(&out).expect("the output is refused");
    assert!(again == out, "a second rewrite changed the output");
}
