"""How the resolver walks conditions and what it charges to a template's budget: the ways the
branches of a container's Fn::If functions can be chosen, each decided once, and steps that
stand for the work done, so the budget bounds the time."""

from pathlib import Path
from typing import Any

import pytest

from guardrails_ecs_nonrootuser import stack
from guardrails_ecs_nonrootuser.cli import check_path
from guardrails_ecs_nonrootuser.policy import Settings
from guardrails_ecs_nonrootuser.resolve import (
    MAX_STEPS,
    TEXT_PER_STEP,
    Budget,
    Conditions,
    Context,
    ResolutionBudgetError,
    Unresolved,
    choose,
    resolve,
    substitute,
)
from guardrails_ecs_nonrootuser.scan import Options

EQUALS = {"Fn::Equals": [{"Ref": "Env"}, "prod"]}


def conditions(definitions: dict[str, Any]) -> Conditions:
    return Conditions(definitions, Context(parameters={"Env": {"Type": "String"}}))


def chain(depth: int) -> Any:
    value: Any = "1000"
    for level in reversed(range(depth)):
        value = {"Fn::If": [f"C{level}", str(2000 + level), value]}
    return value


def test_nested_conditions_are_as_many_ways_as_branches_not_every_case() -> None:
    definitions = {f"C{level}": {"Fn::Equals": [{"Ref": "Env"}, str(level)]} for level in range(6)}
    names = frozenset(definitions)
    known = Conditions(definitions, Context(parameters={"Env": {"Type": "String"}}))
    ways = known.choices([{"User": chain(6)}], names, ())
    assert [chosen["User"] for (chosen,), _ in ways] == [
        "2000", "2001", "2002", "2003", "2004", "2005", "1000"
    ]  # fmt: skip
    # each way says which conditions decided it, in the order they were consulted
    assert [list(taken.items()) for _, taken in ways][:2] == [
        [("C0", True)],
        [("C0", False), ("C1", True)],
    ]


def test_a_way_is_what_choose_gives_in_every_case_that_agrees_with_it() -> None:
    definitions = {"A": EQUALS, "B": {"Fn::Not": [{"Condition": "A"}]}, "C": EQUALS}
    known = conditions(definitions)
    value = [{"Fn::If": ["A", {"Fn::If": ["B", "x", "y"]}, "z"]}, {"Fn::If": ["C", "1", "2"]}]
    names = frozenset(definitions)
    ways = known.choices([value], names, ())
    for case in known.cases(names):
        taken: dict[str, bool] = {}
        chosen = choose(value, case, taken)
        agreeing = [c for (c,), t in ways if all(case[n] == v for n, v in t.items())]
        assert agreeing == [chosen]
    # A and B are one comparison: B's true branch under A is never taken
    assert sorted(str(chosen) for (chosen,), _ in ways) == ["['y', '1']", "['z', '2']"]


def test_guards_that_contradict_each_other_give_no_way() -> None:
    definitions = {"A": EQUALS, "B": {"Fn::Not": [{"Condition": "A"}]}}
    known = conditions(definitions)
    names = frozenset(definitions)
    assert known.choices(["1000"], names, (("A", True), ("B", True))) == []
    assert known.choices(["1000"], names, (("A", True),)) == [(["1000"], {"A": True})]
    assert not known.always(names, {"A": True})
    assert known.always(frozenset({"A"}), {})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param({"Fn::If": ["A", "1"]}, "a malformed Fn::If", id="two-arguments"),
        pytest.param(
            {"Fn::If": [["A"], "1", "2"]}, "an Fn::If whose condition is not a name", id="list"
        ),
    ],
)
def test_a_malformed_if_is_invalid_in_its_way(value: Any, reason: str) -> None:
    known = conditions({"A": EQUALS})
    ((chosen,), _), *rest = known.choices([value], frozenset({"A"}), ())
    assert not rest
    assert isinstance(chosen, Unresolved) and chosen.invalid and chosen.reason == reason


def test_building_a_text_spends_a_step_per_kilobyte_built() -> None:
    mappings = {"M": {"k": {"v": "1" * 100 * TEXT_PER_STEP}}}
    budget = Budget()
    lookup = {"Fn::FindInMap": ["M", "k", "v"]}
    joined = resolve(
        {"Fn::Join": ["", [lookup, lookup]]}, Context(mappings=mappings, budget=budget)
    )
    assert isinstance(joined, str) and len(joined) == 200 * TEXT_PER_STEP
    spent = MAX_STEPS - budget.left
    assert 200 <= spent < 220, spent


def test_copying_a_list_spends_a_step_per_item() -> None:
    mappings = {"M": {"k": {"v": ["x"] * 5000}}}
    budget = Budget()
    found = resolve({"Fn::FindInMap": ["M", "k", "v"]}, Context(mappings=mappings, budget=budget))
    assert len(found) == 5000
    assert 5000 <= MAX_STEPS - budget.left < 5010


def test_a_budget_spent_stops_the_resolution_by_name() -> None:
    budget = Budget(steps=150)
    mappings = {"M": {"k": {"v": "1" * 100 * TEXT_PER_STEP}}}
    lookup = {"Fn::FindInMap": ["M", "k", "v"]}
    with pytest.raises(ResolutionBudgetError, match="more than 5,000,000 steps"):
        resolve({"Fn::Join": ["", [lookup, lookup]]}, Context(mappings=mappings, budget=budget))


def test_a_deadline_passed_stops_the_resolution_at_the_next_larger_step() -> None:
    budget = Budget(deadline=0.0)  # long past
    mappings = {"M": {"k": {"v": "1" * 2 * TEXT_PER_STEP}}}
    lookup = {"Fn::FindInMap": ["M", "k", "v"]}
    with pytest.raises(ResolutionBudgetError, match="longer than the time left"):
        resolve({"Fn::Join": ["", [lookup, lookup]]}, Context(mappings=mappings, budget=budget))


QUOTED_AND_NOT = """\
Parameters:
  A: {{Type: String}}
Conditions:
  C1: !Equals [!Ref A, 0x10]
  C2: !Equals [!Ref A, "0x10"]
Resources:
  T:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - {{Name: a, Image: x, User: {user}}}
"""


def test_a_comparison_quoted_and_the_same_unquoted_are_two_conditions(tmp_path: Path) -> None:
    """A YAML 1.1 loader writes unquoted 0x10 as 16: given A=16, C1 is true and C2 false. Taken
    for one condition, the User below would never be "0" (a pass), and the one after it always
    "0" when C1 is (a false block at the stack layer)."""
    path = tmp_path / "t.yaml"
    path.write_text(QUOTED_AND_NOT.format(user='!If [C1, !If [C2, "1000", "0"], "1000"]'))
    report = check_path(str(path), Options())
    (task,) = report.task_definitions
    assert [f.rule for f in task.findings] == ["root-user"]
    assert "when C1 is true and C2 is false" in task.findings[0].message
    either = '!If [C1, !If [C2, "0", "1000"], !If [C2, "1000", "0"]]'
    template = QUOTED_AND_NOT.format(user=either)
    assert not stack.check_stack({"template": template}, Settings()).failed


def test_each_variable_a_sub_replaces_is_a_step() -> None:
    budget = Budget()
    text = "${a}" * 2000
    assert resolve({"Fn::Sub": [text, {"a": ""}]}, Context(budget=budget)) == ""
    assert MAX_STEPS - budget.left >= 2000


def test_a_for_each_item_substituted_is_charged_by_its_length() -> None:
    budget = Budget()
    item = "a" * 100 * TEXT_PER_STEP
    assert substitute(["${X}", "&{X}"], {"X": item}, Context(budget=budget)) == [item, item]
    assert MAX_STEPS - budget.left >= 200


def test_conditions_built_from_one_another_are_charged_as_they_are_evaluated() -> None:
    definitions: dict[str, Any] = {"A": EQUALS}
    for level in range(1, 12):
        below = {"Condition": f"L{level - 1}" if level > 1 else "A"}
        definitions[f"L{level}"] = {"Fn::Or": [below, dict(below)]}
    budget = Budget()
    known = Conditions(definitions, Context(parameters={"Env": {"Type": "String"}}, budget=budget))
    assert len(known.cases(frozenset({"L11"}))) == 2
    assert MAX_STEPS - budget.left >= 11
