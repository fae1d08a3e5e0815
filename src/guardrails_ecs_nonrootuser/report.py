"""The command's output: file reports as text, JSON, SARIF 2.1.0, GitHub workflow commands or JUnit
XML, and the exit code.

Exit codes: 0 when nothing can run as root (notes and warnings allowed), 1 when a container can
run as root or cannot be verified, 2 when the command was misused or an input could not be read.

Nothing a template or a file name holds reaches the output raw. In text, a file name or logical
id that is not plain printable text is quoted and escaped (``shown``), and every line has any
remaining non-printable character escaped (``printable``): no text can add a line, erase one with
terminal sequences, or start a CI workflow command (``::error::``), since every line starts with
a file name so shown, or with the summary. JSON and SARIF are ASCII: every other character,
bidirectional controls, line and paragraph separators, C1 controls and lone surrogates included,
is a ``\\u`` escape.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .policy import REPOSITORY, RULE_SUMMARIES, Rule, plural, quote, rule_page
from .scan import (
    INVALID_TASK_DEFINITION,
    NOT_A_TEMPLATE,
    SKIPPED_CONTAINER,
    UNQUOTED_YAML11,
    UNRESOLVED_VALUE,
    FileReport,
    Finding,
)

EXIT_COMPLIANT, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
TOOL = "ecs-nonroot"
DOCUMENTATION = f"{REPOSITORY}/README.md"
RULES: dict[str, tuple[str, str]] = {
    **{rule.value: (summary, "error") for rule, summary in RULE_SUMMARIES.items()},
    UNRESOLVED_VALUE: (
        "A value the check needs (User, ContainerDefinitions, RuntimePlatform) cannot be "
        "resolved from the template: it comes from Fn::GetAtt, Fn::ImportValue, SSM, or a "
        "parameter with no value (give it with --parameter NAME=VALUE), or depends on more "
        "combinations of conditions than are checked.",
        "error",
    ),
    INVALID_TASK_DEFINITION: (
        "The task definition's properties do not have the shape ECS requires, or an intrinsic "
        "function in them is one CloudFormation would refuse or fail (malformed, Fn::Select out "
        "of range, Fn::FindInMap keys not in Mappings).",
        "error",
    ),
    UNQUOTED_YAML11: (
        "An unquoted User that YAML 1.1 loaders read as a number or boolean rather than the text "
        "written (1000:50 becomes 60050); it is checked as written. Quote it.",
        "note",
    ),
    SKIPPED_CONTAINER: (
        "A container that is not evaluated: an exemption matches it (the entry or pattern, and "
        "its reason, are shown), its task definition carries the configured exception tag, or "
        "it is in a Windows task definition and WindowsContainers is SKIP.",
        "note",
    ),
}


SECURITY_SEVERITY = {
    Rule.ROOT_USER.value: "8.8",
    Rule.WINDOWS_ADMIN_USER.value: "8.8",
    Rule.ROOT_GROUP.value: "7.0",
    Rule.MISSING_USER.value: "7.0",
    Rule.WINDOWS_MISSING_USER.value: "7.0",
    Rule.NAMED_USER.value: "5.5",
    Rule.MALFORMED_USER.value: "5.5",
    Rule.UID_OUT_OF_RANGE.value: "5.5",
    Rule.GID_OUT_OF_RANGE.value: "5.5",
    Rule.UID_BELOW_MINIMUM.value: "4.0",
    UNRESOLVED_VALUE: "5.5",
    INVALID_TASK_DEFINITION: "4.0",
}
"""GitHub code scanning's ``security-severity`` of each rule that can fail (CVSS-like, 0 to 10:
high from 7, medium from 4): root by value, or by default in most images, is high; what may
hide root (a name, a malformed or out-of-range value, a value not known) is medium."""


WARN_ONLY_SEVERITY = "2.0"
"""The ``security-severity`` of a rule WarnOnly lists: low, below any threshold a check fails at
by default."""


def exit_code(reports: Sequence[FileReport]) -> int:
    if any(report.status == "error" for report in reports):
        return EXIT_USAGE
    if any(finding.level == "error" for finding in _findings(reports)):
        return EXIT_VIOLATIONS
    return EXIT_COMPLIANT


def _findings(reports: Sequence[FileReport]) -> list[Finding]:
    """Every finding, each file's in written order."""
    return [
        finding
        for report in reports
        for finding in sorted(
            [
                *report.findings,
                *(
                    f
                    for task_definition in report.task_definitions
                    for f in task_definition.findings
                ),
            ],
            key=lambda finding: (finding.line, finding.column),
        )
    ]


def shown(text: str) -> str:
    """A file name or logical id as text output shows it: as it is when it is plain printable
    text that cannot be mistaken for anything else, quoted and escaped otherwise."""
    if text.isprintable() and text[:1] not in _UNSAFE_START and text == text.strip():
        return text if len(text) <= 1024 else quote(text, 1024)
    return quote(text)


_UNSAFE_START = frozenset(':"')


def printable(line: str) -> str:
    """``line`` with every non-printable character escaped (``\\x1b``, ``\\u202e``)."""
    if line.isprintable():
        return line
    return "".join(char if char.isprintable() else quote(char)[1:-1] for char in line)


_COLOURS = {"error": "31", "warning": "33", "note": "36", "OK": "32"}


def _paint(word: str, colour: bool) -> str:
    """``word`` in its colour (an ANSI sequence of this module's own, never template text)."""
    return f"\x1b[{_COLOURS[word]}m{word}\x1b[0m" if colour else word


def render_text(reports: Sequence[FileReport], detail: str = "normal", colour: bool = False) -> str:
    """One line per finding, per file that passes (``detail`` "normal"), per file not read or
    not checked (one that is not a CloudFormation template: "verbose" only), and a summary;
    "quiet" keeps errors, warnings, files not read and the summary. ``colour`` paints the level
    words, after every other character is escaped."""
    lines = []
    for report in reports:
        path = shown(report.path)
        if report.status != "checked":
            if detail == "verbose" or report.note != NOT_A_TEMPLATE:
                lines.append(printable(f"{path}: {report.status}: {report.note}"))
            continue
        findings = _findings([report])
        for finding in findings:
            if detail == "quiet" and finding.level == "note":
                continue
            where = printable(f"{path}:{finding.line}:{finding.column}: ")
            rest = printable(f" [{finding.rule}] {headline(finding)}")
            lines.append(where + _paint(finding.level, colour) + rest)
            if detail == "verbose" and finding.brief != finding.message:
                lines.append(printable(f"    {finding.message}"))
        if detail != "quiet" and not any(finding.level == "error" for finding in findings):
            count = sum(len(t.containers) for t in report.task_definitions)
            counted = f"{plural(len(report.task_definitions), 'task definition')}, "
            counted += plural(count, "container")
            lines.append(f"{printable(path)}: {_paint('OK', colour)} ({counted})")
    lines.append(printable(_summary(reports)))
    return "\n".join(lines)


def headline(finding: Finding) -> str:
    """The finding in one short line, its place first: the logical id, then the container and
    what is wrong (the reason and fix are in ``finding.message``)."""
    logical_id = shown(finding.logical_id)
    brief = finding.brief
    return f"{logical_id} {brief}" if brief.startswith("container ") else f"{logical_id}: {brief}"


def _counts(reports: Sequence[FileReport]) -> dict[str, int]:
    """What a run found, counted: files by status, task definitions, containers, findings by
    level."""
    task_definitions = [t for r in reports if r.status == "checked" for t in r.task_definitions]
    levels = [finding.level for finding in _findings(reports)]
    return {
        "templates": sum(r.status == "checked" for r in reports),
        "skipped": sum(r.status == "skipped" for r in reports),
        "unreadable": sum(r.status == "error" for r in reports),
        "taskDefinitions": len(task_definitions),
        "containers": sum(len(t.containers) for t in task_definitions),
        "errors": levels.count("error"),
        "warnings": levels.count("warning"),
        "notes": levels.count("note"),
    }


def _summary(reports: Sequence[FileReport]) -> str:
    counts = _counts(reports)
    findings = ", ".join(
        plural(counts[f"{level}s"], level) for level in ("error", "warning", "note")
    )
    return (
        f"{plural(counts['templates'], 'template')} checked ({counts['skipped']} skipped, "
        f"{counts['unreadable']} unreadable): "
        f"{plural(counts['taskDefinitions'], 'task definition')}, "
        f"{plural(counts['containers'], 'container')}; {findings}."
    )


GITHUB_SHOWN = 10
"""Annotations of one kind (error, warning, notice) GitHub shows per step; the rest are only in
the log."""


def render_github(reports: Sequence[FileReport], detail: str = "normal") -> str:
    """GitHub Actions workflow commands (``::error file=...,line=...::message``), one per
    finding and per unreadable file, escaped as the runner requires, then the summary. Skipped
    containers only when ``detail`` is "verbose", notes not when it is "quiet"; when more of a
    kind are emitted than GitHub shows, a last annotation says how many there are."""
    lines = []
    emitted = dict.fromkeys(("error", "warning", "notice"), 0)
    for report in reports:
        if report.status == "error":
            lines.append(_command("error", {"file": report.path}, f"cannot read: {report.note}"))
            emitted["error"] += 1
        for finding in _findings([report]) if report.status == "checked" else []:
            if (finding.rule == SKIPPED_CONTAINER and detail != "verbose") or (
                finding.level == "note" and detail == "quiet"
            ):
                continue
            level = {"error": "error", "warning": "warning"}.get(finding.level, "notice")
            properties = {
                "file": report.path,
                "line": str(finding.line),
                "col": str(finding.column),
                "title": f"{TOOL} {finding.rule}",
            }
            lines.append(_command(level, properties, f"{finding.logical_id}: {finding.message}"))
            emitted[level] += 1
    hidden = {level: count for level, count in emitted.items() if count > GITHUB_SHOWN}
    if hidden:
        counted = ", ".join(plural(count, level) for level, count in hidden.items())
        kind = min(("notice", "warning", "error"), key=emitted.__getitem__)
        summary = _command(
            kind,
            {"title": f"{TOOL}: more findings than annotations"},
            f"{counted} in all: GitHub shows {GITHUB_SHOWN} annotations of a kind per step; "
            "every finding is in this step's log (or use --format sarif for code scanning).",
        )
        # last, where a kind has room for it; else first, where GitHub still shows it
        if emitted[kind] < GITHUB_SHOWN:
            lines.append(summary)
        else:
            lines.insert(0, summary)
    lines.append(_summary(reports))
    return "\n".join(lines)


def _command(level: str, properties: dict[str, str], message: str) -> str:
    fields = ",".join(f"{key}={_escape(value, property=True)}" for key, value in properties.items())
    return f"::{level} {fields}::{_escape(message)}"


def _escape(text: str, *, property: bool = False) -> str:
    """Workflow command escaping (the runner's: %, CR, LF; and in properties : and ,), with
    every other non-printable character escaped too, so nothing starts a command of its own."""
    text = printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def render_junit(reports: Sequence[FileReport]) -> str:
    """JUnit XML: a test case per task definition (failed when it has an error) and per
    unreadable file (an error), as GitLab, Jenkins and Azure DevOps read it."""
    from xml.etree import ElementTree

    suite = ElementTree.Element("testsuite", name=TOOL)
    failures = errors = cases = 0
    for report in reports:
        if report.status == "error":
            cases, errors = cases + 1, errors + 1
            path = printable(report.path)
            case = ElementTree.SubElement(suite, "testcase", classname=path, name="read")
            ElementTree.SubElement(case, "error", message=printable(report.note))
            continue
        findings = _findings([report])
        for task_definition in report.task_definitions:
            cases += 1
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=printable(report.path),
                name=printable(task_definition.logical_id),
            )
            found = [f for f in findings if f.logical_id == task_definition.logical_id]
            failed = [f for f in found if f.level == "error"]
            notes = [f for f in found if f.level != "error"]
            if failed:
                failures += 1
                failure = ElementTree.SubElement(
                    case, "failure", message=printable(failed[0].message), type=failed[0].rule
                )
                failure.text = "\n".join(
                    printable(f"{f.line}:{f.column} [{f.rule}] {f.message}") for f in failed
                )
            if notes:  # skipped containers, warnings: after the failure, as JUnit orders them
                ElementTree.SubElement(case, "system-out").text = "\n".join(
                    printable(f"{f.line}:{f.column} [{f.rule}] {f.message}") for f in notes
                )
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    document = ElementTree.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + document.encode(
        "ascii", "xmlcharrefreplace"
    ).decode("ascii")


def render_json(reports: Sequence[FileReport], config: str | None = None) -> str:
    """Every detail: each file, task definition, container and finding, the summary, the exit
    code and the configuration file used (``config``: null when none)."""
    import json

    document = {
        "config": config,
        "files": [
            {
                "path": report.path,
                "status": report.status,
                **({"note": report.note} if report.note else {}),
                **(
                    {"findings": [_finding_json(f) for f in report.findings]}
                    if report.findings
                    else {}
                ),
                "taskDefinitions": [
                    {
                        "logicalId": t.logical_id,
                        "line": t.line,
                        "column": t.column,
                        "containers": [
                            {
                                "index": c.position,
                                "name": c.name,
                                "verdict": c.verdict,
                                "line": c.line,
                                "column": c.column,
                                **({"condition": c.condition} if c.condition else {}),
                            }
                            for c in t.containers
                        ],
                        "findings": [_finding_json(f) for f in t.findings],
                    }
                    for t in report.task_definitions
                ],
            }
            for report in reports
        ],
        "summary": {**_counts(reports), "text": _summary(reports)},
        "exitCode": exit_code(reports),
    }
    return json.dumps(document, indent=2)


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "level": finding.level,
        "summary": finding.brief,
        "message": finding.message,
        "fix": finding.fix or None,
        "line": finding.line,
        "column": finding.column,
        "container": finding.container,
        "value": finding.value,
    }


def render_sarif(
    reports: Sequence[FileReport], version: str, warn_only: frozenset[str] = frozenset()
) -> str:
    """SARIF 2.1.0 for code scanning: a rule per rule id, with its page and, where it can fail,
    its ``security-severity``; a rule the configuration's WarnOnly lists is a warning of low
    severity, so that code scanning does not fail a pull request on what only warns."""
    import json

    rule_ids = list(RULES)
    results = []
    for report in reports:
        for finding in _findings([report]):
            location: dict[str, Any] = {
                "physicalLocation": {"artifactLocation": _artifact(report.path)},
                "logicalLocations": [{"name": finding.logical_id, "kind": "resource"}],
            }
            location["physicalLocation"]["region"] = {
                "startLine": finding.line,
                "startColumn": finding.column,
            }
            results.append(
                {
                    "ruleId": finding.rule,
                    "ruleIndex": rule_ids.index(finding.rule),
                    "level": finding.level,
                    "message": {"text": finding.message},
                    "locations": [location],
                }
            )
    notifications = [
        {
            "level": "error" if report.status == "error" else "note",
            "message": {"text": f"{report.path}: {report.note}"},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(report.path)}}],
        }
        for report in reports
        if report.status != "checked"
    ]
    rules = [
        {
            "id": rule_id,
            "name": "".join(part.capitalize() for part in rule_id.split("-")),
            "shortDescription": {"text": summary.split(". ")[0].rstrip(".") + "."},
            "fullDescription": {"text": summary},
            "help": {
                "text": summary,
                "markdown": f"{summary} See [{rule_id}]({rule_page(rule_id)}).",
            },
            "helpUri": rule_page(rule_id),
            "defaultConfiguration": {"level": "warning" if rule_id in warn_only else level},
            "properties": (
                {
                    "tags": ["security"],
                    "security-severity": WARN_ONLY_SEVERITY
                    if rule_id in warn_only
                    else SECURITY_SEVERITY[rule_id],
                }
                if rule_id in SECURITY_SEVERITY
                else {}
            ),
        }
        for rule_id, (summary, level) in RULES.items()
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "version": version,
                        "informationUri": DOCUMENTATION,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": exit_code(reports) != EXIT_USAGE,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


def _artifact(path: str) -> dict[str, str]:
    from urllib.parse import quote

    if path == "-":
        return {"uri": "stdin"}
    # the name's bytes, as the file system holds them (a name need not be UTF-8)
    return {"uri": quote(os.fsencode(path.replace(os.sep, "/")))}
