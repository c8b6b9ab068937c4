//! Who is asking: the principal API Gateway's authorizer vouched for, and
//! the pseudonym that stands for it in logs and upload keys.
//!
//! API Gateway validates the token before the function runs; the function
//! only reads what the authorizer put in the request context:
//! - HTTP API (payload 2.0), JWT authorizer: `requestContext.authorizer.jwt`
//!   with `claims` (every value a string; arrays arrive as `"[a b]"`) and
//!   `scopes`;
//! - REST API, Cognito user pool authorizer: `requestContext.authorizer.claims`
//!   (every value a string; `cognito:groups` arrives as `"a,b"`).
//!
//! No context, or no subject claim, means no principal: the route was
//! deployed without an authorizer, and the answer is 401, never a signature.

use std::collections::HashMap;
use std::net::IpAddr;

use hmac::{KeyInit, Mac};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// A pseudonym for a subject: HMAC-SHA256 of it under `key` (a fixed label
/// when unset), the first 16 bytes in hex. Stable, so one viewer's
/// requests can be followed; not reversible without the key.
pub fn pseudonym(key: Option<&SecretString>, subject: &str) -> String {
    let key: &[u8] = match key {
        Some(k) => k.expose_secret().as_bytes(),
        None => b"hlsgate-subject",
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return "-".to_string();
    };
    mac.update(subject.as_bytes());
    let digest = mac.finalize().into_bytes();
    hex::encode(&digest[..16])
}

/// The key of the [`pseudonym`]s: `LOG_HASH_KEY_SECRET_ARN` (the key in
/// Secrets Manager, fetched at cold start by [`PseudonymKey::load`], so it
/// is never in the function's environment) or `LOG_HASH_KEY` (local runs);
/// neither leaves the fixed label.
#[derive(Debug, Clone, Default)]
pub struct PseudonymKey {
    /// `LOG_HASH_KEY_SECRET_ARN`: the secret holding the key.
    pub secret: Option<String>,
    /// The key, once known.
    pub key: Option<SecretString>,
}

impl PseudonymKey {
    pub fn from_env(env: &mut crate::Env) -> PseudonymKey {
        let secret = env.optional("LOG_HASH_KEY_SECRET_ARN").map(str::to_string);
        if secret.is_some() && env.optional("LOG_HASH_KEY").is_some() {
            env.problem("set LOG_HASH_KEY_SECRET_ARN or LOG_HASH_KEY (local runs), not both");
        }
        let key = env
            .optional("LOG_HASH_KEY")
            .map(|k| SecretString::from(k.to_string()));
        PseudonymKey { secret, key }
    }

    /// As [`from_env`](Self::from_env), and a problem when neither variable
    /// is set: `uses` says what else the key does (`"signs the upload handles"`).
    pub fn required(env: &mut crate::Env, uses: &str) -> PseudonymKey {
        let key = PseudonymKey::from_env(env);
        if key.secret.is_none() && key.key.is_none() {
            env.problem(format!(
                "LOG_HASH_KEY_SECRET_ARN (or LOG_HASH_KEY, local runs) is required: it keys the \
                 viewers' pseudonyms and {uses}"
            ));
        }
        key
    }

    /// Fetches the key from the secret, when one is named (`main`, at cold start).
    pub async fn load(
        &mut self,
        sdk: &aws_config::SdkConfig,
    ) -> Result<(), crate::secret::SecretError> {
        let Some(arn) = &self.secret else {
            return Ok(());
        };
        let secret = crate::secret::Secret::new(
            "the log pseudonym key",
            crate::secret::SecretLocation::SecretsManager(arn.clone()),
            sdk,
        );
        self.key = Some(crate::secret::KeySource::fetch(&secret).await?);
        Ok(())
    }

    /// `subject`'s [`pseudonym`] under this key.
    pub fn of(&self, subject: &str) -> String {
        pseudonym(self.key.as_ref(), subject)
    }
}

/// `SUBJECT_CLAIM` (`sub`): the claim naming the principal.
pub fn subject_claim(env: &crate::Env) -> String {
    env.optional("SUBJECT_CLAIM").unwrap_or("sub").to_string()
}

/// Any of `wanted` among the values of `claim` ([`Viewer::claim_values`]).
pub fn has_any(viewer: &Viewer, claim: &str, wanted: &[String]) -> bool {
    viewer
        .claim_values(claim)
        .iter()
        .any(|v| wanted.iter().any(|w| w == v))
}

/// The authenticated viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The subject claim's value.
    pub subject: String,
    claims: HashMap<String, Value>,
    /// OAuth scopes from the JWT authorizer (HTTP APIs).
    scopes: Vec<String>,
    /// The address API Gateway saw.
    pub source_ip: Option<IpAddr>,
}

impl Viewer {
    /// A viewer from explicit parts (tests, local runs, other front doors).
    pub fn new(subject: impl Into<String>, claims: HashMap<String, Value>) -> Self {
        Viewer {
            subject: subject.into(),
            claims,
            scopes: Vec::new(),
            source_ip: None,
        }
    }

    /// The principal of a request, if its authorizer named one.
    pub fn from_request(req: &Request, subject_claim: &str) -> Option<Viewer> {
        let (claims, scopes, source_ip) = match req.request_context_ref()? {
            RequestContext::ApiGatewayV2(c) => {
                let jwt = c.authorizer.as_ref()?.jwt.as_ref()?;
                let claims: HashMap<String, Value> = jwt
                    .claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let ip = c.http.source_ip.as_deref().and_then(|s| s.parse().ok());
                (claims, jwt.scopes.clone().unwrap_or_default(), ip)
            }
            RequestContext::ApiGatewayV1(c) => {
                let claims = match c.authorizer.fields.get("claims")? {
                    Value::Object(m) => m.clone().into_iter().collect(),
                    // Some integrations hand the claims over as a JSON string.
                    Value::String(s) => serde_json::from_str(s).ok()?,
                    _ => return None,
                };
                let ip = c.identity.source_ip.as_deref().and_then(|s| s.parse().ok());
                (claims, Vec::new(), ip)
            }
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        let subject = match claims.get(subject_claim)? {
            Value::String(s) if !s.trim().is_empty() => s.clone(),
            _ => return None,
        };
        Some(Viewer {
            subject,
            claims,
            scopes,
            source_ip,
        })
    }

    /// The principal of a request, or the 401 `unauthenticated` refusal
    /// (no authorizer context, or no `subject_claim` in it: the route was
    /// deployed without the authorizer).
    pub fn required(req: &Request, subject_claim: &str) -> Result<Viewer, crate::web::Refusal> {
        Viewer::from_request(req, subject_claim).ok_or_else(|| {
            crate::web::Refusal::new(
                http::StatusCode::UNAUTHORIZED,
                "unauthenticated",
                format!(
                    "no authorizer context with a {subject_claim:?} claim: is the route behind the JWT authorizer?"
                ),
            )
        })
    }

    /// A claim as the authorizer passed it.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The values of a claim, in the formats the authorizers write them and
    /// no other: a JSON array; for `scope`, blank-separated (RFC 6749 §3.3),
    /// plus the JWT authorizer's scopes; for any other claim, `"[a b]"` (an
    /// HTTP API's JWT authorizer flattening an array) or `"a,b"` (a REST
    /// API's Cognito authorizer, e.g. `cognito:groups`). Otherwise a string
    /// is one value, blanks and all: `"x *"` never becomes `x` and `*`.
    pub fn claim_values(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = match self.claims.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Some(Value::String(s)) => split_claim(name, s)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Number(n)) => vec![n.to_string()],
            Some(Value::Bool(b)) => vec![b.to_string()],
            _ => Vec::new(),
        };
        if name == "scope" {
            out.extend(self.scopes.iter().cloned());
        }
        out
    }
}

/// A string claim split as its authorizer joined it (see
/// [`Viewer::claim_values`]).
fn split_claim<'a>(name: &str, s: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    if name == "scope" {
        return Box::new(s.split(' '));
    }
    match s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => Box::new(inner.split(' ')),
        None => Box::new(s.split(',')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claim_values_in_every_shape() {
        let claims: HashMap<String, Value> = [
            ("http", json!("[subscribers staff]")),
            ("rest", json!("subscribers,staff")),
            ("scope", json!("openid videos/read")),
            ("array", json!(["subscribers", 7])),
            ("one", json!("subscribers")),
            ("empty", json!("")),
            ("blanks", json!("course-1 *")),
            ("tab", json!("a\tb")),
            ("bracket-commas", json!("[a,b c]")),
            ("half-bracket", json!("[a b")),
            ("padded", json!(" a, b ")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut v = Viewer::new("user-1", claims);
        v.scopes = vec!["videos/watch".into()];
        assert_eq!(v.claim_values("http"), ["subscribers", "staff"]);
        assert_eq!(v.claim_values("rest"), ["subscribers", "staff"]);
        assert_eq!(v.claim_values("array"), ["subscribers", "7"]);
        assert_eq!(v.claim_values("one"), ["subscribers"]);
        assert!(v.claim_values("empty").is_empty());
        assert!(v.claim_values("missing").is_empty());
        // Only the documented separators split.
        assert_eq!(v.claim_values("blanks"), ["course-1 *"]);
        assert_eq!(v.claim_values("tab"), ["a\tb"]);
        assert_eq!(v.claim_values("bracket-commas"), ["a,b", "c"]);
        assert_eq!(v.claim_values("half-bracket"), ["[a b"]);
        assert_eq!(v.claim_values("padded"), [" a", " b "]);
        assert_eq!(
            v.claim_values("scope"),
            ["openid", "videos/read", "videos/watch"]
        );
    }
}
