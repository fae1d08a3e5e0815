"""Check templates before they are deployed, with the same policy the hook runs at deploy time.

Each container definition written in a task definition is decided on its own, where it is
written. The conditions that decide whether it exists (an ``Fn::If`` around it, around
``ContainerDefinitions`` or ``Properties``, the resource's ``Condition``) and those its ``Name``,
``Image`` and ``User`` and the task definition's ``RuntimePlatform`` depend on are enumerated
(``Conditions.cases``); each case's values are resolved (``resolve``) and decided by
``policy.evaluate``, exactly as the hook decides the resolved properties CloudFormation sends it.
The container gets its worst verdict over the cases, reported once, with the conditions that
lead there.

What a template cannot tell (a ``User`` from ``Fn::GetAtt``, a parameter with no value) is
reported as ``unresolved-value``: an error unless unresolved values are only to be warned about.
Checked ``certain_only`` (the hook's stack and change-set targets, which see the template but
not the parameter values it is deployed with), a container fails only when every deployment of
the template would fail it: parameters have no value, Defaults included, and a verdict that
depends on conditions (whether the container exists, or which value it gets) is unresolved.
A verdict that depends on how a YAML loader reads an unquoted value (``1000:0``, ``0x10``,
``yes``) is unresolved there too: which reading CloudFormation gets is not known.
What CloudFormation would refuse (a malformed function, ``Fn::FindInMap`` keys that do not
exist) and what is beyond the check's limits are errors either way. Never a silent pass.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from .loader import (
    MODULE_SUFFIX,
    Located,
    Loop,
    PlainScalar,
    Position,
    Template,
    TemplateError,
    load,
    may_hold_task_definitions,
)
from .policy import (
    EXAMPLE_USER,
    IMAGE_RULES,
    OVERRIDE_PROPERTIES,
    RULE_SUMMARIES,
    ContainerResult,
    ImageLookup,
    ImageVerification,
    MalformedTaskDefinitionError,
    Report,
    Settings,
    Verdict,
    evaluate,
    overrides,
    quote,
)
from .resolve import (
    NO_VALUE,
    Budget,
    Conditions,
    Context,
    Guards,
    ResolutionBudgetError,
    Secret,
    TooManyCasesError,
    Unresolved,
    conditions_in,
    for_each,
    resolve,
    shown,
)

UNRESOLVED_VALUE = "unresolved-value"
INVALID_TASK_DEFINITION = "invalid-task-definition"
UNQUOTED_YAML11 = "unquoted-yaml11-value"
SKIPPED_CONTAINER = "skipped-container"
NOT_A_TEMPLATE = "not a CloudFormation template"
CANNOT_HOLD = (
    "no task definition can be written in it: no AWS::ECS::TaskDefinition, no escape, no "
    "transform or module"
)
UNREADABLE_CANNOT_HOLD = f"not valid YAML or JSON, and {CANNOT_HOLD}"

# A platform to decide a container under when RuntimePlatform cannot be resolved.
_PLATFORMS: tuple[tuple[str, dict[str, str]], ...] = (
    ("Linux", {}),
    ("Windows", {"OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}),
)
_SEVERITY = ("SKIP", "PASS", "WARN", "UNRESOLVED", "FAIL")
"""Verdicts from the best to the worst: a container gets its worst over the cases."""
_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+")

_AS_YAML11 = (
    "unquoted integers are read as YAML 1.1 loaders read them (aws cloudformation package, SAM)"
)
_AS_WRITTEN = "unquoted values are read as written (YAML 1.1 loaders read them otherwise)"


class Options(NamedTuple):
    """How templates are checked: the hook's settings plus what only the command line knows."""

    settings: Settings = Settings()
    parameters: Mapping[str, str | Unresolved] | None = None
    warn_unresolved: bool = False
    certain_only: bool = False
    """Fail only what every deployment of the template fails; parameter values are unknown."""
    deadline: float | None = None
    """When (``time.monotonic``) resolving a template's values must stop, if ever."""
    images: ImageLookup | None = None
    """What images run as, when ``ImageVerification`` is on (``registry.ImageTable``)."""


class Finding(NamedTuple):
    """One line of the report: a violation (error), an unverifiable value, or advice (note)."""

    rule: str
    level: str
    message: str
    logical_id: str
    line: int
    column: int
    container: int | None = None
    """The container's index in the list it is written in, when the finding is about one."""
    value: str | int | None = None
    """The User the verdict is on, when it is a value that may be shown."""
    summary: str = ""
    """The finding in one short line: where (the container) and what, without why or fix."""
    fix: str = ""
    """How to fix it, when there is something to do."""

    @property
    def brief(self) -> str:
        """``summary``, or the message when there is none."""
        return self.summary or self.message


class ContainerVerdict(NamedTuple):
    position: int
    """Its index in the list it is written in."""
    name: str | None
    verdict: str
    """PASS, FAIL, SKIP, or UNRESOLVED."""
    line: int
    column: int
    condition: str = ""
    """When it exists, if only under conditions ("HasProxy is true")."""
    skipped: str = ""
    """Why it is not evaluated, when it is skipped (exempt, or a Windows task skipped)."""


class TaskDefinitionReport(NamedTuple):
    logical_id: str
    line: int
    column: int
    containers: tuple[ContainerVerdict, ...]
    findings: tuple[Finding, ...]


class FileReport(NamedTuple):
    path: str
    status: str
    """checked, skipped (not a CloudFormation template) or error (unreadable)."""
    note: str = ""
    task_definitions: tuple[TaskDefinitionReport, ...] = ()
    parameters: frozenset[str] = frozenset()
    """The parameters the template declares."""
    findings: tuple[Finding, ...] = ()
    """Findings about the template as a whole (transforms, loops that cannot be expanded)."""


def check_file(path: str, data: bytes, options: Options) -> FileReport:
    """Load and check one file."""
    with _collecting_garbage_after():
        try:
            template = load(data)
            if template is None:
                return FileReport(path, "skipped", NOT_A_TEMPLATE)
            task_definitions, findings = check_template(template, options)
            return FileReport(
                path,
                "checked",
                task_definitions=task_definitions,
                parameters=frozenset(template.parameters),
                findings=findings,
            )
        except TemplateError as error:
            if not _may_hold_task_definitions(data):
                return FileReport(path, "skipped", f"{NOT_A_TEMPLATE} ({UNREADABLE_CANNOT_HOLD})")
            return FileReport(path, "error", f"cannot read: {error}")
        except ResolutionBudgetError as error:  # while expanding Fn::ForEach loops
            return FileReport(path, "error", f"cannot check: {error}")
        except RecursionError:
            return FileReport(path, "error", "cannot check: its values refer too deeply")
        except Exception as error:
            return FileReport(
                path, "error", f"cannot check: internal error ({type(error).__name__})"
            )


@contextlib.contextmanager
def _collecting_garbage_after() -> Iterator[None]:
    """Pause the cyclic garbage collector: reading a large template creates objects by the
    hundred thousand, none of them in cycles, and every collection would walk them all again
    (it takes a third of the time of a template with 40,000 containers)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _may_hold_task_definitions(data: bytes) -> bool:
    """Whether a file that cannot be read could hold a task definition: not when it is UTF-8
    text in which none can be written (a Helm chart, a Go template)."""
    try:
        return may_hold_task_definitions(data.decode("utf-8"))
    except UnicodeDecodeError:
        return True


def check_template(
    template: Template, options: Options
) -> tuple[tuple[TaskDefinitionReport, ...], tuple[Finding, ...]]:
    """The reports on a template's task definitions (those its ``Fn::ForEach`` loops write
    too), and the findings about the template as a whole."""
    context = Context(
        template.parameters,
        template.mappings,
        options.parameters or {},
        Budget(deadline=options.deadline),
        defaults=not options.certain_only,
        language_extensions=any(
            name == "AWS::LanguageExtensions" for name, _ in template.transforms
        ),
    )
    conditions = Conditions(template.conditions, context)
    readings = (context, context._replace(numbers=True)) if template.numbers else (context,)
    generated, problems = for_each(template.loops, context, template.task_definitions)
    findings = _unseen(template, options)
    # a transform only CloudFormation sees may rewrite any task definition: where every
    # deployment must fail a container to fail it, none is certain
    rewritable = options.certain_only and bool(findings)
    findings += [_loop_problem(loop, problem, options) for loop, problem in problems]
    reports = []
    remembered: dict[Any, _Outcome] = {}
    for logical_id, task_definition in {**template.task_definitions, **generated}.items():
        checker = _TaskDefinitionCheck(
            logical_id, task_definition.position, options, context, remembered
        )
        checker.rewritable = rewritable
        guards: Guards = ((task_definition.condition, True),) if task_definition.condition else ()
        try:
            if task_definition.problem:
                checker.problem(
                    INVALID_TASK_DEFINITION,
                    "error",
                    Said(
                        f"Cannot verify: {task_definition.problem}, and YAML loaders differ on "
                        "which one counts. Fix: write each key once.",
                        f"{task_definition.problem}: YAML loaders differ on which one counts",
                        "write each key once",
                    ),
                )
            else:
                for site in checker.sites(task_definition.properties, guards, context):
                    checker.decide(site, conditions, readings)
        except ResolutionBudgetError as error:  # what was decided before it is set aside
            checker = _TaskDefinitionCheck(
                logical_id, task_definition.position, options, context, remembered
            )
            checker.rewritable = rewritable
            checker.problem(
                UNRESOLVED_VALUE,
                "error",
                Said(f"Cannot verify: {error}.", f"cannot verify: {error}"),
            )
        reports.append(checker.report())
    return tuple(reports), tuple(findings)


# Transforms whose output is checked here: expanded (Fn::ForEach), or known to write no task
# definition (SAM, Secrets Manager rotation) or only copies of those written (blue/green).
_TRANSFORMS_SEEN = frozenset(
    {
        "AWS::LanguageExtensions",
        "AWS::Serverless-2016-10-31",
        "AWS::SecretsManager-2020-07-23",
        "AWS::CodeDeployBlueGreen",
    }
)


def _unresolved_level(options: Options) -> str:
    """The level of an ``unresolved-value`` finding."""
    return "warning" if options.warn_unresolved else "error"


def _unseen(template: Template, options: Options) -> list[Finding]:
    """A finding for each transform or module whose output cannot be known offline."""
    fix = (
        "check the processed template (aws cloudformation get-template --template-stage "
        "Processed), or rely on the hook at deploy time"
    )
    findings = []
    for name, position in template.transforms:
        if name in _TRANSFORMS_SEEN:
            continue
        what = f"the {'module' if name.endswith(MODULE_SUFFIX) else 'transform'} {shown(name)}"
        message = (
            f"Cannot verify: {what} can add or change resources, task definitions too, and "
            f"only CloudFormation sees what it writes. Fix: {fix}."
        )
        summary = f"{what} may write task definitions only CloudFormation sees"
        findings.append(
            Finding(
                UNRESOLVED_VALUE,
                _unresolved_level(options),
                message,
                "Transform",
                *position,
                summary=summary,
                fix=fix,
            )
        )
    return findings


def _loop_problem(loop: Loop, problem: Unresolved, options: Options) -> Finding:
    """The finding on an ``Fn::ForEach`` that cannot be expanded."""
    if problem.invalid:
        rule, level, fix = INVALID_TASK_DEFINITION, "error", "correct the loop"
    else:
        fix = (
            _fix(problem, options)
            if problem.parameter is not None
            else "write the collection as a list, or check the processed template"
        )
        rule, level = UNRESOLVED_VALUE, _unresolved_level(options)
    message = f"Cannot verify the task definitions it writes: {problem.reason}. Fix: {fix}."
    summary = f"cannot expand the loop: {problem.reason}"
    return Finding(rule, level, message, loop.name, *loop.position, summary=summary, fix=fix)


def _finding(
    rule: str,
    level: str,
    said: Said,
    logical_id: str,
    position: tuple[int, int],
    *,
    container: int | None = None,
    value: str | int | None = None,
) -> Finding:
    """The finding ``said`` gives, where it is written."""
    return Finding(
        rule, level, said.message, logical_id, *position, container, value, said.summary, said.fix
    )


class _Site(NamedTuple):
    """A container definition as written, and what decides whether and how it is deployed."""

    position: int
    container: Located
    shared: dict[str, Any]
    """The task definition's properties the policy reads besides its containers, as written:
    ``RuntimePlatform``, and ``Tags`` when an exception tag is configured."""
    guards: Guards


class Said(NamedTuple):
    """What a finding says: the whole message (what, why, fix), one short line, and the fix."""

    message: str
    summary: str
    fix: str = ""
    what: str = ""
    """A violation's message without its kind and fix (the container, the value, the reason),
    for messages that build on it."""


Render = Callable[[str, str], Said]
"""A finding's text, given the conditions that lead there (", when C is true,") and where the
User comes from (" from parameter AppUser", or "")."""


class _Outcome(NamedTuple):
    """The verdict on a container in one case, and its finding's text without conditions."""

    verdict: str
    name: str | None = None
    rule: str = ""
    level: str = ""
    render: Render | None = None
    note: Said | None = None
    """The YAML 1.1 note on its User, if any."""
    skipped: str = ""
    skipped_brief: str = ""
    value: str | int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.verdict, self.rule, self.render("", "").message if self.render else ""


class _TaskDefinitionCheck:
    """Collects one task definition's container verdicts and findings."""

    def __init__(
        self,
        logical_id: str,
        position: Position,
        options: Options,
        context: Context,
        remembered: dict[Any, _Outcome],
    ) -> None:
        self.logical_id = logical_id
        self.position = position
        self.rewritable = False
        """Whether a transform only CloudFormation sees may rewrite it (``certain_only``)."""
        self.options = options
        self.budget = context.budget
        """The template's: deciding whether an exemption may match a value spends from it."""
        self.unresolved_level = _unresolved_level(options)
        self.containers: list[ContainerVerdict] = []
        self.findings: list[Finding] = []
        self.platforms: dict[int, set[str] | None] = {}
        self.shared: list[dict[str, Any]] = []
        """Every ``_Site.shared`` made, kept alive: ``id`` of one is a key in ``platforms``."""
        self.unconditional: dict[int, tuple[Any, list[tuple[_Site, Any]]]] = {}
        """Containers that depend on no condition, resolved, with their resolved RuntimePlatform,
        by RuntimePlatform as written: decided together."""
        self.held_from = self.budget.built
        """``Budget.built`` when the values held last started to be held."""
        self.remembered = remembered
        """The template's outcomes of containers that depend on conditions, by where the
        container is and what it resolved to (``_fingerprint``): decided once however many
        cases or task definitions (a YAML alias) give the same."""

    def report(self) -> TaskDefinitionReport:
        self.decide_unconditional()
        line, column = self.position
        return TaskDefinitionReport(
            self.logical_id,
            line,
            column,
            tuple(sorted(self.containers, key=_in_place)),
            tuple(sorted(self.findings, key=_in_place)),
        )

    def decide_unconditional(self) -> None:
        """Decide the containers that depend on no condition, those under one RuntimePlatform
        in one call of the policy (as the hook decides a task definition)."""
        self.held_from = self.budget.built
        for platform, group in self.unconditional.values():
            results = None
            doubts = [self.doubt(container, platform) for _, container in group]
            if _unknown(platform) is None and not any(doubts):
                properties = _policy_input([container for _, container in group], platform)
                with contextlib.suppress(MalformedTaskDefinitionError):  # each gets it below
                    results = self.evaluate(properties).results
            for number, (site, container) in enumerate(group):
                if results is None:
                    outcome = self.judged(site.position, container, platform, doubts[number])
                else:
                    result = results[number]._replace(position=site.position)
                    outcome = self.with_image(container, result, self.from_result(result))
                self.add(site, outcome, "")
        self.unconditional.clear()

    def problem(self, rule: str, level: str, said: Said) -> None:
        """A finding about the task definition as a whole."""
        self.findings.append(_finding(rule, level, said, self.logical_id, self.position))

    def unusable(self, place: str, value: Any, shape: str) -> None:
        """``place`` resolved to ``value``, which is not ``shape``."""
        if isinstance(value, Unresolved) and not value.invalid:
            fix = _fix(value, self.options)
            self.problem(
                UNRESOLVED_VALUE,
                self.unresolved_level,
                Said(
                    f"Cannot verify: {place}: {value.reason}. Fix: {fix}.",
                    f"{place} cannot be resolved: {value.reason}",
                    fix,
                ),
            )
        elif isinstance(value, Unresolved):
            said = f"{place}: {value.reason}"
            self.problem(INVALID_TASK_DEFINITION, "error", Said(f"{said}.", said))
        else:
            said = f"{place} must be {shape}"
            self.problem(INVALID_TASK_DEFINITION, "error", Said(f"{said}.", said))

    def sites(self, properties: Any, guards: Guards, context: Context) -> Iterator[_Site]:
        """Every container definition written in ``properties``, with its guards."""
        for value, when in _forms(properties, guards, context):
            if value is None:
                continue
            if not isinstance(value, dict):
                self.unusable("Properties", value, "an object")
                continue
            shared = {key: value[key] for key in self.shared_keys if key in value}
            self.shared.append(shared)
            for containers, where in _forms(value.get("ContainerDefinitions"), when, context):
                if containers is None:
                    continue
                if not isinstance(containers, list):
                    self.unusable("ContainerDefinitions", containers, "a list")
                    continue
                for index, item in enumerate(containers):
                    for container, guard in _forms(item, where, context):
                        if isinstance(container, Located):
                            yield _Site(index, container, shared, guard)
                        else:
                            self.unusable(f"ContainerDefinitions[{index}]", container, "an object")

    def decide(self, site: _Site, conditions: Conditions, readings: Sequence[Context]) -> None:
        """Decide one container over every case of its conditions, and in each case under every
        reading of its values (as written, and when the template has unquoted integers YAML 1.1
        reads as other numbers, as read); record the worst."""
        container = site.container
        context = readings[0]
        in_container, in_platform = conditions_in(container), self.platform_conditions(site)
        if in_container is None and in_platform is None and not site.guards and len(readings) == 1:
            key = id(site.shared)
            if key not in self.unconditional:
                self.unconditional[key] = (resolve(site.shared, context), [])
            self.unconditional[key][1].append((site, resolve(container, context)))
            if self.budget.built - self.held_from > HELD_TEXT:  # decide them, let them go
                self.decide_unconditional()
            return
        names = frozenset(
            {name for name, _ in site.guards} | (in_container or set()) | (in_platform or set())
        )
        try:
            conditions.cases(names)
        except TooManyCasesError as error:
            limit = str(error)
            written = container.get("Name")
            label = _label(site.position, written if isinstance(written, str) else None)
            self.add(
                site,
                _Outcome(
                    "UNRESOLVED",
                    rule=UNRESOLVED_VALUE,
                    level="error",
                    render=lambda when, _: Said(
                        f"Cannot verify: {label}{when}: its values depend on {limit}. Fix: "
                        f"{_FEWER_CONDITIONS}.",
                        f"{label}{when}: its values depend on {limit}",
                        _FEWER_CONDITIONS,
                    ),
                ),
                _when(site.guards),
            )
            return
        absent = not conditions.always(names, dict(site.guards))
        outcomes = self.every_way(site, conditions, names, readings)
        if not outcomes:
            return  # its conditions contradict each other: never deployed
        worst, taken, reading = max(outcomes, key=lambda item: _SEVERITY.index(item[0].verdict))
        # certain only when it fails in every case under every reading: which reading
        # CloudFormation gets of an unquoted number is not known to the stack layer either
        failing = sum(outcome.verdict == "FAIL" for outcome, _, _ in outcomes)
        uncertain = absent or failing < len(outcomes)
        if worst.verdict == "FAIL" and uncertain and self.options.certain_only:
            worst = _unless_certain(worst, self.unresolved_level)
        if all(outcome is worst or outcome.key == worst.key for outcome, _, _ in outcomes):
            self.add(site, worst, _when(site.guards))
            return
        when = _when(tuple(taken.items()))
        other = [o for o, case, r in outcomes if case is taken and r.numbers != reading.numbers]
        if any(o.key != worst.key for o in other):  # the reading decided it: say which
            read = _AS_YAML11 if reading.numbers else _AS_WRITTEN
            when = " and ".join(filter(None, [when, read]))
        self.add(site, worst, when)

    def every_way(
        self,
        site: _Site,
        conditions: Conditions,
        names: frozenset[str],
        readings: Sequence[Context],
    ) -> list[tuple[_Outcome, dict[str, bool], Context]]:
        """The container's outcome in each way its branches can be chosen, under each reading,
        with the conditions that chose it; an outcome decided once for what it resolves to."""
        outcomes: list[tuple[_Outcome, dict[str, bool], Context]] = []
        local: dict[Any, _Outcome] = {}
        """Outcomes of values with long texts: keyed by their identity, so only while ``held``
        keeps them alive, as long as this container is decided."""
        held: list[tuple[Any, Any]] = []
        ways = conditions.choices([site.container, site.shared], names, site.guards)
        for (chosen, platform), taken in ways:
            self.budget.spend(_CASE_STEPS)
            for reading in readings:
                resolved = resolve(chosen, reading), resolve(platform, reading)
                if self.budget.built - self.held_from > HELD_TEXT:  # let them go
                    local.clear()
                    held.clear()
                    self.held_from = self.budget.built
                long_texts: list[str] = []
                seen = site.position, _fingerprint(resolved, long_texts)
                decided = local if long_texts else self.remembered
                if seen not in decided:
                    if len(decided) >= _DECIDED:
                        decided.clear()
                    self.budget.spend(_DECISION_STEPS)
                    decided[seen] = self.outcome(site.position, *resolved)
                    if long_texts:
                        held.append(resolved)
                outcomes.append((decided[seen], taken, reading))
        return outcomes

    def platform_conditions(self, site: _Site) -> set[str] | None:
        """``conditions_in`` the site's RuntimePlatform (and Tags), which its task definition's
        containers share."""
        key = id(site.shared)
        if key not in self.platforms:
            self.platforms[key] = conditions_in(site.shared)
        return self.platforms[key]

    @property
    def shared_keys(self) -> tuple[str, ...]:
        """The task definition's properties the policy reads besides ContainerDefinitions."""
        if self.options.settings.exception_tag_key is None:
            return ("RuntimePlatform",)
        return ("RuntimePlatform", "Tags")

    def unknown_tags(self, shared: Any) -> Unresolved | None:
        """Why whether the configured exception tag excepts the task definition is not known
        (its Tags, that tag's key or its value cannot be resolved, or the value is a NoEcho
        parameter's, which is never shown), or None."""
        key = self.options.settings.exception_tag_key
        tags = shared.get("Tags") if key is not None and isinstance(shared, dict) else None
        if isinstance(tags, Unresolved):
            return tags
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, Unresolved):
                return tag
            if not isinstance(tag, dict):
                continue
            tag_key = tag.get("Key")
            if isinstance(tag_key, Unresolved):
                return tag_key
            value = tag.get("Value") if tag_key == key else None
            if isinstance(value, Unresolved):
                return value
            if isinstance(value, Secret):
                return Unresolved("its value is a NoEcho parameter's, which is never shown")
        return None

    def add(self, site: _Site, outcome: _Outcome, when: str) -> None:
        if self.rewritable and outcome.verdict == "FAIL":
            outcome = _unless_certain(outcome, self.unresolved_level)
        container = site.container
        line, column = container.key_position("User") or container.start
        name = outcome.name
        if name is None and isinstance(container.get("Name"), str):
            name = container["Name"]
        condition = _when(site.guards) if site.guards else ""
        self.containers.append(
            ContainerVerdict(
                site.position, name, outcome.verdict, line, column, condition, outcome.skipped
            )
        )
        found = []
        if outcome.render is not None:
            when_text = f", when {when}," if when else ""
            said = outcome.render(when_text, origin(container.get("User")))
            found.append((outcome.rule, outcome.level, said))
        if outcome.note:
            found.append((UNQUOTED_YAML11, "note", outcome.note))
        if outcome.verdict == "SKIP" and outcome.skipped:
            skipped = f"Skipped {outcome.skipped}."
            brief = f"Skipped {outcome.skipped_brief or outcome.skipped}."
            found.append((SKIPPED_CONTAINER, "note", Said(skipped, brief)))
        for rule, level, said in found:
            self.findings.append(
                _finding(
                    rule,
                    level,
                    said,
                    self.logical_id,
                    (line, column),
                    container=site.position,
                    value=outcome.value,
                )
            )

    def outcome(self, index: int, container: Any, platform: Any) -> _Outcome:
        """The verdict on one container definition as resolved in one case (``platform``: its
        resolved ``_Site.shared``)."""
        return self.judged(index, container, platform, self.doubt(container, platform))

    def judged(
        self, index: int, container: Any, platform: Any, doubt: tuple[Unresolved, str, str] | None
    ) -> _Outcome:
        """``outcome``, given what may exempt the container but cannot be resolved (``doubt``)."""
        if doubt is None:
            return self.settled(index, container, platform)
        # decided as not exempt: a failure then depends on what cannot be resolved
        unknown, place, what = doubt
        outcome = self.settled(
            index, container, {**platform, "Tags": []} if place == "Tags" else platform
        )
        if outcome.verdict != "FAIL" or outcome.rule == INVALID_TASK_DEFINITION:
            return outcome
        render = outcome.render
        assert render is not None

        def unless(when: str, origin: str) -> Said:
            violation = render(when, origin)
            fix = f"{violation.fix}; or {_fix(unknown, self.options)}"
            return Said(
                f"Cannot verify: {violation.what or violation.summary}. It passes only if {what}, "
                "and whether it "
                f"does cannot be resolved: {place}: {unknown.reason}. Fix: {fix}.",
                f"{violation.summary}, unless {what} ({place} cannot be resolved)",
                fix,
            )

        return self.unverified(outcome.name, unless)._replace(value=outcome.value)

    def unverified(self, name: str | None, render: Render) -> _Outcome:
        """An ``unresolved-value`` outcome at the configured level."""
        return _Outcome("UNRESOLVED", name, UNRESOLVED_VALUE, self.unresolved_level, render)

    def doubt(self, container: Any, shared: Any) -> tuple[Unresolved, str, str] | None:
        """What may exempt the container but cannot be resolved: the exception tag, or an
        exemption whose patterns match every known value and whose other values are unknown;
        with where it is written and what it would do. None when the policy can decide."""
        tags = self.unknown_tags(shared)
        if tags is not None:
            key = shown(self.options.settings.exception_tag_key or "")
            return tags, "Tags", f"the exception tag {key} excepts its task definition"
        if not isinstance(container, dict):
            return None
        for exemption in self.options.settings.exemptions:
            unknown = []
            for place, pattern in exemption.patterns():
                value = container.get(place)
                if isinstance(value, Unresolved):
                    if not globs_meet(pattern, value.shape or "*", self.budget):
                        break
                    unknown.append((value, place))
                elif not (isinstance(value, str) and fnmatch.fnmatchcase(value, pattern)):
                    break
            else:
                if not exemption.allow_overrides:
                    known, unresolved = _overrides_known(container)
                    if known:
                        continue  # it overrides what its image runs: not exempt (rule a)
                    unknown += unresolved
                if unknown:
                    value, place = unknown[0]
                    return value, place, f"{exemption.source} exempts it"
        return None

    def settled(self, index: int, container: Any, platform: Any) -> _Outcome:
        """The verdict on one container once nothing that may exempt it is unknown."""
        unknown = _unknown(platform)
        if unknown is None:
            return self.decided(index, container, platform)
        if unknown.invalid:
            return _Outcome(
                "FAIL",
                rule=INVALID_TASK_DEFINITION,
                level="error",
                render=lambda when, _: Said(
                    f"RuntimePlatform{when}: {unknown.reason}.",
                    f"RuntimePlatform{when}: {unknown.reason}",
                ),
            )
        linux, windows = (
            self.decided(index, container, {**platform, "RuntimePlatform": form})
            for _, form in _PLATFORMS
        )
        if linux.verdict == windows.verdict:
            return linux  # the same on either platform (Linux's reason when both fail)
        label = _label(index, linux.name)
        fix = _fix(unknown, self.options)
        return self.unverified(
            linux.name,
            lambda when, _: Said(
                f"Cannot verify: {label}{when}: the verdict differs between Linux and "
                f"Windows, and RuntimePlatform cannot be resolved: {unknown.reason}. Fix: {fix}.",
                f"{label}{when}: Linux and Windows differ, and RuntimePlatform cannot be resolved",
                fix,
            ),
        )

    def decided(self, index: int, container: Any, platform: Any) -> _Outcome:
        """The policy's verdict on one resolved container under one resolved platform."""
        try:
            (result,) = self.evaluate(_policy_input([container], platform)).results
        except MalformedTaskDefinitionError as error:
            said = Said(str(error), str(error).removesuffix("."))
            return _Outcome(
                "FAIL", rule=INVALID_TASK_DEFINITION, level="error", render=lambda *_: said
            )
        result = result._replace(position=index)
        return self.with_image(container, result, self.from_result(result))

    def evaluate(self, properties: dict[str, Any]) -> Report:
        return evaluate(properties, self.options.settings, self.options.images)

    def with_image(self, container: Any, result: ContainerResult, outcome: _Outcome) -> _Outcome:
        """``outcome``, unless it rests on an image not read (rule r): one whose ``Image``
        cannot be resolved, or, checked ``certain_only``, one that could not be read, is
        unverified; the value of a NoEcho parameter is never shown."""
        finding, user = result.finding, result.user
        if (
            finding is None
            or finding.rule not in IMAGE_RULES
            or self.options.settings.image_verification is ImageVerification.OFF
            or not isinstance(container, dict)
            or not (user is None or (isinstance(user, str) and not user.strip()))
        ):
            return outcome
        image = container.get("Image")
        label = result.label
        if isinstance(image, Unresolved) and not image.invalid:
            fix = _fix(image, self.options)
            return self.unverified(
                outcome.name,
                lambda when, _: Said(
                    f"Cannot verify: {label}{when} sets no User, so its image's USER applies, "
                    f"and its Image cannot be resolved: {image.reason}. Fix: {fix}.",
                    f"{label}{when}: no User, and its Image cannot be resolved",
                    fix,
                ),
            )
        render = outcome.render
        if render is None:
            return outcome
        if isinstance(image, Secret):
            hidden = quote(image, 96)

            def masked(when: str, origin: str) -> Said:
                said = render(when, origin)
                return Said(
                    *(part.replace(hidden, "(a NoEcho parameter's value)") for part in said)
                )

            outcome = outcome._replace(render=masked)
        if finding.unread and self.options.certain_only:
            shown_render = outcome.render
            assert shown_render is not None
            return self.unverified(
                outcome.name,
                lambda when, origin: Said(
                    f"Cannot verify here: {shown_render(when, origin).what}; {_LEFT_TO_HOOK}.",
                    f"{shown_render(when, origin).summary}, not read here",
                    _LEFT_TO_HOOK,
                ),
            )
        return outcome

    def from_result(self, result: ContainerResult) -> _Outcome:
        """The outcome the policy's result on a container gives; the value of a NoEcho
        parameter is never shown."""
        if isinstance(result.name, Secret):
            result = result._replace(name=None)
        name = result.name if isinstance(result.name, str) else None
        note = _unquoted_note(result)
        user = result.user
        value = _shown_value(user)
        if result.verdict in (Verdict.PASS, Verdict.SKIP):
            skipped = brief = ""
            if result.verdict is Verdict.SKIP:
                skipped = f"{result.label}: {result.note}"
                brief = f"{result.short_label}: {result.brief or result.note}"
            return _Outcome(
                result.verdict.value,
                name,
                note=note,
                skipped=skipped,
                skipped_brief=brief,
                value=value,
            )
        if isinstance(user, Unresolved) and user.invalid:
            fix = "correct the function; CloudFormation would refuse or fail it"
            return _Outcome(
                "FAIL",
                name,
                INVALID_TASK_DEFINITION,
                "error",
                lambda when, _: Said(
                    f"Violation: {result.label}{when} User: {user.reason}. Fix: {fix}.",
                    f"{result.label}{when} User: {user.reason}",
                    fix,
                ),
                note,
            )
        if isinstance(user, Unresolved):
            fix = _fix(user, self.options)
            return self.unverified(
                name,
                lambda when, _: Said(
                    f"Cannot verify: {result.label}{when} User: {user.reason}. Fix: {fix}.",
                    f"{result.label}{when} User cannot be resolved: {user.reason}",
                    fix,
                ),
            )._replace(note=note)
        finding = result.finding
        assert finding is not None

        def render(when: str, origin: str) -> Said:
            summary = result.summary(when, origin)
            if isinstance(user, Secret):
                summary = f"{result.label}{when} User (the value of a NoEcho parameter, not shown)"
                summary += f"{origin}: {finding.brief}"
                message = (
                    f"Violation: {result.label}{when} User (the value of a NoEcho parameter, "
                    f"not shown){origin}: {RULE_SUMMARIES[finding.rule]} Fix: {finding.fix}."
                )
                return Said(message, summary, finding.fix)
            return Said(
                result.describe(when, origin), summary, finding.fix, result.what(when, origin)
            )

        warns = result.verdict is Verdict.WARN
        return _Outcome(
            result.verdict.value,
            name,
            finding.rule.value,
            "warning" if warns else "error",
            render,
            note,
            value=value,
        )


_GLOB_TOKEN = re.compile(r"\[!?\]?[^\]]*\]|.", re.S)
_MEET_COST = 4
"""Steps of a template's budget (``resolve.Budget``) a pair of positions costs: about the time
of four steps of resolving."""
_MEET_LIMIT = 20_000
"""Above this many pairs of positions, two globs are taken to meet (never a wrong "no"): the
patterns are the configuration's, the shapes a template's, and neither can make it slow."""


def globs_meet(first: str, second: str, budget: Budget | None = None) -> bool:
    """Whether some text matches both ``fnmatch`` globs: an exemption's pattern and what is
    known of an unresolved value (``Unresolved.shape``). Every pair of positions visited spends
    ``_MEET_COST`` steps of ``budget``, which stops a template's resolving on time."""
    a, b = _GLOB_TOKEN.findall(first), _GLOB_TOKEN.findall(second)
    if len(a) * len(b) > _MEET_LIMIT:
        return True
    reachable = {(0, 0)}
    pending = [(0, 0)]
    while pending:
        if budget is not None:
            budget.spend(_MEET_COST)
        i, j = pending.pop()
        if i == len(a) and j == len(b):
            return True
        steps = []
        if i < len(a) and a[i] == "*":
            steps += [(i + 1, j), *([(i, j + 1)] if j < len(b) else [])]
        if j < len(b) and b[j] == "*":
            steps += [(i, j + 1), *([(i + 1, j)] if i < len(a) else [])]
        if i < len(a) and j < len(b) and "*" not in (a[i], b[j]) and _chars_meet(a[i], b[j]):
            steps.append((i + 1, j + 1))
        for step in steps:
            if step not in reachable:
                reachable.add(step)
                pending.append(step)
    return False


def _chars_meet(first: str, second: str) -> bool:
    """Whether one character matches both one-character glob tokens (a character, ``?``, or a
    ``[...]`` class)."""
    candidates = {*first, *second, *map(chr, range(32, 127))}
    return "?" in (first, second) or any(
        _char_matches(char, first) and _char_matches(char, second) for char in candidates
    )


def _char_matches(char: str, token: str) -> bool:
    return fnmatch.fnmatchcase(char, token) if len(token) > 1 else char == token


def _overrides_known(container: dict[str, Any]) -> tuple[bool, list[tuple[Unresolved, str]]]:
    """Whether the container certainly overrides what its image runs (``policy.overrides``),
    and the values that decide it but cannot be resolved, with where they are."""
    parameters = container.get("LinuxParameters")
    capabilities = parameters.get("Capabilities") if isinstance(parameters, dict) else None
    places = {
        **{key: container.get(key) for key in OVERRIDE_PROPERTIES if key != "LinuxParameters"},
        "LinuxParameters": parameters,
        "LinuxParameters.Capabilities": capabilities,
        "LinuxParameters.Capabilities.Add": (
            capabilities.get("Add") if isinstance(capabilities, dict) else None
        ),
    }
    unresolved = [(v, place) for place, v in places.items() if isinstance(v, Unresolved)]
    known = {
        key: v
        for key, v in container.items()
        if key not in {p.split(".")[0] for _, p in unresolved}
    }
    return bool(overrides(known)), unresolved


MAX_SHOWN_VALUE = 1024
"""The longest User a finding keeps as it is; a longer one (no user spec is) is kept cut, so
that a report never holds a copy of a large value per container."""


def _shown_value(user: Any) -> str | int | None:
    """The User as JSON shows it: text or a whole number; None for a NoEcho parameter's value or
    one that is not known; a text longer than ``MAX_SHOWN_VALUE`` cut, saying its length."""
    if isinstance(user, (Secret, bool)):
        return None
    if isinstance(user, str):
        if len(user) > MAX_SHOWN_VALUE:
            return f"{user[:MAX_SHOWN_VALUE]}... ({len(user):,} characters)"
        return str(user)
    return user if isinstance(user, int) else None


_CASE_STEPS = 32
"""The steps one way of choosing a container's ``Fn::If`` branches costs besides resolving its
values (choosing them, telling whether it was decided before)."""
_DECISION_STEPS = 64
"""The steps the policy's verdict on a container in one case costs. These two are measured in
time (a step of resolving is about a microsecond): they keep the time a template's cases take
within what ``MAX_STEPS`` allows."""
HELD_TEXT = 16 * 1024 * 1024
"""How many characters of built text (``Budget.built``) a task definition's check holds on to,
resolved but not yet decided, before it decides what it holds and lets it go: memory stays
bounded however many containers build large texts."""
_LONG_TEXT = 1024
"""A text at least this long is told apart by identity (hashing it in every case would cost its
length each time): equal texts built anew are then decided again, never confused."""
_DECIDED = 4096
"""How many outcomes a template's check remembers (then it starts again): a bound on memory."""


def _fingerprint(value: Any, long_texts: list[str]) -> Any:
    """A hashable key equal for two resolved values only when every verdict on them is equal:
    types are part of it (a quoted and an unquoted ``0x10``, a NoEcho value), and all of an
    ``Unresolved`` (its reason, parameter, shape). A long text is keyed by its identity and
    added to ``long_texts``: the key is good only while they are kept alive."""
    if isinstance(value, dict):
        return dict, tuple((key, _fingerprint(item, long_texts)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value), tuple(_fingerprint(item, long_texts) for item in value)
    if isinstance(value, Unresolved):
        return Unresolved, value.reason, value.invalid, value.parameter, value.shape
    if isinstance(value, str) and len(value) >= _LONG_TEXT:
        long_texts.append(value)
        return type(value), id(value)
    return type(value), value


def _unless_certain(outcome: _Outcome, level: str) -> _Outcome:
    """A failure that only some deployments of the template have, as unresolved."""
    render = outcome.render
    assert render is not None
    return outcome._replace(
        verdict="UNRESOLVED",
        rule=UNRESOLVED_VALUE,
        level=level,
        render=lambda when, origin: Said(
            f"Cannot verify: {render(when, origin).message} Whether a deployment has this value "
            "depends on conditions, which depend on its parameter values, or on how a YAML "
            "loader reads its unquoted values: the hook decides it on the task definition "
            "CloudFormation creates.",
            f"{render(when, origin).summary}, in some deployments only",
            _LEFT_TO_HOOK,
        ),
    )


def _unknown(shared: Any) -> Unresolved | None:
    """Why a resolved RuntimePlatform (or its OperatingSystemFamily) is not known, or None."""
    platform = shared.get("RuntimePlatform") if isinstance(shared, dict) else shared
    family = platform.get("OperatingSystemFamily") if isinstance(platform, dict) else None
    return next((value for value in (platform, family) if isinstance(value, Unresolved)), None)


def _policy_input(containers: list[Any], shared: Any) -> dict[str, Any]:
    """Task definition properties as the policy reads them (and the hook receives them)."""
    properties: dict[str, Any] = {"ContainerDefinitions": containers}
    for key, value in shared.items() if isinstance(shared, dict) else ():
        if value is not NO_VALUE and value is not None:
            properties[key] = value
    return properties


def _in_place(item: ContainerVerdict | Finding) -> tuple[int, int]:
    """Written order: by line and column."""
    return item.line, item.column


def _forms(value: Any, guards: Guards, context: Context) -> Iterator[tuple[Any, Guards]]:
    """The forms ``value`` takes as written: both branches of an ``Fn::If``, each with the
    condition that chooses it; a plain mapping or list as it is; anything else resolved."""
    arguments = value.get("Fn::If") if isinstance(value, dict) and len(value) == 1 else None
    if arguments is not None:
        if not (isinstance(arguments, list) and len(arguments) == 3):
            yield Unresolved("a malformed Fn::If", invalid=True), guards
        elif not isinstance(arguments[0], str):
            yield Unresolved("an Fn::If whose condition is not a name", invalid=True), guards
        else:
            yield from _forms(arguments[1], (*guards, (arguments[0], True)), context)
            yield from _forms(arguments[2], (*guards, (arguments[0], False)), context)
    elif value is None or isinstance(value, (list, Located)):
        yield value, guards
    else:
        resolved = resolve(value, context)
        if resolved is not NO_VALUE:
            yield resolved, guards


def _label(index: int, name: str | None) -> str:
    return f"container {quote(name)} (#{index})" if name is not None else f"container #{index}"


def _when(taken: Guards) -> str:
    """'HasProxy is true and IsProd is false', or '' when no condition is involved."""
    return " and ".join(
        f"{name if _PLAIN_NAME.fullmatch(name) else quote(name)} is {str(value).lower()}"
        for name, value in taken
    )


_LEFT_TO_HOOK = "none here; the hook decides it on the task definition CloudFormation creates"
_FEWER_CONDITIONS = (
    "give the parameters those conditions compare with --parameter, or depend on fewer conditions"
)


def _fix(value: Unresolved, options: Options) -> str:
    if options.certain_only:
        return _LEFT_TO_HOOK
    if value.parameter is not None:
        return f"give its value with --parameter {shown(value.parameter)}=VALUE, or use a literal"
    return (
        f"use a literal such as User: {EXAMPLE_USER}; the value is known only at deploy time, "
        "when the hook checks it"
    )


def _unquoted_note(result: ContainerResult) -> Said | None:
    if not isinstance(result.user, PlainScalar) or result.verdict is Verdict.SKIP:
        return None
    text, number = quote(result.user), result.user.number
    reading = result.user.reading if number is None else f"the number {number}"
    checked = "as written" if number is None else "both as written and as that number"
    fix = f"quote it: User: {text}"
    return Said(
        f"Note: {result.label} User {text} is unquoted, and YAML 1.1 loaders read it as "
        f"{reading}, not as the text; it was checked {checked}. Fix: {fix}.",
        f"{result.label} User {text} is unquoted: YAML 1.1 reads {reading}",
        fix,
    )


def origin(written: Any) -> str:
    """Where a value written as ``written`` comes from, for messages: `` from parameter
    AppUser``, `` from mapping Users``, `` from condition IsProd``, `` from Fn::Sub``; "" for a
    literal."""
    if not isinstance(written, dict) or len(written) != 1:
        return ""
    ((function, arguments),) = written.items()
    if function == "Ref" and isinstance(arguments, str):
        kind = "pseudo parameter" if arguments.startswith("AWS::") else "parameter"
        return f" from {kind} {shown(arguments)}"
    if function == "Fn::FindInMap" and isinstance(arguments, list) and arguments:
        name = arguments[0]
        return f" from mapping {shown(name)}" if isinstance(name, str) else " from Fn::FindInMap"
    if function == "Fn::If" and isinstance(arguments, list) and arguments:
        condition = arguments[0]
        return f" from condition {shown(condition)}" if isinstance(condition, str) else ""
    if isinstance(function, str) and function.startswith("Fn::"):
        return f" from {function}"
    return ""
