"""The SAM template as the tests see it: as JSON, and deployed into moto's CloudFormation.

Usage:
  cfn_stack.py json TEMPLATE
      Prints the template as JSON, short-form intrinsics (!Ref, !Sub, ...) in their long form.
  cfn_stack.py deploy TEMPLATE --endpoint URL --stack NAME [--param KEY=VALUE ...]
      Does what `sam package` + `sam deploy` do, against moto: uploads a stand-in code zip to
      S3, points CodeUri at it, translates the template with the SAM translator, creates the
      stack, and prints JSON describing what the stack made: its outputs, resources, the
      deployed function's configuration (environment included), the inline policies of its
      roles, the alert topic's KMS key and the dashboards' bodies.

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
        for name in ["s3", "cloudformation", "lambda", "iam", "sns", "kms", "cloudwatch"]
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
    not_created = sorted(
        f"{logical} ({res['Type']})"
        for logical, res in translated["Resources"].items()
        if logical not in resources and "Condition" not in res
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    fn = clients["lambda"].get_function_configuration(FunctionName=resources["PollerFunction"]["physicalId"])
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

    return {
        "stackName": args.stack,
        "stackStatus": stack["StackStatus"],
        "outputs": outputs,
        "resources": resources,
        "notCreatedByMoto": not_created,
        "function": {
            "name": fn["FunctionName"],
            "role": fn["Role"],
            "runtime": fn.get("Runtime"),
            "handler": fn.get("Handler"),
            "memorySize": fn.get("MemorySize"),
            "timeout": fn.get("Timeout"),
            # Lambda's environment is strings; moto keeps CloudFormation's numbers as numbers.
            "environment": {
                k: str(v) for k, v in fn.get("Environment", {}).get("Variables", {}).items()
            },
        },
        "roles": roles,
        "topicKmsKeyArn": key_arn,
        "dashboards": dashboards,
    }


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
