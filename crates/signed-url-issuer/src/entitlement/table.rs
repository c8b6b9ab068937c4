//! The DynamoDB grants table (`ENTITLEMENT=dynamodb`, `GRANTS_TABLE`),
//! through `aws-sdk-dynamodb`; the item layout is in [`super::grants`].
//!
//! A playback costs at most two calls, never a scan:
//! 1. `GetItem(subject, video id)`: the exact grant; a valid one decides;
//! 2. with `ENTITLEMENT_VIDEOS_WILDCARDS=true` only, `Query(subject,
//!    begins_with(video, "*"))`: the viewer's collection grants, at most
//!    [`MAX_COLLECTIONS`] of them, matched here against the id.
//!
//! Reads are eventually consistent (half the price; a revocation is seen
//! within about a second, then within the decision cache's TTL). Throttling,
//! timeouts and a missing table are [`EntitlementError`]s (503), never a 403.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use hlsgate_aws::error::CallError;
use hlsgate_core::video::VideoId;

use super::grants::{self, COLLECTION_MARK, Grant, Target, Window, attr};
use super::{Decision, EntitlementError, Terms};
use crate::dynamo::Failure;

/// The table is not there (`ResourceNotFoundException`).
pub const TABLE_MISSING: &str = "grants_table_missing";
/// The role may not read it (`AccessDeniedException`).
pub const ACCESS_DENIED: &str = "grants_access_denied";

/// Collection grants read for one subject (one `Query` page).
pub const MAX_COLLECTIONS: i32 = 100;

type Item = HashMap<String, AttributeValue>;

/// The grants table.
#[derive(Debug, Clone)]
pub struct GrantsTable {
    client: Client,
    name: String,
}

impl GrantsTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        GrantsTable {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn key(subject: &str, target: &Target) -> Item {
        HashMap::from([
            (attr::SUBJECT.into(), AttributeValue::S(subject.into())),
            (attr::VIDEO.into(), AttributeValue::S(target.sort_key())),
        ])
    }

    /// A failed call as the handler sees it: which store, what went wrong.
    fn unavailable<E>(
        &self,
        call: &str,
        err: &aws_sdk_dynamodb::error::SdkError<E>,
    ) -> EntitlementError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    {
        let e = CallError::from_sdk(err);
        let detail = match Failure::of(&e) {
            Failure::Missing => TABLE_MISSING,
            Failure::Throttled => "grants_throttled",
            Failure::Timeout => "grants_timeout",
            Failure::Denied => ACCESS_DENIED,
            Failure::Other => "grants_unavailable",
        };
        let what = if detail == TABLE_MISSING {
            format!(
                "the grants table {:?} does not exist (GRANTS_TABLE)",
                self.name
            )
        } else {
            format!("{call} on the grants table {:?}: {e}", self.name)
        };
        EntitlementError::new(detail, what)
    }

    /// The decision for `subject` and `video` at `now`.
    pub async fn check(
        &self,
        subject: &str,
        video: &VideoId,
        collections: bool,
        now: u64,
    ) -> Result<Decision, EntitlementError> {
        let exact = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(subject, &Target::Video(video.clone()))))
            .projection_expression("#nb, #ex, #c, #m")
            .expression_attribute_names("#nb", attr::NOT_BEFORE)
            .expression_attribute_names("#ex", attr::EXPIRES_AT)
            .expression_attribute_names("#c", attr::COUNTRIES)
            .expression_attribute_names("#m", attr::MAX_STREAMS)
            .send()
            .await
            .map_err(|e| self.unavailable("GetItem", &e))?;
        let mut held: Vec<(Window, Terms)> = exact.item().map(read_grant).into_iter().collect();
        let decide =
            |held: &[(Window, Terms)]| grants::decide(held.iter().map(|(w, t)| (*w, t)), now);
        let decided = decide(&held);
        if matches!(decided, Decision::Allowed { .. }) || !collections {
            return Ok(decided);
        }
        let found = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#s = :s AND begins_with(#v, :mark)")
            .expression_attribute_names("#s", attr::SUBJECT)
            .expression_attribute_names("#v", attr::VIDEO)
            .expression_attribute_values(":s", AttributeValue::S(subject.into()))
            .expression_attribute_values(":mark", AttributeValue::S(COLLECTION_MARK.to_string()))
            .limit(MAX_COLLECTIONS)
            .send()
            .await
            .map_err(|e| self.unavailable("Query", &e))?;
        if found.last_evaluated_key().is_some() {
            tracing::warn!(
                table = %self.name,
                "a viewer has more than {MAX_COLLECTIONS} collection grants: only the first were read"
            );
        }
        for item in found.items() {
            let Some(target) = read_target(item) else {
                continue;
            };
            if target.covers(video) {
                held.push(read_grant(item));
            }
        }
        Ok(decide(&held))
    }

    /// Creates the table as the template does (on demand; the key of
    /// [`super::grants`]) and waits until it is active: for local servers.
    pub async fn create(&self) -> Result<(), CallError> {
        crate::dynamo::create_table(&self.client, &self.name, attr::SUBJECT, attr::VIDEO).await
    }

    /// Fails only when the table is missing (or unreadable for good): for
    /// a clear error at start-up. One `GetItem` of a key no grant has.
    pub async fn probe(&self) -> Result<(), EntitlementError> {
        let key = HashMap::from([
            (
                attr::SUBJECT.into(),
                AttributeValue::S("#hlsgate-probe".into()),
            ),
            (attr::VIDEO.into(), AttributeValue::S("#probe".into())),
        ]);
        crate::dynamo::probe(&self.client, &self.name, key, |e| {
            self.unavailable("GetItem", e)
        })
        .await
    }

    /// Writes (or replaces) a grant.
    pub async fn put(&self, grant: &Grant) -> Result<(), CallError> {
        let mut item = Self::key(&grant.subject, &grant.target);
        if let Some(nb) = grant.window.not_before {
            item.insert(attr::NOT_BEFORE.into(), AttributeValue::N(nb.to_string()));
        }
        if let Some(ex) = grant.window.expires_at {
            item.insert(attr::EXPIRES_AT.into(), AttributeValue::N(ex.to_string()));
        }
        if let Some(c) = &grant.terms.countries {
            let codes = c.codes().iter().map(|c| c.as_str().to_string()).collect();
            item.insert(attr::COUNTRIES.into(), AttributeValue::Ss(codes));
        }
        if let Some(n) = grant.terms.max_streams {
            item.insert(attr::MAX_STREAMS.into(), AttributeValue::N(n.to_string()));
        }
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(())
    }

    /// Deletes a grant; `false` when there was none.
    pub async fn delete(&self, subject: &str, target: &Target) -> Result<bool, CallError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(subject, target)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        Ok(out.attributes().is_some())
    }

    /// Every grant of `subject`, collections first (the sort key's order).
    pub async fn list(&self, subject: &str) -> Result<Vec<Grant>, CallError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.name)
                .key_condition_expression("#s = :s")
                .expression_attribute_names("#s", attr::SUBJECT)
                .expression_attribute_values(":s", AttributeValue::S(subject.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| CallError::from_sdk(&e))?;
            for item in page.items() {
                if let Some(target) = read_target(item) {
                    let (window, terms) = read_grant(item);
                    out.push(Grant {
                        subject: subject.to_string(),
                        target,
                        window,
                        terms,
                    });
                }
            }
            match page.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
            }
        }
    }
}

fn read_target(item: &Item) -> Option<Target> {
    let key = item.get(attr::VIDEO)?.as_s().ok()?;
    match Target::from_sort_key(key) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "a grant's sort key is not a video id or a collection; ignored");
            None
        }
    }
}

/// The item's window and terms; [`Window::MALFORMED`] (with a warning)
/// when its terms cannot be read: such a grant grants nothing, and the
/// refusal says `grant_malformed`.
fn read_grant(item: &Item) -> (Window, Terms) {
    let countries = match item.get(attr::COUNTRIES) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::Ss(codes)) => Ok(Some(codes.iter().map(String::as_str).collect())),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| v.as_s().map(String::as_str))
            .collect::<Result<Vec<&str>, _>>()
            .map(Some)
            .map_err(|_| ()),
        Some(_) => Err(()),
    };
    let max_streams = match item.get(attr::MAX_STREAMS) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(n)) => Ok(Some(n.as_str())),
        Some(_) => Err(()),
    };
    let terms = match (countries, max_streams) {
        (Ok(c), Ok(m)) => grants::read_terms(c, m),
        _ => Err(format!(
            "{} must be a list of strings and {} a number",
            attr::COUNTRIES,
            attr::MAX_STREAMS
        )),
    };
    match terms {
        Ok(terms) => (read_window(item), terms),
        Err(e) => {
            tracing::warn!(error = %e, "a grant's terms cannot be read; it grants nothing");
            (Window::MALFORMED, Terms::NONE)
        }
    }
}

/// The item's window; [`Window::MALFORMED`] (with a warning) when an end
/// is not whole epoch seconds up to year 9999.
fn read_window(item: &Item) -> Window {
    let epoch = |name: &str| -> Result<Option<u64>, ()> {
        match item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(n)) => grants::parse_epoch(n).map(Some).ok_or(()),
            Some(_) => Err(()),
        }
    };
    match (epoch(attr::NOT_BEFORE), epoch(attr::EXPIRES_AT)) {
        (Ok(not_before), Ok(expires_at)) => Window {
            not_before,
            expires_at,
        },
        _ => {
            tracing::warn!(
                "a grant's {} or {} is not whole epoch seconds up to year 9999; it grants nothing",
                attr::NOT_BEFORE,
                attr::EXPIRES_AT
            );
            Window::MALFORMED
        }
    }
}
