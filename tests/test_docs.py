"""The documentation, run: every command line and snippet in README.md and docs/ is executed or
checked here, so that what the pages say is what the code does.

The pages that are generated (docs/README.md and docs/exemption.md by ``cfn generate``,
docs/benchmarks.md and docs/realworld.md by their scripts) are left out. Every other fenced block
must be one of these, or ``test_every_block_is_checked`` fails:

- ``sh``: command lines, each run or checked by the first word (``ecs-nonroot``, ``python -m
  guardrails_ecs_nonrootuser``, ``cfn-lint``, ``make``, ``aws``, ``pip``, ``pre-commit``,
  ``cfn``, ``sam``, ``source``). A comment ``# exit N`` states the exit code; without one it is 0.
  Command lines run from the repository's root unless they belong to a snippet (a rule page's
  ``template.yaml``, a CI job) that says where.
- ``text``: a transcript (``$ command``, then lines of its output, each of which must be a line
  the command writes, in order; a line ``...`` stands for any lines), the hook's answer
  (``FAILED ...``, ``SUCCESS ...``) to the template in the block before it, or the table
  ``make smoke`` prints (its header first: ``tests/test_smoke.py`` checks it).
- ``yaml``: a template whose task definitions are named for their expected verdict (``Fail``,
  ``Warn``, ``Note``, ``Skip``, ``Pass`` first: see ``assert_named_verdicts``), checked by
  ``ecs-nonroot check template.yaml`` (or the command a first-line comment gives); a GitHub
  workflow; a ``.gitlab-ci.yml``; a ``buildspec.yml``; a ``.pre-commit-config.yaml``.
- ``json``: a hook configuration (``Properties`` or a whole ``CloudFormationConfiguration``) or a
  StackSet parameter list.

What cannot run here says why, next to the check that runs instead: AWS calls go to moto's server
(what moto serves) or are parsed by the AWS CLI itself and validated against botocore's service
model (what it does not); StackSet operations go to the stand-in CLI of ``tests/fake_aws.py``;
GitHub is a clone of this repository's own history; a GitHub Actions runner is bash running
``action.yml``'s steps.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml
from awscli.clidriver import create_clidriver  # type: ignore[import-untyped]
from botocore.validate import validate_parameters  # type: ignore[import-untyped]
from packaging.requirements import Requirement

from guardrails_ecs_nonrootuser import cli, handlers
from guardrails_ecs_nonrootuser.policy import REPOSITORY, Settings
from guardrails_ecs_nonrootuser.report import RULES, SECURITY_SEVERITY

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GENERATED = {"docs/README.md", "docs/exemption.md", "docs/benchmarks.md", "docs/realworld.md"}
PAGES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    if path.relative_to(ROOT).as_posix() not in GENERATED
)
REPOSITORY_URL = REPOSITORY.removesuffix("/blob/main")
"""https://github.com/guardrails-hooks/guardrails-ecs-nonrootuser"""
PROJECT = "guardrails-ecs-nonrootuser"
FIXTURES = ROOT / "tests" / "fixtures"
ENVELOPE_SCHEMA = json.loads((FIXTURES / "hook-configuration.schema.json").read_text("utf-8"))
PROPERTIES_SCHEMA = json.loads(
    (ROOT / "guardrails-ecs-nonrootuser-configuration.json").read_text("utf-8")
)
COMPLIANT = """\
Resources:
  Web:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - {Name: web, Image: public.ecr.aws/nginx/nginx-unprivileged:stable, User: "101:101"}
"""
NONCOMPLIANT = """\
Resources:
  Worker:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - {Name: worker, Image: registry.example.com/worker:1, User: "0"}
"""


# --- Reading the pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: where it starts, its language and its text."""

    page: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def section(self) -> str:
        """The heading the block is under."""
        prose = FENCE.sub("", page_text(self.page)[: self._offset()])
        headings = re.findall(r"^#+ (.+)$", prose, re.M)
        return headings[-1] if headings else ""

    def _offset(self) -> int:
        lines = page_text(self.page).splitlines(keepends=True)
        return sum(len(line) for line in lines[: self.line - 1])


FENCE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.M | re.S
)


@functools.cache
def page_text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


@functools.cache
def blocks(page: str) -> tuple[Block, ...]:
    text = page_text(page)
    found = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(page, line, match["lang"], body))
    return tuple(found)


def all_blocks(*langs: str) -> list[Block]:
    return [b for page in PAGES for b in blocks(page) if not langs or b.lang in langs]


def rule_page(page: str) -> str | None:
    """The rule id a page documents (docs/rules/<id>.md), or None."""
    if page.startswith("docs/rules/") and page != "docs/rules/README.md":
        return Path(page).stem
    return None


@dataclass(frozen=True)
class Command:
    """One command line of a block: as written (for bash), split (without its comment), and the
    comment after it."""

    text: str
    argv: tuple[str, ...]
    comment: str

    @property
    def exit_code(self) -> int:
        stated = re.search(r"\bexit (\d)\b", self.comment)
        return int(stated[1]) if stated else 0


def _comment(line: str) -> str:
    """The comment at the end of a shell line (a # outside quotes after a blank), or ""."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[index + 1 :].strip()
    return ""


def commands(text: str) -> list[Command]:
    """The command lines of a shell block: comment lines dropped, lines ended by a backslash
    joined, and a quoted string that spans lines kept whole."""
    found = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            continue
        try:
            argv = shlex.split(pending.replace("\\\n", " "), comments=True)
        except ValueError:  # a quoted string goes on
            continue
        last = pending.rsplit("\n", 1)[-1]
        found.append(Command(pending, tuple(argv), _comment(last)))
        pending = ""
    assert not pending, f"unfinished command: {pending!r}"
    return found


def transcript(text: str) -> list[tuple[Command, list[str]]]:
    """The commands of a transcript block, each with the lines shown as its output."""
    runs: list[tuple[Command, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            (command,) = commands(line[2:])
            runs.append((command, []))
        else:
            assert runs, "a transcript starts with a $ command"
            runs[-1][1].append(line)
    return runs


class _AnyTag(yaml.SafeLoader):
    """Reads YAML with CloudFormation's short-form tags (their values kept as they are)."""


_AnyTag.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def read_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_AnyTag)


def yaml_kind(document: Any) -> str:
    if not isinstance(document, dict):
        return "unknown"
    if "repos" in document:
        return "pre-commit"
    if isinstance(document.get("jobs"), dict) and (True in document or "on" in document):
        return "workflow"  # YAML 1.1 reads the key `on` as true
    if str(document.get("version")) == "0.2" and "phases" in document:
        return "buildspec"
    if any(isinstance(job, dict) and "script" in job for job in document.values()):
        return "gitlab"
    resources = document.get("Resources")
    if isinstance(resources, dict) and any(
        isinstance(r, dict) and r.get("Type") == "AWS::ECS::TaskDefinition"
        for r in resources.values()
    ):
        return "template"
    return "unknown"


def kind(block: Block) -> str:
    """What a block is, and so which test checks it."""
    if block.lang == "sh":
        return "rule-command" if rule_page(block.page) else "commands"
    if block.lang == "text":
        first = block.text.splitlines()[0] if block.text.strip() else ""
        if first.startswith("$ "):
            return "transcript"
        if first.startswith(("FAILED ", "SUCCESS")):
            return "hook-answer"
        if first.split()[:3] == ["Layer", "Case", "Expected"]:
            return "smoke-table"  # tests/test_smoke.py: what a healthy account prints
        return "unknown"
    if block.lang == "json":
        document = json.loads(block.text)
        return "parameters" if isinstance(document, list) else "configuration"
    if block.lang == "yaml":
        return yaml_kind(read_yaml(block.text))
    return "unknown"


def blocks_of(*kinds: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in all_blocks() if kind(b) in kinds]


def lines_of(*first_words: str) -> list[tuple[Block, Command, int]]:
    """Every command line of the pages' shell blocks and transcripts that starts with one of
    ``first_words``, with its block and its number there."""
    found = []
    for block in all_blocks("sh", "text"):
        if kind(block) == "commands":
            lines = commands(block.text)
        elif kind(block) == "transcript":
            lines = [command for command, _ in transcript(block.text)]
        else:
            continue
        for number, command in enumerate(lines):
            if command.argv[0] in first_words:
                found.append((block, command, number))
    return found


def command_lines(*first_words: str) -> list[Any]:
    """``lines_of`` as test parameters (block, command)."""
    return [pytest.param(b, c, id=f"{b.id}#{n}") for b, c, n in lines_of(*first_words)]


def is_ecs_nonroot(argv: tuple[str, ...]) -> bool:
    return argv[0] == "ecs-nonroot" or argv[:3] == ("python", "-m", "guardrails_ecs_nonrootuser")


@functools.cache
def ecs_nonroot_options() -> dict[str, frozenset[str]]:
    """Each subcommand's option strings."""
    parser = cli._parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {
        name: frozenset(o for action in sub._actions for o in action.option_strings)
        for name, sub in subparsers.choices.items()
    }


def assert_ecs_nonroot_options(argv: tuple[str, ...]) -> None:
    """Every option of an ecs-nonroot line is spelled out as the command names it (argparse
    also takes a prefix of a name, which a page must not rely on)."""
    start = 1 if argv[0] == "ecs-nonroot" else 3
    subcommand = argv[start]
    for word in argv[start + 1 :]:
        if word.startswith("--"):
            option = word.split("=", 1)[0]
            assert option in ecs_nonroot_options()[subcommand], f"no option {option}"


def run(
    command: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``command`` in bash, with this venv's commands first on PATH."""
    environment = {**os.environ, **(env or {})}
    environment["PATH"] = f"{BIN}:{environment.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def assert_shows(shown: list[str], result: subprocess.CompletedProcess[str]) -> None:
    """Each line shown is a line the command wrote (standard output or error), those of
    standard output in the order shown; ``...`` stands for any lines."""
    out, err = result.stdout.splitlines(), result.stderr.splitlines()
    position = 0
    for line in shown:
        if line == "...":
            continue
        if line in out[position:]:
            position = out.index(line, position) + 1
        else:
            assert line in err, (
                f"not in the output:\n{line}\n--- output ---\n{result.stdout}{result.stderr}"
            )


# --- Every block is checked, every link leads somewhere ----------------------------------


KNOWN_COMMANDS = {
    "ecs-nonroot",
    "python",
    "cfn-lint",
    "make",
    "aws",
    "pip",
    "pre-commit",
    "cfn",
    "sam",
    "source",
}


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in all_blocks()])
def test_every_block_is_checked(block: Block) -> None:
    assert kind(block) != "unknown", f"no test checks this {block.lang or 'unnamed'} block"
    if block.lang in ("sh", "text") and kind(block) in ("commands", "transcript", "rule-command"):
        lines = (
            [c for c, _ in transcript(block.text)]
            if kind(block) == "transcript"
            else commands(block.text)
        )
        assert lines
        for command in lines:
            assert command.argv[0] in KNOWN_COMMANDS, f"no check for {command.argv[0]}"
            if command.argv[0] == "python":
                assert is_ecs_nonroot(command.argv) or command.argv[1].startswith("scripts/")
            if command.argv[0] == "cfn-lint":
                assert (block.page, block.section) == ("README.md", "cfn-lint"), command.text


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES)
def test_links_lead_to_a_file_and_a_heading(page: str) -> None:
    text = FENCE.sub("", page_text(page))
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        resolved = (ROOT / page).parent / path if path else ROOT / page
        assert resolved.exists(), f"{page}: {target}: no such file"
        if anchor:
            assert resolved.suffix == ".md", target
            assert anchor in anchors(resolved), f"{page}: {target}: no such heading"


def test_the_readme_is_short_and_starts_with_its_contents() -> None:
    readme = page_text("README.md")
    assert len(readme.split()) < 2500  # wc -w
    contents = readme.split("## Contents", 1)[1].split("\n## ", 1)[0]
    for heading in re.findall(r"^## (.+)$", readme, re.M):
        if heading != "Contents":
            assert f"(#{slug(heading)})" in contents, heading
    assert "## Decision table" in readme  # handlers.DECISION_TABLE_URL and the cfn-lint rule


def phony_targets() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (line,) = re.findall(r"^\.PHONY:(.*)$", makefile, re.M)
    return str(line).split()


@pytest.mark.parametrize("page", PAGES)
def test_make_targets_named_in_prose_exist(page: str) -> None:
    for target in re.findall(r"`make ([a-z][a-z-]*)", page_text(page)):
        assert target in phony_targets(), f"{page}: make {target}"


@pytest.mark.parametrize("page", PAGES)
def test_ecs_nonroot_flags_named_in_prose_exist(page: str) -> None:
    subcommands = ecs_nonroot_options()
    for span in re.findall(r"`ecs-nonroot (check|audit)\b([^`]*)`", page_text(page)):
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", span[1]):
            assert flag in subcommands[span[0]], f"{page}: ecs-nonroot {span[0]} {flag}"


def test_make_help_lists_every_target() -> None:
    result = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    listed = re.findall(r"^\s+make ([a-z][a-z-]*)\s+\S", result.stdout, re.M)
    assert sorted(listed) == sorted(phony_targets())
    assert len(listed) == len(set(listed))


def test_the_license_is_the_apache_license_2_0_as_published() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply" in text
    # the same text as the Apache-2.0 packages in this venv carry (s3transfer's, boto's)
    published = [
        p.read_text(encoding="utf-8")
        for p in Path(sys.prefix).glob("lib/python*/site-packages/s3transfer-*/LICENSE.txt")
    ]
    assert published and text in published
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "Apache-2.0"' in pyproject


# --- ecs-nonroot command lines -----------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "command"),
    [
        pytest.param(b, c, id=f"{b.id}#{n}")
        for b, c, n in lines_of("ecs-nonroot", "python")
        if c.argv[1] != "audit"
    ],
)
def test_command_lines_run_as_documented(block: Block, command: Command) -> None:
    """ecs-nonroot lines, and python ones (the command as a module, the repository's scripts),
    from the repository's root."""
    if is_ecs_nonroot(command.argv):
        assert_ecs_nonroot_options(command.argv)
    result = run(command.text, ROOT)
    assert result.returncode == command.exit_code, result.stdout + result.stderr
    if kind(block) == "transcript":
        (shown,) = [lines for c, lines in transcript(block.text) if c == command]
        assert_shows(shown, result)


# --- Template snippets -------------------------------------------------------------------

PREFIXES = {"Fail": "error", "Warn": "warning", "Note": "note", "Skip": "note", "Pass": None}


def check_command_of(block: Block) -> str:
    """The command a template snippet is checked with: its rule page's, the one its first-line
    comment gives, or ``ecs-nonroot check template.yaml``."""
    if rule_page(block.page):
        (sh,) = [b for b in blocks(block.page) if b.lang == "sh"]
        (command,) = commands(sh.text)
        return command.text
    first = block.text.splitlines()[0]
    if first.startswith("# ecs-nonroot check"):
        return first[2:]
    return "ecs-nonroot check template.yaml"


def assert_named_verdicts(document: Any, text: str, rule: str | None) -> None:
    """Each task definition is decided as its logical id says: ``Fail`` every container (or
    the task definition) has an error, ``Warn`` a warning, ``Note`` a note, ``Skip`` every
    container is skipped, ``Pass`` no error or warning. On a rule page, the finding is of
    that rule when the rule has that level, and a ``Pass`` has none of it."""
    resources = read_yaml(text)["Resources"]
    named = {k for k, v in resources.items() if v.get("Type") == "AWS::ECS::TaskDefinition"}
    (report,) = document["files"]
    decided = {t["logicalId"]: t for t in report["taskDefinitions"]}
    assert set(decided) == named
    for logical_id, task in decided.items():
        prefix = next((p for p in PREFIXES if logical_id.startswith(p)), None)
        assert prefix, f"{logical_id} is not named for its verdict"
        level = PREFIXES[prefix]
        findings = task["findings"]
        if prefix == "Pass":
            assert not [f for f in findings if f["level"] in ("error", "warning")], findings
            assert not [f for f in findings if f["rule"] == rule], findings
            continue
        wanted = "skipped-container" if prefix == "Skip" else rule
        demoted = wanted == "unresolved-value" and level == "warning"  # --unresolved warn
        if wanted in RULES and RULES[wanted][1] != level and not demoted:
            wanted = None  # the page's rule is of another level: any finding of this one
        mine = [
            f for f in findings if f["level"] == level and (wanted is None or f["rule"] == wanted)
        ]
        assert mine, f"{logical_id}: no {level} {wanted or ''} in {findings}"
        if all(f["container"] is not None for f in mine):
            containers = {c["index"] for c in task["containers"]}
            assert {f["container"] for f in mine} == containers, (logical_id, findings)


def check_template(block: Block, tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(block.text, encoding="utf-8")
    command = check_command_of(block)
    assert command.startswith("ecs-nonroot check template.yaml"), command
    assert_ecs_nonroot_options(tuple(shlex.split(command)))
    result = run(f"{command} --format json", tmp_path)
    document = json.loads(result.stdout)
    assert document["config"] is None  # nothing but the command decides
    assert_named_verdicts(document, block.text, rule_page(block.page))
    failing = any(
        f["level"] == "error"
        for t in document["files"][0]["taskDefinitions"]
        for f in t["findings"]
    )
    assert result.returncode == (1 if failing else 0), result.stderr


@pytest.mark.parametrize("block", blocks_of("template"))
def test_template_snippets_are_decided_as_their_names_say(block: Block, tmp_path: Path) -> None:
    check_template(block, tmp_path)


# --- Rule pages --------------------------------------------------------------------------

RULE_PAGES = ROOT / "docs" / "rules"


def test_there_is_a_page_for_every_rule_id_and_no_other() -> None:
    assert {p.stem for p in RULE_PAGES.glob("*.md")} == {*RULES, "README"}


def test_the_rule_index_lists_every_rule_with_its_level() -> None:
    rows = re.findall(
        r"^\| \[([a-z0-9-]+)\]\(([a-z0-9-]+)\.md\) \| (\w+) \| (.+) \|$",
        page_text("docs/rules/README.md"),
        re.M,
    )
    assert [(rule, level) for rule, _, level, _ in rows] == [
        (rule, level) for rule, (_, level) in RULES.items()
    ]
    assert all(rule == page for rule, page, _, _ in rows)


@pytest.mark.parametrize("rule", list(RULES))
def test_a_rule_page_states_its_level_and_severity(rule: str) -> None:
    text = page_text(f"docs/rules/{rule}.md")
    assert text.startswith(f"# {rule}\n")
    header = text.split("\n\n", 2)[1]
    assert re.match(rf"Level: \*\*{RULES[rule][1]}\*\*", header), header
    severity = re.search(r"security-severity: \*\*([0-9.]+)\*\*", header)
    assert (severity[1] if severity else None) == SECURITY_SEVERITY.get(rule)
    examples = [b for b in blocks(f"docs/rules/{rule}.md") if b.lang == "yaml"]
    assert len(examples) >= 2  # one that is reported, one that is not
    assert any(kind(b) == "template" for b in examples)
    (sh,) = [b for b in blocks(f"docs/rules/{rule}.md") if b.lang == "sh"]
    assert len(commands(sh.text)) == 1


# --- The hook's answers ------------------------------------------------------------------


@pytest.mark.parametrize("block", blocks_of("hook-answer"))
def test_the_hook_answers_as_shown(block: Block) -> None:
    from hook_event import hook_event

    page = blocks(block.page)
    template = page[page.index(block) - 1]
    assert kind(template) == "template"
    (resource,) = read_yaml(template.text)["Resources"].values()
    response = handlers.hook(hook_event(resource["Properties"], None), None)
    answer = f"{response['hookStatus']} {response.get('errorCode', '')}".strip()
    assert f"{answer}: {response['message']}" == block.text.strip()


# --- Configurations and parameter lists --------------------------------------------------


def parameters_module() -> Any:
    spec = importlib.util.spec_from_file_location("parameters", ROOT / "deploy" / "parameters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_hook_accepts(document: Any) -> None:
    """A configuration the hook accepts: a whole document valid for SetTypeConfiguration, or
    its Properties, valid for the hook's schema and its policy."""
    if isinstance(document, dict) and "CloudFormationConfiguration" in document:
        jsonschema.validate(document, ENVELOPE_SCHEMA)
        document = document["CloudFormationConfiguration"]["HookConfiguration"]["Properties"]
    jsonschema.validate(document, PROPERTIES_SCHEMA)
    Settings.from_mapping(document)


@pytest.mark.parametrize("block", blocks_of("configuration", "parameters"))
def test_json_examples_are_what_the_hook_and_the_rollout_accept(block: Block) -> None:
    document = json.loads(block.text)
    if isinstance(document, list):
        parameters_module().check({p["ParameterKey"]: p["ParameterValue"] for p in document})
    else:
        assert_hook_accepts(document)


def test_the_ready_configurations_are_what_the_pages_say() -> None:
    def properties(path: str) -> Any:
        document = json.loads((ROOT / path).read_text(encoding="utf-8"))
        return (
            document.get("CloudFormationConfiguration", {})
            .get("HookConfiguration", {})
            .get("Properties", document)
        )

    ready = [
        ".ecs-nonroot.json",
        "examples/hook-config.json",
        "deploy/config/audit.json",
        "deploy/config/enforce.json",
    ]
    for path in ready:
        assert_hook_accepts(json.loads((ROOT / path).read_text(encoding="utf-8")))
    assert len({json.dumps(properties(p), sort_keys=True) for p in ready}) == 1


# --- cfn-lint ----------------------------------------------------------------------------


def test_the_readme_cfn_lint_lines_run_as_written(tmp_path: Path) -> None:
    (block,) = [b for b in blocks("README.md") if b.section == "cfn-lint" and b.lang == "sh"]
    lines = commands(block.text)
    shutil.copy(FIXTURES / "templates" / "conditions.yaml", tmp_path / "template.yaml")
    proxy = {"ContainerName": "proxy", "AllowOverrides": True, "Reason": "it sets its Command"}
    (tmp_path / "hook-config.json").write_text(json.dumps({"Exemptions": [proxy]}), "utf-8")
    assert len(lines) == 2
    outputs = []
    for command in lines:
        assert command.argv[0] == "cfn-lint"
        result = run(f"{command.text} --format parseable", tmp_path)
        assert result.returncode != 0, result.stderr
        outputs.append(result.stdout)
    assert "template.yaml:98:11:98:11:E9101:[missing-user]" in outputs[0]
    assert ":W9101:[unresolved-value]" in outputs[1]  # E9101:unresolved=warn
    assert '"proxy"' not in outputs[1]  # E9101:config=hook-config.json exempts it


# --- pip ---------------------------------------------------------------------------------


@functools.cache
def dry_run_install(requirement: str) -> dict[str, Any]:
    """What pip would install for ``requirement`` (a dry run, no dependencies)."""
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"pip-report-{os.getpid()}.json"
    subprocess.run(
        [
            str(BIN / "pip"),
            "install",
            "--dry-run",
            "--no-deps",
            "--quiet",
            "--report",
            str(report),
            requirement,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (item,) = json.loads(report.read_text(encoding="utf-8"))["install"]
    report.unlink()
    return dict(item)


def assert_installs_this_project(argv: tuple[str, ...]) -> None:
    """``pip install REQUIREMENT``: this project from this repository, with extras it declares.

    GitHub is not reachable here: the same requirement is installed (a dry run) from a clone of
    this repository's own history instead, and the package pip finds there must be this one."""
    assert argv[:2] == ("pip", "install"), argv
    (given,) = argv[2:]
    requirement = Requirement(given)
    assert requirement.name == PROJECT
    assert requirement.url == f"git+{REPOSITORY_URL}"
    local = f"{PROJECT}[{','.join(sorted(requirement.extras))}] @ git+file://localhost{ROOT}"
    item = dry_run_install(local if requirement.extras else local.replace("[]", ""))
    assert item["metadata"]["name"] == PROJECT
    assert set(requirement.extras) <= set(item["metadata"].get("provides_extra", []))


@pytest.mark.parametrize(("block", "command"), command_lines("pip"))
def test_pip_lines_install_this_project(block: Block, command: Command) -> None:
    assert_installs_this_project(command.argv)


# --- Other tools: cfn, sam, source -------------------------------------------------------


@pytest.mark.parametrize(("block", "command"), command_lines("cfn", "sam", "source"))
def test_tool_lines_name_what_exists(block: Block, command: Command) -> None:
    argv = command.argv
    if argv[0] == "source":
        assert (ROOT / argv[1]).is_file()
    elif argv[0] == "cfn":
        # cfn test needs a running Lambda endpoint and AWS credentials: its flags are checked
        # against its own help (make contract runs it, against the stand-in endpoint)
        help_text = run(f"cfn {argv[1]} --help", ROOT).stdout
        for flag in (a for a in argv[2:] if a.startswith("--")):
            assert flag in help_text, flag
        for value in (a for a in argv[2:] if not a.startswith("--")):
            assert (ROOT / value).exists(), value
    else:
        assert argv[:3] == ("sam", "local", "start-lambda")
        assert (ROOT / "template.yml").is_file()
        pytest.skip("the SAM CLI and Docker are not available here; make contract stands in")


# --- make --------------------------------------------------------------------------------

ROLLOUT_TARGETS = {"register", "configure", "org-deploy", "org-status", "org-off", "audit-role"}


def rollout_variables() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (definition,) = re.findall(r"^ROLLOUT = (.*)$", makefile, re.M)
    return set(re.findall(r'(\w+)="\$\(\1\)"', definition))


def make_line(command: Command) -> tuple[str, dict[str, str]]:
    target, *assignments = command.argv[1:]
    variables = dict(a.split("=", 1) for a in assignments)
    assert target in phony_targets(), target
    return target, variables


@pytest.mark.parametrize(("block", "command"), command_lines("make"))
def test_make_lines_name_a_target_and_its_variables(block: Block, command: Command) -> None:
    target, variables = make_line(command)
    dry = subprocess.run(
        ["make", "-n", target, *command.argv[2:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    if target in ROLLOUT_TARGETS:
        assert f"deploy/rollout.sh {target}" in dry.stdout
        assert set(variables) <= rollout_variables(), variables
        assert {"ACCOUNT", "REGION"} <= set(variables)
    elif target == "smoke":
        # needs a sandbox account: tests/test_smoke.py runs deploy/smoke.sh on a stand-in CLI
        assert "deploy/smoke.sh" in dry.stdout
        assert set(variables) == {"ACCOUNT", "REGION"}, variables
    elif target == "demo":
        # make demo sets up the venv first (a shared artifact): its script is run directly
        assert "scripts/demo.py" in dry.stdout
        demo = run(f"{sys.executable} scripts/demo.py", ROOT)
        assert demo.returncode == 0, demo.stderr
        assert "examples/noncompliant.yaml" in demo.stdout
    elif target == "package":
        # make package rebuilds the hook package other tests check (a shared artifact): its
        # recipe is checked with -n; make test builds and tests it
        built = re.search(r"is up to date|Nothing to be done", dry.stdout)
        assert "cfn submit --dry-run --no-docker" in dry.stdout or built, dry.stdout
    elif target == "test":
        # make test rebuilds the package and the venvs and runs for minutes: it is CI's own
        # command (.ci/run), checked here to be that, and run by CI
        assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    else:
        pytest.fail(f"no check for make {target}")


def built_package(version: str = "0.2.0", commit: str = "0" * 40) -> bytes:
    """A stand-in for make package's zip, as far as the rollout reads it (its BUILD.json)."""
    code = BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr(
            "guardrails_ecs_nonrootuser/BUILD.json",
            json.dumps({"version": version, "commit": commit}),
        )
    package = BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("ResourceProvider.zip", code.getvalue())
    return package.getvalue()


@pytest.mark.parametrize(
    "page", sorted({b.page for b, c, _ in lines_of("make") if c.argv[1] in ROLLOUT_TARGETS})
)
def test_rollout_lines_run_against_the_stand_in_cli(page: str, tmp_path: Path) -> None:
    """Each page's rollout make lines, in order, run deploy/rollout.sh as make would: the
    StackSet ones against tests/fake_aws.py (an AWS CLI that keeps operations running and
    refuses overlapping ones, as StackSets do), register and configure with DRY_RUN=1 (moto
    serves neither RegisterType nor SetTypeConfiguration), their printed commands checked."""
    lines = [c for b, c, _ in lines_of("make") if b.page == page and c.argv[1] in ROLLOUT_TARGETS]
    parameters = [b for b in blocks(page) if kind(b) == "parameters"]
    if parameters:
        (tmp_path / "parameters.json").write_text(parameters[0].text, encoding="utf-8")
    (tmp_path / "package.zip").write_bytes(built_package())
    bin_directory = tmp_path / "bin"
    bin_directory.mkdir()
    fake = bin_directory / "aws"
    fake.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests" / "fake_aws.py"}" "$@"\n')
    fake.chmod(0o755)
    state = tmp_path / "state.json"
    for command in lines:
        target, variables = make_line(command)
        env = {
            **{name: "" for name in rollout_variables()},
            **variables,
            "PACKAGE": str(tmp_path / "package.zip"),
            "PATH": f"{bin_directory}:{BIN}:/usr/bin:/bin",
            "FAKE_AWS_STATE": str(state),
            "POLL_SECONDS": "0",
            "HOME": str(tmp_path),
        }
        if target in ("register", "configure"):
            env["DRY_RUN"] = "1"
        elif not state.exists():
            state.write_text(
                json.dumps(
                    {
                        "account": variables["ACCOUNT"],
                        "exists": False,
                        "parameters": [],
                        "targets": [],
                        "operations": {},
                        "calls": [],
                    }
                )
            )
        result = subprocess.run(
            [str(ROOT / "deploy" / "rollout.sh"), target],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == command.exit_code, result.stdout + result.stderr
        if target == "register":
            assert (
                f"cfn submit --set-default --no-docker --region {variables['REGION']}"
                in result.stdout
            )
        if target == "configure":
            (printed,) = [
                line[2:]
                for line in result.stdout.splitlines()
                if line.startswith("+ aws cloudformation set-type")
            ]
            assert_aws_line(tuple(shlex.split(printed)))
            assert f"config/{variables['MODE']}.json" in printed


# --- aws ---------------------------------------------------------------------------------

SERVED_BY_MOTO: set[tuple[str, ...]] = {
    ("organizations", "enable-aws-service-access"),
    ("cloudformation", "deploy"),
    ("cloudformation", "describe-stacks"),
    ("cloudformation", "create-stack-set"),
    ("cloudformation", "create-stack-instances"),
}
"""The AWS CLI lines moto's server answers as AWS would; the others are parsed and validated."""


def _enum_errors(value: Any, shape: Any, where: str) -> Iterator[str]:
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            yield from _enum_errors(item, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _enum_errors(item, shape.member, f"{where}[{index}]")
    elif shape.type_name == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        yield f"{where}: {value!r} is not one of {shape.enum}"


def assert_aws_options(argv: tuple[str, ...]) -> None:
    """Every option of an AWS CLI line is one of its command's or a global one, spelled out
    (the CLI also accepts a prefix of a name, which a page must not rely on)."""
    driver = create_clidriver()
    command = driver._get_command_table()[argv[1]]._get_command_table()[argv[2]]
    names = {*command.arg_table, *driver._get_argument_table()}
    for option in (a for a in argv[3:] if a.startswith("--")):
        assert option[2:] in names, f"aws {argv[1]} {argv[2]}: no option {option}"


def assert_aws_line(argv: tuple[str, ...]) -> dict[str, Any]:
    """The AWS CLI parses the line as it would before calling AWS (options, shorthand, JSON,
    file:// values; nothing is sent), and the parameters are valid for botocore's service
    model (types, required members, enums). Returns the parameters."""

    assert argv[0] == "aws"
    assert_aws_options(argv)
    service, operation = argv[1], argv[2]
    driver = create_clidriver()
    command = driver._get_command_table()[service]._get_command_table()[operation]
    model = getattr(command, "_operation_model", None)
    assert model is not None, f"aws {service} {operation} is not an API operation"
    captured: dict[str, Any] = {}

    def capture(call_parameters: dict[str, Any], **_: Any) -> int:
        captured.update(call_parameters)
        return 0  # the command's result: nothing is sent

    driver.session.register(f"calling-command.{service}.{operation}", capture)
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        assert driver.main(list(argv[1:])) == 0, argv
    finally:
        os.chdir(previous)
    validate_parameters(captured, model.input_shape)
    assert not list(_enum_errors(captured, model.input_shape, operation))
    if "Configuration" in captured and service == "cloudformation":
        assert_hook_accepts(json.loads(captured["Configuration"]))
    return captured


# moto's CloudFormation creates the package bucket but not its policy, which it says in a warning
@pytest.mark.filterwarnings("ignore:Tried to parse .*BucketPolicy:UserWarning")
@pytest.mark.parametrize("page", sorted({b.page for b, _, _ in lines_of("aws")}))
def test_aws_lines_run_or_parse(
    page: str, moto_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's AWS CLI lines in order, against one moto server holding an organization (the
    pages' prerequisite): those moto serves run; the others (moto 5.2.5 does not model
    SetTypeConfiguration, the hook results, or the StackSets service principal) are parsed by
    the AWS CLI and validated against botocore's model."""
    import boto3

    for name, value in moto_environment.items():
        monkeypatch.setenv(name, value)
    boto3.client(
        "organizations", endpoint_url=moto_environment["AWS_ENDPOINT_URL"]
    ).create_organization(FeatureSet="ALL")
    for block, command, _ in lines_of("aws"):
        if block.page != page:
            continue
        if command.argv[1:3] in SERVED_BY_MOTO:
            assert_aws_options(command.argv)
            result = run(command.text, ROOT, moto_environment)
            assert result.returncode == command.exit_code, result.stderr
        else:
            assert_aws_line(command.argv)


@pytest.mark.parametrize(
    ("block", "command"),
    [
        pytest.param(b, c, id=f"{b.id}#{n}")
        for b, c, n in lines_of("ecs-nonroot")
        if c.argv[1] == "audit"
    ],
)
def test_audit_lines_run_against_an_organization(
    block: Block, command: Command, moto_environment: dict[str, str]
) -> None:
    """An organization on moto's server with a member account seeded as make audit-demo seeds
    it: a root task definition a service runs, a stack whose parameter makes its worker root."""
    import boto3
    from audit_demo import deploy, session

    assert_ecs_nonroot_options(command.argv)
    organizations = boto3.client(
        "organizations",
        endpoint_url=moto_environment["AWS_ENDPOINT_URL"],
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(AccountName="member", Email="member@example.com")
    account = member["CreateAccountStatus"]["AccountId"]
    deploy(moto_environment, account)
    if "--source" not in command.argv:
        result = run(command.text, ROOT, moto_environment)
        assert result.returncode == command.exit_code, result.stdout + result.stderr
        if "csv" in command.argv:
            assert result.stdout.startswith("account,region,kind,family,revision,")
        else:  # the stack, decided with its own parameters
            assert "  stack/workers " in result.stdout
        return
    from config_standin import ConfigAggregator  # the aggregator holds what moto's ECS does

    ecs = session(moto_environment, account).client(
        "ecs", endpoint_url=moto_environment["AWS_ENDPOINT_URL"]
    )
    items = []
    for arn in ecs.list_task_definitions()["taskDefinitionArns"]:
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        containers = [
            {"Name": c["name"], "Image": c["image"], **({"User": c["user"]} if "user" in c else {})}
            for c in definition["containerDefinitions"]
        ]
        configuration = {"Family": definition["family"], "TaskDefinitionArn": arn}
        items.append(
            {
                "accountId": account,
                "awsRegion": "eu-west-1",
                "resourceType": "AWS::ECS::TaskDefinition",
                "arn": arn,
                "configuration": {**configuration, "ContainerDefinitions": containers},
            }
        )
    name = command.argv[command.argv.index("--aggregator") + 1]
    with ConfigAggregator(name, items) as standin:
        env = {**moto_environment, "AWS_ENDPOINT_URL_CONFIG_SERVICE": standin.endpoint}
        result = run(command.text, ROOT, env)
    assert result.returncode == command.exit_code, result.stdout + result.stderr
    assert "  task-definition/served:1 [unused]: error [root-user]" in result.stdout


# --- pre-commit --------------------------------------------------------------------------


def git(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True, check=False)


def repository(tmp_path: Path, *templates: tuple[str, str]) -> Path:
    """A git repository holding the given templates, every file added."""
    directory = tmp_path / "repository"
    directory.mkdir(parents=True)
    for name, text in templates:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text, encoding="utf-8")
    git("init", "-q", cwd=directory)
    git("add", ".", cwd=directory)
    return directory


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.mark.parametrize("block", blocks_of("pre-commit"))
def test_the_pre_commit_snippet_pins_a_commit_of_main_with_the_hook(block: Block) -> None:
    (repo,) = read_yaml(block.text)["repos"]
    assert repo["repo"] == REPOSITORY_URL
    rev = repo["rev"]
    assert re.fullmatch(r"[0-9a-f]{40}", rev), rev
    if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone may not hold the pinned commit")
    assert git("cat-file", "-e", f"{rev}^{{commit}}").returncode == 0, f"{rev}: no such commit"
    assert git("merge-base", "--is-ancestor", rev, "HEAD").returncode == 0, "not on main"
    hooks = yaml.safe_load(git("show", f"{rev}:.pre-commit-hooks.yaml").stdout)
    assert {hook["id"] for hook in repo["hooks"]} <= {hook["id"] for hook in hooks}


@pytest.mark.parametrize("block", blocks_of("pre-commit"))
def test_the_pre_commit_snippet_runs(block: Block, tmp_path: Path, pre_commit_home: Path) -> None:
    """pre-commit itself, with the snippet as the repository's configuration; GitHub is not
    reachable here, so it clones the pinned commit from this repository instead. The page's
    pre-commit command lines run there, in order (with that repository too)."""
    config = block.text.replace(REPOSITORY_URL, str(ROOT))
    directory = repository(
        tmp_path, (".pre-commit-config.yaml", config), ("stacks/web.yaml", COMPLIANT)
    )
    env = {"PRE_COMMIT_HOME": str(pre_commit_home)}
    passing = run("pre-commit run --all-files", directory, env)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    (directory / "stacks" / "worker.yaml").write_text(NONCOMPLIANT, encoding="utf-8")
    git("add", ".", cwd=directory)
    failing = run("pre-commit run --all-files", directory, env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "stacks/worker.yaml" in failing.stdout and "[root-user]" in failing.stdout
    # the pinned commit's command finds the repository's .ecs-nonroot.json by itself
    (directory / ".ecs-nonroot.json").write_text('{"ExemptContainerNames": ["worker"]}', "utf-8")
    git("add", ".", cwd=directory)
    configured = run("pre-commit run --all-files", directory, env)
    assert configured.returncode == 0, configured.stdout + configured.stderr
    git("rm", "-q", "-f", ".ecs-nonroot.json", cwd=directory)
    for page_block, command, _ in lines_of("pre-commit"):
        if page_block.page != block.page:
            continue
        line = command.text.replace(REPOSITORY_URL, str(ROOT))
        result = run(line, directory, env)
        assert result.returncode == command.exit_code, result.stdout + result.stderr
        if command.argv[1] == "autoupdate":
            updated = read_yaml((directory / ".pre-commit-config.yaml").read_text("utf-8"))
            assert updated["repos"][0]["rev"] == git("rev-parse", "HEAD").stdout.strip()


def test_every_pre_commit_line_has_a_snippet_on_its_page() -> None:
    for block, _, _ in lines_of("pre-commit"):
        assert [b for b in blocks(block.page) if kind(b) == "pre-commit"], block.page


# --- The GitHub Action -------------------------------------------------------------------

ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class ActionRun:
    """What running action.yml's steps left: each step's outputs, logs, what was uploaded."""

    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    log: str = ""
    uploaded: dict[str, str] | None = None
    failed_at: str | None = None
    exit_status: int = 0


def run_action(inputs: dict[str, Any], workspace: Path, scratch: Path) -> ActionRun:
    """action.yml's steps, as a runner would run them, in ``workspace``.

    A runner is not available here. Each ``run:`` step runs in bash as GitHub runs a composite
    step (``bash --noprofile --norc -eo pipefail``), with ``${{ }}`` expressions substituted and
    ``if:`` conditions evaluated (only the forms action.yml uses). Two steps are stood in for:
    actions/setup-python and the install step, by this venv, where the command is already
    installed from this repository (``$RUNNER_TEMP/ecs-nonroot`` is a link to it); the upload
    to code scanning by checking what it would upload."""
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    declared = action["inputs"]
    assert set(inputs) <= set(declared), set(inputs) - set(declared)
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in inputs.items()})
    runner_temp = scratch / "runner-temp"
    runner_temp.mkdir(parents=True)
    (runner_temp / "ecs-nonroot").symlink_to(Path(sys.prefix))
    result = ActionRun()

    def value(reference: str) -> str:
        if reference.startswith("inputs."):
            return values[reference.removeprefix("inputs.")]
        if reference == "github.action_path":
            return str(ROOT)
        if reference == "runner.temp":
            return str(runner_temp)
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", reference)
        assert match, f"no value for ${{{{ {reference} }}}}"
        return result.outputs.get(match[1], {}).get(match[2], "")

    def substitute(text: str) -> str:
        return EXPRESSION.sub(lambda m: value(m[1]), text)

    def condition(expression: str) -> bool:
        match = re.fullmatch(r"([\w.-]+) (==|!=) '([^']*)'", expression.strip())
        assert match, f"an if: this test cannot evaluate: {expression}"
        equal = value(match[1]) == match[3]
        return equal if match[2] == "==" else not equal

    for step in action["runs"]["steps"]:
        if "if" in step and not condition(step["if"]):
            continue
        uses = step.get("uses", "")
        if uses.startswith("actions/setup-python@"):
            result.outputs[step["id"]] = {"python-path": sys.executable}
            continue
        if uses.startswith("github/codeql-action/upload-sarif@"):
            result.uploaded = {k: substitute(str(v)) for k, v in step["with"].items()}
            continue
        assert not uses, f"no stand-in for {uses}"
        script = step["run"]
        if "pip install" in script:
            assert '"${{ github.action_path }}"' in script and "$RUNNER_TEMP/ecs-nonroot" in script
            continue  # stood in for by this venv (see above)
        output = scratch / f"output-{len(result.outputs)}"
        output.write_text("")
        script_file = scratch / "step.sh"
        script_file.write_text(substitute(script), encoding="utf-8")
        env = {
            "PATH": "/usr/bin:/bin",  # the job's PATH: the action must use its own command
            "HOME": str(scratch),
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_WORKSPACE": str(workspace),
            **{k: substitute(str(v)) for k, v in step.get("env", {}).items()},
        }
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        result.log += completed.stdout + completed.stderr
        if "id" in step:
            lines = output.read_text(encoding="utf-8").splitlines()
            result.outputs[step["id"]] = dict(line.split("=", 1) for line in lines)
        if completed.returncode != 0:
            result.failed_at, result.exit_status = step["name"], completed.returncode
            break
    return result


def test_the_action_pins_what_it_uses_by_commit() -> None:
    text = ACTION.read_text(encoding="utf-8")
    uses = re.findall(r"uses: (\S+)(.*)$", text, re.M)
    assert {u.split("@")[0] for u, _ in uses} == {
        "actions/setup-python",
        "github/codeql-action/upload-sarif",
    }
    for reference, comment in uses:
        assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", reference), reference
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), "say which release the commit is"


def test_the_action_passes_a_compliant_repository(tmp_path: Path) -> None:
    workspace = repository(tmp_path, ("stacks/web.yaml", COMPLIANT))
    result = run_action({}, workspace, tmp_path)
    assert result.failed_at is None, result.log
    assert result.outputs["check"] == {"exit-code": "0"}
    assert result.uploaded is None
    assert "::error" not in result.log


def test_the_action_fails_annotates_and_uploads_sarif(tmp_path: Path) -> None:
    workspace = repository(
        tmp_path,
        ("stacks/web.yaml", COMPLIANT),
        ("stacks/worker.yaml", NONCOMPLIANT),
        ("generated/old.yaml", NONCOMPLIANT),
        ("other place/worker.yaml", NONCOMPLIANT),
    )
    result = run_action(
        {"path": "stacks 'other place'", "sarif": True, "args": "--exclude generated"},
        workspace,
        tmp_path,
    )
    assert result.outputs["check"] == {"exit-code": "1"}
    assert result.failed_at == "Fail when a container can run as root"
    assert result.exit_status == 1
    assert "::error file=stacks/worker.yaml," in result.log
    assert "::error file=other place/worker.yaml," in result.log
    assert "generated/" not in result.log
    assert result.uploaded == {"sarif_file": "ecs-nonroot.sarif", "category": "ecs-nonroot"}
    sarif = json.loads((workspace / "ecs-nonroot.sarif").read_text(encoding="utf-8"))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        if r["level"] == "error"
    }
    assert {urllib.parse.unquote(uri) for uri in uris} == {
        "stacks/worker.yaml",
        "other place/worker.yaml",
    }


def test_the_action_takes_a_configuration_and_a_format(tmp_path: Path) -> None:
    workspace = repository(
        tmp_path,
        ("stacks/worker.yaml", NONCOMPLIANT),
        ("ci/nonroot.json", '{"ExemptContainerNames": ["worker"]}'),
    )
    result = run_action({"config": "ci/nonroot.json", "format": "json"}, workspace, tmp_path)
    assert result.failed_at is None, result.log
    document = json.loads(result.log)
    assert document["config"] == "ci/nonroot.json"
    assert document["exitCode"] == 0


@pytest.mark.parametrize("block", blocks_of("workflow"))
def test_workflow_snippets_run_the_action(block: Block, tmp_path: Path) -> None:
    workflow = read_yaml(block.text)
    assert yaml.safe_load(block.text)  # valid YAML as GitHub reads it
    (job,) = workflow["jobs"].values()
    ours = [s for s in job["steps"] if s.get("uses", "").startswith("guardrails-hooks/")]
    (step,) = ours
    name, _, ref = step["uses"].partition("@")
    assert f"https://github.com/{name}" == REPOSITORY_URL
    assert ref == "main" or git("cat-file", "-e", f"{ref}:action.yml").returncode == 0
    for other in job["steps"]:
        if other is not step:
            assert "run" not in other, "a run: step this test does not run"
            assert re.fullmatch(r"actions/checkout@[0-9a-f]{40}", other["uses"])
    inputs = step.get("with", {})
    if inputs.get("sarif") is True:
        assert workflow["permissions"]["security-events"] == "write"
    compliant = run_action(
        inputs, repository(tmp_path / "a", ("stacks/web.yaml", COMPLIANT)), tmp_path / "a"
    )
    assert compliant.failed_at is None, compliant.log
    failing = run_action(
        inputs, repository(tmp_path / "b", ("stacks/worker.yaml", NONCOMPLIANT)), tmp_path / "b"
    )
    assert failing.exit_status == 1, failing.log
    assert "::error file=stacks/worker.yaml," in failing.log


# --- GitLab CI and CodeBuild -------------------------------------------------------------


def run_job(lines: list[str], workspace: Path) -> subprocess.CompletedProcess[str]:
    """A CI job's commands in one shell that stops at the first failure, as GitLab's and
    CodeBuild's runners do. ``pip install`` lines are checked to install this project, not run:
    the command is already installed in this venv, first on PATH (GitHub is not reachable)."""
    script = []
    for line in lines:
        (command,) = commands(line)
        if command.argv[0] == "pip":
            assert_installs_this_project(command.argv)
        else:
            if is_ecs_nonroot(command.argv):
                assert_ecs_nonroot_options(command.argv)
            script.append(line)
    return run("set -e\n" + "\n".join(script), workspace)


def assert_job_reports(lines: list[str], report: str, tmp_path: Path) -> None:
    passing = repository(tmp_path / "a", ("stacks/web.yaml", COMPLIANT))
    result = run_job(lines, passing)
    assert result.returncode == 0, result.stdout + result.stderr
    suite = ElementTree.parse(passing / report).getroot()
    assert suite.get("failures") == "0"
    failing = repository(tmp_path / "b", ("stacks/worker.yaml", NONCOMPLIANT))
    result = run_job(lines, failing)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[root-user]" in result.stdout
    suite = ElementTree.parse(failing / report).getroot()
    assert suite.get("failures") == "1"


@pytest.mark.parametrize("block", blocks_of("gitlab"))
def test_gitlab_snippets_run(block: Block, tmp_path: Path) -> None:
    document = read_yaml(block.text)
    (job,) = document.values()
    assert job["image"].startswith("python:3.") and "slim" not in job["image"]  # git for pip
    (report,) = [job["artifacts"]["reports"]["junit"]]
    assert job["artifacts"]["when"] == "always"
    assert_job_reports(job["script"], report, tmp_path)


@pytest.mark.parametrize("block", blocks_of("buildspec"))
def test_buildspec_snippets_run(block: Block, tmp_path: Path) -> None:
    document = read_yaml(block.text)
    phases = document["phases"]
    assert set(phases) <= {"install", "pre_build", "build", "post_build"}
    python = str(phases["install"]["runtime-versions"]["python"])
    assert python in ("3.10", "3.11", "3.12", "3.13")
    lines = [line for phase in phases.values() for line in phase["commands"]]
    (report,) = document["reports"].values()
    assert report["file-format"] == "JUNITXML"
    (path,) = report["files"]
    assert_job_reports(lines, path, tmp_path)
