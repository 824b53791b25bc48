"""Starts moto in server mode on a loopback port and prints `listening on http://HOST:PORT`.

Usage: moto_server.py [--port PORT] [--until-stdin-closes]
PORT 0 (the default) picks a free port. With --until-stdin-closes it stops when its
standard input closes, so a parent that dies (even by SIGKILL) takes moto with it.
"""

import argparse
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer

# DynamoDB applies a transaction's conditions and writes atomically; moto's backends take no
# locks, so two concurrent conditional writes could both pass. Serving one request at a time
# gives the emulator DynamoDB's atomicity (the overlap tests depend on it), at no cost that
# matters here: every request is in-memory and quick, and no test long-polls SQS.
_one_at_a_time = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialised(self, environ, start_response):
    with _one_at_a_time:
        return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _serialised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    print(f"listening on http://{host}:{bound}", flush=True)
    try:
        if args.until_stdin_closes:
            sys.stdin.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
