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


def _peer_log_resources_in_cloudformation() -> None:
    """moto's CloudFormation has no model for AWS::Logs::DeliveryDestination nor
    AWS::Logs::SubscriptionFilter and skips them, so a stack deployed into it would lack the
    peer-log destination and the log consumer's subscription. These two models create them
    through moto's own logs backend, as CloudFormation does through the API, with that API's
    checks (a subscription's function must exist). Only what the template uses is modelled:
    no updates, no destination policy."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.core.common_models import CloudFormationModel
    from moto.logs.models import logs_backends

    class DeliveryDestinationResource(CloudFormationModel):
        # moto files every model under the service its module names.
        __module__ = "moto.logs.models"

        def __init__(self, destination):
            self.destination = destination

        @staticmethod
        def cloudformation_name_type():
            return "Name"

        @staticmethod
        def cloudformation_type():
            return "AWS::Logs::DeliveryDestination"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        ):
            props = cloudformation_json["Properties"]
            tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
            destination = logs_backends[account_id][region_name].put_delivery_destination(
                name=resource_name,
                output_format=props.get("OutputFormat"),
                delivery_destination_configuration={
                    "destinationResourceArn": props["DestinationResourceArn"]
                },
                tags=tags or None,
            )
            return cls(destination)

        @property
        def physical_resource_id(self):
            return self.destination.name

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr in ["Arn", "DeliveryDestinationType"]

        def get_cfn_attribute(self, attribute_name):
            if attribute_name == "Arn":
                return self.destination.arn
            if attribute_name == "DeliveryDestinationType":
                return self.destination.delivery_destination_type
            raise UnformattedGetAttTemplateException()

    class SubscriptionFilterResource(CloudFormationModel):
        __module__ = "moto.logs.models"

        def __init__(self, log_group_name, filter_name):
            self.log_group_name = log_group_name
            self.filter_name = filter_name

        @staticmethod
        def cloudformation_name_type():
            return "FilterName"

        @staticmethod
        def cloudformation_type():
            return "AWS::Logs::SubscriptionFilter"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        ):
            props = cloudformation_json["Properties"]
            logs_backends[account_id][region_name].put_subscription_filter(
                log_group_name=props["LogGroupName"],
                filter_name=resource_name,
                filter_pattern=props["FilterPattern"],
                destination_arn=props["DestinationArn"],
                role_arn=props.get("RoleArn", ""),
            )
            return cls(props["LogGroupName"], resource_name)

        @property
        def physical_resource_id(self):
            return self.filter_name

        @classmethod
        def has_cfn_attr(cls, attr):
            return False


# Before the first stack is parsed: moto reads its models once.
_peer_log_resources_in_cloudformation()


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
