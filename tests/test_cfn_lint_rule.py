"""The cfn-lint rules, run by cfn-lint itself, report exactly what `ecs-nonroot check` reports."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guardrails_ecs_nonrootuser.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "templates"
TEMPLATES = [FIXTURES / "scenarios.yaml", FIXTURES / "cdk.out" / "NonRootStack.template.json"]
RULE_LEVELS = {"E9101": "error", "W9101": "warning", "I9101": "note"}
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))


def cfn_lint(*args: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            CFN_LINT,
            "--format",
            "json",
            "--append-rules",
            "guardrails_ecs_nonrootuser.cfn_lint_rule",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr
    matches: list[dict[str, Any]] = json.loads(result.stdout)
    return matches


def ours(matches: list[dict[str, Any]]) -> set[tuple[str, str, str, int]]:
    return {
        (
            Path(m["Filename"]).name,
            RULE_LEVELS[m["Rule"]["Id"]],
            m["Message"],
            m["Location"]["Start"]["LineNumber"],
        )
        for m in matches
        if m["Rule"]["Id"] in RULE_LEVELS
    }


def command(capsys: pytest.CaptureFixture[str], *args: str) -> set[tuple[str, str, str, int]]:
    main(["check", *map(str, TEMPLATES), "--format", "json", *args])
    document = json.loads(capsys.readouterr().out)
    return {
        (
            Path(f["path"]).name,
            finding["level"],
            f"[{finding['rule']}] {finding['message']}",
            finding["line"],
        )
        for f in document["files"]
        for t in f["taskDefinitions"]
        for finding in t["findings"]
    }


@pytest.mark.parametrize("unresolved", ["fail", "warn"])
def test_cfn_lint_reports_the_same_findings_as_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, unresolved: str
) -> None:
    config = tmp_path / "hook-config.json"
    config.write_text(json.dumps({"ExemptContainerNames": ["log_router"]}), encoding="utf-8")
    linted = ours(
        cfn_lint(
            "--configure-rule",
            f"E9101:config={config}",
            "--configure-rule",
            f"E9101:unresolved={unresolved}",
            "--include-checks",
            "I9101",
            "--",
            *map(str, TEMPLATES),
        )
    )
    expected = command(capsys, "--config", str(config), "--unresolved", unresolved)
    assert linted == expected
    levels = {level for _, level, _, _ in linted}
    assert levels == ({"error", "note", "warning"} if unresolved == "warn" else {"error", "note"})


def test_rules_are_listed_by_cfn_lint() -> None:
    result = subprocess.run(
        [
            CFN_LINT,
            "--append-rules",
            "guardrails_ecs_nonrootuser.cfn_lint_rule",
            "--list-rules",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for rule_id in RULE_LEVELS:
        assert rule_id in result.stdout
