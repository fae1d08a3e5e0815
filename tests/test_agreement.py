"""The hook and the command decide alike: one shared corpus, driven through both.

Every User value from the policy's tables (as CloudFormation sends it: a string, or absent) is put
into task definitions under several configurations. The hook gets them through its Lambda
entrypoint at all three of its layers: each task definition as a resource, the whole template as
a stack (JSON and YAML), and each task definition as a change set's creation; the command gets
them as a JSON template and as a YAML template. Each container's verdict and each task
definition's outcome must match.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from hook_event import hook_event, template_event
from test_policy import LINUX_CASES, WINDOWS_CASES

from guardrails_ecs_nonrootuser import handlers, stack
from guardrails_ecs_nonrootuser.cli import SUFFIXES
from guardrails_ecs_nonrootuser.policy import Settings
from guardrails_ecs_nonrootuser.scan import FileReport, Options, check_file

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "allow-root-group": {"AllowRootGroup": "true"},
    "numeric-users-from-1010": {"RequireNumericUser": True, "MinimumUid": "1010"},
    "skip-windows": {"WindowsContainers": "SKIP"},
    "exemptions": {"ExemptContainerNames": ["sidecar*"], "ExemptImages": ["*fluent-bit*"]},
    "exemption-entries": {
        "Exemptions": [
            {"ContainerName": "sidecar", "Image": "registry.example/agent:*", "Reason": "agent"},
            {"ContainerName": "logs", "Image": "registry.example/*", "Reason": "not its image"},
        ]
    },
    "exception-tag": {"ExceptionTagKey": "nonroot-exception"},
}
SKIPPING = {"skip-windows", "exemptions", "exemption-entries", "exception-tag"}
"""The configurations that skip some container of the corpus."""
# Tags on task definitions by their index: the exception with a reason, with a blank one, none.
TAGS: tuple[list[dict[str, str]] | None, ...] = (
    [{"Key": "team", "Value": "web"}, {"Key": "nonroot-exception", "Value": "SEC-1"}],
    [{"Key": "nonroot-exception", "Value": " "}],
    None,
)
USERS = sorted(
    {value for _, value, _, _ in LINUX_CASES if isinstance(value, str)}
    | {value for _, value, _ in WINDOWS_CASES if isinstance(value, str)}
)
ANNOTATION_VERDICTS = {"PASSED": "PASS", "FAILED": "FAIL", "SKIPPED": "SKIP"}


def corpus(yaml: bool = False) -> dict[str, dict[str, Any]]:
    """Task definitions of at most 10 containers (the ECS limit) covering every value; for YAML,
    every value YAML can carry (YAML has no lone surrogates: PyYAML refuses "\\ud800")."""
    values: list[Any] = [None, *(user for user in USERS if not (yaml and _has_surrogate(user)))]
    task_definitions: dict[str, dict[str, Any]] = {}
    for platform in ("Linux", "Windows"):
        for start in range(0, len(values), 8):
            containers = []
            for offset, user in enumerate(values[start : start + 8]):
                container = {"Name": f"app{offset}", "Image": "registry.example/app:1"}
                if user is not None:
                    container["User"] = user
                containers.append(container)
            containers.append({"Name": "sidecar", "Image": "registry.example/agent:1"})
            containers.append({"Name": "logs", "Image": "public.ecr.aws/fluent-bit:2"})
            properties: dict[str, Any] = {"ContainerDefinitions": containers}
            tags = TAGS[len(task_definitions) % len(TAGS)]
            if tags is not None:
                properties["Tags"] = tags
            if platform == "Windows":
                properties["RuntimePlatform"] = {
                    "OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"
                }
            task_definitions[f"{platform}{start:03}"] = properties
    return task_definitions


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def as_json(task_definitions: dict[str, dict[str, Any]]) -> bytes:
    resources = {
        name: {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}
        for name, properties in task_definitions.items()
    }
    return json.dumps({"Resources": resources}, indent=1).encode("utf-8")


def as_yaml(task_definitions: dict[str, dict[str, Any]]) -> bytes:
    """Block-style YAML; every scalar double-quoted (JSON string escapes are YAML escapes)."""
    lines = ["Resources:"]
    for name, properties in task_definitions.items():
        lines += [f"  {name}:", "    Type: AWS::ECS::TaskDefinition", "    Properties:"]
        platform = properties.get("RuntimePlatform")
        if platform:
            family = json.dumps(platform["OperatingSystemFamily"])
            lines += ["      RuntimePlatform:", f"        OperatingSystemFamily: {family}"]
        if "Tags" in properties:
            lines.append("      Tags:")
            lines += [f"        - {json.dumps(tag)}" for tag in properties["Tags"]]
        lines.append("      ContainerDefinitions:")
        for container in properties["ContainerDefinitions"]:
            items = [f"{key}: {json.dumps(value)}" for key, value in container.items()]
            lines.append("        - " + items[0])
            lines += ["          " + item for item in items[1:]]
    return ("\n".join(lines) + "\n").encode("utf-8")


def hook_verdicts(
    properties: dict[str, Any], configuration: dict[str, Any]
) -> tuple[str, list[str]]:
    response = handlers.hook(hook_event(properties, configuration), None)
    return response["hookStatus"], [
        ANNOTATION_VERDICTS[a["status"]] for a in response["annotations"]
    ]


def command_verdicts(report: FileReport) -> dict[str, tuple[str, list[str]]]:
    assert report.status == "checked", report.note
    return {
        t.logical_id: (
            "FAILED" if any(f.level == "error" for f in t.findings) else "SUCCESS",
            [c.verdict for c in t.containers],
        )
        for t in report.task_definitions
    }


@pytest.mark.parametrize("render", [as_json, as_yaml], ids=["json", "yaml"])
@pytest.mark.parametrize("configuration", list(CONFIGURATIONS), ids=list(CONFIGURATIONS))
def test_hook_and_command_agree_on_every_container(render: Any, configuration: str) -> None:
    properties = CONFIGURATIONS[configuration]
    task_definitions = corpus(yaml=render is as_yaml)
    options = Options(Settings.from_mapping(properties))
    from_command = command_verdicts(check_file("corpus", render(task_definitions), options))
    from_hook = {
        name: hook_verdicts(definition, properties) for name, definition in task_definitions.items()
    }
    assert from_command == from_hook
    outcomes = {status for status, _ in from_hook.values()}
    verdicts = {v for _, container_verdicts in from_hook.values() for v in container_verdicts}
    assert "FAILED" in outcomes
    assert {"PASS", "FAIL"} <= verdicts
    assert ("SKIP" in verdicts) == (configuration in SKIPPING)


def test_corpus_is_broad() -> None:
    assert len(USERS) > 60
    assert any(not value.isprintable() for value in USERS)


def test_yaml_with_a_lone_surrogate_is_unreadable_not_passed() -> None:
    report = check_file(
        "t.yaml", as_yaml({"T": {"ContainerDefinitions": [{"User": "\ud800"}]}}), Options()
    )
    assert report.status == "error"
    assert "invalid Unicode character escape" in report.note


def layer_failures(target: str, payload: dict[str, Any], configuration: dict[str, Any]) -> Any:
    """An invocation's status, and the containers it fails and those it skips."""
    event = template_event(target, "https://unused.example", configuration)
    event["requestData"].update(targetModel=payload, payload=None)
    response = handlers.hook(event, None)
    check = stack.check_stack if target == "STACK" else stack.check_change_set
    outcome = check(payload, Settings.from_mapping(configuration))
    assert not any(item.status == stack.UNVERIFIED for item in outcome.items)  # all literal
    assert response["message"] == outcome.message
    found = {
        status: {(i.logical_id, i.container) for i in outcome.items if i.status == status}
        for status in (stack.FAIL, stack.SKIPPED)
    }
    return response["hookStatus"], found[stack.FAIL], found[stack.SKIPPED]


@pytest.mark.parametrize("render", [as_json, as_yaml], ids=["json", "yaml"])
@pytest.mark.parametrize("configuration", list(CONFIGURATIONS), ids=list(CONFIGURATIONS))
def test_resource_stack_and_change_set_layers_agree(render: Any, configuration: str) -> None:
    properties = CONFIGURATIONS[configuration]
    task_definitions = corpus(yaml=render is as_yaml)
    from_resources = {
        name: hook_verdicts(definition, properties) for name, definition in task_definitions.items()
    }
    failing, skipped = (
        {
            (name, index)
            for name, (_, verdicts) in from_resources.items()
            for index, verdict in enumerate(verdicts)
            if verdict == wanted
        }
        for wanted in ("FAIL", "SKIP")
    )
    expected = ("FAILED" if failing else "SUCCESS", failing, skipped)
    template = render(task_definitions).decode("utf-8", "surrogatepass")
    assert layer_failures("STACK", {"template": template}, properties) == expected
    changes = [
        {
            "action": "CREATE",
            "logicalResourceId": name,
            "resourceType": "AWS::ECS::TaskDefinition",
            "lineNumber": 1,
            "afterContext": json.dumps({"Properties": definition}),
        }
        for name, definition in task_definitions.items()
    ]
    payload = {"template": template, "changedResources": changes}
    assert layer_failures("CHANGE_SET", payload, properties) == expected
    assert bool(skipped) == (configuration in SKIPPING)


FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_TEMPLATES = sorted(
    path
    for path in FIXTURES.rglob("*")
    if path.suffix in SUFFIXES and path.is_file() and "config" not in path.name
)


@pytest.mark.parametrize(
    "path", FIXTURE_TEMPLATES, ids=[str(p.relative_to(FIXTURES)) for p in FIXTURE_TEMPLATES]
)
def test_the_stack_layer_fails_only_what_the_command_fails_in_every_fixture(path: Path) -> None:
    """The stack layer decides the fixture's text as submitted, with no parameter values: a
    container it fails is one the command fails too, with the same rule; a template the command
    cannot read, the stack layer never fails. (The command also decides by parameter Defaults, so
    it may fail more: the stack layer leaves those to the resource layer.)"""
    report = check_file(str(path), path.read_bytes(), Options())
    outcome = stack.check_stack({"template": path.read_text("utf-8", "replace")}, Settings())
    failed = {(i.logical_id, i.container, i.rule) for i in outcome.items if i.failed}
    if report.status != "checked":
        assert not failed
        return
    by_command = {
        (t.logical_id, f.container, f.rule)
        for t in report.task_definitions
        for f in t.findings
        if f.level == "error"
    }
    assert failed <= by_command
    assert outcome.failed == bool(failed)
