"""ecs-nonroot's findings as cfn-lint rules, so cfn-lint and its editor integrations show them.

    cfn-lint --append-rules guardrails_ecs_nonrootuser.cfn_lint_rule template.yaml

E9101 reports containers that can run as root or cannot be verified, W9101 unverifiable values
when ``unresolved`` is ``warn``, W9102 violations of the rules the configuration's ``WarnOnly``
lists, I9101 unquoted values YAML 1.1 loaders misread. The check is
the command's own (``cli.check_path``) on the same file, read as the command reads it, so both
report the same findings at the same lines and columns. A file the check cannot read, or an
invalid rule configuration, is an E9101 error on the file's first line, never a silent pass. A
template cfn-lint read from standard input is one the check cannot read (cfn-lint keeps only
what it parsed, not the text): an E9101 error, unless no task definition can be in it.
Options, set on E9101 (``--configure-rule E9101:config=hook-config.json``):

- ``config``: the hook's type configuration (JSON), as for ``ecs-nonroot check --config``;
  by default the ``.ecs-nonroot.json`` the command finds (``cli.find_config``);
- ``unresolved``: ``fail`` (default) or ``warn``;
- ``parameters``: ``NAME=VALUE`` template parameter values, as ``--parameter``.
"""

from __future__ import annotations

import json
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from .cli import NOT_REGULAR, build_options, check_all, find_config
from .loader import may_hold_task_definitions
from .policy import REPOSITORY, rule_page
from .report import DOCUMENTATION
from .scan import SKIPPED_CONTAINER, UNRESOLVED_VALUE


class NonRootUser(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "ECS containers must not be able to run as root"
    description = (
        "Every container of an AWS::ECS::TaskDefinition must set a User that is not root "
        "(uid 0, the name root, or the root group), decided as the container runtime resolves "
        "it; for Windows, not an administrator account. Values the template cannot resolve fail."
    )
    source_url = f"{DOCUMENTATION}#decision-table"
    tags = ["resources", "ecs", "security"]  # noqa: RUF012  (the base class declares it so)

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {
            "config": {"default": "", "type": "string"},
            "unresolved": {"default": "fail", "type": "string"},
            "parameters": {"default": [], "type": "list", "itemtype": "string"},
        }
        self.configure()

    def match(self, cfn: Any) -> list[RuleMatch]:
        try:
            options = build_options(
                self.config["config"] or find_config(),
                {},
                self.config["parameters"],
                self.config["unresolved"],
            )
        except (OSError, ValueError) as error:  # ConfigError is a ValueError
            return [_whole_file(f"[configuration] E9101: {error}")]
        if cfn.filename in (None, "-"):
            return _from_standard_input(cfn.template)
        (report,) = check_all([cfn.filename], options, 1)  # read as the command reads it
        if report.status == "skipped" and report.note.startswith(NOT_REGULAR):
            return _from_standard_input(cfn.template)  # a pipe cfn-lint has read already
        if report.status == "error":
            return [_whole_file(f"[unreadable] {report.note}")]
        levels = {"error": self, "warning": UnverifiableValue(), "note": UnquotedYaml11Value()}
        reported_only = ReportedOnly()
        matches = []
        found = [*report.findings, *(f for t in report.task_definitions for f in t.findings)]
        # A skipped container is no match: cfn-lint exits non-zero on any match, informational
        # ones included, and an exemption is the configuration's decision, not a problem.
        for finding in (f for f in found if f.rule != SKIPPED_CONTAINER):
            where: list[str | int] = (
                ["Transform"]
                if finding.logical_id == "Transform"
                else ["Resources", finding.logical_id]
            )
            if finding.container is not None:
                where += ["Properties", "ContainerDefinitions", finding.container]
            rule = levels[finding.level]
            if finding.level == "warning" and finding.rule != UNRESOLVED_VALUE:
                rule = reported_only
            line, column = finding.line - 1, finding.column - 1
            location = (line, column, line, column)
            message = f"[{finding.rule}] {finding.message}"
            matches.append(RuleMatch(where, message, rule=rule, location=location))
        return matches


def _from_standard_input(template: Any) -> list[RuleMatch]:
    """The rule on a template cfn-lint read from standard input or another pipe (/dev/stdin,
    a process substitution): cfn-lint keeps only what it
    parsed, and the check reads the text (unquoted values as YAML 1.1 loaders read them,
    Fn::ForEach, duplicate keys), so it cannot decide here; unless no task definition can be
    in the template, that is an error, never a pass."""
    if not may_hold_task_definitions(json.dumps(template, default=str, ensure_ascii=False)):
        return []
    return [
        _whole_file(
            "[unreadable] E9101 reads a template's text, as the hook does, and cfn-lint has read "
            "it from standard input or a pipe already: give the template by its file name, or "
            "check it with ecs-nonroot check -"
        )
    ]


def _whole_file(message: str) -> RuleMatch:
    """An error about the file as a whole, on its first line."""
    return RuleMatch([], message, location=(0, 0, 0, 0))


class UnverifiableValue(CloudFormationLintRule):
    id = "W9101"
    shortdesc = "ECS container User cannot be verified from the template"
    description = (
        "A User (or the task definition's shape) comes from a value the template does not "
        "determine; reported by E9101 when its unresolved option is warn."
    )
    source_url = rule_page("unresolved-value")
    tags = ["resources", "ecs", "security"]  # noqa: RUF012  (the base class declares it so)


class ReportedOnly(CloudFormationLintRule):
    id = "W9102"
    shortdesc = "ECS container can run as root (reported only: WarnOnly)"
    description = (
        "A violation of a rule the configuration's WarnOnly lists: reported, not blocking, as "
        "the hook answers it. Reported by E9101."
    )
    source_url = f"{REPOSITORY}/docs/configuration.md#warnonly"
    tags = ["resources", "ecs", "security"]  # noqa: RUF012  (the base class declares it so)


class UnquotedYaml11Value(CloudFormationLintRule):
    id = "I9101"
    shortdesc = "Unquoted ECS container User that YAML 1.1 misreads"
    description = (
        "An unquoted User such as 1000:50 is a base-60 number to YAML 1.1 loaders; quote it. "
        "Reported by E9101."
    )
    source_url = rule_page("unquoted-yaml11-value")
    tags = ["resources", "ecs"]  # noqa: RUF012  (the base class declares it so)
