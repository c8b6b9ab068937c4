//! The response body: content-coding negotiation, streaming compression of
//! the rewriter's output, and Lambda's response size limit.

use std::io::Write;

use hlsgate_core::hls::{Report, RewriteError, Rewriter};
use lambda_http::Body;

/// Lambda's limit on a synchronous response (the whole JSON document).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// What the body may take once encoded into the response JSON; the rest is
/// left for the status, headers and JSON framing.
pub const BODY_BUDGET: usize = LAMBDA_RESPONSE_LIMIT - 16 * 1024;

/// A content coding we can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCoding {
    Identity,
    Gzip,
    Br,
}

impl ContentCoding {
    pub fn header(self) -> Option<&'static str> {
        match self {
            ContentCoding::Identity => None,
            ContentCoding::Gzip => Some("gzip"),
            ContentCoding::Br => Some("br"),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.header().unwrap_or("identity")
    }
}

/// The coding to use for an `Accept-Encoding` header: `br` when accepted,
/// else `gzip`, else none. `q=0` refuses a coding; `*` accepts both.
pub fn negotiate(accept_encoding: Option<&str>) -> ContentCoding {
    let Some(header) = accept_encoding else {
        return ContentCoding::Identity;
    };
    let (mut br, mut gzip, mut star) = (None, None, None);
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for p in parts {
            if let Some(v) = p
                .trim()
                .strip_prefix("q=")
                .or_else(|| p.trim().strip_prefix("Q="))
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        let accepted = q > 0.0;
        match coding.as_str() {
            "br" => br = Some(accepted),
            "gzip" | "x-gzip" => gzip = Some(accepted),
            "*" => star = Some(accepted),
            _ => {}
        }
    }
    if br.or(star) == Some(true) {
        ContentCoding::Br
    } else if gzip.or(star) == Some(true) {
        ContentCoding::Gzip
    } else {
        ContentCoding::Identity
    }
}

/// Compression settings, measured on the 2-hour playlist (1.1 MB signed, see
/// `benches/handler.rs`): gzip level 1 takes 1.3 ms against 2.9 ms at level
/// 4 and 3.1 ms at 6 (miniz_oxide; zlib-rs was slower here); brotli quality 4
/// takes 2.0 ms, where quality 1 falls off a cliff (15 ms) and 5–6 take 4.5 ms.
/// Signed playlists repeat the same parameters on every line, so even these
/// levels shrink a 24 MB, 40,001-segment playlist to 290 KB (gzip) or 62 KB (br).
const GZIP_LEVEL: u32 = 1;
const BR_QUALITY: u32 = 4;
const BR_WINDOW: u32 = 22;

/// A finished body.
#[derive(Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub encoding: ContentCoding,
    /// What the rewriter did; `None` when the playlist was passed through.
    pub report: Option<Report>,
}

/// Why no body could be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the playlist cannot be rewritten: {0}")]
    Rewrite(#[from] RewriteError),
    #[error("compression failed: {0}")]
    Compress(#[from] std::io::Error),
}

/// Rewrites (or copies) `input` straight into the chosen coding: a large
/// playlist never exists uncompressed in memory when the client accepts
/// compression.
pub fn render(
    rewriter: Option<&Rewriter>,
    input: &[u8],
    encoding: ContentCoding,
) -> Result<Rendered, RenderError> {
    let (bytes, report) = match encoding {
        ContentCoding::Identity => match rewriter {
            Some(r) => {
                let (out, report) = r.rewrite(input)?;
                (out, Some(report))
            }
            None => (input.to_vec(), None),
        },
        ContentCoding::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 2),
                flate2::Compression::new(GZIP_LEVEL),
            );
            let report = write_into(rewriter, input, &mut gz)?;
            (gz.finish()?, report)
        }
        ContentCoding::Br => {
            let mut br = brotli::CompressorWriter::new(
                Vec::with_capacity(input.len() / 2),
                64 * 1024,
                BR_QUALITY,
                BR_WINDOW,
            );
            let report = write_into(rewriter, input, &mut br)?;
            br.flush()?;
            (br.into_inner(), report)
        }
    };
    Ok(Rendered {
        bytes,
        encoding,
        report,
    })
}

fn write_into<W: Write>(
    rewriter: Option<&Rewriter>,
    input: &[u8],
    out: &mut W,
) -> Result<Option<Report>, RenderError> {
    match rewriter {
        Some(r) => Ok(Some(r.rewrite_to(input, out)?)),
        None => {
            out.write_all(input)?;
            Ok(None)
        }
    }
}

/// The body as Lambda will carry it: text when it is UTF-8 and not
/// compressed, otherwise base64 (`isBase64Encoded`).
pub fn lambda_body(bytes: Vec<u8>, encoding: ContentCoding) -> Body {
    if encoding == ContentCoding::Identity {
        match String::from_utf8(bytes) {
            Ok(s) => Body::Text(s),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    } else {
        Body::Binary(bytes)
    }
}

/// Bytes the body takes inside the response JSON: base64 for binary, JSON
/// string escaping for text.
pub fn encoded_len(body: &Body) -> usize {
    match body {
        Body::Empty => 0,
        Body::Binary(b) => b.len().div_ceil(3) * 4,
        Body::Text(s) => {
            s.len()
                + s.bytes()
                    .map(|b| match b {
                        b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                        0..=0x1f => 5,
                        _ => 0,
                    })
                    .sum::<usize>()
        }
        #[allow(unreachable_patterns)]
        _ => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        use ContentCoding::*;
        for (h, want) in [
            (None, Identity),
            (Some(""), Identity),
            (Some("gzip, deflate, br"), Br),
            (Some("gzip, deflate"), Gzip),
            (Some("br;q=0, gzip;q=0.5"), Gzip),
            (Some("BR;Q=0.1"), Br),
            (Some("gzip;q=0"), Identity),
            (Some("identity"), Identity),
            (Some("*"), Br),
            (Some("*;q=0"), Identity),
            (Some("br;q=0, *"), Gzip),
            (Some("deflate"), Identity),
        ] {
            assert_eq!(negotiate(h), want, "{h:?}");
        }
    }

    #[test]
    fn round_trips_and_sizes() {
        use std::io::Read;
        let input = "#EXTM3U\n#EXTINF:6,\nseg.ts\n".repeat(200);
        let gz = render(None, input.as_bytes(), ContentCoding::Gzip).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz.bytes[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, input);
        let br = render(None, input.as_bytes(), ContentCoding::Br).unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br.bytes[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, input.as_bytes());
        assert!(br.bytes.len() * 10 < input.len());

        assert_eq!(encoded_len(&Body::Binary(vec![0; 4])), 8);
        assert_eq!(encoded_len(&Body::Text("a\"b\n\u{1}".into())), 5 + 2 + 5);
        assert!(matches!(
            lambda_body(vec![0xff], ContentCoding::Identity),
            Body::Binary(_)
        ));
    }
}
