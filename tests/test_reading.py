"""What `ecs-nonroot check` reads, where it says things are, and how conditions are decided.

Fixture templates name their expected verdicts; lines that must carry a finding end in a
comment naming their task definition (YAML), so expected positions come from the text itself.
"""

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from guardrails_ecs_nonrootuser.cli import main
from guardrails_ecs_nonrootuser.loader import Located, PlainScalar, TemplateError, load
from guardrails_ecs_nonrootuser.scan import Options, check_file


def cfn_lint_reads(text: str) -> Any:
    """The template as cfn-lint's decoder reads it."""
    return cfn_yaml.loads(text)  # type: ignore[no-untyped-call]


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "templates"
CONDITIONS = FIXTURES / "conditions.yaml"
YAML_FORMS = FIXTURES / "yaml-forms.yaml"
JSON_FORMS = FIXTURES / "json-forms.json"


def report(path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["check", str(path), "--format", "json", *args])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def task_definitions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["logicalId"]: t for f in document["files"] for t in f["taskDefinitions"]}


@pytest.mark.parametrize("fixture", [CONDITIONS, YAML_FORMS, JSON_FORMS], ids=lambda p: p.name)
def test_verdicts_match_names_with_one_finding_per_failing_container(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = task_definitions(report(fixture, capsys=capsys))
    failing = {
        logical_id
        for logical_id, t in found.items()
        if any(f["level"] == "error" for f in t["findings"])
    }
    assert failing == {i for i in found if i.startswith(("Fail", "Unresolved"))}
    assert len(found) > 3
    for t in found.values():
        failed = [c for c in t["containers"] if c["verdict"] in ("FAIL", "UNRESOLVED")]
        errors = [f for f in t["findings"] if f["level"] == "error"]
        assert len(errors) == len(failed), t["logicalId"]
        assert {(f["line"], f["column"]) for f in errors} == {
            (c["line"], c["column"]) for c in failed
        }


def test_findings_are_where_the_text_says(capsys: pytest.CaptureFixture[str]) -> None:
    lines = YAML_FORMS.read_text(encoding="utf-8").split("\n")
    marked = {
        (number + 1, match.group(1))
        for number, line in enumerate(lines)
        if (match := re.search(r"# (\w+)$", line))
    }
    findings = [
        (f["line"], f["column"], t["logicalId"])
        for t in task_definitions(report(YAML_FORMS, capsys=capsys)).values()
        for f in t["findings"]
    ]
    assert {(line, logical_id) for line, _, logical_id in findings} == marked
    for line, column, _ in findings:
        assert lines[line - 1][column - 1 :].startswith(("User:", "Name:", "{", "<<:"))


def test_json_findings_point_at_the_user_key_or_the_brace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = JSON_FORMS.read_text(encoding="utf-8")
    lines = text.split("\n")
    found = task_definitions(report(JSON_FORMS, capsys=capsys))
    at = {
        (t["logicalId"], c["index"]): lines[c["line"] - 1][c["column"] - 1 :]
        for t in found.values()
        for c in t["containers"]
    }
    assert at[("FailJsonAfterEscapes", 1)].startswith('"User": "0:1000"')
    assert at[("FailJsonMinified", 1)].startswith('"User":"+0"')
    assert at[("FailJsonMissingUser", 0)] == "{"
    # the finding's line is the one a line-feed count gives, whatever escapes come before
    assert found["FailJsonAfterEscapes"]["findings"][0]["line"] == (
        text[: text.index('"User": "0:1000"')].count("\n") + 1
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: "\ufeff" + t, id="byte-order-mark"),
        pytest.param(
            lambda t: t.replace('DoubleQuoted: "double quoted', 'DoubleQuoted: "dou\u2028ble\x85'),
            id="yaml-1.1-line-breaks-in-a-scalar",
        ),
    ],
)
def test_positions_do_not_move_with_line_ends_or_a_byte_order_mark(change: Any) -> None:
    def positions(data: bytes) -> list[tuple[int, int]]:
        result = check_file("t", data, Options())
        assert result.status == "checked", result.note
        return [(f.line, f.column) for t in result.task_definitions for f in t.findings]

    text = YAML_FORMS.read_text(encoding="utf-8")
    assert positions(change(text).encode("utf-8")) == positions(text.encode("utf-8"))


def test_optional_container_is_reported_with_its_condition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = task_definitions(report(CONDITIONS, capsys=capsys))
    (finding,) = found["FailOptionalProxyWithoutUser"]["findings"]
    assert 'container "proxy" (#1), when HasProxy is true, User not set' in finding["message"]
    assert [c.get("condition", "") for c in found["PassOptionalProxyWithUser"]["containers"]] == [
        "",
        "HasProxy is true",
    ]


def test_user_from_a_branch_names_the_branch(capsys: pytest.CaptureFixture[str]) -> None:
    found = task_definitions(report(CONDITIONS, capsys=capsys))
    (finding,) = found["FailUserFromFalseBranch"]["findings"]
    assert ", when IsProd is false, User not set" in finding["message"]
    (finding,) = found["FailPlatformFromConditionLinuxRoot"]["findings"]
    assert ", when IsWindows is false, User" in finding["message"]


def test_a_condition_that_does_not_change_the_verdict_is_not_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = task_definitions(report(YAML_FORMS, capsys=capsys))
    assert all("when" not in f["message"] for t in found.values() for f in t["findings"])


def test_a_container_after_an_optional_one_is_reported_once_where_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = CONDITIONS.read_text(encoding="utf-8").split("\n")
    found = task_definitions(report(CONDITIONS, capsys=capsys))["FailRootAfterOptionalContainer"]
    (finding,) = found["findings"]
    assert finding["container"] == 1
    assert lines[finding["line"] - 1].strip() == 'User: "0"'
    assert [c["verdict"] for c in found["containers"]] == ["PASS", "FAIL"]


def test_warn_downgrades_only_what_is_unknown_offline(capsys: pytest.CaptureFixture[str]) -> None:
    found = task_definitions(report(CONDITIONS, "--unresolved", "warn", capsys=capsys))
    levels = {logical_id: {f["level"] for f in t["findings"]} for logical_id, t in found.items()}
    assert levels["UnresolvedPlatformDecides"] == {"warning"}
    assert levels["FailTooManyConditions"] == {"error"}  # a limit of the check, not unknowable
    assert levels["FailFindInMapKeysMissing"] == {"error"}  # CloudFormation would fail it
    assert levels["FailUnresolvedPlatformFailsOnBoth"] == {"error"}  # fails on either platform


@pytest.mark.parametrize(
    ("user", "fix"),
    [
        pytest.param("!ImportValue shared-user", "use a literal", id="import-value"),
        pytest.param("!GetAtt Settings.Value", "use a literal", id="get-att"),
        pytest.param("!Ref NoDefault", "--parameter NoDefault=VALUE", id="parameter"),
        pytest.param(
            "!FindInMap [Users, !Ref AWS::Region, App]", "--parameter AWS::Region", id="pseudo"
        ),
    ],
)
def test_the_fix_for_an_unresolved_user_is_one_that_can_work(user: str, fix: str) -> None:
    template = (
        "Parameters: {NoDefault: {Type: String}}\n"
        "Mappings: {Users: {eu-west-1: {App: '1000'}}}\n"
        "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        f"      ContainerDefinitions: [{{Name: a, User: {user}}}]\n"
    )
    result = check_file("t.yaml", template.encode(), Options())
    (finding,) = result.task_definitions[0].findings
    fixes = finding.message.partition("Fix: ")[2]
    assert fix in fixes
    assert ("--parameter" in fixes) == ("--parameter" in fix)


# YAML as PyYAML reads it (configured as cfn-lint configures it): every value the same.
YAML_VALUES = [
    ("literal-block", "|\n    1000:\n    1000\n"),
    ("literal-strip", "|-\n    1000\n"),
    ("folded", ">\n    10\n    00\n\n    x\n"),
    ("folded-more-indented", ">\n    a\n      b\n    c\n"),
    ("plain-multiline", "10\n    00"),
    ("double-quoted-escapes", '"\\x31\\u0030\\U00000030\\t\\N\\_\\L\\P\\/"'),
    ("double-quoted-line-continuation", '"10\\\n    00"'),
    ("double-quoted-folding", '"10\n\n    00"'),
    ("single-quoted", "'it''s\n\n    here'"),
    ("explicit-string-tag", "!!str 0"),
    ("tagged-sub", "!Sub '${AWS::Region}'"),
    ("anchor", "&u '1000:1000'"),
    ("comment-after", "'1000' # comment"),
    ("tab-before-comment", "'1000'\t# comment"),
    ("unicode", '"\\u00e9t\\u00e9"'),
    ("empty", "''"),
]


@pytest.mark.parametrize(("name", "written"), YAML_VALUES, ids=[n for n, _ in YAML_VALUES])
def test_values_are_the_ones_cfn_lint_reads(name: str, written: str) -> None:
    indented = written.replace("\n    ", "\n" + " " * 12)  # deeper than the User key
    text = (
        "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        f"      ContainerDefinitions:\n        - Name: a\n          User: {indented}\n"
    )
    ours = load(text.encode("utf-8"))
    assert ours is not None
    (container,) = ours.task_definitions["T"].properties["ContainerDefinitions"]
    theirs = cfn_lint_reads(text)["Resources"]["T"]["Properties"]["ContainerDefinitions"][0]
    assert container["User"] == theirs["User"]


@pytest.mark.parametrize(
    ("written", "reading"),
    [
        ("1000:50", "a number"),
        ("0x0", "a number"),
        ("0o17", "a string"),  # YAML 1.2's octal is a string to YAML 1.1
        ("1.0e+3", "a floating-point number"),
        ("1e3", "a string"),  # YAML 1.1 floats have a dot
        ("yes", "a boolean"),
        ("2001-12-14", "a date"),
    ],
)
def test_plain_scalars_keep_their_text_and_say_how_yaml_11_reads_them(
    written: str, reading: str
) -> None:
    text = (
        "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        f"      ContainerDefinitions: [{{User: {written}}}]\n"
    )
    ours = load(text.encode("utf-8"))
    assert ours is not None
    user = ours.task_definitions["T"].properties["ContainerDefinitions"][0]["User"]
    assert user == written
    theirs = cfn_lint_reads(text)["Resources"]["T"]["Properties"]["ContainerDefinitions"][0]
    if reading == "a string":
        assert not isinstance(user, PlainScalar)
        assert theirs["User"] == written
    else:
        assert isinstance(user, PlainScalar)
        assert user.reading == reading
        assert not isinstance(theirs["User"], str)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "Resources:\n  T: {Type: AWS::ECS::TaskDefinition}\n  T: {Type: AWS::S3::Bucket}\n",
            'the key "T" is written twice in one mapping (lines 2 and 3)',
            id="repeated-logical-id",
        ),
        pytest.param(
            "Resources:\n  T:\n    Type: X\n    Properties: {[a, b]: c}\n",
            "a mapping key that is not a string (line 4)",
            id="sequence-as-key",
        ),
        pytest.param(
            "Resources:\n  T:\n    Type: X\n    Properties: {A: [!ImportValue Fn::Sub: x]}\n",
            "a mapping key that is not a string (line 4)",
            id="function-as-key",
        ),
        pytest.param(
            "a: 1\n---\nResources: {T: {Type: AWS::S3::Bucket}}\n",
            "2 YAML documents in one file",
            id="template-among-several-documents",
        ),
        pytest.param("Resources: {}\nx: *nowhere\n", "found undefined alias", id="undefined-alias"),
        pytest.param(
            '{"Resources": {"T": {"Type": "X", "A": "\\ud800"}, "T": {"Type": "Y"}}}',
            'the key "T" is written twice in one mapping (line 1, columns 16 and 51)',
            id="repeated-key-in-json-that-yaml-refuses",
        ),
    ],
)
def test_ambiguous_templates_are_unreadable(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(problem)):
        load(text.encode("utf-8"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            "      ContainerDefinitions: [{User: '1000', User: '0'}]\n  O: {Type: X}\n",
            'the key "User" is written twice in one mapping (line 5, columns 31 and 45)',
            id="repeated-user",
        ),
        pytest.param(
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            "      Tags: {a: 1, a: 2}\n  O: {Type: X}\n",
            'the key "a" is written twice in one mapping (line 5, columns 14 and 20)',
            id="repeated-key-anywhere-in-it",
        ),
        pytest.param(
            "base: &b {User: '1', User: '0'}\nResources:\n  T:\n    Type: AWS::ECS::TaskDefinition"
            "\n    Properties: {ContainerDefinitions: [*b]}\n",
            None,
            id="repeated-key-written-elsewhere-is-the-templates",
        ),
    ],
)
def test_a_key_written_twice_in_a_task_definition_is_its_problem(
    text: str, problem: str | None
) -> None:
    if problem is None:
        with pytest.raises(TemplateError, match="written twice"):
            load(text.encode("utf-8"))
        return
    template = load(text.encode("utf-8"))
    assert template is not None
    assert template.task_definitions["T"].problem == problem


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n", id="manifests"),
        pytest.param("kind: A\nkind: B\n", id="repeated-key-in-no-template"),
        pytest.param("metadata: {{{ .Values.name }}: x}\n", id="chart-template"),
        pytest.param("Resources: [a, b]\n", id="resources-not-a-mapping"),
        pytest.param("Resources:\n  A: {Properties: {}}\n", id="resources-without-types"),
    ],
)
def test_files_that_hold_no_template_are_skipped(text: str) -> None:
    assert load(text.encode("utf-8")) is None


def test_an_empty_resources_section_is_a_template() -> None:
    template = load(b"Parameters: {A: {Type: String}}\nResources: {}\n")
    assert template is not None
    assert template.task_definitions == {}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '{"Resources": {"T": {"Type": "X", "Properties": {"A": "\\ud800"}}}}',
            id="lone-surrogate-escape",
        ),
        pytest.param(
            '{"Resources": {"T": {"Type": "X", "Properties": {"A": "\x9b"}}}}', id="c1-control"
        ),
        pytest.param('{"Resources": {"T": {"Type": "X", "' + "k" * 1100 + '": 1}}}', id="long-key"),
    ],
)
def test_json_that_yaml_refuses_is_read_as_json(text: str) -> None:
    template = load(text.encode("utf-8"))
    assert template is not None


def test_json_read_as_json_keeps_positions() -> None:
    text = (
        '{"Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Description": "\\ud800",\n'
        ' "Properties": {"ContainerDefinitions": [\n  {"Name": "a", "User": "0"}]}}}}'
    )
    result = check_file("t.json", text.encode("utf-8"), Options())
    (finding,) = result.task_definitions[0].findings
    assert (finding.line, finding.column) == (3, 17)


def test_what_neither_yaml_nor_json_reads_reports_the_yaml_problem() -> None:
    with pytest.raises(TemplateError, match=r"not valid YAML or JSON: .*\(line 1, column"):
        load(b"{{ .Values.name }: [")


@pytest.mark.parametrize(
    "nesting",
    [
        pytest.param("[" * 30_000 + "]" * 30_000, id="flow-sequences"),
        pytest.param('{"a":' * 30_000 + "1" + "}" * 30_000, id="flow-mappings"),
        pytest.param("\n" + "- " * 30_000 + "x", id="block-sequences"),
    ],
)
def test_deep_nesting_is_refused_quickly_without_crashing(nesting: str) -> None:
    # libyaml's own composer needs about 330 bytes of C stack a level (30,000 levels crash the
    # interpreter) and its scanner's time grows with the square of the [ and { nesting
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="nested more than 256 levels deep"):
        load(f"Resources: {{}}\nMetadata: {nesting}\n".encode())
    assert time.perf_counter() - started < 1


def test_nesting_within_the_limit_is_read() -> None:
    assert load(("Resources: {}\nMetadata: " + "[" * 250 + "]" * 250 + "\n").encode())


def _containers(count: int) -> bytes:
    """A compact JSON template (as CDK writes it, minified) with ``count`` containers."""
    containers = [{"Name": f"c{i}", "User": str(1000 + i % 7)} for i in range(count)]
    properties = {"ContainerDefinitions": containers}
    resources = {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}}
    return json.dumps({"Resources": resources}, separators=(",", ":")).encode()


def test_time_grows_linearly_with_the_number_of_containers() -> None:
    def seconds(count: int) -> float:
        data = _containers(count)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            result = check_file("t.json", data, Options())
            best = min(best, time.perf_counter() - started)
        assert sum(len(t.containers) for t in result.task_definitions) == count
        return best

    small, large = seconds(5_000), seconds(40_000)
    assert large / small < 8 * 1.5, (small, large)  # 8 times the containers


def test_a_template_of_a_megabyte_with_40000_containers_in_seconds() -> None:
    # make bench measures it precisely (docs/benchmarks.md); this bound leaves room for noise
    data = _containers(40_000)
    assert len(data) > 1_000_000
    started = time.perf_counter()
    result = check_file("big.json", data, Options())
    elapsed = time.perf_counter() - started
    assert result.task_definitions[0].containers[-1].verdict == "PASS"
    assert elapsed < 4, f"{elapsed:.2f} s"


def test_located_mappings_know_their_own_keys_only() -> None:
    template = load(
        b"Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        b"      ContainerDefinitions:\n        - &a {User: '0'}\n"
        b"        - <<: *a\n          Name: b\n"
    )
    assert template is not None
    first, second = template.task_definitions["T"].properties["ContainerDefinitions"]
    assert isinstance(second, Located)
    assert second["User"] == "0"
    assert second.key_position("User") is None
    assert first.key_position("User") == (6, 15)
    assert second.start == (7, 11)
