"""`ecs-nonroot check` on templates and inputs written to make it pass root, crash, hang or print
what it should not. Each case is a fixture (tests/fixtures/hostile) or is generated here; each
names what the command must do instead: fail closed, stay bounded, escape what it prints."""

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hook_event import big_template, conditional_template, shared_value_template

from guardrails_ecs_nonrootuser import cli, scan
from guardrails_ecs_nonrootuser.cli import main
from guardrails_ecs_nonrootuser.resolve import MAX_TEXT
from guardrails_ecs_nonrootuser.scan import INVALID_TASK_DEFINITION, UNRESOLVED_VALUE

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
TASK = """Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: app
          User: {user}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def findings(output: str) -> dict[str, set[str]]:
    """Logical id -> the rules of its error findings, from JSON output."""
    document = json.loads(output)
    return {
        t["logicalId"]: {f["rule"] for f in t["findings"] if f["level"] == "error"}
        for f in document["files"]
        for t in f["taskDefinitions"]
    }


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param(
            "select-index-not-ascii.yaml",
            {
                "FailArabicIndicDigit": {INVALID_TASK_DEFINITION},
                "FailSuperscriptDigit": {INVALID_TASK_DEFINITION},
            },
            id="select-index-not-ascii",
        ),
        pytest.param(
            "findinmap-self.yaml",
            {"FailFindInMapOfItself": {INVALID_TASK_DEFINITION}},
            id="findinmap-refers-to-itself",
        ),
        pytest.param(
            "condition-graph.yaml",
            {"FailUnderDeepCondition": {"root-user"}},
            id="conditions-referring-to-each-other-twice-40-deep",
        ),
        pytest.param("noecho.yaml", {"FailNoEchoUser": {"root-user"}}, id="noecho-parameters"),
        pytest.param(
            "duplicate-keys.yaml",
            {
                "FailUserWrittenTwice": {INVALID_TASK_DEFINITION},
                "FailContainerDefinitionsWrittenTwice": {INVALID_TASK_DEFINITION},
                "FailPropertiesWrittenTwice": {INVALID_TASK_DEFINITION},
                "FailKeyWrittenTwiceInFlowMapping": {INVALID_TASK_DEFINITION},
                "PassWrittenOnce": set(),
            },
            id="duplicate-keys-in-task-definitions",
        ),
        pytest.param(
            "yaml11-integers.yaml",
            {
                **{
                    f"Fail{case}": {"root-user"}
                    for case in (
                        "HexLiteral",
                        "BinaryLiteral",
                        "UnderscoreLiteral",
                        "SignedHexLiteral",
                        "ThroughParameterDefault",
                        "ThroughSub",
                        "ThroughJoin",
                        "ThroughFindInMap",
                    )
                },
                # as written, 0x1 is no index CloudFormation takes; as YAML 1.1 reads it, 1
                "FailThroughSelectIndex": {INVALID_TASK_DEFINITION},
                "FailThroughFindInMapIndex": {INVALID_TASK_DEFINITION},
                "PassBase60": set(),
                "PassQuoted": set(),
                "PassNotAnIntegerToYaml11": set(),
            },
            id="yaml11-integers-as-written-and-as-read",
        ),
        pytest.param(
            "foreach.yaml",
            {
                "Failapi": {"root-user"},
                "Failworker": {"root-user"},
                "Task1000": set(),
                "Task0": {"root-user"},
                **{f"Nested{a}{b}": set() for a in "AB" for b in "12"},
                "Teamknown": set(),  # found in Mappings
                "Teamunknown": {"root-user"},  # the DefaultValue
                "KindTaskDefinition": {"root-user"},  # its Type named the identifier
            },
            id="foreach-expanded",
        ),
        pytest.param(
            "transforms.yaml",
            {
                "FailPropertiesFromInclude": {UNRESOLVED_VALUE},
                "FailContainerWithMacroKey": {UNRESOLVED_VALUE},
            },
            id="transforms-not-seen-offline",
        ),
        pytest.param(
            "dynamic-references.yaml",
            {
                **{
                    f"Fail{case}": {UNRESOLVED_VALUE}
                    for case in (
                        "SsmReference",
                        "SecretInsideText",
                        "BuiltBySub",
                        "FromMappings",
                        "ChangeSetPlaceholder",
                    )
                },
                "PassReferenceElsewhere": set(),
            },
            id="dynamic-references",
        ),
        pytest.param(
            "merge-keys.yaml",
            {
                "FailMergedRootUser": {"root-user"},
                "PassWrittenKeyWinsOverMerged": set(),
                "FailWrittenRootWinsOverMerged": {"root-user"},
                "FailEarlierMergedWins": {"root-user"},
                "PassEarlierMergedWins": set(),
                "FailMergedThroughAMergedMapping": {"root-user"},
            },
            id="merge-keys",
        ),
        pytest.param(
            "duplicate-keys.json",
            {"FailUserWrittenTwice": {INVALID_TASK_DEFINITION}, "PassWrittenOnce": set()},
            id="duplicate-keys-in-json",
        ),
    ],
)
def test_fixture_fails_closed_with_the_named_rules(
    capsys: pytest.CaptureFixture[str], fixture: str, expected: dict[str, set[str]]
) -> None:
    code, out, err = run(capsys, "--format", "json", str(HOSTILE / fixture))
    assert (code, err) == (1, "")
    assert findings(out) == expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param(
            "foreach.yaml",
            [
                ("Fn::ForEach::FromUnknown", UNRESOLVED_VALUE, "parameter Unknown has no Default"),
                ("Fn::ForEach::Secrets", UNRESOLVED_VALUE, "a NoEcho parameter's value"),
            ],
            id="foreach-over-a-parameter-without-value",
        ),
        pytest.param(
            "transforms.yaml",
            [
                ("Transform", UNRESOLVED_VALUE, "the transform Acme::Macro can add"),
                ("Transform", UNRESOLVED_VALUE, "the transform AWS::Include can add"),
                ("Transform", UNRESOLVED_VALUE, "the module Acme::ECS::Service::MODULE can add"),
            ],
            id="macro-include-and-module",
        ),
    ],
)
def test_what_cannot_be_seen_offline_is_a_finding_about_the_template(
    capsys: pytest.CaptureFixture[str], fixture: str, expected: list[tuple[str, str, str]]
) -> None:
    code, out, _ = run(capsys, "--format", "json", str(HOSTILE / fixture))
    assert code == 1
    (file,) = json.loads(out)["files"]
    found = [(f["rule"], f["level"], f["message"]) for f in file["findings"]]
    assert len(found) == len(expected)
    for (rule, level, message), (_, want_rule, want_text) in zip(found, expected, strict=True):
        assert (rule, level) == (want_rule, "error") and want_text in message
    code, out, _ = run(capsys, "--unresolved", "warn", "--format", "json", str(HOSTILE / fixture))
    assert {f["level"] for f in json.loads(out)["files"][0]["findings"]} == {"warning"}


@pytest.mark.parametrize(
    ("fixture", "problem"),
    [
        pytest.param(
            "duplicate-logical-id.yaml",
            'the key "Task" is written twice in one mapping (lines 3 and 8)',
            id="duplicate-logical-id",
        ),
        pytest.param(
            "undefined-alias.yaml",
            "not valid YAML or JSON: found undefined alias 'user' (line 7, column 41)",
            id="undefined-alias",
        ),
        pytest.param(
            "undefined-alias-with-anchor.yaml",
            "not valid YAML or JSON: found undefined alias 'user' (line 9, column 41)",
            id="undefined-alias-in-a-file-with-an-anchor",
        ),
        pytest.param(
            "duplicate-parameter-default.yaml",
            'the key "Default" is written twice in one mapping (lines 5 and 6)',
            id="duplicate-parameter-default",
        ),
    ],
)
def test_fixture_is_unreadable(
    capsys: pytest.CaptureFixture[str], fixture: str, problem: str
) -> None:
    code, out, err = run(capsys, "--format", "json", str(HOSTILE / fixture))
    assert (code, err) == (2, "")
    assert json.loads(out)["files"][0]["note"] == f"cannot read: {problem}"


def test_merge_keys_resolve_as_a_yaml_1_1_loader_does() -> None:
    """The fixture's verdicts are PyYAML's reading (what aws cloudformation package uses)."""
    document = yaml.safe_load((HOSTILE / "merge-keys.yaml").read_text(encoding="utf-8"))
    users = {
        logical_id: resource["Properties"]["ContainerDefinitions"][0]["User"]
        for logical_id, resource in document["Resources"].items()
    }
    assert {key for key, user in users.items() if user == "0"} == {
        key for key in users if key.startswith("Fail")
    }


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def select_with_index(index: str) -> str:
    return TASK.format(user=f'!Select ["{index}", ["1000", "0"]]')


def nested_sub(levels: int) -> str:
    """Each level uses the one inside twice: 2**levels characters if it were built."""
    value = '"0"'
    for _ in range(levels):
        value = f'!Sub ["${{a}}${{a}}", {{a: {value}}}]'
    return TASK.format(user=value)


def nested_mappings(levels: int) -> str:
    """Mapping values that join two lookups of the one before (not allowed in Mappings)."""
    rows = ["Mappings:", "  M:", "    K0: {V: '0'}"]
    rows += [
        f"    K{i}: {{V: !Join ['', [!FindInMap [M, K{i - 1}, V], !FindInMap [M, K{i - 1}, V]]]}}"
        for i in range(1, levels)
    ]
    return "\n".join(rows) + "\n" + TASK.format(user=f"!FindInMap [M, K{levels - 1}, V]")


def condition_chain(length: int) -> str:
    rows = [
        "Parameters:",
        "  E: {Type: String, Default: a}",
        "Conditions:",
        "  C0: !Equals [!Ref E, a]",
    ]
    rows += [f"  C{i}: !Not [!Condition C{i - 1}]" for i in range(1, length)]
    return "\n".join(rows) + "\n" + TASK.format(user=f'!If [C{length - 1}, "0", "1000"]')


def alias_bomb(where: str) -> str:
    rows = ['  x0: &a0 ["0", "0", "0", "0", "0", "0", "0", "0", "0"]']
    rows += [f"  x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    user = "!Join ['', *a9]" if where == "user" else '"1000"'
    return "Metadata:\n" + "\n".join(rows) + "\n" + TASK.format(user=user)


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [
        pytest.param(
            select_with_index("9" * 5000), 1, INVALID_TASK_DEFINITION, id="select-5000-digit-index"
        ),
        pytest.param(select_with_index(""), 1, INVALID_TASK_DEFINITION, id="select-empty-index"),
        pytest.param(nested_sub(120), 1, UNRESOLVED_VALUE, id="sub-nested-doubling-120-levels"),
        pytest.param(nested_mappings(80), 1, INVALID_TASK_DEFINITION, id="mappings-nested-lookups"),
        pytest.param(
            condition_chain(3000), 2, "its values refer too deeply", id="condition-chain-3000"
        ),
        pytest.param(
            alias_bomb("user"), 2, "values once YAML aliases are expanded", id="alias-bomb-used"
        ),
        pytest.param(alias_bomb("metadata"), 0, "", id="alias-bomb-unused-in-metadata"),
        pytest.param(
            "# AWS::ECS::TaskDefinition\n" + "[" * 100_000,
            2,
            "nested more than 256 levels",
            id="nesting-100000",
        ),
        pytest.param("[" * 100_000, 0, "", id="nesting-100000-no-task-definition-in-it"),
    ],
)
def test_generated_hostile_template_is_decided_quickly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, code: int, expected: str
) -> None:
    path = write(tmp_path, "template.yaml", text)
    started = time.perf_counter()
    result, out, err = run(capsys, "--format", "json", path)
    assert time.perf_counter() - started < 5
    assert (result, err) == (code, "")
    document = json.loads(out)
    if code == 1:
        assert findings(out) == {"Task": {expected}}
    elif code == 2:
        assert expected in document["files"][0]["note"]


def test_sub_never_builds_text_longer_than_its_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    levels = MAX_TEXT.bit_length() - 1  # 2**levels == MAX_TEXT: just within the limit
    code, out, _ = run(capsys, write(tmp_path, "within.yaml", nested_sub(levels)))
    assert code == 1 and "uid 0 is root" in out  # a million zeros are uid 0
    code, out, _ = run(capsys, write(tmp_path, "beyond.yaml", nested_sub(levels + 1)))
    assert code == 1 and f"longer than {MAX_TEXT:,} characters" in out


def output_lines(capsys: pytest.CaptureFixture[str], path: str, form: str) -> str:
    code, out, err = run(capsys, "--format", form, path)
    assert code == 1 and err == ""
    return out


def test_text_output_escapes_everything_a_template_writes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile_name = tmp_path / "::error file=x::named\x1b[2K\u202e.yaml"
    hostile_name.write_bytes((HOSTILE / "injection.yaml").read_bytes())
    for path in (str(HOSTILE / "injection.yaml"), str(hostile_name)):
        out = output_lines(capsys, path, "text")
        lines = out.splitlines()
        assert len(lines) == 3  # two findings and the summary: nothing added a line
        for line in lines[:-1]:
            assert line.isprintable()
            assert not line.startswith("::")
            assert line.startswith((path, '"'))
        assert "\x1b" not in out and "\u202e" not in out and "\u2028" not in out
        assert re.search(r'"Task\\x0a::error file=a\.yaml::injected\\x1b\[2K\\u202e"', out)


@pytest.mark.parametrize("form", ["json", "sarif"])
def test_json_and_sarif_are_ascii_with_every_control_escaped(
    capsys: pytest.CaptureFixture[str], form: str
) -> None:
    out = output_lines(capsys, str(HOSTILE / "injection.yaml"), form)
    assert out.isascii()
    document = json.loads(out)
    if form == "json":
        (logical_id,) = findings(out)
    else:
        result = document["runs"][0]["results"][0]
        logical_id = result["locations"][0]["logicalLocations"][0]["name"]
    assert logical_id == "Task\n::error file=a.yaml::injected\x1b[2K\u202e"  # the data, exactly


def test_a_lone_surrogate_logical_id_is_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = {
        "Resources": {
            "Task\ud800": json.loads(
                json.dumps(
                    {
                        "Type": "AWS::ECS::TaskDefinition",
                        "Properties": {
                            "ContainerDefinitions": [{"Name": "a", "Image": "a", "User": "0"}]
                        },
                    }
                )
            )
        }
    }
    path = write(tmp_path, "template.json", json.dumps(template))
    for form in ("json", "sarif", "text"):
        out = output_lines(capsys, path, form)
        assert out.isascii() or form == "text"
        assert "\\ud800" in out


@pytest.mark.parametrize("form", ["text", "json", "sarif"])
def test_noecho_values_never_appear(capsys: pytest.CaptureFixture[str], form: str) -> None:
    out = output_lines(capsys, str(HOSTILE / "noecho.yaml"), form)
    assert "NOECHO-SECRET" not in out
    shown = out.count("the value of a NoEcho parameter, not shown")
    assert shown == (6 if form == "json" else 3)  # JSON: in each finding's summary and message


def test_only_regular_files_are_read_and_links_are_followed_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "task.yaml", TASK.format(user='"0"'))
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "linked").symlink_to(tmp_path / "sub", target_is_directory=True)
    code, out, err = run(capsys, "--format", "json", str(tmp_path))
    files = {Path(f["path"]).relative_to(tmp_path).as_posix(): f for f in json.loads(out)["files"]}
    assert (code, err) == (1, "")
    assert set(files) == {"fifo.yaml", "linked/task.yaml"}  # sub/ was reached through linked/
    assert files["fifo.yaml"]["status"] == "skipped"
    assert "FIFO" in files["fifo.yaml"]["note"]
    code, out, err = run(capsys, str(tmp_path / "fifo.yaml"))
    assert (code, err) == (0, "") and "not a regular file" in out


def test_an_unreadable_directory_is_an_error_and_the_rest_is_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "task.yaml", TASK.format(user='"1000"'))
    (tmp_path / "locked").mkdir()
    scandir = os.scandir

    def refuse(path: Any) -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 2
    assert "locked: error: cannot read directory: Permission denied" in out
    assert "task.yaml: OK" in out


def test_a_crash_checking_one_file_is_its_error_and_the_rest_is_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "a.yaml", "# crash\n" + TASK.format(user='"1000"'))
    write(tmp_path, "b.yaml", TASK.format(user='"1000"'))
    load = scan.load  # type: ignore[attr-defined]

    def crash_on_a(data: bytes) -> Any:
        if data.startswith(b"# crash"):
            raise KeyError("secret")
        return load(data)

    monkeypatch.setattr(scan, "load", crash_on_a)
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 2
    assert "a.yaml: error: cannot check: internal error (KeyError)" in out
    assert "b.yaml: OK" in out and "secret" not in out


def test_a_process_that_dies_checking_one_file_ends_only_that_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(cli.PARALLEL_FROM + 4):
        write(tmp_path, f"t{number:02}.yaml", TASK.format(user='"1000"'))
    write(tmp_path, "t05.yaml", "# die\n" + TASK.format(user='"1000"'))
    load = scan.load  # type: ignore[attr-defined]

    def die_on_marker(data: bytes) -> Any:
        if data.startswith(b"# die"):
            os._exit(70)  # as a crash or the kernel's OOM killer ends a process
        return load(data)

    monkeypatch.setattr(scan, "load", die_on_marker)  # the forked workers inherit it
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # in parallel even on one core
    code, out, _ = run(capsys, "--jobs", "2", str(tmp_path))
    assert code == 2
    assert "t05.yaml: error: cannot check: the process checking it ended abruptly" in out
    assert out.count(": OK (") == cli.PARALLEL_FROM + 3


def test_files_larger_than_the_limit_are_not_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "MAX_BYTES", 1000)
    path = write(tmp_path, "big.yaml", TASK.format(user='"1000"') + "#" * 1000)
    code, out, _ = run(capsys, path)
    assert code == 2 and "larger than 1,000 bytes" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--jobs", "0"], "--jobs: wants a whole number", id="jobs-zero"),
        pytest.param(["--jobs", "99999"], "--jobs: wants a whole number", id="jobs-99999"),
        pytest.param(
            ["--config", str(HOSTILE / "config-list.json")], "not a JSON object", id="config-list"
        ),
        pytest.param(
            ["--exempt-image", "*"],
            'ExemptImages[0] "*" matches every container',
            id="exempt-every-image",
        ),
        pytest.param(
            ["--exempt-container-name", "?*"],
            'ExemptContainerNames[0] "?*" matches every container',
            id="exempt-every-name",
        ),
    ],
)
def test_misuse_is_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    try:
        code = main(["check", *args, str(HOSTILE / "noecho.yaml")])
    except SystemExit as exit_:  # argparse's own refusal
        code = int(str(exit_.code))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_many_jobs_are_capped_at_the_cores(tmp_path: Path) -> None:
    for number in range(40):
        write(tmp_path, f"t{number}.yaml", TASK.format(user='"1000"'))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "guardrails_ecs_nonrootuser",
            "check",
            "--jobs",
            "2000",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "40 templates checked" in result.stdout


def test_a_number_yaml11_reads_differently_is_named_as_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, str(HOSTILE / "yaml11-integers.yaml"))
    assert code == 1
    line = next(line for line in out.splitlines() if "FailThroughSub" in line)
    assert "when unquoted integers are read as YAML 1.1 loaders read them" in line
    assert 'User "0:1000" from Fn::Sub: uid 0 is root' in line
    note = next(line for line in out.splitlines() if "PassBase60" in line)
    assert "YAML 1.1 reads the number 60050" in note
    code, out, _ = run(capsys, "--verbose", str(HOSTILE / "yaml11-integers.yaml"))
    note = out.split("PassBase60", 1)[1].splitlines()[1]
    assert "read it as the number 60050" in note and "both as written and as that number" in note


def test_exempting_everything_takes_the_explicit_opt_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--exempt-image", "*", "--allow-match-all-exemptions", str(HOSTILE / "noecho.yaml")]
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "") and "OK (1 task definition, 3 containers)" in out


def test_conditions_are_compared_under_every_reading_a_yaml_loader_gives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``!Equals [0x10, "16"]`` is false as written and true once a YAML 1.1 loader has read it:
    the container gets its worst verdict over both; quoted, only the text counts. The stack
    layer, which cannot know which reading CloudFormation gets, leaves it to the resource
    layer."""
    path = HOSTILE / "condition-readings.yaml"
    code, out, _ = run(capsys, "--format", "json", str(path))
    assert code == 1
    verdicts = {
        t["logicalId"]: {c["verdict"] for c in t["containers"]}
        for t in json.loads(out)["files"][0]["taskDefinitions"]
    }
    assert verdicts == {
        **{logical_id: {"FAIL"} for logical_id in verdicts if logical_id.startswith("Fail")},
        "PassQuotedText": {"PASS"},
    }
    assert len(verdicts) == 12
    from guardrails_ecs_nonrootuser import stack
    from guardrails_ecs_nonrootuser.policy import Settings

    outcome = stack.check_stack({"template": path.read_text(encoding="utf-8")}, Settings())
    assert not outcome.failed
    assert {(i.logical_id, i.status) for i in outcome.items} == {
        (logical_id, stack.UNVERIFIED) for logical_id in verdicts if logical_id != "PassQuotedText"
    }


GIB = 1 << 30
BYTE_COST = 100
VALUE_COST = 160
HELD_COST = 64 << 20
"""Texts built and held until decided: ``scan.HELD_TEXT`` characters, and those in hand."""


def run_bounded(path: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The command on ``path`` in a process of its own limited to 1 GiB, and how long it took."""
    started = time.monotonic()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("ecs-nonroot")),
            "check",
            "--no-config",
            *args,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB)),
    )
    return time.monotonic() - started, result


@pytest.mark.parametrize(
    ("kind", "size", "tasks"),
    [
        pytest.param("alias", 600_000, 500, id="alias-of-600-kb-by-5000-containers"),
        pytest.param("join", 900_000, 500, id="join-of-900-kb-lookups-by-5000-containers"),
        pytest.param("split", 600_000, 500, id="split-of-600-kb-by-5000-containers"),
    ],
)
def test_a_value_shared_by_every_container_is_decided_within_10_s_and_1_gib(
    tmp_path: Path, kind: str, size: int, tasks: int
) -> None:
    """The command decides a large value once however many containers share it, and keeps no
    copy of it per container."""
    path = tmp_path / "shared.yaml"
    path.write_text(shared_value_template(kind, size, tasks), encoding="utf-8")
    elapsed, result = run_bounded(path)
    assert elapsed < 10
    assert result.returncode == 1, result.stderr
    assert f"{tasks * 10} errors" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("shape", "user", "tasks"),
    [
        pytest.param("chain", "1000", 500, id="7-ways-by-5000-containers-all-decided"),
        pytest.param("chain", "1000", 2000, id="7-ways-by-20000-containers"),
        pytest.param("tree", "0", 500, id="64-ways-by-5000-containers"),
        pytest.param("tree", "1000", 500, id="64-ways-by-5000-containers-passing"),
    ],
)
def test_nested_conditions_aliased_into_every_container_are_decided_within_10_s_and_1_gib(
    tmp_path: Path, shape: str, user: str, tasks: int
) -> None:
    """Six nested Fn::If over six conditions, one YAML alias in every container: each way the
    branches can be chosen is decided once (seven for a chain, not 64 cases), a verdict once
    for what many ways and containers resolve to; what is beyond the step budget fails closed,
    by name, and the budget is reached within the time."""
    path = tmp_path / "conditions.yaml"
    path.write_text(conditional_template(shape, user, tasks), encoding="utf-8")
    elapsed, result = run_bounded(path, "--format", "json")
    assert elapsed < 10, elapsed
    verdicts = findings(result.stdout)
    assert len(verdicts) == tasks
    over_budget = {i for i, rules in verdicts.items() if rules == {UNRESOLVED_VALUE}}
    if (shape, tasks) == ("chain", 500):  # as many containers as a template can hold: decided
        assert result.returncode == 0 and not any(verdicts.values())
        return
    assert result.returncode == 1
    assert over_budget, "the step budget was not reached: the case no longer tests it"
    decided = {rule for rules in verdicts.values() for rule in rules} - {UNRESOLVED_VALUE}
    assert decided == ({"root-user"} if user == "0" else set())
    assert "more than 5,000,000 steps" in result.stdout


def test_a_file_larger_than_a_template_is_read_only_if_it_could_hold_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "MAX_TEMPLATE_BYTES", 1000)
    template = write(tmp_path, "big.yaml", TASK.format(user='"1000"') + "#" * 1000)
    data = write(tmp_path, "data.json", json.dumps({"items": ["x" * 100] * 20}))
    small = write(tmp_path, "small.yaml", TASK.format(user='"0"'))
    code, out, _ = run(capsys, "-v", template, data, small)
    assert code == 2
    assert f"{template}: error: cannot read: larger than 1,000 bytes" in out
    assert f"{data}: skipped: not a CloudFormation template (larger than 1,000 bytes, no" in out
    assert f"{small}:8:11: error [root-user]" in out


PEAK_MEMORY = """
import resource, sys
from guardrails_ecs_nonrootuser import cli
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    cli.main(["check", "--no-config", "-q", "--jobs", "1", sys.argv[1]])
except SystemExit:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def values_read(text: str) -> int:
    """How many values a YAML loader builds from ``text``, its aliases expanded (counted here
    with PyYAML, apart from the command's own reader)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            if isinstance(node, yaml.SequenceNode):
                sizes[id(node)] = 1 + sum(size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                sizes[id(node)] = 1 + sum(1 + size(item) for _, item in node.value)
            else:
                sizes[id(node)] = 1
        return sizes[id(node)]

    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert root is not None
    return size(root)


def many_values_by_alias() -> str:
    items = ", ".join(['"1000"'] * 1000)
    lines = ["Mappings:", f"  M: {{k: {{v: &l [{items}]}}}}", "Resources:"]
    for task in range(95):
        lines += [f"  T{task}:", "    Type: AWS::ECS::TaskDefinition", "    Properties:"]
        lines.append("      ContainerDefinitions:")
        lines += [
            f'        - {{Name: c{n}, Image: i, User: "1000", Command: *l}}' for n in range(10)
        ]
    return "\n".join(lines) + "\n"


def doubling_sub(levels: int) -> str:
    """An Fn::Sub that builds a text of 2 ** ``levels`` characters from a 1-character one."""
    text = '"x"'
    for _ in range(levels):
        text = f'!Sub ["${{a}}${{a}}", {{a: {text}}}]'
    return text


def built_texts(containers: int, conditional: bool) -> str:
    """Containers whose Command holds a 1 MiB text each builds anew (an alias of a doubling
    Fn::Sub); ``conditional``: one container, its Command also holding six Fn::If, the same
    text in each of its 64 ways."""
    lines = ["Parameters:", "  P: {Type: String}", "Conditions:"]
    lines += [f"  C{i}: !Equals [!Ref P, '{i}']" for i in range(6)]
    lines += ["Resources:", "  T:", "    Type: AWS::ECS::TaskDefinition", "    Properties:"]
    lines.append("      ContainerDefinitions:")
    if conditional:
        ifs = ", ".join(f"!If [C{i}, a, b]" for i in range(6))
        command = f"[{ifs}, &big {doubling_sub(20)}, {', '.join(['*big'] * 19)}]"
        lines.append(f'        - {{Name: a, Image: x, User: "1000:1000", Command: {command}}}')
    else:
        lines.append(
            f'        - {{Name: c, Image: x, User: "1000", Command: [&big {doubling_sub(20)}]}}'
        )
        lines += ['        - {Name: c, Image: x, User: "1000", Command: [*big]}'] * (containers - 1)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "generate",
    [
        pytest.param(lambda: built_texts(1200, False), id="1200-texts-of-1-mib-built"),
        pytest.param(lambda: built_texts(1, True), id="64-ways-of-20-texts-of-1-mib-built"),
        pytest.param(lambda: big_template(cli.MAX_TEMPLATE_BYTES - 1000, False), id="4-mib-json"),
        pytest.param(lambda: big_template(cli.MAX_TEMPLATE_BYTES - 1000, True), id="4-mib-yaml"),
        pytest.param(many_values_by_alias, id="950000-values-by-alias"),
        pytest.param(lambda: conditional_template("tree", "0", 500), id="nested-conditions"),
        pytest.param(lambda: shared_value_template("join", 450_000, 500), id="join-of-lookups"),
        pytest.param(lambda: shared_value_template("split", 600_000, 500), id="split-of-lookup"),
    ],
)
def test_peak_memory_is_within_the_documented_multiple_of_what_is_read(
    tmp_path: Path, generate: Any
) -> None:
    """docs/hardening.md: beyond the interpreter's own, checking a template takes at most
    ``BYTE_COST`` bytes per byte of it plus ``VALUE_COST`` per value read, aliases expanded,
    plus ``HELD_COST`` for texts built and not yet decided."""
    text = generate()
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    peak = int(result.stdout.split()[-1]) * 1024
    size, values = len(text.encode()), values_read(text)
    assert values <= 1_000_000 and size <= cli.MAX_TEMPLATE_BYTES
    assert peak <= BYTE_COST * size + VALUE_COST * values + HELD_COST, (peak, size, values)
    assert BYTE_COST * cli.MAX_TEMPLATE_BYTES + VALUE_COST * 1_000_000 + HELD_COST < 640 << 20
