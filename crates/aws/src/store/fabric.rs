//! Endpoints, route servers, routes and advertisements in the same two tables as the peers
//! (docs/data-model.md, "Beyond sessions"): their `PeerState` items under the key values
//! `rse-...`, `rs-...`, `route#<rs-id>#<prefix>` and `routes#<rsp-id>`, and their history in
//! `PeerTransitions` under the same key values, written by the same conditional transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_core::fabric::detect::health;
use peerwatch_core::fabric::{
    EndpointSnapshot, FabricRecord, FabricTransition, FibRoute, NextHop, PeerRoutesSnapshot,
    ROUTE_KEY, RouteServerSnapshot, RouteSnapshot, RouteTableInstall, Subject,
};

use super::{
    Head, Outbox, Store, Tracking, WriteOutcome, put_ack, put_outbox, put_tracking, tracking_from,
};
use crate::dynamo::{Item, StoreError, n as n_value, num, s, string_map, strings_of};
use peerwatch_core::model::{Source, TransitionKind};

impl Store {
    /// Records one fabric transition, exactly as [`Store::write_transition`] records a peer's.
    pub async fn write_fabric_transition(
        &self,
        t: &FabricTransition,
        outbox: Option<Outbox<'_>>,
    ) -> Result<WriteOutcome, StoreError> {
        self.write_pair(
            fabric_record_to_item(&t.record),
            t.expected_version,
            self.fabric_transition_item(t, outbox),
        )
        .await
    }

    /// The `PeerTransitions` item of a fabric transition.
    pub fn fabric_transition_item(
        &self,
        t: &FabricTransition,
        outbox: Option<Outbox<'_>>,
    ) -> HashMap<String, AttributeValue> {
        let key = t.key();
        let subject = &t.record.subject;
        let mut item = Item::default();
        self.put_head(
            &mut item,
            &Head {
                key: &key,
                route_server_id: subject.route_server_id(),
                kind: t.kind,
                observed_at: t.observed_at,
                // Only an operator records what the poll did not see.
                source: match t.kind {
                    TransitionKind::Acknowledged => Source::Operator,
                    _ => Source::Poll,
                },
                changes: &t.changes,
                previous_observed_at: t.previous_observed_at,
                previous_duration_seconds: t.previous_duration_seconds,
                severity: t.severity,
                event: t.event,
                health_from: t.health_from,
                health_to: Some(t.health_to),
                notification: t.notification,
                version: t.version(),
            },
        );
        let d = &t.detail;
        item.s("ItemType", subject.type_name())
            .opt_s("Prefix", d.prefix.as_deref())
            .opt_s("RouteTableId", d.route_table_id.as_deref())
            .opt_s("Reason", d.reason.as_deref())
            .opt_s("FailureReason", d.failure_reason.as_deref())
            .opt_s(
                "RouteServerEndpointId",
                d.route_server_endpoint_id.as_deref(),
            );
        let mut hop = |name: &str, h: &Option<NextHop>| {
            if let Some(h) = h {
                item.opt_s(&format!("{name}PeerId"), Some(&h.route_server_peer_id))
                    .opt_s(&format!("{name}NextHopIp"), Some(&h.next_hop_ip));
            }
        };
        hop("From", &d.from);
        hop("To", &d.to);
        list(&mut item, "RouteTables", &d.route_tables);
        list(&mut item, "Prefixes", &d.prefixes);
        // The peers it concerns: `history --peer` finds it through `ByRouteServer` with a filter.
        list(&mut item, "PeerIds", &t.peers());
        put_ack(&mut item, t.kind, &t.record.alerting);
        put_outbox(&mut item, outbox);
        item.0
    }
}

fn list(item: &mut Item, name: &str, values: &[String]) {
    if !values.is_empty() {
        item.0.insert(
            name.into(),
            AttributeValue::L(values.iter().cloned().map(AttributeValue::S).collect()),
        );
    }
}

fn strings(item: &HashMap<String, AttributeValue>, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|v| v.as_l().ok())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_s().ok().cloned())
        .collect()
}

/// The `PeerState` item of a fabric record.
pub fn fabric_record_to_item(r: &FabricRecord) -> HashMap<String, AttributeValue> {
    let subject = &r.subject;
    let mut item = Item::default();
    item.s("RouteServerPeerId", subject.key())
        .s("ItemType", subject.type_name())
        .opt_s("RouteServerId", Some(subject.route_server_id()))
        .opt_s("VpcId", Some(subject.vpc_id()));
    match subject {
        Subject::Endpoint(e) => {
            item.opt_s("SubnetId", Some(&e.subnet_id))
                .opt_s("EniId", Some(&e.eni_id))
                .opt_s("EniAddress", Some(&e.eni_address))
                .s("State", &e.state)
                .opt_s("FailureReason", e.failure_reason.as_deref());
            item.0.insert("Tags".into(), string_map(e.tags.iter()));
        }
        Subject::RouteServer(rs) => {
            item.s("State", &rs.state)
                .opt_s("PersistRoutesState", rs.persist_routes_state.as_deref());
            if let Some(d) = rs.persist_routes_duration {
                item.n("PersistRoutesDuration", d);
            }
            item.0.insert(
                "AreRoutesPersisted".into(),
                AttributeValue::Bool(rs.are_routes_persisted),
            );
            item.0.insert(
                "AdvertisedRoutes".into(),
                AttributeValue::M(
                    rs.advertised
                        .iter()
                        .map(|(peer, n)| (peer.clone(), n_value(*n)))
                        .collect(),
                ),
            );
            item.0.insert("Tags".into(), string_map(rs.tags.iter()));
        }
        Subject::Route(route) => {
            item.s("Prefix", &route.prefix);
            if let Some(f) = &route.fib {
                item.opt_s("NextHopPeerId", Some(&f.route_server_peer_id))
                    .opt_s("RouteServerEndpointId", Some(&f.route_server_endpoint_id))
                    .opt_s("NextHopIp", Some(&f.next_hop_ip));
                list(&mut item, "AsPaths", &f.as_paths);
                if let Some(med) = f.med {
                    item.n("Med", med);
                }
                let tables = f
                    .route_tables
                    .iter()
                    .map(|t| {
                        let mut m = Item::default();
                        m.s("RouteTableId", &t.route_table_id)
                            .s("Status", &t.status)
                            .opt_s("Reason", t.reason.as_deref());
                        AttributeValue::M(m.0)
                    })
                    .collect();
                item.0
                    .insert("RouteTables".into(), AttributeValue::L(tables));
            }
        }
        Subject::PeerRoutes(p) => {
            item.s("PeerId", &p.route_server_peer_id)
                .n("AdvertisedRoutes", p.advertised);
        }
    }
    put_tracking(
        &mut item,
        &Tracking {
            first_seen_at: r.first_seen_at,
            last_changed_at: r.last_changed_at,
            present: r.present,
            version: r.version,
            health: r.health,
            open_alert: r.open_alert,
            alerting: &r.alerting,
        },
    );
    item.0
}

/// A fabric record read back; the key tells what it is of.
pub fn fabric_record_from_item(
    item: &HashMap<String, AttributeValue>,
) -> Result<FabricRecord, String> {
    let key = s(item, "RouteServerPeerId").ok_or("no RouteServerPeerId")?;
    let get = |k: &str| s(item, k).unwrap_or_default();
    let route_server_id = get("RouteServerId");
    let vpc_id = get("VpcId");
    let subject = if key.starts_with("rse-") {
        Subject::Endpoint(EndpointSnapshot {
            route_server_endpoint_id: key.clone(),
            route_server_id,
            vpc_id,
            subnet_id: get("SubnetId"),
            eni_id: get("EniId"),
            eni_address: get("EniAddress"),
            state: get("State"),
            failure_reason: s(item, "FailureReason"),
            tags: strings_of(item, "Tags").collect(),
        })
    } else if key.starts_with("rs-") {
        Subject::RouteServer(RouteServerSnapshot {
            route_server_id: key.clone(),
            vpc_id,
            state: get("State"),
            persist_routes_state: s(item, "PersistRoutesState"),
            persist_routes_duration: num(item, "PersistRoutesDuration"),
            are_routes_persisted: item
                .get("AreRoutesPersisted")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            tags: strings_of(item, "Tags").collect(),
            advertised: item
                .get("AdvertisedRoutes")
                .and_then(|v| v.as_m().ok())
                .into_iter()
                .flatten()
                .filter_map(|(peer, n)| Some((peer.clone(), n.as_n().ok()?.parse().ok()?)))
                .collect(),
        })
    } else if key.starts_with(ROUTE_KEY) {
        let fib = s(item, "NextHopPeerId").map(|peer| FibRoute {
            route_server_peer_id: peer,
            route_server_endpoint_id: get("RouteServerEndpointId"),
            next_hop_ip: get("NextHopIp"),
            as_paths: strings(item, "AsPaths"),
            med: num(item, "Med"),
            route_tables: item
                .get("RouteTables")
                .and_then(|v| v.as_l().ok())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_m().ok())
                .map(|m| RouteTableInstall {
                    route_table_id: s(m, "RouteTableId").unwrap_or_default(),
                    status: s(m, "Status").unwrap_or_default(),
                    reason: s(m, "Reason"),
                })
                .collect(),
        });
        Subject::Route(RouteSnapshot {
            route_server_id,
            vpc_id,
            prefix: s(item, "Prefix").ok_or("no Prefix")?,
            fib,
        })
    } else {
        Subject::PeerRoutes(PeerRoutesSnapshot {
            route_server_peer_id: s(item, "PeerId").ok_or("no PeerId")?,
            route_server_id,
            vpc_id,
            advertised: num(item, "AdvertisedRoutes")
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("no AdvertisedRoutes")?,
        })
    };
    let t = tracking_from(item)?;
    Ok(FabricRecord {
        health: t.health.unwrap_or_else(|| health(&subject)),
        subject,
        first_seen_at: t.first_seen_at,
        last_changed_at: t.last_changed_at,
        present: t.present,
        version: t.version,
        open_alert: t.open_alert,
        alerting: t.alerting,
    })
}

#[cfg(test)]
mod tests {
    use peerwatch_core::model::{AlertState, Health, Severity};

    use super::*;

    fn record(subject: Subject) -> FabricRecord {
        FabricRecord {
            subject,
            first_seen_at: "2026-11-25T19:05:00.123Z".parse().unwrap(),
            last_changed_at: "2026-11-25T19:06:00.456Z".parse().unwrap(),
            present: true,
            version: 3,
            health: Health::Degraded,
            open_alert: Some(Severity::Warning),
            alerting: AlertState {
                alerted_at: Some("2026-11-25T19:06:00.456Z".parse().unwrap()),
                acked: Some(peerwatch_core::model::Ack {
                    by: "OnCall/alice".into(),
                    reason: None,
                    at: "2026-11-25T19:07:00.000Z".parse().unwrap(),
                }),
                ..Default::default()
            },
        }
    }

    #[test]
    fn every_kind_of_record_survives_a_round_trip() {
        let subjects = [
            Subject::Endpoint(EndpointSnapshot {
                route_server_endpoint_id: "rse-1".into(),
                route_server_id: "rs-1".into(),
                vpc_id: "vpc-1".into(),
                subnet_id: "subnet-1".into(),
                eni_id: "eni-1".into(),
                eni_address: "10.0.0.4".into(),
                state: "failed".into(),
                failure_reason: Some("ENI gone".into()),
                tags: [("Name".to_string(), "ep".to_string())].into(),
            }),
            Subject::RouteServer(RouteServerSnapshot {
                route_server_id: "rs-1".into(),
                vpc_id: "vpc-1".into(),
                state: "available".into(),
                persist_routes_state: Some("enabled".into()),
                persist_routes_duration: Some(2),
                are_routes_persisted: true,
                tags: Default::default(),
                advertised: [("rsp-1".to_string(), 3), ("rsp-2".to_string(), 0)].into(),
            }),
            Subject::Route(RouteSnapshot {
                route_server_id: "rs-1".into(),
                vpc_id: "vpc-1".into(),
                prefix: "0.0.0.0/0".into(),
                fib: Some(FibRoute {
                    route_server_peer_id: "rsp-1".into(),
                    route_server_endpoint_id: "rse-1".into(),
                    next_hop_ip: "10.0.1.5".into(),
                    as_paths: vec!["65001".into(), "65002".into()],
                    med: Some(10),
                    route_tables: vec![RouteTableInstall {
                        route_table_id: "rtb-1".into(),
                        status: "rejected".into(),
                        reason: Some("static route".into()),
                    }],
                }),
            }),
            Subject::Route(RouteSnapshot {
                route_server_id: "rs-1".into(),
                vpc_id: "vpc-1".into(),
                prefix: "10.1.0.0/16".into(),
                fib: None,
            }),
            Subject::PeerRoutes(PeerRoutesSnapshot {
                route_server_peer_id: "rsp-1".into(),
                route_server_id: "rs-1".into(),
                vpc_id: "vpc-1".into(),
                advertised: 0,
            }),
        ];
        for subject in subjects {
            let r = record(subject);
            let item = fabric_record_to_item(&r);
            assert_eq!(fabric_record_from_item(&item).unwrap(), r);
        }
    }
}
