"""Resolve CloudFormation intrinsic functions in a template's values, as far as is knowable offline.

Values are what ``loader`` reads: str, list, dict (and None).

Conditions first. ``Conditions.cases`` lists every way the conditions a value uses can turn out,
and ``choose`` picks the ``Fn::If`` branches of one such case. A condition is one variable
wherever it is used (seven ``!If [IsProd, ...]`` are two cases, not 128), and conditions built
from one another (``!Not [!Condition IsProd]``, ``Fn::And``, ``Fn::Or``) keep their relation:
what varies are the ``Fn::Equals`` comparisons they are built from. A comparison is decided only
by values given on the command line; otherwise both outcomes are checked, since a stack can be
deployed with any parameter values.

``resolve`` then evaluates what a template alone determines:

- ``Ref`` to a parameter: the value given on the command line, else the parameter's ``Default``
  (a list for ``List<...>`` and ``CommaDelimitedList`` types) unless the context is for a
  deployment whose values are unknown (``defaults`` unset). ``AWS::SSM::Parameter::Value<...>``
  parameters are resolved from SSM at deploy time and stay unresolved. ``Ref: AWS::NoValue``
  removes the property or list item; other pseudo parameters resolve only when given.
- ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap`` (with the
  AWS::LanguageExtensions ``DefaultValue`` too) over resolvable values. ``Mappings`` hold
  literal strings and lists only, as CloudFormation requires: a function found there is
  invalid, never evaluated.

Resolution is bounded: each ``Fn::Sub`` variable is resolved once however often it is used, a
text longer than ``MAX_TEXT`` characters is not built, and a template's resolution takes at most
``MAX_STEPS`` steps (``ResolutionBudgetError`` beyond), so no template makes it run for long.

An unquoted integer that YAML 1.1 reads as another number (``0x0``, ``0_0``, ``1000:50``) is
read as written, or, in a context with ``numbers`` set, as that number wherever it comes from (a
literal, a parameter's ``Default``, ``Mappings``), as CloudFormation gets it from a template
that ``aws cloudformation package`` or SAM has loaded and written again.

``for_each`` expands the ``Fn::ForEach`` loops of Resources as the AWS::LanguageExtensions
transform does: for each item of the collection (a list, or a list parameter's value), the body
is written again with ``${Identifier}`` and ``&{Identifier}`` (the item without its
non-alphanumeric characters) replaced in every key and text, and ``Ref: Identifier`` by the item.

Anything else becomes ``Unresolved``, carrying the reason, never a guess: known only at deploy
time (``Fn::GetAtt``, ``Fn::ImportValue``, a ``Ref`` to a resource, a parameter with no value,
a text holding a dynamic reference such as ``{{resolve:ssm:name}}`` or a change set's
``{{changeSet:KNOWN_AFTER_APPLY}}``;
``parameter`` names the one ``--parameter`` can give), or ``invalid``: a function CloudFormation
would refuse or fail (malformed, ``Fn::Select`` out of range, ``Fn::FindInMap`` keys not in
``Mappings``).
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from .loader import TASK_DEFINITION, Located, Loop, PlainScalar, TaskDefinition
from .policy import quote

MAX_CASES = 64
"""How many combinations of conditions one container is checked under before it fails."""
MAX_TEXT = 1_048_576
"""The longest text ``Fn::Sub`` or ``Fn::Join`` builds: a template holds at most 1 MB."""
MAX_STEPS = 5_000_000
"""How many steps resolving one template's values may take before its check stops. A step is
one value resolved, one item of a list copied, or ``TEXT_PER_STEP`` characters of a text built:
each costs about a microsecond or less, so no step is long, and the clock is read often."""
TEXT_PER_STEP = 1024
MAX_GENERATED = 2_000
"""How many task definitions ``Fn::ForEach`` loops may write (CloudFormation allows 500
resources in a template)."""

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
"""The pseudo parameters a value can be given for on the command line."""
_PSEUDO_SHAPES = {
    "AWS::AccountId": "[0-9]" * 12,  # an account id is 12 digits
    "AWS::Region": "[a-z]*",  # us-east-1, cn-north-1, us-gov-west-1, eusc-de-east-1
    "AWS::Partition": "aws*",  # aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc
}
"""What is known of a pseudo parameter's value before deployment, as a glob."""

_SUB_VARIABLE = r"\$\{([^}]*)\}"
_DEPLOY_TIME = re.compile(r"\{\{(resolve|changeSet):")
"""A dynamic reference, which CloudFormation replaces at deploy time, or the placeholder a
change set shows for a value known only when it is executed."""
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit also takes superscripts
_NAME = re.compile(r"[A-Za-z0-9:._-]{1,255}")


def shown(name: str) -> str:
    """A name from a template as messages show it: as written when it is an ordinary name,
    quoted and escaped otherwise."""
    return name if _NAME.fullmatch(name) else quote(name)


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()
"""What ``Ref: AWS::NoValue`` resolves to: the enclosing property or list item is removed."""


class Secret(str):
    """Text that is, or is built from, the value of a ``NoEcho`` parameter: never shown."""


def _secret(value: Any) -> Any:
    if isinstance(value, list):
        return [_secret(item) for item in value]
    return Secret(value) if isinstance(value, str) else value


class Unresolved:
    """A value the template alone does not determine (not a str, list or dict: never decided)."""

    __slots__ = ("invalid", "parameter", "reason", "shape")

    def __init__(
        self,
        reason: str,
        *,
        parameter: str | None = None,
        invalid: bool = False,
        shape: str | None = None,
    ):
        self.reason = reason
        self.parameter = parameter
        """The parameter whose value, given with --parameter, would resolve it."""
        self.invalid = invalid
        """CloudFormation would refuse or fail this function: no value would resolve it."""
        self.shape = shape
        """A glob (``fnmatch``) the text certainly matches once known, when more is known of it
        than nothing: ``[0-9]...`` for an account id, the literal parts of an ``Fn::Sub``."""

    def within(self, function: str, shape: str | None = None) -> Unresolved:
        """The same reason, as the cause of ``function`` being unresolved (named once: the
        innermost function that cannot be evaluated is the one to show), the function's value
        of ``shape``."""
        reason = self.reason if self.reason.startswith("Fn::") else f"{function}: {self.reason}"
        return Unresolved(reason, parameter=self.parameter, invalid=self.invalid, shape=shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unresolved) and (other.reason, other.invalid) == (
            self.reason,
            self.invalid,
        )

    def __hash__(self) -> int:
        return hash(self.reason)

    def __repr__(self) -> str:
        return f"Unresolved({self.reason!r})"


def _invalid(reason: str) -> Unresolved:
    return Unresolved(reason, invalid=True)


Guards = tuple[tuple[str, bool], ...]
"""The conditions under which a value is written, and the value each must have."""


class TooManyCasesError(ValueError):
    """A value depends on more than ``MAX_CASES`` combinations of conditions."""


class ResolutionBudgetError(ValueError):
    """Resolving a template's values took more than ``MAX_STEPS`` steps."""


class Budget:
    """The steps left for resolving one template's values, and the time (``time.monotonic``)
    by which it must be done, if any."""

    __slots__ = ("built", "deadline", "left")

    def __init__(self, steps: int = MAX_STEPS, deadline: float | None = None) -> None:
        self.left = steps
        self.deadline = deadline
        self.built = 0
        """How many characters of text resolving has built so far: what holds on to built
        values reads it to let them go in time."""

    def build(self, length: int) -> None:
        """Account for a text of ``length`` characters built (``TEXT_PER_STEP`` a step)."""
        self.built += length
        self.spend(length // TEXT_PER_STEP)

    def spend(self, steps: int = 1) -> None:
        """Take ``steps`` (one step of resolving, or a bound on the work of a larger one); the
        clock is read every 1,024 single steps and at every larger one."""
        self.left -= steps
        if self.left < 0:
            raise ResolutionBudgetError(f"resolving its values takes more than {MAX_STEPS:,} steps")
        if (
            self.deadline is not None
            and (steps > 1 or self.left % 1024 == 0)
            and time.monotonic() > self.deadline
        ):
            raise ResolutionBudgetError("resolving its values takes longer than the time left")


class Context(NamedTuple):
    """What a template's values can be resolved against."""

    parameters: Mapping[str, Any] = MappingProxyType({})
    mappings: Mapping[str, Any] = MappingProxyType({})
    given: Mapping[str, str | Unresolved] = MappingProxyType({})
    """Values given on the command line (``--parameter NAME=VALUE``), pseudo parameters too;
    or known not to be knowable (a deployed stack's NoEcho parameter): ``Unresolved``."""
    budget: Budget = Budget(sys.maxsize)
    """Shared by every resolution of one template (``check_template`` gives each its own)."""
    numbers: bool = False
    """Read unquoted integers as YAML 1.1 loaders read them (``0x0`` as ``0``)."""
    defaults: bool = True
    """A parameter's ``Default`` stands for its value (not when the deployment's parameter
    values are unknown, as in the template CloudFormation sends the hook)."""
    language_extensions: bool = False
    """The template uses the AWS::LanguageExtensions transform, which allows intrinsic functions
    where a name is written (``Ref: !Sub "${Env}User"``)."""

    def read(self, value: Any) -> Any:
        """``value`` (a text or a list of them) with its unquoted integers read as YAML 1.1
        reads them, when ``numbers`` is set."""
        if not self.numbers:
            return value
        if type(value) is PlainScalar:
            return value if value.canonical is None else value.canonical
        if isinstance(value, list):
            return [self.read(item) for item in value]
        return value

    def ref(self, name: object) -> Any:
        if isinstance(name, dict) and self.language_extensions:
            target = resolve(name, self)  # the transform resolves it to a name first
            if isinstance(target, Unresolved):
                return target.within("Ref")
            name = target
        if not isinstance(name, str):
            return _invalid("a Ref whose target is not a name")
        if name == "AWS::NoValue":
            return NO_VALUE
        declared = self.parameters.get(name)
        kind = declared.get("Type", "String") if isinstance(declared, dict) else None
        value: Any = self.given[name] if name in self.given else self._default(name, declared)
        if isinstance(value, Unresolved):
            return value
        if isinstance(kind, str) and ("List" in kind) and isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
            self.budget.spend(len(value))
        elif not isinstance(value, (str, list)):
            value = str(value)
        no_echo = declared.get("NoEcho") if isinstance(declared, dict) else None
        return _secret(value) if str(no_echo).lower() == "true" else value

    def _default(self, name: str, declared: Any) -> Any:
        """The value of ``Ref: name`` when none is given: a parameter's Default, or why the
        template alone does not tell."""
        kind = declared.get("Type", "String") if isinstance(declared, dict) else None
        if isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::Value"):
            return Unresolved(
                f"parameter {shown(name)} is read from SSM at deploy time", parameter=name
            )
        if declared is not None and not self.defaults:
            return Unresolved(
                f"parameter {shown(name)} gets its value at deploy time", parameter=name
            )
        if isinstance(declared, dict) and declared.get("Default") is not None:
            return self.read(declared["Default"])
        if declared is not None:
            return Unresolved(f"parameter {shown(name)} has no Default", parameter=name)
        if name in PSEUDO_PARAMETERS:
            return Unresolved(
                f"pseudo parameter {name} is known at deploy time",
                parameter=name,
                shape=_PSEUDO_SHAPES.get(name),
            )
        if name.startswith("AWS::"):
            return _invalid(f"{shown(name)} is not a pseudo parameter")
        return Unresolved(f"Ref {shown(name)} names a resource, known at deploy time")

    def given_only(self) -> Context:
        """This context without parameter Defaults: only what the command line gives."""
        return self._replace(
            parameters={
                name: {key: item for key, item in spec.items() if key != "Default"}
                if isinstance(spec, dict)
                else spec
                for name, spec in self.parameters.items()
            }
        )


class Conditions:
    """A template's Conditions, as formulas over the comparisons they are built from."""

    def __init__(self, definitions: Mapping[str, Any], context: Context) -> None:
        self._definitions = definitions
        self._decide = context.given_only()
        self._read = self._decide._replace(numbers=True)
        self._atoms: dict[str, dict[str, None]] = {}
        self._cases: dict[frozenset[str], list[dict[str, bool]]] = {}
        self._possible: dict[tuple[frozenset[str], frozenset[tuple[str, bool]]], bool] = {}
        self._keys: dict[int, Any] = {}

    def cases(self, names: frozenset[str]) -> list[dict[str, bool]]:
        """Every distinct truth assignment to ``names`` that some deployment can produce (the
        same for every container that tests the same conditions: worked out once)."""
        if names not in self._cases:
            self._cases[names] = self._enumerate(sorted(names))
        return self._cases[names]

    def possible(self, names: frozenset[str], assignment: Mapping[str, bool]) -> bool:
        """Whether some case of ``names`` gives each condition of ``assignment`` its value."""
        key = (names, frozenset(assignment.items()))
        if key not in self._possible:
            self._possible[key] = any(
                all(case[name] == value for name, value in assignment.items())
                for case in self.cases(names)
            )
        return self._possible[key]

    def always(self, names: frozenset[str], assignment: Mapping[str, bool]) -> bool:
        """Whether every case of ``names`` gives each condition of ``assignment`` its value."""
        return not any(
            self.possible(names, {name: not value}) for name, value in assignment.items()
        )

    def choices(
        self, values: list[Any], names: frozenset[str], guards: Guards
    ) -> list[tuple[list[Any], dict[str, bool]]]:
        """Each distinct way the branches of the ``Fn::If`` functions in ``values`` are chosen
        (as ``choose`` does) in the cases of ``names`` that agree with ``guards``: the values
        chosen, and the conditions that decided them (the guards first), True before False. A
        condition is decided only where a branch needs it, so cases that differ in nothing
        consulted are one way, not many: six nested ``Fn::If`` over six conditions are seven
        ways, not 64 cases."""
        start = dict(guards)
        return self._all_ways(values, names, start) if self.possible(names, start) else []

    def _all_ways(
        self, values: list[Any], names: frozenset[str], assigned: dict[str, bool]
    ) -> list[tuple[list[Any], dict[str, bool]]]:
        """``choices`` of each of ``values`` in turn, each way of one going on to the next."""
        ways: list[tuple[list[Any], dict[str, bool]]] = [([], assigned)]
        for value in values:
            grown = []
            for chosen, before in ways:
                found = self._ways(value, names, before)
                if len(found) == 1:  # the usual: nothing to copy
                    chosen.append(found[0][0])
                    grown.append((chosen, found[0][1]))
                else:
                    grown += [([*chosen, item], after) for item, after in found]
            ways = grown
        return ways

    def _ways(
        self, value: Any, names: frozenset[str], assigned: dict[str, bool]
    ) -> list[tuple[Any, dict[str, bool]]]:
        if isinstance(value, list):
            return self._all_ways(value, names, assigned)
        if not isinstance(value, dict):
            return [(value, assigned)]
        arguments = value.get("Fn::If") if len(value) == 1 else None
        if arguments is None:
            keys = list(value)
            return [
                (dict(zip(keys, items, strict=True)), after)
                for items, after in self._all_ways(list(value.values()), names, assigned)
            ]
        if not (isinstance(arguments, list) and len(arguments) == 3):
            return [(_invalid("a malformed Fn::If"), assigned)]
        name = arguments[0]
        if not isinstance(name, str) or name not in names:
            return [(_invalid("an Fn::If whose condition is not a name"), assigned)]
        if name in assigned:
            return self._ways(arguments[1] if assigned[name] else arguments[2], names, assigned)
        found = []
        for truth in (True, False):
            attempt = {**assigned, name: truth}
            if self.possible(names, attempt):
                found += self._ways(arguments[1] if truth else arguments[2], names, attempt)
        return found

    def _enumerate(self, ordered: list[str]) -> list[dict[str, bool]]:
        if not ordered:
            return [{}]
        atoms: dict[str, None] = {}
        for name in ordered:
            atoms.update(self._atoms_of(name))
        if 2 ** len(atoms) > MAX_CASES:
            names = ", ".join(shown(name) for name in ordered)
            raise TooManyCasesError(f"more than {MAX_CASES} combinations of conditions ({names})")
        found: dict[tuple[bool, ...], dict[str, bool]] = {}
        for values in itertools.product((True, False), repeat=len(atoms)):
            truth = dict(zip(atoms, values, strict=True))
            memo: dict[Any, bool] = {}
            case = {
                name: self._truth(self._definitions.get(name), truth, (name,), memo)
                for name in ordered
            }
            found.setdefault(tuple(case.values()), case)
        return list(found.values())

    def _atoms_of(self, name: str) -> dict[str, None]:
        if name not in self._atoms:
            found: dict[str, None] = {}
            self._truth(self._definitions.get(name), found, (name,), {})
            self._atoms[name] = found
        return self._atoms[name]

    def _truth(
        self, formula: Any, atoms: dict[Any, Any], seen: tuple[str, ...], memo: dict[Any, bool]
    ) -> bool:
        """The formula's value when ``atoms`` holds booleans; records its atoms when they are
        None placeholders (every atom then reads as True). ``memo`` holds what is evaluated
        already, by condition name and by the formula's identity, so a condition or a formula
        that many refer to (a YAML alias of an ``Fn::Or``) is evaluated once for each truth
        assignment; each evaluation is a step of the template's budget."""
        if formula is not None and id(formula) in memo:
            return memo[id(formula)]
        self._decide.budget.spend()
        value = self._evaluate(formula, atoms, seen, memo)
        if formula is not None:
            memo[id(formula)] = value
        return value

    def _evaluate(
        self, formula: Any, atoms: dict[Any, Any], seen: tuple[str, ...], memo: dict[Any, bool]
    ) -> bool:
        name = _single_function(formula)
        argument = formula[name] if name else None
        if name == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
            return not self._truth(argument[0], atoms, seen, memo)
        if name in ("Fn::And", "Fn::Or") and isinstance(argument, list) and argument:
            values = [self._truth(item, atoms, seen, memo) for item in argument]
            return all(values) if name == "Fn::And" else any(values)
        if name == "Condition" and isinstance(argument, str) and argument not in seen:
            if argument not in memo:
                definition = self._definitions.get(argument)
                memo[argument] = self._truth(definition, atoms, (*seen, argument), memo)
            return memo[argument]
        if name == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            # as written, and as a YAML 1.1 loader reads its unquoted values, wherever in
            # the operands they are: when the two differ, each outcome is weighed
            written = [resolve(item, self._decide) for item in argument]
            read = [resolve(item, self._read) for item in argument]
            known = not any(isinstance(value, Unresolved) for value in (*written, *read))
            if (
                known
                and (written[0] == written[1]) == (read[0] == read[1])
                and not any(_unknown_reading(value) for value in read)
            ):
                return bool(written[0] == written[1])
        value = atoms.setdefault(self._atom(formula, seen), None)
        return value is None or bool(value)

    def _atom(self, formula: Any, seen: tuple[str, ...]) -> Any:
        """What an undecided comparison is known by: equal for the same comparison written
        twice (one variable), different when anything differs, a quoted and an unquoted value
        included; worked out once per formula."""
        if formula is None:
            return ("undefined", seen[-1])
        if id(formula) not in self._keys:
            self._keys[id(formula)] = _typed(formula)
        return self._keys[id(formula)]


def _typed(value: Any) -> Any:
    """``value`` as a hashable key that keeps every type (``PlainScalar`` apart from ``str``)."""
    if isinstance(value, dict):
        return dict, tuple((key, _typed(item)) for key, item in value.items())
    if isinstance(value, list):
        return list, tuple(_typed(item) for item in value)
    return type(value), value


def _unknown_reading(value: Any) -> bool:
    """Whether ``value`` (as read) is, or holds, an unquoted scalar whose value once a YAML 1.1
    loader has written it back is not known (a float, a date)."""
    if type(value) is PlainScalar:
        return value.canonical is None
    return isinstance(value, list) and any(_unknown_reading(item) for item in value)


@functools.lru_cache(maxsize=256)
def _completed_at_deploy_time(text: str) -> bool:
    """Whether ``text`` holds a dynamic reference or a change set placeholder: searched once
    for a text many values share."""
    return _DEPLOY_TIME.search(text) is not None


def _single_function(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        (name,) = value
        return str(name)
    return None


def conditions_in(value: Any) -> set[str] | None:
    """The names of the conditions the ``Fn::If`` functions in ``value`` test; None when it
    holds no ``Fn::If`` at all (so ``choose`` would return it unchanged)."""
    found: set[str] = set()
    seen_if = False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "Fn::If" in item:
                seen_if = True
                arguments = item["Fn::If"] if len(item) == 1 else None
                if isinstance(arguments, list) and arguments and isinstance(arguments[0], str):
                    found.add(arguments[0])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found if seen_if else None


def choose(value: Any, case: Mapping[str, bool], taken: dict[str, bool]) -> Any:
    """``value`` with each ``Fn::If`` replaced by its branch in ``case``; the conditions that
    decided a branch are added to ``taken``."""
    if isinstance(value, dict):
        arguments = value.get("Fn::If") if len(value) == 1 else None
        if arguments is not None:
            if not (isinstance(arguments, list) and len(arguments) == 3):
                return _invalid("a malformed Fn::If")
            name = arguments[0]
            if not isinstance(name, str) or name not in case:
                return _invalid("an Fn::If whose condition is not a name")
            taken[name] = case[name]
            return choose(arguments[1] if case[name] else arguments[2], case, taken)
        return {key: choose(item, case, taken) for key, item in value.items()}
    if isinstance(value, list):
        return [choose(item, case, taken) for item in value]
    return value


def resolve(value: Any, context: Context) -> Any:
    """``value`` with intrinsic functions evaluated (after ``choose``)."""
    if isinstance(value, list):
        items = [resolve(item, context) for item in value]
        return [item for item in items if item is not NO_VALUE]
    context.budget.spend()
    if not isinstance(value, dict):
        return _known_now(context.read(value) if context.numbers else value)
    if len(value) == 1:
        ((name, argument),) = value.items()
        function = _FUNCTIONS.get(name)
        if function is not None:
            return _known_now(function(argument, context))
        if name.startswith("Fn::"):
            return Unresolved(f"{shown(name)} is evaluated at deploy time")
    macro = next((key for key in value if key.startswith(_MACROS)), None)
    if macro is not None:
        return Unresolved(f"{shown(macro)} is applied by a transform at deploy time")
    resolved = {key: resolve(item, context) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def _known_now(value: Any) -> Any:
    """``value``, unless it is a text CloudFormation completes at deploy time."""
    if isinstance(value, str) and _completed_at_deploy_time(value):
        kind = "a dynamic reference" if "{{resolve:" in value else "a change set placeholder"
        return Unresolved(f"it holds {kind}, replaced at deploy time")
    return value


def _ref(argument: Any, context: Context) -> Any:
    return context.ref(argument)


def _sub(argument: Any, context: Context) -> Any:
    text, variables = argument, {}
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        text, variables = argument
    if not isinstance(text, str):
        return _invalid("an Fn::Sub whose template is not a string")
    text = context.read(text)
    missing: list[Unresolved] = []
    values: dict[str, Any] = {}  # each variable resolved once, however often it is used
    length = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal length
        context.budget.spend()
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name not in values:
            if "." in name and name not in variables:
                values[name] = Unresolved(f"{shown(name)} is an attribute known at deploy time")
            elif name in variables:
                values[name] = resolve(variables[name], context)
            else:
                values[name] = context.ref(name)
        value = values[name]
        if isinstance(value, str):
            length += len(value)
            if length <= MAX_TEXT:
                return value
            value = values[name] = _too_long()
        elif not isinstance(value, Unresolved):
            value = _invalid(f"{shown(name)} is not a string")
        missing.append(value)
        return ""

    context.budget.spend(len(text) // TEXT_PER_STEP)
    result = re.sub(_SUB_VARIABLE, substitute, text)
    context.budget.build(len(result))
    if missing:
        parts = re.split(_SUB_VARIABLE, text)  # literal, name, literal, name, ..., literal
        shape = "".join(
            _glob_literal(part) if position % 2 == 0 else _shape_of(_sub_part(part, values))
            for position, part in enumerate(parts)
        )
        return missing[0].within("Fn::Sub", _bounded(shape))
    return Secret(result) if any(type(value) is Secret for value in values.values()) else result


def _sub_part(name: str, values: Mapping[str, Any]) -> Any:
    """What the variable ``name`` of an ``Fn::Sub`` stands for (``${!Literal}`` for itself)."""
    return "${" + name[1:] + "}" if name.startswith("!") else values.get(name)


def _shape_of(value: Any) -> str:
    """A value as a part of a glob: text as itself, what is unknown as its shape or ``*``."""
    if isinstance(value, str):
        return _glob_literal(value)
    if isinstance(value, Unresolved) and value.shape is not None:
        return value.shape
    return "*"


MAX_SHAPE = 2048
"""The longest shape kept; a longer one is forgotten (the value is then wholly unknown), so
nested functions cannot build shapes that double at every level."""


def _bounded(shape: str) -> str | None:
    return shape if len(shape) <= MAX_SHAPE else None


def _glob_literal(text: str) -> str:
    """``text`` as a glob that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _too_long() -> Unresolved:
    return Unresolved(f"it builds a text longer than {MAX_TEXT:,} characters")


def _join(argument: Any, context: Context) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        return _invalid("a malformed Fn::Join")
    delimiter, items = resolve(argument[0], context), resolve(argument[1], context)
    if isinstance(items, Unresolved):
        return items.within("Fn::Join")
    if not isinstance(items, list):
        return _invalid("Fn::Join over a value that is not a list")
    for item in [delimiter, *items]:
        if isinstance(item, Unresolved):
            shape = _shape_of(delimiter).join(map(_shape_of, items))
            return item.within("Fn::Join", _bounded(shape))
        if not isinstance(item, str):
            return _invalid("Fn::Join over a value that is not a string")
    if sum(map(len, items)) + len(delimiter) * len(items) > MAX_TEXT:
        return _too_long().within("Fn::Join")
    joined = str(delimiter).join(items)
    context.budget.build(len(joined))
    return Secret(joined) if any(type(item) is Secret for item in [delimiter, *items]) else joined


def _arguments(function: str, argument: Any, count: int, context: Context) -> Any:
    """A function's ``count`` arguments resolved, or why they cannot be (the first unresolved
    one, or a malformed list)."""
    if not (isinstance(argument, list) and len(argument) == count):
        return _invalid(f"a malformed {function}")
    values = [resolve(item, context) for item in argument]
    unknown = next((value for value in values if isinstance(value, Unresolved)), None)
    return unknown.within(function) if unknown is not None else values


def _select(argument: Any, context: Context) -> Any:
    arguments = _arguments("Fn::Select", argument, 2, context)
    if isinstance(arguments, Unresolved):
        return arguments
    index, items = arguments
    if not isinstance(items, list) or not isinstance(index, str):
        return _invalid("an Fn::Select that cannot be evaluated")
    if not (_DIGITS.fullmatch(index) and len(index.lstrip("0")) <= 9):  # below a billion
        return _invalid("an Fn::Select whose index is not a number in range")
    position = int(index)
    return items[position] if position < len(items) else _invalid("Fn::Select out of range")


def _split(argument: Any, context: Context) -> Any:
    arguments = _arguments("Fn::Split", argument, 2, context)
    if isinstance(arguments, Unresolved):
        return arguments
    delimiter, text = arguments
    if not isinstance(delimiter, str) or not delimiter or not isinstance(text, str):
        return _invalid("an Fn::Split that cannot be evaluated")
    parts = list(_parts(text, delimiter))
    context.budget.spend(len(parts))
    return _secret(parts) if type(text) is Secret else parts


@functools.lru_cache(maxsize=64)
def _parts(text: str, delimiter: str) -> tuple[str, ...]:
    """``text`` split at ``delimiter``: once for a text many values share (a YAML alias of one
    function over a large mapping value), however many containers take it."""
    return tuple(text.split(delimiter))


def _find_in_map(argument: Any, context: Context) -> Any:
    fallback: list[Any] = []  # AWS::LanguageExtensions' fourth argument, {DefaultValue: value}
    last = argument[-1] if isinstance(argument, list) and len(argument) == 4 else None
    if isinstance(last, dict) and list(last) == ["DefaultValue"]:
        argument, fallback = argument[:3], [last["DefaultValue"]]
    keys = _arguments("Fn::FindInMap", argument, 3, context)
    if isinstance(keys, Unresolved):
        return keys
    found: Any = context.mappings
    for key in keys:
        if not isinstance(found, dict) or not isinstance(key, str) or key not in found:
            if fallback:
                return resolve(fallback[0], context)
            return _invalid("Fn::FindInMap keys not found in Mappings")
        found = found[key]
    if isinstance(found, str) or (
        isinstance(found, list) and all(isinstance(item, str) for item in found)
    ):
        context.budget.spend(len(found) if isinstance(found, list) else 1)
        return context.read(found)
    return _invalid("Fn::FindInMap found a value that is not a string or a list of strings")


def _unchosen_if(argument: Any, context: Context) -> Any:
    return _invalid("an Fn::If where CloudFormation does not allow one")


def for_each(
    loops: Mapping[str, Loop], context: Context, taken: Mapping[str, object]
) -> tuple[dict[str, TaskDefinition], list[tuple[Loop, Unresolved]]]:
    """The task definitions ``loops`` write, by logical id, and the loops that cannot be
    expanded, with why. ``taken`` holds the logical ids written outside loops."""
    generated: dict[str, TaskDefinition] = {}
    problems: list[tuple[Loop, Unresolved]] = []

    def expand(loop: Loop, bindings: dict[str, str]) -> None:
        if loop.problem:
            problems.append((loop, _invalid(loop.problem)))
            return
        identifier = substitute(loop.identifier, bindings, context)
        collection = resolve(substitute(loop.collection, bindings, context), context)
        if not isinstance(identifier, str) or not identifier:
            problems.append((loop, _invalid("its identifier is not a name")))
        elif isinstance(collection, Unresolved):
            problems.append((loop, collection))
        elif not (isinstance(collection, list) and all(isinstance(i, str) for i in collection)):
            problems.append((loop, _invalid("its collection is not a list of strings")))
        elif any(type(item) is Secret for item in collection):  # logical ids would show them
            problems.append((loop, Unresolved("its collection is a NoEcho parameter's value")))
        else:
            for item in collection:
                inner = {**bindings, identifier: item}
                for key, entry in loop.body.items():
                    if isinstance(entry, Loop):
                        expand(entry, inner)
                        continue
                    if substitute(entry.type, inner, context) != TASK_DEFINITION:
                        continue
                    logical_id = substitute(key, inner, context)
                    if logical_id in generated or logical_id in taken:
                        problems.append((loop, _invalid(f"it writes {shown(logical_id)} twice")))
                        return
                    if len(generated) == MAX_GENERATED:
                        problems.append(
                            (loop, Unresolved(f"it writes more than {MAX_GENERATED:,} resources"))
                        )
                        return
                    generated[logical_id] = entry._replace(
                        properties=substitute(entry.properties, inner, context),
                        condition=substitute(entry.condition, inner, context),
                    )

    for loop in loops.values():
        expand(loop, {})
    return generated, problems


def substitute(value: Any, bindings: Mapping[str, str], context: Context) -> Any:
    """``value`` with ``Fn::ForEach`` identifiers replaced by their items."""
    if not bindings:
        return value
    forms = [
        (f"${{{name}}}", item, f"&{{{name}}}", "".join(c for c in item if c.isalnum()))
        for name, item in bindings.items()
    ]
    return _substitute(value, forms, bindings, context)


def _substitute(
    value: Any,
    forms: list[tuple[str, str, str, str]],
    bindings: Mapping[str, str],
    context: Context,
) -> Any:
    context.budget.spend()
    if isinstance(value, str):
        context.budget.spend(len(value) // TEXT_PER_STEP)
        text = value
        for whole, item, alphanumeric, letters in forms:
            text = text.replace(whole, item).replace(alphanumeric, letters)
        if text == value:
            return value
        context.budget.build(len(text))
        return text
    if isinstance(value, list):
        return [_substitute(item, forms, bindings, context) for item in value]
    if isinstance(value, dict):
        target = value.get("Ref") if len(value) == 1 else None
        if isinstance(target, str) and target in bindings:
            return bindings[target]
        items = {
            _substitute(key, forms, bindings, context): _substitute(item, forms, bindings, context)
            for key, item in value.items()
        }
        return value.like(items) if isinstance(value, Located) else items
    return value


_MACROS = ("Fn::Transform", "Fn::ForEach::")
_FUNCTIONS = {
    "Ref": _ref,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::If": _unchosen_if,
}
