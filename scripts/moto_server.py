"""Starts moto in server mode on a loopback port and prints `listening on http://HOST:PORT`.

Usage: moto_server.py [--port PORT] [--until-stdin-closes]
PORT 0 (the default) picks a free port. With --until-stdin-closes it stops when its
standard input closes, so a parent that dies (even by SIGKILL) takes moto with it.
"""

import argparse
import re
import sys
import threading

from moto.logs.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from moto.logs.models import DeliverySource, LogsBackend
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

# moto's PutDeliverySource accepts only the services of its own table, and EC2 is not among
# them, while CloudWatch Logs vends route server peer logs (log type EVENT_LOGS) from EC2.
# Accept exactly that resource and log type, so `peerwatch logging` runs against moto as
# against AWS; any other EC2 resource stays refused as before, and a route server peer with
# another log type is refused as CloudWatch refuses a log type its resource does not vend.
# The rest (names, tags, one resource per source) is moto's own logic for every service.
_ROUTE_SERVER_PEER = re.compile(
    r"arn:[a-z-]+:ec2:[a-z0-9-]+:[0-9]{12}:route-server-peer/rsp-[0-9A-Za-z]+"
)
_put_delivery_source = LogsBackend.put_delivery_source


def _put_delivery_source_with_ec2(self, name, resource_arn, log_type, tags):
    if resource_arn.split(":")[2:3] != ["ec2"]:
        return _put_delivery_source(self, name, resource_arn, log_type, tags)
    if not _ROUTE_SERVER_PEER.fullmatch(resource_arn):
        raise ResourceNotFoundException(msg="Cannot access provided service.")
    if log_type != "EVENT_LOGS":
        raise ValidationException(msg=" This service is not allowed for this LogSource.")
    existing = self.delivery_sources.get(name)
    if existing is not None:
        if tags:
            raise ConflictException(
                msg="Tags can only be provided when a resource is being created, not updated."
            )
        if resource_arn not in existing.resource_arns:
            raise ConflictException(
                msg="Update to existing Delivery Source with new ResourceId is not allowed. "
                "Please create a new Delivery Source instead."
            )
    source = DeliverySource(
        account_id=self.account_id,
        region=self.region_name,
        name=name,
        resource_arn=resource_arn,
        log_type=log_type,
        tags=tags,
    )
    self.delivery_sources[name] = source
    if tags:
        self.tag_resource(source.arn, tags)
    return source


LogsBackend.put_delivery_source = _put_delivery_source_with_ec2


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
