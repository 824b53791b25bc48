"""Fixtures for the independent-client tests of route-server-sim.

The simulator binary is started once per session on a free loopback port and stopped at the
end, whatever happened in between. Every test starts from an empty world with no faults armed.
The EC2 side is talked to with boto3 (botocore's own EC2 model parses every answer); the
/_sim/ control API with nothing but urllib from the standard library.
"""

import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest
from botocore.config import Config

REPO = pathlib.Path(__file__).resolve().parents[2]
SIM_BIN = os.environ.get("ROUTE_SERVER_SIM_BIN", str(REPO / "target" / "debug" / "route-server-sim"))

# What the simulator is started with: pending -> available (and deleting -> deleted) take this long.
TRANSITION_MS = 200
STARTUP_TIMEOUT_S = 15
HTTP_TIMEOUT_S = 10

# Loopback only: never let an HTTP(S)_PROXY in the environment sit between us and the simulator.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpAnswer:
    """A raw HTTP answer: status, headers and body, whatever the status was."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"HttpAnswer({self.status}, {self.body[:300]!r})"


def http(method, url, body=None, headers=None, timeout=HTTP_TIMEOUT_S):
    """One HTTP exchange with urllib; 4xx/5xx are answers too, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _direct.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as e:
        with e:
            return HttpAnswer(e.code, e.headers, e.read())


class Sim:
    """A running simulator: its URL, and its /_sim/ control API."""

    def __init__(self, url):
        self.url = url

    def control(self, method, path, payload=None, raw=None):
        """Calls the control API with a JSON payload (or raw bytes) and returns the raw answer."""
        body = raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
        headers = {"Content-Type": "application/json"} if body is not None else {}
        return http(method, self.url + path, body, headers)

    def ok(self, method, path, payload=None):
        """Calls the control API and insists on a 200, returning the decoded JSON."""
        answer = self.control(method, path, payload)
        assert answer.status == 200, f"{method} {path} -> {answer}"
        return answer.json()

    def reset(self):
        return self.ok("POST", "/_sim/reset")

    def clear_faults(self):
        return self.ok("DELETE", "/_sim/faults")

    def fleet(self, route_servers, peers_per_route_server, seed=None, **extra):
        """Builds a fleet; `extra` takes the fleet's other fields (routesPerPeer, persistRoutes)."""
        return self.fleet_answer(route_servers, peers_per_route_server, seed, **extra)["routeServerPeerIds"]

    def fleet_answer(self, route_servers, peers_per_route_server, seed=None, **extra):
        payload = {"routeServers": route_servers, "peersPerRouteServer": peers_per_route_server, **extra}
        if seed is not None:
            payload["seed"] = seed
        return self.ok("POST", "/_sim/fleet", payload)

    def set_routes(self, peer_id, routes):
        return self.ok("POST", f"/_sim/peers/{peer_id}/routes", {"routes": routes})

    def advance_clock(self, seconds):
        return self.ok("POST", "/_sim/clock", {"advanceSeconds": seconds})["advancedSeconds"]

    def fault(self, action, count, **fields):
        """Arms a fault: `code`/`status` and/or `delayMs`, for the next `count` calls of `action`."""
        return self.ok("POST", "/_sim/faults", {"action": action, "count": count, **fields})

    def patch_peer(self, peer_id, **fields):
        return self.ok("POST", f"/_sim/peers/{peer_id}", fields)

    def vanish(self, peer_id):
        return self.ok("POST", f"/_sim/peers/{peer_id}/vanish")

    def peers(self):
        return self.ok("GET", "/_sim/peers")

    def get(self, path):
        return http("GET", self.url + path)

    def query(self, body, method="POST", headers=None):
        """A raw EC2 Query request to `/`: `body` is bytes, or a dict to form-encode."""
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})}
        return http(method, self.url + "/", body, headers)


def _die_with_parent():
    """Runs in the child before exec: on Linux, have the kernel kill the simulator if pytest dies
    without running its teardown (SIGKILL, OOM). Best effort; the fixture's finally does the rest."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    """Starts route-server-sim on 127.0.0.1:0 and yields a `Sim`; always stops it."""
    if not os.access(SIM_BIN, os.X_OK):
        pytest.fail(
            f"no simulator binary at {SIM_BIN}: run `cargo build --bin route-server-sim` "
            "or set ROUTE_SERVER_SIM_BIN"
        )
    stderr_path = tmp_path_factory.mktemp("sim") / "stderr.log"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [SIM_BIN, "--listen", "127.0.0.1:0", "--transition-ms", str(TRANSITION_MS)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    try:
        lines = queue.Queue()

        def pump():
            # Hands over the first line, then keeps draining so the pipe can never fill up.
            for line in proc.stdout:
                lines.put(line.decode(errors="replace").strip())
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            first = lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            first = None
        prefix = "listening on http://"
        if not first or not first.startswith(prefix):
            pytest.fail(
                f"route-server-sim did not announce its address (first line {first!r}); "
                f"stderr: {stderr_path.read_text(errors='replace')[-2000:]}"
            )
        yield Sim("http://" + first[len(prefix):])
    finally:
        _stop(proc)


@pytest.fixture(autouse=True)
def clean_sim(sim):
    """Every test starts from an empty world with no faults armed."""
    sim.reset()
    sim.clear_faults()
    yield


@pytest.fixture(scope="session")
def make_ec2(sim):
    """Builds boto3 EC2 clients aimed at the simulator; keyword arguments go into botocore's Config."""

    # Three attempts in all, as AWS_MAX_ATTEMPTS=3 or `max_attempts = 3` in ~/.aws/config mean it.
    # (In botocore's Config the retries dict's own `max_attempts` counts retries only, so
    # {"max_attempts": 3} would be four attempts; `total_max_attempts` is the unambiguous key.)
    three_attempts = {"mode": "standard", "total_max_attempts": 3}

    def make(retries=None, **config):
        session = boto3.session.Session(
            aws_access_key_id="AKIDSIMULATOR0000000",
            aws_secret_access_key="simulator-secret-key",
            region_name="us-east-1",
        )
        config.setdefault("connect_timeout", 5)
        config.setdefault("read_timeout", HTTP_TIMEOUT_S)
        return session.client(
            "ec2",
            endpoint_url=sim.url,
            config=Config(retries=retries or three_attempts, **config),
        )

    return make


@pytest.fixture
def ec2(make_ec2):
    """The everyday client: standard retries, 3 attempts, botocore's parameter validation on.
    A fresh one per test, so that one test's retry quota never leaks into another."""
    return make_ec2()


@pytest.fixture
def transition_s():
    return TRANSITION_MS / 1000
