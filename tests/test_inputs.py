"""The contract-test inputs in inputs/ decided by the real entrypoint, as `cfn test` sends them."""

import json
from pathlib import Path
from typing import Any

import pytest
from hook_event import TARGET, hook_event

from guardrails_ecs_nonrootuser import handlers

INPUTS = Path(__file__).resolve().parent.parent / "inputs"
TYPE_CONFIGURATION = json.loads((INPUTS / "type-configuration.json").read_text(encoding="utf-8"))
KINDS = {
    "pre_create": ("CREATE_PRE_PROVISION", "SUCCESS"),
    "pre_update": ("UPDATE_PRE_PROVISION", "SUCCESS"),
    "invalid_pre_create": ("CREATE_PRE_PROVISION", "FAILED"),
    "invalid_pre_update": ("UPDATE_PRE_PROVISION", "FAILED"),
}
FILES = sorted(INPUTS.glob("inputs_*.json"))


def _kind(path: Path) -> str:
    return path.stem.split("_", 2)[2]


def test_every_set_has_all_four_inputs() -> None:
    numbers = {path.stem.split("_")[1] for path in FILES}
    assert len(numbers) >= 5
    for number in numbers:
        assert {_kind(p) for p in FILES if p.stem.split("_")[1] == number} == set(KINDS)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_input_gets_the_expected_answer(path: Path) -> None:
    invocation_point, status = KINDS[_kind(path)]
    target_model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))[TARGET]
    event = hook_event(
        target_model["resourceProperties"],
        TYPE_CONFIGURATION["CloudFormationConfiguration"]["HookConfiguration"]["Properties"],
        invocation_point=invocation_point,
        previous=target_model.get("previousResourceProperties"),
    )
    response = handlers.hook(event, None)
    assert response["hookStatus"] == status, response["message"]
    if status == "FAILED":
        assert response["errorCode"] == "NonCompliant"
        assert response["message"]
    else:
        assert "errorCode" not in response
