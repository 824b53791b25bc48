//! `peerwatch report` on a history made by real poll cycles (scripted clock).
