//! Maintenance mutes set with `peerwatch mute`, stored in the `PeerState` table beside the
//! peers, so that the poller's one `Scan` per cycle reads them at no extra request: partition
//! key `RouteServerPeerId` = `mute#<target>` (a peer `rsp-...` or a route server `rs-...`),
//! `Kind` = `mute`, `Target`, `Until` (absent: until unmuted), `Reason`, `CreatedAt`,
//! `CreatedBy`. One mute per target: a new one replaces the old.
//!
//! Peers can also be muted by their tag [`MUTE_TAG`]; [`tag_mute`] reads it as the pure core
//! does.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Serialize;

use crate::detect::{MUTE_TAG, Mute};
use crate::model::Timestamp;
use crate::store::StoreError;

/// What every mute item's key starts with; no EC2 id does.
pub const KEY_PREFIX: &str = "mute#";
/// The `Kind` of a mute item.
pub const KIND: &str = "mute";

/// Whether a `PeerState` key is a mute's rather than a peer's.
pub fn is_mute_key(id: &str) -> bool {
    id.starts_with(KEY_PREFIX)
}

/// The `PeerState` key of the mute of `target`.
pub fn key(target: &str) -> String {
    format!("{KEY_PREFIX}{target}")
}

/// A stored mute: what the poller applies ([`Mute`]) and who set it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteRecord {
    #[serde(flatten, with = "mute_fields")]
    pub mute: Mute,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
}

impl MuteRecord {
    /// Whether the mute still holds at `now` (one without an end holds until unmuted).
    pub fn active(&self, now: Timestamp) -> bool {
        self.mute.until.is_none_or(|u| now < u)
    }
}

/// `Mute` has no serde of its own (the pure core needs none): `target` and `until`.
mod mute_fields {
    use serde::Serialize;

    use super::{Mute, Timestamp};

    #[derive(Serialize)]
    struct Fields<'a> {
        target: &'a str,
        until: Option<Timestamp>,
    }

    pub fn serialize<S: serde::Serializer>(m: &Mute, s: S) -> Result<S::Ok, S::Error> {
        Fields {
            target: &m.target,
            until: m.until,
        }
        .serialize(s)
    }
}

/// Who sets a mute: the `USER` environment variable, else `unknown` (no AWS call asked).
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The pure core's reading of the tag, shared so `peerwatch mutes` lists what the poller applies.
pub use crate::detect::tag_mute;

/// The tag's value on these tags, if any.
pub fn tag_value(tags: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    tags.get(MUTE_TAG).map(String::as_str)
}

pub fn to_item(r: &MuteRecord) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let mut item = HashMap::from([
        ("RouteServerPeerId".to_string(), s(&key(&r.mute.target))),
        ("Kind".to_string(), s(KIND)),
        ("Target".to_string(), s(&r.mute.target)),
        ("CreatedAt".to_string(), s(&r.created_at.to_string())),
        ("CreatedBy".to_string(), s(&r.created_by)),
    ]);
    if let Some(until) = r.mute.until {
        item.insert("Until".into(), s(&until.to_string()));
    }
    if let Some(reason) = r.reason.as_deref().filter(|r| !r.is_empty()) {
        item.insert("Reason".into(), s(reason));
    }
    item
}

pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<MuteRecord, String> {
    let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let time = |k: &str, v: String| {
        v.parse::<Timestamp>()
            .map_err(|e| format!("{k} is not a timestamp: {e}"))
    };
    let key = s("RouteServerPeerId").unwrap_or_default();
    if s("Kind").as_deref() != Some(KIND) {
        return Err("Kind is not mute".into());
    }
    let target = s("Target").ok_or("no Target")?;
    if key != self::key(&target) {
        return Err(format!("Target {target} does not match the key"));
    }
    Ok(MuteRecord {
        mute: Mute {
            target,
            until: s("Until").map(|v| time("Until", v)).transpose()?,
        },
        reason: s("Reason"),
        created_at: time("CreatedAt", s("CreatedAt").unwrap_or_default())?,
        created_by: s("CreatedBy").unwrap_or_else(|| "unknown".into()),
    })
}

fn dynamo<E>(operation: &'static str, table: &str) -> impl FnOnce(E) -> StoreError
where
    aws_sdk_dynamodb::Error: From<E>,
{
    let table = table.to_string();
    move |e| StoreError::Dynamo {
        operation,
        table,
        source: Box::new(aws_sdk_dynamodb::Error::from(e)),
    }
}

/// The old item, if it was a well-formed mute.
fn old(attrs: Option<&HashMap<String, AttributeValue>>) -> Option<MuteRecord> {
    attrs.and_then(|a| from_item(a).ok())
}

/// Stores `r` (one `PutItem`), replacing any mute of the same target; answers the replaced one.
pub async fn put(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    r: &MuteRecord,
) -> Result<Option<MuteRecord>, StoreError> {
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(to_item(r)))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .map_err(dynamo("PutItem", table))?;
    Ok(old(out.attributes()))
}

/// Deletes the mute of `target` (one `DeleteItem`); answers it, or `None` if there was none.
pub async fn delete(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    target: &str,
) -> Result<Option<MuteRecord>, StoreError> {
    let out = client
        .delete_item()
        .table_name(table)
        .key("RouteServerPeerId", AttributeValue::S(key(target)))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .map_err(dynamo("DeleteItem", table))?;
    Ok(old(out.attributes()))
}

/// Every stored mute, ended ones included: a `Scan` of the `PeerState` table that returns only
/// the mute items (it still reads the whole table; `Store::load_states_and_mutes` reads peers
/// and mutes in one go). Malformed items are left out with a warning.
pub async fn list(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<MuteRecord>, StoreError> {
    let mut pages = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .filter_expression("begins_with(RouteServerPeerId, :prefix)")
        .expression_attribute_values(":prefix", AttributeValue::S(KEY_PREFIX.into()))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(dynamo("Scan", table))?;
        out.extend(page.items().iter().filter_map(parse_or_warn));
    }
    Ok(out)
}

/// A mute item as a record; a malformed one is logged and skipped, so that a bad item never
/// stops the poller (alerts then flow as if it did not exist).
pub fn parse_or_warn(item: &HashMap<String, AttributeValue>) -> Option<MuteRecord> {
    match from_item(item) {
        Ok(r) => Some(r),
        Err(why) => {
            let key = item
                .get("RouteServerPeerId")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            tracing::warn!(key, why, "ignoring a malformed mute item");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Rules;
    use crate::model::PeerSnapshot;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record(target: &str, until: Option<&str>, reason: Option<&str>) -> MuteRecord {
        MuteRecord {
            mute: Mute {
                target: target.into(),
                until: until.map(t),
            },
            reason: reason.map(Into::into),
            created_at: t("2026-11-25T19:05:00.123Z"),
            created_by: "ops".into(),
        }
    }

    #[test]
    fn items_round_trip_with_and_without_their_optional_fields() {
        for r in [
            record(
                "rsp-0a1b2c3d4e5f60718",
                Some("2026-11-25T21:05:00.123Z"),
                Some("firmware upgrade"),
            ),
            record("rs-0a1b2c3d4e5f60718", None, None),
        ] {
            let item = to_item(&r);
            let key = item["RouteServerPeerId"].as_s().unwrap();
            assert_eq!(key, &format!("mute#{}", r.mute.target));
            assert!(is_mute_key(key));
            assert_eq!(item["Kind"].as_s().unwrap(), "mute");
            assert_eq!(item.contains_key("Until"), r.mute.until.is_some());
            assert_eq!(item.contains_key("Reason"), r.reason.is_some());
            assert_eq!(from_item(&item).unwrap(), r);
        }
        assert!(!is_mute_key("rsp-0a1b2c3d4e5f60718"));
    }

    #[test]
    fn malformed_items_are_refused() {
        let good = to_item(&record("rsp-1", Some("2026-11-25T21:05:00Z"), None));
        let mut bad = good.clone();
        bad.insert("Until".into(), AttributeValue::S("tomorrow".into()));
        assert!(from_item(&bad).unwrap_err().contains("Until"));
        let mut bad = good.clone();
        bad.insert("Target".into(), AttributeValue::S("rsp-2".into()));
        assert!(from_item(&bad).unwrap_err().contains("does not match"));
        let mut bad = good;
        bad.remove("Kind");
        assert!(parse_or_warn(&bad).is_none());
    }

    #[test]
    fn json_names_target_and_until_in_camel_case() {
        let r = record("rsp-1", None, Some("maintenance"));
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"target": "rsp-1", "until": null, "reason": "maintenance",
                "createdAt": "2026-11-25T19:05:00.123Z", "createdBy": "ops"})
        );
    }

    #[test]
    fn the_tag_is_read_exactly_as_the_pure_core_reads_it() {
        let now = t("2026-11-25T19:05:00.000Z");
        let rules = Rules::default();
        for value in [
            "true",
            " TRUE ",
            "True",
            "2026-11-25T20:00:00Z",
            "2026-11-25T20:00:00.500+01:00",
            "2026-11-25T19:05:00.000Z",
            "2026-11-25T10:00:00Z",
            "false",
            "tomorrow",
            "2026-11-25",
            "",
        ] {
            let mut peer = PeerSnapshot::default();
            peer.tags.insert(MUTE_TAG.into(), value.into());
            let ours = tag_mute(value).is_some_and(|until| until.is_none_or(|u| now < u));
            assert_eq!(ours, rules.muted(&peer, now), "{value:?}");
        }
        assert_eq!(tag_mute("true"), Some(None));
        assert_eq!(
            tag_mute("2026-11-25T20:00:00Z"),
            Some(Some(t("2026-11-25T20:00:00Z")))
        );
        assert_eq!(tag_mute("yes"), None);
    }
}
