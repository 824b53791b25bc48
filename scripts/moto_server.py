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


def _doctor_resources_in_cloudformation() -> None:
    """What `peerwatch doctor` reads of a stack that moto's CloudFormation leaves out: it
    skips AWS::Scheduler::Schedule, and creates a table without its TimeToLiveSpecification
    and PointInTimeRecoverySpecification. The schedule is created through moto's scheduler
    backend (GetSchedule then answers as for a deployed stack); the table's TTL and
    point-in-time recovery are set through its DynamoDB backend, as CloudFormation sets them.
    No updates: the tests deploy and delete."""
    from moto.core.common_models import CloudFormationModel
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table
    from moto.scheduler.models import scheduler_backends

    class ScheduleResource(CloudFormationModel):
        __module__ = "moto.scheduler.models"

        def __init__(self, schedule):
            self.schedule = schedule

        @staticmethod
        def cloudformation_name_type():
            return "Name"

        @staticmethod
        def cloudformation_type():
            return "AWS::Scheduler::Schedule"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        ):
            props = cloudformation_json["Properties"]
            schedule = scheduler_backends[account_id][region_name].create_schedule(
                description=props.get("Description"),
                end_date=props.get("EndDate"),
                flexible_time_window=props["FlexibleTimeWindow"],
                group_name=props.get("GroupName"),
                kms_key_arn=props.get("KmsKeyArn"),
                name=resource_name,
                schedule_expression=props["ScheduleExpression"],
                schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
                start_date=props.get("StartDate"),
                state=props.get("State"),
                target=props["Target"],
                action_after_completion=None,
            )
            return cls(schedule)

        @property
        def physical_resource_id(self):
            return self.schedule.name

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name):
            return self.schedule.arn

    create_table = Table.create_from_cloudformation_json.__func__

    def create_table_with_ttl_and_pitr(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        table = create_table(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        props = cloudformation_json["Properties"]
        backend = dynamodb_backends[account_id][region_name]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            enabled = str(ttl.get("Enabled")).lower() == "true"
            backend.update_time_to_live(
                table.name, {"AttributeName": ttl["AttributeName"], "Enabled": enabled}
            )
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if str(pitr.get("PointInTimeRecoveryEnabled")).lower() == "true":
            backend.update_continuous_backups(table.name, {"PointInTimeRecoveryEnabled": True})
        return table

    Table.create_from_cloudformation_json = classmethod(create_table_with_ttl_and_pitr)
    # Keep a reference so the class is registered and not collected.
    _doctor_resources_in_cloudformation.models = [ScheduleResource]


_doctor_resources_in_cloudformation()

# The Rust SDK's CloudWatch client speaks Smithy RPC v2 CBOR (POST
# /service/GraniteServiceVersion20100801/operation/NAME, CBOR bodies); moto's CloudWatch speaks
# only the query and JSON protocols. GetMetricStatistics, the one operation `peerwatch doctor`
# calls, and PutMetricData, for the tests to give it datapoints, are answered from moto's own
# CloudWatch backend, in CBOR: what the functions' AWS/Lambda metrics are to doctor.
_CBOR_PATH = re.compile(r"/service/GraniteServiceVersion20100801/operation/(\w+)")


def _cbor_decode(data: bytes):
    import datetime
    import struct

    pos = 0

    def read(n):
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += n
        return chunk

    def length(info):
        if info < 24:
            return info
        if info == 31:
            return None
        return int.from_bytes(read({24: 1, 25: 2, 26: 4, 27: 8}[info]), "big")

    def item():
        first = read(1)[0]
        major, info = first >> 5, first & 31
        if major == 7:
            if info == 20:
                return False
            if info == 21:
                return True
            if info in (22, 23):
                return None
            if info == 25:
                return struct.unpack(">e", read(2))[0]
            if info == 26:
                return struct.unpack(">f", read(4))[0]
            if info == 27:
                return struct.unpack(">d", read(8))[0]
            if info == 31:
                return StopIteration
            raise ValueError(f"CBOR simple value {info}")
        n = length(info)
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major in (2, 3):
            if n is None:
                parts = []
                while (part := item()) is not StopIteration:
                    parts.append(part)
                return "".join(parts) if major == 3 else b"".join(parts)
            raw = read(n)
            return raw.decode() if major == 3 else raw
        if major == 4:
            out = []
            while n is None or len(out) < n:
                value = item()
                if value is StopIteration:
                    break
                out.append(value)
            return out
        if major == 5:
            out = {}
            while n is None or len(out) < n:
                key = item()
                if key is StopIteration:
                    break
                out[key] = item()
            return out
        if major == 6:
            value = item()
            if n == 1:
                return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
            return value
        raise ValueError(f"CBOR major type {major}")

    return item() if data else {}


def _cbor_encode(value) -> bytes:
    import datetime
    import struct

    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
        raise ValueError("CBOR length too large")

    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return b"\xc1" + _cbor_encode(float(value.timestamp()))
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return head(4, len(value)) + b"".join(_cbor_encode(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(
            _cbor_encode(k) + _cbor_encode(v) for k, v in value.items()
        )
    raise ValueError(f"cannot encode {type(value)} as CBOR")


def _cloudwatch_cbor(environ, start_response, operation):
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    size = int(environ.get("CONTENT_LENGTH") or 0)
    request = _cbor_decode(environ["wsgi.input"].read(size))
    scope = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    region = scope.group(1) if scope else "us-east-1"
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
    status, body = "200 OK", {}
    try:
        if operation == "GetMetricStatistics":
            stats = request.get("Statistics", [])
            points = backend.get_metric_statistics(
                request["Namespace"],
                request["MetricName"],
                request["StartTime"],
                request["EndTime"],
                int(request["Period"]),
                stats,
                dimensions=request.get("Dimensions", []),
                unit=request.get("Unit"),
            )
            datapoints = []
            for p in points:
                point = {"Timestamp": p.timestamp}
                for stat in stats:
                    value = p.get_statistics_for_type(stat)
                    if value is not None:
                        point[stat] = float(value)
                if p.unit:
                    point["Unit"] = p.unit
                datapoints.append(point)
            body = {"Label": request["MetricName"], "Datapoints": datapoints}
        elif operation == "PutMetricData":
            backend.put_metric_data(request["Namespace"], request.get("MetricData", []))
        else:
            status = "400 Bad Request"
            body = {"__type": "UnknownOperationException", "message": f"{operation} is not emulated"}
    except Exception as e:  # moto's own validation errors, answered as CloudWatch would
        status = "400 Bad Request"
        body = {"__type": getattr(e, "error_type", "InvalidParameterValue"), "message": str(e)}
    payload = _cbor_encode(body)
    start_response(
        status,
        [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


_dispatch_json_and_query = DomainDispatcherApplication.__call__


def _with_cloudwatch_cbor(self, environ, start_response):
    found = _CBOR_PATH.fullmatch(environ.get("PATH_INFO", ""))
    if found and environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
        with _one_at_a_time:
            return _cloudwatch_cbor(environ, start_response, found.group(1))
    return _dispatch_json_and_query(self, environ, start_response)


DomainDispatcherApplication.__call__ = _with_cloudwatch_cbor


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
