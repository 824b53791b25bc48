//! One poll cycle, the same for the Lambda and `peerwatch poll`: retry the outbox, list
//! peers, load the last known states, detect, record each transition in one conditional
//! transaction, publish what needs publishing, mark it sent.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::config::Config;
use crate::detect::{Rules, detect};
use crate::listing::{ListError, list_peers};
use crate::model::{FieldChange, NotificationState, Timestamp, Transition};
use crate::notify::{self, Notification};
use crate::store::{PendingNotification, Store, StoreError, WriteOutcome};

/// Transactions in flight at once: enough to keep a storm short, few enough not to be throttled.
pub const WRITE_CONCURRENCY: usize = 16;
/// No new write starts with less than this left before the deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);
/// How long a run holds a notification it is publishing when it has no deadline of its own.
const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// Where a cycle's `ObservedAt` comes from: the system clock, or (in tests that script a
/// history over hours) a clock of their own.
pub type Clock = std::sync::Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The clients and settings a cycle runs with; built once at start.
pub struct Poller {
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub store: Store,
    pub config: Config,
    clock: Clock,
}

impl Poller {
    /// Clients from one SDK configuration: endpoints come from its standard settings
    /// (`AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_DYNAMODB`, ...), nothing else.
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        Self::from_clients(
            aws_sdk_ec2::Client::new(sdk),
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_sns::Client::new(sdk),
            config,
        )
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
        }
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
    pub route_server_ids: Option<Vec<String>>,
    /// Stop starting new work before this (the Lambda's deadline).
    pub deadline: Option<Instant>,
}

/// What a run did; the Lambda's response and `peerwatch poll`'s output.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub peers_seen: usize,
    pub transitions_detected: usize,
    pub transitions_recorded: usize,
    /// Changes another overlapping run recorded first.
    pub transitions_lost_race: usize,
    /// Changes left for the next run because the deadline was near.
    pub transitions_deferred: usize,
    pub notifications_sent: usize,
    /// Notifications from earlier runs delivered by this one.
    pub notifications_retried: usize,
    /// Notifications that could not be published; they stay pending for the next run.
    pub notifications_pending: usize,
    pub dry_run: bool,
    pub duration_ms: u64,
    /// In a dry run, what would have been recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detected: Vec<Detected>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Detected {
    pub route_server_peer_id: String,
    pub kind: String,
    pub event: String,
    pub severity: String,
    pub notify: bool,
    pub changes: Vec<FieldChange>,
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
    #[error("run scope {asked:?} is outside the configured ROUTE_SERVER_IDS {configured:?}")]
    Scope {
        asked: Vec<String>,
        configured: Vec<String>,
    },
}

impl Poller {
    pub async fn run(&self, opts: RunOptions) -> Result<Summary, CycleError> {
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
            let (sent, pending) = self.retry_outbox(lease).await?;
            summary.notifications_retried = sent;
            summary.notifications_pending += pending;
        }

        let listed = list_peers(&self.ec2, rules.route_server_ids.as_deref()).await?;
        let observed_at = (self.clock)();
        let (known, mutes) = self
            .store
            .load_states_and_mutes()
            .await
            .map_err(CycleError::LoadStates)?;
        // Stored mutes (`peerwatch mute`); `Rules::muted` checks each one's end at `observed_at`.
        let mut rules = rules;
        rules.mutes = mutes.into_iter().map(|m| m.mute).collect();
        let transitions = detect(&known, &listed, observed_at, &rules);
        summary.peers_seen = listed.len();
        summary.transitions_detected = transitions.len();

        if opts.dry_run {
            summary.detected = transitions.iter().map(detected).collect();
        } else {
            self.record(transitions, &opts, lease, &mut summary).await?;
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        tracing::info!(summary = ?summary, "poll cycle done");
        Ok(summary)
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
        opts: &RunOptions,
        lease: Duration,
        summary: &mut Summary,
    ) -> Result<(), CycleError> {
        let total = transitions.len();
        let results: Vec<Recorded> = futures::stream::iter(transitions)
            .map(|tr| self.record_one(tr, opts.deadline, lease))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        let mut first_error = None;
        let mut failed = 0;
        for r in results {
            match r {
                Recorded::Written { delivered } => {
                    summary.transitions_recorded += 1;
                    match delivered {
                        Some(true) => summary.notifications_sent += 1,
                        Some(false) => summary.notifications_pending += 1,
                        None => {}
                    }
                }
                Recorded::LostRace => summary.transitions_lost_race += 1,
                Recorded::Deferred => summary.transitions_deferred += 1,
                Recorded::Failed(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
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

    async fn record_one(
        &self,
        tr: Transition,
        deadline: Option<Instant>,
        lease: Duration,
    ) -> Recorded {
        if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < DEADLINE_MARGIN) {
            return Recorded::Deferred;
        }
        let topic = self.config.alert_topic_arn.as_deref();
        let notification = match (topic, tr.notification) {
            (Some(_), NotificationState::Pending) => Some(notify::render(&tr)),
            _ => None,
        };
        // Without a topic nothing can be sent, so nothing is owed: record, don't queue.
        let mut tr = tr;
        if notification.is_none() && tr.notification == NotificationState::Pending {
            tr.notification = NotificationState::NotRequired;
        }
        let claimed_until = Timestamp::now().as_millis() + lease.as_millis() as i64;
        let outbox = notification.as_ref().map(|n| (n, claimed_until));
        match self.store.write_transition(&tr, outbox).await {
            Ok(WriteOutcome::LostRace) => {
                tracing::info!(
                    peer = tr.peer_id(),
                    version = tr.version(),
                    "another run recorded this change first"
                );
                Recorded::LostRace
            }
            Err(e) => {
                tracing::error!(peer = tr.peer_id(), error = %error_chain(&e), "recording a transition failed");
                Recorded::Failed(e)
            }
            Ok(WriteOutcome::Written) => {
                let delivered = match (topic, &notification) {
                    (Some(topic), Some(n)) => {
                        let observed_at = tr.observed_at.to_string();
                        Some(self.deliver(topic, tr.peer_id(), &observed_at, n).await)
                    }
                    _ => None,
                };
                Recorded::Written { delivered }
            }
        }
    }

    /// Publishes, then marks sent; on failure gives the claim back so the next run retries.
    async fn deliver(
        &self,
        topic: &str,
        peer_id: &str,
        observed_at: &str,
        n: &Notification,
    ) -> bool {
        match notify::publish(&self.sns, topic, n).await {
            Ok(message_id) => {
                if let Err(e) = self
                    .store
                    .mark_sent(peer_id, observed_at, &message_id)
                    .await
                {
                    // Delivered but still marked pending: the next run may send it again (at least once).
                    tracing::error!(peer = peer_id, error = %error_chain(&e), "published, but marking it sent failed");
                }
                true
            }
            Err(e) => {
                tracing::error!(peer = peer_id, error = %error_chain(&e), "publishing a notification failed; it stays pending");
                if let Err(e) = self.store.release(peer_id, observed_at).await {
                    tracing::warn!(peer = peer_id, error = %error_chain(&e), "releasing the claim failed; it expires by itself");
                }
                false
            }
        }
    }

    /// Delivers what earlier runs left pending; answers (delivered, still pending).
    async fn retry_outbox(&self, lease: Duration) -> Result<(usize, usize), CycleError> {
        let Some(topic) = self.config.alert_topic_arn.as_deref() else {
            return Ok((0, 0));
        };
        let pending = self
            .store
            .pending_notifications()
            .await
            .map_err(CycleError::Outbox)?;
        let now = Timestamp::now().as_millis();
        let due: Vec<PendingNotification> = pending
            .into_iter()
            .filter(|p| p.claimed_until_ms <= now)
            .collect();
        let until = now + lease.as_millis() as i64;
        let results: Vec<Option<bool>> = futures::stream::iter(due)
            .map(|p| async move {
                match self.store.claim(&p, until).await {
                    Ok(true) => Some(self.deliver(topic, &p.peer_id, &p.observed_at, &p.notification).await),
                    Ok(false) => None,
                    Err(e) => {
                        tracing::warn!(peer = %p.peer_id, error = %error_chain(&e), "claiming a pending notification failed");
                        Some(false)
                    }
                }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        let sent = results.iter().filter(|r| **r == Some(true)).count();
        let failed = results.iter().filter(|r| **r == Some(false)).count();
        Ok((sent, failed))
    }
}

enum Recorded {
    Written { delivered: Option<bool> },
    LostRace,
    Deferred,
    Failed(StoreError),
}

fn detected(tr: &Transition) -> Detected {
    Detected {
        route_server_peer_id: tr.peer_id().to_string(),
        kind: tr.kind.to_string(),
        event: tr.event.to_string(),
        severity: tr.severity.to_string(),
        notify: tr.notification == NotificationState::Pending,
        changes: tr.changes.clone(),
    }
}

/// An error and its causes on one line, for logs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
