//! What the core's tests share (compiled for tests only).

use std::collections::HashMap;

use crate::detect::{Rules, detect};
use crate::model::{PeerRecord, PeerSnapshot, Timestamp, Transition};

/// `Timestamp` `secs` after a fixed instant.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000 + secs * 1000).unwrap()
}

/// `peers` discovered at 0, then `change` applied to each and listed at 60 s: the second
/// cycle's transitions, and the states after it (to run a later cycle).
pub fn second_cycle(
    rules: &Rules,
    peers: Vec<PeerSnapshot>,
    change: impl Fn(usize, &mut PeerSnapshot),
) -> (HashMap<String, PeerRecord>, Vec<Transition>) {
    let mut known: HashMap<String, PeerRecord> = detect(&HashMap::new(), &peers, at(0), rules)
        .into_iter()
        .map(|tr| (tr.peer_id().to_string(), tr.record))
        .collect();
    let changed: Vec<PeerSnapshot> = peers
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            change(i, &mut p);
            p
        })
        .collect();
    let out = detect(&known, &changed, at(60), rules);
    for tr in &out {
        known.insert(tr.peer_id().to_string(), tr.record.clone());
    }
    (known, out)
}
