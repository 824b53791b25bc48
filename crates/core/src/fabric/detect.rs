//! Detection beyond sessions: (last known records, what this cycle saw) -> transitions of
//! endpoints, route servers, routes and advertisements, through the same alert rules as
//! peers' (flapping, mutes, reminders, recoveries that follow their alert).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{
    Detail, EndpointSnapshot, Fabric, FabricRecord, FabricTransition, PeerRoutesSnapshot,
    RouteServerSnapshot, RouteSnapshot, Subject, peer_routes_key,
};
use crate::detect::{Books, Prior, Proposed, Rules, apply_rules, owed};
use crate::model::{Event, Field, FieldChange, Health, Severity, Timestamp, TransitionKind};
use crate::mute::{MUTE_TAG, MuteTarget};

/// The health of a subject, by the table in this module's parent.
pub fn health(subject: &Subject) -> Health {
    match subject {
        Subject::Endpoint(e) => match e.state.as_str() {
            "failed" => Health::Down,
            "failing" | "delete-failed" => Health::Degraded,
            "available" => Health::Healthy,
            _ => Health::Transitional,
        },
        Subject::RouteServer(r) if r.are_routes_persisted => Health::Down,
        Subject::RouteServer(r) => match r.state.as_str() {
            "available" => Health::Healthy,
            _ => Health::Transitional,
        },
        Subject::Route(r) => match &r.fib {
            None => Health::Down,
            Some(f) if f.rejected().next().is_some() => Health::Degraded,
            Some(_) => Health::Healthy,
        },
        Subject::PeerRoutes(p) if p.advertised == 0 => Health::Degraded,
        Subject::PeerRoutes(_) => Health::Healthy,
    }
}

/// Every transition this cycle's `fabric` makes of the `known` records: changed, discovered
/// and vanished subjects, and what the alert rules owe the unchanged ones. Subjects of route
/// servers out of scope are left alone.
pub fn detect(
    known: &HashMap<String, FabricRecord>,
    fabric: &Fabric,
    observed_at: Timestamp,
    rules: &Rules,
) -> Vec<FabricTransition> {
    let unread: HashSet<&str> = fabric.unread.iter().map(String::as_str).collect();
    let listed_servers: HashSet<&str> = fabric
        .route_servers
        .iter()
        .map(|r| r.route_server_id.as_str())
        .collect();
    let now: Vec<Subject> = fabric
        .route_servers
        .iter()
        .cloned()
        .map(Subject::RouteServer)
        .chain(fabric.endpoints.iter().cloned().map(Subject::Endpoint))
        .chain(fabric.routes.iter().cloned().map(Subject::Route))
        .filter(|s| rules.in_scope(s.route_server_id()))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for mut subject in now {
        let key = subject.key();
        if let Subject::RouteServer(rs) = &mut subject {
            let was = match known.get(&key) {
                Some(FabricRecord {
                    subject: Subject::RouteServer(was),
                    ..
                }) => Some(was),
                _ => None,
            };
            // Whether routes are persisted is read from the routing database: unread, it is
            // as last known, and so is what each peer advertises.
            match was {
                Some(was) if unread.contains(rs.route_server_id.as_str()) => {
                    rs.are_routes_persisted = was.are_routes_persisted;
                    rs.advertised = was.advertised.clone();
                }
                _ => rs.advertised = advertised(was, fabric, &rs.route_server_id),
            }
        }
        let tracked = known.get(&key).filter(|r| r.present);
        let t = match tracked {
            Some(prev) if prev.subject == subject => follow_up(prev, observed_at, rules),
            Some(prev) => Some(changed(prev, subject, observed_at, rules)),
            None => Some(discovered(known.get(&key), subject, observed_at, rules)),
        };
        seen.insert(key);
        out.extend(t);
    }
    // A peer's advertisement gets a record of its own only once it goes silent with its
    // session up: the counts live on the route server's item, so a fleet of advertising peers
    // adds no item per peer to the cycle's `Scan`.
    for p in &fabric.advertising {
        if !rules.in_scope(&p.route_server_id) {
            continue;
        }
        let key = peer_routes_key(&p.route_server_peer_id);
        let subject = Subject::PeerRoutes(p.clone());
        // Silent in two cycles in a row with its session up: one reading is not enough,
        // since the listing and the routing database are two reads (a session changing
        // between them looks silent), and a session just up may not have advertised yet. The
        // first one leaves a 0 on the route server's item; the second alerts, and a failed
        // write of the peer's record is retried by the next cycle.
        let confirmed = p.advertised == 0
            && known
                .get(&p.route_server_id)
                .and_then(|r| match &r.subject {
                    Subject::RouteServer(rs) => rs.advertised.get(&p.route_server_peer_id),
                    _ => None,
                })
                == Some(&0);
        let t = match known.get(&key).filter(|r| r.present) {
            Some(prev) if prev.health == Health::Degraded && p.advertised > 0 => {
                Some(changed(prev, subject, observed_at, rules))
            }
            Some(prev) if prev.health == Health::Healthy && confirmed => {
                Some(changed(prev, subject, observed_at, rules))
            }
            Some(prev) => follow_up(prev, observed_at, rules),
            None if confirmed => Some(silent(known.get(&key), subject, observed_at, rules)),
            None => None,
        };
        seen.insert(key);
        out.extend(t);
    }
    // What was known and is not here now. A route stays known while its route server is
    // listed: its prefix no longer in the database is lost, not gone. Advertisements are
    // only looked at while their peer's session is up, so only a route server gone takes
    // them (or the peer leaving the listing, which `fabric.quiet` tells apart).
    let mut gone: Vec<&FabricRecord> = known
        .values()
        .filter(|r| {
            let rs = r.subject.route_server_id();
            r.present && rules.in_scope(rs) && !seen.contains(&r.subject.key())
        })
        .collect();
    gone.sort_by_key(|r| r.subject.key());
    for prev in gone {
        let rs = prev.subject.route_server_id();
        let server_listed = listed_servers.contains(rs);
        match &prev.subject {
            Subject::Route(r) if server_listed => {
                if unread.contains(rs) || r.fib.is_none() {
                    // Unknown this cycle, or already recorded lost: nothing new.
                    out.extend(follow_up(prev, observed_at, rules));
                } else {
                    let lost = Subject::Route(RouteSnapshot {
                        fib: None,
                        ..r.clone()
                    });
                    out.push(changed(prev, lost, observed_at, rules));
                }
            }
            Subject::PeerRoutes(p)
                if server_listed
                    && (unread.contains(rs) || fabric.quiet.contains(&p.route_server_peer_id)) =>
            {
                out.extend(follow_up(prev, observed_at, rules));
            }
            _ => out.push(vanish(prev, observed_at, rules)),
        }
    }
    with_persisted_routes(&mut out, fabric);
    out
}

fn changes(prev: Option<&Subject>, now: &Subject) -> Vec<FieldChange> {
    let values = |s: &Subject| -> Vec<(Field, Option<String>)> {
        match s {
            Subject::Endpoint(e) => vec![
                (Field::State, Some(e.state.clone())),
                (Field::FailureReason, e.failure_reason.clone()),
            ],
            Subject::RouteServer(r) => vec![
                (Field::State, Some(r.state.clone())),
                (Field::PersistRoutesState, r.persist_routes_state.clone()),
                (
                    Field::AreRoutesPersisted,
                    Some(r.are_routes_persisted.to_string()),
                ),
            ],
            Subject::Route(r) => vec![
                (
                    Field::RouteServerPeerId,
                    r.fib.as_ref().map(|f| f.route_server_peer_id.clone()),
                ),
                (
                    Field::NextHopIp,
                    r.fib.as_ref().map(|f| f.next_hop_ip.clone()),
                ),
                (Field::AsPaths, r.fib.as_ref().map(|f| f.as_paths.join(" "))),
                (
                    Field::Med,
                    r.fib.as_ref().and_then(|f| f.med).map(|m| m.to_string()),
                ),
                (
                    Field::RouteTables,
                    r.fib.as_ref().map(|f| {
                        f.route_tables
                            .iter()
                            .map(|t| format!("{}:{}", t.route_table_id, t.status))
                            .collect::<Vec<_>>()
                            .join(",")
                    }),
                ),
            ],
            Subject::PeerRoutes(p) => {
                vec![(Field::AdvertisedRoutes, Some(p.advertised.to_string()))]
            }
        }
    };
    let before = prev.map(values);
    let mut out: Vec<FieldChange> = values(now)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (field, to))| {
            let from = before.as_ref().and_then(|b| b[i].1.clone());
            let discovered = before.is_none();
            (discovered && to.is_some() || !discovered && from != to).then_some(FieldChange {
                field,
                from,
                to,
            })
        })
        .collect();
    if let Subject::RouteServer(r) = now {
        let was = match prev {
            Some(Subject::RouteServer(p)) => Some(&p.advertised),
            _ => None,
        };
        out.extend(advertised_change(was, &r.advertised));
    }
    out
}

/// The peers whose advertised count changed, as `rsp-a: 2, rsp-b: 0` on each side (0: it
/// advertises nothing, or is no longer listed); `None` when none did.
fn advertised_change(
    was: Option<&BTreeMap<String, u32>>,
    now: &BTreeMap<String, u32>,
) -> Option<FieldChange> {
    let empty = BTreeMap::new();
    let was = was.unwrap_or(&empty);
    let peers = changed_peers(was, now);
    if peers.is_empty() {
        return None;
    }
    let side = |m: &BTreeMap<String, u32>| {
        peers
            .iter()
            .map(|p| format!("{p}: {}", m.get(p).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(FieldChange {
        field: Field::AdvertisedRoutes,
        from: (!was.is_empty()).then(|| side(was)),
        to: Some(side(now)),
    })
}

/// The peers whose count differs between `was` and `now`, sorted.
fn changed_peers(was: &BTreeMap<String, u32>, now: &BTreeMap<String, u32>) -> Vec<String> {
    let mut peers: Vec<String> = was
        .keys()
        .chain(now.keys())
        .filter(|p| was.get(*p) != now.get(*p))
        .cloned()
        .collect();
    peers.sort();
    peers.dedup();
    peers
}

/// The event and severity of a change, and whether it counts for flap detection (a route
/// failing over keeps its health but moves).
fn judge(prev: &FabricRecord, now: &Subject, health_to: Health) -> (Event, Severity, bool) {
    let recovered = |event| {
        let severity = if prev.open_alert.is_some() {
            Severity::Recovery
        } else {
            Severity::Info
        };
        (event, severity, false)
    };
    match (&prev.subject, now) {
        (before, Subject::Endpoint(e)) => match health_to {
            // A new trouble state alerts even within the same health (failing, then
            // delete-failed).
            Health::Down | Health::Degraded
                if health_to != prev.health
                    || matches!(before, Subject::Endpoint(b) if b.state != e.state) =>
            {
                let (event, severity) = endpoint_trouble(e);
                (event, severity, false)
            }
            Health::Healthy if prev.health != Health::Healthy => {
                recovered(Event::EndpointRecovered)
            }
            _ => (Event::EndpointChanged, Severity::Info, false),
        },
        (_, Subject::RouteServer(r)) => {
            let was = matches!(&prev.subject, Subject::RouteServer(p) if p.are_routes_persisted);
            match (was, r.are_routes_persisted) {
                (false, true) => (Event::RoutesPersisted, Severity::Critical, false),
                (true, false) => recovered(Event::RoutesUnpersisted),
                _ => (Event::RouteServerChanged, Severity::Info, false),
            }
        }
        (Subject::Route(before), Subject::Route(after)) => {
            let moved = match (&before.fib, &after.fib) {
                (Some(a), Some(b)) => a.route_server_peer_id != b.route_server_peer_id,
                _ => false,
            };
            match (prev.health, health_to) {
                (h, Health::Down) if h != Health::Down => {
                    (Event::RouteLost, Severity::Critical, false)
                }
                (Health::Down, Health::Healthy) => recovered(Event::RouteRestored),
                // Back, but a route table rejects it: traffic still does not go there. The
                // rejection's warning takes over the loss's thread.
                (Health::Down, Health::Degraded) => {
                    (Event::RouteRejected, Severity::Warning, false)
                }
                (h, Health::Degraded) if h != Health::Degraded => {
                    (Event::RouteRejected, Severity::Warning, moved)
                }
                // Installed again and moved at once: the recovery closes the rejection's alert;
                // its `from`/`to` tell the move.
                (Health::Degraded, Health::Healthy) => {
                    let (event, severity, _) = recovered(Event::RouteInstalled);
                    (event, severity, moved)
                }
                _ if moved => (Event::RouteFailover, Severity::Warning, true),
                _ => (Event::RouteChanged, Severity::Info, false),
            }
        }
        (_, Subject::PeerRoutes(_)) => match (prev.health, health_to) {
            (Health::Healthy, Health::Degraded) => (Event::PeerNoRoutes, Severity::Warning, false),
            (Health::Degraded, Health::Healthy) => recovered(Event::PeerRoutesRestored),
            _ => (Event::PeerRoutesChanged, Severity::Info, false),
        },
        (_, Subject::Route(_)) => (Event::RouteChanged, Severity::Info, false),
    }
}

fn endpoint_trouble(e: &EndpointSnapshot) -> (Event, Severity) {
    match e.state.as_str() {
        "failed" => (Event::EndpointFailed, Severity::Critical),
        "delete-failed" => (Event::EndpointDeleteFailed, Severity::Warning),
        _ => (Event::EndpointFailing, Severity::Warning),
    }
}

/// The alert a subject that is unwell raises, for a first sight, a mute's end or a reminder.
fn trouble_event(subject: &Subject) -> Event {
    match subject {
        Subject::Endpoint(e) => endpoint_trouble(e).0,
        Subject::RouteServer(_) => Event::RoutesPersisted,
        Subject::Route(r) if r.fib.is_none() => Event::RouteLost,
        Subject::Route(_) => Event::RouteRejected,
        Subject::PeerRoutes(_) => Event::PeerNoRoutes,
    }
}

fn flapping_event(subject: &Subject) -> Event {
    match subject {
        Subject::Endpoint(_) => Event::EndpointFlapping,
        Subject::RouteServer(_) => Event::RouteServerFlapping,
        Subject::Route(_) => Event::RouteFlapping,
        Subject::PeerRoutes(_) => Event::PeerRoutesFlapping,
    }
}

fn changed(
    prev: &FabricRecord,
    now: Subject,
    observed_at: Timestamp,
    rules: &Rules,
) -> FabricTransition {
    let health_to = health(&now);
    let (event, severity, moved) = judge(prev, &now, health_to);
    let detail = detail(Some(&prev.subject), &now, event);
    Build {
        prev: Some(prev),
        kind: TransitionKind::Changed,
        observed_at,
        changes: changes(Some(&prev.subject), &now),
        health_to,
        severity,
        event,
        moved,
        detail,
    }
    .finish(now, true, rules)
}

/// What each peer of a route server advertises, for the peers that advertise something:
/// this cycle's count for the peers whose session is up, the last known one for those listed
/// with their session down (it went with the session, not by a withdrawal); peers no longer
/// listed are dropped.
fn advertised(
    was: Option<&RouteServerSnapshot>,
    fabric: &Fabric,
    route_server_id: &str,
) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = was
        .map(|w| {
            w.advertised
                .iter()
                .filter(|(peer, _)| fabric.quiet.contains(*peer))
                .map(|(p, n)| (p.clone(), *n))
                .collect()
        })
        .unwrap_or_default();
    // Only peers that advertise or did: a fleet without routes keeps an empty map, and a
    // peer's session or listing changing does not touch it.
    for p in fabric
        .advertising
        .iter()
        .filter(|p| p.route_server_id == route_server_id)
    {
        // A peer that advertised and now advertises nothing keeps a 0: its silence is
        // confirmed by the next cycle (see `detect`).
        if p.advertised > 0 || silent_before(was, p) {
            out.insert(p.route_server_peer_id.clone(), p.advertised);
        }
    }
    out
}

fn silent_before(was: Option<&RouteServerSnapshot>, p: &PeerRoutesSnapshot) -> bool {
    was.is_some_and(|w| w.advertised.contains_key(&p.route_server_peer_id))
}

/// A peer that advertised routes advertises none, its session up: `peer.no-routes`.
fn silent(
    gone_before: Option<&FabricRecord>,
    now: Subject,
    observed_at: Timestamp,
    rules: &Rules,
) -> FabricTransition {
    let detail = detail(None, &now, Event::PeerNoRoutes);
    let mut t = Build {
        prev: gone_before,
        kind: TransitionKind::Changed,
        observed_at,
        changes: vec![FieldChange {
            field: Field::AdvertisedRoutes,
            from: None,
            to: Some("0".into()),
        }],
        health_to: Health::Degraded,
        severity: Severity::Warning,
        event: Event::PeerNoRoutes,
        moved: false,
        detail,
    }
    .finish(now, true, rules);
    t.health_from = Some(Health::Healthy);
    t
}

fn discovered(
    prev: Option<&FabricRecord>,
    now: Subject,
    observed_at: Timestamp,
    rules: &Rules,
) -> FabricTransition {
    let health_to = match health(&now) {
        // A prefix first seen without a FIB route was never lost here.
        Health::Down if matches!(now, Subject::Route(_)) => Health::Transitional,
        h => h,
    };
    let (event, severity) = match health_to {
        Health::Down => (trouble_event(&now), Severity::Critical),
        Health::Degraded => (trouble_event(&now), Severity::Warning),
        _ => (
            match &now {
                Subject::Endpoint(_) => Event::EndpointDiscovered,
                Subject::RouteServer(_) => Event::RouteServerDiscovered,
                Subject::Route(_) => Event::RouteDiscovered,
                Subject::PeerRoutes(_) => Event::PeerRoutesDiscovered,
            },
            Severity::Info,
        ),
    };
    let detail = detail(None, &now, event);
    Build {
        prev,
        kind: TransitionKind::Discovered,
        observed_at,
        changes: changes(None, &now),
        health_to,
        severity,
        event,
        moved: false,
        detail,
    }
    .finish(now, true, rules)
}

fn vanish(prev: &FabricRecord, observed_at: Timestamp, rules: &Rules) -> FabricTransition {
    let event = match &prev.subject {
        Subject::Endpoint(_) => Event::EndpointVanished,
        Subject::RouteServer(_) => Event::RouteServerVanished,
        Subject::Route(_) => Event::RouteVanished,
        Subject::PeerRoutes(_) => Event::PeerRoutesVanished,
    };
    // Things go with their route server or peer, whose own records say how: recorded, not
    // alerted.
    Build {
        prev: Some(prev),
        kind: TransitionKind::Vanished,
        observed_at,
        changes: Vec::new(),
        health_to: prev.health,
        severity: Severity::Info,
        event,
        moved: false,
        detail: detail(None, &prev.subject, event),
    }
    .finish(prev.subject.clone(), false, rules)
}

/// What the alert rules owe a subject that did not change.
fn follow_up(
    prev: &FabricRecord,
    observed_at: Timestamp,
    rules: &Rules,
) -> Option<FabricTransition> {
    let muted = muted(rules, &prev.subject, observed_at);
    let owed = owed(&prior(prev), observed_at, muted, rules)?;
    let event = match owed.kind {
        TransitionKind::Settled | TransitionKind::Reminder | TransitionKind::Unmuted => {
            match prev.health {
                Health::Down | Health::Degraded => trouble_event(&prev.subject),
                _ => flapping_event(&prev.subject),
            }
        }
        _ => trouble_event(&prev.subject),
    };
    let mut t = Build {
        prev: Some(prev),
        kind: owed.kind,
        observed_at,
        changes: Vec::new(),
        health_to: prev.health,
        severity: owed.severity,
        event,
        moved: false,
        detail: detail(None, &prev.subject, event),
    }
    .finish(prev.subject.clone(), true, rules);
    if owed.kind == TransitionKind::Settled {
        t.previous_duration_seconds = owed.settled_after;
    }
    Some(t)
}

/// The event JSON's top-level fields for this change.
pub(crate) fn detail(prev: Option<&Subject>, now: &Subject, event: Event) -> Detail {
    let mut d = Detail::default();
    match now {
        Subject::Endpoint(e) => {
            d.route_server_endpoint_id = Some(e.route_server_endpoint_id.clone());
            d.failure_reason = e.failure_reason.clone();
        }
        Subject::RouteServer(r) => {
            let empty = BTreeMap::new();
            let was = match prev {
                Some(Subject::RouteServer(p)) => &p.advertised,
                _ => &empty,
            };
            d.peers = changed_peers(was, &r.advertised);
        }
        Subject::Route(r) => {
            d.prefix = Some(r.prefix.clone());
            let before = match prev {
                Some(Subject::Route(p)) => p.fib.as_ref(),
                _ => None,
            };
            d.from = before.map(|f| f.next_hop());
            d.to = r.fib.as_ref().map(|f| f.next_hop());
            let tables = r.fib.as_ref().or(before);
            d.route_tables = tables
                .map(|f| {
                    f.route_tables
                        .iter()
                        .map(|t| t.route_table_id.clone())
                        .collect()
                })
                .unwrap_or_default();
            d.route_server_endpoint_id = r
                .fib
                .as_ref()
                .or(before)
                .map(|f| f.route_server_endpoint_id.clone())
                .filter(|e| !e.is_empty());
            // The rejection this event is about: the first rejected table not rejected before.
            if let Some(f) = &r.fib {
                let was_rejected =
                    |id: &str| before.is_some_and(|b| b.rejected().any(|t| t.route_table_id == id));
                let rejected = f
                    .rejected()
                    .find(|t| event != Event::RouteRejected || !was_rejected(&t.route_table_id))
                    .or_else(|| f.rejected().next());
                if let Some(t) = rejected {
                    d.route_table_id = Some(t.route_table_id.clone());
                    d.reason = t.reason.clone();
                }
            }
            if event == Event::RouteInstalled && d.route_table_id.is_none() {
                // The table that was rejected and is installed again.
                if let Some(t) = before.and_then(|b| b.rejected().next()) {
                    d.route_table_id = Some(t.route_table_id.clone());
                }
            }
        }
        Subject::PeerRoutes(p) => {
            d.route_server_peer_id = Some(p.route_server_peer_id.clone());
        }
    }
    d
}

/// Whether an endpoint, route server, route or advertisement is muted at `now`: by its own
/// tag, or by a stored mute of its route server (or, for an advertisement, its peer).
pub fn muted(rules: &Rules, subject: &Subject, now: Timestamp) -> bool {
    let tag = subject.tags().and_then(|t| t.get(MUTE_TAG));
    let peer = match subject {
        Subject::PeerRoutes(p) => Some(p.route_server_peer_id.as_str()),
        _ => None,
    };
    rules.muted_by(
        tag,
        |t| match t {
            MuteTarget::Peer(id) => peer.is_some_and(|p| *id == *p),
            MuteTarget::RouteServer(id) => *id == *subject.route_server_id(),
        },
        now,
    )
}

pub(crate) fn prior(r: &FabricRecord) -> Prior<'_> {
    Prior {
        health: r.health,
        open_alert: r.open_alert,
        present: r.present,
        alerting: &r.alerting,
        first_seen_at: r.first_seen_at,
        last_changed_at: r.last_changed_at,
        version: r.version,
    }
}

struct Build<'a> {
    prev: Option<&'a FabricRecord>,
    kind: TransitionKind,
    observed_at: Timestamp,
    changes: Vec<FieldChange>,
    health_to: Health,
    severity: Severity,
    event: Event,
    moved: bool,
    detail: Detail,
}

impl Build<'_> {
    fn finish(self, subject: Subject, present: bool, rules: &Rules) -> FabricTransition {
        let prior = self.prev.map(prior);
        let muted = muted(rules, &subject, self.observed_at);
        let ruled = apply_rules(
            prior.as_ref(),
            Proposed {
                kind: self.kind,
                observed_at: self.observed_at,
                health_to: self.health_to,
                severity: self.severity,
                event: self.event,
                flapping_event: flapping_event(&subject),
                present,
                muted,
                moved: self.moved,
                // A failover onto a healthy route is news, not a state.
                news: self.event == Event::RouteFailover && self.health_to == Health::Healthy,
            },
            rules,
        );
        let books = Books::after(prior.as_ref(), self.kind, self.observed_at);
        let record = FabricRecord {
            subject,
            first_seen_at: books.first_seen_at,
            last_changed_at: books.last_changed_at,
            present,
            version: books.version,
            health: self.health_to,
            open_alert: ruled.open_alert,
            alerting: ruled.alerting,
        };
        FabricTransition {
            kind: self.kind,
            observed_at: self.observed_at,
            changes: self.changes,
            health_from: books.health_from,
            health_to: self.health_to,
            severity: ruled.severity,
            event: ruled.event,
            notification: ruled.notification,
            previous_observed_at: books.previous_observed_at,
            previous_duration_seconds: books.previous_duration_seconds,
            expected_version: books.expected_version,
            detail: self.detail,
            record,
        }
    }
}

/// Persisted routes: the `routes.persisted` event lists the prefixes the FIB keeps and the
/// route tables they are installed in.
fn with_persisted_routes(transitions: &mut [FabricTransition], fabric: &Fabric) {
    for t in transitions.iter_mut() {
        if !matches!(t.event, Event::RoutesPersisted | Event::RoutesUnpersisted) {
            continue;
        }
        let rs = t.record.subject.route_server_id().to_string();
        let routes = fabric.routes.iter().filter(|r| r.route_server_id == rs);
        let mut prefixes = Vec::new();
        let mut tables = Vec::new();
        for r in routes {
            if let Some(f) = &r.fib {
                prefixes.push(r.prefix.clone());
                tables.extend(f.route_tables.iter().map(|t| t.route_table_id.clone()));
            }
        }
        tables.sort();
        tables.dedup();
        t.detail.prefixes = prefixes;
        t.detail.route_tables = tables;
    }
}

#[cfg(test)]
mod tests;
