//! The EC2 Query protocol: form parameters in, XML out, for the nine route-server actions.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

use super::error::Ec2Error;
use super::state::{
    DescribeQuery, ENDPOINT, Endpoint, Filter, NewPeer, PEER, Peer, ROUTE_SERVER, RouteServer,
    World, describe,
};
use super::xml::Xml;

pub const API_VERSION: &str = "2016-11-15";

pub const ACTIONS: [&str; 9] = [
    "CreateRouteServer",
    "DescribeRouteServers",
    "DeleteRouteServer",
    "CreateRouteServerEndpoint",
    "DescribeRouteServerEndpoints",
    "DeleteRouteServerEndpoint",
    "CreateRouteServerPeer",
    "DescribeRouteServerPeers",
    "DeleteRouteServerPeer",
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
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
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
    let now = Instant::now();
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
            let persist = params.get("PersistRoutes").map(str::to_string);
            if let Some(p) = &persist
                && !matches!(p.as_str(), "enable" | "disable" | "reset")
            {
                return Err(Ec2Error::invalid_parameter(format!(
                    "Value ({p}) for parameter PersistRoutes is invalid. Expecting one of: enable, disable, reset."
                )));
            }
            let duration = params.int("PersistRoutesDuration")?;
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
        other => return Err(invalid_action(other)),
    }
    Ok(xml.finish(action))
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
        .el("persistRoutesState", &rs.persist_routes)
        .opt_el("persistRoutesDuration", rs.persist_routes_duration)
        .el("snsNotificationsEnabled", rs.sns_topic_arn.is_some())
        .opt_el("snsTopicArn", rs.sns_topic_arn.as_ref())
        .close(tag);
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
}
