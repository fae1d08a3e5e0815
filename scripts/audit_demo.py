"""`make audit-demo`: `ecs-nonroot audit` against moto's server on 127.0.0.1, no AWS account needed.

Two accounts are seeded, the caller's and a member reached by assuming the audit role, each with
a root task definition a service runs, a compliant one a running task runs, an unused root one,
an inactive one, and a stack whose parameter value makes its worker run as root; then the audit
reads both, as an operator would run it across an organization, reports by account and Region,
and imports its findings into each account's Security Hub; run again, it updates them rather
than adding any. tests/test_audit.py seeds the same accounts.
"""

import json
import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import boto3

CALLER = "123456789012"  # the account moto answers for
MEMBER = "111111111111"
REGION = "eu-west-1"
ROLE = "NonRootAudit"
STACK_TEMPLATE = """\
Parameters:
  WorkerUser: {Type: String, Default: "1000"}
Resources:
  Worker:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - {Name: worker, Image: registry.example/worker:1, User: !Ref WorkerUser, Memory: 128}
"""


def session(env: dict[str, str], account: str = CALLER) -> boto3.Session:
    """The caller's session, or one in ``account`` (moto's assume-role credentials)."""
    base = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    if account == CALLER:
        return base
    sts = base.client("sts", endpoint_url=env["AWS_ENDPOINT_URL"])
    role = f"arn:aws:iam::{account}:role/{ROLE}"
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def deploy(env: dict[str, str], account: str) -> None:
    """In ``account``: a root task definition a service runs, a compliant one a task runs, an
    unused root one, an inactive root one, and a stack whose parameter makes its worker root."""
    endpoint = env["AWS_ENDPOINT_URL"]
    ecs = session(env, account).client("ecs", endpoint_url=endpoint)

    def register(family: str, user: str | None) -> str:
        container: dict[str, Any] = {"name": "app", "image": "registry.example/app:1"}
        if user is not None:
            container["user"] = user
        definition = ecs.register_task_definition(
            family=family, containerDefinitions=[{**container, "memory": 128}]
        )
        arn: str = definition["taskDefinition"]["taskDefinitionArn"]
        return arn

    served = register("served", "0")
    ran = register("ran", "1000:1000")
    register("unused", None)
    inactive = register("inactive", "root")
    ecs.deregister_task_definition(taskDefinition=inactive)
    ecs.create_cluster(clusterName="main")
    ecs.create_service(cluster="main", serviceName="web", taskDefinition=served, desiredCount=1)
    ec2 = session(env, account).client("ec2", endpoint_url=endpoint)
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    document = json.dumps({"instanceId": instance["InstanceId"]})
    ecs.register_container_instance(cluster="main", instanceIdentityDocument=document)
    ecs.run_task(cluster="main", taskDefinition=ran, count=1)
    cloudformation = session(env, account).client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(
        StackName="workers",
        TemplateBody=STACK_TEMPLATE,
        Parameters=[{"ParameterKey": "WorkerUser", "ParameterValue": "0"}],
    )


def main() -> int:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    env.pop("AWS_PROFILE", None)
    for account in (CALLER, MEMBER):
        deploy(env, account)
    command = [
        str(Path(sys.executable).with_name("ecs-nonroot")),
        "audit",
        "--region",
        REGION,
        "--accounts",
        f"{CALLER},{MEMBER}",
        "--role",
        ROLE,
        "--to-security-hub",
    ]
    print("$ ecs-nonroot " + " ".join(command[1:]), flush=True)
    status = subprocess.run(command, env=env, check=False).returncode
    print(f"(exit code {status})\n")
    for account in (CALLER, MEMBER):
        hub = session(env, account).client("securityhub", endpoint_url=endpoint)
        findings = hub.get_findings()["Findings"]
        print(f"Security Hub of {account}, {REGION}: {len(findings)} findings")
        for finding in sorted(findings, key=lambda f: f["Title"]):
            print(f"  [{finding['Severity']['Label']}] {finding['Title']}")
    print("\n$ ecs-nonroot " + " ".join(command[1:]) + " --format json > /dev/null", flush=True)
    again = subprocess.run(
        [*command, "--format", "json"], env=env, stdout=subprocess.DEVNULL, check=False
    )
    hubs = [session(env, a).client("securityhub", endpoint_url=endpoint) for a in (CALLER, MEMBER)]
    count = sum(len(hub.get_findings()["Findings"]) for hub in hubs)
    print(f"(exit code {again.returncode}; Security Hub still holds {count} findings: updated)")
    moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
