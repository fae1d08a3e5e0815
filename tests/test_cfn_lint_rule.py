"""The cfn-lint rules, run by cfn-lint itself, report exactly what `ecs-nonroot check` reports."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_generated import TEMPLATES as GENERATED
from test_hostile_generated import as_yaml, encoded

from guardrails_ecs_nonrootuser.cfn_lint_rule import NonRootUser
from guardrails_ecs_nonrootuser.cli import SUFFIXES, check_path, main
from guardrails_ecs_nonrootuser.scan import SKIPPED_CONTAINER, UNRESOLVED_VALUE, Options

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "templates"
TEMPLATES = [
    FIXTURES / "scenarios.yaml",
    FIXTURES / "cdk.out" / "NonRootStack.template.json",
    ROOT / "tests" / "fixtures" / "hostile" / "transforms.yaml",  # findings about the template
]
RULE_LEVELS = {"E9101": "error", "W9101": "warning", "I9101": "note"}
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))


def cfn_lint(*args: str) -> list[dict[str, Any]]:
    """cfn-lint's JSON matches; ``args`` start with the templates (options such as
    --configure-rule take several values, so a template after them would be read as one)."""
    result = subprocess.run(
        [
            CFN_LINT,
            *args,
            "--format",
            "json",
            "--append-rules",
            "guardrails_ecs_nonrootuser.cfn_lint_rule",
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
    """The command's findings but its skipped-container notes, which the rule leaves out (cfn-lint
    fails on any match)."""
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
        for finding in [
            *f.get("findings", []),
            *(x for t in f["taskDefinitions"] for x in t["findings"]),
        ]
        if finding["rule"] != SKIPPED_CONTAINER
    }


@pytest.mark.parametrize("unresolved", ["fail", "warn"])
def test_cfn_lint_reports_the_same_findings_as_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, unresolved: str
) -> None:
    config = tmp_path / "hook-config.json"
    config.write_text(json.dumps({"ExemptContainerNames": ["log_router"]}), encoding="utf-8")
    linted = ours(
        cfn_lint(
            *map(str, TEMPLATES),
            "--configure-rule",
            f"E9101:config={config}",
            f"E9101:unresolved={unresolved}",
            "--include-checks",
            "I9101",
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


def test_findings_carry_the_commands_columns(capsys: pytest.CaptureFixture[str]) -> None:
    linted = {
        (m["Location"]["Start"]["LineNumber"], m["Location"]["Start"]["ColumnNumber"])
        for m in cfn_lint(str(FIXTURES / "yaml-forms.yaml"))
        if m["Rule"]["Id"] == "E9101"
    }
    main(["check", str(FIXTURES / "yaml-forms.yaml"), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    expected = {
        (f["line"], f["column"])
        for t in document["files"][0]["taskDefinitions"]
        for f in t["findings"]
    }
    assert linted == expected
    assert any(column > 1 for _, column in linted)


def test_a_file_the_check_cannot_read_is_an_error_not_a_pass(tmp_path: Path) -> None:
    # No file cfn-lint reads was found that the check refuses (cfn-lint refuses repeated keys and
    # recurses out before 256 levels of nesting); the rule is driven directly on one that changed
    # after cfn-lint read it. The stand-in has the two attributes the rule reads.
    template = tmp_path / "template.yaml"
    template.write_bytes(b"Resources: {T: {Type: AWS::ECS::TaskDefinition}}\n\xff\n")
    cfn = SimpleNamespace(filename=str(template), template={})
    (match,) = NonRootUser().match(cfn)
    assert match.message == "[unreadable] cannot read: not UTF-8 text (byte 49)"
    assert getattr(match, "location", None) == (0, 0, 0, 0)


def test_a_configuration_that_cannot_be_read_is_reported_by_the_rule(tmp_path: Path) -> None:
    matches = cfn_lint(
        str(FIXTURES / "scenarios.yaml"), "--configure-rule", f"E9101:config={tmp_path}/none.json"
    )
    ours = [m for m in matches if m["Rule"]["Id"] in RULE_LEVELS]
    assert [m["Message"].split(":")[0] for m in ours] == ["[configuration] E9101"]
    assert f"{tmp_path}/none.json: no such configuration file" in ours[0]["Message"]
    assert not any("Unknown exception" in m["Message"] for m in matches)


UNQUOTED_ROOT_GROUP = (
    "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
    "      ContainerDefinitions: [{Name: a, Image: i, User: 1000:0}]\n"
)
"""Unquoted ``1000:0``: YAML 1.1 reads the number 60000, cfn-lint's parser the text."""


def lint_rule(arguments: list[str], text: str | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [CFN_LINT, *arguments, "--append-rules", "guardrails_ecs_nonrootuser.cfn_lint_rule"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout


@pytest.mark.parametrize("way", ["by-name", "template-option"])
def test_every_way_of_naming_the_template_reads_its_text(tmp_path: Path, way: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(UNQUOTED_ROOT_GROUP, encoding="utf-8")
    arguments = [str(path)] if way == "by-name" else ["--template", str(path)]
    code, out = lint_rule(arguments)
    assert code != 0
    assert "E9101 [root-group]" in out and f"{path}:5:50" in out


def test_standard_input_is_an_error_the_rule_cannot_read_never_a_pass() -> None:
    """cfn-lint keeps only what it parsed from standard input, so the rule cannot read the text
    the hook reads: an error (on the file's first line), unless no task definition can be in
    the template."""
    code, out = lint_rule([], UNQUOTED_ROOT_GROUP)
    assert code != 0
    assert "E9101 [unreadable] E9101 reads a template's text" in out
    for_each = (
        "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Tasks:\n    - Uid\n"
        '    - ["0"]\n    - Task${Uid}:\n        Type: AWS::ECS::TaskDefinition\n'
        "        Properties:\n          ContainerDefinitions:\n"
        '            - {Name: app, Image: app, User: "${Uid}"}\n'
    )
    code, out = lint_rule([], for_each)
    assert code != 0 and "E9101 [unreadable]" in out
    code, out = lint_rule([], "Resources:\n  B:\n    Type: AWS::S3::Bucket\n")
    assert (code, out) == (0, "")
    code, out = lint_rule(["/dev/stdin"], UNQUOTED_ROOT_GROUP)  # a pipe given by a name
    assert code != 0 and "E9101 [unreadable] E9101 reads a template's text" in out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=GENERATED, data=st.data())
def test_the_rule_and_the_command_agree_on_generated_templates(
    template: dict[str, Any], data: st.DataObject
) -> None:
    """Generated templates (random structure, intrinsic functions, parameters, mappings,
    conditions, loops; as JSON and as YAML with short tags and unquoted numbers): the rule's
    matches are the command's findings, rule for level, at the same lines and columns. The
    pre-commit hook is the command itself (.pre-commit-hooks.yaml)."""
    import tempfile

    text = as_yaml(template, data) if data.draw(st.booleans()) else json.dumps(template)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "t.yaml"
        path.write_bytes(encoded(text))
        assert_the_rule_reports_what_the_command_finds(path)


FIXTURE_FILES = sorted(
    path
    for path in (ROOT / "tests" / "fixtures").rglob("*")
    if path.suffix in SUFFIXES and path.is_file() and "config" not in path.name
)


@pytest.mark.parametrize(
    "path", FIXTURE_FILES, ids=[p.relative_to(ROOT / "tests").as_posix() for p in FIXTURE_FILES]
)
def test_the_rule_and_the_command_agree_on_every_fixture(path: Path) -> None:
    assert_the_rule_reports_what_the_command_finds(path)


def assert_the_rule_reports_what_the_command_finds(path: Path) -> None:
    """The rule's matches on ``path`` are the command's findings, rule for level, at the same
    lines (an unreadable file: one match saying so)."""
    report = check_path(str(path), Options())
    matches = NonRootUser().match(SimpleNamespace(filename=str(path), template={}))
    if report.status == "error":
        assert [m.message for m in matches] == [f"[unreadable] {report.note}"]
        return
    found = [*report.findings, *(f for t in report.task_definitions for f in t.findings)]
    expected = sorted(
        (LEVEL_RULES[(f.level, f.rule == UNRESOLVED_VALUE)], f"[{f.rule}] {f.message}", f.line)
        for f in found
        if f.rule != SKIPPED_CONTAINER
    )
    found_by_rule = sorted(
        (vars(m)["rule"].id, m.message, vars(m)["location"][0] + 1) for m in matches
    )
    assert found_by_rule == expected


LEVEL_RULES = {
    ("error", False): "E9101",
    ("error", True): "E9101",
    ("warning", True): "W9101",
    ("warning", False): "W9102",
    ("note", False): "I9101",
}
"""The cfn-lint rule a finding of a level is reported by (and, for warnings, whether it is an
unresolved value)."""
