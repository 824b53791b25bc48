"""The SAM template as the tests see it: as JSON, and deployed into moto's CloudFormation.

Usage:
  cfn_stack.py json TEMPLATE
      Prints the template as JSON, short-form intrinsics (!Ref, !Sub, ...) in their long form.
  cfn_stack.py deploy TEMPLATE --endpoint URL --stack NAME [--param KEY=VALUE ...]
      Does what `sam package` + `sam deploy` do, against moto: uploads a stand-in code zip to
      S3, points CodeUri at it, translates the template with the SAM translator, creates the
      stack, and prints JSON describing what the stack made: its outputs, resources, each
      deployed function's configuration (environment included), the inline policies of its
      roles, the alert topic's KMS key, the dashboards' bodies, and the peer-log path (the
      delivery destination, the log groups' subscription filters, the logs resource policies).

Credentials and region come from the environment (the tests set test values).
"""

import argparse
import ast
import io
import json
import sys
import zipfile

import boto3
from cfnlint.decode.cfn_yaml import loads as yaml_loads
from samtranslator.translator.transform import transform

# moto's CloudFormation skips resource types it does not model; they are reported, not hidden.
ARTIFACT_BUCKET = "peerwatch-artifacts"


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        # cfn-lint's loader knows the short-form intrinsics; a JSON round trip gives plain dicts.
        return json.loads(json.dumps(yaml_loads(f.read())))


class NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs only for SAM `Policies`; ours has none."""

    def load(self) -> dict:
        return {}


def stand_in_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\necho stand-in: moto does not run functions\n")
    return buf.getvalue()


def policy_document(resp: dict) -> dict:
    doc = resp["PolicyDocument"]
    if isinstance(doc, dict):
        return doc
    try:
        return json.loads(doc)
    except ValueError:
        # moto stores a policy that came from CloudFormation as a Python repr
        return ast.literal_eval(doc)


def deploy(args: argparse.Namespace) -> dict:
    template = load(args.template)
    params = dict(p.split("=", 1) for p in args.param)
    clients = {
        name: boto3.client(name, endpoint_url=args.endpoint)
        for name in ["s3", "cloudformation", "lambda", "iam", "sns", "kms", "cloudwatch", "logs"]
    }

    # What `sam package` does: code to S3, CodeUri rewritten to point there.
    s3 = clients["s3"]
    key = f"{args.stack}/poller.zip"
    try:
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=stand_in_zip())
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{key}"

    translated = transform(template, dict(params), NoManagedPolicies())

    cfn = clients["cloudformation"]
    cfn.create_stack(
        StackName=args.stack,
        TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=args.stack)["StackEvents"]
        raise SystemExit(f"stack {args.stack}: {stack['StackStatus']}: {json.dumps(events, default=str)}")

    resources = {
        r["LogicalResourceId"]: {"type": r["ResourceType"], "physicalId": r["PhysicalResourceId"]}
        for r in cfn.describe_stack_resources(StackName=args.stack)["StackResources"]
        # moto lists the types it skipped without ids
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }
    conditions = Conditions(translated, params)
    not_created = sorted(
        f"{logical} ({res['Type']})"
        for logical, res in translated["Resources"].items()
        if logical not in resources and conditions.holds(res.get("Condition"))
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    functions = {
        logical: function_configuration(clients["lambda"], res["physicalId"])
        for logical, res in resources.items()
        if res["type"] == "AWS::Lambda::Function"
    }
    roles = {}
    for logical, res in resources.items():
        if res["type"] != "AWS::IAM::Role":
            continue
        iam = clients["iam"]
        names = iam.list_role_policies(RoleName=res["physicalId"])["PolicyNames"]
        roles[logical] = {
            "arn": iam.get_role(RoleName=res["physicalId"])["Role"]["Arn"],
            "policies": {
                n: policy_document(iam.get_role_policy(RoleName=res["physicalId"], PolicyName=n))
                for n in names
            },
        }
    topic_arn = resources["AlertTopic"]["physicalId"]
    topic = clients["sns"].get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    # (moto's DescribeKey fails on a key whose policy came from CloudFormation; ListKeys works)
    key_arn = next(
        k["KeyArn"]
        for k in clients["kms"].list_keys()["Keys"]
        if topic["KmsMasterKeyId"] in (k["KeyId"], k["KeyArn"])
    )

    # Each dashboard as CloudFormation made it: its body (a string, JSON if the template is
    # right) with every ${...} substituted.
    cloudwatch = clients["cloudwatch"]
    dashboards = {
        logical: {
            "name": res["physicalId"],
            "body": cloudwatch.get_dashboard(DashboardName=res["physicalId"])["DashboardBody"],
        }
        for logical, res in resources.items()
        if res["type"] == "AWS::CloudWatch::Dashboard"
    }

    # The peer-log path as the logs API reports it: every delivery destination, each log group
    # of the stack with its subscription filters, and the account's logs resource policies.
    logs = clients["logs"]
    delivery_destinations = {
        d["name"]: {
            "arn": d["arn"],
            "type": d.get("deliveryDestinationType"),
            "destinationResourceArn": d["deliveryDestinationConfiguration"]["destinationResourceArn"],
        }
        for d in logs.describe_delivery_destinations()["deliveryDestinations"]
    }
    log_groups = {
        logical: {
            "name": res["physicalId"],
            "retentionInDays": next(
                (
                    g.get("retentionInDays")
                    for g in logs.describe_log_groups(logGroupNamePrefix=res["physicalId"])["logGroups"]
                    if g["logGroupName"] == res["physicalId"]
                ),
                None,
            ),
            "subscriptionFilters": [
                {k: f.get(k) for k in ["filterName", "filterPattern", "destinationArn"]}
                for f in logs.describe_subscription_filters(logGroupName=res["physicalId"])["subscriptionFilters"]
            ],
        }
        for logical, res in resources.items()
        if res["type"] == "AWS::Logs::LogGroup"
    }
    logs_resource_policies = {
        p["policyName"]: json.loads(p["policyDocument"])
        for p in logs.describe_resource_policies()["resourcePolicies"]
    }

    return {
        "stackName": args.stack,
        "stackStatus": stack["StackStatus"],
        "outputs": outputs,
        "resources": resources,
        "notCreatedByMoto": not_created,
        # The poller's configuration under its old key, every function's by logical id.
        "function": functions["PollerFunction"],
        "functions": functions,
        "roles": roles,
        "topicKmsKeyArn": key_arn,
        "dashboards": dashboards,
        "deliveryDestinations": delivery_destinations,
        "logGroups": log_groups,
        "logsResourcePolicies": logs_resource_policies,
    }


def function_configuration(client, name: str) -> dict:
    fn = client.get_function_configuration(FunctionName=name)
    # Who may invoke it: moto files a stack's AWS::Lambda::Permission here, under no id.
    try:
        policy = json.loads(client.get_policy(FunctionName=name)["Policy"])
    except client.exceptions.ResourceNotFoundException:
        policy = None
    return {
        "name": fn["FunctionName"],
        "arn": fn["FunctionArn"],
        "role": fn["Role"],
        "runtime": fn.get("Runtime"),
        "handler": fn.get("Handler"),
        "memorySize": fn.get("MemorySize"),
        "timeout": fn.get("Timeout"),
        # Lambda's environment is strings; moto keeps CloudFormation's numbers as numbers.
        "environment": {
            k: str(v) for k, v in fn.get("Environment", {}).get("Variables", {}).items()
        },
        "policy": policy,
    }


class Conditions:
    """The template's conditions for these parameters (defaults for the others), so that a
    resource left out by its condition is not reported as one moto failed to create."""

    def __init__(self, template: dict, params: dict):
        self.definitions = template.get("Conditions", {})
        self.params = {
            name: str(params.get(name, p.get("Default", "")))
            for name, p in template.get("Parameters", {}).items()
        }

    def holds(self, name) -> bool:
        return name is None or self.value({"Condition": name})

    def value(self, expr):
        if isinstance(expr, str):
            return expr
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Condition":
                return self.value(self.definitions[arg])
            if fn == "Ref" and arg in self.params:
                return self.params[arg]
            if fn == "Fn::Equals":
                return str(self.value(arg[0])) == str(self.value(arg[1]))
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.value(a) for a in arg)
        raise SystemExit(f"cfn_stack.py cannot evaluate the condition expression {expr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_json = sub.add_parser("json")
    p_json.add_argument("template")
    p_deploy = sub.add_parser("deploy")
    p_deploy.add_argument("template")
    p_deploy.add_argument("--endpoint", required=True)
    p_deploy.add_argument("--stack", required=True)
    p_deploy.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.command == "json":
        out = load(args.template)
    else:
        out = deploy(args)
    json.dump(out, sys.stdout, indent=1, default=str)
    print()


if __name__ == "__main__":
    main()
