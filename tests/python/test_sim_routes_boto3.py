"""route-server-sim's routing side as boto3 sees it: ModifyRouteServer, VPC associations, route
propagations and the routing database, parsed by botocore's own EC2 model; and the control routes
that steer routes (advertisements, rejections, the clock, endpoint and route-server states).
"""

import collections
import ipaddress
import json
import re

import pytest

from test_sim_boto3 import (
    API_VERSION,
    F,
    ID_RE,
    UNKNOWN_PEER,
    as_json,
    assert_ec2_error,
    client_error,
    create_endpoint,
    create_route_server,
    modeled_members,
    raw_ec2_error,
    wait_until,
)

UNKNOWN_RS = "rs-0000000000000dead"
NOT_FOUND = "InvalidRouteServerId.NotFound"
MALFORMED = "InvalidRouteServerId.Malformed"
UNKNOWN_EP = "rse-0000000000000dead"
VPC = "vpc-0123456789abcdef0"
RTB = "rtb-0123456789abcdef0"
RTB_ID_RE = re.compile(r"^rtb-[0-9a-f]{17}$")


@pytest.fixture
def lax_ec2(make_ec2):
    """A client with botocore's client-side validation off, to send what the model forbids."""
    return make_ec2(parameter_validation=False)


def available_route_server(ec2, **kwargs):
    rs = create_route_server(ec2, **kwargs)
    wait_until(lambda: describe_rs(ec2, rs["RouteServerId"]), lambda r: r["State"] == "available")
    return rs["RouteServerId"]


def describe_rs(ec2, rs_id):
    [rs] = ec2.describe_route_servers(RouteServerIds=[rs_id])["RouteServers"]
    return rs


def routing_database(ec2, rs_id, **kwargs):
    """Every route of a route server, following NextToken; returns (areRoutesPersisted, routes)."""
    routes, token, persisted = [], None, None
    while True:
        args = dict(kwargs, **({"NextToken": token} if token else {}))
        answer = ec2.get_route_server_routing_database(RouteServerId=rs_id, **args)
        persisted = answer["AreRoutesPersisted"]
        routes += answer["Routes"]
        token = answer.get("NextToken")
        if not token:
            return persisted, routes


def fib(routes):
    """prefix -> the in-fib route's peer id."""
    return {r["Prefix"]: r["RouteServerPeerId"] for r in routes if r["RouteStatus"] == "in-fib"}


@pytest.fixture
def routed(sim):
    """One route server, four peers, five prefixes each, two propagated route tables, persist-routes on."""
    answer = sim.fleet_answer(1, 4, seed=3, routesPerPeer=5, persistRoutes=True)
    peers = {p["routeServerPeerId"]: p for p in sim.peers()}
    return {
        "rs": answer["routeServerIds"][0],
        "peers": answer["routeServerPeerIds"],
        "address": {pid: p["peerAddress"] for pid, p in peers.items()},
        "endpoint": {pid: p["routeServerEndpointId"] for pid, p in peers.items()},
    }


# ---------------------------------------------------------------------------------------------
# ModifyRouteServer
# ---------------------------------------------------------------------------------------------


def test_modify_route_server_moves_through_ec2s_transient_states(ec2, transition_s):
    rs_id = available_route_server(ec2)
    rs = ec2.modify_route_server(
        RouteServerId=rs_id, PersistRoutes="enable", PersistRoutesDuration=3, SnsNotificationsEnabled=True
    )["RouteServer"]
    assert set(rs) == modeled_members(ec2, "RouteServer")
    assert (rs["RouteServerId"], rs["State"], rs["PersistRoutesState"]) == (rs_id, "modifying", "enabling")
    assert rs["PersistRoutesDuration"] == 3
    assert rs["SnsNotificationsEnabled"] is True and rs["SnsTopicArn"].startswith("arn:aws:sns:")
    settled = wait_until(lambda: describe_rs(ec2, rs_id), lambda r: r["State"] == "available")
    assert settled == rs | {"State": "available", "PersistRoutesState": "enabled"}
    by_filter = ec2.describe_route_servers(Filters=[F("persist-routes-state", "enabled")])["RouteServers"]
    assert [r["RouteServerId"] for r in by_filter] == [rs_id]

    rs = ec2.modify_route_server(RouteServerId=rs_id, PersistRoutes="disable", SnsNotificationsEnabled=False)[
        "RouteServer"
    ]
    assert (rs["PersistRoutesState"], rs["SnsNotificationsEnabled"]) == ("disabling", False)
    assert "SnsTopicArn" not in rs
    wait_until(lambda: describe_rs(ec2, rs_id), lambda r: r["PersistRoutesState"] == "disabled")


def test_modify_with_nothing_to_change_leaves_the_route_server_as_it_is(ec2):
    rs_id = available_route_server(ec2)
    rs = ec2.modify_route_server(RouteServerId=rs_id)["RouteServer"]
    assert (rs["State"], rs["PersistRoutesState"]) == ("available", "disabled")
    # Enabling without a duration takes EC2's default of one minute.
    rs = ec2.modify_route_server(RouteServerId=rs_id, PersistRoutes="enable")["RouteServer"]
    assert rs["PersistRoutesDuration"] == 1


@pytest.mark.parametrize(
    "kwargs, code",
    [
        pytest.param({"RouteServerId": UNKNOWN_RS}, "InvalidRouteServerId.NotFound", id="unknown-id"),
        pytest.param({"RouteServerId": "route-server-1"}, "InvalidRouteServerId.Malformed", id="malformed-id"),
        pytest.param({"PersistRoutesDuration": 0}, "InvalidParameterValue", id="duration-0"),
        pytest.param({"PersistRoutesDuration": 6}, "InvalidParameterValue", id="duration-6"),
        pytest.param({"PersistRoutes": "sometimes"}, "InvalidParameterValue", id="unknown-persist-action"),
        pytest.param({"PersistRoutesDuration": "two"}, "InvalidParameterValue", id="duration-wrong-type"),
    ],
)
def test_modify_route_server_rejects_bad_input(ec2, lax_ec2, kwargs, code):
    rs_id = available_route_server(ec2)
    err = client_error(lax_ec2.modify_route_server, **({"RouteServerId": rs_id} | kwargs))
    assert_ec2_error(err, code)
    assert describe_rs(ec2, rs_id)["State"] == "available", "a refused call changes nothing"


def test_modify_dry_run_and_deleted_route_servers(ec2):
    rs_id = available_route_server(ec2)
    err = client_error(ec2.modify_route_server, RouteServerId=rs_id, PersistRoutes="enable", DryRun=True)
    assert_ec2_error(err, "DryRunOperation", 412)
    assert describe_rs(ec2, rs_id)["PersistRoutesState"] == "disabled"
    ec2.delete_route_server(RouteServerId=rs_id)
    err = client_error(ec2.modify_route_server, RouteServerId=rs_id, PersistRoutes="enable")
    assert_ec2_error(err, "IncorrectState")


def test_create_route_server_checks_the_persist_duration_too(ec2):
    err = client_error(ec2.create_route_server, AmazonSideAsn=65000, PersistRoutes="enable", PersistRoutesDuration=6)
    assert_ec2_error(err, "InvalidParameterValue")


# ---------------------------------------------------------------------------------------------
# Associations
# ---------------------------------------------------------------------------------------------


def associations(ec2, rs_id):
    return ec2.get_route_server_associations(RouteServerId=rs_id)["RouteServerAssociations"]


def test_associate_get_and_disassociate(ec2):
    rs_id = available_route_server(ec2)
    assert associations(ec2, rs_id) == []
    a = ec2.associate_route_server(RouteServerId=rs_id, VpcId=VPC)["RouteServerAssociation"]
    assert set(a) == modeled_members(ec2, "RouteServerAssociation")
    assert a == {"RouteServerId": rs_id, "VpcId": VPC, "State": "associating"}
    wait_until(lambda: associations(ec2, rs_id), lambda got: got == [a | {"State": "associated"}])
    # Endpoints created now are in the associated VPC.
    ep = create_endpoint(ec2, rs_id, "subnet-0123456789abcdef0")
    assert ep["VpcId"] == VPC

    err = client_error(ec2.associate_route_server, RouteServerId=rs_id, VpcId=VPC)
    assert_ec2_error(err, "Resource.AlreadyAssociated")
    err = client_error(ec2.disassociate_route_server, RouteServerId=rs_id, VpcId=VPC)
    assert_ec2_error(err, "DependencyViolation")
    err = client_error(ec2.delete_route_server, RouteServerId=rs_id)
    assert_ec2_error(err, "DependencyViolation")

    ec2.delete_route_server_endpoint(RouteServerEndpointId=ep["RouteServerEndpointId"])
    gone = ec2.disassociate_route_server(RouteServerId=rs_id, VpcId=VPC)["RouteServerAssociation"]
    assert gone == {"RouteServerId": rs_id, "VpcId": VPC, "State": "disassociating"}
    wait_until(lambda: associations(ec2, rs_id), lambda got: got == [])
    assert ec2.delete_route_server(RouteServerId=rs_id)["RouteServer"]["State"] == "deleting"


@pytest.mark.parametrize(
    "call, kwargs, code",
    [
        pytest.param("associate", {"RouteServerId": UNKNOWN_RS}, NOT_FOUND, id="associate-unknown-rs"),
        pytest.param("associate", {"VpcId": "subnet-0123"}, "InvalidVpcID.Malformed", id="associate-malformed-vpc"),
        pytest.param("disassociate", {}, "InvalidRouteServerAssociation.NotFound", id="disassociate-absent"),
        pytest.param("disassociate", {"RouteServerId": UNKNOWN_RS}, NOT_FOUND, id="disassociate-unknown-rs"),
        pytest.param("get_associations", {"RouteServerId": UNKNOWN_RS}, NOT_FOUND, id="get-unknown-rs"),
        pytest.param("get_associations", {"RouteServerId": "rs-xyz"}, MALFORMED, id="get-malformed-rs"),
    ],
)
def test_association_errors(ec2, call, kwargs, code):
    rs_id = available_route_server(ec2)
    args = {"RouteServerId": rs_id, "VpcId": VPC} | kwargs
    if call == "get_associations":
        args.pop("VpcId")
    method = "get_route_server_associations" if call == "get_associations" else f"{call}_route_server"
    assert_ec2_error(client_error(getattr(ec2, method), **args), code)


# ---------------------------------------------------------------------------------------------
# Propagations
# ---------------------------------------------------------------------------------------------


def propagations(ec2, rs_id, **kwargs):
    return ec2.get_route_server_propagations(RouteServerId=rs_id, **kwargs)["RouteServerPropagations"]


def test_enable_get_and_disable_propagation(ec2):
    rs_id = available_route_server(ec2)
    err = client_error(ec2.enable_route_server_propagation, RouteServerId=rs_id, RouteTableId=RTB)
    assert_ec2_error(err, "IncorrectState")  # not associated with a VPC yet
    ec2.associate_route_server(RouteServerId=rs_id, VpcId=VPC)

    p = ec2.enable_route_server_propagation(RouteServerId=rs_id, RouteTableId=RTB)["RouteServerPropagation"]
    assert set(p) == modeled_members(ec2, "RouteServerPropagation")
    assert p == {"RouteServerId": rs_id, "RouteTableId": RTB, "State": "pending"}
    wait_until(lambda: propagations(ec2, rs_id), lambda got: got == [p | {"State": "available"}])
    other = "rtb-0fedcba9876543210"
    ec2.enable_route_server_propagation(RouteServerId=rs_id, RouteTableId=other)
    assert [x["RouteTableId"] for x in propagations(ec2, rs_id)] == [RTB, other]
    assert [x["RouteTableId"] for x in propagations(ec2, rs_id, RouteTableId=other)] == [other]
    assert propagations(ec2, rs_id, RouteTableId="rtb-0000000000000000a") == []

    err = client_error(ec2.enable_route_server_propagation, RouteServerId=rs_id, RouteTableId=RTB)
    assert_ec2_error(err, "Resource.AlreadyAssociated")
    gone = ec2.disable_route_server_propagation(RouteServerId=rs_id, RouteTableId=RTB)["RouteServerPropagation"]
    assert gone["State"] == "deleting"
    err = client_error(ec2.disable_route_server_propagation, RouteServerId=rs_id, RouteTableId=RTB)
    assert_ec2_error(err, "InvalidRouteServerPropagation.NotFound")
    wait_until(lambda: propagations(ec2, rs_id), lambda got: [x["RouteTableId"] for x in got] == [other])


@pytest.mark.parametrize(
    "call, kwargs, code",
    [
        pytest.param("enable", {"RouteServerId": UNKNOWN_RS}, NOT_FOUND, id="enable-unknown-rs"),
        pytest.param("enable", {"RouteTableId": "rtb-"}, "InvalidRouteTableID.Malformed", id="enable-empty-rtb"),
        pytest.param("enable", {"RouteTableId": "vpc-0123"}, "InvalidRouteTableID.Malformed", id="enable-not-an-rtb"),
        pytest.param("disable", {"RouteServerId": UNKNOWN_RS}, NOT_FOUND, id="disable-unknown-rs"),
        pytest.param("disable", {}, "InvalidRouteServerPropagation.NotFound", id="disable-absent"),
        pytest.param("get", {"RouteServerId": UNKNOWN_RS}, NOT_FOUND, id="get-unknown-rs"),
        pytest.param("get", {"RouteTableId": "rtb-zz"}, "InvalidRouteTableID.Malformed", id="get-malformed-rtb"),
    ],
)
def test_propagation_errors(ec2, call, kwargs, code):
    rs_id = available_route_server(ec2)
    ec2.associate_route_server(RouteServerId=rs_id, VpcId=VPC)
    args = {"RouteServerId": rs_id, "RouteTableId": RTB} | kwargs
    method = "get_route_server_propagations" if call == "get" else f"{call}_route_server_propagation"
    assert_ec2_error(client_error(getattr(ec2, method), **args), code)


# ---------------------------------------------------------------------------------------------
# GetRouteServerRoutingDatabase
# ---------------------------------------------------------------------------------------------


def test_routing_database_parses_per_the_model(ec2, sim, routed):
    answer = ec2.get_route_server_routing_database(RouteServerId=routed["rs"])
    assert answer["AreRoutesPersisted"] is False
    assert "NextToken" not in answer
    routes = answer["Routes"]
    assert len(routes) == 4 * 5
    tables = [p["RouteTableId"] for p in propagations(ec2, routed["rs"])]
    assert len(tables) == 2 and all(RTB_ID_RE.match(t) for t in tables)
    [association] = associations(ec2, routed["rs"])
    assert (association["VpcId"], association["State"]) == (sim.peers()[0]["vpcId"], "associated")
    members = modeled_members(ec2, "RouteServerRoute")
    for r in routes:
        assert set(r) == members, r
        assert r["RouteServerPeerId"] in routed["peers"]
        assert r["RouteServerEndpointId"] == routed["endpoint"][r["RouteServerPeerId"]]
        assert r["NextHopIp"] == routed["address"][r["RouteServerPeerId"]]
        assert ipaddress.ip_network(r["Prefix"]).prefixlen == 24
        assert isinstance(r["Med"], int) and r["Med"] == 0
        assert all(isinstance(a, str) for a in r["AsPaths"])
        assert r["RouteStatus"] in ("in-fib", "in-rib")
        if r["RouteStatus"] == "in-fib":
            assert [d["RouteTableId"] for d in r["RouteInstallationDetails"]] == tables
            for d in r["RouteInstallationDetails"]:
                assert set(d) == {"RouteTableId", "RouteInstallationStatus"}
                assert d["RouteInstallationStatus"] == "installed"
        else:
            assert r["RouteInstallationDetails"] == []
    # One best path per prefix: the even-indexed peer with the lower address (shorter AS path).
    best = routed["peers"][0]
    assert fib(routes) == {f"100.64.{j}.0/24": best for j in range(5)}
    by_peer = {r["RouteServerPeerId"]: r["AsPaths"] for r in routes}
    assert len(by_peer[routed["peers"][0]]) == 1 and len(by_peer[routed["peers"][1]]) == 2
    # Sorted by prefix, then peer address.
    keys = [(ipaddress.ip_network(r["Prefix"]), ipaddress.ip_address(r["NextHopIp"])) for r in routes]
    assert keys == sorted(keys)


ROUTE_FILTER_CASES = [
    pytest.param([F("route-status", "in-fib")], 5, id="route-status-in-fib"),
    pytest.param([F("route-status", "in-rib")], 15, id="route-status-in-rib"),
    pytest.param([F("prefix", "100.64.3.0/24")], 4, id="prefix"),
    pytest.param([F("prefix", "100.64.1.*", "100.64.2.*")], 8, id="prefix-wildcards-ORed"),
    pytest.param([F("route-server-peer-id", "{p1}")], 5, id="route-server-peer-id"),
    pytest.param([F("route-server-peer-id", "{p1}"), F("route-status", "in-fib")], 0, id="ANDed"),
    pytest.param([F("route-server-peer-id", "{p0}"), F("route-status", "in-fib")], 5, id="ANDed-best"),
]


@pytest.mark.parametrize("filters, count", ROUTE_FILTER_CASES)
def test_routing_database_filters(ec2, routed, filters, count):
    names = {f"p{i}": pid for i, pid in enumerate(routed["peers"])}
    resolved = [{"Name": f["Name"], "Values": [v.format(**names) for v in f["Values"]]} for f in filters]
    _, routes = routing_database(ec2, routed["rs"], Filters=resolved)
    assert len(routes) == count


@pytest.mark.parametrize(
    "kwargs, code",
    [
        pytest.param({"RouteServerId": UNKNOWN_RS}, "InvalidRouteServerId.NotFound", id="unknown-rs"),
        pytest.param({"RouteServerId": "rs"}, "InvalidRouteServerId.Malformed", id="malformed-rs"),
        pytest.param({"MaxResults": 4}, "InvalidParameterValue", id="max-results-4"),
        pytest.param({"MaxResults": 1001}, "InvalidParameterValue", id="max-results-1001"),
        pytest.param({"MaxResults": "ten"}, "InvalidParameterValue", id="max-results-wrong-type"),
        pytest.param({"Filters": [F("colour", "red")]}, "InvalidParameterValue", id="unknown-filter"),
        pytest.param({"Filters": [F("tag:Name", "x")]}, "InvalidParameterValue", id="tag-filter"),
        pytest.param({"NextToken": "not-a-token"}, "InvalidNextToken", id="bad-token"),
        pytest.param({"DryRun": True}, "DryRunOperation", id="dry-run"),
    ],
)
def test_routing_database_rejects_bad_input(lax_ec2, routed, kwargs, code):
    err = client_error(lax_ec2.get_route_server_routing_database, **({"RouteServerId": routed["rs"]} | kwargs))
    assert_ec2_error(err, code, 412 if code == "DryRunOperation" else 400)


def test_routing_database_paging_covers_every_route_once(ec2, sim):
    answer = sim.fleet_answer(1, 50, seed=4, routesPerPeer=20)
    rs_id = answer["routeServerIds"][0]
    pages, token = [], None
    while True:
        args = {"MaxResults": 7, **({"NextToken": token} if token else {})}
        page = ec2.get_route_server_routing_database(RouteServerId=rs_id, **args)
        pages.append(page["Routes"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [7] * 142 + [6]
    seen = [(r["Prefix"], r["RouteServerPeerId"]) for p in pages for r in p]
    assert len(seen) == len(set(seen)) == 1000
    _, everything = routing_database(ec2, rs_id)
    assert [(r["Prefix"], r["RouteServerPeerId"]) for r in everything] == seen


def test_the_routing_database_of_a_route_server_without_peers_is_empty(ec2):
    rs_id = available_route_server(ec2)
    assert routing_database(ec2, rs_id) == (False, [])


# ---------------------------------------------------------------------------------------------
# Routing through the control API
# ---------------------------------------------------------------------------------------------


def test_fib_moves_to_the_backup_and_persists_when_every_session_drops(ec2, sim, routed):
    """Drop the best peer: the FIB moves to the backup. Drop them all with persist-routes on: the
    FIB stays, persisted. One back up: still persisted until the duration has passed on the clock."""
    rs_id, (p0, p1, p2, p3) = routed["rs"], routed["peers"]
    assert describe_rs(ec2, rs_id)["PersistRoutesState"] == "enabled"
    assert describe_rs(ec2, rs_id)["PersistRoutesDuration"] == 1
    sim.patch_peer(p0, bgpStatus="down")
    persisted, routes = routing_database(ec2, rs_id)
    assert not persisted
    assert set(fib(routes).values()) == {p2}, "the other short-path peer"
    assert p0 not in {r["RouteServerPeerId"] for r in routes}

    # p2 last, so that its routes stay best to the end.
    for p in (p1, p3, p2):
        sim.patch_peer(p, state="failed", bgpStatus="down")
    persisted, routes = routing_database(ec2, rs_id)
    assert persisted is True
    assert len(routes) == 5 and all(r["RouteStatus"] == "in-fib" for r in routes)
    assert set(fib(routes).values()) == {p2}, "the FIB as it was when the last session went"
    assert all(r["NextHopIp"] == routed["address"][p2] for r in routes)
    assert all(len(r["RouteInstallationDetails"]) == 2 for r in routes)
    assert sim.ok("GET", "/_sim/route-servers")[0]["areRoutesPersisted"] is True

    # Long after, with no session back, the routes are still there.
    sim.advance_clock(3600)
    assert routing_database(ec2, rs_id)[0] is True
    sim.patch_peer(p0, bgpStatus="up")
    assert routing_database(ec2, rs_id)[0] is True
    sim.advance_clock(30)
    assert routing_database(ec2, rs_id)[0] is True
    sim.advance_clock(31)
    persisted, routes = routing_database(ec2, rs_id)
    assert persisted is False
    assert fib(routes) == {f"100.64.{j}.0/24": p0 for j in range(5)}
    assert len(routes) == 5, "only p0 is up"


def test_without_persistence_the_routes_go_with_the_last_session(ec2, sim):
    answer = sim.fleet_answer(1, 2, routesPerPeer=3)
    for p in answer["routeServerPeerIds"]:
        sim.patch_peer(p, bgpStatus="down")
    assert routing_database(ec2, answer["routeServerIds"][0]) == (False, [])


def test_modify_reset_drops_persisted_routes(ec2, sim, routed):
    for p in routed["peers"]:
        sim.patch_peer(p, bgpStatus="down")
    assert routing_database(ec2, routed["rs"])[0] is True
    rs = ec2.modify_route_server(RouteServerId=routed["rs"], PersistRoutes="reset")["RouteServer"]
    assert rs["PersistRoutesState"] == "resetting"
    assert routing_database(ec2, routed["rs"]) == (False, [])


def test_advertisements_replace_and_withdraw(ec2, sim, routed):
    rs_id, p0 = routed["rs"], routed["peers"][0]
    answer = sim.set_routes(
        p0,
        [
            {"prefix": "192.168.0.0/16", "asPaths": [65001, 65002, 65003], "med": 7},
            {"prefix": "0.0.0.0/0", "asPaths": [1]},
        ],
    )
    assert answer == {
        "routeServerPeerId": p0,
        "routes": [
            {"prefix": "192.168.0.0/16", "asPaths": [65001, 65002, 65003], "med": 7},
            {"prefix": "0.0.0.0/0", "asPaths": [1], "med": 0},
        ],
    }
    assert sim.ok("GET", f"/_sim/peers/{p0}/routes") == answer
    _, routes = routing_database(ec2, rs_id, Filters=[F("route-server-peer-id", p0)])
    assert {r["Prefix"]: (r["AsPaths"], r["Med"], r["RouteStatus"]) for r in routes} == {
        "0.0.0.0/0": (["1"], 0, "in-fib"),
        "192.168.0.0/16": (["65001", "65002", "65003"], 7, "in-fib"),
    }
    # The prefixes p0 no longer advertises moved to the next best peer.
    _, routes = routing_database(ec2, rs_id)
    assert fib(routes)["100.64.0.0/24"] == routed["peers"][2]

    assert sim.set_routes(p0, []) == {"routeServerPeerId": p0, "routes": []}
    _, routes = routing_database(ec2, rs_id, Filters=[F("route-server-peer-id", p0)])
    assert routes == []
    # A vanished peer's routes go with it.
    sim.vanish(routed["peers"][2])
    _, routes = routing_database(ec2, rs_id)
    assert routed["peers"][2] not in {r["RouteServerPeerId"] for r in routes}
    assert set(fib(routes).values()) == {routed["peers"][1]}


def test_rejections_show_in_the_installation_details(ec2, sim, routed):
    rs_id = routed["rs"]
    tables = [p["RouteTableId"] for p in propagations(ec2, rs_id)]
    rejection = {"routeTableId": tables[1], "prefix": "100.64.2.0/24", "reason": "Route limit exceeded"}
    answer = sim.ok("POST", "/_sim/rejections", rejection)
    assert answer == {"rejections": [rejection]}
    assert sim.ok("GET", "/_sim/rejections") == answer
    _, routes = routing_database(ec2, rs_id, Filters=[F("route-status", "in-fib"), F("prefix", "100.64.2.0/24")])
    [route] = routes
    assert route["RouteInstallationDetails"] == [
        {"RouteTableId": tables[0], "RouteInstallationStatus": "installed"},
        {
            "RouteTableId": tables[1],
            "RouteInstallationStatus": "rejected",
            "RouteInstallationStatusReason": "Route limit exceeded",
        },
    ]
    assert sim.ok("DELETE", "/_sim/rejections") == {"rejections": []}
    _, routes = routing_database(ec2, rs_id, Filters=[F("route-status", "in-fib")])
    assert all(d["RouteInstallationStatus"] == "installed" for r in routes for d in r["RouteInstallationDetails"])
    # Disabling a propagation takes its installations away at once.
    ec2.disable_route_server_propagation(RouteServerId=rs_id, RouteTableId=tables[0])
    _, routes = routing_database(ec2, rs_id, Filters=[F("route-status", "in-fib")])
    assert all([d["RouteTableId"] for d in r["RouteInstallationDetails"]] == [tables[1]] for r in routes)


def test_endpoint_state_and_failure_reason(ec2, sim, routed):
    [listed, _] = sim.ok("GET", "/_sim/endpoints")
    ep_id = listed["routeServerEndpointId"]
    assert ID_RE["rse"].match(ep_id) and listed["routeServerId"] == routed["rs"]
    assert (listed["state"], listed["failureReason"]) == ("available", None)
    view = sim.ok("POST", f"/_sim/endpoints/{ep_id}", {"state": "failed", "failureReason": "ENI was deleted"})
    assert (view["state"], view["failureReason"]) == ("failed", "ENI was deleted")
    [ep] = ec2.describe_route_server_endpoints(RouteServerEndpointIds=[ep_id])["RouteServerEndpoints"]
    assert (ep["State"], ep["FailureReason"]) == ("failed", "ENI was deleted")
    assert set(ep) == modeled_members(ec2, "RouteServerEndpoint")
    sim.ok("POST", f"/_sim/endpoints/{ep_id}", {"failureReason": None})
    [ep] = ec2.describe_route_server_endpoints(RouteServerEndpointIds=[ep_id])["RouteServerEndpoints"]
    assert ep["State"] == "failed" and "FailureReason" not in ep


def test_route_server_state_through_the_control_api(ec2, sim, routed):
    view = sim.ok("POST", f"/_sim/route-servers/{routed['rs']}", {"state": "modifying"})
    assert view["state"] == "modifying"
    assert set(view) == {
        "routeServerId", "amazonSideAsn", "vpcId", "state", "persistRoutesState", "persistRoutesDuration",
        "snsNotificationsEnabled", "areRoutesPersisted", "association", "propagations", "tags",
    }
    assert view["association"] == {"vpcId": view["vpcId"], "state": "associated"}
    assert [p["state"] for p in view["propagations"]] == ["available", "available"]
    assert describe_rs(ec2, routed["rs"])["State"] == "modifying"
    assert sim.ok("GET", "/_sim/route-servers") == [view]


def test_the_clock_moves_lifecycles_along(ec2, sim):
    assert sim.ok("GET", "/_sim/clock") == {"advancedSeconds": 0.0}
    rs = create_route_server(ec2)
    assert sim.advance_clock(5) == 5.0
    assert sim.advance_clock(0.5) == 5.5
    assert describe_rs(ec2, rs["RouteServerId"])["State"] == "available"
    sim.reset()
    assert sim.ok("GET", "/_sim/clock") == {"advancedSeconds": 0.0}


def test_change_log_records_endpoints_route_servers_and_fib(ec2, sim, routed):
    sim.ok("POST", "/_sim/log")
    p0 = routed["peers"][0]
    sim.patch_peer(p0, bgpStatus="down")
    ep_id = routed["endpoint"][p0]
    sim.ok("POST", f"/_sim/endpoints/{ep_id}", {"failureReason": "maintenance"})
    log = sim.ok("GET", "/_sim/log")
    assert set(log) == {"enabled", "changes", "endpointChanges", "routeServerChanges", "fibChanges"}
    # The peers' list holds peer changes only, as its readers expect.
    assert [(c["routeServerPeerId"], c["kind"]) for c in log["changes"]] == [(p0, "changed")]
    assert [c["prefix"] for c in log["fibChanges"]] == [f"100.64.{j}.0/24" for j in range(5)]
    for c in log["fibChanges"]:
        assert set(c) == {"seq", "atMs", "routeServerId", "prefix", "kind", "from", "to"}
        assert (c["routeServerId"], c["kind"]) == (routed["rs"], "changed")
        assert (c["from"]["routeServerPeerId"], c["to"]["routeServerPeerId"]) == (p0, routed["peers"][2])
        assert c["to"]["nextHopIp"] == routed["address"][routed["peers"][2]]
        assert [i["status"] for i in c["to"]["installations"]] == ["installed", "installed"]
    assert [c["seq"] for c in log["fibChanges"]] == [1, 2, 3, 4, 5]
    [e] = log["endpointChanges"]
    assert (e["routeServerEndpointId"], e["routeServerId"], e["kind"]) == (ep_id, routed["rs"], "changed")
    assert (e["from"]["failureReason"], e["to"]["failureReason"]) == (None, "maintenance")
    assert log["routeServerChanges"] == []

    # p2 (the best now) last: the FIB stays on it until the last session goes, then persists.
    for p in (routed["peers"][1], routed["peers"][3], routed["peers"][2]):
        sim.patch_peer(p, bgpStatus="down")
    log = sim.ok("GET", "/_sim/log")
    [rs_change] = log["routeServerChanges"]
    assert rs_change["to"] == {"state": "available", "persistRoutesState": "enabled", "areRoutesPersisted": True}
    assert len(log["fibChanges"]) == 5, "persisted: the FIB did not move"
    sim.reset()
    sim.ok("POST", "/_sim/log")
    sim.fleet(1, 2, routesPerPeer=1)
    log = sim.ok("GET", "/_sim/log")
    assert [c["kind"] for c in log["fibChanges"]] == ["created"]
    assert [c["kind"] for c in log["routeServerChanges"]] == ["created"]
    assert [c["kind"] for c in log["endpointChanges"]] == ["created", "created"]


def test_fleet_answers_route_server_ids_and_keeps_its_old_shape(sim):
    answer = sim.fleet_answer(2, 1, seed=9)
    assert set(answer) == {"routeServerPeerIds", "routeServerIds"}
    assert [v["routeServerId"] for v in sim.ok("GET", "/_sim/route-servers")] == answer["routeServerIds"]
    # Without routes nothing is associated or propagated, as before.
    for v in sim.ok("GET", "/_sim/route-servers"):
        assert (v["association"], v["propagations"], v["persistRoutesState"]) == (None, [], "disabled")


def test_fleet_prefixes_are_distinct_per_route_server(ec2, sim):
    answer = sim.fleet_answer(3, 2, routesPerPeer=2)
    seen = collections.Counter()
    for r, rs_id in enumerate(answer["routeServerIds"]):
        _, routes = routing_database(ec2, rs_id, Filters=[F("route-status", "in-fib")])
        assert sorted(fib(routes)) == [f"100.{64 + r}.0.0/24", f"100.{64 + r}.1.0/24"]
        seen.update(fib(routes).keys())
    assert all(n == 1 for n in seen.values())


# ---------------------------------------------------------------------------------------------
# Control API errors
# ---------------------------------------------------------------------------------------------


def route(**fields):
    return {"prefix": "10.0.0.0/16", "asPaths": [65001], **fields}


def routes_body(*routes):
    return json.dumps({"routes": list(routes)}).encode()


def fleet_body(**fields):
    return as_json(**({"routeServers": 1, "peersPerRouteServer": 1} | fields))


ROUTES = "/_sim/peers/{peer}/routes"
ENDPOINT = "/_sim/endpoints/{endpoint}"
ROUTE_SERVER = "/_sim/route-servers/{rs}"
REJECTION = {"routeTableId": RTB, "prefix": "10.0.0.0/16", "reason": "full"}


def case(method, path, body, status, case_id):
    return pytest.param(method, path, body, status, id=case_id)


ROUTING_CONTROL_ERRORS = [
    case("POST", ROUTES, b'{"routes": [', 400, "routes-truncated-json"),
    case("POST", ROUTES, b"{}", 400, "routes-missing"),
    case("POST", ROUTES, as_json(routes=[], colour="red"), 400, "routes-unknown-field"),
    case("POST", ROUTES, routes_body(route(colour="red")), 400, "route-unknown-field"),
    case("POST", ROUTES, routes_body(route(prefix="10.0.0.1/16")), 400, "route-host-bits"),
    case("POST", ROUTES, routes_body(route(prefix="10.0.0.0/33")), 400, "route-length-33"),
    case("POST", ROUTES, routes_body(route(prefix="10.0.0.0")), 400, "route-no-length"),
    case("POST", ROUTES, routes_body(route(prefix="2001:db8::/32")), 400, "route-ipv6"),
    case("POST", ROUTES, routes_body(route(prefix=10)), 400, "route-prefix-wrong-type"),
    case("POST", ROUTES, routes_body(route(asPaths=[])), 400, "route-empty-as-path"),
    case("POST", ROUTES, routes_body(route(asPaths=["65001"])), 400, "route-as-path-wrong-type"),
    case("POST", ROUTES, routes_body(route(asPaths=[-1])), 400, "route-as-path-negative"),
    case("POST", ROUTES, routes_body(route(asPaths=[2**32])), 400, "route-as-path-too-big"),
    case("POST", ROUTES, routes_body(route(med=-1)), 400, "route-med-negative"),
    case("POST", ROUTES, routes_body(route(med=1.5)), 400, "route-med-fraction"),
    case("POST", ROUTES, routes_body(route(med=2**31)), 400, "route-med-too-big"),
    case("POST", ROUTES, routes_body(route(), route()), 400, "route-duplicate-prefix"),
    case(
        "POST", ROUTES, routes_body(*[route(prefix=f"10.{i}.0.0/16") for i in range(101)]), 400, "routes-more-than-100"
    ),
    case("POST", f"/_sim/peers/{UNKNOWN_PEER}/routes", routes_body(route()), 404, "routes-unknown-peer"),
    case("GET", f"/_sim/peers/{UNKNOWN_PEER}/routes", None, 404, "get-routes-unknown-peer"),
    case("POST", ENDPOINT, b'{"state": ', 400, "endpoint-truncated-json"),
    case("POST", ENDPOINT, as_json(state=1), 400, "endpoint-wrong-type"),
    case("POST", ENDPOINT, as_json(failureReason=["x"]), 400, "endpoint-reason-wrong-type"),
    case("POST", ENDPOINT, as_json(colour="red"), 400, "endpoint-unknown-field"),
    case("POST", f"/_sim/endpoints/{UNKNOWN_EP}", as_json(state="failed"), 404, "endpoint-unknown"),
    case("POST", ROUTE_SERVER, as_json(state=True), 400, "route-server-wrong-type"),
    case("POST", ROUTE_SERVER, as_json(persistRoutesState="enabled"), 400, "route-server-unknown-field"),
    case("POST", f"/_sim/route-servers/{UNKNOWN_RS}", as_json(state="failed"), 404, "route-server-unknown"),
    case("POST", "/_sim/rejections", as_json(**(REJECTION | {"prefix": "10.0.0.1/16"})), 400, "rejection-bad-prefix"),
    case("POST", "/_sim/rejections", as_json(**(REJECTION | {"routeTableId": "vpc-1"})), 400, "rejection-bad-rtb"),
    case("POST", "/_sim/rejections", as_json(**(REJECTION | {"reason": ""})), 400, "rejection-empty-reason"),
    case("POST", "/_sim/rejections", as_json(routeTableId=RTB, prefix="10.0.0.0/16"), 400, "rejection-missing-reason"),
    case("POST", "/_sim/rejections", as_json(**REJECTION, colour="red"), 400, "rejection-unknown-field"),
    case("POST", "/_sim/clock", as_json(advanceSeconds=-1), 400, "clock-negative"),
    case("POST", "/_sim/clock", as_json(advanceSeconds="10"), 400, "clock-wrong-type"),
    case("POST", "/_sim/clock", as_json(advanceSeconds=1e12), 400, "clock-too-far"),
    case("POST", "/_sim/clock", as_json(advanceSeconds=1, colour="red"), 400, "clock-unknown-field"),
    case("POST", "/_sim/clock", b"{}", 400, "clock-missing-field"),
    case("POST", "/_sim/fleet", fleet_body(routesPerPeer=101), 400, "fleet-101-routes"),
    case("POST", "/_sim/fleet", fleet_body(routesPerPeer=-1), 400, "fleet-negative-routes"),
    case("POST", "/_sim/fleet", fleet_body(routeServers=65, routesPerPeer=1), 400, "fleet-65-routed"),
    case("POST", "/_sim/fleet", fleet_body(persistRoutes="yes"), 400, "fleet-persist-wrong-type"),
    case("POST", "/_sim/fleet", fleet_body(routeServers=20000, peersPerRouteServer=0), 400, "fleet-too-many-rs"),
]


@pytest.mark.parametrize("method, path, body, status", ROUTING_CONTROL_ERRORS)
def test_routing_control_errors_are_json(ec2, sim, routed, method, path, body, status):
    p0 = routed["peers"][0]
    url = path.format(peer=p0, endpoint=routed["endpoint"][p0], rs=routed["rs"])
    before = routing_database(ec2, routed["rs"])
    answer = sim.control(method, url, raw=body)
    assert answer.status == status, answer
    assert answer.content_type.startswith("application/json"), answer.content_type
    payload = answer.json()
    assert set(payload) == {"error"} and isinstance(payload["error"], str) and payload["error"], payload
    # A refused request changes nothing.
    assert routing_database(ec2, routed["rs"]) == before
    assert sim.ok("GET", "/_sim/rejections") == {"rejections": []}
    assert sim.ok("GET", "/_sim/clock") == {"advancedSeconds": 0.0}
    assert len(sim.ok("GET", "/_sim/route-servers")) == 1


def test_control_errors_name_the_culprit(sim, routed):
    p0 = routed["peers"][0]
    answer = sim.control("POST", f"/_sim/peers/{p0}/routes", raw=routes_body(route(colour="red")))
    assert "colour" in answer.json()["error"]
    answer = sim.control("POST", f"/_sim/peers/{p0}/routes", raw=routes_body(route(), route(prefix="10.0.0.1/16")))
    assert "routes[1]" in answer.json()["error"] and "10.0.0.0/16" in answer.json()["error"]


# ---------------------------------------------------------------------------------------------
# Raw Query requests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, params, code",
    [
        pytest.param("ModifyRouteServer", {}, "MissingParameter", id="modify-missing-id"),
        # botocore sends any truthy value as `true`, so a non-boolean needs a raw request.
        pytest.param(
            "ModifyRouteServer", {"SnsNotificationsEnabled": "maybe"}, "InvalidParameterValue", id="modify-sns-not-bool"
        ),
        pytest.param("AssociateRouteServer", {}, "MissingParameter", id="associate-missing-vpc"),
        pytest.param("EnableRouteServerPropagation", {}, "MissingParameter", id="enable-missing-rtb"),
        pytest.param("GetRouteServerRoutingDatabase", {}, "MissingParameter", id="db-missing-id"),
        pytest.param("GetRouteServerRoutingDatabase", {"Colour": "red"}, "UnknownParameter", id="db-unknown-param"),
        pytest.param("GetRouteServerPropagations", {"VpcId": VPC}, "UnknownParameter", id="propagations-unknown-param"),
        pytest.param(
            "GetRouteServerRoutingDatabase", {"Filter.1.Name": "prefix"}, "InvalidParameterValue", id="filter-no-values"
        ),
    ],
)
def test_malformed_routing_queries_get_ec2_xml_errors(sim, action, params, code):
    # Every request names a route server, except where that parameter is what is missing.
    if code != "MissingParameter" or action not in ("ModifyRouteServer", "GetRouteServerRoutingDatabase"):
        params = {"RouteServerId": UNKNOWN_RS, **params}
    got, _ = raw_ec2_error(sim.query({"Action": action, "Version": API_VERSION, **params}))
    assert got == code


def test_sessions_dropped_together_persist_the_whole_fib(ec2, sim, routed):
    """`POST /_sim/peers` patches several peers before the routing is recomputed: every
    prefix is still in the persisted FIB, as when the sessions drop at the same moment."""
    rs_id, peers = routed["rs"], routed["peers"]
    before = fib(routing_database(ec2, rs_id)[1])
    answer = sim.ok("POST", "/_sim/peers", {"peers": {p: {"bgpStatus": "down"} for p in peers}})
    assert len(answer) == len(peers), answer
    persisted, routes = routing_database(ec2, rs_id)
    assert persisted is True
    assert fib(routes) == before


def test_patching_several_peers_with_one_unknown_changes_nothing(sim, routed):
    peers = routed["peers"]
    answer = sim.control(
        "POST", "/_sim/peers", {"peers": {peers[0]: {"bgpStatus": "down"}, "rsp-0000000000000dead": {"bgpStatus": "down"}}}
    )
    assert answer.status == 404 and "rsp-0000000000000dead" in answer.json()["error"], answer
    assert {p["routeServerPeerId"]: p["bgpStatus"] for p in sim.peers()}[peers[0]] == "up"
