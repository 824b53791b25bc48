"""route-server-sim as an independent client sees it.

boto3 parses every answer with botocore's own EC2 model and Query-protocol parser, none of our
code, so what passes here is EC2's wire format as the AWS SDKs understand it. Raw HTTP (urllib)
covers what an SDK would refuse to send: unknown actions, garbage bodies, out-of-range values.
"""

import collections
import ipaddress
import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from botocore import parsers
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
API_VERSION = "2016-11-15"

ID_RE = {
    kind: re.compile(rf"^{kind}-[0-9a-f]{{17}}$")
    for kind in ("rs", "rse", "rsp", "vpc", "subnet", "eni")
}
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UNKNOWN_PEER = "rsp-0000000000000dead"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def tag_specs(resource_type, tags):
    if not tags:
        return []
    return [
        {
            "ResourceType": resource_type,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
    ]


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def create_route_server(ec2, asn=65000, tags=None, **kwargs):
    return ec2.create_route_server(
        AmazonSideAsn=asn, TagSpecifications=tag_specs("route-server", tags), **kwargs
    )["RouteServer"]


def create_endpoint(ec2, route_server_id, subnet_id, tags=None):
    return ec2.create_route_server_endpoint(
        RouteServerId=route_server_id,
        SubnetId=subnet_id,
        TagSpecifications=tag_specs("route-server-endpoint", tags),
    )["RouteServerEndpoint"]


def create_peer(ec2, endpoint_id, address, asn=65001, liveness="bfd", tags=None):
    return ec2.create_route_server_peer(
        RouteServerEndpointId=endpoint_id,
        PeerAddress=address,
        BgpOptions={"PeerAsn": asn, "PeerLivenessDetection": liveness},
        TagSpecifications=tag_specs("route-server-peer", tags),
    )["RouteServerPeer"]


def describe_peer(ec2, peer_id):
    [peer] = ec2.describe_route_server_peers(RouteServerPeerIds=[peer_id])["RouteServerPeers"]
    return peer


def peer_ids(peers):
    return [p["RouteServerPeerId"] for p in peers]


def modeled_members(ec2, shape_name):
    """The member names botocore's EC2 model gives a response shape."""
    return set(ec2.meta.service_model.shape_for(shape_name).members)


def wait_until(fetch, done, timeout=5.0, interval=0.02):
    """Polls `fetch()` until `done(value)`; returns the value, or fails with the last one seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout}s; last value: {value!r}")
        time.sleep(interval)


def wait_for_state(ec2, peer_id, state):
    return wait_until(lambda: describe_peer(ec2, peer_id), lambda p: p["State"] == state)


def pages_by_hand(ec2, **kwargs):
    """Follows NextToken by hand; returns the list of pages (each a list of peers)."""
    pages, token = [], None
    while True:
        args = dict(kwargs, **({"NextToken": token} if token else {}))
        answer = ec2.describe_route_server_peers(**args)
        pages.append(answer["RouteServerPeers"])
        token = answer.get("NextToken")
        if not token:
            return pages
        assert len(pages) < 10_000, "NextToken never ran out"


def assert_each_exactly_once(pages, expected_ids):
    seen = [pid for page in pages for pid in peer_ids(page)]
    duplicates = [pid for pid, n in collections.Counter(seen).items() if n > 1]
    assert not duplicates, f"listed more than once: {duplicates[:5]}"
    assert set(seen) == set(expected_ids)
    assert len(seen) == len(expected_ids)


def client_error(call, *args, **kwargs):
    """Runs a boto3 call that must fail and returns the ClientError."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value


def assert_ec2_error(err, code, status=400):
    """A ClientError as botocore parsed it from EC2's envelope: code, HTTP status, request id."""
    assert err.response["Error"]["Code"] == code, err.response
    assert err.response["Error"]["Message"], err.response
    meta = err.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == status, meta
    assert REQUEST_ID_RE.match(meta["RequestId"]), meta


def raw_ec2_error(answer, status=400):
    """Checks a raw HTTP answer is EC2's XML error envelope, read both by hand and by botocore's
    own EC2 parser, and returns (code, message)."""
    assert answer.status == status, answer
    assert answer.content_type.startswith("text/xml"), answer.content_type
    root = ET.fromstring(answer.body)
    assert root.tag == "Response", answer
    [error] = root.findall("./Errors/Error")
    code, message = error.findtext("Code"), error.findtext("Message")
    assert code and message, answer
    assert REQUEST_ID_RE.match(root.findtext("RequestID") or ""), answer
    parsed = parsers.create_parser("ec2").parse(
        {"status_code": answer.status, "headers": dict(answer.headers), "body": answer.body}, None
    )
    assert parsed["Error"] == {"Code": code, "Message": message}
    assert parsed["ResponseMetadata"]["RequestId"] == root.findtext("RequestID")
    return code, message


def sigv4_headers(url, body):
    """Headers of a SigV4-signed EC2 Query POST, the way an SDK would sign it."""
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials("AKIDSIMULATOR0000000", "simulator-secret-key"), "ec2", "us-east-1").add_auth(
        request
    )
    return dict(request.headers.items())


def timed(call, *args, **kwargs):
    start = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - start


@pytest.fixture
def lax_ec2(make_ec2):
    """A client with botocore's client-side validation off, to send what the model forbids."""
    return make_ec2(parameter_validation=False)


@pytest.fixture
def once_ec2(make_ec2):
    """A client that never retries: every injected fault reaches the test."""
    return make_ec2(retries={"mode": "standard", "total_max_attempts": 1})


# ---------------------------------------------------------------------------------------------
# Create, describe, lifecycle
# ---------------------------------------------------------------------------------------------


def test_create_route_server_endpoint_and_peer_with_every_field(ec2, transition_s):
    rs = create_route_server(ec2, 65000, {"Name": "rs-test", "env": "dev"})
    assert ID_RE["rs"].match(rs["RouteServerId"])
    assert rs["AmazonSideAsn"] == 65000
    assert rs["State"] == "pending"
    assert tags_of(rs) == {"Name": "rs-test", "env": "dev"}
    assert rs["PersistRoutesState"] == "disabled"
    assert rs["SnsNotificationsEnabled"] is False
    assert set(rs) == modeled_members(ec2, "RouteServer") - {"PersistRoutesDuration", "SnsTopicArn"}

    ep = create_endpoint(ec2, rs["RouteServerId"], "subnet-0123456789abcdef0", {"Name": "ep-test"})
    assert ep["RouteServerId"] == rs["RouteServerId"]
    assert ID_RE["rse"].match(ep["RouteServerEndpointId"])
    assert ID_RE["vpc"].match(ep["VpcId"])
    assert ep["SubnetId"] == "subnet-0123456789abcdef0"
    assert ID_RE["eni"].match(ep["EniId"])
    assert ipaddress.ip_address(ep["EniAddress"]).version == 4
    assert ep["State"] == "pending"
    assert tags_of(ep) == {"Name": "ep-test"}
    assert set(ep) == modeled_members(ec2, "RouteServerEndpoint") - {"FailureReason"}

    started = time.monotonic()
    peer = create_peer(
        ec2, ep["RouteServerEndpointId"], "10.0.0.50", 65010, "bgp-keepalive", {"Name": "peer-test", "empty": ""}
    )
    assert ID_RE["rsp"].match(peer["RouteServerPeerId"])
    assert peer["RouteServerEndpointId"] == ep["RouteServerEndpointId"]
    assert peer["RouteServerId"] == rs["RouteServerId"]
    assert peer["VpcId"] == ep["VpcId"]
    assert peer["SubnetId"] == ep["SubnetId"]
    assert peer["EndpointEniId"] == ep["EniId"]
    assert peer["EndpointEniAddress"] == ep["EniAddress"]
    assert peer["PeerAddress"] == "10.0.0.50"
    assert peer["BgpOptions"] == {"PeerAsn": 65010, "PeerLivenessDetection": "bgp-keepalive"}
    assert peer["State"] == "pending"
    assert peer["BgpStatus"] == {"Status": "down"}
    assert peer["BfdStatus"] == {"Status": "down"}
    assert tags_of(peer) == {"Name": "peer-test", "empty": ""}
    assert set(peer) == modeled_members(ec2, "RouteServerPeer") - {"FailureReason"}

    # The same peer through DescribeRouteServerPeers, then available once the transition is over.
    described = describe_peer(ec2, peer["RouteServerPeerId"])
    assert described | {"State": "pending"} == peer
    available = wait_for_state(ec2, peer["RouteServerPeerId"], "available")
    assert time.monotonic() - started >= transition_s * 0.95
    assert available == peer | {"State": "available"}

    # Route server and endpoint move along too, and their describe calls parse.
    [listed_rs] = ec2.describe_route_servers(RouteServerIds=[rs["RouteServerId"]])["RouteServers"]
    assert listed_rs == rs | {"State": "available"}
    [listed_ep] = ec2.describe_route_server_endpoints(RouteServerEndpointIds=[ep["RouteServerEndpointId"]])[
        "RouteServerEndpoints"
    ]
    assert listed_ep == ep | {"State": "available"}


def test_route_server_options_round_trip(ec2):
    rs = create_route_server(
        ec2, 4_200_000_000, PersistRoutes="enable", PersistRoutesDuration=2, SnsNotificationsEnabled=True
    )
    assert rs["AmazonSideAsn"] == 4_200_000_000
    assert rs["PersistRoutesDuration"] == 2
    assert rs["SnsNotificationsEnabled"] is True
    assert rs["SnsTopicArn"].startswith("arn:aws:sns:")
    assert rs["Tags"] == []


def test_tag_specification_for_another_resource_type_is_rejected(ec2):
    rs = create_route_server(ec2)
    err = client_error(
        ec2.create_route_server_endpoint,
        RouteServerId=rs["RouteServerId"],
        SubnetId="subnet-0123456789abcdef0",
        TagSpecifications=tag_specs("route-server-peer", {"Name": "wrong"}),
    )
    assert_ec2_error(err, "InvalidParameterValue")


def test_delete_lifecycle_keeps_deleted_resources_listed(ec2):
    rs = create_route_server(ec2)
    ep = create_endpoint(ec2, rs["RouteServerId"], "subnet-0123456789abcdef0")
    peer = create_peer(ec2, ep["RouteServerEndpointId"], "10.0.0.50", tags={"Name": "doomed"})
    peer_id = peer["RouteServerPeerId"]
    wait_for_state(ec2, peer_id, "available")

    # An endpoint with a live peer cannot go first.
    err = client_error(ec2.delete_route_server_endpoint, RouteServerEndpointId=ep["RouteServerEndpointId"])
    assert_ec2_error(err, "DependencyViolation")

    deleting = ec2.delete_route_server_peer(RouteServerPeerId=peer_id)["RouteServerPeer"]
    assert deleting["RouteServerPeerId"] == peer_id
    assert deleting["State"] == "deleting"
    assert deleting["BgpStatus"] == {"Status": "down"}
    assert deleting["BfdStatus"] == {"Status": "down"}
    assert tags_of(deleting) == {"Name": "doomed"}

    deleted = wait_for_state(ec2, peer_id, "deleted")
    assert deleted == deleting | {"State": "deleted"}
    # Still listed, as EC2 keeps deleted resources visible for a while, and filterable by state.
    assert peer_ids(ec2.describe_route_server_peers()["RouteServerPeers"]) == [peer_id]
    by_state = ec2.describe_route_server_peers(Filters=[{"Name": "state", "Values": ["deleted"]}])
    assert peer_ids(by_state["RouteServerPeers"]) == [peer_id]

    # Then the endpoint and the route server, each deleting -> deleted and still listed.
    gone_ep = ec2.delete_route_server_endpoint(RouteServerEndpointId=ep["RouteServerEndpointId"])
    assert gone_ep["RouteServerEndpoint"]["State"] == "deleting"
    gone_rs = ec2.delete_route_server(RouteServerId=rs["RouteServerId"])
    assert gone_rs["RouteServer"]["State"] == "deleting"
    wait_until(
        lambda: ec2.describe_route_server_endpoints()["RouteServerEndpoints"],
        lambda eps: [e["State"] for e in eps] == ["deleted"],
    )
    wait_until(
        lambda: ec2.describe_route_servers()["RouteServers"],
        lambda rss: [r["State"] for r in rss] == ["deleted"],
    )


def test_fleet_peers_are_available_with_bgp_and_bfd_up(ec2, sim):
    ids = sim.fleet(2, 3, seed=11)
    peers = ec2.describe_route_server_peers()["RouteServerPeers"]
    assert peer_ids(peers) == ids
    for p in peers:
        assert ID_RE["rsp"].match(p["RouteServerPeerId"])
        assert (p["State"], p["BgpStatus"]["Status"], p["BfdStatus"]["Status"]) == ("available", "up", "up")
    liveness = collections.Counter(p["BgpOptions"]["PeerLivenessDetection"] for p in peers)
    assert liveness == {"bfd": 3, "bgp-keepalive": 3}
    assert len(ec2.describe_route_servers()["RouteServers"]) == 2
    assert len({p["RouteServerEndpointId"] for p in peers}) == 4

    sim.reset()
    assert sim.fleet(2, 3, seed=11) == ids, "the same seed gives the same fleet"


# ---------------------------------------------------------------------------------------------
# Paging
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def fleet_1200(sim):
    ids = sim.fleet(2, 600)
    assert len(set(ids)) == 1200
    return ids


@pytest.mark.parametrize(
    "max_results, sizes",
    [pytest.param(5, [5] * 240, id="MaxResults=5"), pytest.param(None, [1000, 200], id="default")],
)
def test_paging_by_hand(ec2, fleet_1200, max_results, sizes):
    args = {"MaxResults": max_results} if max_results else {}
    pages = pages_by_hand(ec2, **args)
    assert [len(p) for p in pages] == sizes
    assert_each_exactly_once(pages, fleet_1200)


@pytest.mark.parametrize(
    "page_size, sizes",
    [pytest.param(5, [5] * 240, id="PageSize=5"), pytest.param(None, [1000, 200], id="default")],
)
def test_paging_with_boto3_paginator(ec2, fleet_1200, page_size, sizes):
    config = {"PageSize": page_size} if page_size else {}
    paginator = ec2.get_paginator("describe_route_server_peers")
    pages = [page["RouteServerPeers"] for page in paginator.paginate(PaginationConfig=config)]
    assert [len(p) for p in pages] == sizes
    assert_each_exactly_once(pages, fleet_1200)


def test_paginator_full_result_and_max_items(ec2, fleet_1200):
    paginator = ec2.get_paginator("describe_route_server_peers")
    full = paginator.paginate(PaginationConfig={"PageSize": 250}).build_full_result()
    assert_each_exactly_once([full["RouteServerPeers"]], fleet_1200)
    first = paginator.paginate(PaginationConfig={"PageSize": 100, "MaxItems": 333}).build_full_result()
    assert len(first["RouteServerPeers"]) == 333
    rest = paginator.paginate(
        PaginationConfig={"PageSize": 100, "StartingToken": first["NextToken"]}
    ).build_full_result()
    assert_each_exactly_once([first["RouteServerPeers"], rest["RouteServerPeers"]], fleet_1200)


def test_paging_a_filtered_listing(ec2, sim, fleet_1200):
    route_server_id = sim.peers()[0]["routeServerId"]
    expected = [p["routeServerPeerId"] for p in sim.peers() if p["routeServerId"] == route_server_id]
    assert len(expected) == 600
    pages = pages_by_hand(
        ec2, MaxResults=7, Filters=[{"Name": "route-server-id", "Values": [route_server_id]}]
    )
    assert [len(p) for p in pages] == [7] * 85 + [5]
    assert_each_exactly_once(pages, expected)


def test_a_bad_next_token_is_a_client_error(ec2, fleet_1200):
    err = client_error(ec2.describe_route_server_peers, NextToken="not-a-token-we-gave-out")
    assert_ec2_error(err, "InvalidNextToken")


# ---------------------------------------------------------------------------------------------
# RouteServerPeerIds and filters
# ---------------------------------------------------------------------------------------------


def test_route_server_peer_ids_select_exactly_those(ec2, sim):
    ids = sim.fleet(1, 20)
    wanted = [ids[17], ids[3], ids[0]]
    peers = ec2.describe_route_server_peers(RouteServerPeerIds=wanted)["RouteServerPeers"]
    assert sorted(peer_ids(peers)) == sorted(wanted)
    assert describe_peer(ec2, ids[9])["RouteServerPeerId"] == ids[9]


@pytest.fixture
def small_world(ec2, sim):
    """Two route servers, three endpoints, four peers with tags and pinned states:

        peer  route server  endpoint  address        tags                   state
        p1    rs_a          ep_a1     10.0.0.10      env=prod, team=net     available
        p2    rs_a          ep_a1     10.0.0.11      env=staging            failed
        p3    rs_a          ep_a2     10.1.0.10      env=prod               available
        p4    rs_b          ep_b1     192.168.1.10   team=ops               pending

    Returns the names above (plus vpc_a, vpc_b, subnet_*) mapped to their ids or values.
    """
    w = {}
    w["rs_a"] = create_route_server(ec2, 65000, {"Name": "rs-a"})["RouteServerId"]
    w["rs_b"] = create_route_server(ec2, 65100, {"Name": "rs-b"})["RouteServerId"]
    for name, rs, subnet in [
        ("a1", "rs_a", "subnet-0a00000000000a001"),
        ("a2", "rs_a", "subnet-0a00000000000a002"),
        ("b1", "rs_b", "subnet-0b00000000000b001"),
    ]:
        ep = create_endpoint(ec2, w[rs], subnet, {"Name": f"ep-{name}"})
        w[f"ep_{name}"] = ep["RouteServerEndpointId"]
        w[f"subnet_{name}"] = ep["SubnetId"]
        w[f"vpc_{name[0]}"] = ep["VpcId"]
    for name, ep, address, tags, state in [
        ("p1", "ep_a1", "10.0.0.10", {"env": "prod", "team": "net"}, "available"),
        ("p2", "ep_a1", "10.0.0.11", {"env": "staging"}, "failed"),
        ("p3", "ep_a2", "10.1.0.10", {"env": "prod"}, "available"),
        ("p4", "ep_b1", "192.168.1.10", {"team": "ops"}, "pending"),
    ]:
        w[name] = create_peer(ec2, w[ep], address, tags=tags)["RouteServerPeerId"]
        sim.patch_peer(w[name], state=state)
    assert w["vpc_a"] != w["vpc_b"]
    return w


def describe_names(ec2, world, **kwargs):
    """Runs DescribeRouteServerPeers and names the peers it returns as the small world does."""
    name_of = {v: k for k, v in world.items()}
    return {name_of[pid] for pid in peer_ids(ec2.describe_route_server_peers(**kwargs)["RouteServerPeers"])}


def F(name, *values):
    return {"Name": name, "Values": list(values)}


FILTER_CASES = [
    pytest.param([F("route-server-id", "{rs_a}")], {"p1", "p2", "p3"}, id="route-server-id"),
    pytest.param([F("route-server-endpoint-id", "{ep_a1}")], {"p1", "p2"}, id="route-server-endpoint-id"),
    pytest.param([F("vpc-id", "{vpc_b}")], {"p4"}, id="vpc-id"),
    pytest.param([F("subnet-id", "{subnet_a2}")], {"p3"}, id="subnet-id"),
    pytest.param([F("state", "failed")], {"p2"}, id="state"),
    pytest.param([F("peer-address", "10.0.0.11")], {"p2"}, id="peer-address"),
    pytest.param([F("tag:env", "prod")], {"p1", "p3"}, id="tag:key"),
    pytest.param([F("tag-key", "team")], {"p1", "p4"}, id="tag-key"),
    pytest.param([F("tag-value", "ops")], {"p4"}, id="tag-value"),
    pytest.param([F("peer-address", "10.*")], {"p1", "p2", "p3"}, id="wildcard-star"),
    pytest.param([F("peer-address", "10.?.0.10")], {"p1", "p3"}, id="wildcard-question-mark"),
    pytest.param([F("tag:env", "*ing")], {"p2"}, id="wildcard-in-tag-value"),
    pytest.param([F("state", "available", "pending")], {"p1", "p3", "p4"}, id="values-ORed"),
    pytest.param([F("peer-address", "10.0.0.10", "192.168.1.10")], {"p1", "p4"}, id="addresses-ORed"),
    pytest.param([F("route-server-id", "{rs_a}"), F("tag:env", "prod")], {"p1", "p3"}, id="filters-ANDed"),
    pytest.param(
        [F("state", "available"), F("tag:env", "prod"), F("subnet-id", "{subnet_a1}")],
        {"p1"},
        id="three-filters-ANDed",
    ),
    pytest.param([F("tag:env", "prod"), F("tag:team", "ops")], set(), id="ANDed-to-nothing"),
    pytest.param([F("tag:env", "dev")], set(), id="no-match"),
    pytest.param([F("route-server-peer-id", "{p2}", "{p4}")], {"p2", "p4"}, id="route-server-peer-id"),
]


@pytest.mark.parametrize("filters, expected", FILTER_CASES)
def test_filters(ec2, small_world, filters, expected):
    resolved = [
        {"Name": f["Name"], "Values": [v.format(**small_world) for v in f["Values"]]} for f in filters
    ]
    assert describe_names(ec2, small_world, Filters=resolved) == expected


def test_ids_and_filters_combine(ec2, small_world):
    w = small_world
    found = describe_names(ec2, w, RouteServerPeerIds=[w["p1"], w["p2"]], Filters=[F("tag:env", "prod")])
    assert found == {"p1"}


def test_endpoint_and_route_server_filters(ec2, small_world):
    w = small_world
    eps = ec2.describe_route_server_endpoints(Filters=[F("route-server-id", w["rs_a"])])["RouteServerEndpoints"]
    assert {e["RouteServerEndpointId"] for e in eps} == {w["ep_a1"], w["ep_a2"]}
    rss = ec2.describe_route_servers(Filters=[F("tag:Name", "rs-b")])["RouteServers"]
    assert [r["RouteServerId"] for r in rss] == [w["rs_b"]]


# ---------------------------------------------------------------------------------------------
# EC2 error codes
# ---------------------------------------------------------------------------------------------


def test_max_results_above_1000_is_invalid_parameter_value(ec2):
    # botocore checks only the model's minimum on the client side, so 1001 reaches the server.
    err = client_error(ec2.describe_route_server_peers, MaxResults=1001)
    assert_ec2_error(err, "InvalidParameterValue")


@pytest.mark.parametrize("max_results", [4, 0, -1, 5000])
def test_max_results_out_of_range_unvalidated(lax_ec2, max_results):
    err = client_error(lax_ec2.describe_route_server_peers, MaxResults=max_results)
    assert_ec2_error(err, "InvalidParameterValue")


@pytest.mark.parametrize("max_results", [5, 1000])
def test_max_results_bounds_are_accepted(ec2, sim, max_results):
    sim.fleet(1, 6)
    peers = ec2.describe_route_server_peers(MaxResults=max_results)["RouteServerPeers"]
    assert len(peers) == min(6, max_results)


def test_unknown_filter_name_is_invalid_parameter_value(ec2, sim):
    sim.fleet(1, 2)
    err = client_error(ec2.describe_route_server_peers, Filters=[F("colour", "red")])
    assert_ec2_error(err, "InvalidParameterValue")
    assert "colour" in err.response["Error"]["Message"]


def test_filter_without_values_is_invalid_parameter_value(ec2):
    err = client_error(ec2.describe_route_server_peers, Filters=[{"Name": "state", "Values": []}])
    assert_ec2_error(err, "InvalidParameterValue")


def test_unknown_peer_id_is_not_found(ec2, sim):
    known = sim.fleet(1, 1)[0]
    for ids in ([UNKNOWN_PEER], [known, UNKNOWN_PEER]):
        err = client_error(ec2.describe_route_server_peers, RouteServerPeerIds=ids)
        assert_ec2_error(err, "InvalidRouteServerPeerId.NotFound")
        assert UNKNOWN_PEER in err.response["Error"]["Message"]
    err = client_error(ec2.delete_route_server_peer, RouteServerPeerId=UNKNOWN_PEER)
    assert_ec2_error(err, "InvalidRouteServerPeerId.NotFound")


def test_malformed_peer_id(ec2):
    err = client_error(ec2.describe_route_server_peers, RouteServerPeerIds=["peer-1"])
    assert_ec2_error(err, "InvalidRouteServerPeerId.Malformed")


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "sigv4-signed"])
def test_unknown_action_is_invalid_action(sim, signed):
    body = f"Action=RunInstances&Version={API_VERSION}&ImageId=ami-12345678&MinCount=1&MaxCount=1".encode()
    headers = sigv4_headers(sim.url, body) if signed else {}
    code, message = raw_ec2_error(sim.query(body, headers=headers))
    assert code == "InvalidAction"
    assert "RunInstances" in message


def test_dry_run_is_dry_run_operation_412(ec2, small_world):
    err = client_error(ec2.describe_route_server_peers, DryRun=True)
    assert_ec2_error(err, "DryRunOperation", 412)
    before = ec2.describe_route_server_peers()["RouteServerPeers"]
    err = client_error(
        ec2.create_route_server_peer,
        RouteServerEndpointId=small_world["ep_a1"],
        PeerAddress="10.0.0.99",
        BgpOptions={"PeerAsn": 65001},
        DryRun=True,
    )
    assert_ec2_error(err, "DryRunOperation", 412)
    assert ec2.describe_route_server_peers()["RouteServerPeers"] == before, "a dry run creates nothing"


def assert_describe_peers_envelope(answer, count):
    assert answer.status == 200, answer
    assert answer.content_type.startswith("text/xml"), answer.content_type
    root = ET.fromstring(answer.body)
    assert root.tag == f"{{{EC2_NS}}}DescribeRouteServerPeersResponse"
    assert REQUEST_ID_RE.match(root.findtext(f"{{{EC2_NS}}}requestId") or "")
    assert len(root.findall(f"{{{EC2_NS}}}routeServerPeerSet/{{{EC2_NS}}}item")) == count


def test_success_envelope_is_ec2s(sim):
    sim.fleet(1, 2)
    assert_describe_peers_envelope(sim.query({"Action": "DescribeRouteServerPeers", "Version": API_VERSION}), 2)


def test_query_string_get_is_served_too(sim):
    sim.fleet(1, 2)
    assert_describe_peers_envelope(sim.get(f"/?Action=DescribeRouteServerPeers&Version={API_VERSION}"), 2)


# ---------------------------------------------------------------------------------------------
# Injected faults
# ---------------------------------------------------------------------------------------------

SERVER_FAULTS = [
    pytest.param("RequestLimitExceeded", 503, id="throttled-503"),
    pytest.param("InternalError", 500, id="internal-500"),
]


@pytest.mark.parametrize("code, status", SERVER_FAULTS)
def test_fault_surfaces_as_ec2_error(once_ec2, sim, code, status):
    sim.fleet(1, 1)
    sim.fault("DescribeRouteServerPeers", 1, code=code, status=status)
    err = client_error(once_ec2.describe_route_server_peers)
    assert_ec2_error(err, code, status)
    assert once_ec2.describe_route_server_peers()["RouteServerPeers"], "count 1 fails one call only"


@pytest.mark.parametrize("code, status", SERVER_FAULTS)
def test_standard_retries_ride_over_two_faults(ec2, sim, code, status):
    ids = sim.fleet(1, 3)
    sim.fault("DescribeRouteServerPeers", 2, code=code, status=status)
    answer = ec2.describe_route_server_peers()
    assert peer_ids(answer["RouteServerPeers"]) == ids
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2


@pytest.mark.parametrize("code, status", SERVER_FAULTS)
def test_standard_retries_give_up_after_three_attempts(ec2, sim, code, status):
    sim.fleet(1, 1)
    sim.fault("DescribeRouteServerPeers", 5, code=code, status=status)
    err = client_error(ec2.describe_route_server_peers)
    assert_ec2_error(err, code, status)
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 2
    # Three of the five are spent: the next call fails twice more, then gets through.
    answer = ec2.describe_route_server_peers()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2


def test_fault_hits_only_its_action(once_ec2, sim):
    sim.fault("DescribeRouteServerPeers", 1, code="InternalError", status=500)
    assert once_ec2.describe_route_servers()["ResponseMetadata"]["RetryAttempts"] == 0
    assert_ec2_error(client_error(once_ec2.describe_route_server_peers), "InternalError", 500)


def test_wildcard_fault_hits_every_action(once_ec2, sim):
    sim.fault("*", 2, code="RequestLimitExceeded", status=503)
    assert_ec2_error(client_error(once_ec2.describe_route_servers), "RequestLimitExceeded", 503)
    assert_ec2_error(client_error(once_ec2.describe_route_server_endpoints), "RequestLimitExceeded", 503)
    once_ec2.describe_route_server_peers()


def test_delay_fault_slows_calls_down_then_stops(ec2, sim):
    sim.fleet(1, 1)
    sim.fault("DescribeRouteServerPeers", 1, delayMs=600)
    answer, slow = timed(ec2.describe_route_server_peers)
    assert len(answer["RouteServerPeers"]) == 1
    assert slow >= 0.6
    _, fast = timed(ec2.describe_route_server_peers)
    assert fast < 0.5


def test_delay_and_error_together(once_ec2, sim):
    sim.fault("DescribeRouteServerPeers", 1, delayMs=300, code="InternalError", status=500)
    err, took = timed(client_error, once_ec2.describe_route_server_peers)
    assert_ec2_error(err, "InternalError", 500)
    assert took >= 0.3


def test_empty_pages_keep_a_paginator_going(ec2, sim):
    """EC2 may answer a page with no items and a nextToken; botocore's paginator goes on."""
    ids = sim.fleet(1, 3)
    sim.fault("DescribeRouteServerPeers", 2, emptyPage=True)
    pages = list(ec2.get_paginator("describe_route_server_peers").paginate())
    assert [len(p["RouteServerPeers"]) for p in pages] == [0, 0, 3]
    assert pages[0]["NextToken"] != pages[1]["NextToken"], "a token never comes back unchanged"
    assert peer_ids(pages[2]["RouteServerPeers"]) == ids


def test_empty_statuses_are_omitted_from_the_wire(ec2, sim):
    """bgpStatus/bfdStatus are optional in EC2's model: an empty one is left out, as EC2 does."""
    [peer_id] = sim.fleet(1, 1)
    sim.patch_peer(peer_id, bgpStatus="", bfdStatus="")
    peer = describe_peer(ec2, peer_id)
    assert "BgpStatus" not in peer and "BfdStatus" not in peer
    assert peer["State"] == "available"


def test_change_log_records_every_peer_change(ec2, sim):
    sim.ok("POST", "/_sim/log")
    [a, b] = sim.fleet(1, 2)
    sim.patch_peer(a, bgpStatus="down")
    sim.vanish(b)
    changes = sim.ok("GET", "/_sim/log")["changes"]
    assert [c["kind"] for c in changes] == ["created", "created", "changed", "removed"]
    assert {c["routeServerPeerId"] for c in changes[:2]} == {a, b}
    assert (changes[2]["routeServerPeerId"], changes[3]["routeServerPeerId"]) == (a, b)
    change = changes[2]
    assert (change["from"]["bgpStatus"], change["to"]["bgpStatus"]) == ("up", "down")
    assert [c["seq"] for c in changes] == [1, 2, 3, 4]
    assert all(isinstance(c["atMs"], int) for c in changes)


def test_retries_ride_over_a_read_timeout(make_ec2, sim):
    ec2 = make_ec2(read_timeout=1)
    sim.fleet(1, 1)
    sim.fault("DescribeRouteServerPeers", 1, delayMs=3000)
    answer, took = timed(ec2.describe_route_server_peers)
    assert len(answer["RouteServerPeers"]) == 1
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert 1 <= took < 3


# ---------------------------------------------------------------------------------------------
# Control API
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def one_peer(sim):
    return sim.fleet(1, 1)[0]


def as_json(**fields):
    return json.dumps(fields).encode()


def error_case(method, path, body, status, case_id):
    return pytest.param(method, path, body, status, id=case_id)


FAULT = {"action": "DescribeRouteServerPeers"}
PATCH = "/_sim/peers/{peer}"
CONTROL_ERRORS = [
    # Bad JSON, wrong types, unknown fields and refused values: 400.
    error_case("POST", "/_sim/fleet", b'{"routeServers": 1,', 400, "fleet-truncated-json"),
    error_case("POST", "/_sim/fleet", b"routeServers=1", 400, "fleet-not-json"),
    error_case("POST", "/_sim/fleet", b"[1, 2]", 400, "fleet-array"),
    error_case("POST", "/_sim/fleet", as_json(routeServers="two", peersPerRouteServer=1), 400, "fleet-wrong-type"),
    error_case("POST", "/_sim/fleet", as_json(routeServers=-1, peersPerRouteServer=1), 400, "fleet-negative"),
    error_case("POST", "/_sim/fleet", as_json(routeServers=1), 400, "fleet-missing-field"),
    error_case(
        "POST", "/_sim/fleet", as_json(routeServers=1, peersPerRouteServer=1, colour="red"), 400, "fleet-unknown-field"
    ),
    error_case("POST", "/_sim/fleet", as_json(routeServers=0, peersPerRouteServer=1), 400, "fleet-zero"),
    error_case("POST", "/_sim/fleet", as_json(routeServers=1000, peersPerRouteServer=1000), 400, "fleet-too-big"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count=1)[:-1], 400, "fault-truncated-json"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count=1), 400, "fault-neither-error-nor-delay"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count=1, code="InternalError"), 400, "fault-code-no-status"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count=1, code="Ok", status=200), 400, "fault-status-200"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count=0, delayMs=1), 400, "fault-count-0"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count="1", delayMs=1), 400, "fault-wrong-type"),
    error_case("POST", "/_sim/faults", as_json(**FAULT, count=1, delayMs=1, times=3), 400, "fault-unknown-field"),
    error_case("POST", "/_sim/faults", as_json(action="", count=1, delayMs=1), 400, "fault-empty-action"),
    error_case("POST", PATCH, b'{"state": "failed"', 400, "patch-truncated-json"),
    error_case("POST", PATCH, as_json(state=5), 400, "patch-wrong-type"),
    error_case("POST", PATCH, as_json(failureReason=42), 400, "patch-reason-wrong-type"),
    error_case("POST", PATCH, as_json(colour="red"), 400, "patch-unknown-field"),
    # Unknown peers and routes: 404.
    error_case("POST", f"/_sim/peers/{UNKNOWN_PEER}", as_json(state="failed"), 404, "patch-unknown-peer"),
    error_case("POST", f"/_sim/peers/{UNKNOWN_PEER}/vanish", b"", 404, "vanish-unknown-peer"),
    error_case("GET", "/_sim/no-such-thing", None, 404, "unknown-route"),
]


@pytest.mark.parametrize("method, path, body, status", CONTROL_ERRORS)
def test_control_api_errors_are_json(ec2, sim, one_peer, method, path, body, status):
    answer = sim.control(method, path.format(peer=one_peer), raw=body)
    assert answer.status == status, answer
    assert answer.content_type.startswith("application/json"), answer.content_type
    payload = answer.json()
    assert set(payload) == {"error"} and isinstance(payload["error"], str) and payload["error"], payload
    # A refused request changes nothing: no fault armed, the peer as it was.
    answer = ec2.describe_route_server_peers()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 0
    [peer] = answer["RouteServerPeers"]
    assert (peer["RouteServerPeerId"], peer["State"]) == (one_peer, "available")
    assert "FailureReason" not in peer


def test_patch_sets_fields_and_null_failure_reason_clears_it(ec2, sim, one_peer):
    view = sim.patch_peer(one_peer, state="failed", failureReason="BGP hold timer expired", bgpStatus="down")
    assert (view["routeServerPeerId"], view["state"], view["failureReason"]) == (
        one_peer,
        "failed",
        "BGP hold timer expired",
    )
    peer = describe_peer(ec2, one_peer)
    assert peer["State"] == "failed"
    assert peer["FailureReason"] == "BGP hold timer expired"
    assert peer["BgpStatus"] == {"Status": "down"}
    assert peer["BfdStatus"] == {"Status": "up"}

    # Leaving failureReason out keeps it; null clears it.
    sim.patch_peer(one_peer, bfdStatus="down")
    assert describe_peer(ec2, one_peer)["FailureReason"] == "BGP hold timer expired"
    view = sim.patch_peer(one_peer, failureReason=None, state="available")
    assert view["failureReason"] is None
    peer = describe_peer(ec2, one_peer)
    assert "FailureReason" not in peer
    assert (peer["State"], peer["BgpStatus"]["Status"], peer["BfdStatus"]["Status"]) == ("available", "down", "down")


def test_unknown_enum_values_reach_boto3_as_raw_strings(ec2, sim, one_peer):
    sim.patch_peer(one_peer, state="quarantined", bgpStatus="flapping", bfdStatus="admin-down")
    peer = describe_peer(ec2, one_peer)
    assert peer["State"] == "quarantined"
    assert peer["BgpStatus"] == {"Status": "flapping"}
    assert peer["BfdStatus"] == {"Status": "admin-down"}
    by_state = ec2.describe_route_server_peers(Filters=[F("state", "quarantined")])["RouteServerPeers"]
    assert peer_ids(by_state) == [one_peer]


def test_control_view_agrees_with_boto3(ec2, sim):
    sim.fleet(1, 4)
    boto = {p["RouteServerPeerId"]: p for p in ec2.describe_route_server_peers()["RouteServerPeers"]}
    views = sim.peers()
    assert [v["routeServerPeerId"] for v in views] == list(boto)
    for v in views:
        p = boto[v["routeServerPeerId"]]
        assert (v["routeServerId"], v["routeServerEndpointId"], v["vpcId"], v["subnetId"]) == (
            p["RouteServerId"],
            p["RouteServerEndpointId"],
            p["VpcId"],
            p["SubnetId"],
        )
        assert (v["state"], v["bgpStatus"], v["bfdStatus"]) == (
            p["State"],
            p["BgpStatus"]["Status"],
            p["BfdStatus"]["Status"],
        )
        assert (v["peerAddress"], v["peerAsn"], v["peerLivenessDetection"]) == (
            p["PeerAddress"],
            p["BgpOptions"]["PeerAsn"],
            p["BgpOptions"]["PeerLivenessDetection"],
        )
        assert v["tags"] == tags_of(p)


def test_vanish_drops_a_peer_from_every_listing(ec2, sim):
    ids = sim.fleet(1, 5)
    gone = ids[2]
    view = sim.vanish(gone)
    assert view["routeServerPeerId"] == gone
    assert peer_ids(ec2.describe_route_server_peers()["RouteServerPeers"]) == ids[:2] + ids[3:]
    assert gone not in [v["routeServerPeerId"] for v in sim.peers()]
    assert ec2.describe_route_server_peers(Filters=[F("route-server-peer-id", gone)])["RouteServerPeers"] == []
    err = client_error(ec2.describe_route_server_peers, RouteServerPeerIds=[gone])
    assert_ec2_error(err, "InvalidRouteServerPeerId.NotFound")
    assert sim.control("POST", f"/_sim/peers/{gone}/vanish").status == 404


def test_reset_empties_the_world_and_disarms_faults(once_ec2, sim):
    sim.fleet(1, 3)
    sim.fault("DescribeRouteServerPeers", 1, code="InternalError", status=500)
    sim.reset()
    assert once_ec2.describe_route_server_peers()["RouteServerPeers"] == []
    assert once_ec2.describe_route_servers()["RouteServers"] == []


# ---------------------------------------------------------------------------------------------
# Malformed Query requests: always EC2's XML error, never a hang or a 5xx
# ---------------------------------------------------------------------------------------------

MALFORMED = [
    pytest.param(b"", "MissingAction", id="empty-body"),
    pytest.param(b"\xff\xfe%%%\x00&&==\x80\x81garbage", "MissingAction", id="garbage-bytes"),
    pytest.param(bytes(range(256)) * 4, "MissingAction", id="every-byte"),
    pytest.param(f"Version={API_VERSION}&MaxResults=5".encode(), "MissingAction", id="missing-action"),
    pytest.param(b'{"Action": "DescribeRouteServerPeers"}', "MissingAction", id="json-body"),
    pytest.param(b"Action=%E0%80%ZZ&Version=2016-11-15", "InvalidAction", id="broken-percent-escapes"),
    pytest.param(b"Action=DescribeRouteServerPeers&MaxResults=ten", "InvalidParameterValue", id="non-integer"),
    pytest.param(b"Action=DescribeRouteServerPeers&DryRun=maybe", "InvalidParameterValue", id="non-boolean"),
    pytest.param(b"Action=DescribeRouteServerPeers&Filter.x.Name=state", "UnknownParameter", id="bad-list-index"),
    pytest.param(b"Action=DescribeRouteServerPeers&Colour=red", "UnknownParameter", id="unknown-parameter"),
    pytest.param(b"Action=DescribeRouteServerPeers&Version=2014-01-01", "NoSuchVersion", id="old-version"),
    pytest.param(b"Action=CreateRouteServerPeer&Version=2016-11-15", "MissingParameter", id="missing-parameter"),
]


@pytest.mark.parametrize("body, code", MALFORMED)
def test_malformed_query_gets_an_ec2_xml_error(ec2, sim, body, code):
    got, _ = raw_ec2_error(sim.query(body))
    assert got == code
    # And the simulator is still there for the next caller.
    assert ec2.describe_route_server_peers()["RouteServerPeers"] == []
