//! Property: random playlists built from tag templates keep every byte that
//! is not a URI, sign exactly the URIs the generator meant to be signed, and
//! rewrite to themselves a second time.

use proptest::prelude::*;

use super::{BASE, CHILD, MEDIA, insertions, rewriter};

/// A URI and whether it must be signed (relative to [`BASE`]).
fn uri() -> impl Strategy<Value = (String, bool)> {
    let signed = prop_oneof![
        "[a-z0-9_]{1,12}(/[a-z0-9_.-]{1,12}){0,2}\\.(ts|m4s|m3u8|key)",
        "[a-z0-9]{1,8}\\.ts\\?[a-z]{1,4}=[a-z0-9%]{0,6}(&[a-z]{1,3}=[0-9]{1,3}){0,2}",
        "[a-z]{1,8}\\.ts\\?([a-z]=1&)?",
        "[a-z]{1,8}\\.mp4(\\?v=[0-9])?#t=[0-9]{1,3}(,[0-9]{1,2})?",
        "(\\.\\./){1,3}[a-z]{1,8}\\.ts",
        "/videos/v1/[a-z]{1,8}\\.ts",
        "(https|HTTPS)://(cdn\\.example\\.com|CDN\\.example\\.COM)(:443)?/videos/v1/[a-z]{1,8}\\.ts",
        "//cdn\\.example\\.com/[a-z]{1,8}\\.ts",
    ]
    .prop_map(|u| (u, true));
    let skipped = prop_oneof![
        "https://(other\\.example\\.net|cdn\\.example\\.com:8443)/[a-z]{1,8}\\.ts",
        "http://cdn\\.example\\.com/[a-z]{1,8}\\.ts",
        "//other\\.example\\.net/[a-z]{1,8}\\.ts",
        "data:text/plain;base64,[A-Za-z0-9+/]{4,12}=?",
        "skd://[a-z]{1,8}(/[0-9]{1,3})?",
        "[a-z]{1,6}\\.ts\\?t=\\{\\$[a-z]{1,5}\\}",
        "\\{\\$[a-z]{1,5}\\}/[a-z]{1,6}\\.ts",
    ]
    .prop_map(|u| (u, false));
    prop_oneof![3 => signed, 1 => skipped, 2 => spelled()]
}

/// The spellings a WHATWG parser (a player's) reads as naming a host:
/// optional leading C0 controls, an optional `https:` in any case (a tab
/// inside it is dropped), two of `/` and `\` with a tab or a carriage
/// return between them, optional userinfo, then a host. Signed only when the
/// host, after case folding and default ports, is [`BASE`]'s own. (Three
/// slashes are in the golden file: the `url` crate refuses `///host`, which
/// is skipped.)
fn spelled() -> impl Strategy<Value = (String, bool)> {
    let lead = prop::sample::select(vec!["", "\u{1}", "\u{1f}", "\u{0}\u{8}", "\u{1b}\u{1}"]);
    let scheme = prop::sample::select(vec!["", "https:", "HTTPS:", "hT\ttps:", "https\r:"]);
    let slash = prop::sample::select(vec!["/", "\\"]);
    let gap = prop::sample::select(vec!["", "", "\t", "\r"]);
    let slashes = (slash.clone(), gap, slash).prop_map(|(a, g, b)| format!("{a}{g}{b}"));
    let user = prop::sample::select(vec![
        "",
        "u@",
        "u:p@",
        "cdn.example.com@",
        "cdn.example.com:443@",
    ]);
    let host = prop::sample::select(vec![
        ("cdn.example.com", true),
        ("CDN.Example.COM", true),
        ("cdn.example.com:443", true),
        ("cdn.example.com:0443", true),
        ("evil.example", false),
        ("EVIL.example", false),
        ("cdn.example.com.", false),
        ("cdn.example.com:8443", false),
        ("cdn.example.com.evil.example", false),
        ("cdn.example.com\u{3002}evil.example", false),
    ]);
    (lead, scheme, slashes, user, host, "[a-z]{1,8}\\.ts").prop_map(
        |(lead, scheme, slashes, user, (host, same), file)| {
            (format!("{lead}{scheme}{slashes}{user}{host}/{file}"), same)
        },
    )
}

/// Bytes for free text inside a line: anything but a line feed.
fn text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..24)
}

/// A quoted attribute value that is not a URI: commas and `URI=` text are
/// fair game, quotes and line breaks are not.
fn quoted() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ !#-~]{0,16}",
        Just("a, URI=x.ts".to_string()),
        Just("X-ASSET-URI=y.m3u8,URI=".to_string()),
        Just("mp4a.40.2,avc1.64001f".to_string()),
    ]
}

/// One line (without its end) and how many URIs on it must be signed.
fn line() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let attr_tag = (
        prop::sample::select(vec![
            ("EXT-X-KEY", "URI", "METHOD=AES-128"),
            ("EXT-X-SESSION-KEY", "URI", "METHOD=SAMPLE-AES"),
            ("EXT-X-MAP", "URI", "BYTERANGE=\"718@0\""),
            ("EXT-X-MEDIA", "URI", "TYPE=AUDIO,GROUP-ID=\"a\""),
            ("EXT-X-I-FRAME-STREAM-INF", "URI", "BANDWIDTH=1"),
            ("EXT-X-IMAGE-STREAM-INF", "URI", "BANDWIDTH=1"),
            ("EXT-X-SESSION-DATA", "URI", "DATA-ID=\"d\""),
            ("EXT-X-PART", "URI", "DURATION=1.0"),
            ("EXT-X-PRELOAD-HINT", "URI", "TYPE=PART"),
            ("EXT-X-RENDITION-REPORT", "URI", "LAST-MSN=1"),
            ("EXT-X-CONTENT-STEERING", "SERVER-URI", "PATHWAY-ID=\"p\""),
            ("EXT-X-DATERANGE", "X-ASSET-URI", "ID=\"i\""),
            ("EXT-X-DATERANGE", "X-ASSET-LIST", "ID=\"j\""),
        ]),
        uri(),
        quoted(),
        any::<bool>(),
        "[ \t]{0,1}",
    )
        .prop_map(
            |((tag, attr, other), (uri, signed), note, uri_first, indent)| {
                let uri_attr = format!("{attr}=\"{uri}\"");
                let rest = format!("{other},X-NOTE=\"{note}\"");
                let list = if uri_first {
                    format!("{uri_attr},{rest}")
                } else {
                    format!("{rest},{uri_attr}")
                };
                (
                    format!("{indent}#{tag}:{list}").into_bytes(),
                    usize::from(signed),
                )
            },
        );
    let uri_line = ("[ \t]{0,2}", uri(), "[ \t]{0,2}").prop_map(|(a, (uri, signed), b)| {
        (format!("{a}{uri}{b}").into_bytes(), usize::from(signed))
    });
    prop_oneof![
        4 => uri_line,
        3 => attr_tag,
        1 => text().prop_map(|t| ([b"# ".as_slice(), &t].concat(), 0)),
        1 => text().prop_map(|t| ([b"#EXT-X-UNKNOWN:".as_slice(), &t].concat(), 0)),
        1 => quoted().prop_map(|t| (format!("#EXTINF:4.000,{t}").into_bytes(), 0)),
        1 => quoted().prop_map(|t| (format!("#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"{t}\"").into_bytes(), 0)),
        1 => "[ \t]{0,3}".prop_map(|b| (b.into_bytes(), 0)),
    ]
}

/// A playlist, and how many URIs in it must be signed.
fn playlist() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (
        proptest::collection::vec((line(), any::<bool>()), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, header_crlf, final_newline)| {
            let mut out = if header_crlf {
                b"#EXTM3U\r\n".to_vec()
            } else {
                b"#EXTM3U\n".to_vec()
            };
            let mut signed = 0;
            let count = lines.len();
            for (k, ((bytes, n), crlf)) in lines.into_iter().enumerate() {
                out.extend_from_slice(&bytes);
                signed += n;
                if k + 1 < count || final_newline {
                    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            (out, signed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_playlists_keep_every_other_byte((input, expect_signed) in playlist()) {
        let rw = rewriter(BASE);
        let (out, report) = rw.rewrite(&input).unwrap();
        prop_assert_eq!(report.rewritten, expect_signed);
        prop_assert_eq!(insertions(&input, &out, &[MEDIA, CHILD]), Ok(expect_signed));
        let (again, _) = rw.rewrite(&out).unwrap();
        prop_assert!(again == out, "second rewrite changed the output");
        // The listing finds every URI the rewrite met, each on its line.
        let listed = hlsgate_core::hls::Rewriter::list(&input).unwrap();
        prop_assert_eq!(listed.len(), report.rewritten + report.skipped);
        let lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
        for u in &listed {
            let line = lines[u.line - 1];
            prop_assert!(u.uri.is_empty() || line.windows(u.uri.len()).any(|w| w == u.uri.as_bytes()), "{:?} not on line {}", u.uri, u.line);
        }
    }
}
