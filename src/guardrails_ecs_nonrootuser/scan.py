"""Check templates before they are deployed, with the same policy the hook runs at deploy time.

A template's task definitions are expanded into every ``Fn::If`` combination, resolved as far as
the template allows (``resolve``) and decided by ``policy.evaluate``, exactly as the hook decides
the resolved properties CloudFormation sends it. What a template cannot tell (a ``User`` from
``Fn::GetAtt``, a parameter with no value) is reported as ``unresolved-value``: an error unless
unresolved values are only to be warned about. Never a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .loader import PlainScalar, Template, TemplateError, load
from .policy import (
    ContainerResult,
    MalformedTaskDefinitionError,
    Report,
    Settings,
    Verdict,
    evaluate,
    quote,
)
from .resolve import Context, TooManyVariantsError, Unresolved, resolve, variants

UNRESOLVED_VALUE = "unresolved-value"
INVALID_TASK_DEFINITION = "invalid-task-definition"
UNQUOTED_YAML11 = "unquoted-yaml11-value"


class Options(NamedTuple):
    """How templates are checked: the hook's settings plus what only the command line knows."""

    settings: Settings = Settings()
    parameters: Mapping[str, str] | None = None
    warn_unresolved: bool = False


class Finding(NamedTuple):
    """One line of the report: a violation (error), an unverifiable value, or advice (note)."""

    rule: str
    level: str
    message: str
    logical_id: str
    line: int | None
    container: int | None = None


class ContainerVerdict(NamedTuple):
    position: int
    name: str | None
    verdict: str
    """PASS, FAIL, SKIP, or UNRESOLVED."""


class TaskDefinitionReport(NamedTuple):
    logical_id: str
    line: int | None
    containers: tuple[ContainerVerdict, ...]
    findings: tuple[Finding, ...]


class FileReport(NamedTuple):
    path: str
    status: str
    """checked, skipped (not a CloudFormation template) or error (unreadable)."""
    note: str = ""
    task_definitions: tuple[TaskDefinitionReport, ...] = ()


def check_file(path: str, data: bytes, options: Options) -> FileReport:
    """Load and check one file."""
    try:
        template = load(data)
    except TemplateError as error:
        return FileReport(path, "error", f"cannot read: {error}")
    if template is None:
        return FileReport(path, "skipped", "not a CloudFormation template")
    return FileReport(path, "checked", task_definitions=check_template(template, options))


def check_template(template: Template, options: Options) -> tuple[TaskDefinitionReport, ...]:
    context = Context(template.parameters, template.mappings, options.parameters or {})
    return tuple(
        _check_task_definition(template, logical_id, properties, context, options)
        for logical_id, properties in template.task_definitions.items()
    )


def _check_task_definition(
    template: Template, logical_id: str, properties: Any, context: Context, options: Options
) -> TaskDefinitionReport:
    unresolved_level = "warning" if options.warn_unresolved else "error"

    def whole(rule: str, level: str, message: str) -> TaskDefinitionReport:
        finding = Finding(rule, level, message, logical_id, template.line(logical_id))
        return TaskDefinitionReport(logical_id, finding.line, (), (finding,))

    try:
        alternatives = [resolve(variant, context) for variant in variants(properties)]
    except TooManyVariantsError as error:
        return whole(UNRESOLVED_VALUE, unresolved_level, f"Cannot verify: {error}.")
    reports = []
    for resolved in alternatives:
        hidden = _unresolved_structure(resolved)
        if hidden:
            return whole(UNRESOLVED_VALUE, unresolved_level, f"Cannot verify: {hidden}.")
        try:
            reports.append(evaluate(resolved, options.settings))
        except MalformedTaskDefinitionError as error:
            return whole(INVALID_TASK_DEFINITION, "error", str(error))
    return _merge(template, logical_id, reports, unresolved_level)


def _unresolved_structure(properties: Any) -> str:
    """Why the shape the policy reads is not known, or "" when it is."""
    if isinstance(properties, Unresolved):
        return f"Properties: {properties.reason}"
    if not isinstance(properties, Mapping):
        return ""
    platform = properties.get("RuntimePlatform")
    family = platform.get("OperatingSystemFamily") if isinstance(platform, Mapping) else None
    for place, value in (
        ("RuntimePlatform", platform),
        ("RuntimePlatform.OperatingSystemFamily", family),
        ("ContainerDefinitions", properties.get("ContainerDefinitions")),
    ):
        if isinstance(value, Unresolved):
            return f"{place}: {value.reason}"
    containers = properties.get("ContainerDefinitions")
    for index, container in enumerate(containers if isinstance(containers, list) else []):
        if isinstance(container, Unresolved):
            return f"ContainerDefinitions[{index}]: {container.reason}"
    return ""


def _merge(
    template: Template, logical_id: str, reports: list[Report], unresolved_level: str
) -> TaskDefinitionReport:
    """One verdict per container over every Fn::If variant: the worst one wins."""
    by_index: dict[int, list[ContainerResult]] = {}
    for report in reports:
        for result in report.results:
            by_index.setdefault(result.position, []).append(result)
    containers: list[ContainerVerdict] = []
    findings: list[Finding] = []
    for index, results in sorted(by_index.items()):
        line = template.line(logical_id, index)
        messages: dict[str, Finding] = {}
        verdict = "SKIP"
        for result in results:
            for finding in _findings(result, logical_id, line, unresolved_level):
                messages.setdefault(finding.message, finding)
            verdict = max(verdict, _verdict(result), key=_SEVERITY.index)
        name = results[0].name if isinstance(results[0].name, str) else None
        containers.append(ContainerVerdict(index, name, verdict))
        findings.extend(messages.values())
    return TaskDefinitionReport(
        logical_id, template.line(logical_id), tuple(containers), tuple(findings)
    )


_SEVERITY = ["SKIP", "PASS", "UNRESOLVED", "FAIL"]


def _verdict(result: ContainerResult) -> str:
    if isinstance(result.user, Unresolved) and result.verdict is Verdict.FAIL:
        return "UNRESOLVED"
    return result.verdict.value


def _findings(
    result: ContainerResult, logical_id: str, line: int | None, unresolved_level: str
) -> list[Finding]:
    findings: list[Finding] = []
    if isinstance(result.user, Unresolved) and result.verdict is Verdict.FAIL:
        message = (
            f"Cannot verify: {result.label} User: {result.user.reason}. Fix: give the value with "
            f'--parameter, or set User to a literal such as "1000:1000".'
        )
        findings.append(
            Finding(UNRESOLVED_VALUE, unresolved_level, message, logical_id, line, result.position)
        )
    elif result.finding is not None:
        rule = result.finding.rule.value
        message = result.describe()
        findings.append(Finding(rule, "error", message, logical_id, line, result.position))
    if isinstance(result.user, PlainScalar) and result.verdict is not Verdict.SKIP:
        text = quote(result.user)
        message = (
            f"Note: {result.label} User {text} is unquoted, and YAML 1.1 loaders read it as "
            f"{result.user.reading}, not as the text; it was checked as written. "
            f"Fix: quote it: User: {text}."
        )
        note = Finding(UNQUOTED_YAML11, "note", message, logical_id, line, result.position)
        findings.append(note)
    return findings
