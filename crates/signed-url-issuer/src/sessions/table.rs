//! The sessions table (`SESSIONS_TABLE`), through `aws-sdk-dynamodb`.
//!
//! One item per stream slot (`MAX_STREAMS` > 0) or per session (no limit):
//!
//! | attribute    | type | what |
//! |--------------|------|------|
//! | `subject`    | S    | partition key: the viewer's subject claim |
//! | `slot`       | S    | sort key: `slot#N` (limited), else `id#` + the session's random part |
//! | `session`    | S    | the session id |
//! | `video`      | S    | the video it plays |
//! | `device`     | S    | optional: the device's label |
//! | `started`    | N    | epoch seconds |
//! | `renewed`    | N    | epoch seconds of the last renewal |
//! | `expires_at` | N    | its signature's expiry plus the grace: past it the session lapsed (the table's TTL attribute) |
//! | `ended`      | N    | optional: when it was ended |
//! | `end_reason` | S    | optional: `viewer`, `beacon`, `operator`, `revoked` |
//! | `replaced`   | S    | optional: the session this one evicted from the slot |
//!
//! Admission is race-free without transactions: a slot is taken by one
//! conditional `PutItem` that holds only if the slot is empty, lapsed or
//! ended, so two starts can never take one slot. With `evict-oldest`, the
//! oldest holder is replaced by a `PutItem` conditional on it still
//! holding. Renewal is one conditional `UpdateItem` on the id's own item.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use hlsgate_aws::error::CallError;
use hlsgate_core::session::{NONCE_BYTES, SessionId};

use super::{Admission, EndReason, Lapse, NewSession, SessionInfo, StreamLimit};
use crate::dynamo::Failure;

/// Attribute names, declared once.
pub mod attr {
    pub const SUBJECT: &str = "subject";
    pub const SLOT: &str = "slot";
    pub const SESSION: &str = "session";
    pub const VIDEO: &str = "video";
    pub const DEVICE: &str = "device";
    pub const STARTED: &str = "started";
    pub const RENEWED: &str = "renewed";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const ENDED: &str = "ended";
    pub const END_REASON: &str = "end_reason";
    pub const REPLACED: &str = "replaced";
}

/// How often a start tries again when another start won the slot it chose
/// to evict.
const EVICT_TRIES: usize = 3;
/// Sessions read for one subject (one `Query` page).
pub const MAX_LISTED: i32 = 200;

type Item = HashMap<String, AttributeValue>;

/// The store could not answer: a 503 the player may retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sessions table unavailable: {message}")]
pub struct SessionsError {
    /// `sessions_throttled`, `sessions_table_missing`, …
    pub detail: &'static str,
    pub message: String,
}

/// The sessions table.
#[derive(Debug, Clone)]
pub struct SessionsTable {
    client: Client,
    name: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn read_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn read_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

/// The item's sort key for `id`.
pub fn slot_key(id: &SessionId) -> String {
    match id.slot() {
        Some(k) => format!("slot#{k}"),
        None => format!("id#{}", id.nonce_text()),
    }
}

fn is_condition_failure<E>(e: &SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// An active session, as [`SessionInfo`], when `item` holds one at `now`.
fn live(item: &Item, now: u64) -> Option<SessionInfo> {
    if item.contains_key(attr::ENDED) || read_n(item, attr::EXPIRES_AT)? <= now {
        return None;
    }
    Some(SessionInfo {
        id: read_s(item, attr::SESSION)?.to_string(),
        video_id: read_s(item, attr::VIDEO)?.to_string(),
        device: read_s(item, attr::DEVICE).map(str::to_string),
        started: read_n(item, attr::STARTED)?,
        renewed: read_n(item, attr::RENEWED)?,
    })
}

impl SessionsTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        SessionsTable {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn unavailable<E>(&self, call: &str, err: &SdkError<E>) -> SessionsError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    {
        let e = CallError::from_sdk(err);
        let detail = match Failure::of(&e) {
            Failure::Missing => "sessions_table_missing",
            Failure::Throttled => "sessions_throttled",
            Failure::Timeout => "sessions_timeout",
            Failure::Denied => "sessions_access_denied",
            Failure::Other => "sessions_unavailable",
        };
        SessionsError {
            detail,
            message: format!("{call} on the sessions table {:?}: {e}", self.name),
        }
    }

    fn key(subject: &str, slot: String) -> Item {
        HashMap::from([
            (attr::SUBJECT.into(), s(subject)),
            (attr::SLOT.into(), s(slot)),
        ])
    }

    fn item(new: &NewSession<'_>, id: &SessionId, lapses_at: u64) -> Item {
        let mut item = Self::key(new.subject, slot_key(id));
        item.insert(attr::SESSION.into(), s(id.to_string()));
        item.insert(attr::VIDEO.into(), s(new.video));
        item.insert(attr::STARTED.into(), n(new.now));
        item.insert(attr::RENEWED.into(), n(new.now));
        item.insert(attr::EXPIRES_AT.into(), n(lapses_at));
        if let Some(d) = new.device {
            item.insert(attr::DEVICE.into(), s(d));
        }
        item
    }

    /// Puts `item` if its slot is free at `now` (absent, lapsed or ended),
    /// or still held by `replacing`. `false` when the condition failed.
    async fn put_if(
        &self,
        item: Item,
        now: u64,
        replacing: Option<&str>,
    ) -> Result<bool, SessionsError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .expression_attribute_names("#s", attr::SESSION);
        let put = match replacing {
            None => put
                .condition_expression(
                    "attribute_not_exists(#s) OR #x <= :now OR attribute_exists(#e)",
                )
                .expression_attribute_names("#x", attr::EXPIRES_AT)
                .expression_attribute_names("#e", attr::ENDED)
                .expression_attribute_values(":now", n(now)),
            Some(old) => put
                .condition_expression("#s = :old")
                .expression_attribute_values(":old", s(old)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(self.unavailable("PutItem", &e)),
        }
    }

    /// Admits `new`: the first free slot of its `max_streams` (or its own
    /// item when that is 0); when none is free, refuses or replaces the oldest.
    pub async fn admit(
        &self,
        new: &NewSession<'_>,
        nonce: [u8; NONCE_BYTES],
        limit: StreamLimit,
        lapses_at: u64,
    ) -> Result<Admission, SessionsError> {
        let max = new.max_streams;
        if max == 0 {
            let id = SessionId::tracked(nonce, None);
            // 128 random bits never meet, and the condition says so.
            return if self
                .put_if(Self::item(new, &id, lapses_at), new.now, None)
                .await?
            {
                Ok(Admission::Admitted { id, evicted: None })
            } else {
                Err(SessionsError {
                    detail: "sessions_collision",
                    message: "a new session id was already in the table".into(),
                })
            };
        }
        for slot in 0..max {
            let id = SessionId::tracked(nonce, Some(slot));
            if self
                .put_if(Self::item(new, &id, lapses_at), new.now, None)
                .await?
            {
                return Ok(Admission::Admitted { id, evicted: None });
            }
        }
        let mut held = self.held(new.subject, max, new.now).await?;
        if limit == StreamLimit::Refuse {
            return Ok(Admission::Full(held.into_iter().map(|(_, i)| i).collect()));
        }
        for _ in 0..EVICT_TRIES {
            // The oldest start goes first; a lapsed slot is simply taken.
            held.sort_by_key(|(_, i)| (i.started, i.renewed));
            let Some((slot, oldest)) = held.first() else {
                // Every slot came free since: take one as any start would.
                return Box::pin(self.admit(new, nonce, StreamLimit::Refuse, lapses_at)).await;
            };
            let id = SessionId::tracked(nonce, Some(*slot));
            let mut item = Self::item(new, &id, lapses_at);
            item.insert(attr::REPLACED.into(), s(oldest.id.as_str()));
            if self.put_if(item, new.now, Some(oldest.id.as_str())).await? {
                return Ok(Admission::Admitted {
                    id,
                    evicted: Some(oldest.id.clone()),
                });
            }
            held = self.held(new.subject, max, new.now).await?;
        }
        Ok(Admission::Full(held.into_iter().map(|(_, i)| i).collect()))
    }

    /// The active sessions of `subject` in slots below `max`, with their slots.
    async fn held(
        &self,
        subject: &str,
        max: u16,
        now: u64,
    ) -> Result<Vec<(u16, SessionInfo)>, SessionsError> {
        let items = self.items(subject).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let slot = read_s(item, attr::SLOT)?
                    .strip_prefix("slot#")?
                    .parse::<u16>()
                    .ok()
                    .filter(|s| *s < max)?;
                Some((slot, live(item, now)?))
            })
            .collect())
    }

    /// Every item of `subject` (strongly consistent: admission reads it).
    async fn items(&self, subject: &str) -> Result<Vec<Item>, SessionsError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.name)
                .consistent_read(true)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", attr::SUBJECT)
                .expression_attribute_values(":p", s(subject))
                .limit(MAX_LISTED)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.unavailable("Query", &e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if out.len() < 10 * MAX_LISTED as usize => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// The active sessions of `subject`, oldest first.
    pub async fn list(&self, subject: &str, now: u64) -> Result<Vec<SessionInfo>, SessionsError> {
        let mut out: Vec<SessionInfo> = self
            .items(subject)
            .await?
            .iter()
            .filter_map(|i| live(i, now))
            .collect();
        out.sort_by_key(|i| i.started);
        Ok(out)
    }

    /// Records a renewal of `id` (until `lapses_at`) if it still holds its
    /// item for `video`; else says why not.
    pub async fn renew(
        &self,
        subject: &str,
        video: &str,
        id: &SessionId,
        now: u64,
        lapses_at: u64,
    ) -> Result<Result<(), Lapse>, SessionsError> {
        if !matches!(id, SessionId::Tracked { .. }) {
            return Ok(Err(Lapse::Expired));
        }
        let key = Self::key(subject, slot_key(id));
        let r = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key.clone()))
            .update_expression("SET #r = :now, #x = :x")
            .condition_expression("#s = :id AND #v = :v AND attribute_not_exists(#e) AND #x > :now")
            .expression_attribute_names("#r", attr::RENEWED)
            .expression_attribute_names("#x", attr::EXPIRES_AT)
            .expression_attribute_names("#s", attr::SESSION)
            .expression_attribute_names("#v", attr::VIDEO)
            .expression_attribute_names("#e", attr::ENDED)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":x", n(lapses_at))
            .expression_attribute_values(":id", s(id.to_string()))
            .expression_attribute_values(":v", s(video))
            .send()
            .await;
        match r {
            Ok(_) => return Ok(Ok(())),
            Err(e) if is_condition_failure(&e) => {}
            Err(e) => return Err(self.unavailable("UpdateItem", &e)),
        }
        // Why not: one read, on the refusal's path only.
        let got = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.unavailable("GetItem", &e))?;
        let Some(item) = got.item() else {
            return Ok(Err(Lapse::Expired));
        };
        let id_text = id.to_string();
        let lapse = if read_s(item, attr::SESSION) == Some(id_text.as_str()) {
            if item.contains_key(attr::ENDED) {
                Lapse::Ended
            } else {
                Lapse::Expired
            }
        } else if read_s(item, attr::REPLACED) == Some(id_text.as_str()) {
            Lapse::Replaced
        } else {
            // Lapsed, and another session took the slot since.
            Lapse::Expired
        };
        Ok(Err(lapse))
    }

    /// Ends `id`; `false` when it was not active.
    pub async fn end(
        &self,
        subject: &str,
        id: &SessionId,
        reason: EndReason,
        now: u64,
    ) -> Result<bool, SessionsError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(subject, slot_key(id))))
            // The slot is free at once; the item stays until the TTL
            // removes it, so the session's renewal can say why.
            .update_expression("SET #e = :now, #why = :why")
            .condition_expression("#s = :id AND attribute_not_exists(#e)")
            .expression_attribute_names("#e", attr::ENDED)
            .expression_attribute_names("#why", attr::END_REASON)
            .expression_attribute_names("#s", attr::SESSION)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":why", s(<&str>::from(reason)))
            .expression_attribute_values(":id", s(id.to_string()))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(self.unavailable("UpdateItem", &e)),
        }
    }

    /// Ends every active session of `subject`; how many it ended.
    pub async fn end_all(
        &self,
        subject: &str,
        reason: EndReason,
        now: u64,
    ) -> Result<usize, SessionsError> {
        let mut ended = 0;
        for info in self.list(subject, now).await? {
            if let Some(id) = SessionId::parse(&info.id)
                && self.end(subject, &id, reason, now).await?
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Fails only when the table is missing or unreadable: for a clear
    /// error at start-up. One `GetItem` of a key no session has.
    pub async fn probe(&self) -> Result<(), SessionsError> {
        let key = Self::key("#hlsgate-probe", "#probe".into());
        crate::dynamo::probe(&self.client, &self.name, key, |e| {
            self.unavailable("GetItem", e)
        })
        .await
    }

    /// Creates the table as the template does and waits until it is
    /// active: for local servers.
    pub async fn create(&self) -> Result<(), CallError> {
        crate::dynamo::create_table(&self.client, &self.name, attr::SUBJECT, attr::SLOT).await
    }
}
