"""A stand-in for the AWS CLI's StackSet commands, for what moto does not model: StackSets refuse
an operation while another runs on the same StackSet (OperationInProgressException, documented
for CreateStackInstances, UpdateStackSet and the other operation APIs), and an operation runs for
a while before it ends. Each operation here stays RUNNING for two polls of
describe-stack-set-operation. Service-managed instances are listed by organizational unit and
Region, as ListStackInstances lists them. State and every call go to the JSON file named by
FAKE_AWS_STATE. Only what deploy/rollout.sh calls is answered; anything else fails the test."""

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

POLLS = 2


def option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def refuse_while_running(state: dict[str, Any]) -> None:
    if any(op["status"] == "RUNNING" for op in state["operations"].values()):
        print(
            "An error occurred (OperationInProgressException) when calling the operation: "
            "Another Operation on StackSet is in progress",
            file=sys.stderr,
        )
        sys.exit(254)


def start(state: dict[str, Any], action: str, targets: list[list[str]] | None = None) -> None:
    refuse_while_running(state)
    identifier = f"op-{len(state['operations']) + 1}"
    state["operations"][identifier] = {
        "status": "RUNNING",
        "polls": POLLS,
        "action": action,
        "targets": targets or [],
    }
    print(identifier)


def answer(state: dict[str, Any], arguments: list[str]) -> None:
    service, command = arguments[0], arguments[1]
    handler = HANDLERS.get((service, command))
    if handler is None:
        print(f"fake aws: not modelled: {service} {command}", file=sys.stderr)
        sys.exit(99)
    handler(state, arguments)


def describe_stack_set(state: dict[str, Any], arguments: list[str]) -> None:
    if not state["exists"]:
        print("An error occurred (StackSetNotFoundException)", file=sys.stderr)
        sys.exit(254)
    print("\t".join(state["parameters"]))


def create_stack_set(state: dict[str, Any], arguments: list[str]) -> None:
    state["exists"] = True
    state["parameters"] = [p["ParameterKey"] for p in parameters(arguments)]


def create_stack_instances(state: dict[str, Any], arguments: list[str]) -> None:
    ous = option(arguments, "--deployment-targets").removeprefix("OrganizationalUnitIds=")
    region = option(arguments, "--regions")
    start(state, "CREATE", [[ou, region] for ou in ous.split(",")])


def describe_operation(state: dict[str, Any], arguments: list[str]) -> None:
    operation = state["operations"][option(arguments, "--operation-id")]
    operation["polls"] -= 1
    if operation["polls"] <= 0 and operation["status"] in ("RUNNING", "STOPPING"):
        operation["status"] = "STOPPED" if operation["status"] == "STOPPING" else "SUCCEEDED"
        if operation["status"] == "SUCCEEDED":
            state["targets"] += operation["targets"]
    print(operation["status"])


def list_instances(state: dict[str, Any], arguments: list[str]) -> None:
    print("\n".join(f"{ou}\t{region}" for ou, region in state["targets"]))


def list_operations(state: dict[str, Any], arguments: list[str]) -> None:
    running = [i for i, op in state["operations"].items() if op["status"] == "RUNNING"]
    print("\t".join(running))


def stop_operation(state: dict[str, Any], arguments: list[str]) -> None:
    state["operations"][option(arguments, "--operation-id")]["status"] = "STOPPING"


HANDLERS: dict[tuple[str, str], Callable[[dict[str, Any], list[str]], None]] = {
    ("sts", "get-caller-identity"): lambda state, _: print(state["account"]),
    ("s3", "cp"): lambda state, _: None,
    ("cloudformation", "describe-stack-set"): describe_stack_set,
    ("cloudformation", "create-stack-set"): create_stack_set,
    ("cloudformation", "update-stack-set"): lambda state, _: start(state, "UPDATE"),
    ("cloudformation", "create-stack-instances"): create_stack_instances,
    ("cloudformation", "describe-stack-set-operation"): describe_operation,
    ("cloudformation", "list-stack-instances"): list_instances,
    ("cloudformation", "list-stack-set-operations"): list_operations,
    ("cloudformation", "stop-stack-set-operation"): stop_operation,
}


def parameters(arguments: list[str]) -> list[dict[str, str]]:
    value = option(arguments, "--parameters")
    loaded: list[dict[str, str]] = json.loads(Path(value.removeprefix("file://")).read_text())
    return loaded


def main() -> None:
    path = Path(os.environ["FAKE_AWS_STATE"])
    state = json.loads(path.read_text())
    arguments = sys.argv[1:]
    state["calls"].append(arguments)
    try:
        answer(state, arguments)
    finally:
        path.write_text(json.dumps(state))


if __name__ == "__main__":
    main()
