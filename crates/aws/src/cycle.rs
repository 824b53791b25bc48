//! One poll cycle, the same for the Lambda and `peerwatch poll`: retry the outbox, load the
//! last known states, list peers (and meanwhile route servers, endpoints and routing
//! databases), detect, record each transition in one conditional
//! transaction, publish what needs publishing, mark it sent. Storm control: more notified
//! transitions of one kind for one route server than `STORM_THRESHOLD` go out as one grouped
//! message, published once and marked on every member.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use peerwatch_core::detect::{Detector, Rules};
use peerwatch_core::error_chain;
use peerwatch_core::fabric::{self, FabricTransition};
use peerwatch_core::ids::{RouteServerId, RouteServerPeerId};
use peerwatch_core::metrics::PeerHealth;
use peerwatch_core::model::{NotificationState, PeerRecord, Timestamp, Transition, TransitionKind};
use peerwatch_core::render::{self, Notification};
use peerwatch_core::storm::{GroupKind, group_id, routing_group_id, storm_groups};
use peerwatch_core::summary::{Detected, Summary};

use crate::config::Config;
use crate::dynamo::StoreError;
use crate::listing::{ListError, for_each_page};
use crate::logging::{self, LoggingError, PeerLogs};
use crate::publish;
use crate::routing::{self, FabricError, Session};
use crate::store::{Outbox, PendingNotification, Store, WriteOutcome};

/// No new write starts with less than this left before the deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);
/// How long a run holds a notification it is publishing when it has no deadline of its own.
const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// Where a cycle's `ObservedAt` comes from: the system clock, or (in tests that script a
/// history over hours) a clock of their own.
pub type Clock = std::sync::Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The clients and settings a cycle runs with; built once at start.
pub struct Poller {
    ec2: aws_sdk_ec2::Client,
    pub(crate) sns: aws_sdk_sns::Client,
    pub(crate) store: Store,
    pub(crate) config: Config,
    clock: Clock,
    /// With `PEER_LOGS=auto`: turns logging on for each peer a cycle discovers.
    peer_logs: Option<PeerLogs>,
}

impl Poller {
    /// Clients from one SDK configuration: endpoints come from its standard settings
    /// (`AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_DYNAMODB`, ...), nothing else.
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        let peer_logs = config
            .peer_logs_auto
            .clone()
            .map(|dest| PeerLogs::new(logging::client(sdk, &dest), dest));
        let mut poller = Self::from_clients(
            aws_sdk_ec2::Client::new(sdk),
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_sns::Client::new(sdk),
            config,
        );
        poller.peer_logs = peer_logs;
        poller
    }

    /// Turns logging on through `logs` for each peer a cycle discovers (`PEER_LOGS=auto`).
    pub fn with_peer_logs(mut self, logs: PeerLogs) -> Self {
        self.peer_logs = Some(logs);
        self
    }

    pub fn from_clients(
        ec2: aws_sdk_ec2::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        sns: aws_sdk_sns::Client,
        config: Config,
    ) -> Self {
        let store = Store::new(
            dynamodb,
            &config.peer_state_table,
            &config.peer_transitions_table,
            config.history_retention_days,
        );
        Poller {
            ec2,
            sns,
            store,
            config,
            clock: std::sync::Arc::new(Timestamp::now),
            peer_logs: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stamps what this poller observes with `clock` instead of the system clock.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }
}

/// What narrows one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Detect and report; write and publish nothing.
    pub dry_run: bool,
    /// Watch only these route servers in this run (within the configured scope).
    pub route_server_ids: Option<Vec<RouteServerId>>,
    /// Stop starting new work before this (the Lambda's deadline).
    pub deadline: Option<Instant>,
}

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("cannot list route server peers")]
    List(#[from] ListError),
    #[error("cannot load the last known peer states")]
    LoadStates(#[source] StoreError),
    #[error("cannot read the notification outbox")]
    Outbox(#[source] StoreError),
    #[error("{failed} of {total} transitions could not be recorded; the next run retries them")]
    Record {
        failed: usize,
        total: usize,
        #[source]
        first: StoreError,
    },
    #[error("cannot list route servers or endpoints; peers were recorded, routes were not")]
    Fabric(#[source] FabricError),
    #[error(
        "cannot read the routing database of {route_servers:?}; their routes stay as last known (the logs say why)"
    )]
    Unread { route_servers: Vec<String> },
    #[error(
        "cannot turn peer logging on for the peers this run discovered (PEER_LOGS=auto); `peerwatch logging enable --all` does it"
    )]
    PeerLogs(#[source] LoggingError),
    #[error("run scope {asked:?} is outside the configured ROUTE_SERVER_IDS {configured:?}")]
    Scope {
        asked: Vec<RouteServerId>,
        configured: Vec<RouteServerId>,
    },
}

impl Poller {
    pub async fn run(&self, opts: RunOptions) -> Result<Summary, CycleError> {
        Ok(self.run_observing(opts).await?.0)
    }

    /// One cycle, answering also every present peer in scope as this cycle saw it (the
    /// recorded state, updated by what it detected), for the metrics: no extra read.
    pub async fn run_observing(
        &self,
        opts: RunOptions,
    ) -> Result<(Summary, Vec<PeerHealth>), CycleError> {
        let started = Instant::now();
        let rules = self.rules_for(&opts)?;
        let lease = opts
            .deadline
            .map(|d| d.saturating_duration_since(started) + Duration::from_secs(30))
            .unwrap_or(DEFAULT_LEASE);
        let mut summary = Summary {
            dry_run: opts.dry_run,
            ..Summary::default()
        };

        if !opts.dry_run {
            let retried = self.retry_outbox(lease).await?;
            summary.notifications_retried = retried.sent;
            summary.notifications_pending += retried.pending;
            summary.grouped_notifications += retried.grouped;
        }

        // The known states are read before the listing, never after nor beside it: a write is
        // conditioned on the Version read, so it can only succeed if nothing was recorded since;
        // and everything recorded before was listed before, so this listing is newer. Read
        // after, a slow run could compare its older listing with a newer state and record the
        // change backwards (found by the fault campaign, CHAOS_SEED=11).
        let known = self
            .store
            .load_known()
            .await
            .map_err(CycleError::LoadStates)?;
        // Stored mutes (`peerwatch mute`); `Rules::muted` checks each one's end at `observed_at`.
        let mut rules = rules;
        rules.mutes = known.mutes.iter().map(|m| m.mute.clone()).collect();
        let observed_at = (self.clock)();
        // Detected page by page: only one page of the listing is held at a time. Route
        // servers, endpoints and routing databases are read meanwhile.
        let mut detector = Detector::new(observed_at, &rules);
        let mut transitions = Vec::new();
        let mut sessions = Vec::new();
        let scope = rules.route_server_ids.as_deref();
        let listing = for_each_page(&self.ec2, scope, |page| {
            summary.peers_seen += page.len();
            sessions.extend(
                page.iter()
                    .filter(|p| rules.in_scope(&p.route_server_id))
                    .map(Session::of),
            );
            transitions.extend(detector.page(&known.peers, &page));
        });
        let (listed, read) = futures::join!(listing, routing::read(&self.ec2, scope));
        listed?;
        peerwatch_core::detect::listing_answered(&mut transitions, (self.clock)());
        transitions.extend(detector.vanished(&known.peers));
        // The peers are recorded regardless of what became of the rest; the run fails after.
        let mut incomplete = None;
        let fabric_transitions = match read {
            Ok(read) => {
                let fabric = read.fabric(&sessions);
                summary.route_servers_seen = fabric.route_servers.len();
                summary.endpoints_seen = fabric.endpoints.len();
                summary.routes_seen = fabric.routes.len();
                if !fabric.unread.is_empty() {
                    incomplete = Some(CycleError::Unread {
                        route_servers: fabric.unread.clone(),
                    });
                }
                fabric::detect::detect(&known.fabric, &fabric, observed_at, &rules)
            }
            Err(e) => {
                incomplete = Some(CycleError::Fabric(e));
                Vec::new()
            }
        };
        drop(sessions);
        summary.transitions_detected = transitions.len();
        summary.routing_transitions_detected = fabric_transitions.len();
        let observed = observed_peers(&known.peers, &transitions, &rules);
        // The known states are not needed past detection; free them before the writes.
        drop(known);

        if opts.dry_run {
            summary.detected = transitions
                .iter()
                .map(Detected::of)
                .chain(fabric_transitions.iter().map(Detected::of_fabric))
                .collect();
        } else {
            let discovered: Vec<RouteServerPeerId> = transitions
                .iter()
                .filter(|t| t.kind == TransitionKind::Discovered && t.record.present)
                .filter_map(|t| RouteServerPeerId::parse(t.peer_id()).ok())
                .collect();
            self.record(transitions, fabric_transitions, &opts, lease, &mut summary)
                .await?;
            // After the records: logging is a convenience the peers' history never waits for.
            if let Some(logs) = &self.peer_logs
                && incomplete.is_none()
            {
                match logs.enable_all(&discovered).await {
                    Ok(enabled) => summary.peer_logs_enabled = enabled.changed(),
                    Err(e) => incomplete = Some(CycleError::PeerLogs(e)),
                }
            }
        }
        if let Some(e) = incomplete {
            tracing::error!(summary = ?summary, error = %error_chain(&e), "poll cycle incomplete");
            return Err(e);
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        tracing::info!(summary = ?summary, "poll cycle done");
        Ok((summary, observed))
    }

    fn rules_for(&self, opts: &RunOptions) -> Result<Rules, CycleError> {
        let mut rules = self.config.rules();
        if let Some(asked) = &opts.route_server_ids {
            if let Some(configured) = &rules.route_server_ids
                && !asked.iter().all(|id| configured.contains(id))
            {
                return Err(CycleError::Scope {
                    asked: asked.clone(),
                    configured: configured.clone(),
                });
            }
            rules.route_server_ids = Some(asked.clone());
        }
        Ok(rules)
    }

    async fn record(
        &self,
        transitions: Vec<Transition>,
        fabric_transitions: Vec<FabricTransition>,
        opts: &RunOptions,
        lease: Duration,
        summary: &mut Summary,
    ) -> Result<(), CycleError> {
        let total = transitions.len() + fabric_transitions.len();
        let topic = self.config.alert_topic_arn.as_deref();
        // Storm control: only what is published can be grouped.
        let threshold = match topic {
            Some(_) => self.config.alerting.storm_threshold,
            None => 0,
        };
        let mut member_of = vec![None; total];
        let groups: Vec<Group> = storm_groups(&transitions, threshold)
            .into_iter()
            .enumerate()
            .map(|(g, members)| {
                let members: Vec<&Transition> = members
                    .into_iter()
                    .inspect(|&i| member_of[i] = Some(g))
                    .map(|i| &transitions[i])
                    .collect();
                Group::new(&members, threshold)
            })
            .collect();
        // Routing alerts storm apart from peers', in messages of their own.
        let peers = transitions.len();
        let mut groups = groups;
        for members in storm_groups(&fabric_transitions, threshold) {
            let g = groups.len();
            let members: Vec<&FabricTransition> = members
                .into_iter()
                .inspect(|&i| member_of[peers + i] = Some(g))
                .map(|i| &fabric_transitions[i])
                .collect();
            groups.push(Group::routing(&members, threshold));
        }
        let groups = &groups;
        let changes = transitions
            .into_iter()
            .map(Change::Peer)
            .chain(fabric_transitions.into_iter().map(Change::Fabric));
        let results: Vec<(Recorded, bool)> = futures::stream::iter(changes.zip(member_of))
            .map(|(tr, g)| {
                let group = g.map(|g| (g, &groups[g]));
                let routing = matches!(tr, Change::Fabric(_));
                self.record_one(tr, group, opts.deadline, lease)
                    .map(move |r| (r, routing))
            })
            .buffer_unordered(self.config.write_concurrency)
            .collect()
            .await;
        let mut first_error = None;
        let mut failed = 0;
        let mut written: Vec<Vec<OutboxKey>> = vec![Vec::new(); groups.len()];
        for (r, routing) in results {
            if matches!(r, Recorded::Written { .. } | Recorded::Grouped { .. }) {
                if routing {
                    summary.routing_transitions_recorded += 1;
                } else {
                    summary.transitions_recorded += 1;
                }
            }
            match r {
                Recorded::Written { delivered } => match delivered {
                    Some(true) => summary.notifications_sent += 1,
                    Some(false) => summary.notifications_pending += 1,
                    None => {}
                },
                Recorded::Grouped { group, key } => {
                    summary.transitions_grouped += 1;
                    written[group].push(key);
                }
                Recorded::LostRace => summary.transitions_lost_race += 1,
                Recorded::Deferred => summary.transitions_deferred += 1,
                Recorded::Failed(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        // Each group once, for the members this run recorded (another run that recorded the
        // others publishes its own).
        if let Some(topic) = topic {
            for (group, keys) in groups.iter().zip(&written) {
                if keys.is_empty() {
                    continue;
                }
                if self.deliver(topic, keys, &group.notification).await {
                    summary.notifications_sent += 1;
                    summary.grouped_notifications += 1;
                } else {
                    summary.notifications_pending += 1;
                }
            }
        }
        match first_error {
            Some(first) => Err(CycleError::Record {
                failed,
                total,
                first,
            }),
            None => Ok(()),
        }
    }

    /// Records one transition. A member of a group is stored with the group's message and
    /// published later, once for the group; any other is published at once.
    async fn record_one(
        &self,
        tr: Change,
        group: Option<(usize, &Group)>,
        deadline: Option<Instant>,
        lease: Duration,
    ) -> Recorded {
        if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < DEADLINE_MARGIN) {
            return Recorded::Deferred;
        }
        let topic = self.config.alert_topic_arn.as_deref();
        let own;
        let notification = match (topic, tr.notification(), group) {
            (Some(_), NotificationState::Pending, Some((_, g))) => Some(&g.notification),
            (Some(_), NotificationState::Pending, None) => {
                own = tr.render();
                Some(&own)
            }
            _ => None,
        };
        // Without a topic nothing can be sent, so nothing is owed: record, don't queue.
        let mut tr = tr;
        if notification.is_none() && tr.notification() == NotificationState::Pending {
            tr.set_notification(NotificationState::NotRequired);
        }
        let claimed_until = Timestamp::now().as_millis() + lease.as_millis() as i64;
        let outbox = notification.map(|n| Outbox {
            notification: n,
            claimed_until_ms: claimed_until,
            group_id: group.map(|(_, g)| g.id.as_str()),
        });
        let key = tr.key();
        let written = match &tr {
            Change::Peer(t) => self.store.write_transition(t, outbox).await,
            Change::Fabric(t) => self.store.write_fabric_transition(t, outbox).await,
        };
        match written {
            Ok(WriteOutcome::LostRace) => {
                tracing::info!(
                    key = %key,
                    version = tr.version(),
                    "another run recorded this change first"
                );
                Recorded::LostRace
            }
            Err(e) => {
                tracing::error!(key = %key, error = %error_chain(&e), "recording a transition failed");
                Recorded::Failed(e)
            }
            Ok(WriteOutcome::Written) => {
                let key = OutboxKey {
                    peer_id: key,
                    observed_at: tr.observed_at().to_string(),
                };
                match (topic, notification, group) {
                    (Some(_), Some(_), Some((group, _))) => Recorded::Grouped { group, key },
                    (Some(topic), Some(n), None) => Recorded::Written {
                        delivered: Some(self.deliver(topic, &[key], n).await),
                    },
                    _ => Recorded::Written { delivered: None },
                }
            }
        }
    }

    /// Publishes `n` once for the transitions `keys` (one, or a group's members), then marks
    /// each sent with the message id; on failure gives every claim back so the next run
    /// retries.
    pub(crate) async fn deliver(&self, topic: &str, keys: &[OutboxKey], n: &Notification) -> bool {
        match publish::publish(&self.sns, topic, n).await {
            Ok(message_id) => {
                let message_id = message_id.as_str();
                futures::stream::iter(keys)
                    .for_each_concurrent(self.config.write_concurrency, |k| async move {
                        if let Err(e) = self
                            .store
                            .mark_sent(&k.peer_id, &k.observed_at, message_id)
                            .await
                        {
                            // Delivered but still marked pending: the next run may send it again (at least once).
                            tracing::error!(peer = %k.peer_id, error = %error_chain(&e), "published, but marking it sent failed");
                        }
                    })
                    .await;
                true
            }
            Err(e) => {
                let peer = keys.first().map_or("", |k| k.peer_id.as_str());
                tracing::error!(peer, transitions = keys.len(), error = %error_chain(&e), "publishing a notification failed; it stays pending");
                self.release_all(keys).await;
                false
            }
        }
    }

    async fn release_all(&self, keys: &[OutboxKey]) {
        futures::stream::iter(keys)
            .for_each_concurrent(self.config.write_concurrency, |k| async move {
                if let Err(e) = self.store.release(&k.peer_id, &k.observed_at).await {
                    tracing::warn!(peer = %k.peer_id, error = %error_chain(&e), "releasing the claim failed; it expires by itself");
                }
            })
            .await;
    }

    /// Delivers what earlier runs left pending: each transition on its own, or, for a grouped
    /// message, all the group's pending members together, published once.
    async fn retry_outbox(&self, lease: Duration) -> Result<Retried, CycleError> {
        let Some(topic) = self.config.alert_topic_arn.as_deref() else {
            return Ok(Retried::default());
        };
        let pending = self
            .store
            .pending_notifications()
            .await
            .map_err(CycleError::Outbox)?;
        let now = Timestamp::now().as_millis();
        // One batch per message to publish.
        let mut batches: Vec<Vec<PendingNotification>> = Vec::new();
        let mut groups: BTreeMap<String, Vec<PendingNotification>> = BTreeMap::new();
        for p in pending {
            match &p.group_id {
                Some(id) => groups.entry(id.clone()).or_default().push(p),
                None => batches.push(vec![p]),
            }
        }
        batches.extend(groups.into_values());
        // A group is due only when every member is: one still held means a run is on it.
        batches.retain(|b| b.iter().all(|p| p.claimed_until_ms <= now));
        let until = now + lease.as_millis() as i64;
        let results: Vec<(Option<bool>, bool)> = futures::stream::iter(batches)
            .map(|batch| async move {
                let grouped = batch.iter().any(|p| p.group_id.is_some());
                (self.retry_batch(topic, batch, until).await, grouped)
            })
            .buffer_unordered(self.config.write_concurrency)
            .collect()
            .await;
        Ok(Retried {
            sent: results.iter().filter(|r| r.0 == Some(true)).count(),
            pending: results.iter().filter(|r| r.0 == Some(false)).count(),
            grouped: results.iter().filter(|r| **r == (Some(true), true)).count(),
        })
    }

    /// Claims every transition of one pending message, then publishes it once. The first (by
    /// key) is claimed alone, so two runs never split a group between them; if another run
    /// holds any of them, the claims are given back and the message is left to that run.
    /// Answers `None` when left, else whether it was published.
    async fn retry_batch(
        &self,
        topic: &str,
        mut batch: Vec<PendingNotification>,
        until: i64,
    ) -> Option<bool> {
        batch.sort_by(|a, b| (&a.peer_id, &a.observed_at).cmp(&(&b.peer_id, &b.observed_at)));
        let key = |p: &PendingNotification| OutboxKey {
            peer_id: p.peer_id.clone(),
            observed_at: p.observed_at.clone(),
        };
        let (first, rest) = batch.split_first()?;
        match self.store.claim(first, until).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::warn!(peer = %first.peer_id, error = %error_chain(&e), "claiming a pending notification failed");
                return Some(false);
            }
        }
        let claims: Vec<(OutboxKey, Result<bool, StoreError>)> = futures::stream::iter(rest)
            .map(|p| async move { (key(p), self.store.claim(p, until).await) })
            .buffer_unordered(self.config.write_concurrency)
            .collect()
            .await;
        let mut claimed = vec![key(first)];
        let mut failed = false;
        for (k, claim) in claims {
            match claim {
                Ok(true) => claimed.push(k),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(peer = %k.peer_id, error = %error_chain(&e), "claiming a pending notification failed");
                    failed = true;
                }
            }
        }
        if claimed.len() < batch.len() {
            self.release_all(&claimed).await;
            // A failed claim leaves it pending for the next run; one another run holds is its.
            return failed.then_some(false);
        }
        Some(self.deliver(topic, &claimed, &first.notification).await)
    }
}

/// One change to record: a peer's, or an endpoint's, route server's, route's or
/// advertisement's. Both go through the same transaction, outbox and delivery.
enum Change {
    Peer(Transition),
    Fabric(FabricTransition),
}

impl Change {
    fn notification(&self) -> NotificationState {
        match self {
            Change::Peer(t) => t.notification,
            Change::Fabric(t) => t.notification,
        }
    }

    fn set_notification(&mut self, state: NotificationState) {
        match self {
            Change::Peer(t) => t.notification = state,
            Change::Fabric(t) => t.notification = state,
        }
    }

    fn render(&self) -> Notification {
        match self {
            Change::Peer(t) => render::render(t),
            Change::Fabric(t) => render::render_fabric(t),
        }
    }

    /// The `RouteServerPeerId` key value of its items.
    fn key(&self) -> String {
        match self {
            Change::Peer(t) => t.peer_id().to_string(),
            Change::Fabric(t) => t.key(),
        }
    }

    fn observed_at(&self) -> Timestamp {
        match self {
            Change::Peer(t) => t.observed_at,
            Change::Fabric(t) => t.observed_at,
        }
    }

    fn version(&self) -> u64 {
        match self {
            Change::Peer(t) => t.version(),
            Change::Fabric(t) => t.version(),
        }
    }
}

/// One transition's place in the outbox (`PeerTransitions` key).
#[derive(Debug, Clone)]
pub(crate) struct OutboxKey {
    pub peer_id: String,
    pub observed_at: String,
}

/// One grouped message of this run (storm control) and the `GroupId` its members carry.
pub(crate) struct Group {
    pub id: String,
    pub notification: Notification,
}

impl Group {
    pub(crate) fn new(members: &[&Transition], threshold: u32) -> Group {
        let first = members[0];
        let route_server_id = &first.record.peer.route_server_id;
        let kind = GroupKind::of(first).unwrap_or(GroupKind::Alerts);
        Group {
            id: group_id(route_server_id, kind, first.observed_at),
            notification: render::render_group(route_server_id, members, threshold),
        }
    }

    fn routing(members: &[&FabricTransition], threshold: u32) -> Group {
        let first = members[0];
        let route_server_id = first.record.subject.route_server_id();
        let kind = GroupKind::of_kind(first.kind, first.severity).unwrap_or(GroupKind::Alerts);
        Group {
            id: routing_group_id(route_server_id, kind, first.observed_at),
            notification: render::render_fabric_group(route_server_id, members, threshold),
        }
    }
}

/// What retrying the outbox did, counted in messages (a grouped message is one).
#[derive(Debug, Default)]
struct Retried {
    sent: usize,
    pending: usize,
    grouped: usize,
}

enum Recorded {
    Written {
        delivered: Option<bool>,
    },
    /// Recorded as a member of the group `group`; published after the writes, once.
    Grouped {
        group: usize,
        key: OutboxKey,
    },
    LostRace,
    Deferred,
    Failed(StoreError),
}

/// The present peers in scope after this cycle's transitions, as the metrics see them.
fn observed_peers(
    known: &HashMap<String, PeerRecord>,
    transitions: &[Transition],
    rules: &Rules,
) -> Vec<PeerHealth> {
    let updated: HashMap<&str, &PeerRecord> = transitions
        .iter()
        .map(|tr| (tr.peer_id(), &tr.record))
        .collect();
    known
        .values()
        .filter(|r| {
            rules.in_scope(&r.peer.route_server_id)
                && !updated.contains_key(r.peer.route_server_peer_id.as_str())
        })
        .chain(updated.values().copied())
        .filter_map(PeerHealth::of)
        .collect()
}
