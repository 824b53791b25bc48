//! Storm control: when one cycle has more notified transitions of one kind for one route
//! server than the storm threshold, they go out as one grouped message
//! (`render::render_group`), published once and marked on every member.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::fabric::FabricTransition;
use crate::model::{NotificationState, Severity, Timestamp, Transition, TransitionKind};

/// Which notified transitions storm control puts together: alerts (critical and warning,
/// flapping and mute-ended included) with alerts, recoveries with recoveries, reminders with
/// reminders. A group never mixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    Alerts,
    Recoveries,
    Reminders,
}

impl GroupKind {
    /// The group a transition joins when it is notified in a storm; `None` for `info`.
    pub fn of(tr: &Transition) -> Option<GroupKind> {
        Self::of_kind(tr.kind, tr.severity)
    }

    pub fn of_kind(kind: TransitionKind, severity: Severity) -> Option<GroupKind> {
        match (kind, severity) {
            (TransitionKind::Reminder, _) => Some(GroupKind::Reminders),
            (_, Severity::Critical | Severity::Warning) => Some(GroupKind::Alerts),
            (_, Severity::Recovery) => Some(GroupKind::Recoveries),
            (_, Severity::Info) => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            GroupKind::Alerts => "alerts",
            GroupKind::Recoveries => "recoveries",
            GroupKind::Reminders => "reminders",
        }
    }
}

/// What storm control needs of a transition: a peer's, or an endpoint's, route server's,
/// route's or advertisement's (grouped apart from peers', in messages of their own).
pub trait Stormy {
    fn route_server_id(&self) -> &str;
    fn group_kind(&self) -> Option<GroupKind>;
    fn notification(&self) -> NotificationState;
}

impl Stormy for Transition {
    fn route_server_id(&self) -> &str {
        &self.record.peer.route_server_id
    }
    fn group_kind(&self) -> Option<GroupKind> {
        GroupKind::of(self)
    }
    fn notification(&self) -> NotificationState {
        self.notification
    }
}

impl Stormy for FabricTransition {
    fn route_server_id(&self) -> &str {
        self.record.subject.route_server_id()
    }
    fn group_kind(&self) -> Option<GroupKind> {
        GroupKind::of_kind(self.kind, self.severity)
    }
    fn notification(&self) -> NotificationState {
        self.notification
    }
}

/// The `GroupId` of a grouped message of routing events (endpoints, route servers, routes,
/// advertisements): `rs-.../routing-alerts@2026-11-25T19:05:00.123Z`, never a peer group's.
pub fn routing_group_id(route_server_id: &str, kind: GroupKind, observed_at: Timestamp) -> String {
    format!("{route_server_id}/routing-{}@{observed_at}", kind.as_str())
}

/// The `GroupId` every member transition of a grouped message carries:
/// `rs-0a1b2c3d4e5f60718/alerts@2026-11-25T19:05:00.123Z`.
pub fn group_id(route_server_id: &str, kind: GroupKind, observed_at: Timestamp) -> String {
    format!("{route_server_id}/{}@{observed_at}", kind.as_str())
}

/// Storm control: the notified transitions (`pending`) of one route server and one kind
/// ([`GroupKind`]: alerts, recoveries, reminders) when there are more than `threshold` of
/// them, as indexes into `transitions`, one list per group. A `threshold` of 0 never groups.
pub fn storm_groups<T: Stormy>(transitions: &[T], threshold: u32) -> Vec<Vec<usize>> {
    if threshold == 0 {
        return Vec::new();
    }
    let mut by: BTreeMap<(&str, GroupKind), Vec<usize>> = BTreeMap::new();
    for (i, tr) in transitions.iter().enumerate() {
        if tr.notification() != NotificationState::Pending {
            continue;
        }
        if let Some(kind) = tr.group_kind() {
            by.entry((tr.route_server_id(), kind)).or_default().push(i);
        }
    }
    by.into_values()
        .filter(|members| members.len() > threshold as usize)
        .collect()
}

#[cfg(test)]
mod storm_tests {
    use std::collections::HashMap;

    use super::*;
    use crate::detect::{Rules, detect};
    use crate::model::{PeerRecord, PeerSnapshot, Severity};
    use crate::testing::{at, second_cycle};

    fn peer(rs: &str, i: usize) -> PeerSnapshot {
        PeerSnapshot {
            route_server_peer_id: format!("rsp-{rs}-{i:02}"),
            route_server_id: rs.into(),
            peer_liveness_detection: "bgp-keepalive".into(),
            state: "available".into(),
            bgp_status: Some("up".into()),
            bfd_status: Some("up".into()),
            ..Default::default()
        }
    }

    /// (route server, peers): all up at 0, then `change` on each at 60; the second cycle.
    fn cycle(
        rules: &Rules,
        fleet: &[(&str, usize)],
        change: impl Fn(usize, &mut PeerSnapshot),
    ) -> (HashMap<String, PeerRecord>, Vec<Transition>) {
        let peers = fleet
            .iter()
            .flat_map(|&(rs, n)| (0..n).map(move |i| peer(rs, i)))
            .collect();
        second_cycle(rules, peers, change)
    }

    fn ids(trs: &[Transition], groups: &[Vec<usize>]) -> Vec<Vec<String>> {
        groups
            .iter()
            .map(|g| g.iter().map(|&i| trs[i].peer_id().to_string()).collect())
            .collect()
    }

    #[test]
    fn more_alerts_than_the_threshold_for_one_route_server_make_a_group() {
        let rules = Rules::default();
        let (_, trs) = cycle(&rules, &[("rs-a", 12), ("rs-b", 2)], |_, p| {
            p.bgp_status = Some("down".into())
        });
        assert_eq!(trs.len(), 14);
        let groups = storm_groups(&trs, 5);
        assert_eq!(
            ids(&trs, &groups),
            vec![
                (0..12)
                    .map(|i| format!("rsp-rs-a-{i:02}"))
                    .collect::<Vec<_>>()
            ]
        );
        assert!(storm_groups(&trs, 0).is_empty(), "0 never groups");
        assert!(storm_groups(&trs, 12).is_empty(), "12 is not more than 12");
        assert_eq!(storm_groups(&trs, 11).len(), 1);
        assert_eq!(storm_groups(&trs, 1).len(), 2, "rs-b's 2 are more than 1");
    }

    #[test]
    fn exactly_the_threshold_is_not_a_storm() {
        let (_, trs) = cycle(&Rules::default(), &[("rs-a", 5)], |_, p| {
            p.state = "failing".into()
        });
        assert!(storm_groups(&trs, 5).is_empty());
        assert_eq!(storm_groups(&trs, 4).len(), 1);
    }

    #[test]
    fn only_what_is_notified_counts_and_kinds_stay_apart() {
        // 6 warnings that NOTIFY_MIN_SEVERITY=critical does not send, and 4 criticals.
        let rules = Rules {
            min_severity: Severity::Critical,
            ..Rules::default()
        };
        let (_, trs) = cycle(&rules, &[("rs-a", 10)], |i, p| {
            if i < 6 {
                p.state = "failing".into();
            } else {
                p.bgp_status = Some("down".into());
            }
        });
        assert!(storm_groups(&trs, 3).len() == 1 && storm_groups(&trs, 3)[0].len() == 4);
        assert!(storm_groups(&trs, 4).is_empty());

        // 6 recover and 6 others go down in the same cycle: two groups, never mixed.
        let rules = Rules::default();
        let (known, _) = cycle(&rules, &[("rs-a", 12)], |i, p| {
            if i < 6 {
                p.bgp_status = Some("down".into());
            }
        });
        let listing: Vec<PeerSnapshot> = (0..12)
            .map(|i| {
                let mut p = peer("rs-a", i);
                if i >= 6 {
                    p.bgp_status = Some("down".into());
                }
                p
            })
            .collect();
        let at = at(120);
        let trs = detect(&known, &listing, at, &rules);
        let groups = storm_groups(&trs, 5);
        assert_eq!(groups.len(), 2);
        let kinds: Vec<GroupKind> = groups
            .iter()
            .map(|g| GroupKind::of(&trs[g[0]]).unwrap())
            .collect();
        assert_eq!(kinds, [GroupKind::Alerts, GroupKind::Recoveries]);
        for g in &groups {
            let kind = GroupKind::of(&trs[g[0]]);
            assert!(g.iter().all(|&i| GroupKind::of(&trs[i]) == kind));
            assert_eq!(g.len(), 6);
        }
    }

    #[test]
    fn new_peers_coming_up_are_never_a_storm() {
        let peers: Vec<PeerSnapshot> = (0..20).map(|i| peer("rs-a", i)).collect();
        let at = at(0);
        let trs = detect(&HashMap::new(), &peers, at, &Rules::default());
        assert!(storm_groups(&trs, 1).is_empty());
    }
}
