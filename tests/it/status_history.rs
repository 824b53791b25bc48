//! `peerwatch status` and `peerwatch history` on a history made by real poll cycles.
