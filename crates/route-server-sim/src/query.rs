//! The EC2 Query protocol: form parameters in, XML out, for the route-server actions.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::error::Ec2Error;
use super::routing::{self, Route, RouteQuery};
use super::state::{
    Association, DescribeQuery, ENDPOINT, Endpoint, Filter, Lifecycle, NewPeer, PEER, Peer,
    ROUTE_SERVER, ROUTE_TABLE, RouteServer, RouteServerModification, World, describe,
};
use super::xml::Xml;

pub const API_VERSION: &str = "2016-11-15";

pub const ACTIONS: [&str; 17] = [
    "CreateRouteServer",
    "DescribeRouteServers",
    "ModifyRouteServer",
    "DeleteRouteServer",
    "CreateRouteServerEndpoint",
    "DescribeRouteServerEndpoints",
    "DeleteRouteServerEndpoint",
    "CreateRouteServerPeer",
    "DescribeRouteServerPeers",
    "DeleteRouteServerPeer",
    "AssociateRouteServer",
    "DisassociateRouteServer",
    "GetRouteServerAssociations",
    "EnableRouteServerPropagation",
    "DisableRouteServerPropagation",
    "GetRouteServerPropagations",
    "GetRouteServerRoutingDatabase",
];

/// The form parameters of one request, with EC2's checks on names and types.
#[derive(Debug)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// Parameters every request may carry besides its action's own (signing, versioning).
fn is_envelope(name: &str) -> bool {
    matches!(
        name,
        "Action"
            | "Version"
            | "AWSAccessKeyId"
            | "Signature"
            | "SignatureMethod"
            | "SignatureVersion"
            | "Timestamp"
            | "Expires"
            | "SecurityToken"
    ) || name.starts_with("X-Amz-")
}

impl Params {
    pub fn parse(body: &[u8]) -> Self {
        Params {
            map: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    pub fn merge(&mut self, other: Params) {
        self.map.extend(other.map);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, Ec2Error> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Ec2Error::missing_parameter(name)),
        }
    }

    fn int(&self, name: &str) -> Result<Option<i64>, Ec2Error> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    Ec2Error::invalid_parameter(format!(
                        "Invalid value '{v}' for {name}. Expected an integer."
                    ))
                })
            })
            .transpose()
    }

    fn bool(&self, name: &str) -> Result<bool, Ec2Error> {
        Ok(self.opt_bool(name)?.unwrap_or(false))
    }

    /// A boolean that may be left out, so that "not given" leaves a setting as it is.
    fn opt_bool(&self, name: &str) -> Result<Option<bool>, Ec2Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Ec2Error::invalid_parameter(format!(
                "Invalid value '{v}' for {name}. Expected a boolean."
            ))),
        }
    }

    /// `Prefix.1`, `Prefix.2`, ... in index order.
    fn list(&self, prefix: &str) -> Result<Vec<String>, Ec2Error> {
        let mut items: BTreeMap<u32, String> = BTreeMap::new();
        for (k, v) in &self.map {
            if let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
                let n = list_index(k, rest)?;
                items.insert(n, v.clone());
            }
        }
        Ok(items.into_values().collect())
    }

    /// Groups `Prefix.N.rest` parameters by N, in index order.
    fn groups(&self, prefix: &str) -> Result<Vec<Params>, Ec2Error> {
        let mut groups: BTreeMap<u32, Params> = BTreeMap::new();
        for (k, v) in &self.map {
            if let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
                let (n, field) = rest.split_once('.').ok_or_else(|| unknown_parameter(k))?;
                let n = list_index(k, n)?;
                groups
                    .entry(n)
                    .or_insert_with(|| Params {
                        map: BTreeMap::new(),
                    })
                    .map
                    .insert(field.to_string(), v.clone());
            }
        }
        Ok(groups.into_values().collect())
    }

    fn filters(&self) -> Result<Vec<Filter>, Ec2Error> {
        self.groups("Filter")?
            .into_iter()
            .map(|g| {
                let name = g.required("Name")?.to_string();
                let values = g.list("Value")?;
                g.only(&["Name", "Value."])?;
                if values.is_empty() {
                    return Err(Ec2Error::invalid_parameter(format!(
                        "The filter '{name}' has no values"
                    )));
                }
                Ok(Filter { name, values })
            })
            .collect()
    }

    /// Tags from `TagSpecification.N` for the one resource type this action creates.
    fn tags(&self, resource_type: &str) -> Result<Vec<(String, String)>, Ec2Error> {
        let mut tags = Vec::new();
        for spec in self.groups("TagSpecification")? {
            spec.only(&["ResourceType", "Tag."])?;
            let rt = spec.required("ResourceType")?;
            if rt != resource_type {
                return Err(Ec2Error::invalid_parameter(format!(
                    "'{rt}' is not a valid taggable resource type for this operation."
                )));
            }
            for tag in spec.groups("Tag")? {
                tag.only(&["Key", "Value"])?;
                let key = tag.required("Key")?;
                if key.starts_with("aws:") {
                    return Err(Ec2Error::invalid_parameter(
                        "Tag keys starting with 'aws:' are reserved for internal use",
                    ));
                }
                tags.push((key.to_string(), tag.get("Value").unwrap_or("").to_string()));
            }
        }
        Ok(tags)
    }

    /// EC2 rejects parameters an action does not know; entries ending in `.` are prefixes.
    fn only(&self, allowed: &[&str]) -> Result<(), Ec2Error> {
        for k in self.map.keys() {
            let ok = is_envelope(k)
                || allowed.iter().any(|a| match a.strip_suffix('.') {
                    Some(prefix) => k
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('.')),
                    None => k == a,
                });
            if !ok {
                return Err(unknown_parameter(k));
            }
        }
        Ok(())
    }

    fn describe_query(&self, id_param: &str) -> Result<DescribeQuery, Ec2Error> {
        self.only(&[
            &format!("{id_param}."),
            "Filter.",
            "MaxResults",
            "NextToken",
            "DryRun",
        ])?;
        Ok(DescribeQuery {
            ids: self.list(id_param)?,
            filters: self.filters()?,
            max_results: self.int("MaxResults")?,
            next_token: self.get("NextToken").map(str::to_string),
        })
    }
}

fn list_index(key: &str, n: &str) -> Result<u32, Ec2Error> {
    n.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| unknown_parameter(key))
}

fn unknown_parameter(name: &str) -> Ec2Error {
    Ec2Error::client(
        "UnknownParameter",
        format!("The parameter {name} is not recognized"),
    )
}

/// `PersistRoutes`: one of EC2's three actions.
fn persist_routes(params: &Params) -> Result<Option<String>, Ec2Error> {
    let persist = params.get("PersistRoutes").map(str::to_string);
    if let Some(p) = &persist
        && !matches!(p.as_str(), "enable" | "disable" | "reset")
    {
        return Err(Ec2Error::invalid_parameter(format!(
            "Value ({p}) for parameter PersistRoutes is invalid. Expecting one of: enable, disable, reset."
        )));
    }
    Ok(persist)
}

/// `PersistRoutesDuration`: minutes, 1 to 5 as EC2 takes them.
fn persist_routes_duration(params: &Params) -> Result<Option<i64>, Ec2Error> {
    let d = params.int("PersistRoutesDuration")?;
    if let Some(d) = d
        && !(1..=5).contains(&d)
    {
        return Err(Ec2Error::invalid_parameter(format!(
            "Value ({d}) for parameter PersistRoutesDuration is invalid. Expecting a value between 1 and 5."
        )));
    }
    Ok(d)
}

fn asn(params: &Params, name: &str, max: i64) -> Result<i64, Ec2Error> {
    let v = params
        .int(name)?
        .ok_or_else(|| Ec2Error::missing_parameter(name))?;
    if !(1..=max).contains(&v) {
        return Err(Ec2Error::invalid_parameter(format!(
            "Value ({v}) for parameter {name} is invalid. Expecting a value between 1 and {max}."
        )));
    }
    Ok(v)
}

/// Runs one Query request against the world and renders the XML answer.
pub fn handle(world: &mut World, params: &Params, request_id: &str) -> Result<String, Ec2Error> {
    let action = params.get("Action").ok_or_else(|| {
        Ec2Error::client(
            "MissingAction",
            "The request must contain the parameter Action",
        )
    })?;
    if let Some(v) = params.get("Version")
        && v != API_VERSION
    {
        return Err(Ec2Error::client(
            "NoSuchVersion",
            format!(
                "An invalid or unrecognized version '{v}' was specified (expecting {API_VERSION})"
            ),
        ));
    }
    let now = world.now();
    world.settle(now);
    let dry_run = params.bool("DryRun")?;
    let mut xml = Xml::response(action, request_id);
    match action {
        "DescribeRouteServerPeers" => {
            let query = params.describe_query("RouteServerPeerId")?;
            let page = describe(&world.peers, &PEER, &query)?;
            check_dry_run(dry_run)?;
            xml.open("routeServerPeerSet");
            for p in &page.items {
                write_peer(&mut xml, "item", p);
            }
            xml.close("routeServerPeerSet");
            xml.opt_el("nextToken", page.next_token);
        }
        "DescribeRouteServers" => {
            let query = params.describe_query("RouteServerId")?;
            let page = describe(&world.route_servers, &ROUTE_SERVER, &query)?;
            check_dry_run(dry_run)?;
            xml.open("routeServerSet");
            for rs in &page.items {
                write_route_server(&mut xml, "item", rs);
            }
            xml.close("routeServerSet");
            xml.opt_el("nextToken", page.next_token);
        }
        "DescribeRouteServerEndpoints" => {
            let query = params.describe_query("RouteServerEndpointId")?;
            let page = describe(&world.endpoints, &ENDPOINT, &query)?;
            check_dry_run(dry_run)?;
            xml.open("routeServerEndpointSet");
            for ep in &page.items {
                write_endpoint(&mut xml, "item", ep);
            }
            xml.close("routeServerEndpointSet");
            xml.opt_el("nextToken", page.next_token);
        }
        "CreateRouteServer" => {
            params.only(&[
                "AmazonSideAsn",
                "ClientToken",
                "DryRun",
                "PersistRoutes",
                "PersistRoutesDuration",
                "SnsNotificationsEnabled",
                "TagSpecification.",
            ])?;
            let asn = asn(params, "AmazonSideAsn", 4_294_967_294)?;
            let persist = persist_routes(params)?;
            let duration = persist_routes_duration(params)?;
            let sns = params.bool("SnsNotificationsEnabled")?;
            let tags = params.tags("route-server")?;
            check_dry_run(dry_run)?;
            let rs = world.create_route_server(now, asn, persist, duration, sns, tags, None);
            write_route_server(&mut xml, "routeServer", &rs);
        }
        "CreateRouteServerEndpoint" => {
            params.only(&[
                "RouteServerId",
                "SubnetId",
                "ClientToken",
                "DryRun",
                "TagSpecification.",
            ])?;
            let rs = params.required("RouteServerId")?;
            let subnet = params.required("SubnetId")?;
            if !subnet.starts_with("subnet-") {
                return Err(Ec2Error::client(
                    "InvalidSubnetID.Malformed",
                    format!("Invalid id: \"{subnet}\" (expecting \"subnet-...\")"),
                ));
            }
            let tags = params.tags("route-server-endpoint")?;
            ROUTE_SERVER.check_id(rs)?;
            check_dry_run(dry_run)?;
            let ep = world.create_endpoint(now, rs, subnet, tags, None)?;
            write_endpoint(&mut xml, "routeServerEndpoint", &ep);
        }
        "CreateRouteServerPeer" => {
            params.only(&[
                "RouteServerEndpointId",
                "PeerAddress",
                "BgpOptions.PeerAsn",
                "BgpOptions.PeerLivenessDetection",
                "DryRun",
                "TagSpecification.",
            ])?;
            let endpoint_id = params.required("RouteServerEndpointId")?.to_string();
            let address = params.required("PeerAddress")?;
            if address.parse::<IpAddr>().is_err() {
                return Err(Ec2Error::invalid_parameter(format!(
                    "Value ({address}) for parameter PeerAddress is invalid. Expecting an IP address."
                )));
            }
            let peer_asn = asn(params, "BgpOptions.PeerAsn", 4_294_967_295)?;
            let liveness = params
                .get("BgpOptions.PeerLivenessDetection")
                .unwrap_or("bgp-keepalive");
            if !matches!(liveness, "bfd" | "bgp-keepalive") {
                return Err(Ec2Error::invalid_parameter(format!(
                    "Value ({liveness}) for parameter BgpOptions.PeerLivenessDetection is invalid. Expecting one of: bfd, bgp-keepalive."
                )));
            }
            let tags = params.tags("route-server-peer")?;
            ENDPOINT.check_id(&endpoint_id)?;
            check_dry_run(dry_run)?;
            let new = NewPeer {
                endpoint_id,
                peer_address: address.to_string(),
                peer_asn,
                liveness: liveness.to_string(),
                tags,
            };
            let peer = world.create_peer(now, new, None)?;
            write_peer(&mut xml, "routeServerPeer", &peer);
        }
        "DeleteRouteServer" => {
            params.only(&["RouteServerId", "DryRun"])?;
            let id = params.required("RouteServerId")?;
            ROUTE_SERVER.check_id(id)?;
            check_dry_run(dry_run)?;
            let rs = world.delete_route_server(now, id)?;
            write_route_server(&mut xml, "routeServer", &rs);
        }
        "DeleteRouteServerEndpoint" => {
            params.only(&["RouteServerEndpointId", "DryRun"])?;
            let id = params.required("RouteServerEndpointId")?;
            ENDPOINT.check_id(id)?;
            check_dry_run(dry_run)?;
            let ep = world.delete_endpoint(now, id)?;
            write_endpoint(&mut xml, "routeServerEndpoint", &ep);
        }
        "DeleteRouteServerPeer" => {
            params.only(&["RouteServerPeerId", "DryRun"])?;
            let id = params.required("RouteServerPeerId")?;
            PEER.check_id(id)?;
            check_dry_run(dry_run)?;
            let peer = world.delete_peer(now, id)?;
            write_peer(&mut xml, "routeServerPeer", &peer);
        }
        "ModifyRouteServer" => {
            params.only(&[
                "RouteServerId",
                "PersistRoutes",
                "PersistRoutesDuration",
                "SnsNotificationsEnabled",
                "DryRun",
            ])?;
            let id = params.required("RouteServerId")?;
            ROUTE_SERVER.check_id(id)?;
            let m = RouteServerModification {
                persist_routes: persist_routes(params)?,
                persist_routes_duration: persist_routes_duration(params)?,
                sns_notifications_enabled: params.opt_bool("SnsNotificationsEnabled")?,
            };
            check_dry_run(dry_run)?;
            let rs = world.modify_route_server(now, id, m)?;
            write_route_server(&mut xml, "routeServer", &rs);
        }
        "AssociateRouteServer" | "DisassociateRouteServer" => {
            params.only(&["RouteServerId", "VpcId", "DryRun"])?;
            let id = params.required("RouteServerId")?;
            let vpc = params.required("VpcId")?;
            ROUTE_SERVER.check_id(id)?;
            check_dry_run(dry_run)?;
            let a = if action == "AssociateRouteServer" {
                world.associate(now, id, vpc)?
            } else {
                world.disassociate(now, id, vpc)?
            };
            write_association(&mut xml, "routeServerAssociation", id, &a);
        }
        "GetRouteServerAssociations" => {
            params.only(&["RouteServerId", "DryRun"])?;
            let id = params.required("RouteServerId")?;
            let rs = existing_route_server(world, id)?;
            check_dry_run(dry_run)?;
            xml.open("routeServerAssociationSet");
            if let Some(a) = &rs.association {
                write_association(&mut xml, "item", id, a);
            }
            xml.close("routeServerAssociationSet");
        }
        "EnableRouteServerPropagation" | "DisableRouteServerPropagation" => {
            params.only(&["RouteServerId", "RouteTableId", "DryRun"])?;
            let id = params.required("RouteServerId")?;
            let table = params.required("RouteTableId")?;
            ROUTE_SERVER.check_id(id)?;
            ROUTE_TABLE.check_id(table)?;
            check_dry_run(dry_run)?;
            let life = if action == "EnableRouteServerPropagation" {
                world.enable_propagation(now, id, table)?
            } else {
                world.disable_propagation(now, id, table)?
            };
            write_propagation(&mut xml, "routeServerPropagation", id, table, &life);
        }
        "GetRouteServerPropagations" => {
            params.only(&["RouteServerId", "RouteTableId", "DryRun"])?;
            let id = params.required("RouteServerId")?;
            let table = params.get("RouteTableId");
            if let Some(t) = table {
                ROUTE_TABLE.check_id(t)?;
            }
            let rs = existing_route_server(world, id)?;
            check_dry_run(dry_run)?;
            xml.open("routeServerPropagationSet");
            for (t, life) in &rs.propagations {
                if table.is_none_or(|wanted| wanted == t) {
                    write_propagation(&mut xml, "item", id, t, life);
                }
            }
            xml.close("routeServerPropagationSet");
        }
        "GetRouteServerRoutingDatabase" => {
            params.only(&[
                "RouteServerId",
                "NextToken",
                "MaxResults",
                "Filter.",
                "DryRun",
            ])?;
            let id = params.required("RouteServerId")?;
            let query = RouteQuery {
                filters: params.filters()?,
                max_results: params.int("MaxResults")?,
                next_token: params.get("NextToken").map(str::to_string),
            };
            routing::check_query(&query)?;
            existing_route_server(world, id)?;
            check_dry_run(dry_run)?;
            let (persisted, routes) = match world.rib(id) {
                Some(rib) => (rib.persisted(), rib.view()),
                None => (false, &[][..]),
            };
            let page = routing::page(routes, &query)?;
            xml.el("areRoutesPersisted", persisted);
            xml.open("routeSet");
            for r in &page.routes {
                write_route(&mut xml, r);
            }
            xml.close("routeSet");
            xml.opt_el("nextToken", page.next_token);
        }
        other => return Err(invalid_action(other)),
    }
    Ok(xml.finish(action))
}

/// A route server named by a read: well-formed and known (deleted ones still are).
fn existing_route_server<'w>(world: &'w World, id: &str) -> Result<&'w RouteServer, Ec2Error> {
    ROUTE_SERVER.check_id(id)?;
    world
        .route_servers
        .get(id)
        .ok_or_else(|| ROUTE_SERVER.not_found(id))
}

pub fn invalid_action(action: &str) -> Ec2Error {
    Ec2Error::client(
        "InvalidAction",
        format!("The action {action} is not valid for this web service."),
    )
}

fn check_dry_run(dry_run: bool) -> Result<(), Ec2Error> {
    if dry_run {
        Err(Ec2Error::dry_run())
    } else {
        Ok(())
    }
}

fn write_route_server(xml: &mut Xml, tag: &str, rs: &RouteServer) {
    xml.open(tag)
        .el("routeServerId", &rs.id)
        .el("amazonSideAsn", rs.amazon_side_asn)
        .el("state", &rs.life.state)
        .tag_set(&rs.tags)
        .el("persistRoutesState", &rs.persist.state)
        .opt_el("persistRoutesDuration", rs.persist_routes_duration)
        .el("snsNotificationsEnabled", rs.sns_topic_arn.is_some())
        .opt_el("snsTopicArn", rs.sns_topic_arn.as_ref())
        .close(tag);
}

fn write_association(xml: &mut Xml, tag: &str, route_server_id: &str, a: &Association) {
    xml.open(tag)
        .el("routeServerId", route_server_id)
        .el("vpcId", &a.vpc_id)
        .el("state", &a.life.state)
        .close(tag);
}

fn write_propagation(
    xml: &mut Xml,
    tag: &str,
    route_server_id: &str,
    route_table_id: &str,
    life: &Lifecycle,
) {
    xml.open(tag)
        .el("routeServerId", route_server_id)
        .el("routeTableId", route_table_id)
        .el("state", &life.state)
        .close(tag);
}

fn write_route(xml: &mut Xml, r: &Route) {
    xml.open("item")
        .el("routeServerEndpointId", &r.peer.endpoint_id)
        .el("routeServerPeerId", &r.peer.id)
        .open("routeInstallationDetailSet");
    for i in r.installs.iter() {
        xml.open("item")
            .el("routeTableId", &i.route_table_id)
            .el("routeInstallationStatus", i.status)
            .opt_el("routeInstallationStatusReason", i.reason.as_ref())
            .close("item");
    }
    xml.close("routeInstallationDetailSet")
        .el("routeStatus", if r.in_fib { "in-fib" } else { "in-rib" })
        .el("prefix", r.prefix)
        .open("asPathSet");
    for asn in r.as_path.iter() {
        xml.el("item", asn);
    }
    xml.close("asPathSet")
        .el("med", r.med)
        .el("nextHopIp", &r.peer.address)
        .close("item");
}

fn write_endpoint(xml: &mut Xml, tag: &str, ep: &Endpoint) {
    xml.open(tag)
        .el("routeServerId", &ep.route_server_id)
        .el("routeServerEndpointId", &ep.id)
        .el("vpcId", &ep.vpc_id)
        .el("subnetId", &ep.subnet_id)
        .el("eniId", &ep.eni_id)
        .el("eniAddress", &ep.eni_address)
        .el("state", &ep.life.state)
        .opt_el("failureReason", ep.failure_reason.as_ref())
        .tag_set(&ep.tags)
        .close(tag);
}

fn write_peer(xml: &mut Xml, tag: &str, p: &Peer) {
    xml.open(tag)
        .el("routeServerPeerId", &p.id)
        .el("routeServerEndpointId", &p.endpoint_id)
        .el("routeServerId", &p.route_server_id)
        .el("vpcId", &p.vpc_id)
        .el("subnetId", &p.subnet_id)
        .el("state", &p.life.state)
        .opt_el("failureReason", p.failure_reason.as_ref())
        .el("endpointEniId", &p.endpoint_eni_id)
        .el("endpointEniAddress", &p.endpoint_eni_address)
        .el("peerAddress", &p.peer_address)
        .open("bgpOptions")
        .el("peerAsn", p.peer_asn)
        .el("peerLivenessDetection", &p.liveness)
        .close("bgpOptions")
        .opt_status("bgpStatus", &p.bgp_status)
        .opt_status("bfdStatus", &p.bfd_status)
        .tag_set(&p.tags)
        .close(tag);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Timing;

    fn call(world: &mut World, body: &str) -> Result<String, Ec2Error> {
        handle(world, &Params::parse(body.as_bytes()), "req-1")
    }

    #[test]
    fn creates_and_describes_through_the_wire_format() {
        let mut w = World::new(Timing::default());
        let rs = call(&mut w, "Action=CreateRouteServer&Version=2016-11-15&AmazonSideAsn=65000&TagSpecification.1.ResourceType=route-server&TagSpecification.1.Tag.1.Key=env&TagSpecification.1.Tag.1.Value=prod").unwrap();
        assert!(rs.contains("<state>pending</state>"), "{rs}");
        assert!(rs.contains("<item><key>env</key><value>prod</value></item>"));
        let id = w.route_servers.values().next().unwrap().id.clone();
        let ep = call(
            &mut w,
            &format!("Action=CreateRouteServerEndpoint&RouteServerId={id}&SubnetId=subnet-0abc"),
        )
        .unwrap();
        assert!(ep.contains("<eniAddress>10.0.0.4</eniAddress>"), "{ep}");
    }

    #[test]
    fn rejects_bad_input_the_ec2_way() {
        let mut w = World::new(Timing::default());
        let code = |w: &mut World, body: &str| call(w, body).unwrap_err().code;
        assert_eq!(code(&mut w, "Version=2016-11-15"), "MissingAction");
        assert_eq!(code(&mut w, "Action=RunInstances"), "InvalidAction");
        assert_eq!(
            code(&mut w, "Action=DescribeRouteServerPeers&MaxResults=abc"),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&mut w, "Action=DescribeRouteServerPeers&MaxResults=1001"),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&mut w, "Action=DescribeRouteServerPeers&Colour=red"),
            "UnknownParameter"
        );
        assert_eq!(
            code(&mut w, "Action=DescribeRouteServerPeers&DryRun=true"),
            "DryRunOperation"
        );
        assert_eq!(
            code(&mut w, "Action=DescribeRouteServerPeers&DryRun=maybe"),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(
                &mut w,
                "Action=DescribeRouteServerPeers&RouteServerPeerId.1=rsp-00000000000000001"
            ),
            "InvalidRouteServerPeerId.NotFound"
        );
        assert_eq!(
            code(
                &mut w,
                "Action=DescribeRouteServerPeers&RouteServerPeerId.1=peer-1"
            ),
            "InvalidRouteServerPeerId.Malformed"
        );
        assert_eq!(
            code(
                &mut w,
                "Action=DescribeRouteServerPeers&Filter.1.Name=state"
            ),
            "InvalidParameterValue"
        );
        assert_eq!(code(&mut w, "Action=CreateRouteServer"), "MissingParameter");
        assert_eq!(
            code(&mut w, "Action=CreateRouteServer&AmazonSideAsn=0"),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&mut w, "Action=DescribeRouteServers&Version=2014-01-01"),
            "NoSuchVersion"
        );
        assert_eq!(code(&mut w, "%%%&&=="), "MissingAction");
    }

    #[test]
    fn routing_actions_speak_the_wire_format() {
        let mut w = World::new(Timing::default());
        let fleet = crate::state::Fleet {
            route_servers: 1,
            peers_per_route_server: 2,
            seed: Some(8),
            routes_per_peer: 3,
            persist_routes: false,
        };
        let rs = w.create_fleet_with(w.now(), fleet).route_server_ids[0].clone();
        let db = call(
            &mut w,
            &format!("Action=GetRouteServerRoutingDatabase&RouteServerId={rs}&MaxResults=5"),
        )
        .unwrap();
        assert!(
            db.contains("<areRoutesPersisted>false</areRoutesPersisted><routeSet><item>"),
            "{db}"
        );
        assert!(db.contains("<routeStatus>in-fib</routeStatus><prefix>100.64.0.0/24</prefix><asPathSet><item>65001</item></asPathSet><med>0</med>"), "{db}");
        assert!(db.contains("<routeInstallationStatus>installed</routeInstallationStatus>"));
        assert!(db.contains("<routeInstallationDetailSet></routeInstallationDetailSet><routeStatus>in-rib</routeStatus>"));
        assert_eq!(db.matches("<routeStatus>").count(), 5);
        assert!(db.contains("<nextToken>"));
        let props = call(
            &mut w,
            &format!("Action=GetRouteServerPropagations&RouteServerId={rs}"),
        )
        .unwrap();
        assert_eq!(
            props.matches("<state>available</state>").count(),
            2,
            "{props}"
        );
        let modified = call(
            &mut w,
            &format!("Action=ModifyRouteServer&RouteServerId={rs}&PersistRoutes=enable&PersistRoutesDuration=5"),
        )
        .unwrap();
        assert!(modified.contains("<persistRoutesState>enabling</persistRoutesState><persistRoutesDuration>5</persistRoutesDuration>"), "{modified}");
        let code = |w: &mut World, body: String| call(w, &body).unwrap_err().code;
        for bad in [
            "PersistRoutesDuration=0",
            "PersistRoutesDuration=6",
            "PersistRoutes=on",
            "SnsNotificationsEnabled=yes",
        ] {
            assert_eq!(
                code(
                    &mut w,
                    format!("Action=ModifyRouteServer&RouteServerId={rs}&{bad}")
                ),
                "InvalidParameterValue",
                "{bad}"
            );
        }
        for (bad, expected) in [
            ("MaxResults=4", "InvalidParameterValue"),
            (
                "Filter.1.Name=colour&Filter.1.Value.1=red",
                "InvalidParameterValue",
            ),
            ("NextToken=nope", "InvalidNextToken"),
        ] {
            assert_eq!(
                code(
                    &mut w,
                    format!("Action=GetRouteServerRoutingDatabase&RouteServerId={rs}&{bad}")
                ),
                expected,
                "{bad}"
            );
        }
        assert_eq!(
            code(
                &mut w,
                "Action=GetRouteServerAssociations&RouteServerId=rs-0123".into()
            ),
            "InvalidRouteServerId.NotFound"
        );
    }
}
