//! May this viewer watch this video?
//!
//! [`Entitlement`] is the seam: the handler asks it once per request and
//! answers 403 on [`Decision::Denied`], 503 on an error. [`ClaimsEntitlement`]
//! decides from the token's claims alone, configured from the environment.
//! Anything else (a purchases table, a subscription service) is another
//! implementation of the trait, wired in `main.rs`:
//!
//! ```
//! use std::collections::HashSet;
//! use hlsgate_core::video::VideoId;
//! use hlsgate_signed_url_issuer::entitlement::{Decision, Entitlement, EntitlementError};
//! use hlsgate_signed_url_issuer::viewer::Viewer;
//!
//! /// Stands in for a table keyed by (subject, video id), e.g. a DynamoDB
//! /// `GetItem` with a projection of one attribute.
//! struct Purchases(HashSet<(String, String)>);
//!
//! impl Entitlement for Purchases {
//!     async fn check(&self, viewer: &Viewer, video: &VideoId) -> Result<Decision, EntitlementError> {
//!         // A real lookup returns EntitlementError::Unavailable on throttling
//!         // or timeouts, so the viewer gets a retryable 503, not a 403.
//!         let key = (viewer.subject.clone(), video.to_string());
//!         Ok(if self.0.contains(&key) { Decision::Allowed } else { Decision::Denied("not purchased") })
//!     }
//! }
//! ```

use std::future::Future;

use hlsgate_aws::env::Env;
use hlsgate_core::video::VideoId;

use crate::viewer::Viewer;

/// The answer for one viewer and video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the reason is logged, never shown.
    Denied(&'static str),
}

/// The entitlement store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementError {
    #[error("entitlement store unavailable: {0}")]
    Unavailable(String),
}

/// Decides whether a viewer may watch a video.
pub trait Entitlement: Send + Sync {
    fn check(
        &self,
        viewer: &Viewer,
        video: &VideoId,
    ) -> impl Future<Output = Result<Decision, EntitlementError>> + Send;
}

/// Rules on the token's claims. Every configured rule must pass:
/// - `ENTITLEMENT_CLAIM` + `ENTITLEMENT_VALUES`: the claim (say
///   `cognito:groups`, or `scope`) holds at least one of the values;
/// - `ENTITLEMENT_VIDEOS_CLAIM`: the claim (say `custom:videos`) lists the
///   video id; with `ENTITLEMENT_VIDEOS_WILDCARDS=true`, also a prefix of it
///   ending in `*` (`course-101-*`), or `*`. Off by default: a claim the
///   viewer can write (a Cognito `custom:` attribute their own app client
///   may update) would otherwise grant everything with one `*`.
///
/// With no rule configured the function refuses to start, unless
/// `ENTITLEMENT_ANY_VIEWER=true` says that every signed-in viewer may watch
/// everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimsEntitlement {
    pub required: Option<(String, Vec<String>)>,
    pub videos_claim: Option<String>,
    /// `ENTITLEMENT_VIDEOS_WILDCARDS`: `*` and `prefix*` entries grant.
    pub wildcards: bool,
    pub any_viewer: bool,
}

impl ClaimsEntitlement {
    /// Reads the rules; problems are recorded in `env`.
    pub fn from_env(env: &mut Env) -> Self {
        let claim = env.optional("ENTITLEMENT_CLAIM").map(str::to_string);
        let values = env.list("ENTITLEMENT_VALUES");
        let required = match (claim, values.is_empty()) {
            (Some(c), false) => Some((c, values)),
            (None, true) => None,
            (Some(_), true) => {
                env.problem("ENTITLEMENT_CLAIM is set but ENTITLEMENT_VALUES is empty");
                None
            }
            (None, false) => {
                env.problem("ENTITLEMENT_VALUES is set but ENTITLEMENT_CLAIM is not");
                None
            }
        };
        let videos_claim = env.optional("ENTITLEMENT_VIDEOS_CLAIM").map(str::to_string);
        let wildcards = env.flag("ENTITLEMENT_VIDEOS_WILDCARDS", false);
        if wildcards && videos_claim.is_none() {
            env.problem("ENTITLEMENT_VIDEOS_WILDCARDS is set but ENTITLEMENT_VIDEOS_CLAIM is not");
        }
        let any_viewer = env.flag("ENTITLEMENT_ANY_VIEWER", false);
        let rules = ClaimsEntitlement {
            required,
            videos_claim,
            wildcards,
            any_viewer,
        };
        if !rules.any_viewer && rules.required.is_none() && rules.videos_claim.is_none() {
            env.problem(
                "no entitlement rule: set ENTITLEMENT_CLAIM and ENTITLEMENT_VALUES, and/or \
                 ENTITLEMENT_VIDEOS_CLAIM, or ENTITLEMENT_ANY_VIEWER=true to let every \
                 signed-in viewer watch everything",
            );
        }
        rules
    }

    /// The decision, synchronously: claims need no lookup.
    pub fn decide(&self, viewer: &Viewer, video: &VideoId) -> Decision {
        if let Some((claim, wanted)) = &self.required {
            let held = viewer.claim_values(claim);
            if !held.iter().any(|h| wanted.contains(h)) {
                return Decision::Denied("required claim value missing");
            }
        }
        if let Some(claim) = &self.videos_claim {
            let id = video.as_str();
            let entries = viewer.claim_values(claim);
            let wildcard = entries.iter().any(|entry| {
                entry
                    .strip_suffix('*')
                    .is_some_and(|prefix| id.starts_with(prefix))
            });
            // A video id holds no `*`, so an entry with one never matches
            // literally.
            let listed = entries.iter().any(|entry| entry == id);
            match (listed, wildcard, self.wildcards) {
                (true, _, _) | (false, true, true) => {}
                (false, true, false) => {
                    return Decision::Denied(
                        "only a wildcard entry matches, and ENTITLEMENT_VIDEOS_WILDCARDS is off",
                    );
                }
                (false, false, _) => {
                    return Decision::Denied("video not listed in the viewer's claim");
                }
            }
        }
        if self.required.is_none() && self.videos_claim.is_none() && !self.any_viewer {
            return Decision::Denied("no entitlement rule configured");
        }
        Decision::Allowed
    }
}

impl Entitlement for ClaimsEntitlement {
    async fn check(&self, viewer: &Viewer, video: &VideoId) -> Result<Decision, EntitlementError> {
        Ok(self.decide(viewer, video))
    }
}

/// The configured rules, whichever backend holds them: what `main.rs`
/// builds. A new backend (a table, a webhook) is one variant here and one
/// arm in each match.
#[derive(Debug, Clone)]
pub enum Entitlements {
    Claims(ClaimsEntitlement),
}

impl Entitlements {
    pub fn new(config: &crate::Config) -> Entitlements {
        Entitlements::Claims(config.entitlement.clone())
    }
}

impl Entitlement for Entitlements {
    async fn check(&self, viewer: &Viewer, video: &VideoId) -> Result<Decision, EntitlementError> {
        match self {
            Entitlements::Claims(c) => c.check(viewer, video).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn viewer(claims: serde_json::Value) -> Viewer {
        let map = claims
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Viewer::new("user-1", map)
    }

    fn id(s: &str) -> VideoId {
        VideoId::parse(s).unwrap()
    }

    fn rules(pairs: &[(&str, &str)]) -> Result<ClaimsEntitlement, Vec<String>> {
        let mut env = Env::from_pairs(pairs.iter().copied());
        let r = ClaimsEntitlement::from_env(&mut env);
        env.finish().map(|()| r).map_err(|e| e.problems)
    }

    #[test]
    fn group_rule() {
        let r = rules(&[
            ("ENTITLEMENT_CLAIM", "cognito:groups"),
            ("ENTITLEMENT_VALUES", "subscribers, staff"),
        ])
        .unwrap();
        let member = viewer(json!({"cognito:groups": "[free staff]"}));
        let outsider = viewer(json!({"cognito:groups": "free"}));
        let nobody = viewer(json!({}));
        assert_eq!(r.decide(&member, &id("a")), Decision::Allowed);
        assert!(matches!(r.decide(&outsider, &id("a")), Decision::Denied(_)));
        assert!(matches!(r.decide(&nobody, &id("a")), Decision::Denied(_)));
    }

    #[test]
    fn wildcards_grant_only_when_switched_on() {
        let strict = rules(&[("ENTITLEMENT_VIDEOS_CLAIM", "custom:videos")]).unwrap();
        let open = rules(&[
            ("ENTITLEMENT_VIDEOS_CLAIM", "custom:videos"),
            ("ENTITLEMENT_VIDEOS_WILDCARDS", "true"),
        ])
        .unwrap();
        for claim in [
            json!("*"),
            json!("intro,*"),
            json!("[intro *]"),
            json!(["intro", "*"]),
            json!("cour*"),
        ] {
            let v = viewer(json!({ "custom:videos": claim }));
            assert_eq!(
                strict.decide(&v, &id("course-1")),
                Decision::Denied(
                    "only a wildcard entry matches, and ENTITLEMENT_VIDEOS_WILDCARDS is off"
                ),
                "{claim}"
            );
            assert_eq!(
                open.decide(&v, &id("course-1")),
                Decision::Allowed,
                "{claim}"
            );
        }
        // Blanks do not split a plain string: "x *" is one entry, no wildcard.
        let blank = viewer(json!({"custom:videos": "course-1 *"}));
        assert_eq!(
            open.decide(&blank, &id("course-1")),
            Decision::Denied("video not listed in the viewer's claim")
        );
        assert_eq!(
            open.decide(&blank, &id("other")),
            Decision::Denied("video not listed in the viewer's claim")
        );
        // Exact ids pass either way.
        let exact = viewer(json!({"custom:videos": "course-1,intro"}));
        assert_eq!(strict.decide(&exact, &id("intro")), Decision::Allowed);
        assert_eq!(
            rules(&[
                ("ENTITLEMENT_VIDEOS_WILDCARDS", "true"),
                ("ENTITLEMENT_ANY_VIEWER", "true")
            ])
            .unwrap_err(),
            ["ENTITLEMENT_VIDEOS_WILDCARDS is set but ENTITLEMENT_VIDEOS_CLAIM is not"]
        );
    }

    #[test]
    fn videos_rule_with_prefixes_and_both_rules_together() {
        let r = rules(&[
            ("ENTITLEMENT_VIDEOS_CLAIM", "custom:videos"),
            ("ENTITLEMENT_VIDEOS_WILDCARDS", "true"),
            ("ENTITLEMENT_CLAIM", "scope"),
            ("ENTITLEMENT_VALUES", "videos/watch"),
        ])
        .unwrap();
        let v =
            viewer(json!({"custom:videos": "intro,course-101-*", "scope": "openid videos/watch"}));
        assert_eq!(r.decide(&v, &id("intro")), Decision::Allowed);
        assert_eq!(r.decide(&v, &id("course-101-week2")), Decision::Allowed);
        assert!(matches!(r.decide(&v, &id("intro2")), Decision::Denied(_)));
        assert!(matches!(
            r.decide(&v, &id("course-102")),
            Decision::Denied(_)
        ));
        let no_scope = viewer(json!({"custom:videos": "*", "scope": "openid"}));
        assert!(matches!(
            r.decide(&no_scope, &id("intro")),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn configuration_is_explicit() {
        assert_eq!(rules(&[]).unwrap_err().len(), 1);
        assert_eq!(
            rules(&[("ENTITLEMENT_CLAIM", "groups")]).unwrap_err().len(),
            2
        );
        let any = rules(&[("ENTITLEMENT_ANY_VIEWER", "true")]).unwrap();
        assert_eq!(any.decide(&viewer(json!({})), &id("x")), Decision::Allowed);
        // A rule set built by hand with nothing in it refuses.
        assert!(matches!(
            ClaimsEntitlement::default().decide(&viewer(json!({})), &id("x")),
            Decision::Denied(_)
        ));
    }
}
