//! One route server's routing database, folded as its pages arrive into what peerwatch keeps:
//! the `in-fib` route of each prefix and how many routes each peer advertises. The `in-rib`
//! routes themselves are not kept (at 200 peers advertising 20 prefixes that is 4,000 rows).

use std::collections::{BTreeMap, HashMap};

use super::{FibRoute, RouteSnapshot, RouteTableInstall};

/// One row of `GetRouteServerRoutingDatabase`'s `routeSet` (raw EC2 strings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RibRoute {
    pub route_server_peer_id: String,
    pub route_server_endpoint_id: String,
    pub prefix: String,
    /// `in-fib` | `in-rib`.
    pub route_status: String,
    pub as_paths: Vec<String>,
    pub med: Option<i64>,
    pub next_hop_ip: String,
    pub route_tables: Vec<RouteTableInstall>,
}

/// The routing database of one route server, folded.
#[derive(Debug, Default)]
pub struct RoutingDb {
    fib: BTreeMap<String, Option<FibRoute>>,
    advertised: HashMap<String, u32>,
    pub are_routes_persisted: bool,
}

impl RoutingDb {
    pub fn add(&mut self, row: RibRoute) {
        // Persisted routes are kept for peers whose session is gone: they are the FIB, not
        // anything a peer advertises now.
        if !self.are_routes_persisted {
            *self
                .advertised
                .entry(row.route_server_peer_id.clone())
                .or_default() += 1;
        }
        let slot = self.fib.entry(row.prefix.clone()).or_default();
        if row.route_status == "in-fib" {
            let mut route_tables = row.route_tables;
            route_tables.sort();
            *slot = Some(FibRoute {
                route_server_peer_id: row.route_server_peer_id,
                route_server_endpoint_id: row.route_server_endpoint_id,
                next_hop_ip: row.next_hop_ip,
                as_paths: row.as_paths,
                med: row.med,
                route_tables,
            });
        }
    }

    /// Routes each peer advertises now (peers with none are absent).
    pub fn advertised(&self, peer_id: &str) -> u32 {
        self.advertised.get(peer_id).copied().unwrap_or(0)
    }

    /// One snapshot per prefix seen, by prefix.
    pub fn routes(&self, route_server_id: &str, vpc_id: &str) -> Vec<RouteSnapshot> {
        self.fib
            .iter()
            .map(|(prefix, fib)| RouteSnapshot {
                route_server_id: route_server_id.to_string(),
                vpc_id: vpc_id.to_string(),
                prefix: prefix.clone(),
                fib: fib.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(peer: &str, prefix: &str, status: &str) -> RibRoute {
        RibRoute {
            route_server_peer_id: peer.into(),
            prefix: prefix.into(),
            route_status: status.into(),
            next_hop_ip: format!("ip-of-{peer}"),
            route_tables: vec![RouteTableInstall {
                route_table_id: "rtb-b".into(),
                status: "installed".into(),
                reason: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn keeps_the_fib_route_of_each_prefix_and_counts_what_each_peer_advertises() {
        let mut db = RoutingDb::default();
        db.add(row("rsp-b", "0.0.0.0/0", "in-rib"));
        db.add(row("rsp-a", "0.0.0.0/0", "in-fib"));
        db.add(row("rsp-a", "10.1.0.0/16", "in-fib"));
        let routes = db.routes("rs-1", "vpc-1");
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].prefix, "0.0.0.0/0");
        let fib = routes[0].fib.as_ref().unwrap();
        assert_eq!(fib.route_server_peer_id, "rsp-a");
        assert_eq!(fib.next_hop_ip, "ip-of-rsp-a");
        assert_eq!(db.advertised("rsp-a"), 2);
        assert_eq!(db.advertised("rsp-b"), 1);
        assert_eq!(db.advertised("rsp-c"), 0);
    }

    #[test]
    fn a_prefix_only_in_the_rib_has_no_fib_route() {
        let mut db = RoutingDb::default();
        db.add(row("rsp-b", "10.9.0.0/16", "in-rib"));
        assert_eq!(db.routes("rs-1", "")[0].fib, None);
    }

    #[test]
    fn persisted_routes_are_not_counted_as_advertised() {
        let mut db = RoutingDb {
            are_routes_persisted: true,
            ..Default::default()
        };
        db.add(row("rsp-a", "0.0.0.0/0", "in-fib"));
        assert_eq!(db.advertised("rsp-a"), 0);
        assert!(db.routes("rs-1", "")[0].fib.is_some());
    }
}
