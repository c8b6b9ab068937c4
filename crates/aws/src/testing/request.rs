//! Requests as API Gateway (REST or HTTP API) or a Function URL delivers
//! them, built from `aws_lambda_events`' typed request structs and read back
//! by `lambda_http` exactly as in Lambda. One builder for both HTTP
//! functions' tests, their benchmarks and the local stack.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
};
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::query_map::QueryMap;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

/// Which front door delivers the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// REST API, payload 1.0: decoded path and parameters.
    Rest,
    /// HTTP API, payload 2.0: raw path and query, cookies apart.
    Http,
    /// Function URL: payload 2.0 without routes or path parameters.
    FunctionUrl,
}

/// A JWT authorizer's claims and scopes.
type Jwt = (Vec<(String, String)>, Option<Vec<String>>);

/// One request, as a fixture event (or API Gateway's defaults) with edits.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    shape: Shape,
    base: Value,
    method: Option<Method>,
    path: Option<String>,
    query: Option<String>,
    headers: Vec<(String, Option<String>)>,
    source_ip: Option<String>,
    /// REST's `requestContext.identity.userArn`: the IAM caller.
    caller_arn: Option<String>,
    path_parameters: Vec<(String, String)>,
    claims: Vec<(String, Option<String>)>,
    jwt: Option<Jwt>,
    route_key: Option<String>,
    request_id: Option<String>,
    body: Option<String>,
}

impl ApiRequest {
    /// A request with API Gateway's defaults: `GET /`, stage `$default`.
    pub fn new(shape: Shape) -> ApiRequest {
        ApiRequest {
            shape,
            base: Value::Null,
            method: None,
            path: None,
            query: None,
            headers: Vec::new(),
            source_ip: None,
            caller_arn: None,
            path_parameters: Vec::new(),
            claims: Vec::new(),
            jwt: None,
            route_key: None,
            request_id: None,
            body: None,
        }
    }

    /// The event in `fixtures/<rel>`, of the given shape, to edit.
    pub fn from_fixture(shape: Shape, rel: &str) -> ApiRequest {
        let base =
            serde_json::from_slice(&super::read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        ApiRequest {
            base,
            ..ApiRequest::new(shape)
        }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.parse().unwrap_or_else(|e| panic!("{method}: {e}")));
        self
    }

    /// The path as the viewer sent it (may be percent-encoded).
    pub fn path(mut self, raw: &str) -> Self {
        self.path = Some(raw.to_string());
        self
    }

    /// The raw query string, without `?`.
    pub fn query(mut self, raw: &str) -> Self {
        self.query = Some(raw.to_string());
        self
    }

    /// Sets a header, replacing the fixture's; a second call for the same
    /// name adds a value (HTTP APIs join them with commas, cookies apart).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Removes a header of the fixture's.
    pub fn without(mut self, name: &str) -> Self {
        self.headers.push((name.to_string(), None));
        self
    }

    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = Some(ip.to_string());
        self
    }

    /// The IAM caller API Gateway authenticated (`AWS_IAM`), as REST
    /// APIs name it in `requestContext.identity.userArn`.
    pub fn caller_arn(mut self, arn: &str) -> Self {
        self.caller_arn = Some(arn.to_string());
        self
    }

    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces or adds one claim of the fixture's authorizer (`None`
    /// removes it): `authorizer.claims` (REST) or `authorizer.jwt.claims`.
    pub fn claim(mut self, name: &str, value: Option<&str>) -> Self {
        self.claims
            .push((name.to_string(), value.map(str::to_string)));
        self
    }

    /// A JWT authorizer's whole context (HTTP API).
    pub fn jwt(mut self, claims: &[(&str, &str)], scopes: Option<Vec<String>>) -> Self {
        let claims = claims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.jwt = Some((claims, scopes));
        self
    }

    pub fn route_key(mut self, key: &str) -> Self {
        self.route_key = Some(key.to_string());
        self
    }

    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_string());
        self
    }

    /// A text body (JSON, say), as API Gateway passes it: not base64.
    pub fn body(mut self, text: &str) -> Self {
        self.body = Some(text.to_string());
        self
    }

    /// The event JSON Lambda would hand the function.
    pub fn event(&self) -> Value {
        let json = match self.shape {
            Shape::Rest => serde_json::to_value(self.rest()),
            Shape::Http => serde_json::to_value(self.http()),
            Shape::FunctionUrl => serde_json::to_value(self.function_url()),
        };
        let mut event = json.unwrap_or_else(|e| panic!("serializing the event: {e}"));
        if let Some(b) = &self.body {
            event["body"] = b.clone().into();
            event["isBase64Encoded"] = false.into();
        }
        event
    }

    /// The request as `lambda_http` reads the event in Lambda.
    pub fn request(&self) -> lambda_http::Request {
        self.try_request().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`request`](Self::request), for callers that answer errors.
    pub fn try_request(&self) -> Result<lambda_http::Request, serde_json::Error> {
        lambda_http::request::from_str(&self.event().to_string())
    }

    fn base<T: serde::de::DeserializeOwned + Default>(&self) -> T {
        if self.base.is_null() {
            return T::default();
        }
        serde_json::from_value(self.base.clone()).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    fn rest(&self) -> ApiGatewayProxyRequest {
        let mut ev: ApiGatewayProxyRequest = self.base();
        if let Some(m) = &self.method {
            ev.http_method = m.clone();
            ev.request_context.http_method = m.clone();
        }
        if let Some(raw) = &self.path {
            // REST APIs hand over decoded paths and parameters.
            let decoded = decode(raw);
            let stage = ev
                .request_context
                .stage
                .clone()
                .unwrap_or_else(|| "prod".into());
            ev.request_context.path = Some(format!("/{stage}{decoded}"));
            ev.path = Some(decoded);
        }
        if let Some(q) = &self.query {
            let mut multi: HashMap<String, Vec<String>> = HashMap::new();
            let mut single: HashMap<String, String> = HashMap::new();
            for (n, v) in pairs(q) {
                multi.entry(n.clone()).or_default().push(v.clone());
                single.insert(n, v);
            }
            ev.query_string_parameters = QueryMap::from(single);
            ev.multi_value_query_string_parameters = QueryMap::from(multi);
        }
        let mut set = Vec::new();
        for (name, value) in &self.headers {
            let name = header_name(name);
            match value {
                Some(v) => {
                    let v = header_value(v);
                    // REST APIs keep every value in `multiValueHeaders`
                    // and the last one in `headers`.
                    if set.contains(&name) {
                        ev.multi_value_headers.append(name.clone(), v.clone());
                        ev.headers.insert(name.clone(), v);
                    } else {
                        ev.headers.insert(name.clone(), v.clone());
                        ev.multi_value_headers.insert(name.clone(), v);
                        set.push(name);
                    }
                }
                None => {
                    ev.headers.remove(&name);
                    ev.multi_value_headers.remove(&name);
                }
            }
        }
        if let Some(ip) = &self.source_ip {
            ev.request_context.identity.source_ip = Some(ip.clone());
        }
        if let Some(arn) = &self.caller_arn {
            ev.request_context.identity.user_arn = Some(arn.clone());
        }
        if !self.path_parameters.is_empty() {
            ev.path_parameters = self.path_parameters.iter().cloned().collect();
        }
        if !self.claims.is_empty() {
            let claims = ev
                .request_context
                .authorizer
                .fields
                .entry("claims".to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            let map = claims
                .as_object_mut()
                .unwrap_or_else(|| panic!("claims in the fixture are not an object"));
            for (k, v) in &self.claims {
                match v {
                    Some(v) => map.insert(k.clone(), Value::String(v.clone())),
                    None => map.remove(k),
                };
            }
        }
        if let Some(id) = &self.request_id {
            ev.request_context.request_id = Some(id.clone());
        }
        ev
    }

    fn http(&self) -> ApiGatewayV2httpRequest {
        let mut ev: ApiGatewayV2httpRequest = self.base();
        if self.base.is_null() {
            ev.version = Some("2.0".into());
            ev.route_key = Some("$default".into());
            let ctx = &mut ev.request_context;
            ctx.route_key = Some("$default".into());
            ctx.stage = Some("$default".into());
            ctx.account_id = Some("000000000000".into());
            ctx.apiid = Some("hlsgatedev".into());
            ctx.domain_name = Some("127.0.0.1".into());
            ctx.domain_prefix = Some("hlsgatedev".into());
            ctx.time = Some("01/Jan/2026:00:00:00 +0000".into());
            ctx.http.protocol = Some("HTTP/1.1".into());
            ctx.http.source_ip = Some("127.0.0.1".into());
            ctx.http.path = Some("/".into());
            ev.raw_path = Some("/".into());
            ev.raw_query_string = Some(String::new());
        }
        if let Some(k) = &self.route_key {
            ev.route_key = Some(k.clone());
            ev.request_context.route_key = Some(k.clone());
        }
        if let Some(m) = &self.method {
            ev.request_context.http.method = m.clone();
        }
        if let Some(raw) = &self.path {
            ev.request_context.http.path = Some(decode(raw));
            ev.raw_path = Some(raw.clone());
        }
        if let Some(q) = &self.query {
            ev.raw_query_string = Some(q.clone());
            ev.query_string_parameters = QueryMap::from(joined_pairs(q));
        }
        let (headers, cookies) = self.v2_headers(ev.headers, ev.cookies.take());
        ev.headers = headers;
        ev.cookies = cookies;
        if let Some(ua) = ev.headers.get(http::header::USER_AGENT) {
            ev.request_context.http.user_agent = ua.to_str().ok().map(str::to_string);
        }
        if let Some(ip) = &self.source_ip {
            ev.request_context.http.source_ip = Some(ip.clone());
        }
        if !self.path_parameters.is_empty() {
            ev.path_parameters = self.path_parameters.iter().cloned().collect();
        }
        if let Some((claims, scopes)) = &self.jwt {
            let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
            jwt.claims = claims.iter().cloned().collect();
            jwt.scopes = scopes.clone();
            ev.request_context.authorizer.get_or_insert_default().jwt = Some(jwt);
        }
        if !self.claims.is_empty() {
            let authorizer = ev.request_context.authorizer.get_or_insert_default();
            let claims = &mut authorizer.jwt.get_or_insert_default().claims;
            for (k, v) in &self.claims {
                match v {
                    Some(v) => claims.insert(k.clone(), v.clone()),
                    None => claims.remove(k),
                };
            }
        }
        if let Some(id) = &self.request_id {
            ev.request_context.request_id = Some(id.clone());
        }
        ev
    }

    fn function_url(&self) -> LambdaFunctionUrlRequest {
        let mut ev: LambdaFunctionUrlRequest = self.base();
        if let Some(m) = &self.method {
            ev.request_context.http.method = Some(m.to_string());
        }
        if let Some(raw) = &self.path {
            ev.request_context.http.path = Some(decode(raw));
            ev.raw_path = Some(raw.clone());
        }
        if let Some(q) = &self.query {
            ev.raw_query_string = Some(q.clone());
            ev.query_string_parameters = joined_pairs(q);
        }
        let (headers, cookies) = self.v2_headers(ev.headers, ev.cookies.take());
        ev.headers = headers;
        ev.cookies = cookies;
        if let Some(ip) = &self.source_ip {
            ev.request_context.http.source_ip = Some(ip.clone());
        }
        if let Some(id) = &self.request_id {
            ev.request_context.request_id = Some(id.clone());
        }
        ev
    }

    /// Payload 2.0 headers: lower-case names, one value per name (repeats
    /// joined with commas), cookies in their own list.
    fn v2_headers(
        &self,
        mut headers: HeaderMap,
        mut cookies: Option<Vec<String>>,
    ) -> (HeaderMap, Option<Vec<String>>) {
        let mut set = Vec::new();
        for (name, value) in &self.headers {
            let name = header_name(name);
            if name == http::header::COOKIE {
                match value {
                    Some(v) => {
                        let list = cookies.get_or_insert_default();
                        if !set.contains(&name) {
                            list.clear();
                            set.push(name);
                        }
                        list.extend(v.split("; ").map(str::to_string));
                    }
                    None => cookies = None,
                }
                continue;
            }
            match value {
                Some(v) => {
                    let joined = match headers.get(&name).and_then(|p| p.to_str().ok()) {
                        Some(prev) if set.contains(&name) => format!("{prev},{v}"),
                        _ => v.clone(),
                    };
                    headers.insert(name.clone(), header_value(&joined));
                    if !set.contains(&name) {
                        set.push(name);
                    }
                }
                None => {
                    headers.remove(&name);
                }
            }
        }
        (headers, cookies)
    }
}

fn header_name(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|e| panic!("header {name:?}: {e}"))
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|e| panic!("header value {value:?}: {e}"))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `name=value` pairs of a raw query, decoded as API Gateway decodes them.
fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&n.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

/// HTTP API `queryStringParameters`: repeated names joined with commas.
fn joined_pairs(query: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for (n, v) in pairs(query) {
        out.entry(n)
            .and_modify(|prev| {
                prev.push(',');
                prev.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn http_api_requests_read_back_as_lambda_sees_them() {
        let req = ApiRequest::new(Shape::Http)
            .path("/playback/my%20clip")
            .query("mode=cookies&a=1&a=2")
            .header("Cookie", "a=1")
            .header("cookie", "b=2")
            .header("Accept", "*/*")
            .source_ip("127.0.0.2")
            .path_parameter("videoId", "my clip")
            .jwt(&[("sub", "dev")], None);
        let event = req.event();
        assert_eq!(event["cookies"], serde_json::json!(["a=1", "b=2"]));
        assert_eq!(event["requestContext"]["http"]["path"], "/playback/my clip");
        let r = req.request();
        assert_eq!(r.headers()["cookie"], "a=1; b=2");
        assert_eq!(r.uri().path(), "/playback/my%20clip");
        assert_eq!(r.query_string_parameters().first("mode"), Some("cookies"));
        assert_eq!(r.path_parameters().first("videoId"), Some("my clip"));
    }

    #[test]
    fn rest_requests_carry_decoded_paths_and_every_value() {
        let req = ApiRequest::new(Shape::Rest)
            .method("HEAD")
            .path("/videos/a%20b/master.m3u8")
            .query("x=1&x=2")
            .header("X-A", "1")
            .header("x-a", "2");
        let event = req.event();
        assert_eq!(
            event["multiValueHeaders"]["x-a"],
            serde_json::json!(["1", "2"])
        );
        assert_eq!(event["headers"]["x-a"], "2");
        assert_eq!(event["path"], "/videos/a b/master.m3u8");
        let r = req.request();
        assert_eq!(r.method(), Method::HEAD);
        assert_eq!(r.uri().path(), "/videos/a%20b/master.m3u8");
        assert_eq!(r.query_string_parameters().all("x"), Some(vec!["1", "2"]));
    }
}
