//! The issuer's side: the start (a signature for the video's folder, in
//! the URL or as cookies), then, with sessions, one renewal and the end.

use bytes::Bytes;
use hlsgate_core::signing::Delivery;
use hlsgate_core::signing::names::COOKIE;
use http::{HeaderName, Method, StatusCode, header};
use serde::Deserialize;

use crate::client::{FetchError, Fetched};
use crate::report::{Check, Part, Problem};
use crate::{Probe, Unreachable, explain, signature};

/// The issuer's answer to a start or a renewal (`docs/signed-url-issuer.md`).
#[derive(Clone, Deserialize)]
pub struct Answer {
    pub manifest_url: String,
    pub expires_at: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub session: Option<Session>,
}

/// The answer's `session` (`docs/sessions.md`).
#[derive(Clone, Deserialize)]
pub struct Session {
    pub id: String,
}

/// A started playback.
#[derive(Clone)]
pub struct Playback {
    pub answer: Answer,
    pub mode: Delivery,
}

/// Whether `Cache-Control` keeps an answer out of every cache.
pub fn never_cached(answer: &Fetched) -> bool {
    answer
        .header(header::CACHE_CONTROL)
        .split(',')
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
}

/// `Cache-Control`, shown.
pub fn cache_control(answer: &Fetched) -> String {
    match answer.header(header::CACHE_CONTROL) {
        "" => "no Cache-Control".into(),
        v => format!("Cache-Control: {v}"),
    }
}

/// A status and the refusal's code, shown.
pub fn status_line(answer: &Fetched) -> String {
    match answer.refusal_code() {
        Some(code) if !answer.ok() => format!("{} {code}", answer.status.as_u16()),
        _ => answer.status.as_u16().to_string(),
    }
}

impl Probe<'_> {
    fn issuer_url(&self, path: &str) -> String {
        format!("{}{path}", self.opts.issuer.as_str().trim_end_matches('/'))
    }

    fn bearer(&self) -> Vec<(HeaderName, String)> {
        let mut h = vec![
            (
                header::AUTHORIZATION,
                format!("Bearer {}", self.opts.token.expose()),
            ),
            (header::ACCEPT, "application/json".into()),
        ];
        if let Some(o) = &self.opts.origin {
            h.push((header::ORIGIN, o.clone()));
        }
        h
    }

    async fn issuer(&self, method: Method, path: &str) -> Result<Fetched, FetchError> {
        self.http
            .send(method, &self.issuer_url(path), &self.bearer(), Bytes::new())
            .await
    }

    /// The start: `GET /playback/{id}` with the token. `Err` when the
    /// issuer cannot be reached at all; `None` when it answered but gave
    /// nothing to play (the check says why).
    pub async fn start(&mut self) -> Result<Option<Playback>, Unreachable> {
        let id = self.opts.video.as_str();
        let path = match self.opts.mode {
            Some(m) => format!("/playback/{id}?mode={m}"),
            None => format!("/playback/{id}"),
        };
        let check = Check::new("issuer.start", Part::Play, "200 with a playback answer");
        let answer = self
            .issuer(Method::GET, &path)
            .await
            .map_err(|error| Unreachable {
                url: self.issuer_url(&path),
                error,
            })?;
        self.timings.issuer = Some(answer.elapsed);
        if answer.status != StatusCode::OK {
            let why = issuer_refusal_why(&answer);
            self.push(
                check
                    .fail(Problem::IssuerRefused, status_line(&answer))
                    .why(why),
            );
            return Ok(None);
        }
        let parsed: Answer = match serde_json::from_slice(&answer.body) {
            Ok(a) => a,
            Err(e) => {
                self.push(check.fail(
                    Problem::IssuerAnswer,
                    format!("200, but not a playback answer: {e}"),
                ));
                return Ok(None);
            }
        };
        let mode = match parsed.mode.as_deref().map(str::parse::<Delivery>) {
            Some(Ok(m)) => m,
            _ => self.opts.mode.unwrap_or_default(),
        };
        self.push(check.pass(format!(
            "200 in {} ms: {mode} mode, the signature expires at {}",
            answer.elapsed.as_millis(),
            parsed.expires_at
        )));
        self.answer_no_store("issuer.no-store", &answer);
        let issuer = self.issuer_url("/");
        self.cors("issuer.cors", &issuer, &answer, mode);
        self.preflight(&path, mode).await;
        if mode == Delivery::Cookies {
            self.take_cookies("issuer.cookies", &answer, &parsed.manifest_url);
        }
        let playback = Playback {
            answer: parsed,
            mode,
        };
        self.issued_signature(&playback);
        Ok(Some(playback))
    }

    /// `Cache-Control` on an issuer answer: it carries a signature.
    fn answer_no_store(&mut self, id: &'static str, answer: &Fetched) {
        let check = Check::new(id, Part::Play, "Cache-Control: private, no-store");
        self.push(if never_cached(answer) {
            check.pass(cache_control(answer))
        } else {
            check.fail(Problem::AnswerCacheable, cache_control(answer))
        });
    }

    /// Whether a request to `url` from the page must carry credentials:
    /// in cookie mode, from another origin (the browser keeps and sends
    /// the cookies only then).
    fn credentials(&self, url: &str, origin: &str, mode: Delivery) -> bool {
        mode == Delivery::Cookies
            && !url::Url::parse(url).is_ok_and(|u| u.origin().ascii_serialization() == origin)
    }

    /// The browser's preflight for the start (it sends `Authorization`):
    /// allowed for `--origin`, with that header, and with credentials in
    /// cookie mode from another origin.
    async fn preflight(&mut self, path: &str, mode: Delivery) {
        let Some(origin) = self.opts.origin.clone() else {
            return;
        };
        let url = self.issuer_url(path);
        let credentials = self.credentials(&url, &origin, mode);
        let check = Check::new(
            "issuer.preflight",
            Part::Play,
            "2xx allowing the origin, GET and Authorization",
        );
        let headers = [
            (header::ORIGIN, origin.clone()),
            (header::ACCESS_CONTROL_REQUEST_METHOD, "GET".to_string()),
            (
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization".to_string(),
            ),
        ];
        let c = match self
            .http
            .send(Method::OPTIONS, &url, &headers, Bytes::new())
            .await
        {
            Err(e) => check.fail(Problem::Unreachable, e.to_string()),
            Ok(a) => {
                let allowed = a.header(header::ACCESS_CONTROL_ALLOW_ORIGIN);
                let listed = |name: http::HeaderName, want: &str| {
                    a.header(name)
                        .split(',')
                        .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case(want))
                };
                let mut missing = Vec::new();
                if !a.ok() {
                    missing.push(format!("status {}", a.status.as_u16()));
                }
                if !origin_allowed(allowed, &origin, credentials) {
                    missing.push(format!("Access-Control-Allow-Origin is {allowed:?}"));
                }
                if !listed(header::ACCESS_CONTROL_ALLOW_HEADERS, "authorization") {
                    missing.push("Authorization is not an allowed header".into());
                }
                if !listed(header::ACCESS_CONTROL_ALLOW_METHODS, "GET") {
                    missing.push("GET is not an allowed method".into());
                }
                if credentials
                    && !a
                        .header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
                        .eq_ignore_ascii_case("true")
                {
                    missing.push("no Access-Control-Allow-Credentials: true".into());
                }
                if missing.is_empty() {
                    check.pass(format!("{}, {allowed}", a.status.as_u16()))
                } else {
                    check
                        .fail(Problem::CorsMissing, missing.join("; "))
                        .why(vec![format!(
                            "a browser on {origin} cannot start playback: the issuer API's CORS (the template's PlayerOrigins)"
                        )])
                }
            }
        };
        self.push(c);
    }

    /// CORS for `--origin` on the answer to `url`: the origin allowed,
    /// with credentials when they are needed ([`credentials`](Self::credentials)).
    pub fn cors(&mut self, id: &'static str, url: &str, answer: &Fetched, mode: Delivery) {
        let Some(origin) = self.opts.origin.clone() else {
            return;
        };
        let credentials = self.credentials(url, &origin, mode);
        let check = Check::new(
            id,
            Part::Play,
            if credentials {
                format!("Access-Control-Allow-Origin: {origin}, with credentials")
            } else {
                format!("Access-Control-Allow-Origin: {origin}")
            },
        );
        let allowed = answer.header(header::ACCESS_CONTROL_ALLOW_ORIGIN);
        let with_credentials = answer
            .header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .eq_ignore_ascii_case("true");
        let got = match (allowed, with_credentials) {
            ("", _) => "no Access-Control-Allow-Origin".to_string(),
            (a, true) => format!("Access-Control-Allow-Origin: {a}, with credentials"),
            (a, false) => format!("Access-Control-Allow-Origin: {a}"),
        };
        let ok =
            origin_allowed(allowed, &origin, credentials) && (!credentials || with_credentials);
        self.push(if ok {
            check.pass(got)
        } else {
            let why = if origin_allowed(allowed, &origin, credentials) {
                "the answer must carry Access-Control-Allow-Credentials: true, or the browser drops the cookies (the issuer does with COOKIE_DOMAIN; the media's response headers policy)".to_string()
            } else {
                format!("add {origin} to the player origins (the template's PlayerOrigins, the functions' CORS_ALLOWED_ORIGINS)")
            };
            check.fail(Problem::CorsMissing, got).why(vec![why])
        });
    }

    /// The `CloudFront-*` cookies `answer` sets, kept for every request
    /// after (others are not ours); `None` for a `Set-Cookie` that does
    /// not parse.
    fn keep_cookies(&mut self, answer: &Fetched) -> Vec<Option<cookie::Cookie<'static>>> {
        let mut kept = Vec::new();
        for raw in answer.all(header::SET_COOKIE) {
            match cookie::Cookie::parse(raw.to_string()) {
                Ok(c) if COOKIE.contains(c.name()) => {
                    self.cookies
                        .insert(c.name().to_string(), c.value().to_string());
                    kept.push(Some(c));
                }
                Ok(_) => {}
                Err(_) => kept.push(None),
            }
        }
        kept
    }

    /// Cookie mode: the four `CloudFront-*` cookies, `HttpOnly`, for a path
    /// that covers the manifest (and `Secure` over HTTPS); kept for every
    /// request after.
    fn take_cookies(&mut self, id: &'static str, answer: &Fetched, manifest: &str) {
        let manifest_path = url::Url::parse(manifest)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let https = self.opts.issuer.scheme() == "https";
        let mut problems = Vec::new();
        let mut names = Vec::new();
        for c in self.keep_cookies(answer) {
            let Some(c) = c else {
                problems.push("a Set-Cookie that does not parse".to_string());
                continue;
            };
            let name = c.name().to_string();
            if c.http_only() != Some(true) {
                problems.push(format!("{name} is not HttpOnly"));
            }
            if https && c.secure() != Some(true) {
                problems.push(format!("{name} is not Secure"));
            }
            match c.path() {
                Some(p) if manifest_path.starts_with(p) => {}
                p => problems.push(format!(
                    "{name}'s Path {} does not cover {manifest_path}",
                    p.unwrap_or("(none)")
                )),
            }
            names.push(name);
        }
        let found = signature::found_in_cookies(&self.cookie_header().unwrap_or_default());
        if !signature::complete(&found) {
            problems.push("CloudFront-Signature, CloudFront-Key-Pair-Id and CloudFront-Policy (or -Expires) must all be set".into());
        }
        let check = Check::new(
            id,
            Part::Play,
            "the CloudFront-* cookies, HttpOnly, for the folder",
        );
        names.sort();
        let got = format!(
            "set: {}",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
        self.push(if problems.is_empty() {
            check.pass(got)
        } else {
            check.fail(Problem::CookiesIncomplete, got).why(problems)
        });
    }

    /// The issued signature, for the master's URL: verified with the key
    /// group when given, else its policy read.
    fn issued_signature(&mut self, playback: &Playback) {
        let url = playback.answer.manifest_url.clone();
        let cookie = self.cookie_header();
        let presented = explain::Presented {
            url: &url,
            cookie: (playback.mode == Delivery::Cookies).then_some(cookie.as_deref().unwrap_or("")),
        };
        let found = match presented.cookie {
            Some(c) => signature::found_in_cookies(c),
            None => signature::found_in_url(&url),
        };
        let key = found.key_pair_id.clone().unwrap_or_else(|| "?".into());
        let check = Check::new(
            "issuer.signature",
            Part::Play,
            if self.opts.keys.is_some() {
                "valid for the key group, covering the master"
            } else {
                "a policy covering the master, not expired"
            },
        );
        let checked = explain::check(presented, self.opts.keys.as_ref(), crate::now());
        self.push(match checked {
            Ok(()) if self.opts.keys.is_some() => check.pass(format!("valid, key {key}")),
            Ok(()) => check.pass(format!(
                "key {key}; the signature itself is checked only with --public-key"
            )),
            Err(e) => check
                .fail(explain::problem_of(&e), format!("key {key}"))
                .why(vec![explain::describe(&e, &self.redact)]),
        });
    }

    /// With sessions: one renewal (then the master again, on the renewed
    /// signature), the end, and a renewal after the end.
    pub async fn session(&mut self, playback: &Playback) {
        let Some(session) = playback.answer.session.clone() else {
            for id in ["session.renew", "session.end"] {
                self.push(
                    Check::new(id, Part::Session, "the issuer's session")
                        .skip("the issuer's answer has no session"),
                );
            }
            return;
        };
        let path = format!(
            "/playback/{}/sessions/{}",
            self.opts.video.as_str(),
            session.id
        );
        let check = Check::new(
            "session.renew",
            Part::Session,
            "200, the same session, a signature that plays",
        );
        let renewed = match self.issuer(Method::POST, &path).await {
            Err(e) => {
                self.push(check.fail(Problem::Unreachable, e.to_string()));
                return;
            }
            Ok(a) => a,
        };
        let parsed = serde_json::from_slice::<Answer>(&renewed.body).ok();
        match parsed {
            Some(a)
                if renewed.status == StatusCode::OK
                    && a.session.as_ref().is_some_and(|s| s.id == session.id) =>
            {
                if playback.mode == Delivery::Cookies {
                    self.keep_cookies(&renewed);
                }
                let cookies = self
                    .cookie_header()
                    .filter(|_| playback.mode == Delivery::Cookies);
                let replay = self.fetch(&a.manifest_url, cookies.as_deref(), &[]).await;
                match replay {
                    Ok(m) if m.ok() => self.push(check.pass(format!(
                        "200: the signature now expires at {}; the master plays with it",
                        a.expires_at
                    ))),
                    Ok(m) => {
                        let presented = explain::Presented {
                            url: &a.manifest_url,
                            cookie: cookies.as_deref(),
                        };
                        let (problem, why) = explain::refusal(
                            &m,
                            presented,
                            self.opts.keys.as_ref(),
                            crate::now(),
                            &self.redact,
                        );
                        self.push(
                            check
                                .fail(
                                    problem,
                                    format!("renewed, then the master: {}", status_line(&m)),
                                )
                                .why(why),
                        );
                    }
                    Err(e) => self.push(check.fail(Problem::Unreachable, e.to_string())),
                }
                self.answer_no_store("session.no-store", &renewed);
            }
            _ => {
                self.push(
                    check
                        .fail(Problem::SessionRefused, status_line(&renewed))
                        .why(issuer_refusal_why(&renewed)),
                );
            }
        }
        let check = Check::new("session.end", Part::Session, "2xx, then a renewal refused");
        match self.issuer(Method::DELETE, &path).await {
            Ok(a) if a.ok() => {
                let after = self.issuer(Method::POST, &path).await;
                self.push(match after {
                    Ok(r) if r.status == StatusCode::FORBIDDEN => {
                        check.pass(format!("{}, then {}", a.status.as_u16(), status_line(&r)))
                    }
                    Ok(r) if r.ok() => check.skip(format!(
                        "{}, and it still renews: stateless sessions keep no record to end (Sessions=table ends them)",
                        a.status.as_u16()
                    )),
                    Ok(r) => check.fail(
                        Problem::SessionRefused,
                        format!("{}, then the renewal: {}", a.status.as_u16(), status_line(&r)),
                    ),
                    Err(e) => check.fail(Problem::Unreachable, e.to_string()),
                });
            }
            Ok(a) => self.push(check.fail(Problem::SessionRefused, status_line(&a))),
            Err(e) => self.push(check.fail(Problem::Unreachable, e.to_string())),
        }
    }
}

/// Whether `Access-Control-Allow-Origin: allowed` lets a page on
/// `origin` read the answer: its own name, or `*` when no credentials go
/// with the request (browsers refuse `*` with credentials).
fn origin_allowed(allowed: &str, origin: &str, credentials: bool) -> bool {
    allowed == origin || (allowed == "*" && !credentials)
}

/// What an issuer's refusal means, from its `error` and `reason`.
fn issuer_refusal_why(answer: &Fetched) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let text = |k: &str| {
        body.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| s.len() <= 200)
            .map(str::to_string)
    };
    let mut why = Vec::new();
    match answer.status.as_u16() {
        401 => why.push("the token was refused: give a current token of the issuer's user pool (the authorizer checks issuer, audience and expiry)".into()),
        403 => {
            if let Some(reason) = text("reason") {
                why.push(format!("the token's viewer is not entitled: {reason}"));
            }
            if let Some(message) = text("message") {
                why.push(message);
            }
        }
        404 => why.push("no such video is ready: is the id right, and has its job finished (playback.json written)?".into()),
        409 => why.push("the token's viewer already watches on as many screens as allowed (MAX_STREAMS or the grant's max_streams): end one (hlsgate sessions end), or probe with a viewer of its own".into()),
        503 | 502 | 500 => why.push("the issuer could not answer: its log line for this request says why".into()),
        _ => {}
    }
    why
}
