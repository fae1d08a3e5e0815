"""The stack and change-set targets: the payload CloudFormation sends (``stack``), in both its
spellings, decided by the command's reader and the same policy; through the hook's entrypoint,
in this interpreter and as packaged, with payloads served over TLS on 127.0.0.1.

Payload facts (the hooks user guide's stack and change-set input; the Java plugin's
StackHookTargetModel and its tests, aws-cloudformation/cloudformation-cli-java-plugin 36e4e41):
``template``/``previousTemplate`` (``Template``/``PreviousTemplate``/``ResolvedTemplate``), and
``changedResources`` with ``action``, ``logicalResourceId``, ``resourceType``, ``lineNumber``,
``beforeContext``/``afterContext`` (``ChangedResources`` with ``LogicalResourceId``,
``ResourceType``, ``LineNumber``, ``Action``, ``ResourceProperties``,
``PreviousResourceProperties``), contexts being JSON text.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hook_event import template_event
from tls_server import Store, tls_server

from guardrails_ecs_nonrootuser import handlers, loader, stack
from guardrails_ecs_nonrootuser.policy import MESSAGE_LIMIT, Settings
from guardrails_ecs_nonrootuser.scan import UNQUOTED_YAML11, Options, check_file, check_template

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PYTHON = ROOT / ".lambda-runtime" / "bin" / "python"
ENTRYPOINT = json.loads((ROOT / ".rpdk-config").read_text(encoding="utf-8"))["entrypoint"]
TEMPLATE_FIXTURES = sorted(
    [
        *(p for p in (ROOT / "tests" / "fixtures" / "templates").rglob("*.*") if p.is_file()),
        *(ROOT / "tests" / "fixtures" / "hostile").glob("*.*"),
        *(ROOT / "examples").glob("*.yaml"),
    ]
)
SETTINGS = Settings()
PURE_PARSER_REFUSES = {"yaml-forms.yaml"}
"""Fixtures PyYAML's pure-Python parser refuses and libyaml reads: a tab after a key's colon."""

MIXED = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  WorkerUser:
    Type: String
    Default: "0"
  Env:
    Type: String
    AllowedValues: [prod, dev]
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Always: !Equals [same, same]
Resources:
  FailLiteral:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: "0"
        - Name: ok
          Image: registry.example/app:1
          User: "1000:1000"
  FailUnderLiteralCondition:
    Type: AWS::ECS::TaskDefinition
    Condition: Always
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: !If [Always, "0:0", "1000"]
  UnverifiedParameter:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: worker
          Image: registry.example/worker:1
          User: !Ref WorkerUser
  UnverifiedCondition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: !If [IsProd, "1000", "0"]
  UnverifiedExistence:
    Type: AWS::ECS::TaskDefinition
    Condition: IsProd
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: root
  UnverifiedDynamicReference:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: "{{resolve:ssm:/app/user}}"
  UnverifiedAttribute:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: !GetAtt Users.Uid
  Pass:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: "1000:1000"
"""


def places(outcome: stack.Outcome, status: str) -> set[tuple[str, int | None]]:
    return {(item.logical_id, item.container) for item in outcome.items if item.status == status}


def change(
    logical_id: str, after: Any, action: str = "CREATE", pascal: bool = False, line: int = 7
) -> dict[str, Any]:
    """A changedResources entry, in the user guide's spelling or the Java plugin's."""
    if pascal:
        return {
            "LogicalResourceId": logical_id,
            "ResourceType": "AWS::ECS::TaskDefinition",
            "Action": action,
            "LineNumber": line,
            "ResourceProperties": after,
        }
    return {
        "logicalResourceId": logical_id,
        "resourceType": "AWS::ECS::TaskDefinition",
        "action": action,
        "lineNumber": line,
        "beforeContext": None,
        "afterContext": after,
    }


def containers(*users: str) -> dict[str, Any]:
    return {
        "ContainerDefinitions": [
            {"Name": f"app{index}", "Image": "registry.example/app:1", "User": user}
            for index, user in enumerate(users)
        ]
    }


# --- the stack target -------------------------------------------------------------------------


def test_stack_fails_only_what_every_deployment_fails_leaving_the_rest_to_resource_check() -> None:
    outcome = stack.check_stack({"template": MIXED}, SETTINGS)
    assert outcome.failed
    assert places(outcome, stack.FAIL) == {("FailLiteral", 0), ("FailUnderLiteralCondition", 0)}
    assert places(outcome, stack.UNVERIFIED) == {
        ("UnverifiedParameter", 0),
        ("UnverifiedCondition", 0),
        ("UnverifiedExistence", 0),
        ("UnverifiedDynamicReference", 0),
        ("UnverifiedAttribute", 0),
    }
    assert outcome.message.startswith("2 of 9 containers, in 2 of 8 task definitions, can run")
    lines = {item.logical_id: item.line for item in outcome.items}
    assert lines["FailLiteral"] == MIXED.splitlines().index('          User: "0"') + 1
    unverified = [item for item in outcome.items if item.status == stack.UNVERIFIED]
    assert all("the hook decides it" in item.message for item in unverified)


def test_stack_lists_exempted_containers_as_skipped() -> None:
    template = json.dumps(
        {
            "Resources": {
                "T": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("1000", "0")}
            }
        }
    )
    settings = Settings.from_mapping({"ExemptContainerNames": ["app1"]})
    outcome = stack.check_stack({"template": template}, settings)
    assert not outcome.failed
    assert outcome.message == (
        "Checked 2 containers (1 skipped) in 1 task definition: none can run as root."
    )
    (item,) = outcome.items
    assert (item.status, item.container) == (stack.SKIPPED, 1)
    assert item.message.endswith('exempt by ExemptContainerNames pattern "app1"')


def test_stack_spellings_agree() -> None:
    assert stack.check_stack({"Template": MIXED}, SETTINGS) == stack.check_stack(
        {"template": MIXED, "previousTemplate": "{}"}, SETTINGS
    )


def test_stack_template_as_an_object_is_decided_without_its_lines() -> None:
    template = {
        "Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("0")}}
    }
    outcome = stack.check_stack({"Template": template}, SETTINGS)
    assert outcome.failed
    assert [(item.logical_id, item.line) for item in outcome.items] == [("T", None)]


def test_stack_command_fails_what_the_stack_leaves_to_the_resource_check() -> None:
    """The command decides with Defaults (WorkerUser "0") and both outcomes of each condition."""
    report = check_file("mixed.yaml", MIXED.encode(), Options())
    failing = {
        (td.logical_id, c.position)
        for td in report.task_definitions
        for c in td.containers
        if c.verdict == "FAIL"
    }
    assert failing == {
        ("FailLiteral", 0),
        ("FailUnderLiteralCondition", 0),
        ("UnverifiedParameter", 0),
        ("UnverifiedCondition", 0),
        ("UnverifiedExistence", 0),
    }


def test_stack_without_task_definitions_is_answered_without_reading_it() -> None:
    unreadable = "Resources: {Bucket: {Type: AWS::S3::Bucket}\n  : [\n"
    outcome = stack.check_stack({"template": unreadable}, SETTINGS)
    assert outcome == stack.Outcome(
        False, "No AWS::ECS::TaskDefinition in the template: nothing to check."
    )


@pytest.mark.parametrize(
    "spelled",
    [
        pytest.param('"AWS::ECS::Task\\u0044efinition"', id="yaml-unicode-escape"),
        pytest.param('"AWS::ECS::Task\\x44efinition"', id="yaml-hex-escape"),
        pytest.param('"AWS::ECS::Task\\\n    Definition"', id="yaml-escaped-line-break"),
    ],
)
def test_stack_type_spelled_with_escapes_is_still_read(spelled: str) -> None:
    template = f"Resources:\n  T:\n    Type: {spelled}\n    Properties:\n" + (
        "      ContainerDefinitions: [{Name: app, Image: i, User: '0'}]\n"
    )
    assert yaml.safe_load(template)["Resources"]["T"]["Type"] == "AWS::ECS::TaskDefinition"
    outcome = stack.check_stack({"template": template}, SETTINGS)
    assert outcome.failed
    assert places(outcome, stack.FAIL) == {("T", 0)}


def test_stack_transform_and_unreadable_template_are_unverified_never_failed() -> None:
    transformed = (
        "Transform: [AWS::Include]\n"
        + MIXED.split("Resources:\n", maxsplit=1)[0]
        + (
            "Resources:\n  Pass:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            "      ContainerDefinitions: [{Name: a, Image: i, User: '1000'}]\n"
        )
    )
    outcome = stack.check_stack({"template": transformed}, SETTINGS)
    assert not outcome.failed
    assert [item.logical_id for item in outcome.items] == ["Transform"]
    duplicated = MIXED + "Resources: {}\n"
    outcome = stack.check_stack({"template": duplicated}, SETTINGS)
    assert not outcome.failed
    assert outcome.items[0].status == stack.UNVERIFIED
    assert outcome.items[0].message.startswith("The template cannot be checked here (cannot read:")


def test_stack_with_a_module_and_no_task_definition_written_is_read_not_passed() -> None:
    template = "Resources:\n  Service:\n    Type: Acme::ECS::Service::MODULE\n"
    outcome = stack.check_stack({"template": template}, SETTINGS)
    assert not outcome.failed
    assert [(i.status, i.logical_id) for i in outcome.items] == [(stack.UNVERIFIED, "Transform")]
    assert "the module Acme::ECS::Service::MODULE can add" in outcome.items[0].message


def test_stack_message_names_offenders_as_fit_and_counts_the_rest() -> None:
    resources = {
        f"Task{index:03}": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": containers("0", "1000"),
        }
        for index in range(60)
    }
    outcome = stack.check_stack({"template": json.dumps({"Resources": resources})}, SETTINGS)
    assert len(outcome.message) <= MESSAGE_LIMIT
    assert outcome.message.startswith("60 of 120 containers, in 60 of 60 task definitions")
    assert outcome.message.endswith("more violations.")
    assert len(places(outcome, stack.FAIL)) == 60
    # grouped by rule: the fix is said once, so the message names many offenders
    assert outcome.message.count("Fix: ") == 1
    assert outcome.message.count("uid 0 is root") >= 12


@pytest.mark.parametrize(
    ("payload", "shape"),
    [
        pytest.param({}, "an empty object", id="empty"),
        pytest.param({"template": 7}, 'an object with key "template" (number)', id="number"),
        pytest.param(
            {"Body": "Resources: {}", "Parameters": [{"Key": "x"}]},
            'an object with keys "Body" (text), "Parameters" (a list of 1, its objects with key '
            '"Key" (text))',
            id="another-spelling",
        ),
    ],
)
def test_stack_payload_of_a_shape_not_foreseen_is_left_to_the_resource_layer(
    payload: dict[str, Any], shape: str
) -> None:
    """Never a block: if CloudFormation's payload is spelled otherwise than foreseen, a block
    here would stop every stack operation in every account. The annotation shows the shape
    (key names and kinds), never a value."""
    outcome = stack.check_stack(payload, SETTINGS)
    assert not outcome.failed
    assert outcome.message.startswith("The stack payload is not in a shape this hook reads")
    (item,) = outcome.items
    assert item.status == stack.UNVERIFIED
    assert f'under "template" or "Template"; it holds {shape}.' in item.message
    assert "Resources" not in item.message and '"x"' not in item.message


# --- the change-set target ----------------------------------------------------------------------


@pytest.mark.parametrize("pascal", [False, True], ids=["user-guide", "java-plugin"])
@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda p: json.dumps({"Properties": p}), id="json-with-properties"),
        pytest.param(json.dumps, id="json-bare"),
        pytest.param(lambda p: {"Properties": p}, id="object"),
    ],
)
def test_change_set_decides_created_and_updated_task_definitions(pascal: bool, wrap: Any) -> None:
    payload = {
        ("ChangedResources" if pascal else "changedResources"): [
            change("Created", wrap(containers("0", "1000")), "CREATE", pascal, line=5),
            change("Updated", wrap(containers("1000:0")), "UPDATE", pascal, line=20),
            change("Modified", wrap(containers("1000")), "Modify", pascal),
            change("Deleted", wrap(containers("0")), "DELETE", pascal),
            change("Removed", wrap(containers("0")), "Remove", pascal),
            {
                **change("Bucket", wrap(containers("0")), "CREATE", pascal),
                "resourceType": "AWS::S3::Bucket",
                "ResourceType": "AWS::S3::Bucket",
            },
        ]
    }
    outcome = stack.check_change_set(payload, SETTINGS)
    assert outcome.failed
    assert places(outcome, stack.FAIL) == {("Created", 0), ("Updated", 0)}
    assert {item.logical_id: item.line for item in outcome.items} == {"Created": 5, "Updated": 20}
    assert outcome.message.startswith("2 of 4 containers, in 2 of 3 changed task definitions")


def test_change_set_value_known_only_when_executed_is_unverified() -> None:
    placeholder = "{{changeSet:KNOWN_AFTER_APPLY}}"
    payload = {
        "changedResources": [change("T", json.dumps({"Properties": containers(placeholder)}))]
    }
    outcome = stack.check_change_set(payload, SETTINGS)
    assert not outcome.failed
    assert places(outcome, stack.UNVERIFIED) == {("T", 0)}
    assert "change set placeholder" in outcome.items[0].message


def test_change_set_without_a_readable_context_is_decided_from_the_template() -> None:
    payload = {
        "template": MIXED,
        "changedResources": [
            change("FailLiteral", None),
            change("UnverifiedParameter", "not json"),
            change("Pass", "{}"),
            change("NotInTemplate", None),
        ],
    }
    outcome = stack.check_change_set(payload, SETTINGS)
    assert outcome.failed
    assert places(outcome, stack.FAIL) == {("FailLiteral", 0)}
    assert places(outcome, stack.UNVERIFIED) == {
        ("UnverifiedParameter", 0),
        ("NotInTemplate", None),
    }


def test_change_set_context_without_containers_is_completed_from_the_template() -> None:
    partial = json.dumps({"Properties": {"Family": "only-what-changed"}})
    payload = {"template": MIXED, "changedResources": [change("FailLiteral", partial, "UPDATE")]}
    outcome = stack.check_change_set(payload, SETTINGS)
    assert outcome.failed
    assert [(i.status, i.logical_id, i.container) for i in outcome.items] == [
        (stack.FAIL, "FailLiteral", 0)
    ]


def test_change_set_without_task_definitions_has_nothing_to_check() -> None:
    outcome = stack.check_change_set({"template": MIXED, "changedResources": []}, SETTINGS)
    assert outcome == stack.Outcome(
        False, "The change set changes no AWS::ECS::TaskDefinition: nothing to check."
    )


@pytest.mark.parametrize(
    ("payload", "shape"),
    [
        pytest.param({"changedResources": {}}, '"changedResources" (object)', id="object"),
        pytest.param({"changedResources": ["x"]}, '"changedResources" (a list of 1)', id="texts"),
        pytest.param(
            {"Changes": [{"ResourceChange": {"LogicalResourceId": "T"}, "Type": "Resource"}]},
            '"Changes" (a list of 1, its objects with keys "ResourceChange" (object), "Type" '
            "(text))",
            id="another-spelling",
        ),
    ],
)
def test_change_set_payload_of_a_shape_not_foreseen_is_left_to_the_resource_layer(
    payload: dict[str, Any], shape: str
) -> None:
    outcome = stack.check_change_set(payload, SETTINGS)
    assert not outcome.failed
    (item,) = outcome.items
    assert item.status == stack.UNVERIFIED
    assert (
        f'under "changedResources" or "ChangedResources"; it holds an object with key {shape}.'
        in item.message
    )
    assert '"T"' not in item.message and "Resource)" not in item.message


def test_a_change_whose_type_or_logical_id_cannot_be_read_is_unverified_the_rest_decided() -> None:
    changes = [
        {"resourceType": "AWS::ECS::TaskDefinition", "action": "CREATE"},
        {"Kind": "AWS::ECS::TaskDefinition", "Id": "Hidden"},
        {"resourceType": "AWS::S3::Bucket", "logicalResourceId": "Bucket"},
        change("Root", json.dumps({"Properties": containers("0")})),
    ]
    outcome = stack.check_change_set({"changedResources": changes}, SETTINGS)
    assert outcome.failed
    assert [(i.status, i.logical_id) for i in outcome.items] == [
        (stack.FAIL, "Root"),
        (stack.UNVERIFIED, "Change #0"),
        (stack.UNVERIFIED, "Change #1"),
    ]
    assert 'it holds an object with keys "Kind" (text), "Id" (text).' in outcome.items[2].message


# --- every template fixture of the command, as a stack ---------------------------------------


def literal_failures(data: bytes, settings: Settings = SETTINGS) -> set[tuple[str, int]]:
    """The containers the command fails on literal values: its own check of the template with
    every parameter's Default removed, failures that depend on no condition, nor on how a YAML
    loader reads an unquoted value (which the stack layer cannot know either)."""
    template = loader.load(data)
    assert template is not None
    without_defaults = {
        name: {key: value for key, value in spec.items() if key != "Default"}
        for name, spec in template.parameters.items()
    }
    reports, _ = check_template(template._replace(parameters=without_defaults), Options(settings))
    return {
        (td.logical_id, c.position)
        for td in reports
        for c in td.containers
        if c.verdict == "FAIL"
        and not c.condition
        and not any(
            (f.container, f.line) == (c.position, c.line)
            and (", when " in f.message or f.rule == UNQUOTED_YAML11)
            for f in td.findings
        )
    }


EXEMPTING = Settings.from_mapping(
    json.loads((ROOT / "tests" / "fixtures" / "config-exempting.json").read_text("utf-8"))
)
"""Exemptions of every kind that fixtures' containers match, so the stack layer is held to
failing only what no deployment exempts."""


@pytest.mark.parametrize("settings", [SETTINGS, EXEMPTING], ids=["defaults", "exempting"])
@pytest.mark.parametrize("path", TEMPLATE_FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_stack_never_fails_what_the_command_passes_and_fails_what_it_fails_on_literals(
    path: Path, settings: Settings
) -> None:
    data = path.read_bytes()
    report = check_file("t", data, Options(settings))
    outcome = stack.check_stack({"template": data.decode("utf-8", "surrogateescape")}, settings)
    stack_failures = places(outcome, stack.FAIL)
    command = {
        (td.logical_id, c.position)
        for td in report.task_definitions
        for c in td.containers
        if c.verdict == "FAIL"
    }
    assert stack_failures <= command
    if report.status == "checked":
        assert literal_failures(data, settings) <= stack_failures
    assert outcome.failed == bool(stack_failures)


@pytest.mark.parametrize("path", TEMPLATE_FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_lambda_parser_reads_every_fixture_as_libyaml_does(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package ships PyYAML without libyaml: its pure-Python parser must read alike."""
    data = path.read_bytes()

    def read() -> Any:
        try:
            return loader.load(data)
        except loader.TemplateError:
            return "unreadable"

    with_libyaml = read()
    monkeypatch.setattr(loader, "_Loader", yaml.SafeLoader)
    if path.name in PURE_PARSER_REFUSES:
        assert with_libyaml != "unreadable"
        assert read() == "unreadable"  # the stack check leaves it to the resource-level check
    else:
        assert read() == with_libyaml


# --- through the hook's entrypoint, payloads served over TLS ------------------------------------

SIGNATURE = "X-Amz-Signature=0f1e2d3c4b5a-SIGNATURE"
YAML_SHORT_TAGS = MIXED
JSON_TEMPLATE = json.dumps(
    {
        "Resources": {
            "FailLiteral": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": containers("0", "1000:1000"),
            },
            "Pass": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("1000")},
        }
    },
    indent=2,
)


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The payload server's base URL and the CA bundle that trusts it; bodies go in Store."""
    ca_dir = tmp_path_factory.mktemp("ca")
    with tls_server(Store, ca_dir) as base:
        yield base, ca_dir / "ca.pem"


def put(base: str, name: str, payload: Any) -> str:
    """Serve ``payload`` as JSON at a presigned-looking URL; the URL."""
    Store.bodies[f"/{name}"] = json.dumps(payload).encode()
    return f"{base}/{name}?{SIGNATURE}"


@pytest.fixture
def served_payloads(payloads: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    base, bundle = payloads
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return base


def answer(event: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    response = dict(handlers.hook(event, None))
    captured = capsys.readouterr()
    for place in (json.dumps(response), captured.out, captured.err):
        assert "SIGNATURE" not in place and "127.0.0.1" not in place
    return response


@pytest.mark.parametrize(
    ("payload", "template"),
    [
        pytest.param(
            {"template": JSON_TEMPLATE, "previousTemplate": None}, JSON_TEMPLATE, id="json"
        ),
        pytest.param(
            {"Template": YAML_SHORT_TAGS, "PreviousTemplate": "{}"},
            YAML_SHORT_TAGS,
            id="yaml-pascal",
        ),
    ],
)
def test_entrypoint_stack_target_fails_naming_every_offender(
    served_payloads: str, capsys: pytest.CaptureFixture[str], payload: Any, template: str
) -> None:
    event = template_event("STACK", put(served_payloads, "stack", payload), update=True)
    response = answer(event, capsys)
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    outcome = stack.check_stack(payload, SETTINGS)
    assert response["message"] == outcome.message
    failed = [a for a in response["annotations"] if a["status"] == "FAILED"]
    assert len(failed) == len(places(outcome, stack.FAIL)) > 0
    line = (
        template.splitlines().index(
            '          User: "0"' if template is MIXED else '            "User": "0"'
        )
        + 1
    )
    first = failed[0]
    assert first["annotationName"] == f"NonRootUser FailLiteral line {line}"
    assert first["severityLevel"] == "HIGH"
    assert first["remediationMessage"].startswith("set User to a non-root uid")
    skipped = [a for a in response["annotations"] if a["status"] == "SKIPPED"]
    assert len(skipped) == len(places(outcome, stack.UNVERIFIED))


def test_entrypoint_change_set_target_decides_changes_and_never_skips_the_stack_hook(
    served_payloads: str, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = {
        "template": MIXED,
        "changedResources": [change("FailLiteral", json.dumps({"Properties": containers("0")}))],
    }
    response = answer(
        template_event("CHANGE_SET", put(served_payloads, "cs-fail", failing)), capsys
    )
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    assert response["annotations"][0]["annotationName"] == "NonRootUser FailLiteral line 7"
    passing = {
        "Template": MIXED,
        "ChangedResources": [
            change("Pass", json.dumps(containers("1000")), "CREATE", pascal=True),
            change("FailLiteral", None, "DELETE", pascal=True),
        ],
    }
    response = answer(
        template_event("CHANGE_SET", put(served_payloads, "cs-pass", passing)), capsys
    )
    # The stack hook runs again when the change set is executed, under the configuration then
    # in force, and sees task definitions the change set does not change.
    assert response["hookStatus"] == "SUCCESS"
    assert (
        response["message"]
        == "Checked 1 containers in 1 changed task definition: none can run as root."
    )


ROOT_CHANGE = json.dumps({"Properties": containers("1000", "0")})
SPELLINGS = [
    pytest.param("STACK", {"template": MIXED}, None, id="stack-user-guide"),
    pytest.param("STACK", {"Template": MIXED}, None, id="stack-java-plugin"),
    pytest.param("STACK", {"templateBody": MIXED}, '"templateBody" (text)', id="stack-other"),
    pytest.param(
        "CHANGE_SET",
        {"changedResources": [change("Root", ROOT_CHANGE)]},
        None,
        id="change-set-user-guide",
    ),
    pytest.param(
        "CHANGE_SET",
        {"ChangedResources": [change("Root", ROOT_CHANGE, pascal=True)]},
        None,
        id="change-set-java-plugin",
    ),
    pytest.param(
        "CHANGE_SET",
        {"Changes": [{"Type": "ValueOfType", "ResourceChange": {"LogicalResourceId": "SecretId"}}]},
        '"Changes" (a list of 1, its objects with keys "Type" (text), "ResourceChange" (object))',
        id="change-set-other",
    ),
]


@pytest.mark.parametrize(("target", "payload", "shape"), SPELLINGS)
def test_entrypoint_reads_both_spellings_and_leaves_another_to_the_resource_layer(
    served_payloads: str,
    capsys: pytest.CaptureFixture[str],
    target: str,
    payload: Any,
    shape: str | None,
) -> None:
    """The user guide's spelling and the Java plugin's are decided; a third shape, which is
    what CloudFormation would send if both assumptions were wrong, never blocks (in FAIL mode
    that would stop every stack operation in every account with the hook): the answer is
    SUCCESS, with an annotation that names the shape it saw, key names only."""
    response = answer(
        template_event(target, put(served_payloads, f"{target}-{next(iter(payload))}", payload)),
        capsys,
    )
    if shape is None:
        assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
        return
    assert response["hookStatus"] == "SUCCESS" and "errorCode" not in response
    assert "not in a shape this hook reads" in response["message"]
    (annotation,) = response["annotations"]
    assert annotation["annotationName"] == "NonRootUser Payload"
    assert annotation["status"] == "SKIPPED"
    assert f"it holds an object with key {shape}." in annotation["statusMessage"]
    for value in ("AWS::ECS::TaskDefinition", "ValueOfType", "SecretId"):  # names, not values
        assert value not in json.dumps(response)


def test_entrypoint_payload_that_is_not_an_object_is_still_an_invalid_request(
    served_payloads: str, capsys: pytest.CaptureFixture[str]
) -> None:
    response = answer(template_event("STACK", put(served_payloads, "list", ["x"])), capsys)
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InvalidRequest")
    assert response["message"] == (
        "Invalid request: the remote payload cannot be read: it is not a JSON object."
    )


def test_entrypoint_annotates_at_most_fifty_and_says_how_many_more(
    served_payloads: str, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = {
        f"Task{index:03}": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("0", "0")}
        for index in range(40)
    }
    url = put(served_payloads, "many", {"template": json.dumps({"Resources": resources})})
    response = answer(template_event("STACK", url), capsys)
    annotations = response["annotations"]
    assert len(annotations) == handlers.MAX_ANNOTATIONS
    assert annotations[-1]["statusMessage"] == "31 more findings are not shown."


def test_entrypoint_stops_resolving_at_its_deadline_and_leaves_the_rest_unverified(
    served_payloads: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "TEMPLATE_BUDGET", 0.0)
    resources = {
        f"Task{index:03}": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("1000")}
        for index in range(200)
    }
    url = put(served_payloads, "late", {"template": json.dumps({"Resources": resources})})
    response = answer(template_event("STACK", url), capsys)
    assert response["hookStatus"] == "SUCCESS"
    assert "cannot be decided before deployment" in response["message"]
    late = [
        a
        for a in response["annotations"]
        if "takes longer than the time left" in a["statusMessage"]
    ]
    assert late and all(a["status"] == "SKIPPED" for a in late)


def test_stack_past_its_deadline_fails_what_it_decided_and_leaves_the_rest_unverified() -> None:
    resources = {
        f"Task{index:03}": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("0")}
        for index in range(200)
    }
    template = json.dumps({"Resources": resources})
    outcome = stack.check_stack(
        {"template": template}, SETTINGS, stack.Known(deadline=time.monotonic() - 1)
    )
    decided = places(outcome, stack.FAIL)
    late = {item.logical_id for item in outcome.items if "takes longer" in item.message}
    assert decided and late
    assert {logical_id for logical_id, _ in decided} | late == set(resources)


# --- pseudo parameters from the request -------------------------------------------------------

ARN = "arn:aws:cloudformation:eu-west-1:123456789012:stack/web-prod/0f1e2d3c-4b5a-6978"


@pytest.mark.parametrize(
    ("account", "stack_id", "expected"),
    [
        pytest.param(
            "123456789012",
            ARN,
            {
                "AWS::Partition": "aws",
                "AWS::Region": "eu-west-1",
                "AWS::AccountId": "123456789012",
                "AWS::StackName": "web-prod",
                "AWS::StackId": ARN,
                "AWS::URLSuffix": "amazonaws.com",
            },
            id="commercial",
        ),
        pytest.param(
            "123456789012",
            ARN.replace("aws:", "aws-cn:").replace("eu-west-1", "cn-north-1"),
            {"AWS::URLSuffix": "amazonaws.com.cn", "AWS::Region": "cn-north-1"},
            id="china",
        ),
        pytest.param(
            "123456789012",
            ARN.replace("aws:", "aws-iso:").replace("eu-west-1", "us-iso-east-1"),
            {"AWS::Partition": "aws-iso"},
            id="suffix-not-known",
        ),
        pytest.param("210987654321", ARN, {}, id="another-account"),
        pytest.param("123456789012", ARN.replace(":stack/", ":stackset/"), {}, id="not-a-stack"),
        pytest.param("123456789012", ARN + "/extra", {}, id="trailing-part"),
        pytest.param("123456789012", None, {}, id="absent"),
    ],
)
def test_pseudo_parameters_come_from_the_stack_arn(
    account: str, stack_id: Any, expected: dict[str, str]
) -> None:
    known = stack.pseudo_parameters(account, stack_id)
    assert expected.items() <= known.items()
    if expected and "AWS::URLSuffix" not in expected and "aws-iso" in str(stack_id):
        assert "AWS::URLSuffix" not in known


REGIONAL = """\
Conditions:
  East: !Equals [!Ref AWS::Region, us-east-1]
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: !Sub "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/app:1"
          User: !If [East, "0", "1000"]
"""


@pytest.mark.parametrize(("region", "status"), [("us-east-1", "FAILED"), ("eu-west-1", "SUCCESS")])
def test_the_stack_layer_decides_with_the_pseudo_parameters_of_the_request(
    region: str, status: str
) -> None:
    """Every deployment of a stack is in its Region and account: what depends on them is
    decided, not left unverified."""
    event = template_event("STACK", "https://unused.example")
    event["stackId"] = ARN.replace("eu-west-1", region)
    event["requestData"].update(targetModel={"template": REGIONAL}, payload=None)
    response = handlers.hook(event, None)
    assert response["hookStatus"] == status
    assert "cannot be decided before deployment" not in response["message"]
    alone = stack.check_stack({"template": REGIONAL}, SETTINGS)
    assert [item.status for item in alone.items] == [stack.UNVERIFIED]


# --- WarnOnly at the stack and change-set layers -----------------------------------------------

WARN_ONLY = {"WarnOnly": ["missing-user"]}
UNSET_AND_ROOT = json.dumps(
    {
        "Resources": {
            "NoUser": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": [{"Name": "web", "Image": "nginx"}]},
            },
            "Root": {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("0")},
        }
    }
)


@pytest.mark.parametrize(
    ("target", "payload"),
    [
        pytest.param("STACK", {"template": json.dumps({"Resources": {}})}, id="stack"),
        pytest.param("CHANGE_SET", {"template": "{}", "changedResources": []}, id="change-set"),
    ],
)
def test_warn_only_violations_are_reported_and_do_not_block_at_either_template_layer(
    served_payloads: str, capsys: pytest.CaptureFixture[str], target: str, payload: Any
) -> None:
    no_user = {"ContainerDefinitions": [{"Name": "web", "Image": "nginx"}]}
    if target == "STACK":
        resources = {"NoUser": {"Type": "AWS::ECS::TaskDefinition", "Properties": no_user}}
        payload = {"template": json.dumps({"Resources": resources})}
    else:
        payload = {**payload, "changedResources": [change("NoUser", json.dumps(no_user))]}
    url = put(served_payloads, f"warn-{target}", payload)
    blocked = answer(template_event(target, url), capsys)
    assert (blocked["hookStatus"], blocked["errorCode"]) == ("FAILED", "NonCompliant")
    response = answer(template_event(target, url, WARN_ONLY), capsys)
    assert response["hookStatus"] == "SUCCESS" and "errorCode" not in response
    assert "1 violation is reported only, as WarnOnly lists its rule" in response["message"]
    assert "Warning [missing-user]: NoUser" in response["message"]
    (annotation,) = response["annotations"]
    assert (annotation["status"], annotation["severityLevel"]) == ("FAILED", "MEDIUM")
    assert annotation["remediationLink"].endswith("/docs/rules/missing-user.md")
    assert annotation["remediationMessage"].startswith("set User to a non-root uid")


def test_warn_only_leaves_other_rules_blocking_and_names_both_at_the_stack_layer() -> None:
    settings = Settings.from_mapping(WARN_ONLY)
    outcome = stack.check_stack({"template": UNSET_AND_ROOT}, settings)
    assert outcome.failed
    assert outcome.message.startswith(
        "1 of 2 containers, in 1 of 2 task definitions, can run as root; 1 more reported only "
        "(WarnOnly)."
    )
    assert {(i.logical_id, i.status) for i in outcome.items} == {
        ("Root", stack.FAIL),
        ("NoUser", stack.WARN),
    }
    assert "Violation [root-user]: Root" in outcome.message
    assert "Warning [missing-user]: NoUser" in outcome.message


def test_stack_message_with_an_injected_fix_keeps_the_policys_remediation() -> None:
    """A template's text can hold " Fix: " (a tag value, a name): the remediation comes from the
    policy, never from splitting a message."""
    template = {
        "Resources": {
            "T": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ContainerDefinitions": [
                        {"Name": "x Fix: nothing to do", "Image": "nginx", "User": "0"}
                    ]
                },
            }
        }
    }
    outcome = stack.check_stack({"template": json.dumps(template)}, SETTINGS)
    (item,) = outcome.items
    assert item.fix.startswith("set User to a non-root uid")
    annotation = handlers._item_annotation(item)
    assert annotation.remediationMessage == item.fix


def test_change_set_contexts_over_1_mb_together_are_each_decided() -> None:
    """80 changed task definitions of 15 KB each (1.2 MB together, every one within what one
    template may hold): each change's context is decided on its own."""
    padding = [{"Name": "PAD", "Value": "x" * 15_000}]
    context = {
        "Properties": {
            "ContainerDefinitions": [
                {"Name": "app", "Image": "nginx", "User": "0", "Environment": padding}
            ]
        }
    }
    changes = [change(f"Task{n:02}", json.dumps(context), line=n + 1) for n in range(80)]
    payload = {"template": "{}", "changedResources": changes}
    assert len(json.dumps(payload)) > stack.MAX_TEMPLATE_BYTES
    outcome = stack.check_change_set(payload, SETTINGS)
    assert outcome.failed
    assert outcome.message.startswith("80 of 80 containers, in 80 of 80 changed task definitions")
    assert places(outcome, stack.FAIL) == {(f"Task{n:02}", 0) for n in range(80)}
    assert [item.line for item in outcome.items][:3] == [1, 2, 3]


def test_an_answer_about_a_huge_name_stays_within_the_apis_limits(
    served_payloads: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An undefined alias with a 20,000-character name: the stack layer cannot read the
    template, and says so within what the API takes (the entrypoint's answers are all checked
    by tests/conftest.py; this one is checked here too)."""
    import hook_limits

    template = (
        "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      ContainerDefinitions: [{Name: a, Image: i, User: *" + "a" * 20_000 + "}]\n"
    )
    url = put(served_payloads, "huge-alias", {"template": template})
    response = answer(template_event("STACK", url), capsys)
    assert response["hookStatus"] == "SUCCESS"
    (annotation,) = response["annotations"]
    assert len(annotation["statusMessage"]) == hook_limits.ANNOTATION_FIELDS["statusMessage"]
    assert annotation["statusMessage"].endswith(" characters)")
    assert hook_limits.problems(response) == []
    assert hook_limits.problems({**response, "message": "x" * 1025}) == [
        "message of 1025 characters"
    ]
    oversized = {"annotations": [{**annotation, "statusMessage": "x" * 16_385}]}
    assert hook_limits.problems(oversized) == ["annotations[0].statusMessage of 16385 characters"]


def test_an_exemption_that_depends_on_an_unresolved_override_is_left_to_the_resource_layer() -> (
    None
):
    """Whether the exempted router overrides its image's command depends on a parameter: the
    stack layer cannot tell whether the exemption applies, so the container is unverified, and
    the command, which takes the parameter's Default, decides it."""
    template = {
        "Parameters": {"Cmd": {"Type": "CommaDelimitedList", "Default": "sh,-c,id"}},
        "Resources": {
            "T": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ContainerDefinitions": [
                        {
                            "Name": "log_router",
                            "Image": "amazon/aws-for-fluent-bit:stable",
                            "User": "0",
                            "Command": {"Ref": "Cmd"},
                        }
                    ]
                },
            }
        },
    }
    settings = Settings.from_mapping(
        {"Exemptions": [{"Image": "amazon/aws-for-fluent-bit:*", "Reason": "router"}]}
    )
    outcome = stack.check_stack({"template": json.dumps(template)}, settings)
    assert not outcome.failed
    assert [(i.logical_id, i.status) for i in outcome.items] == [("T", stack.UNVERIFIED)]
    assert "Exemptions[0] exempts it" in outcome.items[0].message
    report = check_file("t.json", json.dumps(template).encode(), Options(settings))
    (task_definition,) = report.task_definitions
    assert [c.verdict for c in task_definition.containers] == ["FAIL"]


def test_a_macro_that_may_rewrite_a_task_definition_leaves_it_to_the_resource_layer() -> None:
    """A macro (a template's Transform, or Fn::Transform on the resource itself) is given the
    task definition to rewrite, and only CloudFormation sees what it writes."""
    resource = {"Type": "AWS::ECS::TaskDefinition", "Properties": containers("0")}
    macro = {"Fn::Transform": {"Name": "FixUser"}}
    for template in (
        {"Resources": {"T": {**resource, **macro}}},
        {"Transform": "MyMacro", "Resources": {"T": resource}},
    ):
        outcome = stack.check_stack({"template": json.dumps(template)}, SETTINGS)
        assert not outcome.failed
        assert {item.status for item in outcome.items} == {stack.UNVERIFIED}
    known = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"T": resource}}
    assert stack.check_stack({"template": json.dumps(known)}, SETTINGS).failed


def test_a_change_set_changing_one_logical_id_twice_decides_both_changes() -> None:
    root, fine = containers("0"), containers("1000")
    changes = [change("T", json.dumps(root)), change("T", json.dumps(fine), "UPDATE")]
    outcome = stack.check_change_set({"template": "{}", "changedResources": changes}, SETTINGS)
    assert outcome.failed
