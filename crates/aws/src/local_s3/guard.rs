//! What the local S3 refuses before SigV4 is checked, because any web page
//! can make a browser send it without a preflight (the keys of a local
//! stack are no secret from the machine's other users, and `127.0.0.1` is
//! reachable from every page the machine's browser opens):
//! - a `Host` that is not the server's own (`127.0.0.1`, `localhost` or
//!   `[::1]` at its port): a DNS-rebinding page talks to it under its own
//!   name;
//! - a `POST` signed in the query: a presigned `POST /bucket?delete` is a
//!   request a page can send as `text/plain`, and nothing here presigns one;
//! - a form `POST` (`multipart/form-data`, `application/x-www-form-urlencoded`):
//!   S3's browser-form upload, which nothing here uses.

use http::{Method, Request, header};

/// `(S3 error code, message)` when `req` is refused; `None` otherwise.
pub fn refusal<B>(req: &Request<B>, port: u16) -> Option<(&'static str, &'static str)> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let own = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")));
    if !own {
        return Some(("AccessDenied", "this local S3 answers its own host only"));
    }
    if req.method() != Method::POST {
        return None;
    }
    let query_signed = req.uri().query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Signature"))
    });
    if query_signed {
        return Some(("AccessDenied", "a POST signed in the query is refused here"));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let form = ["multipart/form-data", "application/x-www-form-urlencoded"]
        .iter()
        .any(|f| content_type.starts_with(f));
    form.then_some(("AccessDenied", "browser form uploads are refused here"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, uri: &str, host: &str, content_type: Option<&str>) -> Request<()> {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, host);
        if let Some(c) = content_type {
            b = b.header(header::CONTENT_TYPE, c);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn only_its_own_host_and_no_page_shaped_posts() {
        let ok = [
            req("GET", "/b/k", "127.0.0.1:9000", None),
            req("GET", "/b/k", "LOCALHOST:9000", None),
            req(
                "PUT",
                "/b/k?X-Amz-Signature=x&partNumber=1",
                "127.0.0.1:9000",
                None,
            ),
            req(
                "POST",
                "/b/k?uploads",
                "127.0.0.1:9000",
                Some("application/xml"),
            ),
            req("POST", "/b?delete", "[::1]:9000", Some("application/xml")),
        ];
        for r in &ok {
            assert_eq!(refusal(r, 9000), None, "{} {}", r.method(), r.uri());
        }
        let refused = [
            req("GET", "/b/k", "evil.example:9000", None),
            req("GET", "/b/k", "127.0.0.1:9001", None),
            req("GET", "/b/k", "127.0.0.1", None),
            req(
                "POST",
                "/b?delete&X-Amz-Signature=abc",
                "127.0.0.1:9000",
                Some("text/plain"),
            ),
            req(
                "POST",
                "/b",
                "127.0.0.1:9000",
                Some("multipart/form-data; boundary=x"),
            ),
            req(
                "POST",
                "/b",
                "127.0.0.1:9000",
                Some("application/x-www-form-urlencoded"),
            ),
        ];
        for r in &refused {
            assert!(refusal(r, 9000).is_some(), "{} {}", r.method(), r.uri());
        }
    }
}
