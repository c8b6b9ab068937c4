//! Why a signed request was refused. CloudFront only ever says "Access
//! denied"; with the key group's public keys the project's own verifier
//! names the failed check, and without them the policy's clear text still
//! tells an expiry or a resource that does not cover the URL. Whatever is
//! left is said as the likely causes, most likely first.

use hlsgate_core::signing::names::Found;
use hlsgate_core::signing::{
    Context, KeyGroup, VerifyError, conditions, verify_cookies, verify_url,
};

use crate::client::Fetched;
use crate::redact::Redactor;
use crate::report::Problem;
use crate::signature;

/// What a request carried: its URL, and the `Cookie` header in cookie mode.
#[derive(Clone, Copy)]
pub struct Presented<'a> {
    pub url: &'a str,
    pub cookie: Option<&'a str>,
}

impl Presented<'_> {
    fn found(&self) -> Found {
        match self.cookie {
            Some(c) => signature::found_in_cookies(c),
            None => signature::found_in_url(self.url),
        }
    }
}

/// The problem a verifier's reason is.
pub fn problem_of(e: &VerifyError) -> Problem {
    match e {
        VerifyError::Malformed(_) | VerifyError::CannedCustomMismatch(_) => {
            Problem::SignatureMalformed
        }
        VerifyError::UnknownKeyId { .. } => Problem::UnknownKeyId,
        VerifyError::BadSignature { .. } => Problem::BadSignature,
        VerifyError::ResourceMismatch { .. } => Problem::ResourceMismatch,
        VerifyError::NotYetValid { .. } => Problem::NotYetValid,
        VerifyError::Expired { .. } => Problem::Expired,
        VerifyError::IpOutside { .. } | VerifyError::IpUnknown { .. } => Problem::IpBound,
    }
}

/// A verifier's reason in a sentence, URLs redacted.
pub fn describe(e: &VerifyError, redact: &Redactor) -> String {
    match e {
        VerifyError::UnknownKeyId { key_pair_id, known } => format!(
            "key id {key_pair_id} is not in the key group you gave ({})",
            known.join(", ")
        ),
        VerifyError::Expired { expires, now } => format!(
            "expired at {expires}, {} s before this request",
            now.saturating_sub(expires.seconds())
        ),
        VerifyError::NotYetValid { starts, .. } => format!("not valid before {starts}"),
        VerifyError::ResourceMismatch { pattern, url } => format!(
            "resource does not cover the URL: the policy covers {} and the request is for {}",
            redact.url(pattern),
            redact.url(url)
        ),
        // The verifier's words may name the URL (a canned policy's), copies
        // and all.
        VerifyError::BadSignature { detail, .. } => {
            format!("bad signature: {}", redact.text(detail))
        }
        VerifyError::Malformed(m) | VerifyError::CannedCustomMismatch(m) => {
            format!("the signing values cannot be read: {}", redact.text(m))
        }
        VerifyError::IpOutside { cidr, .. } | VerifyError::IpUnknown { cidr } => format!(
            "the policy is bound to the viewer address {cidr}: CloudFront compares it with the address it sees for each request (BIND_VIEWER_IP)"
        ),
    }
}

/// Checks a signature with the key group, when given; without it, only
/// what the policy's clear text tells (expiry, start, resource).
pub fn check(
    presented: Presented<'_>,
    keys: Option<&KeyGroup>,
    now: u64,
) -> Result<(), VerifyError> {
    let ctx = Context {
        now,
        viewer_ip: None,
    };
    let result = match keys {
        Some(keys) => match presented.cookie {
            Some(c) => verify_cookies(presented.url, c, keys, ctx).map(|_| ()),
            None => verify_url(presented.url, keys, ctx).map(|_| ()),
        },
        None => clear_text(presented, ctx),
    };
    // The probe cannot know its own address as CloudFront sees it.
    match result {
        Err(VerifyError::IpUnknown { .. }) => Ok(()),
        other => other,
    }
}

/// What a policy says without its signature being checked: core's own
/// conditions, on the policy's clear text.
fn clear_text(presented: Presented<'_>, ctx: Context) -> Result<(), VerifyError> {
    let found = presented.found();
    let url = signature::bare(presented.url);
    let Some(policy) = signature::policy(&found, &url) else {
        return Err(VerifyError::Malformed(
            "no policy or expiry can be read from the signature".into(),
        ));
    };
    conditions(&policy, &url, ctx)
}

/// Why `answer`, a refusal of a signed request, happened: the problem and
/// the sentences that say it.
pub fn refusal(
    answer: &Fetched,
    presented: Presented<'_>,
    keys: Option<&KeyGroup>,
    now: u64,
    redact: &Redactor,
) -> (Problem, Vec<String>) {
    let mut why = Vec::new();
    let from_edge =
        answer.body.starts_with(b"<?xml") || answer.header("x-cache").contains("cloudfront");
    match (answer.refusal_code(), from_edge) {
        (Some(code), true) => why.push(format!("the distribution refused it ({code})")),
        (Some(code), false) => why.push(format!(
            "the origin refused it ({code}): CloudFront let it through, the function behind did not"
        )),
        (None, _) => {}
    }
    let found = presented.found();
    match check(presented, keys, now) {
        Err(e) => {
            why.push(describe(&e, redact));
            if keys.is_none() {
                why.push("(the signature itself was not checked: give --public-key ID=FILE for each key of the distribution's key group)".into());
            }
            (problem_of(&e), why)
        }
        Ok(()) if keys.is_some() => {
            let id = found.key_pair_id.as_deref().unwrap_or("?");
            why.push(format!(
                "the signature is valid for the keys you gave (key {id}): the distribution does not trust key {id} (is its public key in the distribution's trusted key group?), or something in front refused (a WAF rule, a geo restriction)"
            ));
            (Problem::Refused, why)
        }
        Ok(()) => {
            let id = found.key_pair_id.as_deref().unwrap_or("?");
            why.extend([
                format!("likely: key pair id {id} is not in the distribution's trusted key group, or the issuer's active private key is not {id}'s (give --public-key {id}=FILE to check)"),
                "then: a WAF rule or a geo restriction on the distribution".into(),
                "then: the origin's secret differs between the distribution and the function (its 403 names `forbidden`)".into(),
            ]);
            (Problem::Refused, why)
        }
    }
}
