//! Refusals (with the line they are about), limits, and the options that
//! change what gets signed.

use hlsgate_core::hls::{
    Limits, PlaylistKind, QueryParams, RewriteError, Rewriter, SkipReason, UriSource,
};

use super::{BASE, CHILD, MEDIA, insertions, rewriter};

fn media_only() -> Rewriter {
    Rewriter::new(QueryParams::parse(MEDIA).unwrap())
}

#[test]
fn header_must_come_first() {
    let rw = rewriter(BASE);
    assert!(matches!(rw.rewrite(b""), Err(RewriteError::Empty)));
    assert!(matches!(
        rw.rewrite(b"\xEF\xBB\xBF#EXTM3U\nseg.ts\n"),
        Err(RewriteError::Bom)
    ));
    for junk in [
        &b"# comment\n#EXTM3U\nseg.ts\n"[..],
        b"\n#EXTM3U\nseg.ts\n",
        b" #EXTM3U\nseg.ts\n",
        b"#EXTM3UX\nseg.ts\n",
        b"#EXT-X-VERSION:3\n#EXTINF:4,\nseg.ts\n",
        b"<html>403</html>",
    ] {
        let err = rw.rewrite(junk).unwrap_err();
        assert!(
            matches!(err, RewriteError::NoHeader { .. }),
            "{junk:?}: {err}"
        );
        assert_eq!(err.line(), Some(1));
        assert!(err.to_string().contains("#EXTM3U"), "{err}");
    }
    // The header line itself may end in CRLF, trailing blanks, or the file.
    for ok in [&b"#EXTM3U"[..], b"#EXTM3U\r\n", b"#EXTM3U \t\nseg.ts"] {
        assert!(rw.rewrite(ok).is_ok(), "{ok:?}");
    }
}

#[test]
fn invalid_utf8_in_a_uri_is_refused_with_its_line() {
    let err = rewriter(BASE)
        .rewrite(b"#EXTM3U\n#EXTINF:4,\nseg\xff.ts\n")
        .unwrap_err();
    assert!(
        matches!(
            err,
            RewriteError::InvalidUtf8 {
                line: 3,
                tag: "EXTINF"
            }
        ),
        "{err}"
    );
    let err = rewriter(BASE)
        .rewrite(b"#EXTM3U\n#EXT-X-MAP:URI=\"i\xc3.mp4\"\n")
        .unwrap_err();
    assert_eq!(err.to_string(), "line 2: EXT-X-MAP URI is not valid UTF-8");
    // Elsewhere (comments, titles) bytes are copied, not judged.
    let input = b"#EXTM3U\n# caf\xe9\n#EXTINF:4,caf\xe9\nseg.ts\n";
    let (out, _) = rewriter(BASE).rewrite(input).unwrap();
    assert_eq!(insertions(input, &out, &[MEDIA]), Ok(1));
}

/// (malformed tags, signed URIs) for one playlist.
fn malformed_and_signed(input: &[u8]) -> (usize, usize) {
    let (_, report) = rewriter(BASE).rewrite(input).unwrap();
    (report.malformed, report.rewritten)
}

#[test]
fn an_open_quote_is_reported_and_copied() {
    // Seen in the wild: a DATERANGE wrapped over several lines.
    let input = b"#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\",X-A=\"open\n#EXT-X-KEY:METHOD=AES-128,IV=\"0x1,URI=\"k.key\"\n#EXTINF:4,\ns.ts\n";
    let (out, report) = rewriter(BASE).rewrite(input).unwrap();
    // The URI before the open quote is signed; after it nothing is read.
    assert_eq!(report.tag(UriSource::Map).rewritten, 1);
    assert_eq!(report.tag(UriSource::Key), Default::default());
    assert_eq!(report.tag(UriSource::Segment).rewritten, 1);
    assert_eq!(insertions(input, &out, &[MEDIA]), Ok(2));
    assert_eq!(report.malformed, 2);
    let lines: Vec<_> = report
        .malformed_tags
        .iter()
        .map(|m| (m.line, m.tag.as_str()))
        .collect();
    assert_eq!(lines, [(2, "EXT-X-MAP"), (3, "EXT-X-KEY")]);
    // A stray quote in a bare value that is not a URI is tolerated (seen in
    // the wild: `IV=0x…",URI="…"`).
    assert_eq!(
        malformed_and_signed(b"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,IV=0x1\",URI=\"k.key\"\n"),
        (0, 1)
    );
    // A quote where a name belongs (found by the fuzzer).
    assert_eq!(
        malformed_and_signed(b"#EXTM3U\n#EXT-X-KEY:M\"ETHOD=AES-128,URI=k.key\n"),
        (1, 0)
    );
    // A quote inside an unquoted URI value (found by the fuzzer).
    let (out, report) = rewriter(BASE)
        .rewrite(b"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=k.key\"\n")
        .unwrap();
    assert_eq!((report.malformed, report.rewritten), (1, 0));
    assert_eq!(out, b"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=k.key\"\n");
    // An unquoted URI (against the spec, but players read it) is signed.
    let (out, _) = rewriter(BASE)
        .rewrite(b"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=k.key,IV=0x1\n")
        .unwrap();
    // Keys are served by the origin function: the child set.
    assert!(out.ends_with(format!("URI=k.key?{CHILD},IV=0x1\n").as_bytes()));
    // Blanks (a stray CR among them) after a closing quote are not text.
    assert_eq!(
        malformed_and_signed(b"#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\" \r\r\n"),
        (0, 1)
    );
    // Tags we do not read are not judged.
    assert_eq!(
        malformed_and_signed(b"#EXTM3U\n#EXT-X-FOO:URI=\"open\n"),
        (0, 0)
    );
}

#[test]
fn limits_are_enforced_with_clear_errors() {
    let input = b"#EXTM3U\n#EXTINF:4,\na.ts\n#EXTINF:4,\nb.ts\n#EXT-X-MAP:URI=\"i.mp4\"\n";
    let exact = Limits {
        max_input_bytes: input.len(),
        max_uris: 3,
    };
    assert!(rewriter(BASE).limits(exact).rewrite(input).is_ok());

    let err = rewriter(BASE)
        .limits(Limits {
            max_input_bytes: input.len() - 1,
            ..exact
        })
        .rewrite(input)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the playlist is {} bytes, over the limit of {} bytes",
            input.len(),
            input.len() - 1
        )
    );

    let err = rewriter(BASE)
        .limits(Limits {
            max_uris: 2,
            ..exact
        })
        .rewrite(input)
        .unwrap_err();
    assert!(
        matches!(err, RewriteError::TooManyUris { limit: 2, line: 6 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the playlist has more than 2 URIs (limit reached at line 6)"
    );
    // Skipped URIs count too: the limit bounds the work, not the signatures.
    let skipped = b"#EXTM3U\n#EXTINF:4,\ndata:,x\n#EXTINF:4,\ndata:,y\n";
    assert!(
        rewriter(BASE)
            .limits(Limits {
                max_uris: 1,
                ..Limits::DEFAULT
            })
            .rewrite(skipped)
            .is_err()
    );
}

#[test]
fn nothing_is_written_before_the_checks_pass() {
    let mut out = Vec::new();
    assert!(
        rewriter(BASE)
            .rewrite_to(b"junk\n#EXTM3U\n", &mut out)
            .is_err()
    );
    assert!(out.is_empty());
}

#[test]
fn without_child_params_playlists_get_the_media_set() {
    let input = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n";
    let (out, report) = media_only().rewrite(input).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8?{MEDIA}\n")
    );
    assert_eq!(report.kind, PlaylistKind::Master);
}

#[test]
fn bare_uri_lines_follow_the_playlist_kind() {
    let child = QueryParams::parse("c=1").unwrap();
    let rw = media_only().child_params(child);
    // After a master tag, a URI line with no EXT-X-STREAM-INF is a playlist.
    let (out, report) = rw
        .rewrite(b"#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\"\nstray.m3u8\n")
        .unwrap();
    assert!(
        out.ends_with(b"stray.m3u8?c=1\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(report.tag(UriSource::Line).rewritten, 1);
    // In a media playlist it is media.
    let (out, _) = rw
        .rewrite(b"#EXTM3U\n#EXT-X-TARGETDURATION:4\nstray.ts\n")
        .unwrap();
    assert!(out.ends_with(format!("stray.ts?{MEDIA}\n").as_bytes()));
}

#[test]
fn variable_uris_are_signed_only_when_asked() {
    let input = b"#EXTM3U\n#EXT-X-DEFINE:QUERYPARAM=\"t\"\n#EXTINF:4,\ns.ts?t={$t}\n";
    let (_, report) = media_only().rewrite(input).unwrap();
    assert_eq!(report.skipped_for(SkipReason::Variable), 1);
    let (out, report) = media_only()
        .sign_variable_uris(true)
        .rewrite(input)
        .unwrap();
    assert_eq!(report.rewritten, 1);
    assert!(out.ends_with(format!("s.ts?t={{$t}}&{MEDIA}\n").as_bytes()));
    // Still never on another origin.
    let (_, report) = rewriter(BASE)
        .sign_variable_uris(true)
        .rewrite(b"#EXTM3U\n#EXTINF:4,\nhttps://ads.example.net/{$id}.ts\n")
        .unwrap();
    assert_eq!(report.skipped_for(SkipReason::OtherOrigin), 1);
}

#[test]
fn kinds_are_reported() {
    let kind = |s: &[u8]| rewriter(BASE).rewrite(s).unwrap().1.kind;
    assert_eq!(kind(b"#EXTM3U\n#EXTINF:4,\na.ts\n"), PlaylistKind::Media);
    assert_eq!(
        kind(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n"),
        PlaylistKind::Master
    );
    assert_eq!(kind(b"#EXTM3U\n#EXT-X-VERSION:3\n"), PlaylistKind::Unknown);
    assert_eq!(
        kind(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n#EXTINF:4,\na.ts\n"),
        PlaylistKind::Mixed
    );
}

#[test]
fn skipped_uris_are_listed_up_to_a_cap_and_counted_exactly() {
    let mut input = b"#EXTM3U\n".to_vec();
    for i in 0..100 {
        input.extend_from_slice(format!("#EXTINF:4,\nskd://k{i}\n").as_bytes());
    }
    let (out, report) = rewriter(BASE).rewrite(&input).unwrap();
    assert_eq!(out, input);
    assert_eq!(report.skipped, 100);
    assert_eq!(report.skipped_for(SkipReason::Scheme), 100);
    assert_eq!(
        report.skipped_uris.len(),
        hlsgate_core::hls::Report::MAX_LISTED
    );
    assert_eq!(report.skipped_uris[1].line, 5);
    assert_eq!(report.skipped_uris[1].uri, "skd://k1");
}

#[test]
fn bad_base_urls_are_refused() {
    for bad in [
        "cdn.example.com/x",
        "ftp://cdn.example.com/x",
        "data:,x",
        "https://",
    ] {
        assert!(media_only().base_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn signed_params_convert_to_query_params() {
    let signer = crate::common::rsa_signer(hlsgate_core::signing::HashAlgorithm::Sha256);
    let policy = hlsgate_core::signing::Policy::new(
        "https://cdn.example.com/videos/v1/*",
        hlsgate_core::signing::Epoch::new(crate::common::NOW + 3600).unwrap(),
    )
    .unwrap();
    let signed = signer.sign_custom(&policy).unwrap();
    let params = QueryParams::from(&signed);
    assert_eq!(params.as_str(), signed.query_string());
    assert_eq!(params.get("Hash-Algorithm"), Some("SHA256"));
}

/// A DRM vendor's ladder, as MediaConvert writes it with SPEKE for
/// SAMPLE-AES (FairPlay): the `skd://` key URIs and the vendor's own https
/// URIs are the vendor's, left byte for byte and never given our signature;
/// the segments beside them are signed.
#[test]
fn a_vendors_key_uris_are_left_untouched() {
    let media = b"#EXTM3U\n#EXT-X-VERSION:5\n#EXT-X-TARGETDURATION:6\n\
#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://a1b2c3d4-vendor-asset\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\"\n\
#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"https://licence.vendor.example/fairplay/key?asset=abc\",KEYFORMAT=\"com.vendor\",KEYFORMATVERSIONS=\"1\"\n\
#EXTINF:6.0,\nseg_00001.ts\n#EXT-X-ENDLIST\n";
    let master = b"#EXTM3U\n\
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://a1b2c3d4-vendor-asset\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000\nmaster_360p.m3u8\n";
    for input in [&media[..], &master[..]] {
        let (out, report) = rewriter(BASE).rewrite(input).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("URI=\"skd://a1b2c3d4-vendor-asset\","),
            "{text}"
        );
        if input == &media[..] {
            assert!(
                text.contains("URI=\"https://licence.vendor.example/fairplay/key?asset=abc\","),
                "{text}"
            );
            assert!(
                text.contains("seg_00001.ts?"),
                "the segment is signed: {text}"
            );
            assert_eq!(report.skipped_for(SkipReason::OtherOrigin), 1);
        } else {
            assert!(text.contains("master_360p.m3u8?"), "{text}");
        }
        assert_eq!(report.skipped_for(SkipReason::Scheme), 1);
        assert_eq!(report.rewritten, 1, "{text}");
        for line in text.lines().filter(|l| l.contains("vendor")) {
            assert!(
                !line.contains("Signature") && !line.contains("Policy"),
                "{line}"
            );
        }
    }
}
