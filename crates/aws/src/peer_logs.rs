//! The log consumer: route server peer log records applied to the store through the same
//! conditional transaction, alert rules and outbox as the poll (docs/design.md, "Between
//! polls: peer logs").
//!
//! A batch reads only the peers it names (one `BatchGetItem`, never a `Scan`), then applies
//! each peer's records in time order, one instant at a time. A write that loses its race
//! (the poll, or another batch, recorded something first; or DynamoDB answered
//! `TransactionConflict`) is never dropped: the peer is read again and the record applied
//! against the newer state. A poll can find its own change again; a consumer cannot read a
//! record again once it has thrown it away.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use peerwatch_core::detect::Rules;
use peerwatch_core::error_chain;
use peerwatch_core::model::{NotificationState, PeerRecord, Timestamp, Transition};
use peerwatch_core::mute::MuteTarget;
use peerwatch_core::peer_logs::{
    Applied, Batch, Happened, LoggedRoute, RouteChange, Session, apply,
};
use peerwatch_core::render;
use peerwatch_core::storm::storm_groups;
use serde::Serialize;

use crate::cycle::{DEADLINE_MARGIN, Group, OutboxKey, Poller};
use crate::dynamo::StoreError;
use crate::mutes;
use crate::store::{LoggedRoutes, Outbox, WriteOutcome};

/// How many times one instant is applied again after losing its write before the batch
/// fails (and is delivered again, which applies nothing twice).
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a consumer run holds a notification it is publishing.
const LEASE: Duration = Duration::from_secs(120);

/// What one batch did. Serialised as the handler's answer (camelCase).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSummary {
    /// Records in the batch, parsed or not.
    pub records_received: usize,
    /// Records that could not be parsed (each logged with why).
    pub records_skipped: usize,
    /// BGP/BFD changes recorded (`Source=log`).
    pub changes_recorded: usize,
    /// Records already shown by `PeerState`: nothing written.
    pub records_reflected: usize,
    /// Records older than their peer's last change, kept as late history items.
    pub late_recorded: usize,
    /// Late records whose history item was there already (a batch delivered again).
    pub late_already_recorded: usize,
    /// Records of peers peerwatch does not track yet (the poll discovers them).
    pub records_untracked: usize,
    /// `RouteStatus` records kept in the peers' route history (`routes#<rsp-id>`); a batch
    /// delivered again keeps none.
    pub route_records: usize,
    /// Writes that lost a race and were applied again against the newer state.
    pub races_retried: usize,
    pub notifications_sent: usize,
    pub notifications_pending: usize,
    pub duration_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("cannot read the states of the batch's peers")]
    Load(#[source] StoreError),
    #[error(
        "{failed} of {total} instants could not be recorded; delivering the batch again records them"
    )]
    Record {
        failed: usize,
        total: usize,
        #[source]
        first: StoreError,
    },
    #[error(
        "a record of {peer} at {at} lost its write {MAX_ATTEMPTS} times in a row; delivering the batch again records it"
    )]
    Contended { peer: String, at: Timestamp },
    #[error("the deadline came with {left} instants left; delivering the batch again records them")]
    Deadline { left: usize },
}

/// One peer's session records at one instant, in delivery order.
#[derive(Debug, Clone)]
struct Moment {
    at: Timestamp,
    statuses: Vec<(Session, String)>,
}

/// What became of one instant.
enum Outcome {
    Changed {
        delivered: Option<bool>,
    },
    Grouped {
        group: usize,
        key: OutboxKey,
    },
    /// Each with how many records the instant held.
    Reflected {
        records: usize,
    },
    Late {
        written: bool,
        records: usize,
    },
    Untracked {
        records: usize,
    },
}

impl Poller {
    /// Applies one batch of parsed records. The run fails (for the batch to be delivered
    /// again) only when some record could not be recorded; what was recorded stays, and is
    /// found reflected the next time.
    pub async fn consume(
        &self,
        batch: Batch,
        deadline: Option<Instant>,
    ) -> Result<LogSummary, ConsumeError> {
        let started = Instant::now();
        let mut summary = LogSummary {
            records_received: batch.records.len() + batch.skipped.len(),
            records_skipped: batch.skipped.len(),
            ..LogSummary::default()
        };
        for (n, why) in &batch.skipped {
            tracing::warn!(record = n, error = %why, "peer log record skipped");
        }
        let mut by_peer: BTreeMap<String, Vec<Moment>> = BTreeMap::new();
        let mut routes: BTreeMap<(String, Timestamp), Vec<(RouteChange, &LoggedRoute)>> =
            BTreeMap::new();
        for r in &batch.records {
            match &r.happened {
                Happened::Session { session, status } => {
                    let instants = by_peer.entry(r.peer_id.to_string()).or_default();
                    match instants.last_mut() {
                        Some(i) if i.at == r.at => i.statuses.push((*session, status.clone())),
                        _ => instants.push(Moment {
                            at: r.at,
                            statuses: vec![(*session, status.clone())],
                        }),
                    }
                }
                Happened::Route { change, route } => routes
                    .entry((r.peer_id.to_string(), r.at))
                    .or_default()
                    .push((*change, route)),
            }
        }
        if by_peer.is_empty() && routes.is_empty() {
            summary.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(summary);
        }

        // The peers the batch names, and the mutes that may cover them.
        let peer_keys: Vec<String> = by_peer
            .keys()
            .chain(routes.keys().map(|(p, _)| p))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let named = self
            .store
            .get_named(&peer_keys)
            .await
            .map_err(ConsumeError::Load)?;
        let route_servers: HashSet<&str> = named
            .peers
            .values()
            .map(|r| r.peer.route_server_id.as_str())
            .collect();
        let mute_keys: Vec<String> = peer_keys
            .iter()
            .map(String::as_str)
            .chain(route_servers)
            .filter_map(|id| MuteTarget::parse(id).ok())
            .map(|target| mutes::key(&target))
            .collect();
        let muted = self
            .store
            .get_named(&mute_keys)
            .await
            .map_err(ConsumeError::Load)?;
        let mut rules = self.config.rules();
        rules.mutes = muted.mutes.iter().map(|m| m.mute.clone()).collect();
        let rules = &rules;

        // Storm control as the poll does it: the alerts this batch raises, planned from the
        // states read, grouped per route server when there are too many.
        let topic = self.config.alert_topic_arn.as_deref();
        let threshold = topic.map_or(0, |_| self.config.alerting.storm_threshold);
        let mut planned: Vec<Transition> = Vec::new();
        let mut plan_of: Vec<(String, Timestamp)> = Vec::new();
        for (peer, instants) in &by_peer {
            let mut state = named.peers.get(peer).cloned();
            for i in instants {
                if let Applied::Change(tr) = apply(state.as_ref(), i.at, &i.statuses, rules) {
                    state = Some(tr.record.clone());
                    plan_of.push((peer.clone(), i.at));
                    planned.push(*tr);
                }
            }
        }
        let mut group_of: BTreeMap<(String, Timestamp), usize> = BTreeMap::new();
        let groups: Vec<Group> = storm_groups(&planned, threshold)
            .into_iter()
            .enumerate()
            .map(|(g, members)| {
                for &m in &members {
                    group_of.insert(plan_of[m].clone(), g);
                }
                let members: Vec<&Transition> = members.iter().map(|&m| &planned[m]).collect();
                Group::new(&members, threshold)
            })
            .collect();
        drop(planned);

        let total: usize = by_peer.values().map(Vec::len).sum::<usize>() + routes.len();
        let (groups, group_of, named) = (&groups, &group_of, &named);
        let results: Vec<Vec<Result<(Outcome, u32), ConsumeError>>> =
            futures::stream::iter(by_peer.iter())
                .map(|(peer, instants)| async move {
                    self.consume_peer(
                        peer,
                        named.peers.get(peer).cloned(),
                        instants,
                        rules,
                        groups,
                        group_of,
                        deadline,
                    )
                    .await
                })
                .buffer_unordered(self.config.write_concurrency)
                .collect()
                .await;

        let mut failure: Option<ConsumeError> = None;
        let mut failed = 0;
        // Route records: kept in each tracked peer's route history, never alerted; the
        // routing database the poll reads stays what routes are judged by.
        let kept: Vec<Result<(usize, usize), ConsumeError>> = futures::stream::iter(&routes)
            .map(|((peer, at), records)| async move {
                let Some(state) = named
                    .peers
                    .get(peer)
                    .filter(|r| r.present && rules.in_scope(&r.peer.route_server_id))
                else {
                    return Ok((0, records.len()));
                };
                let logged = LoggedRoutes {
                    peer_id: peer,
                    route_server_id: &state.peer.route_server_id,
                    at: *at,
                    routes: records.clone(),
                    version: state.version,
                };
                self.store
                    .put_routes(&logged)
                    .await
                    .map(|n| (n, 0))
                    .map_err(|first| ConsumeError::Record {
                        failed: 1,
                        total: 1,
                        first,
                    })
            })
            .buffer_unordered(self.config.write_concurrency)
            .collect()
            .await;
        for k in kept {
            match k {
                Ok((written, untracked)) => {
                    summary.route_records += written;
                    summary.records_untracked += untracked;
                }
                Err(e) => {
                    failed += 1;
                    failure.get_or_insert(e);
                }
            }
        }
        let mut left = 0;
        let mut written: Vec<Vec<OutboxKey>> = vec![Vec::new(); groups.len()];
        for r in results.into_iter().flatten() {
            if let Ok((_, raced)) = &r {
                summary.races_retried += *raced as usize;
            }
            match r.map(|(o, _)| o) {
                Ok(Outcome::Changed { delivered }) => {
                    summary.changes_recorded += 1;
                    match delivered {
                        Some(true) => summary.notifications_sent += 1,
                        Some(false) => summary.notifications_pending += 1,
                        None => {}
                    }
                }
                Ok(Outcome::Grouped { group, key }) => {
                    summary.changes_recorded += 1;
                    written[group].push(key);
                }
                Ok(Outcome::Reflected { records }) => summary.records_reflected += records,
                Ok(Outcome::Late {
                    written: true,
                    records,
                }) => summary.late_recorded += records,
                Ok(Outcome::Late {
                    written: false,
                    records,
                }) => summary.late_already_recorded += records,
                Ok(Outcome::Untracked { records }) => summary.records_untracked += records,
                Err(ConsumeError::Deadline { left: n }) => left += n,
                Err(e) => {
                    failed += 1;
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(topic) = topic {
            for (group, keys) in groups.iter().zip(&written) {
                if keys.is_empty() {
                    continue;
                }
                if self.deliver(topic, keys, &group.notification).await {
                    summary.notifications_sent += 1;
                } else {
                    summary.notifications_pending += 1;
                }
            }
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        let failure = match failure {
            Some(ConsumeError::Record { first, .. }) => Some(ConsumeError::Record {
                failed,
                total,
                first,
            }),
            Some(other) => Some(other),
            None if left > 0 => Some(ConsumeError::Deadline { left }),
            None => None,
        };
        match failure {
            Some(e) => {
                tracing::error!(summary = ?summary, error = %error_chain(&e), "peer log batch incomplete");
                Err(e)
            }
            None => {
                tracing::info!(summary = ?summary, "peer log batch done");
                Ok(summary)
            }
        }
    }

    /// One peer's instants in time order, each written before the next is applied (each
    /// write expects the version the one before it made). Stops at the first failure: a
    /// later instant must not be recorded before an earlier one.
    #[allow(clippy::too_many_arguments)]
    async fn consume_peer(
        &self,
        peer: &str,
        mut state: Option<PeerRecord>,
        instants: &[Moment],
        rules: &Rules,
        groups: &[Group],
        group_of: &BTreeMap<(String, Timestamp), usize>,
        deadline: Option<Instant>,
    ) -> Vec<Result<(Outcome, u32), ConsumeError>> {
        let mut out = Vec::new();
        for (n, i) in instants.iter().enumerate() {
            if deadline
                .is_some_and(|d| d.saturating_duration_since(Instant::now()) < DEADLINE_MARGIN)
            {
                out.push(Err(ConsumeError::Deadline {
                    left: instants.len() - n,
                }));
                break;
            }
            let group = group_of
                .get(&(peer.to_string(), i.at))
                .map(|&g| (g, &groups[g]));
            match self
                .consume_instant(peer, &mut state, i, rules, group)
                .await
            {
                Ok(o) => out.push(Ok(o)),
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            }
        }
        out
    }

    async fn consume_instant(
        &self,
        peer: &str,
        state: &mut Option<PeerRecord>,
        i: &Moment,
        rules: &Rules,
        group: Option<(usize, &Group)>,
    ) -> Result<(Outcome, u32), ConsumeError> {
        let record_error = |first| ConsumeError::Record {
            failed: 1,
            total: 1,
            first,
        };
        let topic = self.config.alert_topic_arn.as_deref();
        let records = i.statuses.len();
        for attempt in 0..MAX_ATTEMPTS {
            let mut tr = match apply(state.as_ref(), i.at, &i.statuses, rules) {
                Applied::Reflected => return Ok((Outcome::Reflected { records }, attempt)),
                Applied::Untracked => return Ok((Outcome::Untracked { records }, attempt)),
                Applied::Late(late) => {
                    let written = self.store.put_late(&late).await.map_err(record_error)?;
                    return Ok((Outcome::Late { written, records }, attempt));
                }
                Applied::Change(tr) => *tr,
            };
            // A member of a planned group only as planned: a change applied again after a
            // lost race goes out on its own.
            let group = group.filter(|_| attempt == 0);
            let own;
            let notification = match (topic, tr.notification, group) {
                (Some(_), NotificationState::Pending, Some((_, g))) => Some(&g.notification),
                (Some(_), NotificationState::Pending, None) => {
                    own = render::render(&tr);
                    Some(&own)
                }
                _ => None,
            };
            if notification.is_none() && tr.notification == NotificationState::Pending {
                tr.notification = NotificationState::NotRequired;
            }
            let outbox = notification.map(|n| Outbox {
                notification: n,
                claimed_until_ms: Timestamp::now().as_millis() + LEASE.as_millis() as i64,
                group_id: group.map(|(_, g)| g.id.as_str()),
            });
            match self.store.write_transition(&tr, outbox).await {
                Ok(WriteOutcome::Written) => {
                    let key = OutboxKey {
                        peer_id: peer.to_string(),
                        observed_at: tr.observed_at.to_string(),
                    };
                    *state = Some(tr.record);
                    let outcome = match (topic, notification, group) {
                        (Some(_), Some(_), Some((group, _))) => Outcome::Grouped { group, key },
                        (Some(topic), Some(n), None) => Outcome::Changed {
                            delivered: Some(self.deliver(topic, &[key], n).await),
                        },
                        _ => Outcome::Changed { delivered: None },
                    };
                    return Ok((outcome, attempt));
                }
                Ok(WriteOutcome::LostRace) => {
                    tracing::info!(peer, at = %i.at, attempt, "a peer log write lost its race; reading the peer again");
                    *state = self.store.get_state(peer).await.map_err(record_error)?;
                }
                Err(e) => return Err(record_error(e)),
            }
        }
        Err(ConsumeError::Contended {
            peer: peer.to_string(),
            at: i.at,
        })
    }
}
