"""A fault-injecting HTTP proxy for DynamoDB (JSON 1.0) and SNS (query protocol) in front of moto.

Usage: fault_proxy.py --upstream http://127.0.0.1:PORT [--port PORT] [--until-stdin-closes]

Prints `listening on http://HOST:PORT` once it serves. Point a client at it with
AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SNS; anything else (SQS, ...) passes through.
Stdlib only, so it runs on any Python 3.

Control API (JSON), beside the proxied traffic:
  POST   /_proxy/chaos  {"seed": 7, "rate": 0.2, "kinds": ["error", ...], "services": [...]}
         from now on each DynamoDB/SNS request meets a fault with probability `rate`, of a
         kind drawn from `kinds` by a generator seeded with `seed` (same seed, same draws).
  DELETE /_proxy/chaos  no more random faults.
  POST   /_proxy/faults {"operation": "Publish", "kind": "lost", "count": 1}
         the next `count` requests of that operation (or "*") meet that fault (a "delay"
         may say how long: "delayMs": 1500).
  POST   /_proxy/mode   {"stripVersionCondition": true}   the "broken build" (see below).
  GET    /_proxy/stats  faults injected so far, by kind and by operation, and requests seen.

Kinds:
  error      answers 500 InternalServerError / InternalError; nothing applied.
  throttle   answers 400 ThrottlingException / Throttling; nothing applied.
  timeout    holds the request HOLD_SECS, then drops the connection; nothing applied.
  delay      holds the request 0.5-2 s, then forwards it (slows a cycle: runs overlap).
  lost       forwards it (applied), then drops the connection: the response is lost.
  lost-error forwards it (applied), then answers 500: the caller believes it failed.
  conflict   (TransactWriteItems only) answers what real DynamoDB answers when another
             transaction holds one of its items: TransactionCanceledException with reasons
             `TransactionConflict`; nothing applied. moto serialises requests and never
             answers it, so this is the only way a test meets it.

stripVersionCondition removes the PeerState conditions (`Version = :expected`,
`attribute_not_exists(RouteServerPeerId)`) from every TransactWriteItems: what peerwatch would
do if that condition were deleted from its code. Only the fault campaign's "broken build" test
uses it, to show the checker catches the duplicates that follow.
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD_SECS = 4.0
KINDS = ("error", "throttle", "timeout", "delay", "lost", "lost-error", "conflict")
DDB_ERROR = "com.amazonaws.dynamodb.v20120810#"


class Faults:
    """What is armed, and what was injected; one lock, shared by every request thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rng = None
        self.rate = 0.0
        self.kinds = list(KINDS)
        self.services = ["dynamodb", "sns"]
        self.armed = []  # [operation, kind, remaining, delay seconds or None]
        self.strip_version = False
        self.injected = {k: 0 for k in KINDS}
        self.by_operation = {}  # "Operation:kind" -> count
        self.requests = 0
        self.stripped = 0

    def count(self, operation, kind):
        self.injected[kind] += 1
        key = f"{operation}:{kind}"
        self.by_operation[key] = self.by_operation.get(key, 0) + 1

    def pick(self, service, operation):
        with self.lock:
            self.requests += 1
            for a in self.armed:
                if a[2] > 0 and a[0] in (operation, "*"):
                    a[2] -= 1
                    self.count(operation, a[1])
                    self.armed = [x for x in self.armed if x[2] > 0]
                    return a[1], a[3]
            if self.rng is not None and service in self.services:
                if self.rng.random() < self.rate:
                    kind = self.rng.choice(self.kinds)
                    self.count(operation, kind)
                    return kind, None
            return None, None


FAULTS = Faults()


def classify(headers, body):
    """(service, operation) of a request: DynamoDB by X-Amz-Target, SNS by its Action."""
    target = headers.get("X-Amz-Target", "")
    if target.startswith("DynamoDB_"):
        return "dynamodb", target.split(".", 1)[-1]
    auth = headers.get("Authorization", "")
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    action = (form.get("Action") or [""])[0]
    if "/sns/" in auth:
        return "sns", action
    return "other", action


def strip_version_condition(body):
    req = json.loads(body)
    for item in req.get("TransactItems", []):
        put = item.get("Put")
        if not put:
            continue
        cond = put.get("ConditionExpression", "")
        if cond.startswith("Version = ") or cond == "attribute_not_exists(RouteServerPeerId)":
            put.pop("ConditionExpression", None)
            values = put.get("ExpressionAttributeValues", {})
            values.pop(":expected", None)
            if not values:
                put.pop("ExpressionAttributeValues", None)
            with FAULTS.lock:
                FAULTS.stripped += 1
    return json.dumps(req).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None  # (host, port)

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, value):
        self._send(status, json.dumps(value).encode(), "application/json")

    def _drop(self):
        # No response at all: the client sees the connection close mid-request.
        self.close_connection = True

    def _control(self, method, body):
        path = self.path.split("?", 1)[0]
        try:
            req = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self._json(400, {"error": f"invalid JSON: {e}"})
        if path == "/_proxy/stats" and method == "GET":
            with FAULTS.lock:
                return self._json(200, {"injected": FAULTS.injected, "requests": FAULTS.requests,
                                        "byOperation": FAULTS.by_operation,
                                        "stripped": FAULTS.stripped})
        if path == "/_proxy/chaos" and method == "POST":
            kinds = req.get("kinds", list(KINDS))
            bad = [k for k in kinds if k not in KINDS]
            if bad or not kinds:
                return self._json(400, {"error": f"unknown kinds {bad}; known: {list(KINDS)}"})
            with FAULTS.lock:
                FAULTS.rng = random.Random(int(req.get("seed", 0)))
                FAULTS.rate = float(req.get("rate", 0.1))
                FAULTS.kinds = kinds
                FAULTS.services = req.get("services", ["dynamodb", "sns"])
            return self._json(200, {"armed": True})
        if path == "/_proxy/chaos" and method == "DELETE":
            with FAULTS.lock:
                FAULTS.rng = None
                FAULTS.armed = []
            return self._json(200, {"armed": False})
        if path == "/_proxy/faults" and method == "POST":
            kind, count = req.get("kind"), int(req.get("count", 1))
            if kind not in KINDS or count < 1:
                return self._json(400, {"error": f"kind must be one of {list(KINDS)}, count >= 1"})
            delay = req.get("delayMs")
            with FAULTS.lock:
                FAULTS.armed.append([req.get("operation", "*"), kind, count,
                                     None if delay is None else float(delay) / 1000])
            return self._json(200, {"armed": True})
        if path == "/_proxy/mode" and method == "POST":
            with FAULTS.lock:
                FAULTS.strip_version = bool(req.get("stripVersionCondition", False))
            return self._json(200, {"stripVersionCondition": FAULTS.strip_version})
        return self._json(404, {"error": f"no control route {method} {path}"})

    def _error(self, service, kind):
        if service == "dynamodb":
            name, status = (("ThrottlingException", 400) if kind == "throttle"
                            else ("InternalServerError", 500))
            body = json.dumps({"__type": DDB_ERROR + name, "message": f"Injected {kind}"})
            return self._send(status, body.encode(), "application/x-amz-json-1.0")
        code, kind_, status = (("Throttling", "Sender", 400) if kind == "throttle"
                               else ("InternalError", "Receiver", 500))
        body = (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
                f"<Type>{kind_}</Type><Code>{code}</Code><Message>Injected {kind}</Message>"
                f"</Error><RequestId>fa017000-0000-4000-8000-000000000000</RequestId>"
                f"</ErrorResponse>")
        return self._send(status, body.encode(), "text/xml")

    def _conflict(self, body):
        try:
            items = len(json.loads(body).get("TransactItems", []))
        except ValueError:
            items = 1
        reasons = [{"Code": "TransactionConflict",
                    "Message": "Transaction is ongoing for the item"}] * max(items, 1)
        doc = {"__type": DDB_ERROR + "TransactionCanceledException",
               "message": "Transaction cancelled, please refer cancellation reasons for specific "
                          "reasons [" + ", ".join(["TransactionConflict"] * len(reasons)) + "]",
               "CancellationReasons": reasons}
        return self._send(400, json.dumps(doc).encode(), "application/x-amz-json-1.0")

    def _forward(self, method, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "content-length")}
        headers["Content-Length"] = str(len(body))
        conn.request(method, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = [(k, v) for k, v in resp.getheaders()
               if k.lower() not in ("connection", "content-length", "transfer-encoding",
                                    "content-type", "server", "date")]
        ctype = resp.getheader("Content-Type", "application/octet-stream")
        conn.close()
        return resp.status, data, ctype, out

    def _handle(self, method):
        body = self._body()
        if self.path.startswith("/_proxy/"):
            return self._control(method, body)
        service, operation = classify(self.headers, body)
        kind, delay = FAULTS.pick(service, operation) if service != "other" else (None, None)
        if FAULTS.strip_version and operation == "TransactWriteItems":
            body = strip_version_condition(body)
        if kind == "conflict" and operation == "TransactWriteItems":
            return self._conflict(body)
        if kind in ("error", "throttle", "conflict"):
            return self._error(service, kind)
        if kind == "timeout":
            time.sleep(HOLD_SECS)
            return self._drop()
        if kind == "delay":
            time.sleep(delay if delay is not None else 0.5 + 1.5 * random.random())
        status, data, ctype, extra = self._forward(method, body)
        if kind == "lost":
            return self._drop()
        if kind == "lost-error":
            return self._error(service, "error")
        self._send(status, data, ctype, extra)

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")

    def do_DELETE(self):
        self._handle("DELETE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    Handler.upstream = (up.hostname, up.port or 80)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        if args.until_stdin_closes:
            sys.stdin.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
