"""Generated templates through `ecs-nonroot check`, in-process and as the command: random
structure, intrinsic functions, parameters, mappings and conditions, written as JSON and as YAML
(short-form tags, anchors, aliases and merge keys, unquoted YAML 1.1 numbers, hostile text).

Whatever the template, the command never shows a traceback, exits 0, 1 or 2 as documented,
prints only escaped text, and stays within time and memory; and a task definition whose User is
root is never passed, whatever is written around it. The readers agree: JSON read by JSON's rules
as by YAML's, and YAML read by PyYAML's pure-Python parser (the Lambda package's) as by libyaml,
or refused by it."""

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails_ecs_nonrootuser import loader
from guardrails_ecs_nonrootuser.report import exit_code, render_json, render_sarif, render_text
from guardrails_ecs_nonrootuser.scan import FileReport, Options, check_file

TASK_DEFINITION = "AWS::ECS::TaskDefinition"
ROOT_TASK = {
    "Type": TASK_DEFINITION,
    "Properties": {"ContainerDefinitions": [{"Name": "root", "Image": "app", "User": "0"}]},
}

HOSTILE_TEXT = [
    "0",
    "00",
    "0x0",
    "1000:0",
    ":1000",
    "root",
    "nonroot",
    "1000",
    "${AWS::Region}",
    "${P}",
    "${!Literal}",
    "::error file=a::b",
    "\x1b[2K",
    "\u202e",
    "\u2028",
    "\x85",
    "a,b,0",
    "\ud800",
    "9" * 30,
    "\u0661",
]
NAMES = st.sampled_from(["P", "Q", "AWS::NoValue", "AWS::Region", "Missing", "Other", "C1"])
SCALARS = st.one_of(
    st.sampled_from(HOSTILE_TEXT), st.text(max_size=12), st.integers(), st.booleans(), st.none()
)


def intrinsics(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    lists = st.lists(children, max_size=3)
    return st.one_of(
        st.builds(lambda name: {"Ref": name}, NAMES),
        st.builds(lambda text, value: {"Fn::Sub": [text, {"x": value}]}, SCALARS, children),
        st.builds(lambda text: {"Fn::Sub": text}, st.sampled_from(HOSTILE_TEXT)),
        st.builds(lambda items: {"Fn::Join": [":", items]}, lists),
        st.builds(lambda index, items: {"Fn::Select": [index, items]}, children, lists),
        st.builds(lambda text: {"Fn::Split": [",", text]}, children),
        st.builds(lambda a, b: {"Fn::FindInMap": ["M", a, b]}, children, children),
        st.builds(lambda c, a, b: {"Fn::If": [c, a, b]}, NAMES, children, children),
        st.builds(lambda a: {"Fn::GetAtt": [a, "Arn"]}, NAMES),
        st.builds(lambda a: {"Fn::Transform": {"Name": a}}, NAMES),
        st.builds(lambda a, b: {"Fn::Equals": [a, b]}, children, children),
        st.builds(lambda a: {"Fn::Not": [a]}, children),
        st.builds(lambda a: {"Condition": a}, NAMES),
    )


VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["Name", "Image", "User", "x"]), children, max_size=3),
        intrinsics(children),
    ),
    max_leaves=12,
)
CONTAINERS = st.one_of(
    VALUES,
    st.lists(
        st.dictionaries(st.sampled_from(["Name", "Image", "User", "Environment"]), VALUES),
        max_size=3,
    ),
)
PROPERTIES = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {"ContainerDefinitions": CONTAINERS},
        optional={"RuntimePlatform": VALUES},
    ),
)
RESOURCE = st.fixed_dictionaries(
    {"Type": st.sampled_from([TASK_DEFINITION, "AWS::SNS::Topic", "AWS::ECS::${x}"])},
    optional={"Properties": PROPERTIES, "Condition": NAMES},
)
LOOPS = st.builds(
    lambda identifier, collection, key, body: [identifier, collection, {key: body}],
    st.sampled_from(["x", "P", ""]),
    st.one_of(st.lists(st.sampled_from(["TaskDefinition", "a", "0", "a-b"]), max_size=3), VALUES),
    st.sampled_from(["T${x}", "T&{x}", "T"]),
    RESOURCE,
)
RESOURCES = st.dictionaries(
    st.one_of(st.text(min_size=1, max_size=8), st.just("Fn::ForEach::Loop")),
    st.one_of(RESOURCE, LOOPS),
    max_size=3,
)
TEMPLATES = st.fixed_dictionaries(
    {"Resources": RESOURCES},
    optional={
        "Parameters": st.dictionaries(
            NAMES,
            st.fixed_dictionaries(
                {"Type": st.sampled_from(["String", "CommaDelimitedList", "Number"])},
                optional={"Default": VALUES, "NoEcho": st.booleans()},
            ),
        ),
        "Mappings": st.just({"M": {"K": {"V": "0", "L": ["0", "1000"]}}}) | VALUES,
        "Conditions": st.dictionaries(NAMES, VALUES, max_size=3),
        "Transform": st.sampled_from(["AWS::LanguageExtensions", "Acme::Macro"]),
    },
)


def with_root_task(template: dict[str, Any]) -> dict[str, Any]:
    return {**template, "Resources": {**template["Resources"], "RootTask": ROOT_TASK}}


def as_yaml(template: dict[str, Any], data: st.DataObject) -> str:
    """The template as YAML, with YAML's own features mixed in: short-form tags for some
    functions, an anchor and alias or a merge key, unquoted numbers."""
    text = yaml.safe_dump(template, allow_unicode=True, sort_keys=False, width=1_000_000)
    swaps = data.draw(
        st.lists(
            st.sampled_from(
                [
                    ("Fn::Sub:", "!Sub"),
                    ("'0'", "0x0"),
                    ("'0'", "0_0"),
                    ("Ref: ", "!Ref "),
                    ("User: '1000'", "User: *nowhere"),
                    ("Resources:", "base: &b {User: '0'}\nResources:"),
                    ("- Name:", "- <<: *b\n  Name:"),
                    ("Properties:", "Properties: !If"),
                ]
            ),
            max_size=3,
        )
    )
    for old, new in swaps:
        text = text.replace(old, new, 1)
    return text


def encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def check_everything(path: str, data: bytes) -> FileReport:
    report = check_file(path, data, Options())
    reports = [report]
    code = exit_code(reports)
    assert code in (0, 1, 2)
    assert report.status in ("checked", "skipped", "error")
    assert "internal error" not in report.note  # a bug caught is still a bug
    for line in render_text(reports).splitlines():
        assert line.isprintable() and not line.startswith("::")
    for rendered in (render_json(reports), render_sarif(reports, "0")):
        assert rendered.isascii()
        json.loads(rendered)
    return report


def root_task_is_not_passed(report: FileReport) -> None:
    assert exit_code([report]) != 0
    if report.status == "checked":
        (root,) = [t for t in report.task_definitions if t.logical_id == "RootTask"]
        assert any(finding.level == "error" for finding in root.findings)


YAML_LINE_BREAKS = "\x85\u2028\u2029"
"""Line breaks to YAML, which folds them to spaces inside a JSON string (JSON keeps them)."""


def read(data: bytes) -> Any:
    try:
        return loader.load(data)
    except loader.TemplateError:
        return "unreadable"


def read_as_yaml(data: bytes) -> Any:
    """``data`` read by YAML's rules even when it is JSON."""
    with patch.object(loader, "_json_documents", side_effect=loader.TemplateError("as YAML")):
        return read(data)


def read_without_libyaml(data: bytes) -> Any:
    """``data`` read as the Lambda package reads it: PyYAML without libyaml."""
    with patch.object(loader, "_Loader", yaml.SafeLoader):
        return read(data)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(template=TEMPLATES)
def test_generated_json_templates(template: dict[str, Any]) -> None:
    data = encoded(json.dumps(with_root_task(template), ensure_ascii=False))
    root_task_is_not_passed(check_everything("generated.json", data))
    check_everything("generated.json", encoded(json.dumps(template)))
    if not any(char in data.decode("utf-8", "surrogatepass") for char in YAML_LINE_BREAKS):
        # libyaml refuses some JSON (C1 controls, "\ud800"), which JSON's rules then read
        assert read_as_yaml(data) in ("unreadable", read(data))
    assert read_without_libyaml(data) == read(data)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(template=TEMPLATES, data=st.data())
def test_generated_yaml_templates(template: dict[str, Any], data: st.DataObject) -> None:
    try:
        text = as_yaml(with_root_task(template), data)
    except yaml.YAMLError:  # not representable in YAML (a lone surrogate): JSON covers it
        return
    root_task_is_not_passed(check_everything("generated.yaml", encoded(text)))
    assert read_without_libyaml(encoded(text)) in ("unreadable", read(encoded(text)))


@settings(max_examples=200, deadline=2000)
@given(
    text=st.lists(
        st.sampled_from(
            [
                "Resources:",
                "  T:",
                "    Type: AWS::ECS::TaskDefinition",
                "    Properties:",
                "- ",
                "[",
                "{",
                "&a",
                "*a",
                "<<: *a",
                "!Ref",
                "!If [",
                "---",
                "? ",
                ": ",
                "'",
                '"',
                "\t",
                "User: 0x0",
                "\x00",
                "\ufeff",
                "\r",
                "Fn::ForEach::L: [x, [a], {T${x}: {Type: AWS::ECS::TaskDefinition}}]",
            ]
        ),
        max_size=40,
    ).map("\n".join)
)
def test_generated_yaml_fragments(text: str) -> None:
    check_everything("fragments.yaml", encoded(text))
    with_libyaml = read(encoded(text))
    # without libyaml: the same, unreadable, or (a byte-order mark inside) no template where
    # libyaml cannot read one either (the hook leaves such a template unverified, never passed)
    allowed = ["unreadable", with_libyaml] + ([None] if with_libyaml == "unreadable" else [])
    assert read_without_libyaml(encoded(text)) in allowed


def _limited() -> None:
    """Run the command within 1 GiB of address space."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("form", ["text", "json", "sarif"])
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(templates=st.lists(TEMPLATES, min_size=1, max_size=4))
def test_generated_templates_through_the_command(
    tmp_path: Path, form: str, templates: list[dict[str, Any]]
) -> None:
    for number, template in enumerate(templates):
        (tmp_path / f"t{number}.json").write_bytes(
            encoded(json.dumps(with_root_task(template), ensure_ascii=False))
        )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "guardrails_ecs_nonrootuser",
            "check",
            "--format",
            form,
            str(tmp_path),
        ],
        capture_output=True,
        timeout=60,
        check=False,
        preexec_fn=_limited,
    )
    assert result.returncode in (1, 2), result.stderr  # never 0: every file has a root task
    assert b"Traceback" not in result.stderr and result.stderr == b""
    out = result.stdout.decode("utf-8")
    if form == "text":
        assert all(line.isprintable() and not line.startswith("::") for line in out.splitlines())
    else:
        assert out.isascii()
        json.loads(out)
