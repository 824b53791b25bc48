//! Reading the recorded history back: `PeerTransitions` items as typed rows, newest first, by
//! peer (the table's own key), by route server (`ByRouteServer`) or fleet-wide (`ByDay`, one
//! partition per UTC day). Always `Query`, never `Scan`: the history can be large.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use peerwatch_core::fabric::ROUTE_KEY;
use peerwatch_core::history::{Cursor, HistoryQuery, HistoryRow, Scope};
use peerwatch_core::model::{Field, FieldChange, Timestamp};

use crate::dynamo::{StoreError, dynamo, num, s};
use crate::store::{INDEX_BY_DAY, INDEX_BY_ROUTE_SERVER};

/// The key prefix of a peer's items.
const PEER_KEY: &str = "rsp-";

/// Reads one `PeerTransitions` table.
#[derive(Clone)]
pub struct History {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl History {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        History {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The rows `q` asks for, newest first. With a limit, each request asks DynamoDB for no
    /// more than the rows still wanted, so `--limit 20` is one small `Query`.
    pub async fn transitions(&self, q: &HistoryQuery) -> Result<Vec<HistoryRow>, StoreError> {
        self.transitions_after(q, None).await
    }

    /// Like [`History::transitions`], continuing after the row `after` names (the last row of
    /// an earlier page of the same query): the next page, without reading the earlier ones.
    pub async fn transitions_after(
        &self,
        q: &HistoryQuery,
        after: Option<&Cursor>,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let mut out = Vec::new();
        // A cursor older than the window has nothing after it; one newer than the window (the
        // window moved since) starts at its newest end.
        let after = after.filter(|c| c.observed_at <= q.until);
        if q.since > q.until || after.is_some_and(|c| c.observed_at < q.since) {
            return Ok(out);
        }
        let s = |v: &str| AttributeValue::S(v.to_string());
        let start = |keys: &[(&str, &str)]| -> Option<HashMap<String, AttributeValue>> {
            let c = after?;
            let mut key: HashMap<String, AttributeValue> =
                keys.iter().map(|(k, v)| (k.to_string(), s(v))).collect();
            key.insert("ObservedAt".into(), s(&c.observed_at.to_string()));
            key.insert("RouteServerPeerId".into(), s(&c.route_server_peer_id));
            Some(key)
        };
        match &q.scope {
            Scope::Peer(id) => {
                let start = start(&[]).map(|mut k| {
                    k.insert("RouteServerPeerId".into(), s(id));
                    k
                });
                self.query_partition(None, "RouteServerPeerId", id, q, start, &mut out)
                    .await?
            }
            Scope::RouteServer(id) => {
                self.query_partition(
                    Some((INDEX_BY_ROUTE_SERVER, PEER_KEY)),
                    "RouteServerId",
                    id,
                    q,
                    start(&[("RouteServerId", id)]),
                    &mut out,
                )
                .await?
            }
            Scope::Fleet => {
                let newest = after.map_or(q.until, |c| c.observed_at);
                for (i, day) in days_newest_first(q.since, newest).into_iter().enumerate() {
                    if q.limit.is_some_and(|l| out.len() >= l) {
                        break;
                    }
                    // Only the cursor's own day starts after it; older days start at their end.
                    let start = if i == 0 {
                        start(&[("Day", &day)])
                    } else {
                        None
                    };
                    self.query_partition(
                        Some((INDEX_BY_DAY, PEER_KEY)),
                        "Day",
                        &day,
                        q,
                        start,
                        &mut out,
                    )
                    .await?;
                }
            }
        }
        Ok(out)
    }

    /// The route items' history (`route#<rs>#<prefix>` keys) of a route server
    /// (`ByRouteServer`) or of the fleet (`ByDay`), newest first; `Scope::Peer` names one
    /// route key. No cursor: `peerwatch report` reads a whole window.
    pub async fn route_transitions(&self, q: &HistoryQuery) -> Result<Vec<HistoryRow>, StoreError> {
        let mut out = Vec::new();
        if q.since > q.until {
            return Ok(out);
        }
        match &q.scope {
            Scope::Peer(key) => {
                self.query_partition(None, "RouteServerPeerId", key, q, None, &mut out)
                    .await?
            }
            Scope::RouteServer(id) => {
                self.query_partition(
                    Some((INDEX_BY_ROUTE_SERVER, ROUTE_KEY)),
                    "RouteServerId",
                    id,
                    q,
                    None,
                    &mut out,
                )
                .await?
            }
            Scope::Fleet => {
                for day in days_newest_first(q.since, q.until) {
                    if q.limit.is_some_and(|l| out.len() >= l) {
                        break;
                    }
                    let index = Some((INDEX_BY_DAY, ROUTE_KEY));
                    self.query_partition(index, "Day", &day, q, None, &mut out)
                        .await?;
                }
            }
        }
        Ok(out)
    }

    /// Pages through one partition (`key` = `value`) within the window, newest first, until
    /// it is exhausted or `out` holds `q.limit` rows. On an index (`index`: its name and a key
    /// prefix), only the items whose `RouteServerPeerId` begins with the prefix.
    async fn query_partition(
        &self,
        index: Option<(&str, &str)>,
        key: &str,
        value: &str,
        q: &HistoryQuery,
        mut start: Option<HashMap<String, AttributeValue>>,
        out: &mut Vec<HistoryRow>,
    ) -> Result<(), StoreError> {
        let operation = "Query";
        loop {
            let remaining = q.limit.map(|l| l.saturating_sub(out.len()));
            if remaining == Some(0) {
                return Ok(());
            }
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(|(name, _)| name.to_string()));
            // Peers, endpoints, routes and advertisements share the indexes: a route server's
            // and the fleet's history are the peers' unless the route items are asked for.
            let query = match index {
                Some((_, prefix)) => query
                    .filter_expression("begins_with(RouteServerPeerId, :prefix)")
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.into())),
                None => query,
            };
            let resp = query
                .key_condition_expression("#k = :v AND ObservedAt BETWEEN :since AND :until")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":v", AttributeValue::S(value.to_string()))
                .expression_attribute_values(":since", AttributeValue::S(q.since.to_string()))
                .expression_attribute_values(":until", AttributeValue::S(q.until.to_string()))
                .scan_index_forward(false)
                .set_limit(remaining.map(|r| r.min(1000) as i32))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(dynamo(operation, &self.table))?;
            for item in resp.items() {
                out.push(row_from_item(item).map_err(|why| StoreError::Malformed {
                    table: self.table.clone(),
                    key: format!(
                        "{}@{}",
                        s(item, "RouteServerPeerId").unwrap_or_default(),
                        s(item, "ObservedAt").unwrap_or_default()
                    ),
                    why,
                })?);
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }
}

/// One partition of `PeerTransitions` a follower reads: one subject's items (the table's own
/// key), one route server's (`ByRouteServer`) or one UTC day's (`ByDay`). Unlike
/// [`History::transitions`], nothing is filtered by key prefix: peers, endpoints, route
/// servers, routes and advertisements all come back, as they were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    index: Option<&'static str>,
    key: &'static str,
    value: String,
}

impl Partition {
    /// One subject's items: a peer (`rsp-...`), an advertisement (`routes#rsp-...`), ...
    pub fn subject(key: impl Into<String>) -> Self {
        Partition {
            index: None,
            key: "RouteServerPeerId",
            value: key.into(),
        }
    }

    pub fn route_server(id: impl Into<String>) -> Self {
        Partition {
            index: Some(INDEX_BY_ROUTE_SERVER),
            key: "RouteServerId",
            value: id.into(),
        }
    }

    /// One `Day` (`YYYY-MM-DD`, UTC).
    pub fn day(day: impl Into<String>) -> Self {
        Partition {
            index: Some(INDEX_BY_DAY),
            key: "Day",
            value: day.into(),
        }
    }
}

/// What [`History::recorded_since`] read: the rows, oldest first, and the items that are not
/// rows (each named, with why), so one bad item does not hide the others.
#[derive(Debug, Default)]
pub struct Recorded {
    pub rows: Vec<HistoryRow>,
    pub malformed: Vec<StoreError>,
}

impl History {
    /// Every item of `partition` observed at or after `from`, oldest first, page by page.
    /// The key condition bounds the read, so a follower that moves `from` on reads only what
    /// is new, however long the history is.
    pub async fn recorded_since(
        &self,
        partition: &Partition,
        from: Timestamp,
    ) -> Result<Recorded, StoreError> {
        let mut out = Recorded::default();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(partition.index.map(str::to_string))
                .key_condition_expression("#k = :v AND ObservedAt >= :from")
                .expression_attribute_names("#k", partition.key)
                .expression_attribute_values(":v", AttributeValue::S(partition.value.clone()))
                .expression_attribute_values(":from", AttributeValue::S(from.to_string()))
                .scan_index_forward(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(dynamo("Query", &self.table))?;
            for item in resp.items() {
                match row_from_item(item) {
                    Ok(row) => out.rows.push(row),
                    Err(why) => out.malformed.push(StoreError::Malformed {
                        table: self.table.clone(),
                        key: format!(
                            "{}@{}",
                            s(item, "RouteServerPeerId").unwrap_or_default(),
                            s(item, "ObservedAt").unwrap_or_default()
                        ),
                        why,
                    }),
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

/// The `ByDay` partitions a window touches, newest first.
pub fn days_newest_first(since: Timestamp, until: Timestamp) -> Vec<String> {
    let mut days = Vec::new();
    let first = since.day();
    let mut t = until;
    loop {
        let day = t.day();
        let done = day <= first;
        days.push(day);
        if done {
            return days;
        }
        t = t.plus_seconds(-86_400);
    }
}

pub fn row_from_item(item: &HashMap<String, AttributeValue>) -> Result<HistoryRow, String> {
    let time = |k: &str| -> Result<Option<Timestamp>, String> {
        s(item, k)
            .map(|v| {
                v.parse()
                    .map_err(|e| format!("{k} is not a timestamp: {e}"))
            })
            .transpose()
    };
    let changes = Field::ALL
        .iter()
        .filter_map(|f| {
            let name = f.as_str();
            let from = s(item, &format!("{name}From"));
            let to = s(item, &format!("{name}To"));
            (from.is_some() || to.is_some()).then_some(FieldChange {
                field: *f,
                from,
                to,
            })
        })
        .collect();
    Ok(HistoryRow {
        route_server_peer_id: s(item, "RouteServerPeerId").ok_or("no RouteServerPeerId")?,
        observed_at: time("ObservedAt")?.ok_or("no ObservedAt")?,
        route_server_id: s(item, "RouteServerId").unwrap_or_default(),
        kind: s(item, "Kind").ok_or("no Kind")?,
        source: s(item, "Source"),
        late: item
            .get("Late")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        changes,
        health_from: s(item, "HealthFrom"),
        health_to: s(item, "HealthTo"),
        severity: s(item, "Severity").ok_or("no Severity")?,
        event: s(item, "Event"),
        notification_state: s(item, "NotificationState").ok_or("no NotificationState")?,
        notification_message_id: s(item, "NotificationMessageId"),
        failure_reason: s(item, "FailureReason"),
        previous_observed_at: time("PreviousObservedAt")?,
        previous_duration_seconds: num(item, "PreviousDurationSeconds"),
        version: num(item, "Version")
            .and_then(|v| u64::try_from(v).ok())
            .ok_or("no Version")?,
        ack: crate::store::history_ack(item),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn days_cover_the_window_newest_first() {
        assert_eq!(
            days_newest_first(t("2026-11-23T23:59:59.000Z"), t("2026-11-25T00:00:01.000Z")),
            ["2026-11-25", "2026-11-24", "2026-11-23"]
        );
        assert_eq!(
            days_newest_first(t("2026-11-25T01:00:00.000Z"), t("2026-11-25T02:00:00.000Z")),
            ["2026-11-25"]
        );
    }

    #[test]
    fn a_row_reads_every_attribute_and_names_what_is_missing() {
        let s = |v: &str| AttributeValue::S(v.into());
        let mut item: HashMap<String, AttributeValue> = [
            ("RouteServerPeerId", s("rsp-1")),
            ("ObservedAt", s("2026-11-25T19:05:00.123Z")),
            ("RouteServerId", s("rs-1")),
            ("Kind", s("changed")),
            ("BgpStatusFrom", s("up")),
            ("BgpStatusTo", s("down")),
            ("HealthFrom", s("healthy")),
            ("HealthTo", s("down")),
            ("Severity", s("critical")),
            ("Event", s("bgp.down")),
            ("NotificationState", s("sent")),
            ("PreviousObservedAt", s("2026-11-25T18:05:00.123Z")),
            ("PreviousDurationSeconds", AttributeValue::N("3600".into())),
            ("Version", AttributeValue::N("4".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let row = row_from_item(&item).unwrap();
        assert_eq!(
            row.changes,
            [FieldChange {
                field: Field::BgpStatus,
                from: Some("up".into()),
                to: Some("down".into())
            }]
        );
        assert_eq!(
            (row.version, row.previous_duration_seconds),
            (4, Some(3600))
        );
        item.remove("Severity");
        assert_eq!(row_from_item(&item).unwrap_err(), "no Severity");
    }
}
