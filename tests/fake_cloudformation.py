"""A stand-in for the AWS CLI as deploy/smoke.sh calls it: CloudFormation stacks, change sets and
the hook results they record, and Cloud Control requests, in a sandbox account where the hook is
registered. What the hook answers at each layer comes from the scenario in the state file
(FAKE_AWS_STATE), so a test can make any layer answer wrongly; how CloudFormation then goes on
follows its documentation: under FailureMode FAIL a failed hook fails the change set, rolls the
stack back or fails the Cloud Control request; under WARN the operation completes. Answers have
the output shapes of the AWS CLI reference (botocore's model of each API); a --query the script
uses is answered with what it selects. Every call is recorded; a command named in the
scenario's "fail" fails (exit 254) and one named in "hang" waits until it is interrupted."""

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TYPE_NAME = "Guardrails::ECS::NonRootUser"
TYPE_ARN = f"arn:aws:cloudformation:eu-west-1:123456789012:type/hook/{TYPE_NAME.replace('::', '-')}"
STATUS = {"SUCCEEDED": "HOOK_COMPLETE_SUCCEEDED", "FAILED": "HOOK_COMPLETE_FAILED"}
TEMPLATES = {
    "root.yaml": ("root", ["SmokeRootUser"]),
    "by-parameter.yaml": ("parameter", ["SmokeCompliant", "SmokeRootByParameter"]),
}


def option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def fail(message: str) -> None:
    print(f"An error occurred ({message})", file=sys.stderr)
    sys.exit(254)


def hook(state: dict[str, Any]) -> dict[str, Any]:
    return state["configuration"] or {}


def targeted(state: dict[str, Any], target: str) -> bool:
    return target in hook(state).get("TargetOperations", ["RESOURCE"])


def blocks(state: dict[str, Any], verdict: str) -> bool:
    return verdict == "FAILED" and hook(state).get("FailureMode") == "FAIL"


def result(state: dict[str, Any], key: str, target: str, target_type: str) -> dict[str, Any]:
    """Record the hook's answer ``key`` of the scenario as a hook result; its summary."""
    verdict = state["verdicts"][key]
    identifier = f"hr-{len(state['results']) + 1:04d}"
    state["results"][identifier] = {
        "HookResultId": identifier,
        "InvocationPoint": "PRE_PROVISION",
        "FailureMode": hook(state)["FailureMode"],
        "TypeName": TYPE_NAME,
        "TypeVersionId": "00000001",
        "TypeConfigurationVersionId": "00000001",
        "Status": STATUS[verdict],
        "HookStatusReason": state["reasons"].get(key, f"{key}: {verdict.lower()}"),
        "InvokedAt": "2026-12-05T12:00:00Z",
        "TargetType": target_type,
        "TargetId": target,
        "TypeArn": TYPE_ARN,
        "Annotations": state["annotations"].get(key, []),
    }
    recorded: dict[str, Any] = state["results"][identifier]
    return recorded


def event(stack: str, logical_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/1",
        "EventId": f"{logical_id}-{len(fields)}",
        "StackName": stack,
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "Timestamp": "2026-12-05T12:00:00Z",
        **fields,
    }


def hook_event(
    state: dict[str, Any], stack: str, logical_id: str, kind: str, key: str
) -> list[dict[str, Any]]:
    summary = result(state, key, logical_id, "STACK" if kind.endswith("Stack") else "RESOURCE")
    fields = {"HookType": TYPE_NAME, "HookInvocationPoint": "PRE_PROVISION"}
    fields["HookFailureMode"] = summary["FailureMode"]
    return [
        event(stack, logical_id, kind, HookStatus="HOOK_IN_PROGRESS", **fields),
        event(
            stack,
            logical_id,
            kind,
            HookStatus=summary["Status"],
            HookStatusReason=summary["HookStatusReason"],
            HookInvocationId=summary["HookResultId"],
            **fields,
        ),
    ]


def create_stack(state: dict[str, Any], arguments: list[str]) -> None:
    name = option(arguments, "--stack-name")
    template, resources = TEMPLATES[Path(option(arguments, "--template-body")).name]
    events = [event(name, name, "AWS::CloudFormation::Stack", ResourceStatus="CREATE_IN_PROGRESS")]
    failed = False
    if targeted(state, "STACK"):
        events += hook_event(state, name, name, "AWS::CloudFormation::Stack", f"STACK:{template}")
        failed = blocks(state, state["verdicts"][f"STACK:{template}"])
    for logical_id in [] if failed else resources:
        kind = "AWS::ECS::TaskDefinition"
        events.append(event(name, logical_id, kind, ResourceStatus="CREATE_IN_PROGRESS"))
        if targeted(state, "RESOURCE"):
            events += hook_event(state, name, logical_id, kind, f"RESOURCE:{logical_id}")
            if blocks(state, state["verdicts"][f"RESOURCE:{logical_id}"]):
                events.append(event(name, logical_id, kind, ResourceStatus="CREATE_FAILED"))
                failed = True
                break
        events.append(event(name, logical_id, kind, ResourceStatus="CREATE_COMPLETE"))
    final = "ROLLBACK_COMPLETE" if failed else "CREATE_COMPLETE"
    events.append(event(name, name, "AWS::CloudFormation::Stack", ResourceStatus=final))
    state["stacks"][name] = {"status": final, "events": events[::-1]}  # newest first, as listed
    print(json.dumps({"StackId": events[0]["StackId"]}))


def create_change_set(state: dict[str, Any], arguments: list[str]) -> None:
    name = option(arguments, "--stack-name")
    change_set = option(arguments, "--change-set-name")
    number = len(state["change_sets"]) + 1
    arn = f"arn:aws:cloudformation:eu-west-1:123456789012:changeSet/{change_set}/{number}"
    state["stacks"][name] = {"status": "REVIEW_IN_PROGRESS", "events": []}
    key = f"CHANGE_SET:{TEMPLATES[Path(option(arguments, '--template-body')).name][0]}"
    summary = result(state, key, arn, "CHANGE_SET") if targeted(state, "CHANGE_SET") else None
    failed = summary is not None and blocks(state, state["verdicts"][key])
    state["change_sets"][arn] = {
        "ChangeSetName": option(arguments, "--change-set-name"),
        "ChangeSetId": arn,
        "StackName": name,
        "Status": "FAILED" if failed else "CREATE_COMPLETE",
        "StatusReason": f"The following hook(s) failed: [{TYPE_NAME}]" if failed else None,
        "ExecutionStatus": "UNAVAILABLE" if failed else "AVAILABLE",
        "Changes": [],
    }
    print(arn)  # --query Id


def wait(state: dict[str, Any], arguments: list[str]) -> None:
    waiter = arguments[2]
    if waiter == "change-set-create-complete":
        ok = state["change_sets"][option(arguments, "--change-set-name")]["Status"] != "FAILED"
    elif waiter == "stack-create-complete":
        ok = state["stacks"][option(arguments, "--stack-name")]["status"] == "CREATE_COMPLETE"
    elif waiter == "stack-delete-complete":
        ok = option(arguments, "--stack-name") in state["deleted"]
    else:
        ok = state["requests"][option(arguments, "--request-token")]["OperationStatus"] == "SUCCESS"
    if not ok:
        print(
            f"Waiter {waiter} failed: Waiter encountered a terminal failure state", file=sys.stderr
        )
        sys.exit(255)


def list_hook_results(state: dict[str, Any], arguments: list[str]) -> None:
    target = option(arguments, "--target-id")
    found = [
        {k: v for k, v in r.items() if k != "Annotations"}
        for r in state["results"].values()
        if r["TargetId"] == target
    ]
    print(
        json.dumps(
            {
                "TargetType": option(arguments, "--target-type"),
                "TargetId": target,
                "HookResults": found,
            }
        )
    )


def get_hook_result(state: dict[str, Any], arguments: list[str]) -> None:
    found = dict(state["results"][option(arguments, "--hook-result-id")])
    found["Target"] = {
        "TargetType": found.pop("TargetType"),
        "TargetTypeName": "AWS::ECS::TaskDefinition",
        "TargetId": found.pop("TargetId"),
        "Action": "CREATE",
    }
    print(json.dumps(found))


def configurations(state: dict[str, Any], arguments: list[str]) -> None:
    document: dict[str, Any] = {"Errors": [], "UnprocessedTypeConfigurations": []}
    details = []
    if state["configuration"] is not None:
        configuration = {
            "CloudFormationConfiguration": {"HookConfiguration": state["configuration"]}
        }
        details.append(
            {
                "Arn": f"{TYPE_ARN}/configuration/default",
                "Alias": "default",
                "Configuration": json.dumps(configuration),
                "LastUpdated": "2026-12-05T11:00:00Z",
                "TypeArn": TYPE_ARN,
                "TypeName": TYPE_NAME,
                "IsDefaultConfiguration": True,
            }
        )
    document["TypeConfigurations"] = details
    print(json.dumps(document))


def create_resource(state: dict[str, Any], arguments: list[str]) -> None:
    token = f"request-{len(state['requests']) + 1}"
    blocked = False
    hooks = []
    if targeted(state, "CLOUD_CONTROL"):
        summary = result(state, "CLOUD_CONTROL", f"hooks-{token}", "CLOUD_CONTROL")
        blocked = blocks(state, state["verdicts"]["CLOUD_CONTROL"])
        hooks.append(
            {
                "HookTypeName": TYPE_NAME,
                "HookTypeVersionId": "00000001",
                "HookTypeArn": TYPE_ARN,
                "InvocationPoint": "PRE_PROVISION",
                "HookStatus": summary["Status"],
                "HookEventTime": "2026-12-05T12:00:00Z",
                "HookStatusMessage": summary["HookStatusReason"],
                "FailureMode": summary["FailureMode"],
            }
        )
    state["requests"][token] = {
        "TypeName": "AWS::ECS::TaskDefinition",
        "Identifier": None
        if blocked
        else "arn:aws:ecs:eu-west-1:123456789012:task-definition/smoke:1",
        "RequestToken": token,
        "HooksRequestToken": f"hooks-{token}",
        "Operation": "CREATE",
        "OperationStatus": "FAILED" if blocked else "SUCCESS",
        "EventTime": "2026-12-05T12:00:00Z",
        "StatusMessage": "Hook failed" if blocked else None,
        "Hooks": hooks,
    }
    if not blocked:
        state["resources"].append(state["requests"][token]["Identifier"])
    print(token)  # --query ProgressEvent.RequestToken


def request_status(state: dict[str, Any], arguments: list[str]) -> None:
    request = dict(state["requests"][option(arguments, "--request-token")])
    hooks = request.pop("Hooks")
    print(json.dumps({"ProgressEvent": request, "HooksProgressEvent": hooks}))


def delete_resource(state: dict[str, Any], arguments: list[str]) -> None:
    state["resources"].remove(option(arguments, "--identifier"))
    print(json.dumps({"ProgressEvent": {"Operation": "DELETE", "OperationStatus": "IN_PROGRESS"}}))


def delete_stack(state: dict[str, Any], arguments: list[str]) -> None:
    name = option(arguments, "--stack-name")
    if name not in state["stacks"]:
        fail(f"ValidationError: Stack {name} is not one the test created")
    state["deleted"].append(name)


HANDLERS: dict[tuple[str, str], Callable[[dict[str, Any], list[str]], None]] = {
    ("sts", "get-caller-identity"): lambda state, _: print(state["account"]),
    ("cloudformation", "describe-type"): lambda state, _: (
        print(TYPE_ARN) if state["registered"] else fail("TypeNotFoundException")
    ),
    ("cloudformation", "batch-describe-type-configurations"): configurations,
    ("cloudformation", "create-change-set"): create_change_set,
    ("cloudformation", "describe-change-set"): lambda state, args: print(
        json.dumps(state["change_sets"][option(args, "--change-set-name")])
    ),
    ("cloudformation", "list-hook-results"): list_hook_results,
    ("cloudformation", "get-hook-result"): get_hook_result,
    ("cloudformation", "create-stack"): create_stack,
    ("cloudformation", "describe-stack-events"): lambda state, args: print(
        json.dumps({"StackEvents": state["stacks"][option(args, "--stack-name")]["events"]})
    ),
    ("cloudformation", "delete-stack"): delete_stack,
    ("cloudformation", "wait"): wait,
    ("cloudcontrol", "create-resource"): create_resource,
    ("cloudcontrol", "wait"): wait,
    ("cloudcontrol", "get-resource-request-status"): request_status,
    ("cloudcontrol", "delete-resource"): delete_resource,
}


def main() -> None:
    path = Path(os.environ["FAKE_AWS_STATE"])
    state = json.loads(path.read_text())
    arguments = [a for a in sys.argv[1:]]
    if "--region" in arguments:  # every call names the Region: dropped to find the command
        index = arguments.index("--region")
        del arguments[index : index + 2]
    state["calls"].append(arguments)
    try:
        command = arguments[1] if len(arguments) > 1 else ""
        if command in state.get("hang", []):
            path.write_text(json.dumps(state))
            time.sleep(60)
        if command in state.get("fail", []):
            fail(f"ThrottlingException: {command} failed, as the test asks")
        handler = HANDLERS.get((arguments[0], command))
        if handler is None:
            fail(f"fake aws: not modelled: {' '.join(arguments[:2])}")
        else:
            handler(state, arguments)
    finally:
        path.write_text(json.dumps(state))


if __name__ == "__main__":
    main()
