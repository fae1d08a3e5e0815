"""Compare ecs-nonroot with an independent reading of the same templates, container by container.

    python scripts/realworld.py DIR [DIR ...] [--record docs/realworld.md]

ecs-nonroot runs as users run it (``ecs-nonroot check DIR --format json``). The independent
reading shares only the policy with it (what is being checked is reading, resolving, attributing
and placing, not the decision table):

- parsing: cfn-lint's template decoder (``cfnlint.decode``: PyYAML with cfn-lint's constructors,
  cfn-lint's own JSON reader when YAML refuses a file), on PyYAML's pure-Python scanner and
  parser where ecs-nonroot uses libyaml's, with plain scalars that YAML 1.1 types as numbers,
  booleans or dates kept as the text written (the documented rule: decide on the text);
- resolving: the small resolver below, written for this script: Ref, Fn::Sub, Fn::Join,
  Fn::Select, Fn::Split, Fn::FindInMap, and Fn::If under every combination of the Fn::Equals
  comparisons the conditions a container depends on are built from;
- positions: the User key when the container writes one, else the container's mapping, lines
  ended by line feeds (in JSON cfn-lint marks a key inside its quotes and a mapping at its first
  key; both are moved to the quote and the brace, ecs-nonroot's convention). A container that
  merges keys (``<<``) is compared without its position: cfn-lint's mapping keeps the merged key
  where one is overridden, so it cannot tell where the container's own User is written.

Every disagreement is listed: a file one side reads and the other does not, task definitions
found, a container found by one side only, a verdict, a note, a task-definition-level problem.
The hook's stack layer (``stack.check_stack``, the template as CloudFormation sends it) is run
on every template with task definitions too: it must fail only containers ecs-nonroot fails, and
report each one ecs-nonroot fails as failed or unverified, never pass it.
Exit status 1 when there is any. ``--record`` writes the corpus's counts and the result into a
Markdown file between ``realworld`` markers.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from cfnlint.decode import cfn_yaml
from cfnlint.decode.decode import decode
from cfnlint.decode.mark import Mark as CfnLintMark

from guardrails_ecs_nonrootuser import stack
from guardrails_ecs_nonrootuser.cli import SUFFIXES
from guardrails_ecs_nonrootuser.policy import Settings, Verdict, evaluate

SEVERITY = ("SKIP", "PASS", "UNRESOLVED", "FAIL")
COUNTS: Counter[str] = Counter()
LIMIT = 64
WINDOWS = {"OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::Partition", "AWS::Region"}
PSEUDO |= {"AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}


class Typed(str):
    """A plain scalar YAML 1.1 types as a number, boolean or date: its text, marked."""


class PureLoader(yaml.SafeLoader, cfn_yaml.NodeConstructor):
    """cfn-lint's loader on PyYAML's pure-Python scanner and parser."""

    def __init__(self, stream: str, filename: str | None) -> None:
        yaml.SafeLoader.__init__(self, stream)
        cfn_yaml.NodeConstructor.__init__(self, filename)  # type: ignore[no-untyped-call]

    def construct_typed(self, node: yaml.ScalarNode) -> Typed:
        return Typed(node.value)


for _tag, _constructor in (
    ("map", cfn_yaml.NodeConstructor.construct_yaml_map),
    ("str", cfn_yaml.NodeConstructor.construct_yaml_str),
    ("seq", cfn_yaml.NodeConstructor.construct_yaml_seq),
    *((kind, PureLoader.construct_typed) for kind in ("int", "float", "bool", "timestamp")),
):
    PureLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _constructor)


@contextlib.contextmanager
def cfn_lint_loader(loader: Any) -> Iterator[None]:
    """cfn-lint's decoder building templates with ``loader`` (what ``cfn_yaml.loads`` uses)."""
    default = cfn_yaml.CfnFullLoader
    cfn_yaml.CfnFullLoader = loader  # type: ignore[misc]
    try:
        yield
    finally:
        cfn_yaml.CfnFullLoader = default  # type: ignore[misc]


# Resolution -------------------------------------------------------------------------------


class Unknown(Exception):  # noqa: N818  (a value known only at deploy time)
    pass


class Invalid(Exception):  # noqa: N818  (a function CloudFormation would refuse or fail)
    pass


REMOVE = object()


class Resolver:
    def __init__(self, template: Mapping[str, Any]) -> None:
        self.parameters = template.get("Parameters") or {}
        self.mappings = template.get("Mappings") or {}
        self.conditions = template.get("Conditions") or {}

    def ref(self, name: Any, defaults: bool = True) -> Any:
        if not isinstance(name, str):
            raise Invalid("Ref")
        if name == "AWS::NoValue":
            return REMOVE
        spec = self.parameters.get(name)
        if isinstance(spec, Mapping):
            kind = str(spec.get("Type", "String"))
            if kind.startswith("AWS::SSM::Parameter::Value") or not defaults:
                raise Unknown(name)
            if spec.get("Default") is None:
                raise Unknown(name)
            default = spec["Default"]
            if "List" in kind and isinstance(default, str):
                return [part.strip() for part in default.split(",")]
            return default if isinstance(default, (str, list)) else str(default)
        if name in PSEUDO or not name.startswith("AWS::"):
            raise Unknown(name)
        raise Invalid(name)

    def value(self, item: Any, defaults: bool = True) -> Any:
        if isinstance(item, list):
            return [x for x in (self.value(i, defaults) for i in item) if x is not REMOVE]
        if not isinstance(item, dict):
            return item
        if len(item) == 1:
            name, argument = next(iter(item.items()))
            if name == "Ref":
                return self.ref(argument, defaults)
            handler = getattr(self, "fn_" + str(name).removeprefix("Fn::").lower(), None)
            if str(name).startswith("Fn::"):
                if handler is None:
                    raise Unknown(name)
                return handler(argument, defaults)
        pairs = ((key, self.value(x, defaults)) for key, x in item.items())
        return {key: x for key, x in pairs if x is not REMOVE}

    def strings(self, items: list[Any], defaults: bool) -> list[str]:
        values = [self.value(x, defaults) for x in items]
        if not all(isinstance(x, str) for x in values):
            raise Invalid("not a string")
        return values

    def fn_sub(self, argument: Any, defaults: bool) -> str:
        text: Any = argument if isinstance(argument, str) else None
        names: Any = {}
        if isinstance(argument, list) and len(argument) == 2:
            text, names = argument
        if not isinstance(text, str) or not isinstance(names, Mapping):
            raise Invalid("Fn::Sub")
        out = []
        for piece in re.split(r"(\$\{[^}]*\})", text):
            if not (piece.startswith("${") and piece.endswith("}")):
                out.append(piece)
                continue
            name = piece[2:-1]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in names:
                out += self.strings([names[name]], defaults)
            elif "." in name:
                raise Unknown(name)
            else:
                out += self.strings([{"Ref": name}], defaults)
        return "".join(out)

    def fn_join(self, argument: Any, defaults: bool) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise Invalid("Fn::Join")
        (separator,) = self.strings([argument[0]], defaults)
        items = self.value(argument[1], defaults)
        if not isinstance(items, list):
            raise Invalid("Fn::Join")
        return separator.join(self.strings(items, defaults))

    def fn_select(self, argument: Any, defaults: bool) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise Invalid("Fn::Select")
        index, items = (self.value(x, defaults) for x in argument)
        if not (isinstance(index, str) and index.isdigit() and isinstance(items, list)):
            raise Invalid("Fn::Select")
        if int(index) >= len(items):
            raise Invalid("Fn::Select")
        return items[int(index)]

    def fn_split(self, argument: Any, defaults: bool) -> list[str]:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise Invalid("Fn::Split")
        separator, text = self.strings(argument, defaults)
        if not separator:
            raise Invalid("Fn::Split")
        return text.split(separator)

    def fn_findinmap(self, argument: Any, defaults: bool) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            raise Invalid("Fn::FindInMap")
        found: Any = self.mappings
        for key in self.strings(argument, defaults):
            if not isinstance(found, Mapping) or key not in found:
                raise Invalid("Fn::FindInMap")
            found = found[key]
        return self.value(found, defaults)

    def fn_if(self, argument: Any, defaults: bool) -> Any:
        raise Invalid("Fn::If")

    # Conditions: a formula over the Fn::Equals comparisons that no default decides.
    def truth(self, formula: Any, atoms: dict[str, bool | None], trail: tuple[str, ...]) -> bool:
        if isinstance(formula, Mapping) and len(formula) == 1:
            name, argument = next(iter(formula.items()))
            if name == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not self.truth(argument[0], atoms, trail)
            if name in ("Fn::And", "Fn::Or") and isinstance(argument, list) and argument:
                values = [self.truth(x, atoms, trail) for x in argument]
                return all(values) if name == "Fn::And" else any(values)
            if name == "Condition" and isinstance(argument, str) and argument not in trail:
                return self.truth(self.conditions.get(argument), atoms, (*trail, argument))
            if name == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                try:
                    left, right = (self.value(x, defaults=False) for x in argument)
                    return bool(left == right)
                except (Unknown, Invalid):
                    pass
        key = json.dumps([trail[-1] if formula is None else None, formula], default=str)
        return atoms.setdefault(key, None) is not False

    def cases(self, names: set[str]) -> list[dict[str, bool]]:
        atoms: dict[str, bool | None] = {}
        for name in names:
            self.truth(self.conditions.get(name), atoms, (name,))
        if 2 ** len(atoms) > LIMIT:
            raise OverflowError
        result = []
        for values in itertools.product((True, False), repeat=len(atoms)):
            truth: dict[str, bool | None] = dict(zip(atoms, values, strict=True))
            case = {n: self.truth(self.conditions.get(n), truth, (n,)) for n in names}
            if case not in result:
                result.append(case)
        return result


def tested(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        found = set()
        arguments = value.get("Fn::If") if len(value) == 1 else None
        if isinstance(arguments, list) and arguments and isinstance(arguments[0], str):
            found.add(arguments[0])
        for item in value.values():
            found |= tested(item)
        return found
    if isinstance(value, list):
        return set().union(*map(tested, value)) if value else set()
    return set()


def pick(value: Any, case: Mapping[str, bool]) -> Any:
    if isinstance(value, Mapping):
        arguments = value.get("Fn::If") if len(value) == 1 else None
        if isinstance(arguments, list) and len(arguments) == 3 and arguments[0] in case:
            return pick(arguments[1] if case[arguments[0]] else arguments[2], case)
        return {k: pick(v, case) for k, v in value.items()}
    if isinstance(value, list):
        return [pick(v, case) for v in value]
    return value


# Reading ------------------------------------------------------------------------------------


class Container(NamedTuple):
    logical_id: str
    position: int
    line: int
    column: int
    verdict: str
    note: bool


def is_function(value: Any) -> bool:
    return isinstance(value, Mapping) and any(
        str(key).startswith("Fn::") or key in ("Ref", "Condition") for key in value
    )


def branches(value: Any, guards: tuple[tuple[str, bool], ...]) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, Mapping) and len(value) == 1 and "Fn::If" in value:
        arguments = value["Fn::If"]
        if isinstance(arguments, list) and len(arguments) == 3 and isinstance(arguments[0], str):
            yield from branches(arguments[1], (*guards, (arguments[0], True)))
            yield from branches(arguments[2], (*guards, (arguments[0], False)))
            return
    yield value, guards


YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def where(container: Any, text: str) -> tuple[int, int]:
    """Line and column, counted from 1, lines ended by line feeds (cfn-lint's marks from YAML
    count YAML 1.1 line breaks: also CR, NEL, U+2028 and U+2029). (0, 0) for a container that
    merges keys (``<<``): cfn-lint's mapping keeps the merged key where one is overridden."""
    if getattr(container, "using_merge", False):
        return 0, 0
    user: Any = next((key for key in container if key == "User"), None)
    mark = user.start_mark if user is not None else container.start_mark
    is_json = isinstance(mark, CfnLintMark)  # read by cfn-lint's JSON reader, not by YAML
    if is_json:  # cfn_json counts lines by line feeds
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
    else:
        starts = [0] + [m.end() for m in YAML_LINE_BREAK.finditer(text)]
    offset = starts[mark.line] + mark.column
    if is_json:  # cfn-lint may mark a JSON key inside its quotes, a mapping at its first key
        if text[offset] != '"' and text[offset - 1] == '"':
            offset -= 1
        if user is None:
            offset = text.rindex("{", 0, offset + 1)
    line = text.count("\n", 0, offset)
    return line + 1, offset - (text.rindex("\n", 0, offset) + 1 if line else 0) + 1


def fields(resolver: Resolver, container: Mapping[str, Any]) -> dict[str, Any] | str:
    """The container's Name, Image and User resolved, or the verdict when User cannot be."""
    resolved: dict[str, Any] = {}
    for field in ("Name", "Image", "User"):
        if field not in container:
            continue
        try:
            value = resolver.value(container[field])
        except Unknown:
            if field == "User":
                return "UNRESOLVED"
            value = object()  # unknown: matches no exemption
        except Invalid:
            return "FAIL"
        if value is not REMOVE:
            resolved[field] = value
    return resolved


def decide(resolver: Resolver, container: Mapping[str, Any], platform: Any) -> tuple[str, bool]:
    """A container's verdict in one case."""
    resolved = fields(resolver, container)
    if isinstance(resolved, str):
        return resolved, False
    try:
        platforms = [resolver.value(platform)]
        if isinstance(platforms[0], Mapping):
            resolver.value(platforms[0].get("OperatingSystemFamily"))
    except Unknown:
        platforms = [{}, WINDOWS]
    except Invalid:
        return "FAIL", False
    verdicts, note = set(), False
    for form in platforms:
        properties: dict[str, Any] = {"ContainerDefinitions": [resolved]}
        if form is not REMOVE and form is not None:
            properties["RuntimePlatform"] = form
        try:
            (result,) = evaluate(properties, Settings()).results
        except ValueError:
            return "FAIL", False
        verdicts.add(result.verdict.value)
        user = resolved.get("User")
        typed = isinstance(user, Typed) and not re.fullmatch(r"-?(0|[1-9][0-9]*)|true|false", user)
        note = typed and result.verdict is not Verdict.SKIP
    if len(verdicts) > 1:
        return "UNRESOLVED", False
    return verdicts.pop(), note


def independent(path: Path) -> tuple[str, list[Container], set[str]]:
    """(status, containers, logical ids with a task-definition-level problem)."""
    with cfn_lint_loader(PureLoader):
        template, matches = decode(str(path))
    if matches or template is None:
        # what cfn-lint reads with its default loader (libyaml), where the pure-Python one refuses
        template, matches = decode(str(path))
        if not (matches or template is None):
            COUNTS["files only libyaml reads"] += 1  # PyYAML's two implementations differ
    if matches or template is None:
        return unread(path), [], set()
    resources = template.get("Resources") if isinstance(template, Mapping) else None
    if not isinstance(resources, Mapping) or not (
        "AWSTemplateFormatVersion" in template
        or not resources
        or any(
            isinstance(r, Mapping) and isinstance(r.get("Type"), str) for r in resources.values()
        )
    ):
        return "skipped", [], set()
    text = path.read_text(encoding="utf-8-sig")
    reading = Reading(Resolver(template), text)
    for logical_id, resource in resources.items():
        if isinstance(resource, Mapping) and resource.get("Type") == TASK_DEFINITION:
            reading.task_definition(logical_id, resource)
    return "checked", reading.found, reading.problems


class Reading:
    """The containers of one template's task definitions, as the independent reading sees them."""

    def __init__(self, resolver: Resolver, text: str) -> None:
        self.resolver, self.text = resolver, text
        self.found: list[Container] = []
        self.problems: set[str] = set()

    def task_definition(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        condition = resource.get("Condition")
        base = ((condition, True),) if isinstance(condition, str) else ()
        for properties, guards in self.expand(logical_id, resource.get("Properties"), base, dict):
            platform = properties.get("RuntimePlatform")
            definitions = properties.get("ContainerDefinitions")
            for containers, where_ in self.expand(logical_id, definitions, guards, list):
                for index, item in enumerate(containers):
                    for container, when in self.expand(logical_id, item, where_, dict):
                        line, column = where(container, self.text)
                        verdict, note = site_verdict(self.resolver, container, platform, when)
                        if verdict:
                            self.found.append(
                                Container(logical_id, index, line, column, verdict, note)
                            )

    def expand(
        self, logical_id: str, value: Any, guards: Any, kind: type
    ) -> Iterator[tuple[Any, Any]]:
        for written, when in branches(value, guards):
            form = written
            if is_function(written):
                try:
                    form = self.resolver.value(written)
                except (Unknown, Invalid):
                    self.problems.add(logical_id)
                    continue
            if form is None or form is REMOVE:
                continue
            if isinstance(form, kind) and not is_function(form):
                yield form, when
            else:
                self.problems.add(logical_id)


def _could_hold_a_task_definition(data: bytes) -> bool:
    """Whether a task definition can be written in a file no reader reads: not UTF-8, or the
    type spelled out, an escape that could spell it, a transform or module that could add one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    signs = ("AWS::ECS::TaskDefinition", "\\", "Transform", "::MODULE")
    return any(sign in text for sign in signs)


def unread(path: Path) -> str:
    """A file cfn-lint cannot read: "skipped" when no task definition can be written in it, or
    it holds no template (Helm charts, several Kubernetes documents); "error" when it does, or
    when neither YAML nor JSON reads it."""
    data = path.read_bytes()
    if not _could_hold_a_task_definition(data):
        return "skipped"  # what no reader reads, and where no task definition can be written
    text = data.decode("utf-8", "replace")
    try:
        documents = [
            {key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)}
            if isinstance(node, yaml.MappingNode)
            else set()
            for node in yaml.compose_all(text, Loader=yaml.CSafeLoader)
        ]
    except yaml.YAMLError:
        try:
            document = json.loads(text)
        except ValueError:
            return "error"
        documents = [set(document) if isinstance(document, dict) else set()]
    return "error" if any("Resources" in keys for keys in documents) else "skipped"


def site_verdict(
    resolver: Resolver, container: Any, platform: Any, guards: Any
) -> tuple[str, bool]:
    read = [container.get(field) for field in ("Name", "Image", "User")]  # what the policy reads
    names = {name for name, _ in guards} | tested(read) | tested(platform)
    try:
        cases = resolver.cases(names)
    except OverflowError:
        return "UNRESOLVED", False
    worst: tuple[str, bool] | None = None
    for case in cases:
        if any(case[name] != value for name, value in guards):
            continue
        outcome = decide(resolver, pick(container, case), pick(platform, case))
        if worst is None or SEVERITY.index(outcome[0]) > SEVERITY.index(worst[0]):
            worst = outcome
        elif outcome[0] == worst[0]:
            worst = (worst[0], worst[1] or outcome[1])
    return worst if worst else ("", False)


# Comparing ----------------------------------------------------------------------------------


def ours(directories: list[str]) -> dict[str, dict[str, Any]]:
    """ecs-nonroot's reports with the policy's defaults (no .ecs-nonroot.json), as the
    independent reading decides."""
    command = [str(Path(sys.executable).with_name("ecs-nonroot")), "check", "--no-config"]
    command += directories
    result = subprocess.run(
        [*command, "--format", "json"], capture_output=True, text=True, check=False
    )
    return {f["path"]: f for f in json.loads(result.stdout)["files"]}


def files(directories: list[str]) -> Iterator[Path]:
    for directory in directories:
        for root, folders, names in os.walk(directory):
            folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "node_modules")
            for name in sorted(names):  # what ecs-nonroot searches: no hidden files either
                if name.lower().endswith(SUFFIXES) and not name.startswith("."):
                    yield Path(root, name)


def compare(directories: list[str]) -> tuple[dict[str, Counter[str]], list[str]]:
    """Counts per directory, and every disagreement."""
    reports = ours(directories)
    counts: dict[str, Counter[str]] = {}
    disagreements = []
    for directory in directories:
        COUNTS.clear()
        counts[directory] = COUNTS.copy()
        disagreements += compare_directory(directory, reports, counts[directory])
        counts[directory].update(COUNTS)
    return counts, disagreements


def compare_directory(
    directory: str, reports: dict[str, dict[str, Any]], counts: Counter[str]
) -> list[str]:
    disagreements = []
    for path in files([directory]):
        report = reports[str(path)]
        status, containers, problems = independent(path)
        counts["files"] += 1
        if status != report["status"]:
            disagreements.append(f"{path}: read as {report['status']}, independently {status}")
            continue
        if status != "checked":
            continue
        counts["templates"] += 1
        mine = {
            Container(
                t["logicalId"],
                c["index"],
                c["line"],
                c["column"],
                c["verdict"],
                any(
                    f["rule"] == "unquoted-yaml11-value" and f["line"] == c["line"]
                    for f in t["findings"]
                ),
            )
            for t in report["taskDefinitions"]
            for c in t["containers"]
        }
        unplaced = {(c.logical_id, c.position) for c in containers if c.line == 0}
        mine = {
            c._replace(line=0, column=0) if (c.logical_id, c.position) in unplaced else c
            for c in mine
        }
        my_problems = {
            t["logicalId"]
            for t in report["taskDefinitions"]
            if any(f["container"] is None for f in t["findings"])
        }
        counts["task definitions"] += len(report["taskDefinitions"])
        counts["containers"] += len(mine)
        counts.update(f"verdict {c.verdict}" for c in mine)
        for container in sorted(mine ^ set(containers)):
            side = "ecs-nonroot only" if container in mine else "independent only"
            disagreements.append(f"{path}: {side}: {container}")
        for logical_id in sorted(my_problems ^ problems):
            disagreements.append(f"{path}: task-definition problem differs: {logical_id}")
        if mine:
            failing = {(c.logical_id, c.position) for c in mine if c.verdict == "FAIL"}
            disagreements += stack_layer(path, failing, counts)
    return disagreements


def stack_layer(path: Path, failing: set[tuple[str, int]], counts: Counter[str]) -> list[str]:
    """The stack layer's verdicts on the template, against the command's failures."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    outcome = stack.check_stack({"template": text}, Settings())
    found = {
        status: {(i.logical_id, i.container) for i in outcome.items if i.status == status}
        for status in stack.STATUSES
    }
    counts["stack layer FAIL"] += len(found[stack.FAIL])
    counts["stack layer unverified"] += len(found[stack.UNVERIFIED])
    wrong = [
        f"{path}: the stack layer fails {c}, ecs-nonroot passes it"
        for c in found[stack.FAIL] - failing
    ]
    passed = failing - found[stack.FAIL] - found[stack.UNVERIFIED]
    wrong += [f"{path}: the stack layer passes {c}, ecs-nonroot fails it" for c in passed]
    return sorted(wrong)


def total(counts: dict[str, Counter[str]]) -> Counter[str]:
    return sum(counts.values(), Counter())


def describe(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[key]:,} {key}" for key in sorted(counts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="+")
    parser.add_argument("--record", type=Path, help="Markdown file to record the result in")
    args = parser.parse_args()
    logging.getLogger("cfnlint").setLevel(logging.CRITICAL)  # its parse errors are counted here
    counts, disagreements = compare(args.directories)
    for line in disagreements:
        print(line)
    print(f"{describe(total(counts))}; {len(disagreements)} disagreements")
    if args.record:
        record(args.record, counts, len(disagreements))
    return 1 if disagreements else 0


def record(document: Path, counts: dict[str, Counter[str]], disagreements: int) -> None:
    columns = ("files", "templates", "task definitions", "containers")
    rows = [
        f"| `{Path(directory).name}` | " + " | ".join(f"{found[c]:,}" for c in columns) + " |"
        for directory, found in counts.items()
    ]
    everything = total(counts)
    table = "\n".join(
        [
            "<!-- realworld -->",
            "| Directory | " + " | ".join(c.capitalize() for c in columns) + " |",
            "| --- | " + " | ".join("---:" for _ in columns) + " |",
            *rows,
            "| **All** | " + " | ".join(f"**{everything[c]:,}**" for c in columns) + " |",
            "",
            f"{describe(everything)}; **{disagreements} disagreements**.",
            "<!-- /realworld -->",
        ]
    )
    text = document.read_text(encoding="utf-8")
    text = re.sub(r"<!-- realworld -->.*<!-- /realworld -->", lambda _: table, text, flags=re.S)
    document.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
