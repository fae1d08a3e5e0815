"""Decide a whole template, or a change set's task definitions, before anything is provisioned.

CloudFormation invokes the hook's STACK target when a stack is created or updated, and its
CHANGE_SET target when a change set is created. Neither comes with a target model: the request
names a payload (read by ``remote``) that holds

- for a stack, ``template``: the template as submitted, JSON or YAML text with its intrinsic
  functions unresolved (and ``previousTemplate``, not used: what is deployed is ``template``);
- for a change set, ``template`` and ``changedResources``, one entry per resource the change set
  changes: ``action`` (CREATE, UPDATE, DELETE), ``logicalResourceId``, ``resourceType``,
  ``lineNumber`` and ``beforeContext``/``afterContext``, the resource as JSON text, its
  parameters resolved, its scalars as strings, with or without a ``Properties`` wrapper.

The Java plugin's model of the same payload spells it ``Template``, ``PreviousTemplate`` and
``ChangedResources`` with ``LogicalResourceId``, ``ResourceType``, ``LineNumber``, ``Action``,
``ResourceProperties`` and ``PreviousResourceProperties``; both spellings are read (and, as in
that plugin's test data, ``logicalId`` and ``typeName``). A template may come as text or as an
already parsed object.

Both are decided by ``scan``, the reader and resolver of the ``ecs-nonroot`` command, with the
same policy, ``certain_only``: a container fails only when every deployment of the template
fails it. The parameter values a stack is deployed with are not in the payload (its pseudo
parameters are: ``pseudo_parameters`` reads them from the stack's ARN), so a value that
depends on them (or on ``Fn::GetAtt``, ``Fn::ImportValue``, SSM, a dynamic reference, a
transform, a value a change set knows only when executed) is unverified: reported, never a
failure, and decided by the resource-level check when CloudFormation creates the task
definition with its values resolved. A change set's task definitions are decided from their
``afterContext`` (the values the change set deploys), or where a change has none that can be
read, or one without ``ContainerDefinitions``, from the template; deletions and other resource
types are not checked.

A template that holds no task definition (no ``AWS::ECS::TaskDefinition`` written in it, no
escape that could spell one, no transform or module) is answered without reading it. One larger than
CloudFormation accepts (``MAX_TEMPLATE_BYTES``) is not read, and resolving values stops at the
``deadline`` the caller gives: either leaves the template to the resource-level check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from .loader import TASK_DEFINITION, may_hold_task_definitions
from .policy import MESSAGE_LIMIT, ImageLookup, Settings, quote, reported_only
from .resolve import shown
from .scan import Finding, Options, TaskDefinitionReport, check_file

MAX_TEMPLATE_BYTES = 1_048_576
"""The largest template CloudFormation takes (1 MB, from S3)."""
FAIL = "FAIL"
WARN = "WARN"
UNVERIFIED = "UNVERIFIED"
SKIPPED = "SKIPPED"
STATUSES = (FAIL, WARN, UNVERIFIED, SKIPPED)

_TEMPLATE_KEYS = ("template", "Template")
_CHANGES_KEYS = ("changedResources", "ChangedResources")
_LOGICAL_ID_KEYS = ("logicalResourceId", "LogicalResourceId", "logicalId")
_TYPE_KEYS = ("resourceType", "ResourceType", "typeName")
_ACTION_KEYS = ("action", "Action")
_LINE_KEYS = ("lineNumber", "LineNumber")
_AFTER_KEYS = ("afterContext", "ResourceProperties")
_NOT_DEPLOYED = frozenset({"DELETE", "REMOVE"})
_LEFT_TO_RESOURCE_CHECK = "the hook decides it when CloudFormation creates the task definition"
_DECIDED_LATER = "The hook decides each task definition when CloudFormation creates it."


MAX_SHAPE_KEYS = 32
"""How many key names a description of a payload's shape names (``shape_of``)."""


class Item(NamedTuple):
    """One offending or unverified container, or a finding about a task definition or the
    template, where it is written."""

    status: str
    """FAIL, WARN (a violation of a rule in WarnOnly), UNVERIFIED, or SKIPPED (exempt, as the
    configuration says)."""
    logical_id: str
    line: int | None
    message: str
    container: int | None = None
    """The container's index in its task definition's list, when the item is about one."""
    rule: str = ""
    summary: str = ""
    """The item in a few words (the container, the value, what is wrong), without the fix."""
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    @property
    def place(self) -> str:
        """The logical id, escaped when it is not an ordinary name, and the line."""
        return shown(self.logical_id) + (f" line {self.line}" if self.line else "")

    def describe(self) -> str:
        return f"{self.place}: {self.message}"


class Outcome(NamedTuple):
    """The answer for one stack or change set."""

    failed: bool
    message: str
    items: tuple[Item, ...] = ()


class Known(NamedTuple):
    """What is known of every deployment besides the template: when resolving must stop, and
    the pseudo parameters the request tells (``pseudo_parameters``)."""

    deadline: float | None = None
    pseudo: Mapping[str, str] = {}
    images: ImageLookup | None = None
    """What images run as (rule r): only an ``Image`` the template resolves is read, and one
    that cannot be read is left to the resource-level check."""


_STACK_ARN = re.compile(
    r"arn:(aws[a-z-]*):cloudformation:([a-z0-9-]+):([0-9]{12}):stack/([A-Za-z][-A-Za-z0-9]*)/[^/]+"
)
_URL_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-us-gov": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
}


NOTHING_MORE = Known()
"""Only the template: no deadline, no pseudo parameter."""


def pseudo_parameters(account_id: object, stack_id: object) -> dict[str, str]:
    """The pseudo parameters every deployment of the stack has, from the request: its ARN
    (``stackId``) gives the partition, Region, account, name and id (and the URL suffix of the
    partitions whose suffix is known); nothing when the ARN is not a stack's or names another
    account than ``account_id``."""
    match = _STACK_ARN.fullmatch(stack_id) if isinstance(stack_id, str) else None
    if match is None or match.group(3) != account_id:
        return {}
    partition, region, account, name = match.groups()
    known = {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": name,
        "AWS::StackId": match.group(0),
    }
    if partition in _URL_SUFFIXES:
        known["AWS::URLSuffix"] = _URL_SUFFIXES[partition]
    return known


def check_stack(
    payload: Mapping[str, Any], settings: Settings, known: Known = NOTHING_MORE
) -> Outcome:
    """Decide every task definition of the template a stack is created or updated with."""
    template = _first(payload, _TEMPLATE_KEYS)
    if not isinstance(template, (str, Mapping)):
        return _unrecognized("stack", payload, "no template, text or an object", _TEMPLATE_KEYS)
    text, lines = _template(payload)
    assert text is not None
    if not may_hold_task_definitions(text):
        return Outcome(False, f"No {TASK_DEFINITION} in the template: nothing to check.")
    return _summary(_check(text, settings, lines, known), "task definition")


def check_change_set(
    payload: Mapping[str, Any], settings: Settings, known: Known = NOTHING_MORE
) -> Outcome:
    """Decide the task definitions a change set creates or updates."""
    changes = _first(payload, _CHANGES_KEYS)
    if not isinstance(changes, list) or not all(isinstance(c, Mapping) for c in changes):
        return _unrecognized("change set", payload, "no list of changes (objects)", _CHANGES_KEYS)
    contexts: list[tuple[str, Any]] = []  # every change, a logical id twice included
    lines: dict[str, int | None] = {}
    from_template: list[str] = []
    unread: list[_Checked] = []
    for number, change in enumerate(changes):
        kind, logical_id = _first(change, _TYPE_KEYS), _first(change, _LOGICAL_ID_KEYS)
        if kind is not None and kind != TASK_DEFINITION:
            continue
        action = _first(change, _ACTION_KEYS)
        if isinstance(action, str) and action.upper() in _NOT_DEPLOYED:
            continue
        if not isinstance(kind, str) or not isinstance(logical_id, str) or not logical_id:
            unread.append(_Checked(item=_unread_change(number, change)))
            continue
        line = _first(change, _LINE_KEYS)
        lines[logical_id] = line if type(line) is int and line > 0 else None
        properties = _properties(_first(change, _AFTER_KEYS))
        if properties is None or "ContainerDefinitions" not in properties:
            from_template.append(logical_id)
        else:
            contexts.append((logical_id, properties))
    if not lines and not unread:
        return Outcome(False, f"The change set changes no {TASK_DEFINITION}: nothing to check.")
    reports: list[_Checked] = unread
    for logical_id, properties in contexts:  # each on its own: no sum of them is limited
        resource = {logical_id: {"Type": TASK_DEFINITION, "Properties": properties}}
        checked = _check(json.dumps({"Resources": resource}), settings, False, known)
        reports.extend(_placed(checked, lines, logical_id))
    if from_template:
        reports.extend(_from_template(payload, settings, from_template, known))
    return _summary(reports, "changed task definition")


class _Checked(NamedTuple):
    """A task definition's report, or an item about the template as a whole."""

    report: TaskDefinitionReport | None = None
    item: Item | None = None
    lines: bool = True
    """Whether the report's lines are those of the template as written."""


def _check(text: str, settings: Settings, lines: bool, known: Known) -> list[_Checked]:
    options = Options(
        settings,
        dict(known.pseudo),
        warn_unresolved=True,
        certain_only=True,
        deadline=known.deadline,
        images=known.images,
    )
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_TEMPLATE_BYTES:
        problem = (
            f"The template is larger than CloudFormation accepts ({len(data):,} bytes); "
            f"{_LEFT_TO_RESOURCE_CHECK}."
        )
        return [_Checked(item=Item(UNVERIFIED, "Template", None, problem))]
    report = check_file("template", data, options)
    if report.status == "error":
        problem = f"The template cannot be checked here ({report.note}); {_LEFT_TO_RESOURCE_CHECK}."
        return [_Checked(item=Item(UNVERIFIED, "Template", None, problem))]
    if report.status == "skipped":  # yet it may hold a task definition: never a pass
        problem = f"The template is {report.note} here; {_LEFT_TO_RESOURCE_CHECK}."
        return [_Checked(item=Item(UNVERIFIED, "Template", None, problem))]
    checked = [_Checked(item=_item(finding, UNVERIFIED, lines)) for finding in report.findings]
    checked += [
        _Checked(td if lines else td._replace(line=0), lines=lines)
        for td in report.task_definitions
    ]
    return checked


def _placed(
    checked: list[_Checked], lines: dict[str, int | None], logical_id: str
) -> Iterator[_Checked]:
    """Reports on one change's context (``logical_id``'s), placed at the line the change set
    gives; an item about the context as a whole is about that task definition."""
    for entry in checked:
        if entry.report is not None:
            line = lines.get(entry.report.logical_id)
            yield entry._replace(report=entry.report._replace(line=line or 0), lines=False)
        elif entry.item is not None and entry.item.logical_id == "Template":
            yield entry._replace(item=entry.item._replace(logical_id=logical_id))
        else:
            yield entry


def _from_template(
    payload: Mapping[str, Any], settings: Settings, logical_ids: list[str], known: Known
) -> Iterator[_Checked]:
    """The template's reports on changed task definitions whose context cannot be read."""
    text, lines = _template(payload)
    checked = _check(text, settings, lines, known) if text is not None else []
    found = {e.report.logical_id: e for e in checked if e.report is not None}
    for logical_id in logical_ids:
        if logical_id in found:
            yield found[logical_id]
        else:
            problem = (
                "The change carries no afterContext that can be read, and the template does not "
                f"show this task definition; {_LEFT_TO_RESOURCE_CHECK}."
            )
            yield _Checked(item=Item(UNVERIFIED, logical_id, None, problem))
    yield from (entry for entry in checked if entry.item is not None)


def _summary(checked: list[_Checked], noun: str) -> Outcome:
    items: list[Item] = [entry.item for entry in checked if entry.item is not None]
    reports = [entry for entry in checked if entry.report is not None]
    containers = failing = skipped = 0
    offending: set[str] = set()
    for entry in reports:
        report = entry.report
        assert report is not None
        errors = {(f.container, f.line, f.column): f for f in report.findings if f.level != "note"}
        for container in report.containers:
            containers += 1
            finding = errors.get((container.position, container.line, container.column))
            if container.verdict == FAIL:
                failing += 1
                offending.add(report.logical_id)
            if finding is not None and container.verdict in _ITEM_STATUS:
                status = _ITEM_STATUS[container.verdict]
                items.append(_item(finding, status, entry.lines, report.line or None))
            elif container.skipped:
                skipped += 1
                line = container.line if entry.lines else report.line or None
                items.append(
                    Item(SKIPPED, report.logical_id, line, container.skipped, container.position)
                )
        items += [
            _item(f, UNVERIFIED, entry.lines, report.line or None)
            for f in report.findings
            if f.container is None and f.level != "note"
        ]
    items.sort(key=lambda item: STATUSES.index(item.status))  # offenders first, in written order
    unverified = sum(item.status == UNVERIFIED for item in items)
    warned = [item for item in items if item.status == WARN]
    plural = "" if len(reports) == 1 else "s"
    reported = f"; {len(warned)} more reported only (WarnOnly)" if warned else ""
    if failing:
        head = (
            f"{failing} of {containers} containers, in {len(offending)} of {len(reports)} "
            f"{noun}{plural}, can run as root{reported}."
        )
        shown_items = [item for item in items if item.status in (FAIL, WARN)]
        return Outcome(True, grouped(head, shown_items, MESSAGE_LIMIT), tuple(items))
    if not reports and not items:
        return Outcome(False, f"No {TASK_DEFINITION} in the template: nothing to check.")
    counted = f"{containers} containers" + (f" ({skipped} skipped)" if skipped else "")
    head = f"Checked {counted} in {len(reports)} {noun}{plural}: "
    head += (
        f"nothing is blocked; {reported_only(len(warned))}" if warned else "none can run as root"
    )
    if unverified:
        head += (
            f"{'' if warned else ' in every deployment of this template'}; {unverified} cannot "
            "be decided before deployment (see the annotations) and are decided as "
            "CloudFormation creates each task definition."
        )
    else:
        head += "."
    return Outcome(False, grouped(head, warned, MESSAGE_LIMIT), tuple(items))


_ITEM_STATUS = {FAIL: FAIL, "WARN": WARN, "UNRESOLVED": UNVERIFIED}
"""The item a container's verdict gives, when it gives one."""


def grouped(head: str, items: list[Item], limit: int) -> str:
    """``head``, then ``items`` grouped by rule and fix, each group's fix said once
    (``[root-user] A line 3: container "x" (#0) User "0": uid 0 is root; ... Fix: ...``),
    at most ``limit`` characters: what does not fit is counted."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for item in items:
        kind = "Warning" if item.status == WARN else "Violation"
        brief = item.summary or item.message
        groups.setdefault((kind, item.rule, item.fix), []).append(f"{item.place}: {brief}")
    text = head
    left = len(items)
    for (kind, rule, fix), briefs in groups.items():
        ending = f". Fix: {fix}." if fix else "."
        opening = f" {kind} [{rule}]: " if rule else f" {kind}: "
        for number, brief in enumerate(briefs):
            last = number == len(briefs) - 1
            part = (opening if number == 0 else "; ") + brief + (ending if last else "")
            reserved = (0 if last else len(ending)) + len(_more(left - 1))
            if len(text) + len(part) + reserved > limit:
                return (text + (ending if number else "") + _more(left))[:limit]
            text += part
            left -= 1
    return text


def _more(count: int) -> str:
    """How a message that is cut counts what it leaves out."""
    if count == 0:
        return ""
    return f" ...and {count} more violation{'' if count == 1 else 's'}."


def _item(finding: Finding, status: str, lines: bool, fallback: int | None = None) -> Item:
    line = finding.line if lines else fallback
    return Item(
        status,
        finding.logical_id,
        line or None,
        finding.message,
        finding.container,
        finding.rule,
        finding.summary,
        finding.fix,
    )


def _template(payload: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The template's text, and whether its lines are the template's as written; None when
    there is no template, as text or an object."""
    template = _first(payload, _TEMPLATE_KEYS)
    if isinstance(template, str):
        return template, True
    if isinstance(template, Mapping):
        return json.dumps(template), False
    return None, False


def _unrecognized(
    target: str, payload: Mapping[str, Any], missing: str, keys: tuple[str, ...]
) -> Outcome:
    """The answer to a payload this hook does not know how to read: never a block (it may be
    CloudFormation's own shape, one not foreseen), but a visible annotation that says what
    was looked for and what shape was seen, so the wrong assumption shows itself."""
    looked = " or ".join(quote(key) for key in keys)
    problem = (
        f"The {target} payload holds {missing} under {looked}; it holds {shape_of(payload)}. "
        f"{_DECIDED_LATER}"
    )
    message = (
        f"The {target} payload is not in a shape this hook reads: nothing was decided at this "
        "layer, and the hook decides each task definition when CloudFormation creates it (the "
        "annotation says what shape was seen)."
    )
    return Outcome(False, message, (Item(UNVERIFIED, "Payload", None, problem),))


def _unread_change(number: int, change: Mapping[str, Any]) -> Item:
    """An unverified item for a change whose resource type or logical id cannot be read."""
    problem = (
        f"The change set's change #{number} has no resource type and logical id where they are "
        f"looked for; it holds {shape_of(change)}. {_DECIDED_LATER}"
    )
    return Item(UNVERIFIED, f"Change #{number}", None, problem)


def shape_of(value: object, top: bool = True) -> str:
    """What ``value`` is, without any of its values: its kind; for an object, its key names
    (at most ``MAX_SHAPE_KEYS``, quoted as ``policy.quote`` does: a template's logical ids
    could be among them) with the kind of each, a list among them (at the top) described too;
    for a list, its length and the key names of the objects in it, taken together."""
    if isinstance(value, Mapping):
        if not value:
            return "an empty object"
        kinds: dict[str, set[str]] = {}
        for key, item in value.items():
            kind = shape_of(item, top=False) if top and isinstance(item, list) else _kind(item)
            kinds.setdefault(str(key), set()).add(kind)
        return "an object with " + _keys(kinds)
    if isinstance(value, list):
        kinds = {}
        for item in value:
            for key, inner in item.items() if isinstance(item, Mapping) else ():
                kinds.setdefault(str(key), set()).add(_kind(inner))
        return f"a list of {len(value)}" + (f", its objects with {_keys(kinds)}" if kinds else "")
    return _kind(value)


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__


def _keys(kinds: dict[str, set[str]]) -> str:
    """Key names with their kinds: ``"template" (text), "x" (list or object)``."""
    named = [
        f"{quote(key[:64])} ({' or '.join(sorted(found))})"
        for key, found in list(kinds.items())[:MAX_SHAPE_KEYS]
    ]
    more = len(kinds) - MAX_SHAPE_KEYS
    keys = "key" if len(kinds) == 1 else "keys"
    return f"{keys} " + ", ".join(named) + (f" and {more} more" if more > 0 else "")


def _properties(context: object) -> Mapping[str, Any] | None:
    """A change's resource properties: its context parsed when it is JSON text, without a
    ``Properties`` wrapper (no task definition property has that name); None if unreadable."""
    if isinstance(context, str):
        try:
            context = json.loads(context)
        except (ValueError, RecursionError):
            return None
    if not isinstance(context, Mapping):
        return None
    wrapped = context.get("Properties")
    if isinstance(wrapped, Mapping):
        return wrapped
    return context if context else None


def _first(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """The value of the first of ``keys`` that ``mapping`` has (the payload's spellings)."""
    return next((mapping[key] for key in keys if mapping.get(key) is not None), None)
