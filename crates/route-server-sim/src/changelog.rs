//! The simulator's log of every change a peer went through (created, changed, removed), so a
//! checker can compare peerwatch's history with what the fleet really did. Off until
//! `POST /_sim/log` turns it on: diffing the fleet after each request costs a pass over every
//! peer, which the benchmarks' large fleets should not pay.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::state::World;

/// The fields peerwatch records, as EC2 shows them (`None`: EC2 omits the field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerValues {
    pub state: String,
    pub bgp_status: Option<String>,
    pub bfd_status: Option<String>,
    pub peer_liveness_detection: String,
}

/// One change of one peer. `from` is absent for `created`, `to` for `removed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub seq: u64,
    /// Unix milliseconds when the simulator made the change visible to EC2 callers.
    pub at_ms: i64,
    pub route_server_peer_id: String,
    pub kind: &'static str,
    pub from: Option<PeerValues>,
    pub to: Option<PeerValues>,
}

#[derive(Debug, Default)]
pub struct ChangeLog {
    pub enabled: bool,
    pub entries: Vec<Change>,
    seen: HashMap<String, PeerValues>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl ChangeLog {
    /// Starts (or restarts) logging from `world` as it is now: what exists is the baseline.
    pub fn start(&mut self, world: &World) {
        self.enabled = true;
        self.entries.clear();
        self.seen = world
            .peers
            .values()
            .map(|p| (p.id.clone(), values_of(p)))
            .collect();
    }

    pub fn stop(&mut self) {
        *self = ChangeLog::default();
    }

    /// Appends whatever differs between the last observation and `world` now.
    pub fn observe(&mut self, world: &World) {
        if !self.enabled {
            return;
        }
        let at_ms = now_ms();
        let mut present = HashMap::with_capacity(self.seen.len());
        for p in world.peers.values() {
            let now = values_of(p);
            match self.seen.remove(&p.id) {
                Some(before) if before == now => {}
                before => {
                    let kind = if before.is_some() {
                        "changed"
                    } else {
                        "created"
                    };
                    self.push(at_ms, &p.id, kind, before, Some(now.clone()));
                }
            }
            present.insert(p.id.clone(), now);
        }
        // Whatever was seen and is no longer listed vanished or expired.
        let mut gone: Vec<(String, PeerValues)> = self.seen.drain().collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, before) in gone {
            self.push(at_ms, &id, "removed", Some(before), None);
        }
        self.seen = present;
    }

    fn push(
        &mut self,
        at_ms: i64,
        id: &str,
        kind: &'static str,
        from: Option<PeerValues>,
        to: Option<PeerValues>,
    ) {
        self.entries.push(Change {
            seq: self.entries.len() as u64 + 1,
            at_ms,
            route_server_peer_id: id.to_string(),
            kind,
            from,
            to,
        });
    }
}

fn values_of(p: &super::state::Peer) -> PeerValues {
    // An empty status is how the control API asks for EC2 to omit the field.
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    PeerValues {
        state: p.life.state.clone(),
        bgp_status: opt(&p.bgp_status),
        bfd_status: opt(&p.bfd_status),
        peer_liveness_detection: p.liveness.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{PeerPatch, Timing};
    use std::time::Instant;

    #[test]
    fn logs_creation_change_and_removal_once_each() {
        let mut w = World::new(Timing::default());
        let mut log = ChangeLog::default();
        log.start(&w);
        let ids = w.create_fleet(Instant::now(), 1, 2, Some(1));
        log.observe(&w);
        log.observe(&w);
        assert_eq!(log.entries.len(), 2);
        assert!(log.entries.iter().all(|c| c.kind == "created"));
        let patch = PeerPatch {
            state: None,
            failure_reason: None,
            bgp_status: Some("down".into()),
            bfd_status: None,
            tags: None,
        };
        w.patch_peer(Instant::now(), &ids[0], patch);
        w.vanish_peer(&ids[1]);
        log.observe(&w);
        let kinds: Vec<&str> = log.entries.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["created", "created", "changed", "removed"]);
        let change = &log.entries[2];
        assert_eq!(
            change.from.as_ref().unwrap().bgp_status.as_deref(),
            Some("up")
        );
        assert_eq!(
            change.to.as_ref().unwrap().bgp_status.as_deref(),
            Some("down")
        );
        assert_eq!(log.entries[3].seq, 4);
    }
}
