//! The DynamoDB store (docs/data-model.md): `PeerState`, one item per peer, and
//! `PeerTransitions`, one item per recorded change, which is also the notification outbox.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem};
use peerwatch_core::fabric::{FabricRecord, is_fabric_key};
use peerwatch_core::model::{
    Ack, AlertState, ChangeWindow, Event, Field, FieldChange, Health, NotificationState,
    PastWindow, PeerRecord, PeerSnapshot, SessionsChangedAt, Severity, Source, Timestamp,
    Transition, TransitionKind,
};
use peerwatch_core::mute::MuteRecord;
use peerwatch_core::render::Notification;

use crate::dynamo::{Item, StoreError, dynamo, n, num, s, string_map, strings_of};

mod fabric;
mod logged;
use crate::mutes::{is_mute_key, parse_or_warn};
pub use fabric::{fabric_record_from_item, fabric_record_to_item};
pub use logged::{LoggedRoutes, Named};

pub const INDEX_BY_ROUTE_SERVER: &str = "ByRouteServer";
pub const INDEX_BY_DAY: &str = "ByDay";
pub const INDEX_PENDING: &str = "PendingNotifications";
/// The attributes the tables and their indexes are keyed on, and the one TTL reads: what the
/// template declares and `peerwatch doctor` checks a deployment for.
pub const ATTR_KEY: &str = "RouteServerPeerId";
pub const ATTR_OBSERVED_AT: &str = "ObservedAt";
pub const ATTR_ROUTE_SERVER: &str = "RouteServerId";
pub const ATTR_DAY: &str = "Day";
pub const ATTR_PENDING: &str = "Pending";
pub const ATTR_EXPIRES_AT: &str = "ExpiresAt";
/// How many times a write that met `TransactionConflict` is tried again before it counts as
/// lost to the other writer.
const CONFLICT_RETRIES: u32 = 4;
const PENDING: &str = "pending";

/// What became of one transition's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Another run recorded this change first (the `Version` condition failed): do nothing.
    LostRace,
}

/// A transition still waiting in the outbox.
#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub peer_id: String,
    pub observed_at: String,
    pub claimed_until_ms: i64,
    pub notification: Notification,
    /// `GroupId`: set when a grouped message (storm control) covers this transition; every
    /// member of the group holds the same message, published once for all of them.
    pub group_id: Option<String>,
}

/// What the outbox holds for a transition that is to be notified.
#[derive(Debug, Clone, Copy)]
pub struct Outbox<'a> {
    /// The rendered message: the transition's own, or its group's.
    pub notification: &'a Notification,
    /// How long the writing run holds it before another run may retry it (epoch ms).
    pub claimed_until_ms: i64,
    /// The `GroupId` when a grouped message covers the transition (storm control).
    pub group_id: Option<&'a str>,
}

/// What `PeerState` holds, read in one `Scan`.
#[derive(Debug, Default)]
pub struct Known {
    pub peers: HashMap<String, PeerRecord>,
    /// Endpoints, route servers, routes and advertisements, by key value.
    pub fabric: HashMap<String, FabricRecord>,
    pub mutes: Vec<MuteRecord>,
}

#[derive(Clone)]
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    state_table: String,
    transitions_table: String,
    retention_days: u32,
}

impl Store {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        state_table: impl Into<String>,
        transitions_table: impl Into<String>,
        retention_days: u32,
    ) -> Self {
        Store {
            client,
            state_table: state_table.into(),
            transitions_table: transitions_table.into(),
            retention_days,
        }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn state_table(&self) -> &str {
        &self.state_table
    }

    pub fn transitions_table(&self) -> &str {
        &self.transitions_table
    }

    /// The last known state of every peer: one paginated, strongly consistent `Scan`. The
    /// mutes and fabric records stored in the same table are left out.
    pub async fn load_states(&self) -> Result<HashMap<String, PeerRecord>, StoreError> {
        Ok(self.load_known().await?.peers)
    }

    /// Everything `PeerState` holds, from one `Scan`: peers, fabric records (`fabric`) and
    /// the stored mutes (`crate::mutes`). A malformed mute item is skipped with a warning
    /// rather than failing the run.
    pub async fn load_known(&self) -> Result<Known, StoreError> {
        let mut known = Known::default();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.state_table)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(dynamo("Scan", &self.state_table))?;
            for item in page.items() {
                let key = s(item, "RouteServerPeerId").unwrap_or_default();
                if is_mute_key(&key) {
                    known.mutes.extend(parse_or_warn(item));
                    continue;
                }
                let malformed = |why| StoreError::Malformed {
                    table: self.state_table.clone(),
                    key: key.clone(),
                    why,
                };
                if is_fabric_key(&key) {
                    let record = fabric_record_from_item(item).map_err(malformed)?;
                    known.fabric.insert(key.clone(), record);
                    continue;
                }
                let record = record_from_item(item).map_err(malformed)?;
                known
                    .peers
                    .insert(record.peer.route_server_peer_id.clone(), record);
            }
        }
        Ok(known)
    }

    /// Writes the new `PeerState` and the transition together, conditioned on `Version`.
    /// `outbox` is set when the transition is to be notified: the rendered message, how long
    /// this run holds it, and its group when a grouped message covers it.
    pub async fn write_transition(
        &self,
        tr: &Transition,
        outbox: Option<Outbox<'_>>,
    ) -> Result<WriteOutcome, StoreError> {
        self.write_pair(
            record_to_item(&tr.record),
            tr.expected_version,
            self.transition_item(tr, outbox),
        )
        .await
    }

    /// The one conditional transaction every recorded change goes through: the new state
    /// item if it still has `expected_version` (`None`: if it does not exist yet), and the
    /// history item if there is none with its key yet.
    pub(crate) async fn write_pair(
        &self,
        state_item: HashMap<String, AttributeValue>,
        expected_version: Option<u64>,
        transition_item: HashMap<String, AttributeValue>,
    ) -> Result<WriteOutcome, StoreError> {
        let state_put = {
            let put = Put::builder()
                .table_name(&self.state_table)
                .set_item(Some(state_item));
            let put = match expected_version {
                None => put.condition_expression("attribute_not_exists(RouteServerPeerId)"),
                Some(v) => put
                    .condition_expression("Version = :expected")
                    .expression_attribute_values(":expected", n(v)),
            };
            put.build().expect("table, item and condition are set")
        };
        let transition_put = Put::builder()
            .table_name(&self.transitions_table)
            .set_item(Some(transition_item))
            .condition_expression("attribute_not_exists(ObservedAt)")
            .build()
            .expect("table, item and condition are set");
        // TransactionConflict says another transaction held one of the items at that moment,
        // not that it recorded anything: the same write is tried again, and a writer that
        // did win shows then as the condition failing.
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(state_put.clone()).build())
                .transact_items(
                    TransactWriteItem::builder()
                        .put(transition_put.clone())
                        .build(),
                )
                .send()
                .await;
            let reasons = match &result {
                Ok(_) => return Ok(WriteOutcome::Written),
                Err(err) => match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons().to_vec()
                    }
                    _ => Vec::new(),
                },
            };
            let code = |r: &CancellationReason, c: &str| r.code() == Some(c);
            if reasons.iter().any(|r| code(r, "ConditionalCheckFailed")) {
                return Ok(WriteOutcome::LostRace);
            }
            let conflict = reasons.iter().any(|r| code(r, "TransactionConflict"));
            if conflict && attempt < CONFLICT_RETRIES {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(25 * u64::from(attempt))).await;
                continue;
            }
            if conflict {
                return Ok(WriteOutcome::LostRace);
            }
            return Err(dynamo("TransactWriteItems", &self.state_table)(
                result.expect_err("not written"),
            ));
        }
    }

    /// The `PeerTransitions` item of `tr`, as [`Store::write_transition`] writes it (public so
    /// that tests can seed a large history directly with `BatchWriteItem`).
    pub fn transition_item(
        &self,
        tr: &Transition,
        outbox: Option<Outbox<'_>>,
    ) -> HashMap<String, AttributeValue> {
        let peer = &tr.record.peer;
        let mut item = Item::default();
        self.put_head(
            &mut item,
            &Head {
                key: &peer.route_server_peer_id,
                route_server_id: &peer.route_server_id,
                kind: tr.kind,
                observed_at: tr.observed_at,
                source: tr.source,
                changes: &tr.changes,
                previous_observed_at: tr.previous_observed_at,
                previous_duration_seconds: tr.previous_duration_seconds,
                severity: tr.severity,
                event: tr.event,
                health_from: tr.health_from,
                health_to: Some(tr.health_to),
                notification: tr.notification,
                version: tr.version(),
            },
        );
        item.opt_s("FailureReason", peer.failure_reason.as_deref());
        put_ack(&mut item, tr.kind, &tr.record.alerting);
        put_outbox(&mut item, outbox);
        item.0
    }

    /// What every history item carries, peer or not.
    pub(crate) fn put_head(&self, item: &mut Item, h: &Head) {
        item.s(ATTR_KEY, h.key)
            .s(ATTR_OBSERVED_AT, h.observed_at.to_string())
            .opt_s(ATTR_ROUTE_SERVER, Some(h.route_server_id))
            .s("Kind", h.kind.as_str())
            .s("Source", h.source.as_str());
        for c in h.changes {
            let name = c.field.as_str();
            item.opt_s(&format!("{name}From"), c.from.as_deref())
                .opt_s(&format!("{name}To"), c.to.as_deref());
        }
        item.opt_s(
            "PreviousObservedAt",
            h.previous_observed_at.map(|t| t.to_string()).as_deref(),
        );
        if let Some(d) = h.previous_duration_seconds {
            item.n("PreviousDurationSeconds", d);
        }
        item.s("Severity", h.severity.as_str())
            .s("Event", h.event.as_str())
            .opt_s("HealthFrom", h.health_from.map(|h| h.as_str()))
            .opt_s("HealthTo", h.health_to.map(|h| h.as_str()))
            .s("NotificationState", h.notification.as_str())
            .n("Version", h.version)
            .s(ATTR_DAY, h.observed_at.day());
        if self.retention_days > 0 {
            let expires = h.observed_at.as_secs() + i64::from(self.retention_days) * 86_400;
            item.n(ATTR_EXPIRES_AT, expires);
        }
    }

    /// Transitions still `pending`, oldest first, from the sparse `PendingNotifications` index.
    pub async fn pending_notifications(&self) -> Result<Vec<PendingNotification>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.transitions_table)
            .index_name(INDEX_PENDING)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", ATTR_PENDING)
            .expression_attribute_values(":p", AttributeValue::S(PENDING.into()))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(dynamo("Query", &self.transitions_table))?;
            for item in page.items() {
                let malformed = |why: &str| StoreError::Malformed {
                    table: self.transitions_table.clone(),
                    key: format!(
                        "{}/{}",
                        s(item, "RouteServerPeerId").unwrap_or_default(),
                        s(item, "ObservedAt").unwrap_or_default()
                    ),
                    why: why.to_string(),
                };
                let attributes = strings_of(item, "MessageAttributes").collect();
                out.push(PendingNotification {
                    peer_id: s(item, "RouteServerPeerId")
                        .ok_or_else(|| malformed("no RouteServerPeerId"))?,
                    observed_at: s(item, "ObservedAt").ok_or_else(|| malformed("no ObservedAt"))?,
                    claimed_until_ms: num(item, "ClaimedUntil").unwrap_or(0),
                    notification: Notification {
                        subject: s(item, "Subject").ok_or_else(|| malformed("no Subject"))?,
                        message: s(item, "Message").ok_or_else(|| malformed("no Message"))?,
                        attributes,
                    },
                    group_id: s(item, "GroupId"),
                });
            }
        }
        Ok(out)
    }

    /// Takes a pending notification for this run until `until_ms`; false if another run has it.
    pub async fn claim(&self, p: &PendingNotification, until_ms: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.transitions_table)
            .key("RouteServerPeerId", AttributeValue::S(p.peer_id.clone()))
            .key("ObservedAt", AttributeValue::S(p.observed_at.clone()))
            .update_expression("SET ClaimedUntil = :until")
            .condition_expression(
                "#p = :p AND (attribute_not_exists(ClaimedUntil) OR ClaimedUntil = :seen)",
            )
            .expression_attribute_names("#p", "Pending")
            .expression_attribute_values(":p", AttributeValue::S(PENDING.into()))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":seen", n(p.claimed_until_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(dynamo("UpdateItem", &self.transitions_table)(e)),
        }
    }

    /// Marks a notification delivered and drops its outbox payload (a `GroupId` stays).
    pub async fn mark_sent(
        &self,
        peer_id: &str,
        observed_at: &str,
        message_id: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.transitions_table)
            .key("RouteServerPeerId", AttributeValue::S(peer_id.into()))
            .key("ObservedAt", AttributeValue::S(observed_at.into()))
            .update_expression(
                "SET NotificationState = :sent, NotificationMessageId = :id REMOVE #p, ClaimedUntil, Subject, Message, MessageAttributes",
            )
            .condition_expression("attribute_exists(ObservedAt)")
            .expression_attribute_names("#p", "Pending")
            .expression_attribute_values(":sent", AttributeValue::S(NotificationState::Sent.as_str().into()))
            .expression_attribute_values(":id", AttributeValue::S(message_id.into()))
            .send()
            .await
            .map_err(dynamo("UpdateItem", &self.transitions_table))?;
        Ok(())
    }

    /// Gives a notification back after a failed publish, so the next run retries it at once.
    pub async fn release(&self, peer_id: &str, observed_at: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.transitions_table)
            .key("RouteServerPeerId", AttributeValue::S(peer_id.into()))
            .key("ObservedAt", AttributeValue::S(observed_at.into()))
            .update_expression("SET ClaimedUntil = :zero")
            .condition_expression("#p = :p")
            .expression_attribute_names("#p", "Pending")
            .expression_attribute_values(":p", AttributeValue::S(PENDING.into()))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(dynamo("UpdateItem", &self.transitions_table)(e)),
        }
    }
}

/// The part of a history item that every kind of transition has.
pub(crate) struct Head<'a> {
    pub key: &'a str,
    pub route_server_id: &'a str,
    pub kind: TransitionKind,
    pub observed_at: Timestamp,
    pub source: Source,
    pub changes: &'a [FieldChange],
    pub previous_observed_at: Option<Timestamp>,
    pub previous_duration_seconds: Option<i64>,
    pub severity: Severity,
    pub event: Event,
    pub health_from: Option<Health>,
    /// `None` for a late log record: the peer's health at its time is not known.
    pub health_to: Option<Health>,
    pub notification: NotificationState,
    pub version: u64,
}

/// An acknowledgement's history item names who and why (`AckedBy`, `AckReason`); its time
/// is the item's `ObservedAt`.
pub(crate) fn put_ack(item: &mut Item, kind: TransitionKind, alerting: &AlertState) {
    if let (TransitionKind::Acknowledged, Some(a)) = (kind, &alerting.acked) {
        item.s("AckedBy", &a.by)
            .opt_s("AckReason", a.reason.as_deref());
    }
}

/// The acknowledgement a history item records, if it is one.
pub fn history_ack(item: &HashMap<String, AttributeValue>) -> Option<Ack> {
    let at = s(item, "ObservedAt")?.parse().ok()?;
    Some(Ack {
        by: s(item, "AckedBy")?,
        reason: s(item, "AckReason"),
        at,
    })
}

/// The outbox's part of a history item: the message to publish, held until it is sent.
pub(crate) fn put_outbox(item: &mut Item, outbox: Option<Outbox<'_>>) {
    if let Some(outbox) = outbox {
        let notification = outbox.notification;
        item.s(ATTR_PENDING, PENDING)
            .n("ClaimedUntil", outbox.claimed_until_ms)
            .s("Subject", &notification.subject)
            .s("Message", &notification.message)
            // Kept once sent: it tells which grouped message covered the transition.
            .opt_s("GroupId", outbox.group_id);
        let attrs = notification.attributes.iter().map(|(k, v)| (k, v));
        item.0.insert("MessageAttributes".into(), string_map(attrs));
    }
}

pub fn record_to_item(r: &PeerRecord) -> HashMap<String, AttributeValue> {
    let p = &r.peer;
    let mut item = Item::default();
    item.s("RouteServerPeerId", &p.route_server_peer_id)
        .opt_s("RouteServerId", Some(&p.route_server_id))
        .opt_s("RouteServerEndpointId", Some(&p.route_server_endpoint_id))
        .opt_s("VpcId", Some(&p.vpc_id))
        .opt_s("SubnetId", Some(&p.subnet_id))
        .opt_s("PeerAddress", Some(&p.peer_address))
        .opt_s("PeerLivenessDetection", Some(&p.peer_liveness_detection))
        .opt_s("EndpointEniId", Some(&p.endpoint_eni_id))
        .opt_s("EndpointEniAddress", Some(&p.endpoint_eni_address))
        .s("State", &p.state)
        .opt_s("FailureReason", p.failure_reason.as_deref())
        .opt_s("BgpStatus", p.bgp_status.as_deref())
        .opt_s("BfdStatus", p.bfd_status.as_deref());
    put_tracking(
        &mut item,
        &Tracking {
            first_seen_at: r.first_seen_at,
            last_changed_at: r.last_changed_at,
            present: r.present,
            version: r.version,
            health: r.health,
            open_alert: r.open_alert,
            alerting: &r.alerting,
        },
    );
    if let Some(asn) = p.peer_asn {
        item.n("PeerAsn", asn);
    }
    let times = &r.sessions_changed_at;
    if !times.past.is_empty() {
        let past = times
            .past
            .iter()
            .map(|p| {
                let mut m = HashMap::from([
                    (
                        "Field".to_string(),
                        AttributeValue::S(p.field.as_str().into()),
                    ),
                    ("Value".to_string(), AttributeValue::S(p.value.clone())),
                    ("At".to_string(), AttributeValue::S(p.window.at.to_string())),
                ]);
                if let Some(after) = p.window.after {
                    m.insert("After".into(), AttributeValue::S(after.to_string()));
                }
                AttributeValue::M(m)
            })
            .collect();
        item.0
            .insert("PastSessionWindows".into(), AttributeValue::L(past));
    }
    for (name, w) in [("BgpStatus", times.bgp), ("BfdStatus", times.bfd)] {
        if let Some(w) = w {
            item.s(&format!("{name}ChangedAt"), w.at.to_string()).opt_s(
                &format!("{name}ChangedAfter"),
                w.after.map(|a| a.to_string()).as_deref(),
            );
        }
    }
    item.0.insert("Tags".into(), string_map(p.tags.iter()));
    item.0
}

fn sessions_changed_at(
    item: &HashMap<String, AttributeValue>,
) -> Result<SessionsChangedAt, String> {
    let time = |k: String| {
        s(item, &k)
            .map(|v| {
                v.parse::<Timestamp>()
                    .map_err(|e| format!("{k} is not a timestamp: {e}"))
            })
            .transpose()
    };
    let window = |name: &str| -> Result<Option<ChangeWindow>, String> {
        Ok(match time(format!("{name}ChangedAt"))? {
            Some(at) => Some(ChangeWindow {
                at,
                after: time(format!("{name}ChangedAfter"))?,
            }),
            None => None,
        })
    };
    let past = item
        .get("PastSessionWindows")
        .and_then(|v| v.as_l().ok())
        .into_iter()
        .flatten()
        .map(|v| {
            let m = v.as_m().map_err(|_| "PastSessionWindows holds a non-map")?;
            let get = |k: &str| m.get(k).and_then(|v| v.as_s().ok());
            let time = |k: &str| -> Result<Option<Timestamp>, String> {
                get(k)
                    .map(|v| {
                        v.parse()
                            .map_err(|e| format!("PastSessionWindows.{k}: {e}"))
                    })
                    .transpose()
            };
            Ok(PastWindow {
                field: get("Field")
                    .and_then(|f| Field::parse(f))
                    .ok_or("PastSessionWindows.Field is not a field")?,
                value: get("Value").cloned().unwrap_or_default(),
                window: ChangeWindow {
                    at: time("At")?.ok_or("PastSessionWindows.At is missing")?,
                    after: time("After")?,
                },
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SessionsChangedAt {
        bgp: window("BgpStatus")?,
        bfd: window("BfdStatus")?,
        past,
    })
}

/// The bookkeeping every tracked item carries, peer or not.
pub(crate) struct Tracking<'a> {
    pub first_seen_at: Timestamp,
    pub last_changed_at: Timestamp,
    pub present: bool,
    pub version: u64,
    pub health: Health,
    pub open_alert: Option<Severity>,
    pub alerting: &'a AlertState,
}

pub(crate) fn put_tracking(item: &mut Item, t: &Tracking) {
    item.s("FirstSeenAt", t.first_seen_at.to_string())
        .s("LastChangedAt", t.last_changed_at.to_string())
        .n("Version", t.version)
        .s("Health", t.health.as_str())
        .opt_s("OpenAlert", t.open_alert.map(|s| s.as_str()));
    let a = t.alerting;
    if !a.health_changes.is_empty() {
        item.0.insert(
            "HealthChanges".into(),
            AttributeValue::L(
                a.health_changes
                    .iter()
                    .map(|t| AttributeValue::S(t.to_string()))
                    .collect(),
            ),
        );
    }
    item.opt_s(
        "FlappingSince",
        a.flapping_since.map(|t| t.to_string()).as_deref(),
    )
    .opt_s("AlertedAt", a.alerted_at.map(|t| t.to_string()).as_deref())
    .opt_s("MutedAlert", a.muted_alert.map(|s| s.as_str()));
    if let Some(ack) = &a.acked {
        item.s("AckedBy", &ack.by)
            .s("AckedAt", ack.at.to_string())
            .opt_s("AckReason", ack.reason.as_deref());
    }
    if a.reminders_sent > 0 {
        item.n("RemindersSent", a.reminders_sent);
    }
    item.0
        .insert("Present".into(), AttributeValue::Bool(t.present));
}

/// The bookkeeping read back; `health` is `None` when the item has none (written by an older
/// version), for the caller to derive.
pub(crate) struct TrackingRead {
    pub first_seen_at: Timestamp,
    pub last_changed_at: Timestamp,
    pub present: bool,
    pub version: u64,
    pub health: Option<Health>,
    pub open_alert: Option<Severity>,
    pub alerting: AlertState,
}

pub(crate) fn tracking_from(
    item: &HashMap<String, AttributeValue>,
) -> Result<TrackingRead, String> {
    let get = |k: &str| s(item, k).unwrap_or_default();
    let time = |k: &str| -> Result<Timestamp, String> {
        get(k)
            .parse()
            .map_err(|e| format!("{k} is not a timestamp: {e}"))
    };
    let opt_time = |k: &str| -> Result<Option<Timestamp>, String> {
        s(item, k)
            .map(|v| {
                v.parse()
                    .map_err(|e| format!("{k} is not a timestamp: {e}"))
            })
            .transpose()
    };
    Ok(TrackingRead {
        first_seen_at: time("FirstSeenAt")?,
        last_changed_at: time("LastChangedAt")?,
        present: item
            .get("Present")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        version: num(item, "Version")
            .and_then(|v| u64::try_from(v).ok())
            .ok_or("no Version")?,
        health: s(item, "Health").as_deref().and_then(Health::parse),
        open_alert: s(item, "OpenAlert").as_deref().and_then(Severity::parse),
        alerting: AlertState {
            health_changes: item
                .get("HealthChanges")
                .and_then(|v| v.as_l().ok())
                .into_iter()
                .flatten()
                .map(|v| {
                    v.as_s()
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .ok_or_else(|| "HealthChanges holds a non-timestamp".to_string())
                })
                .collect::<Result<_, _>>()?,
            flapping_since: opt_time("FlappingSince")?,
            alerted_at: opt_time("AlertedAt")?,
            reminders_sent: num(item, "RemindersSent")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            muted_alert: s(item, "MutedAlert").as_deref().and_then(Severity::parse),
            acked: match (s(item, "AckedBy"), opt_time("AckedAt")?) {
                (Some(by), Some(at)) => Some(Ack {
                    by,
                    reason: s(item, "AckReason"),
                    at,
                }),
                (None, None) => None,
                _ => return Err("AckedBy and AckedAt go together".into()),
            },
        },
    })
}

pub fn record_from_item(item: &HashMap<String, AttributeValue>) -> Result<PeerRecord, String> {
    let get = |k: &str| s(item, k).unwrap_or_default();
    let tags = strings_of(item, "Tags").collect();
    let peer = PeerSnapshot {
        route_server_peer_id: s(item, "RouteServerPeerId").ok_or("no RouteServerPeerId")?,
        route_server_id: get("RouteServerId"),
        route_server_endpoint_id: get("RouteServerEndpointId"),
        vpc_id: get("VpcId"),
        subnet_id: get("SubnetId"),
        peer_address: get("PeerAddress"),
        peer_asn: num(item, "PeerAsn"),
        peer_liveness_detection: get("PeerLivenessDetection"),
        endpoint_eni_id: get("EndpointEniId"),
        endpoint_eni_address: get("EndpointEniAddress"),
        state: get("State"),
        failure_reason: s(item, "FailureReason"),
        bgp_status: s(item, "BgpStatus"),
        bfd_status: s(item, "BfdStatus"),
        tags,
    };
    let t = tracking_from(item)?;
    Ok(PeerRecord {
        health: t
            .health
            .unwrap_or_else(|| peerwatch_core::detect::health(&peer)),
        first_seen_at: t.first_seen_at,
        last_changed_at: t.last_changed_at,
        present: t.present,
        version: t.version,
        sessions_changed_at: sessions_changed_at(item)?,
        open_alert: t.open_alert,
        alerting: t.alerting,
        peer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_survives_a_round_trip() {
        let record = PeerRecord {
            peer: PeerSnapshot {
                route_server_peer_id: "rsp-0123456789abcdef0".into(),
                route_server_id: "rs-1".into(),
                state: "failed".into(),
                failure_reason: Some("hold timer".into()),
                bgp_status: Some("down".into()),
                bfd_status: None,
                peer_asn: Some(65001),
                tags: [("Name".to_string(), "fw".to_string())].into(),
                ..Default::default()
            },
            first_seen_at: "2026-11-25T19:05:00.123Z".parse().unwrap(),
            last_changed_at: "2026-11-25T19:06:00.456Z".parse().unwrap(),
            present: false,
            version: 7,
            sessions_changed_at: SessionsChangedAt {
                bgp: Some(ChangeWindow {
                    at: "2026-11-25T19:06:00.456Z".parse().unwrap(),
                    after: Some("2026-11-25T19:05:00.123Z".parse().unwrap()),
                }),
                bfd: Some(ChangeWindow::exact(
                    "2026-11-25T19:06:00.456Z".parse().unwrap(),
                )),
                past: vec![PastWindow {
                    field: peerwatch_core::model::Field::BgpStatus,
                    value: "up".into(),
                    window: ChangeWindow {
                        at: "2026-11-25T19:05:00.123Z".parse().unwrap(),
                        after: None,
                    },
                }],
            },
            health: Health::Down,
            open_alert: Some(Severity::Critical),
            alerting: AlertState {
                health_changes: vec![
                    "2026-11-25T19:01:00.000Z".parse().unwrap(),
                    "2026-11-25T19:06:00.456Z".parse().unwrap(),
                ],
                flapping_since: Some("2026-11-25T19:06:00.456Z".parse().unwrap()),
                alerted_at: Some("2026-11-25T19:01:00.000Z".parse().unwrap()),
                reminders_sent: 2,
                muted_alert: Some(Severity::Warning),
                acked: Some(Ack {
                    by: "arn:aws:sts::1:assumed-role/OnCall/alice".into(),
                    reason: Some("on it".into()),
                    at: "2026-11-25T19:30:00.000Z".parse().unwrap(),
                }),
            },
        };
        let item = record_to_item(&record);
        assert!(!item.contains_key("BfdStatus"), "absent stays absent");
        assert!(!item.contains_key("VpcId"), "empty strings are not written");
        assert_eq!(record_from_item(&item).unwrap(), record);
    }
}
