"""Which actions an IAM policy in deploy/iam/ allows, and the AWS calls each operator's tools make
mapped to IAM actions (for the services called here, an API operation's IAM action has its name:
checked against parliament's IAM database, which knows every action)."""

import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
IAM = ROOT / "deploy" / "iam"
PARLIAMENT_VENV = ROOT / ".cache" / "parliament-venv"
"""Where the Makefile installs parliament (requirements-parliament.txt)."""


def policy(name: str) -> dict[str, Any]:
    """A policy document: a JSON file, or every statement of the audit member role template
    (its inline policy, and its policy for Security Hub, as with SecurityHubFindings true)."""
    if name.endswith(".json"):
        loaded: dict[str, Any] = json.loads((IAM / name).read_text(encoding="utf-8"))
        return loaded
    template = yaml.load((IAM / name).read_text(encoding="utf-8"), _Template)
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources["AuditRole"]["Properties"]["Policies"]]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::RolePolicy"
    ]
    return {"Version": "2012-10-17", "Statement": [s for d in documents for s in d["Statement"]]}


class _Template(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags: !Sub texts with the pseudo parameters filled
    in as in one account, anything else as nothing."""


_PSEUDO = {"${AWS::Partition}": "aws", "${AWS::AccountId}": "123456789012"}


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if suffix != "Sub" or not isinstance(node, yaml.ScalarNode):
        return None
    text = str(loader.construct_scalar(node))
    for name, value in _PSEUDO.items():
        text = text.replace(name, value)
    return text


_Template.add_multi_constructor("!", _short_form)


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def allows(document: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement names ``action`` (wildcards as IAM matches them)."""
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in actions_of(statement))
        for statement in document["Statement"]
    )


NEWER_THAN_PARLIAMENT = frozenset({"cloudformation:GetHookResult"})
"""Actions of APIs newer than parliament's database: each is an operation in botocore's model of
its service (tests/test_iam.py checks it)."""


def known_actions() -> set[str]:
    """Every IAM action, from parliament's database, and ``NEWER_THAN_PARLIAMENT``."""
    (database,) = PARLIAMENT_VENV.glob("lib/python3*/site-packages/parliament/iam_definition.json")
    return {
        f"{service['prefix']}:{privilege['privilege']}".lower()
        for service in json.loads(database.read_text(encoding="utf-8"))
        for privilege in service["privileges"]
    } | {action.lower() for action in NEWER_THAN_PARLIAMENT}


def findings(document: dict[str, Any]) -> list[tuple[str, str]]:
    """parliament's findings on ``document``: (issue, detail)."""
    result = subprocess.run(
        [str(PARLIAMENT_VENV / "bin" / "parliament"), "--string", json.dumps(document), "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [(finding["issue"], str(finding["detail"])) for finding in found]


def cli_action(service: str, command: str) -> str:
    """The IAM action behind an AWS CLI command (``s3 cp`` uploading is PutObject)."""
    if (service, command) == ("s3", "cp"):
        return "s3:PutObject"
    prefix = "cloudformation" if service == "cloudcontrol" else service  # Cloud Control's prefix
    return f"{prefix}:{''.join(word.capitalize() for word in command.split('-'))}"
