//! What the log consumer reads and writes beyond the shared transaction: the states of the
//! peers one batch names (never a `Scan`), their mutes, and the history items of late records.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use peerwatch_core::fabric::peer_routes_key;
use peerwatch_core::model::{
    Event, NotificationState, PeerRecord, Severity, Source, Timestamp, TransitionKind,
};
use peerwatch_core::mute::MuteRecord;
use peerwatch_core::peer_logs::{LateRecord, LoggedRoute, RouteChange};

use super::{Head, Store, record_from_item};
use crate::dynamo::{Item, StoreError, dynamo};
use crate::mutes::parse_or_warn;

/// `BatchGetItem` takes at most this many keys a request.
const BATCH_GET_MAX: usize = 100;

/// What a batch's peers hold in `PeerState`.
#[derive(Debug, Default)]
pub struct Named {
    pub peers: HashMap<String, PeerRecord>,
    pub mutes: Vec<MuteRecord>,
}

impl Store {
    /// The `PeerState` items with these keys (peers and mutes alike), strongly consistent,
    /// by `BatchGetItem`; unprocessed keys are asked again.
    pub async fn get_named(&self, keys: &[String]) -> Result<Named, StoreError> {
        let mut named = Named::default();
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut ask = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|k| {
                                HashMap::from([(
                                    "RouteServerPeerId".to_string(),
                                    AttributeValue::S(k.clone()),
                                )])
                            })
                            .collect(),
                    ))
                    .consistent_read(true)
                    .build()
                    .expect("keys are set"),
            );
            let mut pause = Duration::from_millis(50);
            while let Some(keys) = ask.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.state_table, keys)
                    .send()
                    .await
                    .map_err(dynamo("BatchGetItem", &self.state_table))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.state_table))
                    .into_iter()
                    .flatten()
                {
                    self.add_named(&mut named, item)?;
                }
                ask = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.state_table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                if ask.is_some() {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
        Ok(named)
    }

    fn add_named(
        &self,
        named: &mut Named,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        let key = crate::dynamo::s(item, "RouteServerPeerId").unwrap_or_default();
        if crate::mutes::is_mute_key(&key) {
            named.mutes.extend(parse_or_warn(item));
            return Ok(());
        }
        let record = record_from_item(item).map_err(|why| StoreError::Malformed {
            table: self.state_table.clone(),
            key: key.clone(),
            why,
        })?;
        named.peers.insert(key, record);
        Ok(())
    }

    /// One peer's state, strongly consistent: read again after a write lost its race.
    pub async fn get_state(&self, peer_id: &str) -> Result<Option<PeerRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.state_table)
            .key("RouteServerPeerId", AttributeValue::S(peer_id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo("GetItem", &self.state_table))?;
        out.item()
            .map(|item| {
                record_from_item(item).map_err(|why| StoreError::Malformed {
                    table: self.state_table.clone(),
                    key: peer_id.to_string(),
                    why,
                })
            })
            .transpose()
    }

    /// Keeps a late record in the history (`Source=log`, `Late`), if no item has its key yet:
    /// answers whether it was written (`false`: this record, or another change in the same
    /// millisecond, is there already).
    pub async fn put_late(&self, late: &LateRecord) -> Result<bool, StoreError> {
        let mut item = Item::default();
        self.put_head(
            &mut item,
            &Head {
                key: &late.peer_id,
                route_server_id: &late.route_server_id,
                kind: TransitionKind::Changed,
                observed_at: late.observed_at,
                source: Source::Log,
                changes: &late.changes,
                previous_observed_at: None,
                previous_duration_seconds: None,
                severity: Severity::Info,
                event: late.event,
                health_from: Some(late.health_from),
                health_to: Some(late.health_to),
                notification: NotificationState::NotRequired,
                version: late.version,
            },
        );
        item.0.insert("Late".into(), AttributeValue::Bool(true));
        item.s("LateThan", late.last_changed_at.to_string());
        self.put_new_history_item(item).await
    }

    /// Writes a history item that changes no `PeerState`, if no item has its key yet: answers
    /// whether it was written.
    async fn put_new_history_item(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.transitions_table)
            .set_item(Some(item.0))
            .condition_expression("attribute_not_exists(ObservedAt)")
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
            Err(e) => Err(dynamo("PutItem", &self.transitions_table)(e)),
        }
    }
}

/// The route records of one peer at one instant, kept in its route history
/// (`routes#<rsp-id>`, `Source=log`, event `peer.routes-logged`).
#[derive(Debug, Clone)]
pub struct LoggedRoutes<'a> {
    pub peer_id: &'a str,
    pub route_server_id: &'a str,
    pub at: Timestamp,
    pub routes: Vec<(RouteChange, &'a LoggedRoute)>,
    /// The peer's `PeerState` version when they were kept.
    pub version: u64,
}

/// How many milliseconds on one instant's records may move to find a free key.
const ROUTE_KEY_TRIES: i64 = 20;

fn route_value(change: RouteChange, r: &LoggedRoute) -> AttributeValue {
    let mut m = HashMap::from([
        (
            "Status".to_string(),
            AttributeValue::S(change.as_str().into()),
        ),
        ("Prefix".to_string(), AttributeValue::S(r.prefix.clone())),
    ]);
    if let Some(p) = &r.as_path {
        m.insert("AsPath".into(), AttributeValue::S(p.clone()));
    }
    if let Some(med) = r.med {
        m.insert("Med".into(), AttributeValue::N(med.to_string()));
    }
    if let Some(ip) = &r.next_hop_ip {
        m.insert("NextHopIp".into(), AttributeValue::S(ip.clone()));
    }
    AttributeValue::M(m)
}

impl Store {
    /// Keeps one instant's route records, once: an item already at that key holding them all
    /// means they were kept before (a batch delivered again); records it does not hold (the
    /// same millisecond in another batch) go to the next free millisecond. Answers how many
    /// records were written.
    pub async fn put_routes(&self, logged: &LoggedRoutes<'_>) -> Result<usize, StoreError> {
        let mut left: Vec<AttributeValue> = logged
            .routes
            .iter()
            .map(|(c, r)| route_value(*c, r))
            .collect();
        let key = peer_routes_key(logged.peer_id);
        for step in 0..ROUTE_KEY_TRIES {
            if left.is_empty() {
                return Ok(0);
            }
            let at = logged.at.plus_millis(step);
            let mut item = Item::default();
            self.put_head(
                &mut item,
                &Head {
                    key: &key,
                    route_server_id: logged.route_server_id,
                    kind: TransitionKind::Changed,
                    observed_at: at,
                    source: Source::Log,
                    changes: &[],
                    previous_observed_at: None,
                    previous_duration_seconds: None,
                    severity: Severity::Info,
                    event: Event::PeerRoutesLogged,
                    health_from: None,
                    health_to: None,
                    notification: NotificationState::NotRequired,
                    version: logged.version,
                },
            );
            item.0
                .insert("Routes".into(), AttributeValue::L(left.clone()));
            item.0.insert(
                "PeerIds".into(),
                AttributeValue::L(vec![AttributeValue::S(logged.peer_id.into())]),
            );
            if self.put_new_history_item(item).await? {
                return Ok(left.len());
            }
            let there = self
                .client
                .get_item()
                .table_name(&self.transitions_table)
                .key("RouteServerPeerId", AttributeValue::S(key.clone()))
                .key("ObservedAt", AttributeValue::S(at.to_string()))
                .consistent_read(true)
                .send()
                .await
                .map_err(dynamo("GetItem", &self.transitions_table))?;
            let held = there
                .item()
                .and_then(|i| i.get("Routes"))
                .and_then(|v| v.as_l().ok())
                .cloned()
                .unwrap_or_default();
            left.retain(|r| !held.contains(r));
        }
        Ok(0)
    }
}
