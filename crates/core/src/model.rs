//! What peerwatch knows of a peer and of its changes. Plain data, no AWS types: the
//! listing, the store and the notifier all convert to and from these.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A peer as `DescribeRouteServerPeers` showed it. Enum-like fields are kept as the raw
/// strings EC2 sent, so a value from a newer API is recorded as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerSnapshot {
    pub route_server_peer_id: String,
    pub route_server_id: String,
    pub route_server_endpoint_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub peer_address: String,
    pub peer_asn: Option<i64>,
    pub peer_liveness_detection: String,
    pub endpoint_eni_id: String,
    pub endpoint_eni_address: String,
    pub state: String,
    pub failure_reason: Option<String>,
    pub bgp_status: Option<String>,
    pub bfd_status: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// The last known state of one peer: the `PeerState` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerRecord {
    #[serde(flatten)]
    pub peer: PeerSnapshot,
    pub first_seen_at: Timestamp,
    pub last_changed_at: Timestamp,
    pub present: bool,
    pub version: u64,
    pub health: Health,
    /// When the BGP and BFD statuses took their present values, which tells a log record
    /// already reflected here from a change the logs saw and the state does not show yet.
    #[serde(default)]
    pub sessions_changed_at: SessionsChangedAt,
    /// The alert (critical or warning) that was notified and has not been followed by its
    /// recovery yet; a recovery is sent only when one is open.
    pub open_alert: Option<Severity>,
    /// What flap detection, reminders and mutes remember between cycles.
    #[serde(flatten)]
    pub alerting: AlertState,
}

/// When each session status took its present value (`BgpStatusChangedAt`/`...After`,
/// `BfdStatusChangedAt`/`...After`); `None` in a record written before peerwatch kept them,
/// which counts as any time up to the record's `LastChangedAt`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsChangedAt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<ChangeWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<ChangeWindow>,
    /// The last few values these statuses held before, with their windows, newest last
    /// (`PastSessionWindows`, at most [`PAST_WINDOWS`]): a record delivered after newer changes
    /// may be of one of them, already recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past: Vec<PastWindow>,
}

/// How many earlier values [`SessionsChangedAt`] keeps. Each is ~70 bytes of `PeerState`
/// (read by every cycle's `Scan`), and only a peer that changed has any.
pub const PAST_WINDOWS: usize = 4;

/// A value a session status held before its present one, and when it took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PastWindow {
    pub field: Field,
    pub value: String,
    pub window: ChangeWindow,
}

/// When a value was taken: after `after` (exclusive; `None`: any time before) and at or
/// before `at`. A log record gives the exact millisecond; a poll only bounds it, between the
/// field's previous change and the describe call that showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeWindow {
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Timestamp>,
}

impl ChangeWindow {
    /// Exactly at `at` (a log record's time).
    pub fn exact(at: Timestamp) -> Self {
        ChangeWindow {
            at,
            after: Some(at.plus_millis(-1)),
        }
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        t <= self.at && self.after.is_none_or(|a| t > a)
    }
}

impl SessionsChangedAt {
    /// Both statuses as first seen at `at`: taken at any time before.
    pub fn all(at: Timestamp) -> Self {
        let w = ChangeWindow { at, after: None };
        SessionsChangedAt {
            bgp: Some(w),
            bfd: Some(w),
            past: Vec::new(),
        }
    }

    pub fn get(&self, field: Field) -> Option<ChangeWindow> {
        match field {
            Field::BgpStatus => self.bgp,
            Field::BfdStatus => self.bfd,
            _ => None,
        }
    }

    pub fn set(&mut self, field: Field, w: ChangeWindow) {
        match field {
            Field::BgpStatus => self.bgp = Some(w),
            Field::BfdStatus => self.bfd = Some(w),
            _ => {}
        }
    }

    /// `field` takes a new value in `w`; the value it had (`old`, if any) and its window are
    /// kept among the past ones.
    pub fn replace(&mut self, field: Field, old: Option<&str>, w: ChangeWindow) {
        if let (Some(value), Some(window)) = (old, self.get(field)) {
            self.past.push(PastWindow {
                field,
                value: value.to_string(),
                window,
            });
            let extra = self.past.len().saturating_sub(PAST_WINDOWS);
            self.past.drain(..extra);
        }
        self.set(field, w);
    }

    /// Whether `field` held `value` in a past window that holds `t`.
    pub fn held(&self, field: Field, value: &str, t: Timestamp) -> bool {
        self.past
            .iter()
            .any(|p| p.field == field && p.value == value && p.window.contains(t))
    }
}

/// Per-peer memory of the alert rules (docs/operating.md, "Alert rules"), kept in `PeerState`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// When the health changed, within the flap window, oldest first (`HealthChanges`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_changes: Vec<Timestamp>,
    /// Set while the peer is flapping: its alerts are suppressed until it settles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping_since: Option<Timestamp>,
    /// When the open alert was sent: reminders count from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerted_at: Option<Timestamp>,
    /// Reminders sent for the open alert.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reminders_sent: u32,
    /// An alert a mute held back; sent once when the mute ends if the peer is still unwell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_alert: Option<Severity>,
    /// Someone is on the open alert (`peerwatch ack`): no reminders until it ends, and a new
    /// alert (after a recovery, or an escalation) is not acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked: Option<Ack>,
}

/// Who acknowledged an open alert, when, and why (`AckedBy`, `AckedAt`, `AckReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: Timestamp,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A UTC instant, written as RFC 3339 with milliseconds and `Z` (`2026-11-25T19:05:00.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(jiff::Timestamp::now()).truncated()
    }

    pub fn from_millis(ms: i64) -> Option<Self> {
        jiff::Timestamp::from_millisecond(ms).ok().map(Timestamp)
    }

    pub fn as_millis(&self) -> i64 {
        self.0.as_millisecond()
    }

    pub fn as_secs(&self) -> i64 {
        self.0.as_second()
    }

    /// Keeps only what the text form shows, so a timestamp survives a round trip unchanged.
    fn truncated(self) -> Self {
        Timestamp::from_millis(self.as_millis()).unwrap_or(self)
    }

    /// `YYYY-MM-DD` in UTC: the `ByDay` index's partition.
    pub fn day(&self) -> String {
        self.0.strftime("%Y-%m-%d").to_string()
    }

    /// Whole seconds from `earlier` to `self` (never negative).
    pub fn seconds_since(&self, earlier: Timestamp) -> i64 {
        ((self.as_millis() - earlier.as_millis()) / 1000).max(0)
    }

    pub fn plus_millis(&self, ms: i64) -> Timestamp {
        Timestamp::from_millis(self.as_millis() + ms).unwrap_or(*self)
    }

    pub fn plus_seconds(&self, secs: i64) -> Timestamp {
        Timestamp::from_millis(self.as_millis() + secs * 1000).unwrap_or(*self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = jiff::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<jiff::Timestamp>()
            .map(|t| Timestamp(t).truncated())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// One health per peer, derived from its fields (docs/design.md, "Health and severity").
    Health {
        Healthy => "healthy",
        Degraded => "degraded",
        Down => "down",
        Transitional => "transitional",
    }
);

string_enum!(
    /// How much a transition matters; decides whether it is notified.
    Severity {
        Critical => "critical",
        Warning => "warning",
        Recovery => "recovery",
        Info => "info",
    }
);

string_enum!(
    /// What kind of change a transition records.
    TransitionKind {
        Discovered => "discovered",
        Changed => "changed",
        Vanished => "vanished",
        // No field changed; the alert rules had something to say.
        Reminder => "reminder",
        Settled => "settled",
        Unmuted => "unmuted",
        // An operator acknowledged the open alert (crate::ack).
        Acknowledged => "acknowledged",
    }
);

string_enum!(
    /// The most telling name for a transition, as notifications carry it.
    Event {
        PeerFailed => "peer.failed",
        PeerFailing => "peer.failing",
        PeerRecovered => "peer.recovered",
        PeerVanished => "peer.vanished",
        PeerDiscovered => "peer.discovered",
        BgpDown => "bgp.down",
        BgpUp => "bgp.up",
        BfdDown => "bfd.down",
        BfdUp => "bfd.up",
        PeerChanged => "peer.changed",
        PeerFlapping => "peer.flapping",
        PeerSettled => "peer.settled",
        PeerReminder => "peer.reminder",
        RouteServerStorm => "route-server.storm",
        // Beyond sessions (crate::fabric).
        EndpointFailed => "endpoint.failed",
        EndpointFailing => "endpoint.failing",
        EndpointDeleteFailed => "endpoint.delete-failed",
        EndpointRecovered => "endpoint.recovered",
        EndpointDiscovered => "endpoint.discovered",
        EndpointChanged => "endpoint.changed",
        EndpointVanished => "endpoint.vanished",
        EndpointFlapping => "endpoint.flapping",
        RoutesPersisted => "routes.persisted",
        RoutesUnpersisted => "routes.unpersisted",
        RouteServerDiscovered => "route-server.discovered",
        RouteServerChanged => "route-server.changed",
        RouteServerVanished => "route-server.vanished",
        RouteServerFlapping => "route-server.flapping",
        RouteFailover => "route.failover",
        RouteLost => "route.lost",
        RouteRestored => "route.restored",
        RouteRejected => "route.rejected",
        RouteInstalled => "route.installed",
        RouteDiscovered => "route.discovered",
        RouteChanged => "route.changed",
        RouteVanished => "route.vanished",
        RouteFlapping => "route.flapping",
        PeerNoRoutes => "peer.no-routes",
        PeerRoutesRestored => "peer.routes-restored",
        PeerRoutesDiscovered => "peer.routes-discovered",
        PeerRoutesChanged => "peer.routes-changed",
        PeerRoutesVanished => "peer.routes-vanished",
        PeerRoutesFlapping => "peer.routes-flapping",
        // Between polls (crate::peer_logs): what a peer's route records said, never alerted.
        PeerRoutesLogged => "peer.routes-logged",
        // Any subject's open alert, acknowledged by an operator (crate::ack).
        AlertAcknowledged => "alert.acknowledged",
    }
);

string_enum!(
    /// Which path saw a change first: the poll's listing, or the route server's peer logs; or
    /// an operator, for what is no change of the subject (an acknowledgement).
    Source {
        Poll => "poll",
        Log => "log",
        // `peerwatch ack`: an operator's word, not something EC2 showed.
        Operator => "operator",
    }
);

string_enum!(
    /// Where a transition's notification stands (the outbox).
    NotificationState {
        Pending => "pending",
        Sent => "sent",
        NotRequired => "not-required",
        Suppressed => "suppressed",
    }
);

string_enum!(
    /// The fields whose changes are recorded: a peer's three, then those of endpoints, route
    /// servers, routes and advertisements (crate::fabric).
    Field {
        State => "State",
        BgpStatus => "BgpStatus",
        BfdStatus => "BfdStatus",
        FailureReason => "FailureReason",
        PersistRoutesState => "PersistRoutesState",
        AreRoutesPersisted => "AreRoutesPersisted",
        RouteServerPeerId => "RouteServerPeerId",
        NextHopIp => "NextHopIp",
        AsPaths => "AsPaths",
        Med => "Med",
        RouteTables => "RouteTables",
        AdvertisedRoutes => "AdvertisedRoutes",
    }
);

impl Severity {
    /// Rank for `NOTIFY_MIN_SEVERITY`: info < warning < critical. A recovery has no rank of
    /// its own: it is sent when the alert it follows was sent.
    pub fn rank(&self) -> u8 {
        match self {
            Severity::Info | Severity::Recovery => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }
}

/// One field's change within a transition; `from` is `None` for a discovered peer, and
/// either side is `None` when EC2 did not report the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: Field,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One recorded change of one peer: the `PeerTransitions` item, plus the new `PeerState`
/// it writes in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub kind: TransitionKind,
    /// When the poll's describe call returned, or a log record's own `event_timestamp`.
    pub observed_at: Timestamp,
    pub source: Source,
    pub changes: Vec<FieldChange>,
    pub health_from: Option<Health>,
    pub health_to: Health,
    pub severity: Severity,
    pub event: Event,
    pub notification: NotificationState,
    pub previous_observed_at: Option<Timestamp>,
    pub previous_duration_seconds: Option<i64>,
    /// The `Version` the stored `PeerState` must still have (`None`: it must not exist).
    pub expected_version: Option<u64>,
    /// The `PeerState` after this transition; its `version` is this transition's `Version`.
    pub record: PeerRecord,
}

impl Transition {
    pub fn peer_id(&self) -> &str {
        &self.record.peer.route_server_peer_id
    }

    pub fn version(&self) -> u64 {
        self.record.version
    }

    pub fn change(&self, field: Field) -> Option<&FieldChange> {
        self.changes.iter().find(|c| c.field == field)
    }
}
