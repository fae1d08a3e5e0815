"""Resolve CloudFormation intrinsic functions in a template's values, as far as is knowable offline.

``variants`` expands every ``Fn::If`` into both branches (either can be deployed), and
``resolve`` then evaluates what a template alone determines:

- ``Ref`` to a parameter: the value given on the command line, else the parameter's ``Default``
  (a list for ``List<...>`` and ``CommaDelimitedList`` types). ``AWS::SSM::Parameter::Value<...>``
  parameters are resolved from SSM at deploy time and stay unresolved. ``Ref: AWS::NoValue``
  removes the property or list item; other pseudo parameters resolve only when given.
- ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::FindInMap`` over resolvable values.

Anything else (``Fn::GetAtt``, ``Fn::ImportValue``, a ``Ref`` to a resource, a parameter with no
value) becomes ``Unresolved``, carrying the reason, never a guess.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

MAX_VARIANTS = 64
"""How many Fn::If combinations are checked before a task definition is called unverifiable."""

_SUB_VARIABLE = r"\$\{([^}]*)\}"


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()
"""What ``Ref: AWS::NoValue`` resolves to: the enclosing property or list item is removed."""


class Unresolved:
    """A value the template alone does not determine (not a str, list or dict: never decided)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unresolved) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(self.reason)

    def __repr__(self) -> str:
        return f"Unresolved({self.reason!r})"


class TooManyVariantsError(ValueError):
    """More Fn::If combinations than ``MAX_VARIANTS``."""


class Context(NamedTuple):
    """What a template's values can be resolved against."""

    parameters: Mapping[str, Any] = MappingProxyType({})
    mappings: Mapping[str, Any] = MappingProxyType({})
    given: Mapping[str, str] = MappingProxyType({})
    """Values given on the command line (``--parameter NAME=VALUE``), pseudo parameters too."""

    def ref(self, name: object) -> Any:
        if not isinstance(name, str):
            return Unresolved("a Ref whose target is not a name")
        if name == "AWS::NoValue":
            return NO_VALUE
        declared = self.parameters.get(name)
        kind = declared.get("Type", "String") if isinstance(declared, Mapping) else None
        if name in self.given:
            value: Any = self.given[name]
        elif isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::Value"):
            return Unresolved(f"parameter {name} is read from SSM at deploy time")
        elif isinstance(declared, Mapping) and declared.get("Default") is not None:
            value = declared["Default"]
        elif declared is not None:
            return Unresolved(f"parameter {name} has no Default; pass --parameter {name}=VALUE")
        elif name.startswith("AWS::"):
            return Unresolved(f"pseudo parameter {name} is known at deploy time")
        else:
            return Unresolved(f"Ref {name} names a resource, known at deploy time")
        if isinstance(kind, str) and ("List" in kind) and isinstance(value, str):
            return [item.strip() for item in value.split(",")]
        return value if isinstance(value, (str, list)) else str(value)


def variants(value: Any) -> list[Any]:
    """Every combination of ``Fn::If`` branches in ``value`` (raises TooManyVariantsError)."""
    if isinstance(value, dict):
        branch = value.get("Fn::If") if len(value) == 1 else None
        if isinstance(branch, list) and len(branch) == 3:
            found = variants(branch[1]) + variants(branch[2])
            _within_limit(len(found))
            return found
        keys = list(value)
        combos = _product([variants(value[key]) for key in keys])
        return [dict(zip(keys, combo, strict=True)) for combo in combos]
    if isinstance(value, list):
        return [list(combo) for combo in _product([variants(item) for item in value])]
    return [value]


def _product(choices: list[list[Any]]) -> list[tuple[Any, ...]]:
    _within_limit(math.prod(len(options) for options in choices))
    return list(itertools.product(*choices))


def _within_limit(count: int) -> None:
    if count > MAX_VARIANTS:
        raise TooManyVariantsError(f"more than {MAX_VARIANTS} Fn::If combinations")


def resolve(value: Any, context: Context) -> Any:
    """``value`` with intrinsic functions evaluated (after ``variants``)."""
    if isinstance(value, list):
        items = [resolve(item, context) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((name, argument),) = value.items()
        function = _FUNCTIONS.get(name)
        if function is not None:
            return function(argument, context)
        if name.startswith("Fn::"):
            return Unresolved(f"{name} is evaluated at deploy time")
    resolved = {key: resolve(item, context) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def _ref(argument: Any, context: Context) -> Any:
    return context.ref(argument)


def _sub(argument: Any, context: Context) -> Any:
    text, variables = argument, {}
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
        text, variables = argument
    if not isinstance(text, str):
        return Unresolved("an Fn::Sub whose template is not a string")
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if "." in name and name not in variables:
            missing.append(f"{name} is an attribute known at deploy time")
            return ""
        value = resolve(variables[name], context) if name in variables else context.ref(name)
        if isinstance(value, Unresolved):
            missing.append(value.reason)
            return ""
        if not isinstance(value, str):
            missing.append(f"{name} is not a string")
            return ""
        return value

    result = re.sub(_SUB_VARIABLE, substitute, text)
    return Unresolved(f"Fn::Sub: {missing[0]}") if missing else result


def _join(argument: Any, context: Context) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        return Unresolved("a malformed Fn::Join")
    delimiter, items = resolve(argument[0], context), resolve(argument[1], context)
    if not isinstance(items, list):
        return items if isinstance(items, Unresolved) else Unresolved("Fn::Join over a non-list")
    for item in [delimiter, *items]:
        if isinstance(item, Unresolved):
            return Unresolved(f"Fn::Join: {item.reason}")
        if not isinstance(item, str):
            return Unresolved("Fn::Join over a value that is not a string")
    return str(delimiter).join(items)


def _select(argument: Any, context: Context) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        return Unresolved("a malformed Fn::Select")
    index, items = resolve(argument[0], context), resolve(argument[1], context)
    if isinstance(items, Unresolved):
        return Unresolved(f"Fn::Select: {items.reason}")
    if not isinstance(index, str) or not index.isdigit() or not isinstance(items, list):
        return Unresolved("an Fn::Select that cannot be evaluated")
    position = int(index)
    return items[position] if position < len(items) else Unresolved("Fn::Select out of range")


def _find_in_map(argument: Any, context: Context) -> Any:
    if not (isinstance(argument, list) and len(argument) == 3):
        return Unresolved("a malformed Fn::FindInMap")
    keys = [resolve(key, context) for key in argument]
    for key in keys:
        if isinstance(key, Unresolved):
            return Unresolved(f"Fn::FindInMap: {key.reason}")
    found: Any = context.mappings
    for key in keys:
        if not isinstance(found, Mapping) or not isinstance(key, str) or key not in found:
            return Unresolved("Fn::FindInMap keys not found in Mappings")
        found = found[key]
    return resolve(found, context)


def _unresolved_if(argument: Any, context: Context) -> Any:
    return Unresolved("a malformed Fn::If")


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::FindInMap": _find_in_map,
    "Fn::If": _unresolved_if,
}
