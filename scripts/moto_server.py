"""Starts moto in server mode on a loopback port and prints `listening on http://HOST:PORT`.

Usage: moto_server.py [--port PORT] [--until-stdin-closes]
PORT 0 (the default) picks a free port. With --until-stdin-closes it stops when its
standard input closes, so a parent that dies (even by SIGKILL) takes moto with it.
"""

import argparse
import sys
import threading

from moto.server import ThreadedMotoServer


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
