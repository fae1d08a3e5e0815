"""What a new user types first: paths as people write them, the configuration file found by
itself, phased enforcement with WarnOnly, and findings people can read."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guardrails_ecs_nonrootuser.cli import CONFIG_NAME, find_config, main
from guardrails_ecs_nonrootuser.policy import Rule, rule_page
from guardrails_ecs_nonrootuser.report import GITHUB_SHOWN, SECURITY_SEVERITY

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures" / "templates"
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
ROOT_TASK = (
    "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
    "      ContainerDefinitions: [{Name: app, Image: nginx, User: '0'}]\n"
)
MISSING_TASK = (
    "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
    "      ContainerDefinitions: [{Name: app, Image: nginx}]\n"
)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def verdicts(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, set[Any]]:
    """The exit code and every finding, each with its file's path relative to the templates'
    own directory (so that the same files given by other paths compare equal)."""
    code, out, _ = check(capsys, *args, "--format", "json")
    found = set()
    for file in json.loads(out)["files"]:
        name = Path(file["path"]).name
        for task_definition in file["taskDefinitions"]:
            for finding in task_definition["findings"]:
                found.add((name, finding["rule"], finding["line"], finding["column"]))
    return code, found


# --- paths --------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with templates in a folder, and a folder beside it."""
    (tmp_path / ".git").mkdir()
    shutil.copytree(EXAMPLES, tmp_path / "stacks")
    (tmp_path / "stacks" / "hook-config.json").unlink()
    (tmp_path / "tools").mkdir()
    os.symlink(tmp_path / "stacks", tmp_path / "linked")
    return tmp_path


@pytest.mark.parametrize(
    ("where", "argument"),
    [
        pytest.param("stacks", ".", id="dot"),
        pytest.param("stacks", "./", id="dot-slash"),
        pytest.param(".", "./stacks", id="dot-dir"),
        pytest.param(".", "stacks", id="dir"),
        pytest.param("tools", "../stacks", id="parent-dir"),
        pytest.param("tools", "{root}/stacks", id="absolute"),
        pytest.param(".", "linked", id="symlink"),
        pytest.param("stacks", "{root}/linked/.", id="absolute-symlink-dot"),
    ],
)
def test_every_way_of_naming_a_directory_finds_the_same_templates_and_findings(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    where: str,
    argument: str,
) -> None:
    monkeypatch.chdir(project / "stacks")
    expected = verdicts(capsys, "compliant.yaml", "noncompliant.yaml")
    assert expected[0] == 1 and len(expected[1]) == 11
    monkeypatch.chdir(project / where)
    assert verdicts(capsys, argument.format(root=project)) == expected


def test_no_path_is_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    monkeypatch.chdir(project / "stacks")
    assert verdicts(capsys) == verdicts(capsys, ".")
    assert verdicts(capsys)[0] == 1


def test_paths_are_shown_as_given_without_dot_components(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    monkeypatch.chdir(project / "stacks")
    _, out, _ = check(capsys, ".", "--format", "json")
    assert [f["path"] for f in json.loads(out)["files"]] == ["compliant.yaml", "noncompliant.yaml"]
    monkeypatch.chdir(project)
    _, out, _ = check(capsys, "./stacks/", "--format", "json")
    paths = [f["path"] for f in json.loads(out)["files"]]
    assert paths == ["stacks/compliant.yaml", "stacks/noncompliant.yaml"]


def test_exclusions_apply_below_the_directory_given_never_to_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hidden = tmp_path / ".hidden"
    for folder in ("app", "app/generated", "app/.aws-sam", "app/node_modules"):
        (hidden / folder).mkdir(parents=True)
        (hidden / folder / "t.yaml").write_text(ROOT_TASK, encoding="utf-8")
    monkeypatch.chdir(hidden)

    def folders(*args: str) -> list[str]:
        _, out, _ = check(capsys, *args, "--format", "json")
        return [str(Path(f["path"]).parent) for f in json.loads(out)["files"]]

    assert folders(".") == ["app", "app/generated"]
    assert folders(str(hidden)) == [str(hidden / "app"), str(hidden / "app/generated")]
    assert folders(".", "--exclude", "generated") == ["app"]
    assert folders(".", "--exclude", "app/generated/*.yaml") == ["app"]
    assert folders(".", "--exclude", "app") == []
    monkeypatch.chdir(tmp_path)
    assert folders(".hidden/app/.aws-sam") == [".hidden/app/.aws-sam"]  # given by name


def test_a_directory_without_templates_says_so_and_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "settings.json").write_text('{"a": 1}', encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "t.yaml").write_text(ROOT_TASK, encoding="utf-8")
    code, out, err = check(capsys, str(tmp_path))
    assert code == 0
    assert f"ecs-nonroot: note: {tmp_path}: no CloudFormation template found (1 file" in err
    assert "0 templates checked (1 skipped, 0 unreadable)" in out
    (tmp_path / "t.yaml").write_text(ROOT_TASK, encoding="utf-8")
    code, _, err = check(capsys, str(tmp_path))
    assert code == 1 and err == ""


@pytest.mark.parametrize(
    ("text", "code", "status"),
    [
        pytest.param("name: {{ .Values.name }}\n  {{- if .x }}\n", 0, "skipped", id="helm"),
        pytest.param("a: [\n# AWS::ECS::TaskDefinition\n", 2, "error", id="could-hold-one"),
        pytest.param('a: "\\x41WS"\n  b: [\n', 2, "error", id="escape"),
        pytest.param("Transform: X\n  b: [\n", 2, "error", id="transform"),
        pytest.param(b"\xff\xfe{{ x }}", 2, "error", id="not-utf-8"),
    ],
)
def test_an_unparseable_file_is_skipped_only_when_no_task_definition_can_be_written_in_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str | bytes, code: int, status: str
) -> None:
    path = tmp_path / "file.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    result, out, _ = check(capsys, str(path), "--format", "json")
    assert result == code
    assert json.loads(out)["files"][0]["status"] == status


# --- the configuration file ---------------------------------------------------------------------


def test_the_configuration_file_is_found_up_to_the_repository_root(tmp_path: Path) -> None:
    repository = tmp_path / "repo"
    deep = repository / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / CONFIG_NAME).write_text("{}", encoding="utf-8")  # above the repository
    assert find_config(str(deep)) is None
    (repository / ".git").mkdir()
    assert find_config(str(deep)) is None
    (repository / CONFIG_NAME).write_text("{}", encoding="utf-8")
    assert find_config(str(deep)) == str(repository / CONFIG_NAME)
    (deep / CONFIG_NAME).write_text("{}", encoding="utf-8")  # the nearest wins
    assert find_config(str(deep)) == str(deep / CONFIG_NAME)
    outside = tmp_path / "plain" / "dir"
    outside.mkdir(parents=True)
    assert find_config(str(outside)) is None  # no repository: only the directory itself
    (outside / CONFIG_NAME).write_text("{}", encoding="utf-8")
    assert find_config(str(outside)) == str(outside / CONFIG_NAME)


def test_the_configuration_file_is_used_overridden_and_ignored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    template = tmp_path / "t.yaml"
    template.write_text(MISSING_TASK, encoding="utf-8")
    (tmp_path / CONFIG_NAME).write_text('{"WarnOnly": ["missing-user"]}', encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "sub")
    code, out, err = check(capsys, str(template), "--verbose")
    assert code == 0 and "warning [missing-user]" in out
    assert f"ecs-nonroot: config: {tmp_path / CONFIG_NAME}" in err.splitlines()
    code, out, _ = check(capsys, str(template), "--format", "json")
    assert (code, json.loads(out)["config"]) == (0, str(tmp_path / CONFIG_NAME))
    code, out, _ = check(capsys, str(template), "--config", str(other), "--format", "json")
    assert (code, json.loads(out)["config"]) == (1, str(other))
    code, out, err = check(capsys, str(template), "--no-config", "--format", "json", "-v")
    assert (code, json.loads(out)["config"]) == (1, None)
    assert "ecs-nonroot: config: none" in err
    with pytest.raises(SystemExit):
        main(["check", str(template), "--no-config", "--config", str(other)])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "{path}: no such configuration file", id="missing"),
        pytest.param("{", "{path}: not valid JSON (", id="not-json"),
        pytest.param("[]", "{path}: not a JSON object of the hook's configuration", id="list"),
        pytest.param(
            '{"WarnOnly": ["missing-usr"]}',
            '{path}: WarnOnly[0] "missing-usr" is not a rule id (rule ids: missing-user,',
            id="unknown-rule",
        ),
        pytest.param(
            '{"Exemptions": [{"Image": "x/*", "Reason": " "}]}',
            "{path}: Exemptions[0].Reason must say why these containers are exempt",
            id="blank-reason",
        ),
        pytest.param('{"Minimum": 1}', '{path}: "Minimum" is not a property', id="unknown-key"),
    ],
)
def test_an_unreadable_or_invalid_configuration_is_exit_2_with_one_line_naming_file_and_property(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    content: str | None,
    expected: str,
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(ROOT_TASK, encoding="utf-8")
    if content is not None:
        (tmp_path / CONFIG_NAME).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for arguments in ([], ["--config", CONFIG_NAME]):
        if content is None and not arguments:
            continue  # nothing to find: the defaults apply
        code, out, err = check(capsys, str(template), *arguments)
        assert (code, out) == (2, "")
        (line,) = err.splitlines()
        assert line.startswith("ecs-nonroot: error: " + expected.format(path=CONFIG_NAME)), line
        assert "Errno" not in line


def test_the_repositorys_own_configuration_is_the_ready_configurations_properties() -> None:
    properties = json.loads((ROOT / CONFIG_NAME).read_text(encoding="utf-8"))
    for ready in (
        "examples/hook-config.json",
        "deploy/config/audit.json",
        "deploy/config/enforce.json",
    ):
        document = json.loads((ROOT / ready).read_text(encoding="utf-8"))
        hook = document["CloudFormationConfiguration"]["HookConfiguration"]
        assert hook["Properties"] == properties, ready


def test_the_examples_pass_with_no_flag_from_anywhere_in_the_repository() -> None:
    for where, argument in ((ROOT, "examples/compliant.yaml"), (EXAMPLES, "compliant.yaml")):
        result = subprocess.run(
            [str(Path(sys.executable).with_name("ecs-nonroot")), "check", argument],
            cwd=where,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert 'note [skipped-container] WebTask: Skipped container "log_router"' in result.stdout


# --- WarnOnly through the command and cfn-lint ----------------------------------------------------


def test_warn_only_violations_are_warnings_and_exit_0_when_nothing_else_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(MISSING_TASK, encoding="utf-8")
    assert check(capsys, str(template))[0] == 1
    code, out, _ = check(capsys, str(template), "--warn-only", "missing-user")
    assert code == 0
    assert ': warning [missing-user] T container "app" User not set' in out
    assert out.splitlines()[-1].endswith("0 errors, 1 warning, 0 notes.")
    both = tmp_path / "both.yaml"
    both.write_text(MISSING_TASK + ROOT_TASK.replace("Resources:\n  T:", "  U:"), "utf-8")
    code, out, _ = check(capsys, str(both), "--warn-only", "missing-user,root-group")
    assert code == 1 and "error [root-user] U" in out and "warning [missing-user] T" in out
    code, _, err = check(capsys, str(template), "--warn-only", "root")
    assert code == 2 and '"root" is not a rule id' in err


def test_cfn_lint_rule_reports_warn_only_violations_as_w9102_from_the_found_configuration(
    tmp_path: Path,
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "t.yaml").write_text(MISSING_TASK, encoding="utf-8")

    def lint() -> list[str]:
        result = subprocess.run(
            [CFN_LINT, "t.yaml", "--append-rules", "guardrails_ecs_nonrootuser.cfn_lint_rule"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        return [line for line in result.stdout.splitlines() if "9101" in line or "9102" in line]

    assert [line.split()[0] for line in lint()] == ["E9101"]
    (tmp_path / CONFIG_NAME).write_text('{"WarnOnly": ["missing-user"]}', encoding="utf-8")
    (warning,) = lint()
    assert warning.startswith("W9102 [missing-user] ")


# --- messages people read -----------------------------------------------------------------------


def test_text_findings_fit_160_characters_for_the_common_cases(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    _, out, _ = check(
        capsys, "--no-config", "examples/noncompliant.yaml", "examples/compliant.yaml"
    )
    findings = [line for line in out.splitlines() if ": error [" in line]
    assert len(findings) == 11
    assert max(len(line) for line in findings) <= 160, max(findings, key=len)
    assert all(
        line.split("] ", 1)[1].split(" ", 1)[1].startswith("container ") for line in findings
    )
    parameter = next(line for line in findings if "from-parameter" in line)
    assert 'User "0" from parameter WorkerUser: uid 0 is root' in parameter


def test_where_a_value_comes_from_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(
        "Parameters:\n  P: {Type: String, Default: '0'}\nMappings:\n  Users: {a: {b: '0'}}\n"
        "Conditions:\n  C: !Equals [!Ref P, '0']\n"
        "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n"
        "    Properties:\n      ContainerDefinitions:\n"
        "        - {Name: p, Image: i, User: !Ref P}\n"
        "        - {Name: m, Image: i, User: !FindInMap [Users, a, b]}\n"
        "        - {Name: c, Image: i, User: !If [C, '0', '1000']}\n"
        "        - {Name: s, Image: i, User: !Sub '${P}:1000'}\n",
        encoding="utf-8",
    )
    _, out, _ = check(capsys, str(template), "--format", "json")
    (task_definition,) = json.loads(out)["files"][0]["taskDefinitions"]
    summaries = [f["summary"] for f in task_definition["findings"]]
    assert summaries == [
        'container "p" User "0" from parameter P: uid 0 is root',
        'container "m" User "0" from mapping Users: uid 0 is root',
        'container "c", when C is true, User "0" from condition C: uid 0 is root',
        'container "s" User "0:1000" from Fn::Sub: uid 0 is root',
    ]
    assert all(
        f["fix"].startswith("set User to a non-root uid") for f in task_definition["findings"]
    )
    assert all(f["message"].startswith("Violation: ") for f in task_definition["findings"])


def test_verbose_text_gives_each_findings_reason_and_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(MISSING_TASK, encoding="utf-8")
    _, out, _ = check(capsys, str(template), "--verbose")
    finding, detail = out.splitlines()[:2]
    assert finding.endswith("User not set: the image's default user applies (often root)")
    assert detail.startswith('    Violation: container "app" (#0) User not set: the image\'s')
    assert detail.endswith('Fix: set User to a non-root uid and gid, e.g. "1000:1000".')


def test_github_format_counts_what_github_does_not_show(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    containers = ", ".join(f"{{Name: a{n}, Image: i, User: '0'}}" for n in range(10))
    for number in range(2):
        path = tmp_path / f"t{number}.yaml"
        path.write_text(
            ROOT_TASK.replace("{Name: app, Image: nginx, User: '0'}", containers), "utf-8"
        )
    _, out, _ = check(capsys, str(tmp_path), "--format", "github")
    lines = out.splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 20
    assert lines[-2].startswith("::notice title=ecs-nonroot%3A more findings than annotations::")
    assert f"20 errors in all: GitHub shows {GITHUB_SHOWN} annotations of a kind" in lines[-2]
    (tmp_path / "t1.yaml").unlink()
    _, out, _ = check(capsys, str(tmp_path), "--format", "github")
    assert "more findings than annotations" not in out


def test_sarif_rules_carry_security_severity_and_their_documentation_page(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(ROOT_TASK, encoding="utf-8")
    _, out, _ = check(capsys, str(template), "--format", "sarif")
    rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
    for rule in Rule:
        severity = float(rules[rule.value]["properties"]["security-severity"])
        assert 0 < severity <= 10
        assert rules[rule.value]["helpUri"] == rule_page(rule.value)
        assert (ROOT / "docs" / "rules" / f"{rule.value}.md").is_file()
    assert set(SECURITY_SEVERITY) <= set(rules)
    assert float(rules["root-user"]["properties"]["security-severity"]) >= 7.0
    assert "security-severity" not in rules["skipped-container"]["properties"]


def test_check_help_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for form in ("text", "json", "sarif", "github", "junit"):
        assert f"{form}:" in text


# --- what an adversarial reading found ------------------------------------------------------------

CONDITIONAL = """\
Parameters:
  Env: {Type: String, Default: prod}
Mappings:
  Schedule: {Backup: {At: 12:30}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Root:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions: [{Name: app, Image: nginx, User: "0"}]
  Task:
    Type: AWS::ECS::TaskDefinition
    Condition: IsProd
    Properties:
      ContainerDefinitions: [{Name: web, Image: nginx}]
"""


def test_warn_only_under_conditions_and_yaml11_numbers_still_fails_other_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A warning decided over the cases of a condition (or both readings of a YAML 1.1 number)
    is weighed with the other verdicts: it never stops the check of the template."""
    path = tmp_path / "t.yaml"
    path.write_text(CONDITIONAL, encoding="utf-8")
    code, out, _ = check(capsys, str(path), "--warn-only", "missing-user", "--format", "json")
    assert code == 1
    findings = {
        (t["logicalId"], f["rule"], f["level"])
        for t in json.loads(out)["files"][0]["taskDefinitions"]
        for f in t["findings"]
    }
    assert findings == {("Root", "root-user", "error"), ("Task", "missing-user", "warning")}
    from guardrails_ecs_nonrootuser import stack
    from guardrails_ecs_nonrootuser.policy import Settings

    settings = Settings.from_mapping({"WarnOnly": ["missing-user"]})
    outcome = stack.check_stack({"template": CONDITIONAL}, settings)
    assert outcome.failed
    assert {(i.logical_id, i.status) for i in outcome.items} >= {("Root", stack.FAIL)}


@pytest.mark.parametrize("spelling", [".//{rel}", "./{rel}/", ".//{rel}//", "{rel}/./"])
def test_repeated_separators_keep_a_relative_path_relative(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    spelling: str,
) -> None:
    (tmp_path / "here" / "sub").mkdir(parents=True)
    (tmp_path / "here" / "sub" / "t.yaml").write_text(ROOT_TASK, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "here")
    code, out, _ = check(capsys, spelling.format(rel="sub"), "--format", "json")
    assert code == 1
    assert [f["path"] for f in json.loads(out)["files"]] == ["sub/t.yaml"]


def test_sarif_names_a_file_whose_name_is_not_utf8(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = os.fsdecode(b"bad\xff.yaml")
    (tmp_path / name).write_text(ROOT_TASK, encoding="utf-8")
    code, out, _ = check(capsys, str(tmp_path), "--format", "sarif")
    assert code == 1
    (result,) = json.loads(out)["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith("/bad%FF.yaml")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(os.mkfifo, "not a regular file (a FIFO)", id="fifo"),
        pytest.param(lambda p: os.symlink("/dev/zero", p), "a socket or device", id="device"),
        pytest.param(lambda p: p.mkdir(), "Is a directory", id="directory"),
        pytest.param(
            lambda p: p.write_bytes(b" " * (2 * 1024 * 1024)), "larger than", id="too-large"
        ),
    ],
)
def test_a_configuration_file_that_is_not_a_small_regular_file_is_refused_at_once(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make: Any,
    expected: str,
) -> None:
    make(tmp_path / CONFIG_NAME)
    (tmp_path / "t.yaml").write_text(ROOT_TASK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = check(capsys, "t.yaml")
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert line.startswith(f"ecs-nonroot: error: {CONFIG_NAME}: cannot read: ") and expected in line


def test_a_configuration_file_with_a_byte_order_mark_is_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / CONFIG_NAME).write_bytes(b'\xef\xbb\xbf{"WarnOnly": ["missing-user"]}')
    (tmp_path / "t.yaml").write_text(MISSING_TASK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert check(capsys, "t.yaml")[0] == 0


def test_a_reader_that_stops_reading_ends_the_output_not_the_run(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(ROOT_TASK, encoding="utf-8")
    result = subprocess.run(
        f"'{Path(sys.executable).with_name('ecs-nonroot')}' check --format json '{path}' "
        '| head -c 1; echo " ${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "{ 1\n", result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_the_github_summary_is_shown_when_every_kind_is_full(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    containers = [{"Name": f"r{n}", "Image": "i", "User": "0"} for n in range(12)]
    containers += [{"Name": f"m{n}", "Image": "i"} for n in range(12)]
    containers += [{"Name": f"s{n}", "Image": "skip-me"} for n in range(12)]
    template = {
        "Resources": {
            "T": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": containers},
            }
        }
    }
    path = tmp_path / "many.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    arguments = ["--format", "github", "-v", "--exempt-image", "skip-me"]
    _, out, _ = check(capsys, str(path), *arguments, "--warn-only", "missing-user")
    assert "more findings than annotations" in out.splitlines()[0]


def test_sarif_gives_a_warn_only_rule_low_severity_and_the_warning_level(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(MISSING_TASK, encoding="utf-8")
    _, out, _ = check(capsys, str(path), "--format", "sarif", "--warn-only", "missing-user")
    run = json.loads(out)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert float(rules["missing-user"]["properties"]["security-severity"]) < 4.0
    assert rules["missing-user"]["defaultConfiguration"]["level"] == "warning"
    assert float(rules["root-user"]["properties"]["security-severity"]) >= 7.0
    assert [r["level"] for r in run["results"]] == ["warning"]
    assert rules["skipped-container"]["properties"] == {}  # not a security finding
