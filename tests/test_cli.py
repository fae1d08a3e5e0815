"""`ecs-nonroot check` over fixture templates whose logical ids name the expected verdict."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from guardrails_ecs_nonrootuser.cli import main
from guardrails_ecs_nonrootuser.policy import Rule
from guardrails_ecs_nonrootuser.report import RULES
from guardrails_ecs_nonrootuser.scan import (
    INVALID_TASK_DEFINITION,
    SKIPPED_CONTAINER,
    UNQUOTED_YAML11,
    UNRESOLVED_VALUE,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "templates"
SCENARIOS = FIXTURES / "scenarios.yaml"
SARIF_SCHEMA = ROOT / ".cache" / "sarif-schema-2.1.0.json"
EXEMPT = ["--exempt-container-name", "log_router"]


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out = check(capsys, *args, "--format", "json")
    return code, json.loads(out)


def task_definitions(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Logical id -> its findings, over every file in the report."""
    return {t["logicalId"]: t["findings"] for f in document["files"] for t in f["taskDefinitions"]}


def with_level(document: dict[str, Any], level: str) -> set[str]:
    return {
        logical_id
        for logical_id, findings in task_definitions(document).items()
        if any(finding["level"] == level for finding in findings)
    }


def test_scenarios_fail_exactly_the_ids_named_fail_or_unresolved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, document = check_json(capsys, str(SCENARIOS), *EXEMPT)
    ids = set(task_definitions(document))
    assert len(ids) == 46
    assert with_level(document, "error") == {i for i in ids if i.startswith(("Fail", "Unresolved"))}
    assert with_level(document, "note") == {
        "PassUnquotedBase60WithNote",
        "FailRootGroupUnquotedBase60",
        "PassExemptLogRouter",  # skipped-container
    }
    assert code == 1


def test_fixtures_cover_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    rules = set()
    for extra in ([], ["--require-numeric-user", "--minimum-uid", "1010"]):
        _, document = check_json(capsys, str(FIXTURES), *EXEMPT, *extra)
        rules |= {f["rule"] for findings in task_definitions(document).values() for f in findings}
    assert (
        rules
        == set(RULES)
        == {rule.value for rule in Rule}
        | {
            UNRESOLVED_VALUE,
            UNQUOTED_YAML11,
            INVALID_TASK_DEFINITION,
            SKIPPED_CONTAINER,
        }
    )


def test_strict_flags_fail_named_users_and_low_uids(capsys: pytest.CaptureFixture[str]) -> None:
    _, document = check_json(
        capsys, str(SCENARIOS), *EXEMPT, "--require-numeric-user", "--minimum-uid", "1010"
    )
    found = {
        (logical_id, f["rule"])
        for logical_id, findings in task_definitions(document).items()
        for f in findings
    }
    assert ("PassNamedUser", "named-user") in found
    assert ("PassLeadingZerosUid", "uid-below-minimum") in found
    assert ("PassNumericUser", "uid-below-minimum") not in found


def test_unresolved_values_only_warn_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    _, document = check_json(capsys, str(SCENARIOS), *EXEMPT, "--unresolved", "warn")
    ids = set(task_definitions(document))
    assert with_level(document, "warning") == {i for i in ids if i.startswith("Unresolved")}
    assert with_level(document, "error") == {i for i in ids if i.startswith("Fail")}


def test_parameters_override_defaults_and_give_pseudo_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, document = check_json(
        capsys,
        str(SCENARIOS),
        *EXEMPT,
        "--parameter",
        "RootUser=1000",
        "--parameter",
        "AWS::Region=us-east-1",
        "--parameter",
        "SsmUser=2000",
    )
    findings = task_definitions(document)
    assert findings["FailRefParameterDefaultRoot"] == []
    assert findings["UnresolvedSsmParameter"] == []
    assert [f["rule"] for f in findings["UnresolvedFindInMapByRegion"]] == ["root-user"]


def test_finding_line_is_the_offending_container(capsys: pytest.CaptureFixture[str]) -> None:
    _, document = check_json(capsys, str(SCENARIOS), *EXEMPT)
    lines = SCENARIOS.read_text(encoding="utf-8").splitlines()
    (finding,) = task_definitions(document)["FailSidecarWithoutUser"]
    assert lines[finding["line"] - 1].strip() == "- Name: sidecar"
    assert finding["container"] == 1


def test_configuration_file_as_properties_or_whole_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    properties = {"AllowRootGroup": "true", "ExemptContainerNames": ["log_router"]}
    whole = {"CloudFormationConfiguration": {"HookConfiguration": {"Properties": properties}}}
    results = []
    for name, content in (("properties.json", properties), ("whole.json", whole)):
        config = tmp_path / name
        config.write_text(json.dumps(content), encoding="utf-8")
        _, document = check_json(capsys, str(SCENARIOS), "--config", str(config))
        results.append(with_level(document, "error"))
    assert results[0] == results[1]
    assert "FailRootGroupNumeric" not in results[0]
    assert "FailSidecarWithoutUser" in results[0]


def test_flags_override_the_configuration_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"AllowRootGroup": True}), encoding="utf-8")
    _, document = check_json(
        capsys, str(SCENARIOS), "--config", str(config), "--no-allow-root-group"
    )
    assert "FailRootGroupNumeric" in with_level(document, "error")


def test_directories_are_searched_and_other_files_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = check(capsys, str(FIXTURES), *EXEMPT)
    skipped = f"{FIXTURES / 'docker-compose.yaml'}: skipped: not a CloudFormation template"
    assert skipped not in out  # silent, counted in the summary
    _, verbose = check(capsys, str(FIXTURES), *EXEMPT, "--verbose")
    assert skipped in verbose
    assert "NonRootStack.template.json:38:7: error [root-group] FailCdkTaskDef5E6F7A8B" in out
    assert "PassCdkTaskDef" not in out
    # skipped: a Docker Compose file, and a file no reader reads in which no task definition
    # can be written (shown, with why)
    templates = sum(1 for path in FIXTURES.rglob("*") if path.suffix in (".yaml", ".json")) - 2
    assert out.splitlines()[-1].startswith(
        f"{templates} templates checked (2 skipped, 0 unreadable)"
    )
    assert "unreadable-without-task-definitions.yaml: skipped: not a CloudFormation" in out
    assert code == 1


def test_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    template = (
        b'{"Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": '
        b'{"ContainerDefinitions": [{"Name": "a", "User": "0"}]}}}}'
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(template)))
    code, out = check(capsys, "-")
    assert out.startswith('-:1:112: error [root-user] T container "a" User "0": uid 0 is root')
    assert code == 1


@pytest.mark.parametrize(
    ("content", "args", "code"),
    [
        pytest.param(
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            '      ContainerDefinitions: [{Name: a, User: "1000:1000"}]\n',
            [],
            0,
            id="compliant",
        ),
        pytest.param("Resources: {T: {Type: X}}\n", [], 0, id="no-task-definitions"),
        pytest.param(
            "Resources: [1, 2\nx: {Type: AWS::ECS::TaskDefinition}}", [], 2, id="unreadable-yaml"
        ),
        pytest.param("Resources: [1, 2\nx: }", [], 0, id="unreadable-not-a-template"),
        pytest.param(b"\xff\xfe", [], 2, id="not-utf-8"),
        pytest.param("Resources: {}\n", ["--minimum-uid", "0"], 2, id="invalid-setting"),
        pytest.param("Resources: {}\n", ["--parameter", "novalue"], 2, id="bad-parameter"),
        pytest.param("Resources: {}\n", ["--config", "/nonexistent.json"], 2, id="no-config"),
    ],
)
def test_exit_codes(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str | bytes,
    args: list[str],
    code: int,
) -> None:
    template = tmp_path / "template.yaml"
    if isinstance(content, bytes):
        template.write_bytes(content)
    else:
        template.write_text(content, encoding="utf-8")
    assert main(["check", str(template), *args]) == code
    captured = capsys.readouterr()
    if code == 2:
        assert "error" in captured.out + captured.err


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/no/such/template.yaml"]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_invalid_setting_names_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["check", str(SCENARIOS), "--windows-containers", "SKIP", "--minimum-uid", "x"]) == 2
    )
    assert "Invalid type configuration: MinimumUid" in capsys.readouterr().err


def test_many_files_are_checked_in_parallel_with_the_same_result(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for index in range(40):
        shutil.copy(
            SCENARIOS if index % 2 else FIXTURES / "docker-compose.yaml",
            tmp_path / f"t{index:02}.yaml",
        )
    outputs = [check(capsys, str(tmp_path), *EXEMPT, "--jobs", jobs) for jobs in ("1", "2")]
    assert outputs[0] == outputs[1]
    assert outputs[0][1].splitlines()[-1].startswith("20 templates checked (20 skipped")


def test_sarif_is_valid_against_the_official_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert SARIF_SCHEMA.is_file(), "fetch the SARIF schema first: make test"
    code, out = check(capsys, str(FIXTURES), *EXEMPT, "--format", "sarif")
    document = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(
        document
    )
    (run,) = document["runs"]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert {result["ruleId"] for result in run["results"]} <= set(rule_ids)
    result = next(r for r in run["results"] if r["ruleId"] == "root-group")
    location = result["locations"][0]
    assert location["physicalLocation"]["region"]["startLine"] > 0
    assert location["logicalLocations"][0]["name"]
    assert run["invocations"][0]["toolExecutionNotifications"][0]["level"] == "note"
    assert code == 1


def test_module_entry_point_and_help_document_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guardrails_ecs_nonrootuser", "check", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert "Exit codes: 0 nothing can run as root" in " ".join(result.stdout.split())
    result = subprocess.run(
        [sys.executable, "-m", "guardrails_ecs_nonrootuser", "check", str(SCENARIOS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "[root-user] FailRootUserZero" in result.stdout


def test_examples_give_the_documented_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    config = str(ROOT / "examples" / "hook-config.json")
    code, document = check_json(
        capsys, str(ROOT / "examples" / "compliant.yaml"), "--config", config
    )
    assert code == 0
    assert with_level(document, "error") == set()
    code, document = check_json(
        capsys, str(ROOT / "examples" / "noncompliant.yaml"), "--config", config
    )
    assert code == 1
    failing = {
        (t["logicalId"], c["name"])
        for f in document["files"]
        for t in f["taskDefinitions"]
        for c in t["containers"]
        if c["verdict"] == "FAIL"
    }
    assert len(failing) == 10


def test_shipped_templates_pass_cfn_lint() -> None:
    templates = [
        "hook-role.yaml",
        "template.yml",
        *sorted(map(str, (ROOT / "examples").glob("*.yaml"))),
    ]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *templates],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_an_unknown_parameter_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SCENARIOS), "--parameter", "AppUsr=1000"]) == 2
    assert '--parameter "AppUsr": no checked template declares it' in capsys.readouterr().err
    assert main(["check", str(SCENARIOS), "--parameter", "AWS::Regoin=x"]) == 2
    capsys.readouterr()
    code = main(
        ["check", str(SCENARIOS), "--parameter", "AppUser=1000", "--parameter", "AWS::Region=x"]
    )
    assert code == 1  # declared parameter and pseudo parameter: accepted


HOSTILE_NAME = "Fail\u202eBidi:Name,%0A"


def hostile_template(tmp_path: Path) -> Path:
    """A failing task definition whose logical id holds what workflow commands and XML must
    escape, in a file whose name does too."""
    path = tmp_path / "odd,name:%.yaml"
    path.write_text(
        f'Resources:\n  "{HOSTILE_NAME}":\n    Type: AWS::ECS::TaskDefinition\n'
        "    Properties:\n      ContainerDefinitions: [{Name: app, Image: i, User: '0'}]\n"
        "  Pass:\n    Type: AWS::ECS::TaskDefinition\n"
        "    Properties:\n      ContainerDefinitions: [{Name: app, Image: i, User: '1000'}]\n",
        encoding="utf-8",
    )
    return path


def test_quiet_keeps_errors_and_the_summary_only(capsys: pytest.CaptureFixture[str]) -> None:
    compliant = str(FIXTURES.parent.parent.parent / "examples" / "compliant.yaml")
    _, normal = check(capsys, str(FIXTURES), compliant, *EXEMPT)
    code, quiet = check(capsys, str(FIXTURES), compliant, *EXEMPT, "--quiet")
    assert code == 1
    assert ": OK (" in normal and ": OK (" not in quiet
    assert ": note [" in normal and ": note [" not in quiet
    errors = [line for line in normal.splitlines() if ": error [" in line]
    assert [line for line in quiet.splitlines() if ": error [" in line] == errors
    assert quiet.splitlines()[-1] == normal.splitlines()[-1]


def test_exclusions_leave_out_what_they_match_and_hidden_directories_by_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for directory in (".venv/lib", "node_modules/pkg", "generated", "stacks"):
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / "task.yaml").write_text(
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            "      ContainerDefinitions: [{Name: app, Image: i, User: '0'}]\n",
            encoding="utf-8",
        )
    _, document = check_json(capsys, str(tmp_path), "--exclude", "generated")
    assert sorted(Path(f["path"]).parent.name for f in document["files"]) == ["stacks"]
    _, document = check_json(capsys, str(tmp_path), "--exclude", "stacks/*.yaml")
    assert sorted(Path(f["path"]).parent.name for f in document["files"]) == ["generated"]


def test_github_format_is_workflow_commands_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = hostile_template(tmp_path)
    code, out = check(capsys, str(path), "--format", "github")
    assert code == 1
    commands, summary = out.splitlines()[:-1], out.splitlines()[-1]
    (command,) = commands
    escaped_path = str(path).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert command.startswith(
        f"::error file={escaped_path},line=5,col=52,title=ecs-nonroot root-user::"
    )
    message = command.split("::", 2)[2]
    assert "\u202e" not in message and "%0A" not in message.replace("%250A", "")
    assert message.startswith("Fail\\u202eBidi:Name,%250A: Violation:")
    assert not summary.startswith("::") and summary.startswith("1 template checked")


def test_junit_format_is_a_test_case_per_task_definition(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from xml.etree import ElementTree

    path = hostile_template(tmp_path)
    unreadable = tmp_path / "broken.yaml"
    unreadable.write_text("Resources: [AWS::ECS::TaskDefinition\n", encoding="utf-8")
    code, out = check(capsys, str(path), str(unreadable), "--format", "junit")
    assert code == 2
    assert out.isascii()
    suite = ElementTree.fromstring(out.split("\n", 1)[1])
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {(case.get("name"), tuple(child.tag for child in case)) for case in suite}
    assert cases == {("Fail\\u202eBidi:Name,%0A", ("failure",)), ("Pass", ()), ("read", ("error",))}


def test_every_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("check", "audit"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        options = text.split("options:", 1)[1]
        entries = [line for line in options.splitlines() if line.startswith("  -")]
        assert entries
        for entry in entries:
            described = len(entry.strip().split("  ")) > 1 or entry == entries[-1]
            following = options.split(entry, 1)[1].splitlines()[1] if not described else "x"
            assert described or following.startswith(" " * 6), (command, entry)


def test_json_summary_is_counts_and_the_text_line(capsys: pytest.CaptureFixture[str]) -> None:
    _, document = check_json(capsys, str(FIXTURES), *EXEMPT)
    _, text = check(capsys, str(FIXTURES), *EXEMPT)
    summary = document["summary"]
    assert summary["text"] == text.splitlines()[-1]
    files = document["files"]
    assert summary["templates"] == sum(f["status"] == "checked" for f in files)
    assert summary["skipped"] == 2
    findings = [x for f in files for t in f["taskDefinitions"] for x in t["findings"]]
    assert summary["errors"] == sum(x["level"] == "error" for x in findings) > 0
    assert summary["containers"] == sum(
        len(t["containers"]) for f in files for t in f["taskDefinitions"]
    )


def test_fixes_name_the_flag_or_the_property_the_reader_sets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The command's own flag; the property when the settings come from a --config file (as the
    hook and the cfn-lint rule name it), unless that flag is given too."""
    config = tmp_path / "config.json"
    config.write_text('{"MinimumUid": 2000}', encoding="utf-8")
    template = str(SCENARIOS)
    _, out = check(capsys, template, *EXEMPT, "--minimum-uid", "2000", "--verbose")
    assert "or set --allow-root-group." in out and "is below --minimum-uid 2000" in out
    _, out = check(capsys, template, "--config", str(config), "--verbose")
    assert "or set AllowRootGroup." in out and "is below MinimumUid 2000" in out
    _, out = check(capsys, template, "--config", str(config), "--minimum-uid", "2001", "--verbose")
    assert "or set AllowRootGroup." in out and "is below --minimum-uid 2001" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("terminal", "environment", "coloured"),
    [
        pytest.param(True, {}, True, id="terminal"),
        pytest.param(False, {}, False, id="pipe"),
        pytest.param(True, {"NO_COLOR": "1"}, False, id="no-color"),
        pytest.param(True, {"NO_COLOR": ""}, True, id="no-color-empty-is-unset"),
        pytest.param(True, {"TERM": "dumb"}, False, id="dumb-terminal"),
    ],
)
def test_colours_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, environment: dict[str, str], coloured: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    out = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["check", str(ROOT / "examples" / "noncompliant.yaml")]) == 1
    text = out.getvalue()
    assert (": \x1b[31merror\x1b[0m [root-user] " in text) is coloured
    assert ("\x1b" in text) is coloured


def test_colour_never_reaches_template_text(tmp_path: Path) -> None:
    """Escape sequences in a template stay escaped when the level words are painted."""
    from guardrails_ecs_nonrootuser.report import render_text
    from guardrails_ecs_nonrootuser.scan import Options, check_file

    text = 'Resources:\n  "T\\e[2J":\n    Type: AWS::ECS::TaskDefinition\n'
    text += '    Properties: {ContainerDefinitions: [{Name: "a\\e[31m", User: "0"}]}\n'
    report = check_file("t.yaml", text.encode(), Options())
    painted = render_text([report], colour=True)
    assert painted.count("\x1b") == 2  # the level word's two sequences, nothing else
    assert "\\x1b[2J" in painted and "\\x1b[31m" in painted
