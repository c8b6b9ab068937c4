//! The key provider: SPEKE for MediaConvert, behind an API Gateway REST API
//! with `AWS_IAM` authorisation.
//!
//! One route, `POST`: a CPIX request for one video's key (the content id is
//! the video id MediaConvert was given as `ResourceId`). The answer is the
//! video's folder key (`KEYS_PREFIX/ID.key`, made once with a conditional
//! write and reused by every later job for the folder), with the HLS
//! signalling that makes MediaConvert write `URI="hls.key"`: the rewriter's
//! key route, relative to each playlist, on whatever domain viewers use.
//!
//! Who may call: API Gateway admits only SigV4-signed requests its resource
//! policy and the caller's IAM policy allow (the MediaConvert role); this
//! function checks the caller again, from the request context, against
//! `CALLER_ROLE_ARN`. Everything else about a request is SPEKE's: refusals
//! are 422 with the spec's message (see [`hlsgate_core::speke::Refusal`]).
//! No key, or anything derived from one, is ever logged.

use hlsgate_aws::content_key::{self, KeyError};
use hlsgate_aws::metrics::{Metrics, name};
use hlsgate_aws::sdk::AwsSettings;
use hlsgate_aws::{ConfigError, Env, ObjectSink, ObjectSource};
use hlsgate_core::speke::{self, Refusal, Request as Cpix, Version};
use hlsgate_core::video::KEY_NAME;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// The function's name in logs and metrics.
pub const FUNCTION: &str = "key-provider";

/// What the answers name the provider as (`X-Speke-User-Agent`).
pub const USER_AGENT: &str = concat!("hlsgate-key-provider/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct Config {
    /// `MEDIA_BUCKET`: where the keys are.
    pub media_bucket: String,
    /// `KEYS_PREFIX` (`keys/`), outside `KEY_PREFIX`.
    pub keys_prefix: String,
    /// `CALLER_ROLE_ARN`: the role MediaConvert assumes; no other caller
    /// is answered.
    pub caller_role_arn: String,
    pub metrics: Metrics,
    pub aws: AwsSettings,
}

hlsgate_aws::function_config!(Config);

impl Config {
    pub fn from(mut env: Env) -> Result<Config, ConfigError> {
        let media_bucket = env
            .required("MEDIA_BUCKET", "the S3 bucket that holds the keys")
            .unwrap_or_default();
        let key_prefix = env.key_prefix("KEY_PREFIX", "videos/");
        let keys_prefix = env.keys_prefix(&key_prefix);
        let caller_role_arn = env
            .required(
                "CALLER_ROLE_ARN",
                "the MediaConvert role's ARN: the only caller answered",
            )
            .unwrap_or_default();
        if !caller_role_arn.is_empty() && RoleArn::parse(&caller_role_arn).is_none() {
            env.problem("CALLER_ROLE_ARN must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
        }
        let metrics = Metrics::from_env(&mut env, FUNCTION);
        let aws = AwsSettings::from_env(&mut env);
        env.finish()?;
        Ok(Config {
            media_bucket,
            keys_prefix,
            caller_role_arn,
            metrics,
            aws,
        })
    }
}

/// Everything the handler needs, built once per cold start.
pub struct App<S> {
    pub config: Config,
    /// The media bucket, where the keys are.
    pub media: S,
}

hlsgate_aws::app_debug!(App<S>);

/// An IAM role ARN, in the parts an assumed-role session keeps.
#[derive(Debug, PartialEq, Eq)]
struct RoleArn<'a> {
    partition: &'a str,
    account: &'a str,
    name: &'a str,
}

impl<'a> RoleArn<'a> {
    /// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
    fn parse(arn: &'a str) -> Option<RoleArn<'a>> {
        let mut p = arn.splitn(6, ':');
        let (arn_, partition, service, region, account, resource) = (
            p.next()?,
            p.next()?,
            p.next()?,
            p.next()?,
            p.next()?,
            p.next()?,
        );
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        (arn_ == "arn"
            && service == "iam"
            && region.is_empty()
            && !account.is_empty()
            && !name.is_empty())
        .then_some(RoleArn {
            partition,
            account,
            name,
        })
    }

    /// Whether `caller` (API Gateway's `userArn`) is a session of this
    /// role: `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`.
    fn has_session(&self, caller: &str) -> bool {
        let mut p = caller.splitn(6, ':');
        let parts = (p.next(), p.next(), p.next(), p.next(), p.next(), p.next());
        let (Some("arn"), Some(partition), Some("sts"), Some(""), Some(account), Some(resource)) =
            parts
        else {
            return false;
        };
        let Some(rest) = resource.strip_prefix("assumed-role/") else {
            return false;
        };
        let Some((name, session)) = rest.split_once('/') else {
            return false;
        };
        partition == self.partition
            && account == self.account
            && name == self.name
            && !session.is_empty()
    }
}

/// The IAM caller of a REST API request (`requestContext.identity.userArn`).
fn caller(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.user_arn.clone(),
        _ => None,
    }
}

/// Handles one request; never fails (every problem is an answer).
pub async fn handle<S: ObjectSink + ObjectSource>(app: &App<S>, req: Request) -> Response<Body> {
    let mut doc = app.config.metrics.document();
    let response = answer(app, &req, &mut doc).await;
    app.config.metrics.emit(doc);
    response
}

async fn answer<S: ObjectSink + ObjectSource>(
    app: &App<S>,
    req: &Request,
    doc: &mut hlsgate_aws::metrics::Emf,
) -> Response<Body> {
    if req.method() != Method::POST {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "POST a CPIX document", None);
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let caller = caller(req);
    let allowed = RoleArn::parse(&app.config.caller_role_arn)
        .is_some_and(|role| caller.as_deref().is_some_and(|c| role.has_session(c)));
    if !allowed {
        tracing::warn!(caller = caller.as_deref().unwrap_or("-"), "caller refused");
        doc.count(name::REFUSALS, &[("Reason", "caller")]);
        return plain(StatusCode::FORBIDDEN, "caller not allowed", None);
    }
    let header = req
        .headers()
        .get(speke::VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or("?"));
    let version = match Version::from_header(header) {
        Ok(v) => v,
        Err(refusal) => return refuse(doc, None, &refusal),
    };
    let cpix = match Cpix::parse(req.body().as_ref(), version) {
        Ok(c) => c,
        Err(refusal) => return refuse(doc, Some(version), &refusal),
    };
    let key = match content_key::ensure(&app.media, &app.config.keys_prefix, &cpix.content_id).await
    {
        Ok(k) => k,
        Err(e) => {
            // A store failure, or a stored key that is not 16 bytes: never
            // a second key for the folder. MediaConvert's job fails, and
            // says the provider answered 500.
            let corrupt = matches!(e, KeyError::Corrupt { .. });
            tracing::error!(video_id = %cpix.content_id, error = %e, corrupt, "no key");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the key could not be read or stored",
                Some(version),
            );
        }
    };
    let body = match cpix.answer(key.bytes(), KEY_NAME) {
        Ok(b) => b,
        Err(refusal) => return refuse(doc, Some(version), &refusal),
    };
    tracing::info!(
        caller = caller.as_deref().unwrap_or("-"),
        video_id = %cpix.content_id,
        kid = %cpix.key.kid,
        system_id = %cpix.system_id,
        speke = version.as_str(),
        "key provided"
    );
    doc.count(name::KEYS_PROVIDED, &[]);
    let mut response = Response::new(Body::Text(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    speke_headers(&mut response, Some(version));
    response
}

fn refuse(
    doc: &mut hlsgate_aws::metrics::Emf,
    version: Option<Version>,
    refusal: &Refusal,
) -> Response<Body> {
    tracing::warn!(reason = refusal.code(), message = %refusal, "request refused");
    doc.count(name::REFUSALS, &[("Reason", refusal.code())]);
    plain(
        StatusCode::UNPROCESSABLE_ENTITY,
        &refusal.to_string(),
        version,
    )
}

fn plain(status: StatusCode, message: &str, version: Option<Version>) -> Response<Body> {
    let mut r = Response::new(Body::Text(format!("{message}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    speke_headers(&mut r, version);
    r
}

/// SPEKE's headers, and nothing cacheable: an answer holds a key.
fn speke_headers(r: &mut Response<Body>, version: Option<Version>) {
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        speke::USER_AGENT_HEADER,
        HeaderValue::from_static(USER_AGENT),
    );
    if version == Some(Version::V2) {
        h.insert(speke::VERSION_HEADER, HeaderValue::from_static("2.0"));
    } else {
        h.insert("speke-user-agent", HeaderValue::from_static(USER_AGENT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sessions_of_the_role_are_the_caller() {
        let role =
            RoleArn::parse("arn:aws:iam::111122223333:role/service/hlsgate-mediaconvert").unwrap();
        assert!(role.has_session(
            "arn:aws:sts::111122223333:assumed-role/hlsgate-mediaconvert/MediaConvert"
        ));
        for other in [
            "arn:aws:sts::444455556666:assumed-role/hlsgate-mediaconvert/MediaConvert",
            "arn:aws:sts::111122223333:assumed-role/hlsgate-mediaconvert-2/MediaConvert",
            "arn:aws:sts::111122223333:assumed-role/hlsgate-mediaconvert/",
            "arn:aws-cn:sts::111122223333:assumed-role/hlsgate-mediaconvert/s",
            "arn:aws:iam::111122223333:user/hlsgate-mediaconvert",
            "arn:aws:iam::111122223333:role/service/hlsgate-mediaconvert",
            "",
        ] {
            assert!(!role.has_session(other), "{other}");
        }
        for bad in [
            "hlsgate-mediaconvert",
            "arn:aws:iam::111122223333:user/x",
            "arn:aws:sts::1:assumed-role/x/y",
        ] {
            assert_eq!(RoleArn::parse(bad), None, "{bad}");
        }
    }
}
