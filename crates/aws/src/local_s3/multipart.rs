//! What S3 does with multipart uploads and s3s-fs 0.14 does not, added in
//! front of it so the local stack refuses what S3 refuses:
//! - `ListParts` lists each part's `ETag` (the MD5 of its bytes), in part
//!   order; s3s-fs lists neither.
//! - `CompleteMultipartUpload` is refused (`InvalidPart`) when a listed
//!   `ETag` is not the stored part's, and (`InvalidRequest`) when
//!   `x-amz-mp-object-size` is not the parts' total; s3s-fs checks neither.
//!
//! s3s-fs keeps a part at `root/.upload_id-UUID.part-N`; that layout is
//! s3s-fs 0.14's, pinned by the workspace, and checked by the tests of
//! `upload-api`, which go through it.

use std::path::Path;

use bytes::Bytes;
use md5::{Digest, Md5};

/// A stored part: its number, size and `ETag` (quoted, as S3 writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub size: u64,
    pub etag: String,
}

/// The multipart requests handled here before s3s-fs sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `POST …?uploadId=ID`.
    Complete(String),
    /// `GET …?uploadId=ID` (without `partNumber`, which reads a part).
    ListParts(String),
}

impl Operation {
    /// What `method` and `query` ask for, when it is one of these.
    pub fn of(method: &http::Method, query: Option<&str>) -> Option<Operation> {
        let mut upload_id = None;
        let mut part_number = false;
        for (k, v) in url::form_urlencoded::parse(query?.as_bytes()) {
            match k.as_ref() {
                "uploadId" => upload_id = Some(v.into_owned()),
                "partNumber" => part_number = true,
                _ => {}
            }
        }
        match (method, upload_id) {
            (&http::Method::POST, Some(id)) => Some(Operation::Complete(id)),
            (&http::Method::GET, Some(id)) if !part_number => Some(Operation::ListParts(id)),
            _ => None,
        }
    }
}

/// The parts of `upload_id` stored under `root`, in part order.
pub fn stored_parts(root: &Path, upload_id: &str) -> std::io::Result<Vec<Part>> {
    let prefix = format!(".upload_id-{upload_id}.part-");
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let bytes = std::fs::read(entry.path())?;
        parts.push(Part {
            number,
            size: bytes.len() as u64,
            etag: format!("\"{}\"", hex_md5(&bytes)),
        });
    }
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

fn hex_md5(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// The text between `<tag>` and `</tag>` in each of `xml`'s `tag` elements.
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// `s` as XML text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `ListPartsResult` as S3 writes it, for `parts` of one upload.
pub fn list_parts_xml(bucket: &str, key: &str, upload_id: &str, parts: &[Part]) -> Bytes {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId>\
         <MaxParts>10000</MaxParts><IsTruncated>false</IsTruncated>",
        esc(bucket),
        esc(key),
        esc(upload_id)
    );
    for p in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag><Size>{}</Size></Part>",
            p.number,
            esc(&p.etag),
            p.size
        ));
    }
    xml.push_str("</ListPartsResult>");
    Bytes::from(xml)
}

/// Why S3 would refuse to complete with `body` (and `mpu_object_size`,
/// when given): `(status, code, message)`; `None` when it would not.
pub fn refusal(
    stored: &[Part],
    body: &[u8],
    mpu_object_size: Option<&str>,
) -> Option<(u16, &'static str, String)> {
    let text = String::from_utf8_lossy(body);
    for part in elements(&text, "Part") {
        let number = elements(part, "PartNumber")
            .first()
            .and_then(|n| n.trim().parse::<u32>().ok());
        let etag = elements(part, "ETag")
            .first()
            .map(|e| e.replace("&quot;", "\"").replace("&#34;", "\""));
        let found = stored.iter().find(|p| Some(p.number) == number);
        let same = match (found, &etag) {
            (Some(p), Some(e)) => p.etag.trim_matches('"') == e.trim().trim_matches('"'),
            _ => false,
        };
        if !same {
            return Some((
                400,
                "InvalidPart",
                "One or more of the specified parts could not be found. The part may not have \
                 been uploaded, or the specified entity tag may not match the part's entity tag."
                    .into(),
            ));
        }
    }
    if let Some(expected) = mpu_object_size {
        let listed: Vec<u32> = elements(&text, "PartNumber")
            .iter()
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        let total: u64 = stored
            .iter()
            .filter(|p| listed.contains(&p.number))
            .map(|p| p.size)
            .sum();
        if expected.trim().parse::<u64>().ok() != Some(total) {
            return Some((
                400,
                "InvalidRequest",
                format!(
                    "The provided 'x-amz-mp-object-size' header value {expected} does not match \
                     what was computed: {total}"
                ),
            ));
        }
    }
    None
}

/// An S3 error document (the message may quote the request: escaped).
pub fn error_xml(code: &str, message: &str) -> Bytes {
    Bytes::from(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
         <Message>{}</Message></Error>",
        esc(message)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_is_refused_as_s3_refuses_it() {
        let stored = [
            Part {
                number: 1,
                size: 5,
                etag: "\"aa\"".into(),
            },
            Part {
                number: 2,
                size: 1,
                etag: "\"bb\"".into(),
            },
        ];
        let body = |e2: &str| {
            format!(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part>\
                 <Part><ETag>{e2}</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"
            )
        };
        assert_eq!(refusal(&stored, body("bb").as_bytes(), Some("6")), None);
        assert_eq!(refusal(&stored, body("\"bb\"").as_bytes(), None), None);
        assert_eq!(
            refusal(&stored, body("cc").as_bytes(), None).map(|r| r.1),
            Some("InvalidPart")
        );
        assert_eq!(
            refusal(&stored, body("bb").as_bytes(), Some("7")).map(|r| r.1),
            Some("InvalidRequest")
        );
        use http::Method;
        let op = |m: &Method, q: &str| Operation::of(m, Some(q));
        assert_eq!(
            op(&Method::POST, "uploadId=a%2Fb"),
            Some(Operation::Complete("a/b".into()))
        );
        assert_eq!(
            op(&Method::GET, "uploadId=u"),
            Some(Operation::ListParts("u".into()))
        );
        // Reading or writing one part, or any other request, is s3s-fs's.
        assert_eq!(op(&Method::GET, "partNumber=1&uploadId=u"), None);
        assert_eq!(op(&Method::PUT, "partNumber=1&uploadId=u"), None);
        assert_eq!(op(&Method::GET, "list-type=2"), None);
        assert_eq!(Operation::of(&Method::GET, None), None);
        assert!(
            String::from_utf8_lossy(&error_xml("InvalidRequest", "value <1&2>"))
                .contains("<Message>value &lt;1&amp;2&gt;</Message>")
        );
    }
}
