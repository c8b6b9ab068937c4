//! The HTTP functions' frame: methods, preflight, CORS on every answer,
//! `HEAD` without a body, and the two log lines.

use hlsgate_aws::metrics::Metrics;
use hlsgate_aws::testing::{ApiRequest, LogCapture, Shape};
use hlsgate_aws::web::{Frame, Line, Outcome, Refusal};
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

/// Logs nothing: the tests that do not read logs must not hit [`Seen`]'s
/// callsites, because tracing caches a callsite's interest when it is first
/// hit and a hit from another thread while the capture installs can leave
/// the capture's test without its lines.
#[derive(Debug, Default)]
struct Quiet {
    thing: Option<&'static str>,
}

impl Outcome for Quiet {
    fn log(&self, _: tracing::Level, _: &'static str, _: &Line<'_>) {}
}

#[derive(Debug, Default)]
struct Seen {
    thing: Option<&'static str>,
}

impl Outcome for Seen {
    fn log(&self, level: tracing::Level, message: &'static str, line: &Line<'_>) {
        hlsgate_aws::log_line!(level, message, line, thing = self.thing,);
    }
}

trait Thing {
    fn set(&mut self, thing: &'static str);
}

impl Thing for Quiet {
    fn set(&mut self, thing: &'static str) {
        self.thing = Some(thing);
    }
}

impl Thing for Seen {
    fn set(&mut self, thing: &'static str) {
        self.thing = Some(thing);
    }
}

fn frame(credentials: bool) -> Frame {
    Frame::new(
        &[Method::GET, Method::HEAD],
        "Range",
        vec!["https://player.example.com".into()],
        credentials,
        Metrics::capture("hlsgate/test", "frame"),
    )
}

async fn serve<O: Outcome + Thing>(
    frame: &Frame,
    req: Request,
    status: StatusCode,
) -> Response<Body> {
    frame
        .serve(req, async |req: &Request, seen: &mut O| {
            if let Some(preflight) = frame.method(req)? {
                return Ok(preflight);
            }
            seen.set("looked");
            if status.is_success() {
                Ok(Response::new(Body::Text("hello".into())))
            } else {
                let r = Refusal::new(status, "nope", "the reason, for the log");
                Err(if status == StatusCode::FORBIDDEN {
                    r.detail("origin_secret_mismatch")
                } else {
                    r
                })
            }
        })
        .await
}

fn request(method: &str, origin: &str) -> Request {
    ApiRequest::new(Shape::Http)
        .method(method)
        .path("/x")
        .header("Origin", origin)
        .request_id("req-7")
        .request()
}

#[tokio::test]
async fn methods_preflight_and_head() {
    let f = frame(false);
    let r = serve::<Quiet>(
        &f,
        request("POST", "https://player.example.com"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD, OPTIONS");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://player.example.com"
    );

    let r = serve::<Quiet>(
        &f,
        request("OPTIONS", "https://PLAYER.example.com"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["access-control-allow-methods"],
        "GET, HEAD, OPTIONS"
    );
    assert_eq!(r.headers()["access-control-allow-headers"], "Range");

    let r = serve::<Quiet>(
        &f,
        request("HEAD", "https://player.example.com"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(matches!(r.body(), Body::Empty));
}

#[tokio::test]
async fn every_answer_carries_the_common_headers_and_credentials_only_for_listed_origins() {
    let f = frame(true);
    for status in [
        StatusCode::OK,
        StatusCode::FORBIDDEN,
        StatusCode::SERVICE_UNAVAILABLE,
    ] {
        let r = serve::<Quiet>(&f, request("GET", "https://player.example.com"), status).await;
        assert_eq!(r.status(), status);
        let h = r.headers();
        assert_eq!(h["cache-control"], "private, no-store");
        assert_eq!(h["x-request-id"], "req-7");
        assert_eq!(
            h["access-control-allow-origin"],
            "https://player.example.com"
        );
        assert_eq!(h["access-control-allow-credentials"], "true");
    }
    let r = serve::<Quiet>(&f, request("GET", "https://evil.example"), StatusCode::OK).await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}

#[tokio::test]
async fn one_refused_line_and_one_request_line() {
    let capture = LogCapture::default();
    let guard = capture.install();
    let f = frame(false);
    serve::<Seen>(&f, request("GET", "-"), StatusCode::SERVICE_UNAVAILABLE).await;
    serve::<Seen>(&f, request("GET", "-"), StatusCode::NOT_FOUND).await;
    serve::<Seen>(&f, request("GET", "-"), StatusCode::OK).await;
    drop(guard);
    let lines = capture.lines();
    let refused: Vec<_> = lines.iter().filter(|l| l["message"] == "refused").collect();
    let requests: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(requests.len(), 3);
    assert_eq!(refused[0]["level"], "WARN");
    assert_eq!(refused[1]["level"], "INFO");
    assert_eq!(refused[0]["code"], "nope");
    assert_eq!(refused[0]["reason"], "the reason, for the log");
    assert_eq!(refused[0]["thing"], "looked");
    assert_eq!(requests[2]["status"], 200);
    assert_eq!(requests[2]["request_id"], "req-7");
    assert!(requests[2]["duration_us"].is_u64());
    assert!(requests[2].get("code").is_none());
}

#[tokio::test]
async fn one_emf_document_per_request_with_status_class_and_refusal_reason() {
    let f = frame(false);
    serve::<Quiet>(&f, request("GET", "-"), StatusCode::OK).await;
    serve::<Quiet>(&f, request("GET", "-"), StatusCode::NOT_FOUND).await;
    serve::<Quiet>(&f, request("GET", "-"), StatusCode::FORBIDDEN).await;
    serve::<Quiet>(&f, request("GET", "-"), StatusCode::BAD_GATEWAY).await;
    let docs = f.metrics.captured();
    assert_eq!(docs.len(), 4);
    let classes: Vec<_> = docs.iter().map(|d| d["StatusClass"].clone()).collect();
    assert_eq!(classes, ["2xx", "4xx", "4xx", "5xx"]);
    assert!(
        docs.iter()
            .all(|d| d["Requests"] == 1.0 && d["Function"] == "frame")
    );
    assert!(docs[0].get("Refusals").is_none());
    assert_eq!(docs[1]["Reason"], "nope");
    // The detail, not the public code, names the reason; a wrong origin
    // secret is also counted on its own.
    assert_eq!(docs[2]["Reason"], "origin_secret_mismatch");
    assert_eq!(docs[2]["OriginSecretMismatches"], 1.0);
    assert!(docs[1].get("OriginSecretMismatches").is_none());
    let names: Vec<_> = docs[2]["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Metrics"][0]["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Refusals", "OriginSecretMismatches", "Requests"]);
}
