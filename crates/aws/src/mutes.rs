//! Maintenance mutes set with `peerwatch mute`, stored in the `PeerState` table beside the
//! peers, so that the poller's one `Scan` per cycle reads them at no extra request: partition
//! key `RouteServerPeerId` = `mute#<target>` (a peer `rsp-...` or a route server `rs-...`),
//! `Kind` = `mute`, `Target`, `Until` (absent: until unmuted), `Reason`, `CreatedAt`,
//! `CreatedBy`. One mute per target: a new one replaces the old.
//!
//! Peers can also be muted by their tag (`peerwatch_core::mute::MUTE_TAG`), which the pure
//! core reads.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use peerwatch_core::model::Timestamp;
use peerwatch_core::mute::{Mute, MuteRecord, MuteTarget};

use crate::dynamo::{StoreError, dynamo};

/// What every mute item's key starts with; no EC2 id does.
pub const KEY_PREFIX: &str = "mute#";
/// The `Kind` of a mute item.
pub const KIND: &str = "mute";

/// Whether a `PeerState` key is a mute's rather than a peer's.
pub fn is_mute_key(id: &str) -> bool {
    id.starts_with(KEY_PREFIX)
}

/// The `PeerState` key of the mute of `target`.
pub fn key(target: &MuteTarget) -> String {
    format!("{KEY_PREFIX}{target}")
}

pub fn to_item(r: &MuteRecord) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let mut item = HashMap::from([
        ("RouteServerPeerId".to_string(), s(&key(&r.mute.target))),
        ("Kind".to_string(), s(KIND)),
        ("Target".to_string(), s(r.mute.target.as_str())),
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
    let target = MuteTarget::parse(&target).map_err(|e| format!("Target: {e}"))?;
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
    target: &MuteTarget,
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
/// the mute items (it still reads the whole table; `Store::load_known` reads peers
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

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record(target: &str, until: Option<&str>, reason: Option<&str>) -> MuteRecord {
        MuteRecord {
            mute: Mute {
                target: MuteTarget::parse(target).unwrap(),
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
}
