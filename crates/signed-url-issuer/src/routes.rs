//! The routes under `/playback/{videoId}`, and the session routes that are
//! not a playback: listing and ending.

use hlsgate_aws::ObjectSource;
use hlsgate_aws::web::Refusal;
use hlsgate_core::session::{MAX_TOKEN_BYTES, SessionId};
use hlsgate_core::video::VideoId;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::entitlement::Entitlement;
use crate::keys::KeySource;
use crate::playback::sessions_unavailable;
use crate::sessions::EndReason;
use crate::viewer::Viewer;
use crate::{App, Outcome};

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /playback/{videoId}`: a new session.
    Start,
    /// `GET /playback/{videoId}/sessions`: the viewer's active sessions.
    List,
    /// `POST /playback/{videoId}/sessions/{sessionId}`.
    Renew(SessionId),
    /// `DELETE /playback/{videoId}/sessions/{sessionId}`.
    End(SessionId),
    /// `POST /playback/{videoId}/sessions/{sessionId}/end` with the end token.
    EndByToken(SessionId),
}

impl Route {
    /// The video and the route, from the path (API Gateway's path
    /// parameters when it gives them) and the method.
    pub(crate) fn of(req: &Request) -> Result<(VideoId, Route), Refusal> {
        let path = req.uri().path();
        let params = req.path_parameters_ref();
        let param = |name: &str| params.and_then(|p| p.first(name));
        // API Gateway's parameters when it gives them (decoded, and what
        // its route matched); else the path after `/playback/`.
        let after = path.split_once("/playback/").map(|(_, rest)| rest);
        let parts: Vec<&str> = after.map(|r| r.split('/').collect()).unwrap_or_default();
        let raw_id = match (param("videoId"), parts.first()) {
            (Some(id), _) => id,
            (None, Some(first)) => *first,
            (None, None) => {
                return Err(not_found(format!(
                    "path {path:?} is not /playback/{{videoId}}"
                )));
            }
        };
        let id = VideoId::parse(raw_id)
            .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "bad_video_id", e.to_string()))?;
        let tail: Vec<&str> = match param("sessionId") {
            Some(sid) if path.ends_with(&format!("/{sid}/end")) => vec!["sessions", sid, "end"],
            Some(sid) if path.ends_with(&format!("/{sid}")) => vec!["sessions", sid],
            Some(_) => return Err(not_found(format!("no route {path:?}"))),
            None if param("videoId").is_some() && path.ends_with("/sessions") => {
                vec!["sessions"]
            }
            None if param("videoId").is_some() => Vec::new(),
            None => parts.iter().skip(1).copied().collect(),
        };
        let session = |raw: &str| {
            SessionId::parse(raw).ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "bad_session_id",
                    "not a session id this issuer made",
                )
                .public()
            })
        };
        let m = req.method();
        let route = match (tail.as_slice(), m) {
            ([], &Method::GET | &Method::HEAD) => Route::Start,
            (["sessions"], &Method::GET | &Method::HEAD) => Route::List,
            (["sessions", sid], &Method::POST) => Route::Renew(session(sid)?),
            (["sessions", sid], &Method::DELETE) => Route::End(session(sid)?),
            (["sessions", sid, "end"], &Method::POST) => Route::EndByToken(session(sid)?),
            ([] | ["sessions"] | ["sessions", _] | ["sessions", _, "end"], _) => {
                return Err(Refusal::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("method {m} on {path}"),
                ));
            }
            _ => return Err(not_found(format!("no route {path:?}"))),
        };
        Ok((id, route))
    }
}

fn not_found(reason: String) -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, "not_found", reason)
}

fn no_content() -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// Ends the viewer's session `sid` (their own: the table's key is their
/// subject). 204 whether or not it was still active: ending is idempotent,
/// and says nothing of other viewers' ids.
pub(crate) async fn end<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    viewer: &Viewer,
    sid: &SessionId,
    reason: EndReason,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    out.session = Some(app.config.log_hash.of(&sid.to_string()));
    let now = (app.clock)();
    if app
        .sessions
        .end(&viewer.subject, sid, reason, now)
        .await
        .map_err(|e| sessions_unavailable(&e))?
    {
        out.ended = Some(reason);
    }
    Ok(no_content())
}

/// `POST …/sessions/{sessionId}/end` with `end_token=…` (a form, or the
/// token alone as text): what `navigator.sendBeacon` can send.
pub(crate) async fn end_by_token<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    req: &Request,
    id: &VideoId,
    sid: &SessionId,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let body: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    let refused = || {
        Refusal::new(
            StatusCode::FORBIDDEN,
            "bad_end_token",
            "no end token for this session",
        )
    };
    if body.len() > 2 * MAX_TOKEN_BYTES {
        return Err(refused());
    }
    let token = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "end_token")
        .map(|(_, v)| v.into_owned())
        .or_else(|| {
            std::str::from_utf8(body)
                .ok()
                .map(str::trim)
                .filter(|t| !t.contains('='))
                .map(str::to_string)
        })
        .ok_or_else(refused)?;
    let key = app.sessions.key().ok_or_else(refused)?;
    let subject = sid
        .end_token_subject(key, &token, id.as_str())
        .ok_or_else(refused)?;
    out.subject = Some(crate::subject_hash(&app.config, &subject));
    let viewer = Viewer::new(subject, Default::default());
    end(app, &viewer, sid, EndReason::Beacon, out).await
}

/// The viewer's active sessions: what a page shows beside "end my other
/// sessions", and what a `too_many_streams` lists.
pub(crate) async fn list<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    viewer: &Viewer,
) -> Result<Response<Body>, Refusal> {
    let now = (app.clock)();
    let sessions = app
        .sessions
        .list(&viewer.subject, now)
        .await
        .map_err(|e| sessions_unavailable(&e))?;
    let body = serde_json::json!({
        "store": app.sessions.store_name(),
        "max_streams": app.sessions.config.max_streams,
        "sessions": sessions,
    });
    let mut r = Response::new(Body::Text(body.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}
