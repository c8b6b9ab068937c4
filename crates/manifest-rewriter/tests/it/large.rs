//! Lambda's 6 MB response limit: a 40,001-segment playlist signed with RSA
//! parameters is ~24 MB, so it must go out compressed, or not at all.

use hlsgate_manifest_rewriter::body::BODY_BUDGET;

use crate::common::*;

fn long_playlist(segments: usize) -> String {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n",
    );
    for i in 0..segments {
        s.push_str(&format!("#EXTINF:6.000,\nseg_{i:06}.ts\n"));
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

#[tokio::test]
async fn forty_thousand_segments_fit_when_compressed_and_502_when_not() {
    let app = app(&[]);
    let playlist = long_playlist(40_001);
    app.objects
        .source()
        .put("videos/demo/long.m3u8", playlist.clone());
    let call_with = |accept: Option<&str>| {
        let c = Call::get("/videos/demo/long.m3u8", &good_query());
        match accept {
            Some(a) => c.header("Accept-Encoding", a),
            None => c.without("Accept-Encoding"),
        }
    };
    for accept in ["gzip", "br"] {
        let r = call(&app, &call_with(Some(accept))).await;
        assert_eq!(r.status(), 200, "{accept}");
        let lambda_hlsgate::Sizes { encoded, decoded } = lambda_hlsgate::sizes(&r);
        eprintln!("40,001 segments, {accept}: {decoded} bytes decoded, {encoded} in the response");
        assert!(encoded < BODY_BUDGET, "{accept}: {encoded} bytes");
        assert!(decoded > 20_000_000, "{decoded}");
        let text = String::from_utf8(body(&r)).unwrap();
        assert_eq!(text.lines().count(), playlist.lines().count());
        assert_eq!(text.matches("Signature=").count(), 40_001);
        let edge = hlsgate_core::hls::QueryParams::from(&signed_folder("demo"));
        assert!(text.ends_with(&format!(
            "seg_040000.ts?{}\n#EXT-X-ENDLIST\n",
            edge.as_str()
        )));
    }
    let r = call(&app, &call_with(None)).await;
    assert_eq!(r.status(), 502);
    assert_eq!(json_body(&r)["error"], "response_too_large");
}

/// Sizes of a response body: as carried in the Lambda response, and decoded.
mod lambda_hlsgate {
    use lambda_http::{Body, Response};

    pub struct Sizes {
        pub encoded: usize,
        pub decoded: usize,
    }

    pub fn sizes(r: &Response<Body>) -> Sizes {
        Sizes {
            encoded: hlsgate_manifest_rewriter::body::encoded_len(r.body()),
            decoded: crate::common::body(r).len(),
        }
    }
}
