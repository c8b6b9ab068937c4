//! Several `Set-Cookie` headers survive both API Gateway payload formats:
//! REST (1.0) carries them in `multiValueHeaders`, HTTP API (2.0) in
//! `cookies`. Checked on the JSON lambda_http sends back to the runtime.

use std::convert::Infallible;

use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use lambda_http::{Adapter, Context, LambdaEvent, Request, service_fn};
use serde_json::Value;

use crate::common::*;

async fn wire(c: &Call) -> Value {
    let app = app(COOKIES);
    let app = &app;
    let mut adapter = Adapter::from(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(hlsgate_signed_url_issuer::handle(app, req).await)
    }));
    let event: LambdaRequest = serde_json::from_value(c.event()).unwrap();
    let resp = adapter
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(resp).unwrap()
}

fn is_signed_cookie(c: &Value) -> bool {
    let s = c.as_str().unwrap();
    s.starts_with("CloudFront-") && s.contains("Path=/videos/demo/")
}

#[tokio::test]
async fn rest_payload_keeps_every_set_cookie() {
    let out = wire(&Call::new(Shape::Rest).mode("cookies")).await;
    assert_eq!(out["statusCode"], 200);
    let cookies = out["multiValueHeaders"]["set-cookie"].as_array().unwrap();
    assert_eq!(cookies.len(), 4, "{out}");
    assert!(cookies.iter().all(is_signed_cookie));
    assert_eq!(
        out["multiValueHeaders"]["cache-control"][0],
        "private, no-store"
    );
}

#[tokio::test]
async fn http_api_payload_moves_every_set_cookie_to_cookies() {
    let out = wire(&Call::new(Shape::Http).mode("cookies")).await;
    assert_eq!(out["statusCode"], 200);
    let cookies = out["cookies"].as_array().unwrap();
    assert_eq!(cookies.len(), 4, "{out}");
    assert!(cookies.iter().all(is_signed_cookie));
    assert!(out["headers"].get("set-cookie").is_none());
    assert_eq!(out["headers"]["cache-control"], "private, no-store");
}
