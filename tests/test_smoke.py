"""`make smoke` (deploy/smoke.sh): its sequence, how it reads each API's answer, its table and its
clean-up, against a stand-in for the AWS CLI (tests/fake_cloudformation.py) whose hook answers
as each test says; and what it expects of each layer is what the hook decides."""

import functools
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str
from conftest import stand_in_aws
from iam_policy import allows, cli_action, policy

from guardrails_ecs_nonrootuser import stack
from guardrails_ecs_nonrootuser.cli import main
from guardrails_ecs_nonrootuser.policy import Settings, Verdict, evaluate

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "deploy" / "smoke"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
ALL_TARGETS = ["STACK", "CHANGE_SET", "RESOURCE", "CLOUD_CONTROL"]


@functools.cache
def hook_messages() -> dict[str, str]:
    """What the hook itself says at each layer on the smoke test's templates, under the ready
    enforce configuration: the stand-in says the same."""
    settings = enforce_settings()
    root = (SMOKE / "root.yaml").read_text()
    by_parameter = (SMOKE / "by-parameter.yaml").read_text()
    resources = {**resolved(root), **resolved(by_parameter)}

    def changes(*logical_ids: str) -> dict[str, Any]:
        """The change set's payload: each task definition's afterContext, resolved."""
        return {
            "changedResources": [
                {
                    "logicalResourceId": logical_id,
                    "resourceType": "AWS::ECS::TaskDefinition",
                    "action": "CREATE",
                    "afterContext": json.dumps(resources[logical_id]),
                }
                for logical_id in logical_ids
            ]
        }

    desired = json.loads((SMOKE / "cloud-control.json").read_text())
    return {
        "CHANGE_SET:root": stack.check_change_set(changes("SmokeRootUser"), settings).message,
        "CHANGE_SET:parameter": stack.check_change_set(
            changes("SmokeCompliant", "SmokeRootByParameter"), settings
        ).message,
        "STACK:root": stack.check_stack({"template": root}, settings).message,
        "STACK:parameter": stack.check_stack({"template": by_parameter}, settings).message,
        **{
            f"RESOURCE:{name}": evaluate(resource["Properties"], settings).message()
            for name, resource in resources.items()
        },
        "CLOUD_CONTROL": evaluate(desired, settings).message(),
    }


@functools.cache
def unverified() -> dict[str, str]:
    """The stack layer's annotation on the container whose User is a parameter."""
    template = (SMOKE / "by-parameter.yaml").read_text()
    (item,) = stack.check_stack({"template": template}, enforce_settings()).items
    return {
        "AnnotationName": f"NonRootUser {item.place}",
        "Status": "SKIPPED",
        "StatusMessage": item.describe(),
    }


def resolved(template: str) -> dict[str, Any]:
    """The template's resources as the resource layer gets them from the smoke test: each
    Family a name, SmokeUser given as 0."""
    decoded, errors = decode_str(template)
    assert decoded is not None and not errors
    resources = json.loads(json.dumps(decoded["Resources"]).replace('{"Ref": "SmokeUser"}', '"0"'))
    for name, resource in resources.items():
        resource["Properties"]["Family"] = f"nonroot-smoke-run1-{name}"
    return dict(resources)


def enforce_settings() -> Settings:
    document = json.loads((ROOT / "deploy" / "config" / "enforce.json").read_text())
    hook = document["CloudFormationConfiguration"]["HookConfiguration"]
    return Settings.from_mapping(hook["Properties"])


HEALTHY = {
    "CHANGE_SET:root": "FAILED",
    "CHANGE_SET:parameter": "FAILED",
    "STACK:root": "FAILED",
    "STACK:parameter": "SUCCEEDED",
    "RESOURCE:SmokeRootUser": "FAILED",
    "RESOURCE:SmokeCompliant": "SUCCEEDED",
    "RESOURCE:SmokeRootByParameter": "FAILED",
    "CLOUD_CONTROL": "FAILED",
}
"""What the hook answers in a healthy account (the last test holds it to the hook's own)."""
SHAPE = {
    "AnnotationName": "NonRootUser Payload",
    "Status": "SKIPPED",
    "StatusMessage": "Payload: The stack payload holds no template, text or an object under "
    '"template" or "Template"; it holds an object with key "templateBody" (text).',
}


@pytest.fixture
def fake(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `aws` is tests/fake_cloudformation.py, and the file holding its
    state."""
    env, state = stand_in_aws(tmp_path, "fake_cloudformation.py")
    return {**env, "SMOKE_RUN": "run1"}, state


def scenario(
    state: Path,
    mode: str = "FAIL",
    targets: list[str] | None = None,
    *,
    verdicts: dict[str, str] | None = None,
    annotations: dict[str, list[dict[str, str]]] | None = None,
    configuration: bool = True,
    enabled: bool = True,
    registered: bool = True,
    **faults: list[str],
) -> None:
    hook: dict[str, Any] = {
        "HookInvocationStatus": "ENABLED" if enabled else "DISABLED",
        "TargetOperations": ALL_TARGETS if targets is None else targets,
        "FailureMode": mode,
        "Properties": {},
    }
    state.write_text(
        json.dumps(
            {
                "account": ACCOUNT,
                "registered": registered,
                "configuration": hook if configuration else None,
                "verdicts": {**HEALTHY, **(verdicts or {})},
                "reasons": hook_messages(),
                "annotations": {"STACK:parameter": [unverified()], **(annotations or {})},
                "stacks": {},
                "change_sets": {},
                "results": {},
                "requests": {},
                "resources": [],
                "deleted": [],
                "calls": [],
                **faults,
            }
        )
    )


def smoke(env: dict[str, str], **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "deploy" / "smoke.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**env, "ACCOUNT": ACCOUNT, "REGION": REGION, **settings},
    )


def table(output: str) -> list[list[str]]:
    """The table's rows, split on runs of two spaces: [mark, layer, case, expected, observed]."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["Layer"])
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith(("  ", "! ")):
            break
        cells = [cell for cell in line[2:].split("  ") if cell.strip()]
        rows.append([line[:1].strip(), *(cell.strip() for cell in cells[:4])])
    return rows


def created_and_deleted(state: Path) -> tuple[set[str], list[str], list[str]]:
    document = json.loads(state.read_text())
    return set(document["stacks"]), document["deleted"], document["resources"]


@pytest.mark.parametrize(
    ("mode", "failed"), [("FAIL", "FAILED, blocked"), ("WARN", "FAILED, warned")]
)
def test_a_healthy_account_answers_as_expected_at_every_layer_and_is_left_clean(
    fake: tuple[dict[str, str], Path], mode: str, failed: str
) -> None:
    env, state = fake
    scenario(state, mode)
    result = smoke(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert table(result.stdout) == [
        ["", "CHANGE_SET", "root in the template", failed, failed],
        ["", "CHANGE_SET", "root by parameter (resolved)", failed, failed],
        ["", "STACK", "root in the template", failed, failed],
        ["", "STACK", "root by parameter (unknown)", "SUCCEEDED", "SUCCEEDED"],
        ["", "RESOURCE", "compliant", "SUCCEEDED", "SUCCEEDED"],
        ["", "RESOURCE", "root by parameter", failed, failed],
        ["", "CLOUD_CONTROL", "root in the desired state", failed, failed],
    ]
    assert f"smoke: all 7 answered as expected in {mode} mode" in result.stdout
    # the stack layer's message, cut, and what it left to the resource layer, in full
    assert hook_messages()["STACK:root"][:40] in result.stdout
    assert f"  STACK: {unverified()['StatusMessage']}" in result.stdout
    stacks, deleted, resources = created_and_deleted(state)
    kinds = ("change-set-root", "change-set-parameter", "stack", "resource")
    assert stacks == {f"nonroot-smoke-run1-{kind}" for kind in kinds}
    assert sorted(deleted) == sorted(stacks)
    assert resources == []  # the task definition Cloud Control created under WARN is deleted


def test_a_layer_that_does_not_block_is_a_mismatch_and_the_table_says_which(
    fake: tuple[dict[str, str], Path],
) -> None:
    env, state = fake
    scenario(state, "FAIL", verdicts={"STACK:root": "SUCCEEDED"})
    result = smoke(env)
    assert result.returncode == 1
    rows = table(result.stdout)
    assert ["!", "STACK", "root in the template", "FAILED, blocked", "SUCCEEDED"] in rows
    assert sum(row[0] == "!" for row in rows) == 1
    assert "smoke: 1 of 7 layers did not answer as expected (marked !)" in result.stdout
    stacks, deleted, _ = created_and_deleted(state)
    assert sorted(deleted) == sorted(stacks)


def test_a_payload_the_hook_cannot_read_shows_its_shape_after_the_table(
    fake: tuple[dict[str, str], Path],
) -> None:
    """What a wrong assumption about CloudFormation's payload looks like on first contact: the
    stack layer passes what it should block, and says what shape it saw instead."""
    env, state = fake
    scenario(
        state,
        "FAIL",
        verdicts={"STACK:root": "SUCCEEDED", "STACK:parameter": "SUCCEEDED"},
        annotations={"STACK:root": [SHAPE], "STACK:parameter": [SHAPE]},
    )
    result = smoke(env)
    assert result.returncode == 1
    assert ["!", "STACK", "root in the template", "FAILED, blocked", "SUCCEEDED"] in table(
        result.stdout
    )
    after = result.stdout.split("Left to the resource layer by the stack and change-set layers:")[1]
    assert f"  STACK: {SHAPE['StatusMessage']}" in after


@pytest.mark.parametrize("command", ["describe-stack-events", "get-resource-request-status"])
def test_a_failure_midway_still_deletes_what_was_created(
    fake: tuple[dict[str, str], Path], command: str
) -> None:
    env, state = fake
    scenario(state, "WARN", fail=[command])
    result = smoke(env)
    assert result.returncode != 0
    assert "smoke: all" not in result.stdout
    stacks, deleted, resources = created_and_deleted(state)
    assert stacks and sorted(deleted) == sorted(stacks)
    assert resources == [] or command == "get-resource-request-status"


def test_an_interrupted_run_deletes_what_it_created(fake: tuple[dict[str, str], Path]) -> None:
    env, state = fake
    scenario(state, "WARN", hang=["describe-stack-events"])
    process = subprocess.Popen(
        [str(ROOT / "deploy" / "smoke.sh")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "ACCOUNT": ACCOUNT, "REGION": REGION},
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            calls = json.loads(state.read_text())["calls"]
        except json.JSONDecodeError:  # read while the stand-in rewrites it: read it again
            calls = []
        if any(call[1] == "describe-stack-events" for call in calls):
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the whole foreground group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    stacks, deleted, _ = created_and_deleted(state)
    assert stacks and sorted(deleted) == sorted(stacks)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"registered": False},
            "is not registered in 123456789012 eu-west-1: run make register",
            id="not-registered",
        ),
        pytest.param(
            {"configuration": False},
            "the hook has no configuration here: run make configure",
            id="not-configured",
        ),
        pytest.param(
            {"enabled": False}, "the hook is not ENABLED here: run make configure", id="disabled"
        ),
    ],
)
def test_it_refuses_to_start_until_the_hook_is_registered_and_enabled(
    fake: tuple[dict[str, str], Path], settings: dict[str, Any], message: str
) -> None:
    env, state = fake
    scenario(state, **settings)
    result = smoke(env)
    assert result.returncode == 2
    assert message in result.stderr
    calls = json.loads(state.read_text())["calls"]
    assert not any(call[1].startswith("create-") for call in calls)


def test_it_refuses_another_account_and_a_missing_setting(
    fake: tuple[dict[str, str], Path],
) -> None:
    env, state = fake
    scenario(state)
    result = smoke(env, ACCOUNT="111111111111")
    assert result.returncode == 2
    assert f"credentials in use are for account {ACCOUNT}, not 111111111111" in result.stderr
    result = smoke({**env, "REGION": ""}, REGION="")
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "smoke: set REGION (no default, on purpose)",
    )
    assert not any(call[1].startswith("create-") for call in json.loads(state.read_text())["calls"])


def test_only_the_targeted_layers_are_exercised(fake: tuple[dict[str, str], Path]) -> None:
    env, state = fake
    scenario(state, "FAIL", ["RESOURCE"])
    result = smoke(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [row[1:3] for row in table(result.stdout)] == [
        ["RESOURCE", "compliant"],
        ["RESOURCE", "root by parameter"],
    ]
    calls = json.loads(state.read_text())["calls"]
    assert {call[0] for call in calls} == {"sts", "cloudformation"}
    assert not any(call[1] == "create-change-set" for call in calls)


def test_make_smoke_passes_account_and_region_through() -> None:
    def make(*settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "-s", "smoke", *settings],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={
                **os.environ,
                "AWS_ACCESS_KEY_ID": "",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            },
            timeout=120,
        )

    refused = make()
    assert refused.returncode != 0 and "smoke: set ACCOUNT" in refused.stderr
    started = make(f"ACCOUNT={ACCOUNT}", f"REGION={REGION}")  # no credentials: it stops there
    assert started.returncode != 0
    assert started.stdout.startswith(
        f"smoke: Guardrails::ECS::NonRootUser in account {ACCOUNT}, {REGION} (run "
    )


def test_what_the_smoke_test_expects_is_what_the_hook_decides(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The stand-in answers as HEALTHY says; here the hook itself decides the same: the stack
    layer blocks the root written in the template and leaves the parameter to the resource
    layer, which blocks it once given, and the ready configurations exempt none of them."""
    settings = enforce_settings()
    root = (SMOKE / "root.yaml").read_text()
    assert stack.check_stack({"template": root}, settings).failed
    by_parameter = (SMOKE / "by-parameter.yaml").read_text()
    outcome = stack.check_stack({"template": by_parameter}, settings)
    assert not outcome.failed
    assert [(i.status, i.logical_id) for i in outcome.items] == [
        (stack.UNVERIFIED, "SmokeRootByParameter")
    ]
    resources = resolved(by_parameter)
    verdicts = {
        name: evaluate(resource["Properties"], settings).results[0].verdict
        for name, resource in resources.items()
    }
    assert verdicts == {"SmokeCompliant": Verdict.PASS, "SmokeRootByParameter": Verdict.FAIL}
    desired = json.loads((SMOKE / "cloud-control.json").read_text())
    assert evaluate(desired, settings).results[0].verdict == Verdict.FAIL
    assert main(["check", "--no-config", str(SMOKE)]) == 1
    assert "SmokeRootUser" in capsys.readouterr().out


WAITERS = {
    "change-set-create-complete": "cloudformation:DescribeChangeSet",
    "stack-create-complete": "cloudformation:DescribeStacks",
    "stack-delete-complete": "cloudformation:DescribeStacks",
    "resource-request-success": "cloudformation:GetResourceRequestStatus",
}
"""The API each AWS CLI waiter polls."""
UNDERLYING = ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"]
"""What CloudFormation and Cloud Control then call with the caller's permissions."""


@pytest.mark.parametrize("mode", ["WARN", "FAIL"])
def test_every_smoke_call_is_allowed_by_its_policy(
    fake: tuple[dict[str, str], Path], mode: str
) -> None:
    env, state = fake
    scenario(state, mode)
    assert smoke(env).returncode == 0
    calls = json.loads(state.read_text())["calls"]
    actions = {
        WAITERS[call[2]] if call[1] == "wait" else cli_action(call[0], call[1]) for call in calls
    }
    assert {"cloudformation:GetHookResult", "cloudformation:DeleteResource"} <= actions or (
        mode == "FAIL" and "cloudformation:GetHookResult" in actions
    )
    document = policy("smoke.json")
    assert [a for a in sorted(actions | set(UNDERLYING)) if not allows(document, a)] == []


def test_the_table_in_docs_is_what_a_healthy_account_prints(
    fake: tuple[dict[str, str], Path],
) -> None:
    env, state = fake
    scenario(state, "WARN")
    printed = [
        line
        for line in smoke(env).stdout.splitlines()
        if line.startswith(("  ", "Left", "smoke: all"))
    ]
    document = (ROOT / "docs" / "register.md").read_text(encoding="utf-8")
    shown = document.split("A healthy account in audit mode prints:\n\n```text\n")[1].split("```")[
        0
    ]
    assert shown.splitlines() == printed
