"""Read a CloudFormation template (YAML or JSON) as CloudFormation users' tools read it.

Parsing is PyYAML's, as cfn-lint configures it: libyaml's parser where PyYAML has it (its
pure-Python one otherwise, as in the Lambda package), except that a document that is JSON is
read by JSON's rules, which give the same nodes (and read JSON libyaml refuses). So every
template cfn-lint, ``aws cloudformation package`` or SAM reads, this reads, with the same
values (PyYAML's pure-Python parser refuses a few that libyaml reads, such as a tab after a
key's colon; it reads none differently). The parser's events are composed here, without
recursion: libyaml's own composer recurses in C and crashes the interpreter on deep nesting, and
its scanner's time grows with the square of ``[``/``{`` nesting, so nesting beyond
``MAX_DEPTH`` is refused as it arrives.
Only what the check needs is turned into Python values: ``Parameters``, ``Mappings``,
``Conditions``, each resource's ``Type`` and ``Condition``, and for task definitions the
properties the policy reads (``RuntimePlatform`` and each container's ``Name``, ``Image`` and
``User``, through any ``Fn::If`` around them).

Values keep the text as written: a plain scalar that YAML 1.1 types as something other than a
string (``1000:50`` is the base-60 number 60050 to PyYAML) comes back as a ``PlainScalar`` that
says how it is read, so nothing is decided on a mangled value. Short-form tags become the long
form (``!Ref x`` -> ``{"Ref": "x"}``, ``!GetAtt a.b`` -> ``{"Fn::GetAtt": ["a", "b"]}``), and
merge keys (``<<``) merge as YAML specifies (keys written in the mapping win; among merged
mappings, the earlier wins).

A file is a template when it is a mapping whose ``Resources`` is a mapping that is empty, holds a
resource with a ``Type``, or comes with ``AWSTemplateFormatVersion``. Ambiguity is never resolved
by a choice: a key written twice in one mapping (loaders keep the first, the last, or refuse it,
as cfn-lint does) or a key that is not a string makes the task definition it is written in
unverifiable (``TaskDefinition.problem``), and the whole template unreadable when it is written
anywhere else (it may decide a parameter, a mapping, a condition or which resources exist); so
does a template among several YAML documents. A file of several documents none of which is a
template (Kubernetes manifests) is no template.

Resources an ``Fn::ForEach`` loop (the AWS::LanguageExtensions transform) writes come back as
``Loop``s, for ``resolve.for_each`` to expand against parameter values. What other transforms
do cannot be known offline: the names of the top-level ``Transform``s and of each
``Fn::Transform`` in ``Resources`` are listed with where they are written.

Plain mappings come back as ``Located`` dicts that know where they start and where each of their
own keys is: line and column, counted from 1 in characters of the text as written (a tab is one
column), lines ended by line feeds as editors and code scanning count them, whatever multi-line
scalars, escapes, CRLF line ends or byte-order mark precede them. Positions come from the
parser's character offsets, so reading is linear in the file's size.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from .policy import OVERRIDE_PROPERTIES
from .policy import quote as _quote

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml: same results, slower
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_CORE = "tag:yaml.org,2002:"
_SURROGATE = re.compile("[\ud800-\udfff]")
_MERGE = _CORE + "merge"
_PLAIN = "tag:guardrails-ecs-nonrootuser,2026:plain"
"""The tag of a plain scalar whose YAML 1.1 type is not resolved yet."""


def _resolved(value: str, plain: bool) -> str:
    """The tag PyYAML's resolver gives an untagged scalar, except that a plain scalar's YAML 1.1
    type is left for ``_scalar`` to resolve if it is used: resolving runs a regular expression
    or two, and composing a template would run them for every scalar of the file."""
    if not plain:
        return _CORE + "str"
    return _MERGE if value == "<<" else _PLAIN


_RESOLVER = yaml.resolver.Resolver()

TASK_DEFINITION = "AWS::ECS::TaskDefinition"
MODULE_SUFFIX = "::MODULE"
"""How a CloudFormation module's type ends: it writes resources, task definitions too."""
MAX_DEPTH = 256
"""Deepest nesting of mappings and sequences read (real templates nest a few dozen levels)."""
MAX_VALUES = 1_000_000
"""How many values are built from one template, YAML aliases expanded, before it is refused."""

_KEEP_PROPERTIES = frozenset({"ContainerDefinitions", "RuntimePlatform", "Tags"})
_KEEP_CONTAINER = frozenset(
    {"Name", "Image", "User", "FirelensConfiguration", *OVERRIDE_PROPERTIES}
)
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


class TemplateError(ValueError):
    """The file cannot be read as a template (not UTF-8, or not valid YAML or JSON)."""


class Position(NamedTuple):
    """Where something is written: line and column, both counted from 1."""

    line: int
    column: int


class PlainScalar(str):
    """An unquoted YAML scalar that a YAML 1.1 loader reads as something other than its text."""

    reading: str
    number: str | None
    """The integer a YAML 1.1 loader reads (``0x0`` -> ``"0"``), as CloudFormation then gets
    it, when it is read as an integer."""
    canonical: str | None
    """What CloudFormation gets once a YAML 1.1 loader has read the scalar and written it back
    (``aws cloudformation package``): the integer's digits, ``true`` or ``false`` for a
    boolean; None when that is not known (a float, a date)."""

    def __new__(
        cls, text: str, reading: str, number: str | None = None, canonical: str | None = None
    ) -> PlainScalar:
        scalar = super().__new__(cls, text)
        scalar.reading = reading
        scalar.number = number
        scalar.canonical = number if canonical is None else canonical
        return scalar


class Located(dict[str, Any]):
    """A mapping that is not an intrinsic function, as written in the file: where it starts,
    and where each of the keys written in it (not merged into it with ``<<``) is."""

    lines: _Lines
    offset: int
    key_offsets: dict[str, int]

    @property
    def start(self) -> Position:
        return self.lines.position(self.offset)

    def key_position(self, key: str) -> Position | None:
        """Where ``key`` is written in this mapping; None when it is not (absent, or merged)."""
        offset = self.key_offsets.get(key)
        return None if offset is None else self.lines.position(offset)

    def like(self, items: dict[str, Any]) -> Located:
        """``items`` as a mapping written where this one is."""
        copy = Located(items)
        copy.lines, copy.offset, copy.key_offsets = self.lines, self.offset, self.key_offsets
        return copy


class TaskDefinition(NamedTuple):
    properties: Any
    """Its Properties, keeping only what the policy reads."""
    position: Position
    """Where its logical id is written."""
    condition: str | None
    """The resource's Condition: it exists only when that condition is true."""
    problem: str = ""
    """Why it cannot be verified as written (a key written twice in it), or ""."""
    type: str = TASK_DEFINITION
    """Its Type as written: in a loop's body, one that names the loop's identifier
    (``AWS::ECS::${Kind}``) is kept until the loop is expanded."""


class Loop(NamedTuple):
    """An ``Fn::ForEach`` in Resources: ``body`` is written once for each item of ``collection``
    with ``identifier`` replaced by the item."""

    name: str
    """As written: ``Fn::ForEach::LoopName``."""
    position: Position
    identifier: Any
    collection: Any
    body: dict[str, TaskDefinition | Loop]
    """The task definitions and loops it writes, by output key (``Task${Name}``)."""
    problem: str = ""
    """Why it is malformed, or ""."""


class Template(NamedTuple):
    """The parts of one template the check needs."""

    parameters: dict[str, Any]
    mappings: dict[str, Any]
    conditions: dict[str, Any]
    task_definitions: dict[str, TaskDefinition]
    numbers: bool = False
    """Whether a value holds an unquoted integer that YAML 1.1 reads as another number."""
    loops: dict[str, Loop] = {}  # noqa: RUF012 - a NamedTuple default, never changed
    transforms: tuple[tuple[str, Position], ...] = ()
    """The transforms it names (top-level ``Transform``, ``Fn::Transform`` in Resources) and the
    modules it uses (resources of a ``::MODULE`` type), each with where it is written."""


def may_hold_task_definitions(text: str) -> bool:
    """False only when no task definition can be written in ``text``: the type is not written
    out, no escape could spell it, and no transform or module could add one."""
    return any(sign in text for sign in (TASK_DEFINITION, "\\", "Transform", MODULE_SUFFIX))


def load(data: bytes) -> Template | None:
    """The template in ``data``, or None when it is not a CloudFormation template."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise TemplateError(f"not UTF-8 text (byte {error.start})") from None
    lines = _Lines(text)
    documents, ambiguities = _compose(text, lines)
    builder = _Builder(lines)
    try:
        built = [builder.template(*pair) for pair in zip(documents, ambiguities, strict=True)]
    except RecursionError:
        raise TemplateError("nested too deeply to read") from None
    found = [(template, elsewhere) for template, elsewhere in built if template is not None]
    if not found:
        return None
    if len(documents) > 1:
        raise TemplateError(
            f"{len(documents)} YAML documents in one file; CloudFormation reads one template"
        )
    template, elsewhere = found[0]
    if elsewhere:
        raise TemplateError(elsewhere)
    return template


Ambiguity = tuple[int, str]
"""Where a mapping's keys are ambiguous (the offset of the key) and why."""


def _compose(text: str, lines: _Lines) -> tuple[list[Node], list[list[Ambiguity]]]:
    """The documents' node graphs, and for each document the keys that make it ambiguous: from
    JSON's rules when the text is JSON (the same nodes YAML's would give, read several times
    faster than PyYAML's pure-Python parser reads them, and JSON that libyaml refuses too),
    else from YAML's."""
    if text.lstrip().startswith("{"):
        try:
            return _json_documents(text, lines)
        except TemplateError:
            pass  # YAML's flow style, or neither: YAML's rules decide
    try:
        composer = _Composer(text, lines)
        return composer.documents(), composer.ambiguities
    except yaml.YAMLError as error:
        raise TemplateError(f"not valid YAML or JSON: {_problem(error, lines)}") from None


def _json_documents(text: str, lines: _Lines) -> tuple[list[Node], list[list[Ambiguity]]]:
    reader = _JsonReader(text, lines)
    return [reader.document()], [reader.ambiguities]


class _Composer:
    """PyYAML's composer, without recursion and refusing nesting deeper than MAX_DEPTH.

    libyaml's own composer recurses in C (about 330 bytes of stack a level: 30,000 levels of
    ``[`` crash the interpreter), and its scanner spends time proportional to the ``[``/``{``
    nesting on every token, so nesting is bounded while the events arrive.
    """

    def __init__(self, text: str, lines: _Lines) -> None:
        self.loader = _Loader(text)
        self.lines = lines
        self.anchors: dict[str, Node] = {}
        self.stack: list[tuple[Node, list[Node]]] = []
        self.composed: list[Node] = []
        self.ambiguities: list[list[Ambiguity]] = []
        """For each document, where and why its keys are ambiguous."""

    def documents(self) -> list[Node]:
        next_event, add, stack = self.loader.get_event, self.add, self.stack
        while True:
            event: Any = next_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _resolved(event.value, event.implicit[0])
                mark = event.start_mark
                if _SURROGATE.search(event.value):  # libyaml refuses "\ud800": so must its
                    raise yaml.scanner.ScannerError(  # pure-Python peer, which takes it
                        None, None, "found invalid Unicode character escape code", mark
                    )
                add(ScalarNode(tag, event.value, mark, mark, event.style), event.anchor)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self.start(event)
            elif kind is yaml.MappingEndEvent:
                node, items = stack.pop()
                node.value = list(zip(items[::2], items[1::2], strict=True))
                node.end_mark = event.end_mark
                ambiguity = _ambiguity(items[::2], self.lines)
                if ambiguity is not None:
                    self.ambiguities[-1].append(ambiguity)
                add(node, None)
            elif kind is yaml.SequenceEndEvent:
                add(stack.pop()[0], None)
            elif kind is yaml.AliasEvent:
                if event.anchor not in self.anchors:
                    raise yaml.composer.ComposerError(
                        None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                    )
                add(self.anchors[event.anchor], None)
            elif kind is yaml.DocumentStartEvent:
                self.anchors = {}
                self.ambiguities.append([])
            elif kind is yaml.StreamEndEvent:
                return self.composed

    def start(self, event: Any) -> None:
        if len(self.stack) >= MAX_DEPTH:
            line, column = self.lines.position(event.start_mark.index)
            raise TemplateError(
                f"nested more than {MAX_DEPTH} levels deep (line {line}, column {column})"
            )
        mapping = isinstance(event, yaml.MappingStartEvent)
        kind = MappingNode if mapping else SequenceNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = _CORE + ("map" if mapping else "seq")
        items: list[Node] = []
        collection = kind(tag, items, event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            self.anchors[event.anchor] = collection  # before its items, as PyYAML does
        self.stack.append((collection, items))

    def add(self, node: Node, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = node
        if self.stack:
            self.stack[-1][1].append(node)
        else:
            self.composed.append(node)


def _ambiguity(keys: list[Node], lines: _Lines) -> Ambiguity | None:
    """Where and why a mapping's keys are ambiguous: a key written twice (loaders keep the
    first or the last, or refuse it, as cfn-lint does) or a key that is not a string."""
    seen: dict[str, Node] = {}
    for key in keys:
        if key.tag == _MERGE:
            continue
        if type(key) is not ScalarNode or key.tag[0] == "!":
            return key.start_mark.index, (
                f"a mapping key that is not a string (line {lines.at(key).line})"
            )
        first = seen.setdefault(key.value, key)
        if first is not key:
            (line, column), (again, column_again) = lines.at(first), lines.at(key)
            where = (
                f"line {line}, columns {column} and {column_again}"
                if line == again
                else f"lines {line} and {again}"
            )
            return key.start_mark.index, (
                f"the key {_quote(str(key.value))} is written twice in one mapping ({where})"
            )
    return None


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


class _Builder:
    """Turns composed nodes into the values the check needs, within MAX_VALUES."""

    def __init__(self, lines: _Lines) -> None:
        self.budget = MAX_VALUES
        self.lines = lines
        self.numbers = False
        self.unplaced: list[Ambiguity] = []
        """The ambiguities not yet placed in a task definition."""
        self.transforms: list[tuple[str, Position]] = []

    def template(
        self, root: Node | None, ambiguities: list[Ambiguity]
    ) -> tuple[Template | None, str]:
        """The template, and why it is ambiguous outside its task definitions (or "")."""
        if not isinstance(root, MappingNode):
            return None, ""
        top = _pairs(root)
        resources = top.get("Resources")
        if resources is None or not isinstance(resources[1], MappingNode):
            return None, ""
        self.unplaced, self.transforms = list(ambiguities), []
        if "Transform" in top:
            key, names = top["Transform"]
            for name in names.value if isinstance(names, SequenceNode) else [names]:
                self.transforms.append((_transform_name(name), self.lines.at(key)))
        found, typed = self.resources(resources[1])
        if not (typed or "AWSTemplateFormatVersion" in top or not resources[1].value):
            return None, ""
        template = Template(
            self.section(top, "Parameters"),
            self.section(top, "Mappings"),
            self.section(top, "Conditions"),
            {key: item for key, item in found.items() if isinstance(item, TaskDefinition)},
            self.numbers,
            {key: item for key, item in found.items() if isinstance(item, Loop)},
            tuple(self.transforms),
        )
        return template, min(self.unplaced)[1] if self.unplaced else ""

    def resources(
        self, node: MappingNode, in_loop: bool = False
    ) -> tuple[dict[str, TaskDefinition | Loop], bool]:
        """The task definitions and loops in a Resources mapping (or a loop's body), and
        whether it holds any resource (with a Type), loop or transform."""
        found: dict[str, TaskDefinition | Loop] = {}
        typed = False
        for logical_id, (key, resource) in _pairs(node).items():
            if logical_id.startswith("Fn::ForEach::"):
                typed, loop = True, self.loop(logical_id, key, resource)
                if loop.body or loop.problem:  # else it writes no task definition
                    found[logical_id] = loop
                continue
            if logical_id == "Fn::Transform":
                self.transforms.append((_transform_name(resource), self.lines.at(key)))
                typed = True
                continue
            fields = _pairs(resource) if isinstance(resource, MappingNode) else {}
            kind = fields.get("Type")
            if kind is None or not isinstance(kind[1], ScalarNode):
                continue
            typed, written = True, str(kind[1].value)
            if written.endswith(MODULE_SUFFIX):  # a module's resources are known when deployed
                self.transforms.append((written, self.lines.at(key)))
                continue
            if written != TASK_DEFINITION and not (
                in_loop and ("${" in written or "&{" in written)
            ):
                continue
            properties = fields.get("Properties")
            condition = fields.get("Condition")
            macro = fields.get("Fn::Transform")  # a macro given the whole resource to rewrite
            if macro is not None:
                self.transforms.append((_transform_name(macro[1]), self.lines.at(macro[0])))
            inside = [item for item in self.unplaced if _within(item[0], resource)]
            found[logical_id] = TaskDefinition(
                self.properties(properties[1]) if properties else None,
                self.lines.at(key),
                condition[1].value if condition and isinstance(condition[1], ScalarNode) else None,
                min(inside)[1] if inside else "",
                written,
            )
            self.unplaced = [item for item in self.unplaced if item not in inside]
        return found, typed

    def loop(self, name: str, key: Node, node: Node) -> Loop:
        """An ``Fn::ForEach`` written in Resources: [identifier, collection, body]."""
        position = self.lines.at(key)
        arguments = node.value if isinstance(node, SequenceNode) and not _is_tagged(node) else []
        if len(arguments) != 3 or not isinstance(arguments[2], MappingNode):
            problem = "a malformed Fn::ForEach: it takes [identifier, collection, {key: value}]"
            return Loop(name, position, None, None, {}, problem)
        identifier, collection, body = arguments
        resources, _ = self.resources(body, in_loop=True)
        return Loop(name, position, self.value(identifier), self.value(collection), resources)

    def section(self, top: dict[str, tuple[Node, Node]], name: str) -> dict[str, Any]:
        value = self.value(top[name][1]) if name in top else None
        return value if isinstance(value, dict) else {}

    def properties(self, node: Node) -> Any:
        """A task definition's Properties, keeping only what the policy reads."""
        function = _if_arguments(node)
        if function is not None:
            return self.branches(function, self.properties)
        if not _plain_map(node):
            return self.value(node)
        assert isinstance(node, MappingNode)
        kept = self.located(node, _KEEP_PROPERTIES - {"ContainerDefinitions"})
        containers = _pairs(node).get("ContainerDefinitions")
        if containers is not None:
            kept["ContainerDefinitions"] = self.container_list(containers[1])
        return kept

    def container_list(self, node: Node) -> Any:
        function = _if_arguments(node)
        if function is not None:
            return self.branches(function, self.container_list)
        if isinstance(node, SequenceNode) and not _is_tagged(node):
            self.spend(len(node.value))
            return [self.container(item) for item in node.value]
        return self.value(node)

    def container(self, node: Node) -> Any:
        function = _if_arguments(node)
        if function is not None:
            return self.branches(function, self.container)
        if _plain_map(node):
            assert isinstance(node, MappingNode)
            return self.located(node, _KEEP_CONTAINER)
        return self.value(node)

    def branches(self, arguments: list[Node], each: Callable[[Node], Any]) -> Any:
        """``Fn::If`` [condition, a, b] with ``each`` applied to both branches."""
        condition, true, false = arguments
        self.spend(3)
        return {"Fn::If": [self.value(condition), each(true), each(false)]}

    def located(self, node: MappingNode, keep: frozenset[str] | None = None) -> Located:
        """The mapping with its positions, only the keys in ``keep`` when it is given."""
        result = Located()
        result.lines = self.lines
        result.offset = node.start_mark.index
        result.key_offsets = {}
        if any(key.tag == _MERGE for key, _ in node.value):
            own = {id(key_node) for key_node, _ in node.value}
            pairs = [(k, n, v, id(n) in own) for k, (n, v) in _pairs(node).items()]
        else:  # the common case, read in one pass; a repeated key's last value wins, as in _pairs
            pairs = [(_key_text(n), n, v, True) for n, v in node.value]
        for key, key_node, value, written_here in pairs:
            if keep is None or key in keep:
                result[key] = self.value(value)
                if written_here:  # not merged in from elsewhere
                    result.key_offsets[key] = key_node.start_mark.index
        self.spend(len(result) + 1)
        return result

    def value(self, node: Node) -> Any:
        """The Python value of a node, short-form tags turned into the long form."""
        self.spend(1)
        tag = node.tag
        if isinstance(node, ScalarNode):
            value: Any = _scalar(node)
            if type(value) is PlainScalar and value.number is not None:
                self.numbers = True
        elif isinstance(node, SequenceNode):
            value = [self.value(item) for item in node.value]
        else:
            assert isinstance(node, MappingNode)
            if _plain_map(node):
                return self.located(node)
            value = {key: self.value(item) for key, (_, item) in _pairs(node).items()}
        if tag.startswith("!"):
            return _long_form(tag[1:], value)
        return value

    def spend(self, count: int) -> None:
        self.budget -= count
        if self.budget < 0:
            raise TemplateError(f"more than {MAX_VALUES:,} values once YAML aliases are expanded")


def _transform_name(node: Node) -> str:
    """The name of a transform: as written, or its ``Name`` (``Fn::Transform``), or "?"."""
    if isinstance(node, MappingNode):
        name = _pairs(node).get("Name")
        node = name[1] if name else node
    return str(node.value) if isinstance(node, ScalarNode) else "?"


def _within(offset: int, node: Node) -> bool:
    """Whether ``offset`` is inside the mapping ``node`` as written."""
    end = node.end_mark
    return end is not None and node.start_mark.index <= offset < end.index


def _pairs(node: MappingNode) -> dict[str, tuple[Node, Node]]:
    """A mapping's keys, with merge keys applied as PyYAML applies them; the last repeat wins."""
    merged: dict[str, tuple[Node, Node]] = {}
    own: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        if key.tag == _MERGE:
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
    tag = node.tag
    if tag == _PLAIN:
        tag = _RESOLVER.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    kind = tag.removeprefix(_CORE)
    if kind == "null":
        return None
    reading = _READINGS.get(kind)
    if reading is None or _CANONICAL.fullmatch(text):
        return text
    if kind == "bool":
        truth = text.lower() in ("yes", "true", "on")
        return PlainScalar(text, reading, canonical="true" if truth else "false")
    return PlainScalar(text, reading, _integer(text) if kind == "int" else None)


_INTEGERS = yaml.constructor.SafeConstructor()
_BEYOND_ANY_ID = "1" + "0" * 20


def _integer(text: str) -> str:
    """The integer YAML 1.1 reads from ``text`` (PyYAML's reading: ``0x``, ``0b``, ``0``
    octal, ``_`` separators, base 60), written as CloudFormation gets it; a number of more than
    19 digits as one beyond any id."""
    try:
        value = _INTEGERS.construct_yaml_int(ScalarNode(_CORE + "int", text))
    except ValueError:  # more digits than Python converts: no id has that many
        return _BEYOND_ANY_ID
    if abs(value) >= 10**19:
        return ("-" if value < 0 else "") + _BEYOND_ANY_ID
    return str(value)


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
    return node.tag[0] == "!"


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


class _JsonReader:
    """A JSON reader that records where each value starts, as PyYAML's marks do."""

    def __init__(self, text: str, lines: _Lines) -> None:
        from json import decoder  # here: a YAML template never needs it (start-up time)

        self.decoder = decoder
        self.text = text
        self.end = 0
        self.lines = lines
        self.ambiguities: list[Ambiguity] = []
        """Where and why its mappings' keys are ambiguous."""

    def document(self) -> Node:
        try:
            node = self.node(self.skip(0))
        except RecursionError:
            raise TemplateError("nested too deeply to read") from None
        if self.skip(self.end) != len(self.text):
            self.fail(self.skip(self.end), "extra data after the template")
        return node

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
        ambiguity = _ambiguity([key for key, _ in pairs], self.lines)
        if ambiguity is not None:
            self.ambiguities.append(ambiguity)
        return MappingNode(_CORE + "map", pairs, start, self.mark(self.end), flow_style=True)

    def string(self, index: int) -> str:
        try:
            value, self.end = self.decoder.scanstring(self.text, index + 1, True)  # type: ignore[attr-defined]
        except self.decoder.JSONDecodeError as error:
            self.fail(error.pos, error.msg)
        return str(value)

    def expect(self, index: int, char: str) -> None:
        if not self.text.startswith(char, index):
            self.fail(index, f"expected {char!r}")
