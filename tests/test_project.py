"""The project's contract with CloudFormation: schema, role, layout and the policy's isolation."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from guardrails_ecs_nonrootuser import handlers, policy
from guardrails_ecs_nonrootuser.policy import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA: dict[str, Any] = json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
PACKAGE = ROOT / "src" / "guardrails_ecs_nonrootuser"


def test_schema_file_the_cli_reads_is_a_link_to_schema_json() -> None:
    link = ROOT / "guardrails-ecs-nonrootuser.json"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "schema.json").resolve()


def test_schema_targets_task_definitions_stacks_and_change_sets_reading_only_ecr_images() -> None:
    """The permissions are exactly what reading a private ECR image takes (ImageVerification):
    a token, the manifest, the configuration blob."""
    read_images = ["ecr:BatchGetImage", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer"]
    assert SCHEMA["typeName"] == handlers.TYPE_NAME
    assert SCHEMA["handlers"] == {
        "preCreate": {
            "targetNames": [handlers.TARGET_TYPE, "STACK", "CHANGE_SET"],
            "permissions": read_images,
        },
        "preUpdate": {"targetNames": [handlers.TARGET_TYPE, "STACK"], "permissions": read_images},
    }


def test_execution_role_grants_only_reading_ecr_images() -> None:
    """The hook makes no AWS call but ECR's, to read a private image (ImageVerification)."""
    role = yaml.safe_load((ROOT / "hook-role.yaml").read_text(encoding="utf-8"))
    resources = role["Resources"]
    assert [r["Type"] for r in resources.values()] == ["AWS::IAM::Role"]
    properties = resources["ExecutionRole"]["Properties"]
    assert "ManagedPolicyArns" not in properties
    statements = [
        statement
        for policy_document in properties["Policies"]
        for statement in policy_document["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:BatchGetImage",
                "ecr:GetAuthorizationToken",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Resource": "*",
        }
    ]


def test_schema_defaults_are_the_policy_defaults() -> None:
    properties = SCHEMA["typeConfiguration"]["properties"]
    defaults = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
    assert Settings.from_mapping(defaults) == Settings()
    assert set(properties) == policy._CONFIG_KEYS  # the policy reads every property, no other
    assert set(properties) - set(defaults) == {"ExceptionTagKey"}  # off unless set


def test_remediation_link_points_at_the_documented_decision_table() -> None:
    assert handlers.DECISION_TABLE_URL.startswith(SCHEMA["documentationUrl"] + "#")
    anchor = handlers.DECISION_TABLE_URL.rpartition("#")[2]
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    assert anchor in {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_policy_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(policy.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_policy_imports_with_no_aws_library_installed() -> None:
    # Block the AWS libraries, then import the policy and decide a case in a fresh interpreter.
    code = (
        "import sys\n"
        "for name in ('boto3', 'botocore', 'cloudformation_cli_python_lib', 'requests'):\n"
        "    sys.modules[name] = None\n"
        "from guardrails_ecs_nonrootuser.policy import Settings, check_linux_user\n"
        "print(check_linux_user('0', Settings()).rule.value)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "root-user"


def test_only_handlers_imports_the_cloudformation_library() -> None:
    importers = {
        path.name
        for path in PACKAGE.glob("*.py")
        if path.name != "models.py"
        and "cloudformation_cli_python_lib" in path.read_text(encoding="utf-8")
    }
    assert importers == {"handlers.py"}
