"""Read a CloudFormation template (YAML or JSON) into plain Python values, with line numbers.

Parsing is done by rapidyaml, which reads both YAML and JSON and leaves every scalar as the
text that was written, so nothing is decided on a value a YAML 1.1 loader would have mangled
(an unquoted ``1000:50`` is base-60 ``60050`` to PyYAML). Only what the check needs is turned
into Python values: ``Parameters``, ``Mappings``, the ``Type`` of every resource, and for task
definitions the properties the policy reads (``RuntimePlatform`` and each container's ``Name``,
``Image`` and ``User``). Short-form tags become the long form (``!Ref x`` -> ``{"Ref": "x"}``,
``!GetAtt a.b`` -> ``{"Fn::GetAtt": ["a", "b"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import ryml

TASK_DEFINITION = "AWS::ECS::TaskDefinition"
_NONE: int = ryml.NONE
_KEEP_PROPERTIES = frozenset({"ContainerDefinitions", "RuntimePlatform"})
_KEEP_CONTAINER = frozenset({"Name", "Image", "User"})

# YAML 1.1 implicit types (yaml.org/type) that a plain scalar can silently turn into, other than
# a canonical decimal or true/false, which CloudFormation would send back as the same text.
# Patterns stay strings: re compiles (and caches) them on first use, not at import.
_YAML11_FORMS = (
    (r"[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+", "a base-60 number"),
    (r"[-+]?0b[01_]+", "a binary number"),
    (r"[-+]?0x[0-9a-fA-F_]+", "a hexadecimal number"),
    (r"[-+]?0[0-7_]+", "an octal number"),
    (r"[-+]?(?:0|[1-9][0-9_]*)", "a number"),
    (
        r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "a floating-point number",
    ),
    (r"y|Y|yes|Yes|YES|n|N|no|No|NO|True|TRUE|False|FALSE|on|On|ON|off|Off|OFF", "a boolean"),
)
_CANONICAL = r"-?(?:0|[1-9][0-9]*)|true|false"


class TemplateError(ValueError):
    """The file cannot be read as a template (not UTF-8, or not valid YAML/JSON)."""


class PlainScalar(str):
    """An unquoted YAML scalar that a YAML 1.1 loader reads as something other than its text."""

    reading: str

    def __new__(cls, text: str, reading: str) -> PlainScalar:
        scalar = super().__new__(cls, text)
        scalar.reading = reading
        return scalar


class Template:
    """The parts of one template the check needs, and where they are in the file."""

    def __init__(
        self, parameters: dict[str, Any], mappings: dict[str, Any], tree: Any, buffer: bytearray
    ) -> None:
        self.parameters = parameters
        self.mappings = mappings
        self.task_definitions: dict[str, Any] = {}
        self._tree = tree
        self._buffer = buffer
        self._nodes: dict[str, int] = {}

    def line(self, logical_id: str, container_index: int | None = None) -> int | None:
        """The line of a task definition, or of one of its container definitions."""
        node = self._nodes.get(logical_id)
        if node is None:
            return None
        key_node = node
        if container_index is not None:
            containers = _child(
                self._tree, _child(self._tree, node, "Properties"), "ContainerDefinitions"
            )
            item = _nth_child(self._tree, containers, container_index)
            if item != _NONE and self._tree.is_map(item) and self._tree.has_children(item):
                key_node = self._tree.first_child(item)
        if not self._tree.has_key(key_node):
            return None
        offset = _address(self._tree.key(key_node)) - _address(self._buffer)
        return self._buffer.count(b"\n", 0, offset) + 1


def load(data: bytes) -> Template | None:
    """The template in ``data``, or None when it is not a CloudFormation template."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TemplateError(f"not UTF-8 text (byte {error.start})") from None
    buffer = bytearray(data.removeprefix(b"\xef\xbb\xbf"))
    try:
        tree = ryml.parse_in_place(buffer)
    except ryml.ExceptionParse as error:
        where = error.errdata_parse.ymlloc
        raise TemplateError(
            f"not valid YAML or JSON (line {where.line}, column {where.col})"
        ) from None
    except ryml.ExceptionBasic as error:
        raise TemplateError(f"not valid YAML or JSON ({error.msg})") from None
    if b"*" in buffer and b"&" in buffer:
        tree.resolve()
    root = tree.root_id()
    if tree.is_stream(root):
        root = tree.first_child(root)
    resources = _child(tree, root, "Resources") if tree.is_map(root) else _NONE
    if resources == _NONE or not tree.is_map(resources):
        return None
    template = Template(
        _mapping(tree, _child(tree, root, "Parameters")),
        _mapping(tree, _child(tree, root, "Mappings")),
        tree,
        buffer,
    )
    is_template = tree.has_child(root, b"AWSTemplateFormatVersion")
    for resource in _children(tree, resources):
        kind = _child(tree, resource, "Type") if tree.is_map(resource) else _NONE
        if kind != _NONE and tree.has_val(kind):
            is_template = True
            if _text(tree.val(kind)) == TASK_DEFINITION:
                logical_id = _text(tree.key(resource))
                template.task_definitions[logical_id] = _properties(
                    tree, _child(tree, resource, "Properties")
                )
                template._nodes[logical_id] = resource
    return template if is_template else None


def _properties(tree: Any, node: int) -> Any:
    """A task definition's Properties, keeping only what the policy reads."""
    if node == _NONE:
        return None
    if not _plain_map(tree, node):
        return _value(tree, node)
    containers = _child(tree, node, "ContainerDefinitions")
    if containers == _NONE or not tree.is_seq(containers) or tree.has_val_tag(containers):
        return _pruned(tree, node, _KEEP_PROPERTIES)
    kept = _pruned(tree, node, _KEEP_PROPERTIES - {"ContainerDefinitions"})
    kept["ContainerDefinitions"] = [
        _pruned(tree, item, _KEEP_CONTAINER) if _plain_map(tree, item) else _value(tree, item)
        for item in _children(tree, containers)
    ]
    return kept


def _plain_map(tree: Any, node: int) -> bool:
    """A map that is not an intrinsic function (no tag, no Ref / Fn:: / Condition key)."""
    if not tree.is_map(node) or tree.has_val_tag(node):
        return False
    for child in _children(tree, node):
        key = bytes(tree.key(child))
        if key.startswith(b"Fn::") or key in (b"Ref", b"Condition"):
            return False
    return True


def _pruned(tree: Any, node: int, keep: frozenset[str]) -> dict[str, Any]:
    result = {}
    for child in _children(tree, node):
        key = _text(tree.key(child))
        if key in keep:
            result[key] = _value(tree, child)
    return result


def _mapping(tree: Any, node: int) -> dict[str, Any]:
    value = _value(tree, node) if node != _NONE else None
    return value if isinstance(value, dict) else {}


def _value(tree: Any, node: int) -> Any:
    """The Python value of a node, with short-form tags turned into the long form."""
    if tree.is_map(node):
        value: Any = {
            _text(tree.key(child)): _value(tree, child) for child in _children(tree, node)
        }
    elif tree.is_seq(node):
        value = [_value(tree, child) for child in _children(tree, node)]
    else:
        value = _scalar(tree, node)
    if tree.has_val_tag(node):
        return _long_form(_text(tree.val_tag(node)), value)
    return value


def _scalar(tree: Any, node: int) -> str | None:
    if not tree.has_val(node):
        return None
    quoted = tree.is_val_quoted(node)
    if not quoted and tree.val_is_null(node):
        return None
    text = _text(tree.val(node))
    if quoted or re.fullmatch(_CANONICAL, text):
        return text
    for form, reading in _YAML11_FORMS:
        if re.fullmatch(form, text):
            return PlainScalar(text, reading)
    return text


def _long_form(tag: str, value: Any) -> Any:
    name = tag.removeprefix("!")
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if name in ("Ref", "Condition"):
        return {name: value}
    return {f"Fn::{name}": value}


def _child(tree: Any, node: int, key: str) -> int:
    if node == _NONE or not tree.is_map(node):
        return _NONE
    return int(tree.find_child(node, key.encode()))


def _nth_child(tree: Any, node: int, index: int) -> int:
    if node == _NONE or not tree.is_seq(node):
        return _NONE
    return next(itertools.islice(_children(tree, node), index, None), _NONE)


def _children(tree: Any, node: int) -> Iterator[int]:
    """The children of ``node``, in document order."""
    child = int(tree.first_child(node))
    while child != _NONE:
        yield child
        child = int(tree.next_sibling(child))


def _text(view: Any) -> str:
    """A scalar's text. Escapes such as "\\ud800" decode to lone surrogates, kept as such."""
    try:
        return str(view, "utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return str(view, "utf-8", "replace")


def _address(buffer: Any) -> int:
    """The memory address of a buffer's first byte (CPython's PyObject_GetBuffer)."""
    import ctypes  # only needed to place a finding on its line

    class PyBuffer(ctypes.Structure):
        _fields_ = (
            ("buf", ctypes.c_void_p),
            ("obj", ctypes.c_void_p),
            ("len", ctypes.c_ssize_t),
            ("itemsize", ctypes.c_ssize_t),
            ("readonly", ctypes.c_int),
            ("ndim", ctypes.c_int),
            ("format", ctypes.c_char_p),
            ("shape", ctypes.c_void_p),
            ("strides", ctypes.c_void_p),
            ("suboffsets", ctypes.c_void_p),
            ("internal", ctypes.c_void_p),
        )

    view = PyBuffer()
    if ctypes.pythonapi.PyObject_GetBuffer(ctypes.py_object(buffer), ctypes.byref(view), 0):
        raise TemplateError("cannot locate a value in the file")
    try:
        return int(view.buf or 0)
    finally:
        ctypes.pythonapi.PyBuffer_Release(ctypes.byref(view))
