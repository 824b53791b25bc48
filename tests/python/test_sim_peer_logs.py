"""route-server-sim's peer logs: `GET /_sim/peer-logs?since=MS`, the EVENT_LOGS records route
server peer logging would have delivered, for changes driven through boto3 (the EC2 actions) and
the control API. Records are checked field for field: names, order, types, values.
"""

import json
import math
import time
import urllib.parse

import pytest

from test_sim_boto3 import create_endpoint, create_peer, create_route_server, describe_peer, wait_for_state, wait_until
from test_sim_routes_boto3 import routing_database

ACCOUNT = "123456789012"
RECORD_KEYS = ["resource_arn", "event_timestamp", "type", "status", "message"]
MESSAGE_KEYS = ["prefix", "asPath", "med", "nextHopIp"]


def arn(peer_id):
    return f"arn:aws:ec2:us-east-1:{ACCOUNT}:route-server-peer/{peer_id}"


def peer_logs(sim, since=None, query=None):
    """The raw answer of GET /_sim/peer-logs (`query` overrides `since` with a literal string)."""
    if query is None:
        query = "" if since is None else urllib.parse.urlencode({"since": since})
    return sim.get("/_sim/peer-logs" + ("?" + query if query else ""))


def records(sim, since=None):
    """The records, each checked for its exact shape: keys in EVENT_LOGS order, JSON types."""
    answer = peer_logs(sim, since)
    assert answer.status == 200, answer
    assert answer.content_type.startswith("application/json"), answer.content_type
    pairs = json.loads(answer.body, object_pairs_hook=lambda kv: kv)
    assert [k for k, _ in pairs] == ["records"], pairs[:1]
    out = []
    for fields in pairs[0][1]:
        assert [k for k, _ in fields] == RECORD_KEYS, fields
        record = dict(fields)
        assert type(record["event_timestamp"]) is int, record
        assert record["resource_arn"].startswith(f"arn:aws:ec2:us-east-1:{ACCOUNT}:route-server-peer/rsp-"), record
        if record["type"] == "RouteStatus":
            assert record["status"] in ("ADVERTISED", "UPDATED", "WITHDRAWN"), record
            assert [k for k, _ in record["message"]] == MESSAGE_KEYS, record
            record["message"] = dict(record["message"])
            message = record["message"]
            assert type(message["med"]) is int, record
            assert all(type(message[k]) is str for k in ("prefix", "asPath", "nextHopIp")), record
        else:
            assert record["type"] in ("BGPStatus", "BFDStatus"), record
            assert record["status"] in ("UP", "DOWN"), record
            assert record["message"] is None, record
        out.append(record)
    stamps = [r["event_timestamp"] for r in out]
    assert stamps == sorted(stamps), "records come in event_timestamp order"
    return out


def brief(recs):
    """(peer id, type, status, prefix or None) of each record."""
    return [
        (r["resource_arn"].rsplit("/", 1)[1], r["type"], r["status"], (r["message"] or {}).get("prefix"))
        for r in recs
    ]


def status(peer_id, kind, value):
    return (peer_id, kind, value, None)


def route(peer_id, value, prefix):
    return (peer_id, "RouteStatus", value, prefix)


def new_records(sim, before):
    """The records logged after the first `before` ones."""
    return records(sim)[len(before):]


def wall_ms_floor():
    return math.floor(time.time() * 1000)


def wall_ms_ceil():
    return math.ceil(time.time() * 1000)


@pytest.fixture
def boto3_peer(ec2, sim):
    """A route server, endpoint and BFD peer made through boto3, the peer `available` (BGP and BFD down)."""
    rs = create_route_server(ec2)
    ep = create_endpoint(ec2, rs["RouteServerId"], "subnet-0123456789abcdef0")
    wait_until(
        lambda: ec2.describe_route_server_endpoints(RouteServerEndpointIds=[ep["RouteServerEndpointId"]]),
        lambda a: a["RouteServerEndpoints"][0]["State"] == "available",
    )
    peer = create_peer(ec2, ep["RouteServerEndpointId"], "10.0.0.10", asn=65010, liveness="bfd")
    return wait_for_state(ec2, peer["RouteServerPeerId"], "available")


# ---------------------------------------------------------------------------------------------
# What is logged, through boto3 and the control API
# ---------------------------------------------------------------------------------------------


def test_a_boto3_peer_logs_its_session_coming_up_and_its_deletion_taking_it_down(ec2, sim, boto3_peer):
    pid = boto3_peer["RouteServerPeerId"]
    assert (boto3_peer["BgpStatus"]["Status"], boto3_peer["BfdStatus"]["Status"]) == ("down", "down")
    # Created down: no session yet, nothing to log.
    assert records(sim) == []
    # What it will advertise, set while the session is down: no advertisement yet.
    sim.set_routes(
        pid,
        [{"prefix": "10.24.34.0/24", "asPaths": [65010, 65020], "med": 100}, {"prefix": "10.24.35.0/24", "asPaths": [65010]}],
    )
    assert records(sim) == []

    before = wall_ms_floor()
    sim.patch_peer(pid, bgpStatus="up", bfdStatus="up")
    after = wall_ms_ceil()
    up = records(sim)
    at = up[0]["event_timestamp"]
    assert before <= at <= after, (before, at, after)
    assert up == [
        {"resource_arn": arn(pid), "event_timestamp": at, "type": "BFDStatus", "status": "UP", "message": None},
        {"resource_arn": arn(pid), "event_timestamp": at, "type": "BGPStatus", "status": "UP", "message": None},
        {
            "resource_arn": arn(pid),
            "event_timestamp": at,
            "type": "RouteStatus",
            "status": "ADVERTISED",
            "message": {"prefix": "10.24.34.0/24", "asPath": "65010 65020", "med": 100, "nextHopIp": "10.0.0.10"},
        },
        {
            "resource_arn": arn(pid),
            "event_timestamp": at,
            "type": "RouteStatus",
            "status": "ADVERTISED",
            "message": {"prefix": "10.24.35.0/24", "asPath": "65010", "med": 0, "nextHopIp": "10.0.0.10"},
        },
    ]
    # What boto3 reads agrees with the log: the session up, the routes in the routing database.
    peer = describe_peer(ec2, pid)
    assert (peer["BgpStatus"]["Status"], peer["BfdStatus"]["Status"]) == ("up", "up")
    _, db = routing_database(ec2, peer["RouteServerId"])
    assert sorted((r["Prefix"], " ".join(r["AsPaths"]), r["Med"], r["NextHopIp"]) for r in db) == [
        (r["message"]["prefix"], r["message"]["asPath"], r["message"]["med"], r["message"]["nextHopIp"]) for r in up[2:]
    ]

    # DeleteRouteServerPeer takes the session down: BFD, BGP, then the routes, as they were.
    ec2.delete_route_server_peer(RouteServerPeerId=pid)
    down = new_records(sim, up)
    at = down[0]["event_timestamp"]
    assert down == [
        {"resource_arn": arn(pid), "event_timestamp": at, "type": "BFDStatus", "status": "DOWN", "message": None},
        {"resource_arn": arn(pid), "event_timestamp": at, "type": "BGPStatus", "status": "DOWN", "message": None},
        dict(up[2], event_timestamp=at, status="WITHDRAWN"),
        dict(up[3], event_timestamp=at, status="WITHDRAWN"),
    ]
    assert describe_peer(ec2, pid)["State"] in ("deleting", "deleted")
    # Settling into `deleted` changes no session.
    wait_for_state(ec2, pid, "deleted")
    assert records(sim) == up + down


def test_a_routed_fleet_comes_up_logged_and_its_records_match_what_boto3_reads(ec2, sim):
    answer = sim.fleet_answer(1, 4, seed=7, routesPerPeer=2, persistRoutes=True)
    ids, rs = answer["routeServerPeerIds"], answer["routeServerIds"][0]
    peers = {p["RouteServerPeerId"]: p for p in ec2.describe_route_server_peers()["RouteServerPeers"]}
    recs = records(sim)
    assert len({r["event_timestamp"] for r in recs}) == 1, "one fleet, one change"
    expected = []
    for pid in ids:
        if peers[pid]["BgpOptions"]["PeerLivenessDetection"] == "bfd":
            expected.append(status(pid, "BFDStatus", "UP"))
        expected.append(status(pid, "BGPStatus", "UP"))
        expected += [route(pid, "ADVERTISED", f"100.64.{j}.0/24") for j in range(2)]
    assert brief(recs) == expected
    assert sum(1 for e in expected if e[1] == "BFDStatus") == 2
    # Every ADVERTISED record is a route of the routing database, as boto3 parses it.
    _, db = routing_database(ec2, rs)
    in_db = sorted((r["RouteServerPeerId"], r["Prefix"], " ".join(r["AsPaths"]), r["Med"], r["NextHopIp"]) for r in db)
    logged = sorted(
        (r["resource_arn"].rsplit("/", 1)[1], *(r["message"][k] for k in MESSAGE_KEYS))
        for r in recs
        if r["type"] == "RouteStatus"
    )
    assert logged == in_db

    # Every session down at once (one batch, one stamp): each peer withdraws what it advertised,
    # though the route server keeps the persisted FIB.
    sim.ok("POST", "/_sim/peers", {"peers": {pid: {"bgpStatus": "down", "bfdStatus": "down"} for pid in ids}})
    batch = new_records(sim, recs)
    assert len({r["event_timestamp"] for r in batch}) == 1
    expected = []
    for pid in ids:
        if peers[pid]["BgpOptions"]["PeerLivenessDetection"] == "bfd":
            expected.append(status(pid, "BFDStatus", "DOWN"))
        expected.append(status(pid, "BGPStatus", "DOWN"))
        expected += [route(pid, "WITHDRAWN", f"100.64.{j}.0/24") for j in range(2)]
    assert brief(batch) == expected
    persisted, db = routing_database(ec2, rs)
    assert persisted is True and len(db) == 2
    # The persisted routes giving way later is the route server's business, not a peer's.
    sim.advance_clock(3600)
    assert len(records(sim)) == len(recs) + len(batch)


def test_a_status_is_logged_only_when_its_up_or_down_value_changes(ec2, sim):
    bfd_peer, keepalive_peer = sim.fleet(1, 2, seed=5)
    assert describe_peer(ec2, keepalive_peer)["BgpOptions"]["PeerLivenessDetection"] == "bgp-keepalive"
    start = records(sim)
    sim.patch_peer(bfd_peer, bfdStatus="down")
    sim.patch_peer(bfd_peer, bfdStatus="down")  # unchanged: nothing
    sim.patch_peer(bfd_peer, bfdStatus="none")  # not up/down: nothing
    sim.patch_peer(bfd_peer, bfdStatus="")  # omitted by EC2: nothing
    sim.patch_peer(bfd_peer, bfdStatus="down")  # still the down last logged: nothing
    sim.patch_peer(bfd_peer, bfdStatus="up")
    sim.patch_peer(keepalive_peer, bfdStatus="down")  # not BFD liveness: never a BFD record
    sim.patch_peer(keepalive_peer, bgpStatus="none")
    sim.patch_peer(keepalive_peer, bgpStatus="up")  # up as last logged: nothing
    sim.patch_peer(keepalive_peer, bgpStatus="down", tags={"Name": "x"})
    sim.patch_peer(keepalive_peer, tags={"Name": "y"})  # tags are no session change
    assert brief(new_records(sim, start)) == [
        status(bfd_peer, "BFDStatus", "DOWN"),
        status(bfd_peer, "BFDStatus", "UP"),
        status(keepalive_peer, "BGPStatus", "DOWN"),
    ]
    assert describe_peer(ec2, keepalive_peer)["BfdStatus"]["Status"] == "down"


def test_route_changes_are_advertised_updated_and_withdrawn(sim):
    [pid] = sim.fleet(1, 1, seed=9)
    address = sim.peers()[0]["peerAddress"]
    start = records(sim)

    def routes(*items):
        sim.set_routes(pid, [{"prefix": p, "asPaths": path, "med": med} for p, path, med in items])

    routes(("10.1.0.0/16", [65001], 0), ("10.2.0.0/16", [65001, 65002], 5))
    routes(("10.3.0.0/16", [65001], 0), ("10.2.0.0/16", [65001, 65002], 7))
    routes(("10.3.0.0/16", [65001], 0), ("10.2.0.0/16", [65001, 65002], 7))  # the same: nothing
    routes(("10.3.0.0/16", [65001, 65009], 0), ("10.2.0.0/16", [65001, 65002], 7))
    routes()
    logged = [(r["status"], r["message"]) for r in new_records(sim, start)]

    def m(prefix, as_path, med):
        return {"prefix": prefix, "asPath": as_path, "med": med, "nextHopIp": address}

    assert logged == [
        ("ADVERTISED", m("10.1.0.0/16", "65001", 0)),
        ("ADVERTISED", m("10.2.0.0/16", "65001 65002", 5)),
        ("ADVERTISED", m("10.3.0.0/16", "65001", 0)),
        ("UPDATED", m("10.2.0.0/16", "65001 65002", 7)),
        ("WITHDRAWN", m("10.1.0.0/16", "65001", 0)),
        ("UPDATED", m("10.3.0.0/16", "65001 65009", 0)),
        ("WITHDRAWN", m("10.2.0.0/16", "65001 65002", 7)),
        ("WITHDRAWN", m("10.3.0.0/16", "65001 65009", 0)),
    ]


def test_a_vanished_peer_ends_its_session(sim):
    ids = sim.fleet(1, 2, seed=2, routesPerPeer=1)
    start = records(sim)
    sim.vanish(ids[1])
    assert brief(new_records(sim, start)) == [
        status(ids[1], "BGPStatus", "DOWN"),
        route(ids[1], "WITHDRAWN", "100.64.0.0/24"),
    ]


# ---------------------------------------------------------------------------------------------
# The simulator's clock, `since`, and the log's life
# ---------------------------------------------------------------------------------------------


def test_records_are_stamped_by_the_simulators_clock_and_since_is_inclusive(sim):
    ids = sim.fleet(1, 2, seed=4)
    first = records(sim)
    sim.advance_clock(3600)
    before = wall_ms_floor() + 3_600_000
    sim.patch_peer(ids[0], bgpStatus="down")
    after = wall_ms_ceil() + 3_600_000
    [later] = new_records(sim, first)
    at = later["event_timestamp"]
    assert before <= at <= after, (before, at, after)
    assert first[-1]["event_timestamp"] + 3_600_000 <= at

    everything = records(sim)
    assert records(sim, since=0) == everything
    assert records(sim, since=first[0]["event_timestamp"]) == everything
    assert records(sim, since=first[0]["event_timestamp"] + 1) == [later]
    assert records(sim, since=at) == [later]
    assert records(sim, since=at + 1) == []


BAD_SINCE = [
    pytest.param("since=", id="empty"),
    pytest.param("since=soon", id="word"),
    pytest.param("since=-1", id="negative"),
    pytest.param("since=%2B1", id="plus-sign"),
    pytest.param("since=1.5", id="fraction"),
    pytest.param("since=1e3", id="exponent"),
    pytest.param("since=99999999999999999999", id="overflow"),
    pytest.param("since=1&since=2", id="twice"),
    pytest.param("since=1&limit=5", id="unknown-parameter"),
]


@pytest.mark.parametrize("query", BAD_SINCE)
def test_a_malformed_since_is_a_json_400(sim, query):
    sim.fleet(1, 1)
    answer = peer_logs(sim, query=query)
    assert answer.status == 400, answer
    assert answer.content_type.startswith("application/json"), answer.content_type
    payload = answer.json()
    assert set(payload) == {"error"} and isinstance(payload["error"], str) and payload["error"], payload
    # Refused, and nothing lost.
    assert len(records(sim)) == 2


def test_reset_clears_the_peer_log_and_the_change_log_leaves_it_alone(sim):
    sim.fleet(1, 2)
    kept = records(sim)
    assert len(kept) == 3
    sim.ok("POST", "/_sim/log")
    sim.ok("DELETE", "/_sim/log")
    assert records(sim) == kept
    sim.reset()
    assert records(sim) == []
    ids = sim.fleet(1, 1)
    assert brief(records(sim)) == [status(ids[0], "BFDStatus", "UP"), status(ids[0], "BGPStatus", "UP")]
