"""The rollout kit (deploy/): its configurations match the hook's schema, its templates say what
the README says, and the make targets' AWS calls work against a local AWS mock (moto)."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from cfnlint.decode import decode_str
from conftest import stand_in_aws
from iam_policy import allows, cli_action, policy

from guardrails_ecs_nonrootuser.policy import Settings
from guardrails_ecs_nonrootuser.resolve import Context, resolve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SCHEMA = json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
PROPERTIES_SCHEMA = json.loads(
    (ROOT / "guardrails-ecs-nonrootuser-configuration.json").read_text(encoding="utf-8")
)
ENVELOPE_SCHEMA = json.loads(
    (Path(__file__).parent / "fixtures" / "hook-configuration.schema.json").read_text("utf-8")
)
ACCOUNT = "123456789012"  # the account moto answers for
REGION = "eu-west-1"


def template(name: str) -> dict[str, Any]:
    decoded, errors = decode_str((DEPLOY / name).read_text(encoding="utf-8"))
    assert decoded is not None and not errors
    return dict(decoded)


def assert_valid_configuration(document: dict[str, Any]) -> None:
    """Valid for SetTypeConfiguration, for the hook's generated schema, and for the hook itself."""
    jsonschema.validate(document, ENVELOPE_SCHEMA)
    hook = document["CloudFormationConfiguration"]["HookConfiguration"]
    jsonschema.validate(hook["Properties"], PROPERTIES_SCHEMA)
    Settings.from_mapping(hook["Properties"])
    targets = set(hook.get("TargetFilters", {}).get("TargetNames", []))
    assert targets <= {n for h in SCHEMA["handlers"].values() for n in h["targetNames"]}


@pytest.mark.parametrize("mode", ["audit", "enforce"])
def test_ready_configurations_match_the_hook_schema(mode: str) -> None:
    document = json.loads((DEPLOY / "config" / f"{mode}.json").read_text(encoding="utf-8"))
    assert_valid_configuration(document)
    hook = document["CloudFormationConfiguration"]["HookConfiguration"]
    assert hook["FailureMode"] == {"audit": "WARN", "enforce": "FAIL"}[mode]
    assert hook["TargetOperations"] == ["STACK", "CHANGE_SET", "RESOURCE", "CLOUD_CONTROL"]
    # the schema names the targets; a TargetNames filter could leave out the stack and change
    # set, which have no type name
    assert "TargetNames" not in hook["TargetFilters"]


def choose_branches(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with every Fn::If replaced by the branch its condition selects."""
    if isinstance(value, dict):
        branch = value.get("Fn::If")
        if isinstance(branch, list):
            return choose_branches(branch[1] if conditions[branch[0]] else branch[2], conditions)
        return {key: choose_branches(item, conditions) for key, item in value.items()}
    if isinstance(value, list):
        return [choose_branches(item, conditions) for item in value]
    return value


def stackset_configuration(given: dict[str, str]) -> dict[str, Any]:
    """The configuration the StackSet template sets for these parameter values."""
    document = template("hook-stackset.yaml")
    parameters = {name: dict(spec) for name, spec in document["Parameters"].items()}
    context = Context(parameters, {}, given)

    def truth(condition: Any) -> bool:
        ((function, argument),) = condition.items()
        if function == "Fn::Not":
            return not truth(argument[0])
        assert function == "Fn::Equals"
        left, right = (resolve(item, context) for item in argument)
        return bool(left == right)

    conditions = {name: truth(spec) for name, spec in document["Conditions"].items()}
    config = document["Resources"]["HookTypeConfig"]["Properties"]["Configuration"]
    text = resolve(choose_branches(config, conditions), context)
    assert isinstance(text, str), text
    parsed: dict[str, Any] = json.loads(text)
    return parsed


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            {},
            {"AllowRootGroup": False, "ExemptContainerNames": [], "Exemptions": []},
            id="defaults",
        ),
        pytest.param(
            {
                "FailureMode": "FAIL",
                "AllowRootGroup": "true",
                "RequireNumericUser": "true",
                "MinimumUid": "1000",
                "WindowsContainers": "SKIP",
                "ExemptContainerNames": "log_router,datadog-*",
                "ExemptImages": "*aws-for-fluent-bit*",
                "Exemptions": '[{"Image": "registry.example/agent:*", "Reason": "vendor agent"}]',
                "ExceptionTagKey": "guardrails:nonroot-exception",
                "WarnOnly": "missing-user,root-group",
                "ExcludedStackNames": "platform-*,StackSet-*",
                "TargetOperations": "RESOURCE,CLOUD_CONTROL",
            },
            {
                "AllowRootGroup": True,
                "MinimumUid": 1000,
                "ExemptContainerNames": ["log_router", "datadog-*"],
                "ExemptImages": ["*aws-for-fluent-bit*"],
                "Exemptions": [{"Image": "registry.example/agent:*", "Reason": "vendor agent"}],
                "ExceptionTagKey": "guardrails:nonroot-exception",
                "WarnOnly": ["missing-user", "root-group"],
            },
            id="every-setting",
        ),
    ],
)
def test_stackset_sets_a_valid_configuration(
    given: dict[str, str], expected: dict[str, Any]
) -> None:
    document = stackset_configuration(given)
    assert_valid_configuration(document)
    hook = document["CloudFormationConfiguration"]["HookConfiguration"]
    assert hook["FailureMode"] == given.get("FailureMode", "WARN")
    assert hook["TargetStacks"] == "ALL"
    operations = given.get("TargetOperations", "STACK,CHANGE_SET,RESOURCE,CLOUD_CONTROL")
    assert hook["TargetOperations"] == operations.split(",")
    assert hook["TargetFilters"]["Actions"] == ["CREATE", "UPDATE"]
    assert {k: hook["Properties"][k] for k in expected} == expected
    excluded = hook.get("StackFilters", {}).get("StackNames", {}).get("Exclude")
    assert excluded == (given["ExcludedStackNames"].split(",") if given else None)


def rules_hold(given: dict[str, str]) -> bool:
    """The StackSet template's Rules for these parameter values, evaluated as CloudFormation's
    rule functions are documented (Fn::Contains: the list has the string; Fn::EachMemberIn:
    every item of the first list is in the second)."""
    document = template("hook-stackset.yaml")
    parameters = {name: dict(spec) for name, spec in document["Parameters"].items()}
    context = Context(parameters, {}, given)

    def value(expression: Any) -> Any:
        if isinstance(expression, dict) and "Ref" not in expression:
            ((function, argument),) = expression.items()
            left, right = (value(item) for item in argument)
            if function == "Fn::Contains":
                return right in left
            assert function == "Fn::EachMemberIn"
            return set(left) <= set(right)
        if isinstance(expression, list):
            return [value(item) for item in expression]
        return resolve(expression, context)

    rules = document["Rules"].values()
    return all(value(a["Assert"]) for rule in rules for a in rule["Assertions"])


@pytest.mark.parametrize(
    ("operations", "holds"),
    [
        pytest.param(None, True, id="default"),
        pytest.param("RESOURCE", True, id="resource-only"),
        pytest.param("STACK,CHANGE_SET", False, id="without-resource"),
        pytest.param("RESOURCE,STAK", False, id="misspelled"),
    ],
)
def test_stackset_refuses_target_operations_without_the_resource_check(
    operations: str | None, holds: bool
) -> None:
    given = {} if operations is None else {"TargetOperations": operations}
    assert rules_hold(given) is holds


def test_stackset_execution_role_is_the_hook_role() -> None:
    stackset = template("hook-stackset.yaml")["Resources"]["ExecutionRole"]["Properties"]
    hook_role = yaml.safe_load((ROOT / "hook-role.yaml").read_text(encoding="utf-8"))
    generated = hook_role["Resources"]["ExecutionRole"]["Properties"]
    assert stackset["Policies"] == generated["Policies"]
    assert (
        stackset["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == (generated["AssumeRolePolicyDocument"]["Statement"][0]["Principal"])
    )


def test_package_bucket_is_locked_down_and_kept() -> None:
    resources = template("package-bucket.yaml")["Resources"]
    bucket = resources["PackageBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    statements = resources["PackageBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny, allow = statements
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert allow["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    assert set(allow["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}


def test_deploy_templates_pass_cfn_lint() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            *map(str, sorted(DEPLOY.glob("**/*.yaml"))),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def rollout(action: str, env: dict[str, str], **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEPLOY / "rollout.sh"), action],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**env, **settings},
    )


@pytest.fixture
def aws(moto_environment: dict[str, str]) -> dict[str, str]:
    """An environment whose AWS CLI uses moto's server on loopback."""
    assert moto_environment["AWS_DEFAULT_REGION"] == REGION
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", **moto_environment}


def client(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.mark.parametrize("action", ["register", "configure", "org-deploy", "org-status"])
@pytest.mark.parametrize("missing", ["ACCOUNT", "REGION"])
def test_targets_refuse_without_an_explicit_account_and_region(
    aws: dict[str, str], action: str, missing: str
) -> None:
    settings = {"ACCOUNT": ACCOUNT, "REGION": REGION}
    del settings[missing]
    result = rollout(action, aws, **settings)
    assert result.returncode == 2
    assert f"set {missing}" in result.stderr
    assert "+ aws" not in result.stdout


def test_targets_refuse_credentials_of_another_account(aws: dict[str, str], tmp_path: Path) -> None:
    package = tmp_path / "package.zip"
    package.write_bytes(b"package")
    client(aws, "s3").create_bucket(
        Bucket="packages", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    result = rollout(
        "org-deploy",
        aws,
        ACCOUNT="111111111111",
        REGION=REGION,
        BUCKET="packages",
        OUS="ou-ab12-34567890",
        REGIONS=REGION,
        PACKAGE=str(package),
    )
    assert result.returncode == 2
    assert f"credentials in use are for account {ACCOUNT}, not 111111111111" in result.stderr
    assert client(aws, "s3").list_objects_v2(Bucket="packages").get("KeyCount") == 0


def built_package(version: str, commit: str) -> bytes:
    """A package as scripts/repack.py leaves it, as far as the rollout reads it."""
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        build = {"version": version, "commit": commit}
        archive.writestr("guardrails_ecs_nonrootuser/BUILD.json", json.dumps(build))
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("ResourceProvider.zip", code.getvalue())
    return package.getvalue()


def test_org_deploy_refuses_a_package_that_names_no_build(
    aws: dict[str, str], tmp_path: Path
) -> None:
    package = tmp_path / "package.zip"
    package.write_bytes(b"not a package")
    result = rollout(
        "org-deploy",
        aws,
        ACCOUNT=ACCOUNT,
        REGION=REGION,
        BUCKET="packages",
        PACKAGE=str(package),
        OUS="ou-ab12-34567890",
        REGIONS=REGION,
        MODE="audit",
    )
    assert result.returncode == 2
    assert "does not name its build: make it with make package" in result.stderr


def test_org_deploy_uploads_creates_then_updates_the_stackset(
    aws: dict[str, str], tmp_path: Path
) -> None:
    package = tmp_path / "package.zip"
    package.write_bytes(built_package("0.1.0", "0123456789abcdef0123456789abcdef01234567"))
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="packages", CreateBucketConfiguration={"LocationConstraint": REGION})
    settings = {
        "ACCOUNT": ACCOUNT,
        "REGION": REGION,
        "BUCKET": "packages",
        "PACKAGE": str(package),
        "OUS": "ou-ab12-34567890",
        "REGIONS": f"{REGION},us-east-1",
    }
    first = rollout("org-deploy", aws, **settings, MODE="audit")
    assert first.returncode == 0, first.stderr
    assert "+ aws cloudformation create-stack-set" in first.stdout
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket="packages")["Contents"]]
    assert key == "guardrails-ecs-nonrootuser/0.1.0-0123456789ab/guardrails-ecs-nonrootuser.zip"
    assert s3.get_object(Bucket="packages", Key=key)["Body"].read() == package.read_bytes()
    cloudformation = client(aws, "cloudformation")
    stack_set = cloudformation.describe_stack_set(StackSetName="guardrails-ecs-nonrootuser")
    parameters = {
        p["ParameterKey"]: p["ParameterValue"] for p in stack_set["StackSet"]["Parameters"]
    }
    assert parameters == {"PackageBucket": "packages", "PackageKey": key, "FailureMode": "WARN"}
    assert stack_set["StackSet"]["PermissionModel"] == "SERVICE_MANAGED"
    # moto does not keep AutoDeployment: check the command asked for it
    assert "--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false" in first.stdout

    second = rollout(
        "org-deploy",
        aws,
        **settings,
        MODE="enforce",
        PARAMETERS="ParameterKey=MinimumUid,ParameterValue=1000",
    )
    assert second.returncode == 0, second.stderr
    assert "+ aws cloudformation update-stack-set" in second.stdout
    stack_set = cloudformation.describe_stack_set(StackSetName="guardrails-ecs-nonrootuser")
    parameters = {
        p["ParameterKey"]: p["ParameterValue"] for p in stack_set["StackSet"]["Parameters"]
    }
    assert parameters["FailureMode"] == "FAIL"
    assert parameters["MinimumUid"] == "1000"

    status = rollout("org-status", aws, ACCOUNT=ACCOUNT, REGION=REGION)
    assert status.returncode == 0, status.stderr
    assert "UPDATE" in status.stdout


@pytest.mark.parametrize(
    ("action", "mode", "expected"),
    [
        pytest.param(
            "register",
            "audit",
            "+ env PIP_NO_DEPS=1 PIP_ONLY_BINARY=:all: PIP_PLATFORM=any\\ manylinux2014_x86_64 "
            f"PIP_PYTHON_VERSION=3.12 cfn submit --set-default --no-docker --region {REGION}",
            id="register",
        ),
        pytest.param(
            "configure",
            "enforce",
            f"+ aws cloudformation set-type-configuration --region {REGION} --type HOOK "
            "--type-name Guardrails::ECS::NonRootUser --configuration-alias default "
            f"--configuration file://{DEPLOY}/config/enforce.json",
            id="configure",
        ),
    ],
)
def test_commands_the_mock_cannot_serve_are_exactly_these(
    aws: dict[str, str], action: str, mode: str, expected: str
) -> None:
    # moto 5.2.5 implements neither RegisterType (cfn submit) nor SetTypeConfiguration: check
    # the exact commands instead, after the account check, which the mock does serve.
    result = rollout(action, aws, ACCOUNT=ACCOUNT, REGION=REGION, MODE=mode, DRY_RUN="1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"+ aws sts get-caller-identity --query Account --output text --region {REGION}" in lines
    assert expected in lines


def test_make_passes_account_and_region_through() -> None:
    result = subprocess.run(
        ["make", "-s", "org-status", f"ACCOUNT={ACCOUNT}", f"REGION={REGION}", "DRY_RUN=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert f"rollout: org-status in account {ACCOUNT}, {REGION} (dry run" in result.stdout
    refused = subprocess.run(
        ["make", "-s", "org-status", "DRY_RUN=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "set ACCOUNT" in refused.stderr


@pytest.fixture
def fake_aws(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `aws` is tests/fake_aws.py, and the file holding its state."""
    env, state = stand_in_aws(tmp_path, "fake_aws.py")
    return {**env, "POLL_SECONDS": "0"}, state


def stack_set_state(
    state: Path, *, exists: bool, targets: list[list[str]], running: bool = False
) -> None:
    operations = {"op-0": {"status": "RUNNING", "polls": 2, "action": "UPDATE", "targets": []}}
    state.write_text(
        json.dumps(
            {
                "account": ACCOUNT,
                "exists": exists,
                "parameters": ["PackageBucket", "PackageKey", "FailureMode", "MinimumUid"],
                "targets": targets,
                "operations": operations if running else {},
                "calls": [],
            }
        )
    )


def org_deploy(
    env: dict[str, str], tmp_path: Path, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``make org-deploy`` with a built package, against the AWS CLI ``env`` runs."""
    package = tmp_path / "package.zip"
    package.write_bytes(built_package("0.1.0", "0123456789abcdef0123456789abcdef01234567"))
    return rollout(
        "org-deploy",
        env,
        ACCOUNT=ACCOUNT,
        REGION=REGION,
        BUCKET="packages",
        PACKAGE=str(package),
        **settings,
    )


def stackset_calls(state: Path) -> list[str]:
    """The StackSet commands the rollout ran, in order, with the operation each waited on."""
    calls = json.loads(state.read_text())["calls"]
    shown = []
    for call in calls:
        if call[0] != "cloudformation":
            continue
        if call[1] == "describe-stack-set-operation":
            shown.append(f"wait {call[call.index('--operation-id') + 1]}")
        elif call[1] == "create-stack-instances":
            targets = call[call.index("--deployment-targets") + 1].split("=", 1)[1]
            shown.append(f"create-stack-instances {targets} {call[call.index('--regions') + 1]}")
        else:
            shown.append(call[1])
    return shown


OU_A, OU_B, OTHER_REGION = "ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb", "us-east-1"


@pytest.mark.parametrize(
    ("exists", "targets", "ous", "expected"),
    [
        pytest.param(
            False,
            [],
            OU_A,
            [
                "describe-stack-set",
                "create-stack-set",
                f"create-stack-instances {OU_A} {REGION}",
                "wait op-1",
                "wait op-1",
                f"create-stack-instances {OU_A} {OTHER_REGION}",
                "wait op-2",
                "wait op-2",
            ],
            id="first-deploy",
        ),
        pytest.param(
            True,
            [[OU_A, REGION], [OU_A, OTHER_REGION]],
            OU_A,
            [
                "describe-stack-set",
                "update-stack-set",
                "wait op-1",
                "wait op-1",
                "list-stack-instances",
            ],
            id="update",
        ),
        pytest.param(
            True,
            [[OU_A, REGION], [OU_A, OTHER_REGION]],
            f"{OU_A},{OU_B}",
            [
                "describe-stack-set",
                "update-stack-set",
                "wait op-1",
                "wait op-1",
                "list-stack-instances",
                f"create-stack-instances {OU_B} {REGION}",
                "wait op-2",
                "wait op-2",
                f"create-stack-instances {OU_B} {OTHER_REGION}",
                "wait op-3",
                "wait op-3",
            ],
            id="adding-an-ou",
        ),
    ],
)
def test_org_deploy_waits_for_each_operation_and_targets_only_what_is_new(
    *,
    fake_aws: tuple[dict[str, str], Path],
    tmp_path: Path,
    exists: bool,
    targets: list[list[str]],
    ous: str,
    expected: list[str],
) -> None:
    env, state = fake_aws
    stack_set_state(state, exists=exists, targets=targets)
    result = org_deploy(env, tmp_path, OUS=ous, REGIONS=f"{REGION},{OTHER_REGION}")
    assert result.returncode == 0, result.stderr
    assert stackset_calls(state) == expected


def test_the_stand_in_refuses_an_operation_while_one_runs(
    fake_aws: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    """As StackSets do: starting operations back to back, without waiting, fails."""
    env, state = fake_aws
    stack_set_state(state, exists=True, targets=[])
    call = ["aws", "cloudformation", "update-stack-set", "--stack-set-name", "s"]
    environment = {**os.environ, **env}
    first = subprocess.run(call, env=environment, capture_output=True, text=True, check=False)
    second = subprocess.run(call, env=environment, capture_output=True, text=True, check=False)
    assert first.returncode == 0
    assert second.returncode == 254
    assert "OperationInProgressException" in second.stderr


def test_org_off_stops_what_runs_then_disables_everywhere_at_once(
    fake_aws: tuple[dict[str, str], Path],
) -> None:
    env, state = fake_aws
    stack_set_state(state, exists=True, targets=[[OU_A, REGION]], running=True)
    result = rollout("org-off", env, ACCOUNT=ACCOUNT, REGION=REGION)
    assert result.returncode == 0, result.stderr
    assert stackset_calls(state) == [
        "list-stack-set-operations",
        "stop-stack-set-operation",
        "wait op-0",
        "wait op-0",
        "describe-stack-set",
        "update-stack-set",
        "wait op-2",
        "wait op-2",
    ]
    (update,) = [c for c in json.loads(state.read_text())["calls"] if c[1] == "update-stack-set"]
    assert "--use-previous-template" in update
    assert update[update.index("--parameters") + 1 :][:5] == [
        "ParameterKey=HookInvocationStatus,ParameterValue=DISABLED",
        "ParameterKey=PackageBucket,UsePreviousValue=true",
        "ParameterKey=PackageKey,UsePreviousValue=true",
        "ParameterKey=FailureMode,UsePreviousValue=true",
        "ParameterKey=MinimumUid,UsePreviousValue=true",
    ]
    preferences = update[update.index("--operation-preferences") + 1]
    assert preferences == (
        "FailureTolerancePercentage=100,MaxConcurrentPercentage=100,RegionConcurrencyType=PARALLEL"
    )


def test_list_parameters_go_through_a_parameters_file(tmp_path: Path) -> None:
    given = tmp_path / "parameters.json"
    given.write_text(
        json.dumps([{"ParameterKey": "ExemptImages", "ParameterValue": "*fluent-bit*,*datadog*"}])
    )
    result = subprocess.run(
        [
            sys.executable,
            str(DEPLOY / "parameters.py"),
            "PackageBucket=packages",
            "ParameterKey=MinimumUid,ParameterValue=1000",
            f"--file={given}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(result.stdout)
    values = {p["ParameterKey"]: p["ParameterValue"] for p in document}
    assert values == {
        "PackageBucket": "packages",
        "MinimumUid": "1000",
        "ExemptImages": "*fluent-bit*,*datadog*",
    }
    configuration = stackset_configuration(values)
    hook = configuration["CloudFormationConfiguration"]["HookConfiguration"]
    assert hook["Properties"]["ExemptImages"] == ["*fluent-bit*", "*datadog*"]


def test_every_rollout_call_is_allowed_by_the_org_policy(
    fake_aws: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, state = fake_aws
    package = tmp_path / "package.zip"
    package.write_bytes(built_package("0.1.0", "0123456789abcdef0123456789abcdef01234567"))
    settings = {"ACCOUNT": ACCOUNT, "REGION": REGION, "BUCKET": "packages", "PACKAGE": str(package)}
    calls = []
    steps = [(False, "org-deploy"), (True, "org-deploy"), (True, "org-off"), (False, "audit-role")]
    for exists, action in steps:
        stack_set_state(state, exists=exists, targets=[[OU_A, REGION]], running=action == "org-off")
        result = rollout(action, env, **settings, OUS=f"{OU_A},{OU_B}", REGIONS=REGION)
        assert result.returncode == 0, result.stderr
        calls += json.loads(state.read_text())["calls"]
    actions = {cli_action(call[0], call[1]) for call in calls}
    assert "cloudformation:StopStackSetOperation" in actions
    assert [a for a in sorted(actions) if not allows(policy("org.json"), a)] == []


@pytest.mark.parametrize(
    ("parameter", "value", "problem"),
    [
        pytest.param(
            "Exemptions",
            '[{"Image": "registry.example/agent:*"}]',
            "Exemptions[0].Reason must say why",
            id="exemption-without-a-reason",
        ),
        pytest.param("Exemptions", '[{"Image": ', "Exemptions is not a JSON array", id="not-json"),
        pytest.param("ExemptImages", "*", 'ExemptImages[0] "*" matches every container', id="all"),
        pytest.param("ExceptionTagKey", "aws:x", "ExceptionTagKey must be a tag key", id="aws-tag"),
        pytest.param("WarnOnly", "missing-usr", '"missing-usr" is not a rule id', id="warn-only"),
    ],
)
def test_org_deploy_refuses_settings_the_hook_would_refuse_before_any_call(
    fake_aws: tuple[dict[str, str], Path], tmp_path: Path, parameter: str, value: str, problem: str
) -> None:
    """A configuration the hook refuses fails every invocation (in FAIL mode, every deployment):
    the hook's own policy checks the parameters before anything is uploaded or deployed."""
    env, state = fake_aws
    stack_set_state(state, exists=True, targets=[])
    given = tmp_path / "parameters.json"
    given.write_text(json.dumps([{"ParameterKey": parameter, "ParameterValue": value}]))
    result = org_deploy(
        env, tmp_path, OUS="ou-ab12-34567890", REGIONS=REGION, PARAMETERS_FILE=str(given)
    )
    assert result.returncode != 0
    assert problem in result.stderr
    calls = json.loads(state.read_text())["calls"]
    assert [call for call in calls if call[0] in ("s3", "cloudformation")] == []


def test_audit_role_deploys_once_per_account_from_one_region(
    fake_aws: tuple[dict[str, str], Path],
) -> None:
    """The member role is global: its own StackSet, instances in one Region only, its name and
    the Security Hub permission as parameters; a second run adds only the new OU."""
    env, state = fake_aws
    stack_set_state(state, exists=False, targets=[])
    settings = {"ACCOUNT": ACCOUNT, "REGION": REGION, "AUDIT_ROLE": "OrgAudit"}
    result = rollout("audit-role", env, **settings, OUS=OU_A, SECURITY_HUB="true")
    assert result.returncode == 0, result.stderr
    calls = json.loads(state.read_text())["calls"]
    (created,) = [call for call in calls if call[1] == "create-stack-set"]
    assert created[created.index("--stack-set-name") + 1] == "guardrails-nonroot-audit-role"
    assert created[created.index("--template-body") + 1].endswith("/iam/audit-member-role.yaml")
    assert created[created.index("--capabilities") + 1] == "CAPABILITY_NAMED_IAM"
    assert stackset_calls(state)[1:] == [
        "create-stack-set",
        f"create-stack-instances {OU_A} {REGION}",
        "wait op-1",
        "wait op-1",
    ]
    assert "ecs-nonroot audit --organization --role OrgAudit" in result.stdout
    stack_set_state(state, exists=True, targets=[[OU_A, REGION]])
    again = rollout("audit-role", env, **settings, OUS=f"{OU_A},{OU_B}")
    assert again.returncode == 0, again.stderr
    assert (
        stackset_calls(state)[-3:]
        == [f"create-stack-instances {OU_B} {REGION}"] + ["wait op-2"] * 2
    )
    refused = rollout("audit-role", env, **{**settings, "AUDIT_ROLE": "no/slash"}, OUS=OU_A)
    assert refused.returncode == 2
    assert "AUDIT_ROLE must be an IAM role name" in refused.stderr


@pytest.mark.parametrize("action", ["org-deploy", "audit-role"])
def test_a_dry_run_keeps_the_parameters_file_and_says_where(
    fake_aws: tuple[dict[str, str], Path], tmp_path: Path, action: str
) -> None:
    env, state = fake_aws
    stack_set_state(state, exists=False, targets=[])
    env = {**env, "TMPDIR": str(tmp_path)}
    if action == "org-deploy":
        result = org_deploy(env, tmp_path, OUS=OU_A, REGIONS=REGION, DRY_RUN="1")
        expected = {"PackageBucket": "packages", "FailureMode": "WARN"}
    else:
        result = rollout("audit-role", env, ACCOUNT=ACCOUNT, REGION=REGION, OUS=OU_A, DRY_RUN="1")
        expected = {"AuditorAccountId": ACCOUNT, "RoleName": "NonRootAudit"}
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "kept for review" in line]
    path = Path(line.rpartition(": ")[2])
    assert path.parent == tmp_path
    values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(path.read_text())}
    assert expected.items() <= values.items()
    assert f"--parameters file://{path}" in result.stdout
    assert [call[1] for call in json.loads(state.read_text())["calls"]] == []  # nothing ran
