"""What deploy/smoke.sh reads from the AWS CLI's JSON answers, and the table it prints.

Standard library only: it runs wherever the AWS CLI does. Each verb reads the documents the
script saved (the API's output shapes, as the AWS CLI reference documents them):

  configuration FILE        BatchDescribeTypeConfigurations: "FAILUREMODE TARGET,TARGET..." if
                            the hook is enabled, else exit 2 saying which step is missing
  hook-results TYPE FILE..  the hook results of TYPE in ListHookResults answers and stack
                            events (DescribeStackEvents), "ID LAYER" per line, for GetHookResult
  report TYPE MODE TARGETS DIR
                            the table: each layer exercised, what was expected of it in MODE
                            (WARN: the hook fails and the operation goes on; FAIL: it is
                            blocked), what was observed; exit 1 on any mismatch

Only CloudFormation's own fields are printed; the hook's messages are cut to an excerpt, and
what the early layers left to the resource layer (their SKIPPED annotations, among them the
shape of a payload the hook could not read) is listed after the table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

EXCERPT = 72
"""How much of a hook's message the table shows."""
_STATUS = {
    "HOOK_COMPLETE_SUCCEEDED": "SUCCEEDED",
    "HOOK_COMPLETE_FAILED": "FAILED",
    "HOOK_FAILED": "ERROR",
    "HOOK_IN_PROGRESS": "IN PROGRESS",
}


class Row(NamedTuple):
    layer: str
    case: str
    expected: str
    observed: str
    message: str

    @property
    def matches(self) -> bool:
        return self.expected == self.observed


def read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def configuration(document: Any) -> str:
    """ "MODE TARGETS" of the hook's default configuration; ValueError naming what is missing."""
    found = (document or {}).get("TypeConfigurations") or []
    text = found[0].get("Configuration") if found else None
    hook = {}
    if isinstance(text, str):
        try:
            hook = json.loads(text)["CloudFormationConfiguration"]["HookConfiguration"]
        except (ValueError, KeyError, TypeError):
            hook = {}
    if not hook:
        raise ValueError("the hook has no configuration here: run make configure")
    if hook.get("HookInvocationStatus") != "ENABLED":
        raise ValueError("the hook is not ENABLED here: run make configure")
    mode = hook.get("FailureMode")
    if mode not in ("WARN", "FAIL"):
        raise ValueError("the hook's FailureMode is neither WARN nor FAIL: run make configure")
    targets = hook.get("TargetOperations") or ["RESOURCE"]
    return f"{mode} {','.join(targets)}"


def hook_results(type_name: str, document: Any) -> list[dict[str, Any]]:
    """The results of ``type_name`` in a ListHookResults answer or in stack events, newest
    first, each as {"id", "status", "reason", "target"}."""
    found = []
    for entry in (document or {}).get("HookResults") or []:
        if entry.get("TypeName") == type_name:
            found.append(
                {
                    "id": entry.get("HookResultId"),
                    "status": entry.get("Status"),
                    "reason": entry.get("HookStatusReason") or "",
                    "target": entry.get("TargetId"),
                    "layer": entry.get("TargetType"),
                }
            )
    for event in (document or {}).get("StackEvents") or []:
        if event.get("HookType") == type_name:
            found.append(
                {
                    "id": event.get("HookInvocationId"),
                    "status": event.get("HookStatus"),
                    "reason": event.get("HookStatusReason") or "",
                    "target": event.get("LogicalResourceId"),
                    "type": event.get("ResourceType"),
                    "layer": "STACK" if event.get("ResourceType") == STACK_TYPE else "RESOURCE",
                }
            )
    return found


STACK_TYPE = "AWS::CloudFormation::Stack"
"""The resource type of a stack's own events, and of a stack-level hook's."""


def final(results: list[dict[str, Any]], logical_id: str | None = None) -> dict[str, Any] | None:
    """The latest completed result, for ``logical_id`` (a stack's own when None): events come
    newest first."""
    for result in results:
        if result["status"] == "HOOK_IN_PROGRESS":
            continue
        if logical_id is None and result.get("type", STACK_TYPE) == STACK_TYPE:
            return result
        if logical_id is not None and result["target"] == logical_id:
            return result
    return None


def observed(result: dict[str, Any] | None, blocked: bool) -> str:
    if result is None:
        return "not invoked"
    status = _STATUS.get(result["status"], str(result["status"]))
    if status != "FAILED":
        return status
    return "FAILED, blocked" if blocked else "FAILED, warned"


def expected(verdict: str, mode: str) -> str:
    if verdict == "FAILED":
        return "FAILED, blocked" if mode == "FAIL" else "FAILED, warned"
    return verdict


def excerpt(text: str) -> str:
    flat = " ".join(text.split()).encode("ascii", "backslashreplace").decode("ascii")
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 3] + "..."


def stack_failed(events: Any, logical_id: str | None) -> bool:
    """Whether the resource (the stack itself when None) failed to be created."""
    for event in (events or {}).get("StackEvents") or []:
        if logical_id is None and event.get("ResourceType") != STACK_TYPE:
            continue
        if logical_id is not None and event.get("LogicalResourceId") != logical_id:
            continue
        if event.get("ResourceStatus") in (
            "CREATE_FAILED",
            "ROLLBACK_IN_PROGRESS",
            "ROLLBACK_COMPLETE",
        ):
            return True
    return False


def rows(type_name: str, mode: str, targets: set[str], work: Path) -> list[Row]:
    table = []
    for name, case in (
        ("root", "root in the template"),
        ("parameter", "root by parameter (resolved)"),
    ):
        change_set = read(work / f"change-set-{name}.json")
        if change_set is None:
            continue
        result = final(hook_results(type_name, read(work / f"change-set-{name}-hooks.json")))
        blocked = change_set.get("Status") == "FAILED"
        table.append(
            Row(
                "CHANGE_SET",
                case,
                expected("FAILED", mode),
                observed(result, blocked),
                excerpt(result["reason"] if result else change_set.get("StatusReason") or ""),
            )
        )
    for name, cases in (
        ("stack-root", [("STACK", "root in the template", "FAILED", None)]),
        (
            "stack-parameter",
            [
                ("STACK", "root by parameter (unknown)", "SUCCEEDED", None),
                ("RESOURCE", "compliant", "SUCCEEDED", "SmokeCompliant"),
                ("RESOURCE", "root by parameter", "FAILED", "SmokeRootByParameter"),
            ],
        ),
    ):
        events = read(work / f"{name}-events.json")
        if events is None:
            continue
        results = hook_results(type_name, events)
        for layer, case, verdict, logical_id in cases:
            if layer not in targets:
                continue
            result = final(results, logical_id)
            table.append(
                Row(
                    layer,
                    case,
                    expected(verdict, mode),
                    observed(result, stack_failed(events, logical_id)),
                    excerpt(result["reason"] if result else ""),
                )
            )
    cloud_control = read(work / "cloud-control.json")
    if cloud_control is not None:
        progress = cloud_control.get("ProgressEvent") or {}
        hooks = [
            {
                "status": h.get("HookStatus"),
                "reason": h.get("HookStatusMessage") or "",
                "target": None,
            }
            for h in cloud_control.get("HooksProgressEvent") or []
            if h.get("HookTypeName") == type_name
        ]
        result = final(hooks)
        table.append(
            Row(
                "CLOUD_CONTROL",
                "root in the desired state",
                expected("FAILED", mode),
                observed(result, progress.get("OperationStatus") == "FAILED"),
                excerpt(result["reason"] if result else progress.get("StatusMessage") or ""),
            )
        )
    return table


def left_to_the_resource_layer(work: Path) -> list[str]:
    """The SKIPPED annotations of the stack and change-set layers' results (GetHookResult,
    saved as hook-result-LAYER-ID.json): what they could not decide, the shape of a payload
    they could not read among them."""
    lines = []
    for layer in ("CHANGE_SET", "STACK"):
        for path in sorted(work.glob(f"hook-result-{layer}-*.json")):
            for annotation in (read(path) or {}).get("Annotations") or []:
                if annotation.get("Status") == "SKIPPED":
                    message = " ".join(str(annotation.get("StatusMessage") or "").split())
                    lines.append(f"  {layer}: {message}")
    return lines


def render(table: list[Row]) -> str:
    header = Row("Layer", "Case", "Expected", "Observed", "Message")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    lines = []
    for row in [header, *table]:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        mark = "" if row is header else ("  " if row.matches else "! ")
        lines.append(f"{mark or '  '}{'  '.join(cells)}  {row.message}".rstrip())
    return "\n".join(lines)


def main(arguments: list[str]) -> int:
    verb = arguments[0] if arguments else ""
    if verb == "configuration" and len(arguments) == 2:
        try:
            print(configuration(read(Path(arguments[1]))))
        except ValueError as error:
            print(f"smoke: {error}", file=sys.stderr)
            return 2
        return 0
    if verb == "hook-results" and len(arguments) >= 3:
        for path in arguments[2:]:
            for result in hook_results(arguments[1], read(Path(path))):
                if result["id"] and result["status"] != "HOOK_IN_PROGRESS":
                    print(result["id"], result["layer"])
        return 0
    if verb == "report" and len(arguments) == 5:
        type_name, mode, targets = arguments[1], arguments[2], set(arguments[3].split(","))
        work = Path(arguments[4])
        table = rows(type_name, mode, targets, work)
        print(render(table))
        left = left_to_the_resource_layer(work)
        if left:
            print("Left to the resource layer by the stack and change-set layers:")
            print("\n".join(left))
        wrong = [row for row in table if not row.matches]
        if not table:
            print("smoke: no layer was exercised", file=sys.stderr)
            return 1
        if wrong:
            print(
                f"smoke: {len(wrong)} of {len(table)} layers did not answer as expected (marked !)"
            )
            return 1
        print(f"smoke: all {len(table)} answered as expected in {mode} mode")
        return 0
    print(
        "usage: smoke.py configuration FILE | hook-results TYPE FILE... "
        "| report TYPE MODE TARGETS DIR",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
