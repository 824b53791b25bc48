//! Acknowledging an open alert (`peerwatch ack`): the subject's record read back, the pure
//! rule of `peerwatch_core::ack`, and the note written with its outbox entry in the same
//! conditional transaction as any transition, then published through the cycle's delivery.
//!
//! Two operators (or an operator and a cycle) writing at once: the `Version` condition lets
//! one through; the other reads the record again and decides again, so two acknowledgements
//! at once make one transition and one note, and the second caller learns who was first. A
//! note whose publish fails stays pending, and the next cycle's outbox retry sends it.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_core::ack::{self, acknowledge, acknowledge_fabric};
use peerwatch_core::error_chain;
use peerwatch_core::fabric::route_key;
use peerwatch_core::ids::{RouteServerEndpointId, RouteServerId, RouteServerPeerId};
use peerwatch_core::model::{Ack, Severity, Timestamp};
use peerwatch_core::render::{self, Notification};

use crate::cycle::{OutboxKey, Poller};
use crate::dynamo::{StoreError, dynamo, s};
use crate::store::{Outbox, WriteOutcome, fabric_record_from_item, record_from_item};

/// How long the acknowledging process holds its note before a cycle may send it instead: long
/// enough for one publish, short enough that a note whose sender died goes out on the next
/// cycle but one.
pub const ACK_LEASE: Duration = Duration::from_secs(30);
/// How many times a write that lost the race is decided again from the record read back. Each
/// loss means someone else recorded something; a few in a row is a busy subject, not a bug.
const ATTEMPTS: u32 = 5;

/// What to acknowledge: a peer, or an endpoint, route server or route (a route server's prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckTarget {
    Peer(RouteServerPeerId),
    Endpoint(RouteServerEndpointId),
    RouteServer(RouteServerId),
    Route {
        route_server: RouteServerId,
        prefix: String,
    },
}

impl AckTarget {
    /// The `RouteServerPeerId` key value of its items.
    pub fn key(&self) -> String {
        match self {
            AckTarget::Peer(id) => id.to_string(),
            AckTarget::Endpoint(id) => id.to_string(),
            AckTarget::RouteServer(id) => id.to_string(),
            AckTarget::Route {
                route_server,
                prefix,
            } => route_key(route_server.as_str(), prefix),
        }
    }
}

impl std::fmt::Display for AckTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckTarget::Peer(id) => write!(f, "peer {id}"),
            AckTarget::Endpoint(id) => write!(f, "endpoint {id}"),
            AckTarget::RouteServer(id) => write!(f, "route server {id}"),
            AckTarget::Route {
                route_server,
                prefix,
            } => write!(f, "route {prefix} of route server {route_server}"),
        }
    }
}

/// What acknowledging did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// Recorded, with its note in the outbox: `delivered` says whether it was published now
    /// (else the next cycle sends it).
    Acknowledged {
        ack: Ack,
        /// The alert acknowledged (`critical` or `warning`).
        alert: Option<Severity>,
        version: u64,
        /// The chat thread the note went to: the alert's.
        thread_id: String,
        delivered: bool,
    },
    /// Someone was there first: nothing recorded, nothing sent.
    AlreadyAcked(Ack),
}

#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("ALERT_TOPIC_ARN is not set: the acknowledgement's note would have nowhere to go")]
    NoTopic,
    #[error("{target} is not known in table {table}")]
    NotKnown { target: String, table: String },
    #[error("nothing to acknowledge on {target}: {why}")]
    NothingOpen { target: String, why: ack::AckError },
    #[error("cannot read {target}")]
    Read {
        target: String,
        #[source]
        source: StoreError,
    },
    #[error("cannot record the acknowledgement of {target}")]
    Write {
        target: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "{target} changed {attempts} times while acknowledging it; nothing was recorded, try again"
    )]
    Busy { target: String, attempts: u32 },
}

/// The transition decided, as the store writes it.
enum Decided {
    Peer(Box<peerwatch_core::model::Transition>),
    Fabric(Box<peerwatch_core::fabric::FabricTransition>),
}

impl Poller {
    /// Acknowledges `target`'s open alert as `ack` says (who, why, when).
    pub async fn acknowledge(&self, target: &AckTarget, ack: Ack) -> Result<AckOutcome, AckError> {
        let topic = self
            .config
            .alert_topic_arn
            .as_deref()
            .ok_or(AckError::NoTopic)?;
        let key = target.key();
        let name = target.to_string();
        for _ in 0..ATTEMPTS {
            let read = |source| AckError::Read {
                target: name.clone(),
                source,
            };
            let item = self.state_item(&key).await.map_err(read)?;
            let Some(item) = item else {
                return Err(AckError::NotKnown {
                    target: name,
                    table: self.store.state_table().to_string(),
                });
            };
            let newest = self.newest_observed_at(&key).await.map_err(read)?;
            let malformed = |why| {
                read(StoreError::Malformed {
                    table: self.store.state_table().to_string(),
                    key: key.clone(),
                    why,
                })
            };
            let decided = match target {
                AckTarget::Peer(_) => {
                    let record = record_from_item(&item).map_err(malformed)?;
                    acknowledge(&record, ack.clone(), newest).map(|t| Decided::Peer(Box::new(t)))
                }
                _ => {
                    let record = fabric_record_from_item(&item).map_err(malformed)?;
                    acknowledge_fabric(&record, ack.clone(), newest)
                        .map(|t| Decided::Fabric(Box::new(t)))
                }
            };
            let decided = match decided {
                Ok(d) => d,
                Err(ack::AckError::AlreadyAcked(first)) => {
                    return Ok(AckOutcome::AlreadyAcked(first));
                }
                Err(why) => return Err(AckError::NothingOpen { target: name, why }),
            };
            let (notification, thread_id): (Notification, String) = match &decided {
                Decided::Peer(t) => (render::render(t), t.peer_id().to_string()),
                Decided::Fabric(t) => (render::render_fabric(t), render::fabric_thread_id(t)),
            };
            let outbox = Outbox {
                notification: &notification,
                claimed_until_ms: Timestamp::now().as_millis() + ACK_LEASE.as_millis() as i64,
                group_id: None,
            };
            let written = match &decided {
                Decided::Peer(t) => self.store.write_transition(t, Some(outbox)).await,
                Decided::Fabric(t) => self.store.write_fabric_transition(t, Some(outbox)).await,
            }
            .map_err(|source| AckError::Write {
                target: name.clone(),
                source,
            })?;
            if written == WriteOutcome::LostRace {
                tracing::info!(key = %key, "the record changed while acknowledging; reading it again");
                continue;
            }
            let (acked, alert, version, observed_at) = match &decided {
                Decided::Peer(t) => (
                    t.record.alerting.acked.clone(),
                    t.record.open_alert,
                    t.version(),
                    t.observed_at,
                ),
                Decided::Fabric(t) => (
                    t.record.alerting.acked.clone(),
                    t.record.open_alert,
                    t.version(),
                    t.observed_at,
                ),
            };
            let outbox_key = OutboxKey {
                peer_id: key.clone(),
                observed_at: observed_at.to_string(),
            };
            let delivered = self.deliver(topic, &[outbox_key], &notification).await;
            return Ok(AckOutcome::Acknowledged {
                ack: acked.unwrap_or(ack),
                alert,
                version,
                thread_id,
                delivered,
            });
        }
        Err(AckError::Busy {
            target: name,
            attempts: ATTEMPTS,
        })
    }

    /// The subject's `PeerState` item, read strongly consistent: the `Version` the write is
    /// conditioned on must be the latest.
    async fn state_item(
        &self,
        key: &str,
    ) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, StoreError> {
        let table = self.store.state_table();
        Ok(self
            .store
            .client()
            .get_item()
            .table_name(table)
            .key("RouteServerPeerId", AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo("GetItem", table))?
            .item)
    }

    /// When the subject's newest history item was observed: its history's key is (subject,
    /// `ObservedAt`), and a reminder leaves no time on the record.
    async fn newest_observed_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        let table = self.store.transitions_table();
        let out = self
            .store
            .client()
            .query()
            .table_name(table)
            .key_condition_expression("RouteServerPeerId = :k")
            .expression_attribute_values(":k", AttributeValue::S(key.into()))
            .scan_index_forward(false)
            .limit(1)
            .projection_expression("ObservedAt")
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo("Query", table))?;
        let newest = out.items().first().and_then(|i| s(i, "ObservedAt"));
        match newest {
            Some(v) => v.parse().map(Some).map_err(|e| StoreError::Malformed {
                table: table.to_string(),
                key: key.to_string(),
                why: format!("ObservedAt is not a timestamp: {}", error_chain(&e)),
            }),
            None => Ok(None),
        }
    }
}
