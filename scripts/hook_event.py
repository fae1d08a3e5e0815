"""Build the event CloudFormation sends to a hook's Lambda entrypoint (``handlers.hook``), and
templates as large as CloudFormation takes.

Used by the demo, the tests and the benchmarks to drive the real entrypoint. The shape follows what
the CloudFormation CLI's contract tests send; the credentials are placeholders.
"""

import json
from typing import Any

TYPE_NAME = "Guardrails::ECS::NonRootUser"
TARGET = "AWS::ECS::TaskDefinition"
PLACEHOLDER_CREDENTIALS = {
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
    "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "sessionToken": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN",
}


def hook_event(
    properties: Any,
    configuration: Any = None,
    *,
    invocation_point: str = "CREATE_PRE_PROVISION",
    target: str = TARGET,
    previous: Any = None,
    credentials: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An invocation event for ``properties`` of ``target`` with the given type configuration."""
    target_model: dict[str, Any] = {"resourceProperties": properties}
    if previous is not None:
        target_model["previousResourceProperties"] = previous
    return {
        "clientRequestToken": "4b90a7e4-b790-456b-a937-0cfdfa211dfe",
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1",
        "hookTypeName": TYPE_NAME,
        "hookTypeVersion": "00000001",
        "actionInvocationPoint": invocation_point,
        "hookModel": configuration,
        "requestContext": {"invocation": 1, "callbackContext": None},
        "requestData": {
            "callerCredentials": json.dumps(credentials or PLACEHOLDER_CREDENTIALS),
            "targetName": target,
            "targetType": "RESOURCE",
            "targetLogicalId": "TaskDefinition",
            "targetModel": target_model,
        },
    }


def task_definition(*users: Any, windows: bool = False) -> dict[str, Any]:
    """Properties of a task definition with one container per ``User`` value (``...`` = unset)."""
    containers = []
    for index, user in enumerate(users):
        container: dict[str, Any] = {"Name": f"app{index}", "Image": "public.ecr.aws/nginx/nginx"}
        if user is not ...:
            container["User"] = user
        containers.append(container)
    properties: dict[str, Any] = {"Family": "demo", "ContainerDefinitions": containers}
    if windows:
        properties["RuntimePlatform"] = {"OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}
    return properties


def template_event(
    target_type: str, payload: str, configuration: Any = None, *, update: bool = False
) -> dict[str, Any]:
    """An invocation event for a STACK or CHANGE_SET target, whose payload (the template, and a
    change set's changed resources) is at the presigned URL ``payload``."""
    event = hook_event(
        None,
        configuration,
        invocation_point="UPDATE_PRE_PROVISION" if update else "CREATE_PRE_PROVISION",
        target=target_type,
    )
    stack_id = event["stackId"]
    change_set = stack_id.replace(":stack/demo/", ":changeSet/demo-change/")
    event["requestData"].update(
        targetType=target_type,
        targetLogicalId=change_set if target_type == "CHANGE_SET" else "demo",
        targetModel=None,
        payload=payload,
    )
    if target_type == "CHANGE_SET":
        event["changeSetId"] = change_set
    return event


def big_template(size: int, as_yaml: bool) -> str:
    """A template of about ``size`` characters: task definitions with intrinsic functions (in
    YAML, their short forms), a parameter, a condition, and every 50th with a root sidecar."""
    header = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Image": {"Type": "String"}},
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
    }
    yaml_header = (
        "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Image: {Type: String}\n"
        "Conditions:\n  Never: !Equals [a, b]\nResources:\n"
    )
    resources: dict[str, Any] = {}
    blocks: list[str] = []
    total = len(yaml_header)
    while total < size:
        index = len(resources)
        uid, sidecar = f"{1000 + index}:{1000 + index}", "0" if index % 50 == 7 else "1000"
        block = (
            f"  Task{index}:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            f"      Family: !Sub '${{AWS::StackName}}-{index}'\n      Cpu: '256'\n"
            "      ContainerDefinitions:\n        - Name: app\n          Image: !Ref Image\n"
            f"          User: !If [Never, '0', '{uid}']\n"
            "          Environment: [{Name: LOG_LEVEL, Value: info}]\n"
            "        - Name: sidecar\n          Image: public.ecr.aws/agent:1\n"
            f'          User: "{sidecar}"\n'
        )
        app = {
            "Name": "app",
            "Image": {"Ref": "Image"},
            "User": {"Fn::If": ["Never", "0", uid]},
            "Environment": [{"Name": "LOG_LEVEL", "Value": "info"}],
        }
        properties = {
            "Family": {"Fn::Sub": f"${{AWS::StackName}}-{index}"},
            "Cpu": "256",
            "ContainerDefinitions": [
                app,
                {"Name": "sidecar", "Image": "public.ecr.aws/agent:1", "User": sidecar},
            ],
        }
        resource = {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}
        resources[f"Task{index}"] = resource
        blocks.append(block)
        total += len(block) if as_yaml else len(json.dumps({f"Task{index}": resource}))
    if as_yaml:
        return yaml_header + "".join(blocks)
    return json.dumps({**header, "Resources": resources})


def shared_value_template(kind: str, size: int, tasks: int, containers: int = 10) -> str:
    """A YAML template whose every container's User comes from one value of ``size``
    characters in Mappings: through a YAML alias of it (``kind`` "alias"), as ``Fn::Join`` of
    two ``Fn::FindInMap`` lookups of it ("join"), which doubles it per container, or as an
    alias of ``Fn::Select`` over ``Fn::Split`` of it ("split", its first field "0"), which the
    containers' Name and Image take too."""
    text = "0," + "x" * size if kind == "split" else "1" * size
    value = ("&b " if kind == "alias" else "") + f'"{text}"'
    lines = ["Mappings:", f"  M: {{k: {{v: {value}}}}}", "Resources:"]
    split = '!Select [0, !Split [",", !FindInMap [M, k, v]]]'
    for task in range(tasks):
        lines += [f"  T{task}:", "    Type: AWS::ECS::TaskDefinition", "    Properties:"]
        lines.append("      ContainerDefinitions:")
        for n in range(containers):
            if kind == "alias":
                container = f"{{Name: c{n}, Image: i, User: *b}}"
            elif kind == "join":
                join = "!Join ['', [!FindInMap [M, k, v], !FindInMap [M, k, v]]]"
                container = f"{{Name: c{n}, Image: i, User: {join}}}"
            elif task == n == 0:
                container = f"{{Name: &u {split}, Image: *u, User: *u}}"
            else:
                container = "{Name: *u, Image: *u, User: *u}"
            lines.append(f"        - {container}")
    return "\n".join(lines) + "\n"


def conditional_template(shape: str, user: str, tasks: int, depth: int = 6) -> str:
    """A YAML template whose every container's User is one YAML alias of ``Fn::If`` functions
    nested ``depth`` deep over ``depth`` conditions: a "chain" (each level's true branch a User
    of its own, ``depth`` + 1 ways in all) or a full "tree" (``2 ** depth`` ways); ``user`` is
    the innermost value."""

    def nested(level: int) -> str:
        if level == depth:
            return f'"{user}"'
        inner = nested(level + 1)
        if shape == "tree":
            return f"!If [C{level}, {inner}, {inner}]"
        return f'!If [C{level}, "{2000 + level}", {inner}]'

    lines = ["Parameters:"]
    lines += [f"  P{level}: {{Type: String}}" for level in range(depth)]
    lines.append("Conditions:")
    lines += [f"  C{level}: !Equals [!Ref P{level}, x]" for level in range(depth)]
    lines.append("Resources:")
    for task in range(tasks):
        lines += [f"  T{task}:", "    Type: AWS::ECS::TaskDefinition", "    Properties:"]
        lines.append("      ContainerDefinitions:")
        for n in range(10):
            user = f"&u {nested(0)}" if task == n == 0 else "*u"
            lines.append(f"        - {{Name: c{task}x{n}, Image: i, User: {user}}}")
    return "\n".join(lines) + "\n"


def main(arguments: list[str] | None = None) -> int:
    """Print the event for a task definition with one container per USER (``-`` for none):
    ``python scripts/hook_event.py 0 1000:1000 - | ...`` feeds ``handlers.hook`` or a Lambda
    endpoint by hand."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Print the event CloudFormation sends the hook for a task definition with "
        "one container per USER.",
    )
    parser.add_argument("users", nargs="+", metavar="USER", help='a User value; "-" for none')
    parser.add_argument("--windows", action="store_true", help="a Windows task definition")
    parser.add_argument(
        "--config",
        metavar="JSON",
        help='the type configuration, e.g. \'{"WarnOnly": ["missing-user"]}\'',
    )
    args = parser.parse_args(arguments)
    users = [... if user == "-" else user for user in args.users]
    configuration = json.loads(args.config) if args.config else None
    event = hook_event(task_definition(*users, windows=args.windows), configuration)
    print(json.dumps(event, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
