"""deploy/iam/: one least-privilege policy per operator role, linted by parliament (offline), with
every action one that exists; the calls of `cfn submit` (register) and `make configure` allowed
by theirs. The calls of the rollout and of the audit, observed in their own tests, are checked
there (tests/test_deploy.py, tests/test_audit.py)."""

import botocore.session  # type: ignore[import-untyped]
import pytest
from iam_policy import IAM, NEWER_THAN_PARLIAMENT, allows, findings, known_actions, policy

POLICIES = [*sorted(p.name for p in IAM.glob("*.json")), "audit-member-role.yaml"]
ACCEPTED = {
    # cfn submit's upload stack puts a bucket policy and lifecycle on the buckets it creates for
    # itself (the resource is limited to those): parliament flags any such grant.
    ("register.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"),
}
# What `cfn submit --set-default` calls (cloudformation-cli 0.2.41: rpdk/core/project.py submit,
# upload.py, boto_helpers.py) and what CloudFormation then does with the caller's permissions to
# create the stacks it deploys (rpdk/core/data/managed-upload-infrastructure.yaml: two S3 buckets
# with policies, a KMS key, an IAM role; hook-role.yaml: the execution role).
REGISTER_CALLS = [
    "sts:GetCallerIdentity",
    "cloudformation:DescribeStacks",
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "s3:PutObject",
    "cloudformation:RegisterType",
    "cloudformation:DescribeTypeRegistration",
    "cloudformation:SetTypeDefaultVersion",
    "s3:CreateBucket",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketLogging",
    "s3:PutBucketPublicAccessBlock",
    "kms:CreateKey",
    "kms:PutKeyPolicy",
    "kms:EnableKeyRotation",
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:PassRole",
]
CONFIGURE_CALLS = ["sts:GetCallerIdentity", "cloudformation:SetTypeConfiguration"]


@pytest.mark.parametrize("name", POLICIES)
def test_policy_passes_parliament(name: str) -> None:
    found = findings(policy(name))
    newer = [f"Unknown action {action}" for action in NEWER_THAN_PARLIAMENT]
    assert [f for f in found if (name, f[0]) not in ACCEPTED and f[1] not in newer] == []


@pytest.mark.parametrize("action", sorted(NEWER_THAN_PARLIAMENT))
def test_actions_newer_than_parliament_are_operations_of_their_service(action: str) -> None:
    service, operation = action.split(":")
    assert operation in botocore.session.get_session().get_service_model(service).operation_names


@pytest.mark.parametrize("name", POLICIES)
def test_every_action_exists(name: str) -> None:
    known = known_actions()
    actions = [
        action
        for statement in policy(name)["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    ]
    assert actions
    assert [a for a in actions if a.lower() not in known] == []


@pytest.mark.parametrize(
    ("name", "calls"),
    [
        pytest.param("register.json", REGISTER_CALLS, id="register"),
        pytest.param("configure.json", CONFIGURE_CALLS, id="configure"),
    ],
)
def test_role_allows_every_call_it_makes(name: str, calls: list[str]) -> None:
    known = known_actions()
    assert [c for c in calls if c.lower() not in known] == []
    assert [c for c in calls if not allows(policy(name), c)] == []


def test_a_policy_without_an_action_is_caught() -> None:
    document = policy("configure.json")
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "ConfigureTheHook"]
    assert not allows(document, "cloudformation:SetTypeConfiguration")
