//! Rules on the token's claims: no lookup, decided in the handler's thread.

use hlsgate_aws::env::Env;
use hlsgate_core::video::VideoId;

use super::{Decision, Entitlement, EntitlementError};
use crate::viewer::Viewer;

/// Rules on the token's claims. Every configured rule must pass:
/// - `ENTITLEMENT_CLAIM` + `ENTITLEMENT_VALUES`: the claim (say
///   `cognito:groups`, or `scope`) holds at least one of the values;
/// - `ENTITLEMENT_VIDEOS_CLAIM`: the claim (say `custom:videos`) lists the
///   video id; with `ENTITLEMENT_VIDEOS_WILDCARDS=true`, also a prefix of it
///   ending in `*` (`course-101-*`), or `*`. Off by default: a claim the
///   viewer can write (a Cognito `custom:` attribute their own app client
///   may update) would otherwise grant everything with one `*`.
///
/// With `ENTITLEMENT=claims` and no rule configured the function refuses
/// to start, unless `ENTITLEMENT_ANY_VIEWER=true` says that every signed-in
/// viewer may watch everything. With a store (`dynamodb`, `webhook`) the
/// claim rules are optional, and checked first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimsEntitlement {
    pub required: Option<(String, Vec<String>)>,
    pub videos_claim: Option<String>,
    /// `ENTITLEMENT_VIDEOS_WILDCARDS`: `*` and `prefix*` entries grant.
    pub wildcards: bool,
    pub any_viewer: bool,
}

impl ClaimsEntitlement {
    /// Reads the claim rules; `None` when none is set. Problems are
    /// recorded in `env`; `wildcards` is `ENTITLEMENT_VIDEOS_WILDCARDS`, read
    /// by the caller because the grants table honours it too.
    pub fn from_env(env: &mut Env, wildcards: bool) -> Option<Self> {
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
        let any_viewer = env.flag("ENTITLEMENT_ANY_VIEWER", false);
        let rules = ClaimsEntitlement {
            required,
            videos_claim,
            wildcards,
            any_viewer,
        };
        (rules.any_viewer || rules.required.is_some() || rules.videos_claim.is_some())
            .then_some(rules)
    }

    /// The decision, synchronously: claims need no lookup.
    pub fn decide(&self, viewer: &Viewer, video: &VideoId) -> Decision {
        if let Some((claim, wanted)) = &self.required
            && !hlsgate_aws::viewer::has_any(viewer, claim, wanted)
        {
            return Decision::denied("claim_missing", "required claim value missing");
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
                    return Decision::denied(
                        "wildcards_off",
                        "only a wildcard entry matches, and ENTITLEMENT_VIDEOS_WILDCARDS is off",
                    );
                }
                (false, false, _) => {
                    return Decision::denied(
                        "video_not_listed",
                        "video not listed in the viewer's claim",
                    );
                }
            }
        }
        if self.required.is_none() && self.videos_claim.is_none() && !self.any_viewer {
            return Decision::no_rule();
        }
        Decision::ALLOWED
    }
}

/// The claim rules alone, as a backend.
impl Entitlement for ClaimsEntitlement {
    async fn check(
        &self,
        viewer: &Viewer,
        video: &VideoId,
        _now: u64,
    ) -> Result<Decision, EntitlementError> {
        Ok(self.decide(viewer, video))
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

    /// The logged reason of a denial.
    fn reason(d: Decision) -> String {
        match d {
            Decision::Denied(d) => d.reason.into_owned(),
            Decision::Allowed { .. } => "allowed".into(),
        }
    }

    fn id(s: &str) -> VideoId {
        VideoId::parse(s).unwrap()
    }

    fn rules(pairs: &[(&str, &str)]) -> Result<ClaimsEntitlement, Vec<String>> {
        let mut env = Env::from_pairs(pairs.iter().copied());
        let r = super::super::EntitlementConfig::from_env(&mut env);
        env.finish()
            .map(|()| r.claims.unwrap_or_default())
            .map_err(|e| e.problems)
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
        assert_eq!(r.decide(&member, &id("a")), Decision::ALLOWED);
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
                reason(strict.decide(&v, &id("course-1"))),
                "only a wildcard entry matches, and ENTITLEMENT_VIDEOS_WILDCARDS is off",
                "{claim}"
            );
            assert_eq!(
                open.decide(&v, &id("course-1")),
                Decision::ALLOWED,
                "{claim}"
            );
        }
        // Blanks do not split a plain string: "x *" is one entry, no wildcard.
        let blank = viewer(json!({"custom:videos": "course-1 *"}));
        assert_eq!(
            reason(open.decide(&blank, &id("course-1"))),
            "video not listed in the viewer's claim"
        );
        assert_eq!(
            reason(open.decide(&blank, &id("other"))),
            "video not listed in the viewer's claim"
        );
        // Exact ids pass either way.
        let exact = viewer(json!({"custom:videos": "course-1,intro"}));
        assert_eq!(strict.decide(&exact, &id("intro")), Decision::ALLOWED);
        assert_eq!(
            rules(&[
                ("ENTITLEMENT_VIDEOS_WILDCARDS", "true"),
                ("ENTITLEMENT_ANY_VIEWER", "true")
            ])
            .unwrap_err(),
            [super::super::WILDCARDS_UNUSED]
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
        assert_eq!(r.decide(&v, &id("intro")), Decision::ALLOWED);
        assert_eq!(r.decide(&v, &id("course-101-week2")), Decision::ALLOWED);
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
        assert_eq!(any.decide(&viewer(json!({})), &id("x")), Decision::ALLOWED);
        // A rule set built by hand with nothing in it refuses.
        assert!(matches!(
            ClaimsEntitlement::default().decide(&viewer(json!({})), &id("x")),
            Decision::Denied(_)
        ));
    }
}
