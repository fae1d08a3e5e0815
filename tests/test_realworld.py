"""scripts/realworld.py, the yardstick against an independent reading, on our own fixtures.

The corpus of public templates it was run on is not in the repository (docs/realworld.md says
what it held); here it runs on tests/fixtures/templates, which reduce what it found.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import realworld
from cfnlint.decode import cfn_yaml

from guardrails_ecs_nonrootuser import stack

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "templates"


def test_the_independent_reading_agrees_on_every_fixture() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "realworld.py"), str(FIXTURES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.splitlines()[-1]
    assert summary.endswith("; 0 disagreements")
    assert "97 containers" in summary


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"line": 1}, "ecs-nonroot only", id="line"),
        pytest.param({"column": 99}, "ecs-nonroot only", id="column"),
        pytest.param({"verdict": "PASS"}, "ecs-nonroot only", id="verdict"),
        pytest.param({"index": 7}, "independent only", id="attribution"),
    ],
)
def test_a_difference_from_the_independent_reading_is_reported(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], expected: str
) -> None:
    reports = realworld.ours([str(FIXTURES)])
    target = str(FIXTURES / "conditions.yaml")
    task_definitions = reports[target]["taskDefinitions"]
    failing = next(t for t in task_definitions if t["logicalId"] == "FailUserFromFalseBranch")
    failing["containers"][0].update(change)
    monkeypatch.setattr(realworld, "ours", lambda directories: reports)
    _, disagreements = realworld.compare([str(FIXTURES)])
    assert any(
        line.startswith(f"{target}: {expected}") and "FailUserFromFalseBranch" in line
        for line in disagreements
    ), disagreements


def test_importing_the_script_leaves_cfn_lint_as_it_was() -> None:
    def loader() -> object:
        return cfn_yaml.CfnFullLoader

    assert loader() is not realworld.PureLoader
    with realworld.cfn_lint_loader(realworld.PureLoader):
        assert loader() is realworld.PureLoader
    assert loader() is not realworld.PureLoader


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param((), "the stack layer passes", id="passes-what-the-command-fails"),
        pytest.param(
            (stack.Item("FAIL", "PassNumericUser", 1, "x", 0),),
            "the stack layer fails",
            id="fails-what-the-command-passes",
        ),
    ],
)
def test_a_stack_layer_that_differs_from_the_command_is_reported(
    monkeypatch: pytest.MonkeyPatch, items: tuple[Any, ...], expected: str
) -> None:
    outcome = stack.Outcome(bool(items), "", items)
    monkeypatch.setattr(stack, "check_stack", lambda payload, settings: outcome)
    _, disagreements = realworld.compare([str(FIXTURES)])
    assert any(expected in line for line in disagreements), disagreements
