//! A playback window: a new session (`GET /playback/{videoId}`) or a
//! renewal (`POST …/sessions/{sessionId}`). Both check entitlement, find
//! the video, and sign its folder once, for `SIGNATURE_SECONDS`.

use hlsgate_aws::ObjectSource;
use hlsgate_aws::origin::Via;
use hlsgate_aws::web::{Refusal, cloudfront_viewer_ip};
use hlsgate_core::session::NONCE_BYTES;
use hlsgate_core::signing::{CookieOptions, Delivery, Epoch, Forwarded};
use hlsgate_core::video::VideoId;
use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::entitlement::{self, Decision, Entitlement, Terms};
use crate::keys::KeySource;
use crate::rules::Whence;
use crate::sessions::{Admission, EndReason, Lapse, Lifetime, NewSession, SessionId, device_label};
use crate::viewer::Viewer;
use crate::{App, Outcome, SessionEvent, bind_address, catalog_refusal, requested_mode, rfc3339};

fn internal(e: &dyn std::fmt::Display) -> Refusal {
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "signing_failed",
        e.to_string(),
    )
}

/// A session store failure: 503, retry.
pub(crate) fn sessions_unavailable(e: &crate::sessions::table::SessionsError) -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "sessions_unavailable",
        e.to_string(),
    )
    .detail(e.detail)
}

/// Why a session may not renew, as the player reads it.
pub(crate) fn lapse_refusal(lapse: Lapse) -> Refusal {
    let (code, message) = match lapse {
        Lapse::Ended => (
            "session_ended",
            "this playback was ended, on another screen or by the service",
        ),
        Lapse::Replaced => (
            "session_ended",
            "a newer playback on this account took this screen's place",
        ),
        Lapse::Expired => (
            "session_expired",
            "this playback session lapsed; start a new one",
        ),
    };
    Refusal::new(StatusCode::FORBIDDEN, code, message)
        .public()
        .detail(lapse.into())
}

fn nonce() -> Result<[u8; NONCE_BYTES], Refusal> {
    let mut b = [0u8; NONCE_BYTES];
    getrandom::fill(&mut b).map_err(|e| internal(&format!("no randomness: {e}")))?;
    Ok(b)
}

/// A 403 `not_entitled` whose `reason` field is the denial's code
/// (`no_grant`, `grant_expired`, `grant_not_yet`, …): the viewer's own
/// standing, which a player may put in words (a rental that ended is not a
/// purchase never made). The sentence stays in the logs.
fn not_entitled(sentence: impl Into<String>, detail: &'static str) -> Refusal {
    Refusal::new(StatusCode::FORBIDDEN, "not_entitled", sentence)
        .detail(detail)
        .with_field("reason", detail.into())
}

/// Entitlement for `viewer` and `id` at `now`: the end of their grant and
/// its terms, or the refusal.
async fn entitled<E: Entitlement>(
    entitlement: &E,
    viewer: &Viewer,
    id: &VideoId,
    now: u64,
) -> Result<(Option<u64>, Terms), Refusal> {
    match entitlement.check(viewer, id, now).await {
        // Whatever decided it (a custom `Entitlement` too), an end no
        // answer can carry is the grant's fault, never a 5xx.
        Ok(Decision::Allowed {
            until: Some(end), ..
        }) if end > entitlement::grants::LAST_EPOCH => Err(not_entitled(
            format!("the grant's end {end} is past year 9999"),
            entitlement::grants::GRANT_MALFORMED,
        )),
        Ok(Decision::Allowed {
            until: Some(end), ..
        }) if end <= now => Err(not_entitled(
            format!("the grant ended at {end} (now {now})"),
            entitlement::grants::GRANT_EXPIRED,
        )),
        Ok(Decision::Allowed { until, terms }) => Ok((until, terms)),
        Ok(Decision::Denied(d)) => Err(not_entitled(d.reason, d.detail)),
        Err(e) => Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "entitlement_unavailable",
            e.to_string(),
        )
        .detail(e.detail)),
    }
}

/// A refusal before the session step: on a renewal, a 403 ends the session
/// (`why`), so the player stops and may say why; anything else (a 503) lets
/// it try again.
async fn stop_renewal<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    viewer: &Viewer,
    renewing: Option<&SessionId>,
    refusal: Refusal,
    why: EndReason,
    now: u64,
    out: &mut Outcome,
) -> Refusal {
    let (Some(sid), StatusCode::FORBIDDEN) = (renewing, refusal.status) else {
        return refusal;
    };
    out.session_event = Some(SessionEvent::Refused(refusal.code));
    match app.sessions.end(&viewer.subject, sid, why, now).await {
        Ok(true) => out.ended = Some(why),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not record a refused renewal's session end"),
    }
    refusal
}

/// Steps 3 to 8 of a playback (the crate's docs): `renewing` names the
/// session a renewal continues; without it a new one is admitted.
pub(crate) async fn playback<S: ObjectSource, K: KeySource, E: Entitlement>(
    app: &App<S, K, E>,
    req: &Request,
    via: Via,
    viewer: &Viewer,
    id: &VideoId,
    renewing: Option<SessionId>,
    out: &mut Outcome,
) -> Result<Response<Body>, Refusal> {
    let cfg = &app.config;
    let sessions = &app.sessions;
    let mode = requested_mode(cfg, req, via)?;
    out.mode = Some(mode);
    let Some(key) = sessions.key() else {
        return Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "config",
            "no session key: the pseudonym key (LOG_HASH_KEY_SECRET_ARN) was not loaded",
        ));
    };

    // 4. May they (the claims, then the grant), and until when? Then the
    // grant's countries and the video's rules. A renewal asks all of it
    // again: a revoked grant, a closed window or another country ends the
    // session here.
    let now = (app.clock)();
    let (grant_until, terms) = match entitled(&app.entitlement, viewer, id, now).await {
        Ok(allowed) => allowed,
        Err(refusal) => {
            let refusal = match (&renewing, refusal.status) {
                (Some(_), StatusCode::FORBIDDEN) => {
                    refusal.with_message("this account may no longer watch this video")
                }
                _ => refusal,
            };
            return Err(stop_renewal(
                app,
                viewer,
                renewing.as_ref(),
                refusal,
                EndReason::Revoked,
                now,
                out,
            )
            .await);
        }
    };
    out.grant_until = grant_until;
    let whence = Whence::of(req, via);
    out.country = whence.country;
    let window_until = match crate::rules::check(
        &app.catalog,
        cfg.unknown_country,
        &whence,
        &terms,
        id,
        now,
        out,
    )
    .await
    {
        Ok(until) => until,
        Err(refusal) => {
            return Err(stop_renewal(
                app,
                viewer,
                renewing.as_ref(),
                refusal,
                EndReason::Restricted,
                now,
                out,
            )
            .await);
        }
    };

    // 5. Is it ready, and how long does it play?
    let ready = app
        .catalog
        .find(id)
        .await
        .map_err(catalog_refusal)?
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no playback.json and no master playlist",
            )
        })?;
    out.sidecar = Some(ready.from_sidecar);
    out.cache = ready.cache;

    // 6. Keys.
    let keys = app.keys.current().await.map_err(|e| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            e.to_string(),
        )
    })?;
    let signer = keys.signer();
    out.key_id = Some(signer.key_pair_id().to_string());

    // 7. The session: admitted, or still holding. A signature never
    // outlives the viewer's grant, nor the video's window.
    let life = Lifetime::new(
        now,
        sessions.config.signature.seconds(ready.duration_seconds),
        [grant_until, window_until].into_iter().flatten().min(),
    );
    out.ttl = Some(life.expires.saturating_sub(now));
    out.expires = Some(life.expires);
    let session = match renewing {
        Some(sid) => {
            out.session = Some(cfg.log_hash.of(&sid.to_string()));
            match sessions
                .renew(key, &viewer.subject, id.as_str(), &sid, now, life.expires)
                .await
                .map_err(|e| sessions_unavailable(&e))?
            {
                Ok(()) => {
                    out.session_event = Some(SessionEvent::Renewed);
                    sid
                }
                Err(lapse) => {
                    out.session_event = Some(SessionEvent::Refused(lapse.into()));
                    return Err(lapse_refusal(lapse));
                }
            }
        }
        None => {
            let params = req.query_string_parameters_ref();
            let device = device_label(params.and_then(|p| p.first("device")));
            // The grant's plan, else `MAX_STREAMS`.
            let max_streams = terms.max_streams.unwrap_or(sessions.config.max_streams);
            if max_streams > 0 && !sessions.counts_streams() {
                return Err(Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "config",
                    "a grant sets max_streams, but sessions are stateless (no SESSIONS_TABLE) and cannot be counted",
                ));
            }
            let new = NewSession {
                subject: &viewer.subject,
                video: id.as_str(),
                device: device.as_deref(),
                now,
                signature_expires: life.expires,
                max_streams,
            };
            match sessions
                .start(key, &new, nonce()?)
                .await
                .map_err(|e| sessions_unavailable(&e))?
            {
                Admission::Admitted { id: sid, evicted } => {
                    out.session = Some(cfg.log_hash.of(&sid.to_string()));
                    out.session_event = Some(SessionEvent::Started(sessions.store_name()));
                    if let Some(old) = evicted {
                        out.evicted = Some(cfg.log_hash.of(&old));
                        out.ended = Some(EndReason::Evicted);
                    }
                    sid
                }
                Admission::Full(held) => {
                    out.session_event = Some(SessionEvent::Refused("too_many_streams"));
                    let n = max_streams;
                    return Err(Refusal::new(
                        StatusCode::CONFLICT,
                        "too_many_streams",
                        format!("{} of {n} streams in use", held.len()),
                    )
                    .with_message(format!(
                        "this account is already watching on {n} screen{}: end one to watch here",
                        if n == 1 { "" } else { "s" }
                    ))
                    .with_field("max_streams", n.into())
                    .with_field(
                        "sessions",
                        serde_json::to_value(&held).map_err(|e| internal(&e))?,
                    ));
                }
            }
        }
    };

    // 8. Sign the folder, once.
    let ip = if cfg.bind_ip {
        // Through CloudFront the connection is CloudFront's; the viewer is
        // in the header it sets (and overwrites, so a viewer cannot).
        let viewer_ip = match via {
            Via::Cdn => cloudfront_viewer_ip(req.headers()),
            Via::Direct => viewer.source_ip,
        };
        bind_address(viewer_ip)
    } else {
        None
    };
    out.ip_bound = ip.is_some();
    let folder = cfg.folder_url(id.as_str());
    let expires_epoch = Epoch::new(life.expires).map_err(|e| internal(&e))?;
    let signed = signer
        .sign_folder(&folder, expires_epoch, None, ip)
        .map_err(|e| internal(&e))?;
    let manifest = format!("{folder}{}", ready.master_name);
    let expires_at = rfc3339(life.expires).map_err(|e| internal(&e))?;

    let poster = ready.poster_name.as_ref().map(|p| format!("{folder}{p}"));
    let (manifest_url, poster_url, cookies) = match mode {
        Delivery::Url => {
            let query: Vec<String> = Forwarded::from_signed(&signed)
                .with_copy(&cfg.suffix)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            // The poster goes straight to the media origin: CloudFront's
            // own parameters, no forwarded copy for the rewriter.
            (
                format!("{manifest}?{}", query.join("&")),
                poster.map(|p| format!("{p}?{}", signed.query_string())),
                Vec::new(),
            )
        }
        Delivery::Cookies => {
            let Some(c) = &cfg.cookies else {
                return Err(internal(&"cookie mode without cookie settings"));
            };
            let opts = CookieOptions {
                domain: c.domain.clone(),
                path: Some(format!("/{}", cfg.folder_key(id.as_str()))),
                same_site: c.same_site,
                expires: true,
            };
            let cookies = signed.set_cookie_headers(&opts).map_err(|e| internal(&e))?;
            (manifest, poster, cookies)
        }
    };
    // The tracks let a player draw its audio and subtitle menus (and know
    // of trick play) before it loads the master.
    let mut body = serde_json::json!({
        "manifest_url": manifest_url,
        "expires_at": expires_at,
        "mode": mode.as_str(),
        "tracks": ready.tracks,
        "session": {
            "id": session.to_string(),
            // Past this the session cannot renew: start a new one.
            "expires_at": rfc3339(sessions.lapses_at(life.expires)).map_err(|e| internal(&e))?,
            "refresh_at": rfc3339(life.refresh_at).map_err(|e| internal(&e))?,
            "end_token": session.end_token(key, &viewer.subject, id.as_str()),
        },
    });
    if let Some(p) = poster_url {
        body["poster_url"] = p.into();
    }
    if let Some(until) = grant_until {
        // The player may say "rental ends in …"; a new signature is never
        // issued past it.
        body["grant_expires_at"] = rfc3339(until).map_err(|e| internal(&e))?.into();
    }
    out.signed = true;
    let mut resp = Response::new(Body::Text(body.to_string()));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for c in cookies {
        let v = HeaderValue::try_from(c).map_err(|e| internal(&e))?;
        h.append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
