"""The audit's report: each thing read and decided as a record, kept on disk while the audit
runs (``Store``: memory does not grow with the number of task definitions), tallied by account
and Region (``Tally``), and written as grouped text, JSON or CSV once everything is read.

A record (``record``) carries the account, Region, kind, family and revision (or stack), ARN,
what uses it, its verdict and its findings. A finding that would stop the next deployment
(``blocked``): a failing task definition a service deploys (its next deployment registers a
revision from the same definition) and a failing stack (its next update).

Whatever comes from AWS is escaped as the command's other output is: text lines through
``printable``, JSON as ASCII, and CSV cells that a spreadsheet would take for a formula
(``=``, ``+``, ``-``, ``@``, tab, carriage return first) prefixed with ``'``.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from .audit import EXIT_PARTIAL, SERVICE, Audited, Unit, Unreadable
from .report import EXIT_COMPLIANT, EXIT_USAGE, EXIT_VIOLATIONS, printable, shown
from .scan import FileReport, Finding

KINDS = ("task-definition", "running-task", "stack")
CSV_COLUMNS = (
    "account",
    "region",
    "kind",
    "family",
    "revision",
    "stack",
    "task",
    "arn",
    "usedBy",
    "blocked",
    "verdict",
    "rule",
    "level",
    "container",
    "value",
    "message",
    "fix",
)


def record(item: Audited) -> dict[str, Any]:
    """One thing read and decided, as the JSON report shows it."""
    report = item.report
    findings = [_finding(report, f, "", "") for f in report.findings]
    for task_definition in report.task_definitions:
        logical_id = task_definition.logical_id
        shown_id = logical_id if item.kind == "stack" else ""  # else the name, already shown
        findings += [_finding(report, f, logical_id, shown_id) for f in task_definition.findings]
    levels = {finding["level"] for finding in findings}
    verdict = (
        "ERROR"
        if report.status == "error"
        else "FAIL"
        if "error" in levels
        else "WARN"
        if "warning" in levels
        else "PASS"
    )
    family, colon, revision = item.name.rpartition(":") if item.kind != "stack" else ("", "", "")
    if item.kind != "stack" and not colon:  # no revision known
        family, revision = item.name, ""
    used_by = list(item.used_by) if item.used_by is not None else None
    return {
        "account": item.unit.account,
        "region": item.unit.region,
        "kind": item.kind,
        "family": family or None,
        "revision": int(revision) if revision.isdigit() else revision or None,
        "stack": item.name if item.kind == "stack" else None,
        "task": item.task,
        "arn": item.arn,
        "usedBy": used_by,
        "blocked": verdict == "FAIL"
        and (item.kind == "stack" or (item.kind != "running-task" and SERVICE in (used_by or ()))),
        "verdict": verdict,
        **({"note": report.note} if report.note else {}),
        "findings": findings,
    }


def _finding(
    report: FileReport, finding: Finding, logical_id: str, shown_id: str
) -> dict[str, Any]:
    names: dict[tuple[str, int | None], str | None] = {
        (td.logical_id, c.position): c.name for td in report.task_definitions for c in td.containers
    }
    return {
        "rule": finding.rule,
        "level": finding.level,
        "summary": finding.brief,
        "message": finding.message,
        "fix": finding.fix or None,
        "logicalId": shown_id or None,
        "container": names.get((logical_id, finding.container)),
        "index": finding.container,
        "value": finding.value,
    }


class Tally:
    """Counts by account and Region, kept as records are added (as many as units, not as
    records)."""

    def __init__(self) -> None:
        self.units: dict[Unit, Counter[str]] = {}
        self.unreadable: list[Unreadable] = []

    def add(self, item: Mapping[str, Any]) -> None:
        counts = self.units.setdefault(Unit(item["account"], item["region"]), Counter())
        kind = item["kind"]
        counts[kind] += 1
        if item["usedBy"]:
            counts[f"{kind} in use"] += 1
        if item["verdict"] in ("FAIL", "ERROR", "WARN"):
            counts[f"{kind} {item['verdict']}"] += 1
        if item["blocked"]:
            counts["blocked"] += 1
        for rule in {f["rule"] for f in item["findings"] if f["level"] == "error"}:
            counts[f"rule {rule}"] += 1

    def total(self) -> Counter[str]:
        return sum(self.units.values(), Counter())

    def exit_code(self) -> int:
        total = self.total()
        if self.unreadable:
            return EXIT_PARTIAL
        if any(total[f"{kind} ERROR"] for kind in KINDS):
            return EXIT_USAGE
        if any(total[f"{kind} FAIL"] for kind in KINDS):
            return EXIT_VIOLATIONS
        return EXIT_COMPLIANT

    def summary(self, accounts: Sequence[str] | None = None) -> dict[str, Any]:
        total = self.total()
        read = {unit.account for unit in self.units}  # something read there, in some Region
        unreadable_accounts = {u.unit.account for u in self.unreadable} - read
        listed = set(accounts or ()) | read | unreadable_accounts
        rules = {
            key.removeprefix("rule "): count
            for key, count in sorted(total.items())
            if key.startswith("rule ")
        }
        return {
            "accounts": len(listed),
            "accountsRead": len(listed - unreadable_accounts),
            "accountsUnreadable": len(unreadable_accounts),
            "accountRegionsUnreadable": len(self.unreadable),
            "taskDefinitions": total["task-definition"],
            "taskDefinitionsInUse": total["task-definition in use"],
            "taskDefinitionsFailing": total["task-definition FAIL"],
            "runningTasksFailing": total["running-task FAIL"],
            "stacks": total["stack"],
            "stacksFailing": total["stack FAIL"],
            "unreadableItems": sum(total[f"{kind} ERROR"] for kind in KINDS),
            "failingByRule": rules,
            "blockedAtNextDeployment": total["blocked"],
        }


class Store:
    """Records on disk (SQLite, in a temporary directory removed on close), read back ordered by
    account, Region, kind and name."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="ecs-nonroot-audit-")
        path = os.path.join(self._directory.name, "records.db")
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE records (account TEXT, region TEXT, kind INTEGER, name TEXT, "
            "task TEXT, record TEXT)"
        )
        self._pending: list[tuple[str, str, int, str, str, str]] = []

    def add(self, item: Mapping[str, Any]) -> None:
        name = item["stack"] or f"{item['family']}:{item['revision']!s:>12}"
        key = (item["account"], item["region"], KINDS.index(item["kind"]), name, item["task"] or "")
        self._pending.append((*key, json.dumps(item, ensure_ascii=True)))
        if len(self._pending) >= 500:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", self._pending)
        self._pending.clear()

    def records(self) -> Iterator[dict[str, Any]]:
        self._flush()
        rows = self._db.execute(
            "SELECT record FROM records ORDER BY account, region, name, kind, task"
        )
        for (text,) in rows:
            yield json.loads(text)

    def close(self) -> None:
        self._db.close()
        self._directory.cleanup()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()


def path_of(item: Mapping[str, Any], *, relative: bool = False) -> str:
    """Where a record is: aws://ACCOUNT/REGION/task-definition/FAMILY:REVISION (a running task's
    under it), or aws://ACCOUNT/REGION/stack/NAME; ``relative``: without aws://ACCOUNT/REGION/."""
    base = "" if relative else f"aws://{item['account']}/{item['region']}/"
    if item["kind"] == "stack":
        return f"{base}stack/{item['stack']}"
    revision = f":{item['revision']}" if item["revision"] is not None else ""
    path = f"{base}task-definition/{item['family']}{revision}"
    return path + (f"/running-task/{item['task']}" if item["task"] else "")


def write_text(
    out: IO[str],
    records: Iterator[dict[str, Any]],
    tally: Tally,
    *,
    source: str,
    detail: str = "normal",
    accounts: Sequence[str] | None = None,
) -> None:
    """Grouped by account and Region: a heading with the counts, a line per error or warning
    (``detail`` verbose: per finding and per passing item; quiet: none), then the summary
    table."""
    verbose = detail == "verbose"
    current: Unit | None = None
    for item in records:
        unit = Unit(item["account"], item["region"])
        if unit != current:
            current = unit
            print(printable(_heading(unit, tally.units[unit])), file=out)
        if detail == "quiet":
            continue
        where = shown(path_of(item, relative=True)) + _tags(item)
        if item["verdict"] == "ERROR":
            print(printable(f"  {where}: error: {item.get('note', '')}"), file=out)
        listed = [f for f in item["findings"] if verbose or f["level"] in ("error", "warning")]
        for finding in listed:
            logical_id = f" {shown(finding['logicalId'])}" if finding["logicalId"] else ""
            line = f"  {where}{logical_id}: {finding['level']} [{finding['rule']}] "
            print(printable(line + finding["message"]), file=out)
        if verbose and not listed and item["verdict"] == "PASS":
            print(printable(f"  {where}: pass"), file=out)
    for unreadable in tally.unreadable:
        line = f"{unreadable.unit.account} {unreadable.unit.region}: not read: {unreadable.reason}"
        print(printable(line), file=out)
    print(file=out)
    for line in summary_table(tally.summary(accounts), source):
        print(printable(line), file=out)


def _heading(unit: Unit, counts: Counter[str]) -> str:
    failing = {
        k.removeprefix("rule "): n for k, n in sorted(counts.items()) if k.startswith("rule ")
    }
    rules = ", ".join(f"{rule} {n}" for rule, n in failing.items())
    in_use = counts["task-definition in use"]
    return (
        f"{unit.account} {unit.region}: {_count(counts['task-definition'], 'task definition')}"
        f" ({in_use} in use), {_count(counts['stack'], 'stack')}; failing: "
        f"{counts['task-definition FAIL'] + counts['running-task FAIL'] + counts['stack FAIL']}"
        + (f" ({rules})" if rules else "")
        + (f"; blocked at next deployment: {counts['blocked']}" if counts["blocked"] else "")
    )


def _tags(item: Mapping[str, Any]) -> str:
    if item["usedBy"]:
        return f" [in use: {', '.join(item['usedBy'])}]"
    if item["usedBy"] is not None and item["kind"] == "task-definition":
        return " [unused]"
    return ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def summary_table(summary: Mapping[str, Any], source: str) -> list[str]:
    rows = [
        ("source", source),
        (
            "accounts read",
            f"{summary['accountsRead']} of {summary['accounts']}"
            + (
                f" ({summary['accountsUnreadable']} unreadable in "
                f"{summary['accountRegionsUnreadable']} account-Regions)"
                if summary["accountsUnreadable"]
                else ""
            ),
        ),
        (
            "task definitions",
            f"{summary['taskDefinitions']} ({summary['taskDefinitionsInUse']} in use)",
        ),
        ("  failing", str(summary["taskDefinitionsFailing"])),
        ("running tasks failing", str(summary["runningTasksFailing"])),
        ("stacks", str(summary["stacks"])),
        ("  failing", str(summary["stacksFailing"])),
        ("not readable", str(summary["unreadableItems"])),
        ("failing by rule", "" if summary["failingByRule"] else "none"),
        *((f"  {rule}", str(n)) for rule, n in summary["failingByRule"].items()),
        ("blocked at next deployment", str(summary["blockedAtNextDeployment"])),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return ["Summary", *(f"  {label:<{width}}{value}".rstrip() for label, value in rows)]


def write_json(
    out: IO[str],
    records: Iterator[dict[str, Any]],
    tally: Tally,
    *,
    source: str,
    config: str | None,
    accounts: Sequence[str] | None = None,
) -> None:
    """One JSON document, written as it is read: source, configuration file, the records, the
    unreadable account-Regions, the summary and the exit code."""
    out.write("{\n")
    out.write(f'  "source": {json.dumps(source)},\n  "config": {json.dumps(config)},\n')
    out.write('  "items": [')
    for index, item in enumerate(records):
        out.write(("," if index else "") + "\n    " + json.dumps(item, ensure_ascii=True))
    out.write("\n  ],\n")
    unreadable = [
        {"account": u.unit.account, "region": u.unit.region, "reason": u.reason}
        for u in tally.unreadable
    ]
    out.write(f'  "unreadable": {json.dumps(unreadable, ensure_ascii=True)},\n')
    summary = tally.summary(accounts)
    out.write(f'  "summary": {json.dumps(summary, ensure_ascii=True)},\n')
    out.write(f'  "exitCode": {tally.exit_code()}\n}}\n')


def write_csv(out: IO[str], records: Iterator[dict[str, Any]]) -> None:
    """A row per finding (a row per item without findings), for spreadsheets."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in records:
        base = [
            item["account"],
            item["region"],
            item["kind"],
            item["family"],
            item["revision"],
            item["stack"],
            item["task"],
            item["arn"],
            " ".join(item["usedBy"]) if item["usedBy"] is not None else "",
            "yes" if item["blocked"] else "no",
            item["verdict"],
        ]
        rows = [
            [f["rule"], f["level"], f["container"], f["value"], f["message"], f["fix"]]
            for f in item["findings"]
        ] or [["", "", "", "", item.get("note", ""), ""]]
        for row in rows:
            writer.writerow([_cell(value) for value in [*base, *row]])


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = printable("" if value is None else str(value))  # no terminal sequence, no surrogate
    return "'" + text if text.startswith(_FORMULA) else text
