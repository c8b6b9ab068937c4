//! The local edge: what CloudFront does for `/videos/**` in the deployed
//! stack, with the same key group.
//!
//! 1. A request must carry a signature: query parameters, else signed
//!    cookies (CloudFront's order). It is checked with the core verifier:
//!    key id, signature, resource pattern, expiry, and the viewer's address.
//!    A refusal is a 403 with CloudFront's XML body, plus the dev-only
//!    `X-Hlsgate-Dev-Reason` header naming the failed check.
//! 2. The signing parameters are stripped. `*.m3u8` and `*/hls.key` (an
//!    encrypted ladder's key: the distribution's key behaviour) go to the rewriter
//!    handler with the origin secret header, the viewer's address, and only
//!    the forwarded `-PREFIX` copies and `CloudFront-*` signing cookies (the
//!    origin request policy's lists), which the rewriter verifies again.
//!    Everything else comes from the media bucket through the S3 API, with
//!    `Range` passed on, as the S3 origin behind origin access control does.

use std::net::SocketAddr;

use aws_sdk_s3::operation::get_object::GetObjectError;
use bytes::Bytes;
use hlsgate_core::signing::ParamSuffix;
use hlsgate_core::signing::names::{self, COOKIE, QUERY};
use hlsgate_core::signing::{Context, KeyGroup, Verified, VerifyError, verify_cookies, verify_url};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::lambda;
use crate::routes::Answer;
use crate::setup::MEDIA_BUCKET;

/// The dev-only header that names why the edge refused a request.
pub const REASON_HEADER: &str = "x-hlsgate-dev-reason";

/// A refusal, in CloudFront's words and in ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// CloudFront's `<Code>`.
    pub code: &'static str,
    /// CloudFront's `<Message>`.
    pub message: &'static str,
    /// Which check failed, for the dev header (CloudFront never says).
    pub reason: String,
}

/// CloudFront's check: signed URL parameters when the URL has any, else
/// signed cookies, else refused.
pub fn authorize(
    url: &str,
    cookie_header: Option<&str>,
    keys: &KeyGroup,
    ctx: Context,
) -> Result<Verified, Denial> {
    let in_url = names::split_signing_params(url, &QUERY)
        .map(|(_, found)| !found.is_empty())
        .unwrap_or(true);
    let result = if in_url {
        verify_url(url, keys, ctx)
    } else {
        match cookie_header.filter(|c| c.contains("CloudFront-")) {
            Some(c) => verify_cookies(url, c, keys, ctx),
            None => {
                return Err(Denial {
                    code: "MissingKey",
                    message: "Missing Key-Pair-Id query parameter or cookie value",
                    reason: "missing_key: no signed URL parameters and no CloudFront-* cookies"
                        .into(),
                });
            }
        }
    };
    result.map_err(|e| {
        let message = match e {
            VerifyError::UnknownKeyId { .. } => "Unknown Key",
            _ => "Access denied",
        };
        Denial {
            code: "AccessDenied",
            message,
            reason: format!("{}: {e}", e.code()),
        }
    })
}

/// Whether CloudFront's behaviours send `key` to the rewriter: playlists,
/// and video folders' keys, which only the rewriter's key route serves.
fn to_rewriter(key: &str) -> bool {
    key.ends_with(".m3u8")
        || key
            .strip_suffix(hlsgate_core::video::KEY_NAME)
            .is_some_and(|rest| rest.ends_with('/'))
}

/// The query the `*.m3u8` behaviour forwards to the rewriter: only the
/// suffixed copies of the signing parameters, bytes unchanged.
pub fn forwarded_query(query: &str, suffix: &ParamSuffix) -> String {
    let suffix = suffix.as_str();
    query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(n, _)| n);
            name.strip_suffix(suffix)
                .is_some_and(|base| !base.is_empty() && QUERY.contains(base))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Cookie` header the `*.m3u8` behaviour forwards: only the signing
/// cookies, in the viewer's order; `None` when there are none.
pub fn forwarded_cookies(cookie_header: &str) -> Option<String> {
    let kept: Vec<&str> = cookie_header
        .split(';')
        .map(str::trim)
        .filter(|pair| COOKIE.contains(pair.split_once('=').map_or(*pair, |(n, _)| n)))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// The object key for a request path (`/videos/a/b.ts` → `videos/a/b.ts`),
/// or `None` for paths no S3 key answers to.
pub fn object_key(raw_path: &str) -> Option<String> {
    let lower = raw_path.to_ascii_lowercase();
    if ["%2f", "%5c", "%00"].iter().any(|b| lower.contains(b)) {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()
        .ok()?;
    let key = decoded.strip_prefix('/')?;
    if key.is_empty()
        || key.split('/').any(|s| s == ".." || s == ".")
        || key.bytes().any(|b| b.is_ascii_control() || b == b'\\')
    {
        return None;
    }
    Some(key.to_string())
}

/// CloudFront's 403 page, with the reason in the dev header.
pub fn denied(d: &Denial) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message></Error>",
        d.code, d.message
    );
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::FORBIDDEN;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    h.insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
    if let Ok(v) = HeaderValue::try_from(header_safe(&d.reason)) {
        h.insert(REASON_HEADER, v);
    }
    r
}

/// What S3 answers through origin access control for a key it does not
/// have: 403, since CloudFront may not list the bucket.
pub fn s3_error(status: StatusCode, code: &str, reason: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message></Error>",
        if code == "AccessDenied" {
            "Access Denied"
        } else {
            code
        }
    );
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    h.insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
    if let Ok(v) = HeaderValue::try_from(header_safe(reason)) {
        h.insert(REASON_HEADER, v);
    }
    r
}

/// A header value: printable ASCII, at most 500 characters.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(500)
        .collect()
}

/// An object from the media bucket, as the S3 origin serves it.
pub async fn from_s3(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    method: &Method,
    range: Option<&str>,
) -> Response<Full<Bytes>> {
    let result = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range.map(str::to_string))
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            return match e.as_service_error() {
                Some(GetObjectError::NoSuchKey(_)) => s3_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!(
                        "origin: no object {key} in the media bucket (S3 answers 403, not 404, to \
                         CloudFront when the key is missing, as it may not list the bucket)"
                    ),
                ),
                _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => s3_error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "origin: the requested range is not satisfiable",
                ),
                _ => s3_error(
                    StatusCode::BAD_GATEWAY,
                    "BadGateway",
                    &format!(
                        "origin: S3 failed: {}",
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    ),
                ),
            };
        }
    };
    let mut headers = HeaderMap::new();
    let content_type = out
        .content_type()
        .filter(|t| !t.is_empty() && *t != "binary/octet-stream")
        .map_or_else(
            || crate::setup::content_type(key).to_string(),
            str::to_string,
        );
    let mut put = |name: header::HeaderName, v: Option<String>| {
        if let Some(v) = v.and_then(|v| HeaderValue::try_from(v).ok()) {
            headers.insert(name, v);
        }
    };
    put(header::CONTENT_TYPE, Some(content_type));
    put(header::ETAG, out.e_tag().map(str::to_string));
    put(
        header::CONTENT_RANGE,
        out.content_range().map(str::to_string),
    );
    put(
        header::LAST_MODIFIED,
        out.last_modified()
            .and_then(|t| t.fmt(aws_sdk_s3::primitives::DateTimeFormat::HttpDate).ok()),
    );
    let status = if out.content_range().is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = match out.body.collect().await {
        Ok(b) => b.into_bytes(),
        Err(e) => {
            return s3_error(
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                &format!("origin: reading {key}: {e}"),
            );
        }
    };
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert("x-cache", HeaderValue::from_static("Miss from cloudfront"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let body = if *method == Method::HEAD {
        Bytes::new()
    } else {
        body
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// The header the distribution's viewer-request function sets to the
/// viewer's origin (`PUBLIC_ORIGIN_HEADER` in the rewriter's environment).
pub const PUBLIC_ORIGIN_HEADER: &str = "x-hlsgate-origin";

/// `CloudFront-Viewer-Address`: `ip:port`, as the origin request policy sends it.
pub fn viewer_address(peer: SocketAddr) -> String {
    format!("{}:{}", peer.ip(), peer.port())
}

impl crate::Stack {
    /// What the distribution adds to every request it sends an origin (the
    /// rewriter's and the issuer's alike): the origin secret, and the
    /// viewer's address as `CloudFront-Viewer-Address`.
    pub(crate) fn cloudfront_headers(&self, peer: SocketAddr) -> [(String, String); 2] {
        [
            (
                self.rewriter.config.origin.header.as_str().to_string(),
                self.secrets.origin_secret.clone(),
            ),
            (
                "cloudfront-viewer-address".to_string(),
                viewer_address(peer),
            ),
        ]
    }

    /// CloudFront for `/videos/**`.
    pub(crate) async fn edge(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let method = req.method().clone();
        // The response-headers policy's CORS: the origins the functions allow.
        let cors_origins = &self.rewriter.config.cors_origins;
        let cors = hlsgate_aws::web::allowed_origin(cors_origins, req.headers())
            .and_then(|o| HeaderValue::try_from(o).ok());
        let mut answer = if method == Method::OPTIONS {
            lambda::response(self.rewriter.frame.preflight(req.headers()))
        } else if method != Method::GET && method != Method::HEAD {
            denied(&Denial {
                code: "MethodNotAllowed",
                message: "This distribution is not configured to allow the HTTP request method that was used for this request.",
                reason: format!("method {method}: the behaviours allow GET, HEAD, OPTIONS"),
            })
        } else {
            self.edge_get(req, peer).await
        };
        if let Some(origin) = cors {
            let h = answer.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Content-Range, Content-Length, X-Hlsgate-Dev-Reason"),
            );
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        answer
    }

    pub(crate) async fn edge_get(&self, req: &Request<Incoming>, peer: SocketAddr) -> Answer {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        // CloudFront checks the URL as the viewer asked for it, host included.
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| self.public_origin.clone(), |h| format!("http://{h}"));
        let url = format!("{host}{path_and_query}");
        let cookies = hlsgate_aws::web::cookie_header(req.headers());
        let ctx = Context {
            now: (self.rewriter.clock)(),
            viewer_ip: Some(peer.ip()),
        };
        if let Err(d) = authorize(
            &url,
            cookies.as_deref(),
            &self.rewriter.config.key_group,
            ctx,
        ) {
            tracing::info!(%path_and_query, reason = %d.reason, "edge: 403");
            return denied(&d);
        }
        let Some(key) = object_key(req.uri().path()) else {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "InvalidURI",
                "a path no S3 key answers to",
            );
        };
        if to_rewriter(&key) {
            let query = forwarded_query(
                req.uri().query().unwrap_or(""),
                &self.rewriter.config.suffix,
            );
            let mut headers = self.cloudfront_headers(peer).to_vec();
            headers.extend([
                // The viewer-request function's header: the origin the
                // viewer used (the rewriter behind a Function URL).
                (PUBLIC_ORIGIN_HEADER.to_string(), host.clone()),
                ("accept".to_string(), "*/*".to_string()),
                ("user-agent".to_string(), "Amazon CloudFront".to_string()),
                (
                    "via".to_string(),
                    "1.1 hlsgate-dev (CloudFront)".to_string(),
                ),
            ]);
            if let Some(c) = cookies.as_deref().and_then(forwarded_cookies) {
                headers.push((header::COOKIE.as_str().to_string(), c));
            }
            for name in [header::ACCEPT_ENCODING, header::ORIGIN] {
                if let Some(v) = req.headers().get(&name).and_then(|v| v.to_str().ok()) {
                    headers.push((name.as_str().to_string(), v.to_string()));
                }
            }
            let mut answer = self
                .call_rewriter(req.method(), req.uri().path(), &query, headers, peer)
                .await;
            answer
                .headers_mut()
                .insert("x-cache", HeaderValue::from_static("Miss from cloudfront"));
            return answer;
        }
        let range = req
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok());
        from_s3(&self.s3, MEDIA_BUCKET, &key, req.method(), range).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hlsgate_core::signing::{
        Epoch, HashAlgorithm, KeyAlgorithm, KeyPairId, PrivateKey, Signer,
    };

    fn signer() -> (Signer, KeyGroup) {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let id = KeyPairId::new("KDEVTEST000001").unwrap();
        let mut group = KeyGroup::new();
        group.insert(id.clone(), key.public_key().unwrap());
        (Signer::new(key, id, HashAlgorithm::Sha256), group)
    }

    const ORIGIN: &str = "http://127.0.0.1:8080";

    fn ctx(now: u64) -> Context {
        Context {
            now,
            viewer_ip: Some("127.0.0.1".parse().unwrap()),
        }
    }

    #[test]
    fn urls_then_cookies_then_refusal() {
        let (s, group) = signer();
        let folder = s
            .sign_folder(
                &format!("{ORIGIN}/videos/a/"),
                Epoch::new(2_000).unwrap(),
                None,
                None,
            )
            .unwrap();
        let url = folder.apply_to(&format!("{ORIGIN}/videos/a/x.ts")).unwrap();
        assert!(authorize(&url, None, &group, ctx(1_000)).is_ok());
        let late = authorize(&url, None, &group, ctx(3_000)).unwrap_err();
        assert_eq!(late.code, "AccessDenied");
        assert!(late.reason.starts_with("expired:"), "{}", late.reason);
        let other = folder.query_string();
        let elsewhere = authorize(
            &format!("{ORIGIN}/videos/b/x.ts?{other}"),
            None,
            &group,
            ctx(1_000),
        )
        .unwrap_err();
        assert!(
            elsewhere.reason.starts_with("resource_mismatch"),
            "{}",
            elsewhere.reason
        );

        let cookies: Vec<String> = folder
            .cookies()
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let jar = format!("theme=dark; {}", cookies.join("; "));
        let plain = format!("{ORIGIN}/videos/a/x.ts");
        assert!(authorize(&plain, Some(&jar), &group, ctx(1_000)).is_ok());
        // URL parameters win over cookies, as at CloudFront.
        let forged = format!("{plain}?Expires=1&Signature=AAAA&Key-Pair-Id=KDEVTEST000001");
        assert!(authorize(&forged, Some(&jar), &group, ctx(1_000)).is_err());
        let none = authorize(&plain, Some("theme=dark"), &group, ctx(1_000)).unwrap_err();
        assert_eq!(none.code, "MissingKey");
        let unknown = authorize(
            &forged.replace("KDEVTEST000001", "KOTHER"),
            None,
            &group,
            ctx(1_000),
        )
        .unwrap_err();
        assert_eq!(unknown.message, "Unknown Key");
    }

    #[test]
    fn only_the_copies_reach_the_rewriter() {
        let q = "Policy=p&Signature=s&Key-Pair-Id=k&Policy-PREFIX=p2&Signature-PREFIX=s2&Key-Pair-Id-PREFIX=k2&Hash-Algorithm-PREFIX=SHA256&x=1&-PREFIX=y";
        assert_eq!(
            forwarded_query(q, &ParamSuffix::default()),
            "Policy-PREFIX=p2&Signature-PREFIX=s2&Key-Pair-Id-PREFIX=k2&Hash-Algorithm-PREFIX=SHA256"
        );
        assert_eq!(forwarded_query("", &ParamSuffix::default()), "");
    }

    #[test]
    fn only_the_signing_cookies_reach_the_rewriter() {
        assert_eq!(
            forwarded_cookies(
                "theme=dark; CloudFront-Policy=p;CloudFront-Signature=s; session=x; \
                 CloudFront-Key-Pair-Id=K; CloudFront-Hash-Algorithm=SHA256; CloudFront-Expires=9"
            )
            .as_deref(),
            Some(
                "CloudFront-Policy=p; CloudFront-Signature=s; CloudFront-Key-Pair-Id=K; \
                 CloudFront-Hash-Algorithm=SHA256; CloudFront-Expires=9"
            )
        );
        assert_eq!(forwarded_cookies("theme=dark; Policy=p"), None);
        assert_eq!(forwarded_cookies(""), None);
    }

    #[test]
    fn keys_from_paths() {
        assert_eq!(
            object_key("/videos/a/b%20c.ts").as_deref(),
            Some("videos/a/b c.ts")
        );
        assert_eq!(object_key("/videos/../x"), None);
        assert_eq!(object_key("/videos/a%2Fb"), None);
        assert_eq!(object_key("/"), None);
    }

    #[test]
    fn refusals_look_like_cloudfront() {
        let r = denied(&Denial {
            code: "AccessDenied",
            message: "Access denied",
            reason: "expired: valid until 1\n".into(),
        });
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()[REASON_HEADER], "expired: valid until 1?");
        assert_eq!(r.headers()["x-cache"], "Error from cloudfront");
    }
}
