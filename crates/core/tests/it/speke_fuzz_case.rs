//! The CPIX fuzz target's checks (`fuzz/fuzz_targets/cpix.rs`), replayed by
//! `make test` over `fixtures/speke/` and `fixtures/speke/fuzz/`.
//!
//! The first byte picks the SPEKE version; the rest is the request body:
//! - no panic, whatever the bytes;
//! - a refusal never quotes the input: the only text it carries from the
//!   request is a key id or system id already checked to be a UUID, and the
//!   parser's complaints are our own short words (no markup in them);
//! - an accepted request's answer is read back by the encryptor's reader,
//!   with exactly the one key asked for (the key given), under its kid, the
//!   same content id, and a key URI of `hls.key`;
//! - the answer, parsed again as a request, is accepted with the same
//!   content id and kid (nothing the answer adds breaks the document).

use hlsgate_core::speke::encryptor::read_answer;
use hlsgate_core::speke::{Refusal, Request, Version};

const KEY: [u8; 16] = *b"fuzz-content-key";

pub fn run(data: &[u8]) {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let version = if first & 1 == 0 {
        Version::V1
    } else {
        Version::V2
    };
    let req = match Request::parse(body, version) {
        Ok(r) => r,
        Err(refusal) => {
            match &refusal {
                Refusal::Malformed(words) => assert!(
                    words.len() < 80 && !words.contains(['<', '>', '"', '=', '&']),
                    "a parser complaint quoting the input: {refusal}"
                ),
                Refusal::UnknownKid(_, id)
                | Refusal::MissingScheme(id)
                | Refusal::UnsupportedSystem(id) => {
                    assert!(
                        uuid_shaped(id),
                        "a refusal quoting an unchecked id: {refusal}"
                    )
                }
                _ => {}
            }
            assert!(refusal.to_string().len() < 400, "a long refusal: {refusal}");
            return;
        }
    };
    let answer = req
        .answer(&KEY, "hls.key")
        .expect("an accepted request is answered");
    let a = read_answer(answer.as_bytes(), version).expect("the answer reads back");
    assert_eq!(a.key(), Some(KEY), "{answer}");
    assert_eq!(a.keys.len(), 1);
    assert_eq!(a.keys[0].0.to_ascii_lowercase(), req.key.kid);
    assert_eq!(a.content_id, req.content_id.as_str());
    assert_eq!(a.key_uri().as_deref(), Some("hls.key"), "{answer}");
    let again = Request::parse(answer.as_bytes(), version).expect("the answer parses as a request");
    assert_eq!(again.content_id, req.content_id);
    assert_eq!(again.key.kid, req.key.kid);
}

fn uuid_shaped(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
