"""Read a CloudFormation template (YAML or JSON) as CloudFormation users' tools read it.

Parsing is PyYAML's, configured as cfn-lint configures it: libyaml's C composer where PyYAML has
it (the pure-Python one otherwise), and when that refuses a document that looks like JSON, the
standard library's JSON reading of it. So every template cfn-lint, ``aws cloudformation
package`` or SAM reads, this reads, with the same values. Only what the check needs is turned
into Python values: ``Parameters``, ``Mappings``, ``Conditions``, each resource's ``Type`` and
``Condition``, and for task definitions the properties the policy reads (``RuntimePlatform`` and
each container's ``Name``, ``Image`` and ``User``, through any ``Fn::If`` around them).

Values keep the text as written: a plain scalar that YAML 1.1 types as something other than a
string (``1000:50`` is the base-60 number 60050 to PyYAML) comes back as a ``PlainScalar`` that
says how it is read, so nothing is decided on a mangled value. Short-form tags become the long
form (``!Ref x`` -> ``{"Ref": "x"}``, ``!GetAtt a.b`` -> ``{"Fn::GetAtt": ["a", "b"]}``), and
merge keys (``<<``) merge as YAML specifies (keys written in the mapping win; among merged
mappings, the earlier wins). A key written twice in one mapping makes the file unreadable, as it
does for cfn-lint: loaders disagree on which value wins.

A file is a template when it is a mapping whose ``Resources`` is a mapping that is empty, holds a
resource with a ``Type``, or comes with ``AWSTemplateFormatVersion``. A file of several YAML
documents (Kubernetes manifests) is not one, and is an error if one of its documents is.

Mappings come back as ``Located`` dicts that know where they start in the file and where each
of their keys is: line and column, counted from 1 in characters of the text as written (a tab
is one column), whatever multi-line scalars, escapes, CRLF line ends or byte-order mark precede
them. Positions come from the parser's own marks, so reading is linear in the file's size.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable
from json.decoder import JSONDecodeError
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from .policy import quote as _quote

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml: same results, slower
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

TASK_DEFINITION = "AWS::ECS::TaskDefinition"
MAX_FLOW_DEPTH = 512
"""Deepest nesting of ``[...]``/``{...}`` read: libyaml's time grows with the square of it."""
MAX_VALUES = 1_000_000
"""How many values are built from one template, YAML aliases expanded, before it is refused."""

_KEEP_PROPERTIES = frozenset({"ContainerDefinitions", "RuntimePlatform"})
_KEEP_CONTAINER = frozenset({"Name", "Image", "User"})
_CORE = "tag:yaml.org,2002:"
# How YAML 1.1 (PyYAML's resolver) reads a plain scalar typed other than as a string.
_READINGS = {
    "int": "a number",
    "float": "a floating-point number",
    "bool": "a boolean",
    "timestamp": "a date",
    "null": "null",
}
# A number or boolean that CloudFormation would send back as the same text.
_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)|true|false")
# Any number of nesting levels needs this much of the C stack per level in libyaml's composer
# (measured: about 330 bytes), with room to spare.
_STACK_PER_LEVEL = 512
_MAIN_STACK_LEVELS = 12_000
_FLOW_CHECK_FROM = 4_096


class TemplateError(ValueError):
    """The file cannot be read as a template (not UTF-8, or not valid YAML or JSON)."""


class Position(NamedTuple):
    """Where something is written: line and column, both counted from 1."""

    line: int
    column: int


class PlainScalar(str):
    """An unquoted YAML scalar that a YAML 1.1 loader reads as something other than its text."""

    reading: str

    def __new__(cls, text: str, reading: str) -> PlainScalar:
        scalar = super().__new__(cls, text)
        scalar.reading = reading
        return scalar


class Located(dict[str, Any]):
    """A mapping as written in the file: where it starts, and where each of the keys written in
    it (not merged into it with ``<<``) is."""

    start: Position
    keys_at: dict[str, Position]


class TaskDefinition(NamedTuple):
    properties: Any
    """Its Properties, keeping only what the policy reads."""
    position: Position
    """Where its logical id is written."""
    condition: str | None
    """The resource's Condition: it exists only when that condition is true."""


class Template(NamedTuple):
    """The parts of one template the check needs."""

    parameters: dict[str, Any]
    mappings: dict[str, Any]
    conditions: dict[str, Any]
    task_definitions: dict[str, TaskDefinition]


def load(data: bytes) -> Template | None:
    """The template in ``data``, or None when it is not a CloudFormation template."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise TemplateError(f"not UTF-8 text (byte {error.start})") from None
    documents = _compose(text)
    try:
        lines = _Lines(text)
        templates = [_Builder(lines).template(document) for document in documents]
    except RecursionError:
        raise TemplateError("nested too deeply to read") from None
    found = [(d, t) for d, t in zip(documents, templates, strict=True) if t is not None]
    if not found:
        return None
    if len(documents) > 1:
        raise TemplateError(
            f"{len(documents)} YAML documents in one file; CloudFormation reads one template"
        )
    document, template = found[0]
    _refuse_ambiguous_keys(document)
    return template


def _refuse_ambiguous_keys(root: Node) -> None:
    """Refuse a template with a key written twice in one mapping (loaders keep the first or the
    last, or refuse it, as cfn-lint does) or a key that is not a string, naming the lines."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, ScalarNode):
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
            continue
        keys: dict[object, Node] = {}
        for key, value in node.value:
            stack.append(value)
            if key.tag == _CORE + "merge":
                continue
            if not isinstance(key, ScalarNode) or _is_tagged(key):
                raise TemplateError(
                    f"a mapping key that is not a string (line {key.start_mark.line + 1})"
                )
            first = keys.setdefault(key.value, key)
            if first is not key:
                raise TemplateError(
                    f"the key {_quote(str(key.value))} is written twice in one mapping "
                    f"(lines {first.start_mark.line + 1} and {key.start_mark.line + 1})"
                )


def _compose(text: str) -> list[Node]:
    """The documents' node graphs, from libyaml or, for JSON libyaml refuses, from json."""
    levels = sum(text.count(char) for char in "[{-?:")
    if text.count("[") + text.count("{") > _FLOW_CHECK_FROM:
        _check_flow_depth(text)
    try:
        if levels <= _MAIN_STACK_LEVELS:
            return _compose_all(text)
        return _on_large_stack(lambda: _compose_all(text), levels)
    except yaml.YAMLError as error:
        problem = _problem(error, _Lines(text))
    if text.lstrip().startswith("{"):
        try:
            return [_compose_json(text)]
        except TemplateError:
            pass  # not JSON either: say why it is not YAML
    raise TemplateError(f"not valid YAML or JSON: {problem}")


def _compose_all(text: str) -> list[Node]:
    return list(yaml.compose_all(text, Loader=_Loader))


def _problem(error: yaml.YAMLError, lines: _Lines) -> str:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = " (line {}, column {})".format(*lines.position(mark.index)) if mark else ""
        return f"{error.problem}{where}"
    return _reader_problem(error)


def _reader_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, ReaderError):
        return f"character #x{error.character:04x} is not allowed (position {error.position})"
    return "the parser refused it"


def _check_flow_depth(text: str) -> None:
    """Refuse ``[``/``{`` nesting deeper than MAX_FLOW_DEPTH before composing it."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
                depth += 1
                if depth > MAX_FLOW_DEPTH:
                    line = token.start_mark.line + 1
                    raise TemplateError(
                        f"nested more than {MAX_FLOW_DEPTH} levels of [ and {{ (line {line})"
                    )
            elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
                depth -= 1
    except yaml.YAMLError:
        return  # composing reports it, or reads the text as JSON


def _on_large_stack(compose: Callable[[], list[Node]], levels: int) -> list[Node]:
    """Run libyaml's recursive composer on a thread whose stack fits ``levels`` of nesting."""
    result: list[list[Node]] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(compose())
        except BaseException as error:  # re-raised on the calling thread
            failure.append(error)

    previous = threading.stack_size(max(levels * _STACK_PER_LEVEL, 8 << 20) + (1 << 20))
    try:
        worker = threading.Thread(target=run, name="compose")
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


class _Builder:
    """Turns composed nodes into the values the check needs, within MAX_VALUES."""

    def __init__(self, lines: _Lines) -> None:
        self.budget = MAX_VALUES
        self.lines = lines

    def template(self, root: Node | None) -> Template | None:
        if not isinstance(root, MappingNode):
            return None
        top = _pairs(root)
        resources = top.get("Resources")
        if resources is None or not isinstance(resources[1], MappingNode):
            return None
        is_template = "AWSTemplateFormatVersion" in top or not resources[1].value
        task_definitions: dict[str, TaskDefinition] = {}
        for logical_id, (key, resource) in _pairs(resources[1]).items():
            fields = _pairs(resource) if isinstance(resource, MappingNode) else {}
            kind = fields.get("Type")
            if kind is None or not isinstance(kind[1], ScalarNode):
                continue
            is_template = True
            if kind[1].value != TASK_DEFINITION:
                continue
            properties = fields.get("Properties")
            condition = fields.get("Condition")
            task_definitions[logical_id] = TaskDefinition(
                self.properties(properties[1]) if properties else None,
                self.lines.at(key),
                condition[1].value if condition and isinstance(condition[1], ScalarNode) else None,
            )
        if not is_template:
            return None
        return Template(
            self.section(top, "Parameters"),
            self.section(top, "Mappings"),
            self.section(top, "Conditions"),
            task_definitions,
        )

    def section(self, top: dict[str, tuple[Node, Node]], name: str) -> dict[str, Any]:
        value = self.value(top[name][1]) if name in top else None
        return value if isinstance(value, dict) else {}

    def properties(self, node: Node) -> Any:
        """A task definition's Properties, keeping only what the policy reads."""
        function = _if_arguments(node)
        if function is not None:
            return self.branches(node, function, self.properties)
        if not _plain_map(node):
            return self.value(node)
        assert isinstance(node, MappingNode)
        kept = self.located(node, _KEEP_PROPERTIES - {"ContainerDefinitions"})
        containers = _pairs(node).get("ContainerDefinitions")
        if containers is not None:
            kept["ContainerDefinitions"] = self.container_list(containers[1])
            kept.keys_at["ContainerDefinitions"] = self.lines.at(containers[0])
        return kept

    def container_list(self, node: Node) -> Any:
        function = _if_arguments(node)
        if function is not None:
            return self.branches(node, function, self.container_list)
        if isinstance(node, SequenceNode) and not _is_tagged(node):
            self.spend(len(node.value))
            return [self.container(item) for item in node.value]
        return self.value(node)

    def container(self, node: Node) -> Any:
        function = _if_arguments(node)
        if function is not None:
            return self.branches(node, function, self.container)
        if _plain_map(node):
            assert isinstance(node, MappingNode)
            return self.located(node, _KEEP_CONTAINER)
        return self.value(node)

    def branches(self, node: Node, arguments: list[Node], each: Callable[[Node], Any]) -> Any:
        """``Fn::If`` [condition, a, b] with ``each`` applied to both branches."""
        condition, true, false = arguments
        self.spend(3)
        return {"Fn::If": [self.value(condition), each(true), each(false)]}

    def located(self, node: MappingNode, keep: frozenset[str] | None = None) -> Located:
        """The mapping with its positions, only the keys in ``keep`` when it is given."""
        result = Located()
        result.start = self.lines.at(node)
        result.keys_at = {}
        own = {id(key_node) for key_node, _ in node.value}
        for key, (key_node, value) in _pairs(node).items():
            if keep is None or key in keep:
                result[key] = self.value(value)
                if id(key_node) in own:  # written here, not merged in from elsewhere
                    result.keys_at[key] = self.lines.at(key_node)
        self.spend(len(result) + 1)
        return result

    def value(self, node: Node) -> Any:
        """The Python value of a node, short-form tags turned into the long form."""
        self.spend(1)
        tag = node.tag
        if isinstance(node, ScalarNode):
            value: Any = _scalar(node)
        elif isinstance(node, SequenceNode):
            value = [self.value(item) for item in node.value]
        else:
            assert isinstance(node, MappingNode)
            if not tag.startswith("!"):
                return self.located(node)
            value = {key: self.value(item) for key, (_, item) in _pairs(node).items()}
        if tag.startswith("!"):
            return _long_form(tag[1:], value)
        return value

    def spend(self, count: int) -> None:
        self.budget -= count
        if self.budget < 0:
            raise TemplateError(f"more than {MAX_VALUES:,} values once YAML aliases are expanded")


def _pairs(node: MappingNode) -> dict[str, tuple[Node, Node]]:
    """A mapping's keys, with merge keys applied as PyYAML applies them; the last repeat wins."""
    merged: dict[str, tuple[Node, Node]] = {}
    own: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        if key.tag == _CORE + "merge":
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in reversed(sources):  # the first merged mapping wins
                if not isinstance(source, MappingNode):
                    raise TemplateError(
                        f"a merge key (<<) must refer to mappings (line {key.start_mark.line + 1})"
                    )
                merged.update(_pairs(source))
        else:
            own[_key_text(key)] = (key, value)
    merged.update(own)
    return merged


def _key_text(node: Node) -> str:
    """A key's text; a key that is not a scalar cannot name anything the check reads."""
    return str(node.value) if isinstance(node, ScalarNode) else ""


def _scalar(node: ScalarNode) -> str | None:
    text = str(node.value)
    if node.style or node.tag.startswith("!"):
        return text  # quoted, block or folded, or a tag's argument: a string as written
    kind = node.tag.removeprefix(_CORE)
    if kind == "null":
        return None
    reading = _READINGS.get(kind)
    if reading is None or _CANONICAL.fullmatch(text):
        return text
    return PlainScalar(text, reading)


def _long_form(name: str, value: Any) -> Any:
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if name in ("Ref", "Condition"):
        return {name: value}
    return {f"Fn::{name}": value}


def _if_arguments(node: Node) -> list[Node] | None:
    """The three argument nodes of an ``Fn::If`` written in either form, else None."""
    if node.tag == "!If":
        arguments = node
    elif isinstance(node, MappingNode) and not _is_tagged(node) and len(node.value) == 1:
        ((key, arguments),) = node.value
        if not (isinstance(key, ScalarNode) and key.value == "Fn::If") or _is_tagged(arguments):
            return None
    else:
        return None
    if isinstance(arguments, SequenceNode) and len(arguments.value) == 3:
        return list(arguments.value)
    return None


def _is_tagged(node: Node) -> bool:
    return str(node.tag).startswith("!")


def _plain_map(node: Node) -> bool:
    """A mapping that is not an intrinsic function (no tag, no Ref / Fn:: / Condition key)."""
    if not isinstance(node, MappingNode) or _is_tagged(node):
        return False
    return not any(
        isinstance(key, ScalarNode)
        and (str(key.value).startswith("Fn::") or key.value in ("Ref", "Condition"))
        for key, _ in node.value
    )


class _Lines:
    """Line and column of a character offset, counting lines as editors, code scanning and
    SARIF do: ended by a line feed (so CRLF too). YAML 1.1 also ends lines at NEL, U+2028 and
    U+2029, so the parser's own line numbers are not used."""

    def __init__(self, text: str) -> None:
        self.newlines = [match.start() for match in re.finditer("\n", text)]

    def position(self, index: int) -> Position:
        line = bisect.bisect_left(self.newlines, index)
        return Position(line + 1, index - (self.newlines[line - 1] if line else -1))

    def at(self, node: Node) -> Position:
        return self.position(node.start_mark.index)


# JSON that libyaml refuses (raw C1 control characters, "\ud800" escapes, keys over 1,024
# characters) is read by the standard library's rules into the same node types.
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"true": "bool", "false": "bool", "null": "null"}


def _compose_json(text: str) -> Node:
    reader = _JsonReader(text)
    try:
        node = reader.node(reader.skip(0))
        if reader.skip(reader.end) != len(text):
            reader.fail(reader.skip(reader.end), "extra data after the template")
        return node
    except RecursionError:
        raise TemplateError("nested too deeply to read") from None


class _JsonReader:
    """A JSON reader that records where each value starts, as PyYAML's marks do."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.end = 0
        self.lines = _Lines(text)

    def skip(self, index: int) -> int:
        match = _WHITESPACE.match(self.text, index)
        assert match is not None
        return match.end()

    def mark(self, index: int) -> yaml.Mark:
        line, column = self.lines.position(index)
        return yaml.Mark("<json>", index, line - 1, column - 1, None, 0)

    def fail(self, index: int, problem: str) -> None:
        line, column = self.lines.position(index)
        raise TemplateError(f"not valid YAML or JSON: {problem} (line {line}, column {column})")

    def node(self, index: int) -> Node:
        text, start = self.text, self.mark(index)
        char = text[index : index + 1]
        if char == "{":
            return self.mapping(index, start)
        if char == "[":
            items: list[Node] = []
            index = self.skip(index + 1)
            if text.startswith("]", index):
                self.end = index + 1
                return SequenceNode(_CORE + "seq", items, start, start, flow_style=True)
            while True:
                items.append(self.node(index))
                index = self.skip(self.end)
                if text.startswith("]", index):
                    self.end = index + 1
                    return SequenceNode(_CORE + "seq", items, start, start, flow_style=True)
                self.expect(index, ",")
                index = self.skip(index + 1)
        if char == '"':
            value = self.string(index)
            return ScalarNode(_CORE + "str", value, start, start, style='"')
        for literal, kind in _LITERALS.items():
            if text.startswith(literal, index):
                self.end = index + len(literal)
                return ScalarNode(_CORE + kind, literal, start, start)
        number = _NUMBER.match(text, index)
        if number is None:
            self.fail(index, "expected a value")
        assert number is not None
        self.end = number.end()
        kind = "int" if number.group().lstrip("-").isdigit() else "float"
        return ScalarNode(_CORE + kind, number.group(), start, start)

    def mapping(self, index: int, start: yaml.Mark) -> MappingNode:
        text, pairs = self.text, []
        index = self.skip(index + 1)
        if not text.startswith("}", index):
            while True:
                if not text.startswith('"', index):
                    self.fail(index, "expected a string key")
                key = ScalarNode(_CORE + "str", self.string(index), self.mark(index), start, '"')
                index = self.skip(self.end)
                self.expect(index, ":")
                pairs.append((key, self.node(self.skip(index + 1))))
                index = self.skip(self.end)
                if text.startswith("}", index):
                    break
                self.expect(index, ",")
                index = self.skip(index + 1)
        self.end = index + 1
        return MappingNode(_CORE + "map", pairs, start, start, flow_style=True)

    def string(self, index: int) -> str:
        try:
            value, self.end = _scanstring(self.text, index + 1, True)
        except JSONDecodeError as error:
            self.fail(error.pos, error.msg)
        return str(value)

    def expect(self, index: int, char: str) -> None:
        if not self.text.startswith(char, index):
            self.fail(index, f"expected {char!r}")
