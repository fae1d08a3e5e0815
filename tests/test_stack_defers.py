"""The stack layer never blocks what a deployment would pass: generated templates whose Users
depend on parameters, conditions, mappings and intrinsic functions (Ref with an intrinsic
function under AWS::LanguageExtensions among them), decided by the stack layer without parameter
values; then, for generated parameter values, resolved here as CloudFormation resolves these few
forms (``deployed``, independent of the project's resolver) and decided as the resource layer
decides them, through the hook's entrypoint. A container the stack layer fails must fail in
every deployment CloudFormation would make, and one it passes (neither fails nor leaves to the
resource layer) must pass in every one."""

import json
from typing import Any

from hook_event import hook_event
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails_ecs_nonrootuser import handlers, stack
from guardrails_ecs_nonrootuser.policy import Settings

USERS = ["0", "1000", "1000:0", "root", "nonroot", "", ":1000", "0:1000"]
PARAMETERS = ("P", "Q", "Env")
USER_FORMS = st.one_of(
    st.sampled_from(USERS),
    st.builds(lambda name: {"Ref": name}, st.sampled_from(PARAMETERS)),
    st.builds(
        lambda condition, a, b: {"Fn::If": [condition, a, b]},
        st.sampled_from(["IsProd", "SameUsers"]),
        st.sampled_from(USERS),
        st.sampled_from(USERS),
    ),
    st.builds(lambda name: {"Fn::Sub": f"${{{name}}}:1000"}, st.sampled_from(PARAMETERS)),
    st.builds(
        lambda name: {"Fn::Join": [":", [{"Ref": name}, "1000"]]}, st.sampled_from(PARAMETERS)
    ),
    st.builds(
        lambda name: {"Fn::FindInMap": ["Users", {"Ref": name}, "User"]},
        st.sampled_from(PARAMETERS),
    ),
    st.just({"Ref": {"Fn::Sub": "${Env}User"}}),
    st.just({"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "Q"}]}]}),
)


def template(users: list[Any], extensions: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "Parameters": {
            "P": {"Type": "String", "Default": "1000"},
            "Q": {"Type": "String"},
            "Env": {"Type": "String", "Default": "Prod"},
            "ProdUser": {"Type": "String", "Default": "1000:1000"},
            "DevUser": {"Type": "String", "Default": "0"},
        },
        "Mappings": {"Users": {value or "empty": {"User": value} for value in USERS}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "Prod"]},
            "SameUsers": {"Fn::Equals": [{"Ref": "P"}, {"Ref": "Q"}]},
        },
        "Resources": {
            "T": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ContainerDefinitions": [
                        {"Name": f"c{number}", "Image": "app", "User": user}
                        for number, user in enumerate(users)
                    ]
                },
            }
        },
    }
    if extensions:
        document["Transform"] = "AWS::LanguageExtensions"
    return document


DEPLOYMENTS = st.fixed_dictionaries(
    {
        "P": st.sampled_from([*USERS, "empty"]),
        "Q": st.sampled_from([*USERS, "empty", "0,1000"]),
        "Env": st.sampled_from(["Prod", "Dev"]),
        "ProdUser": st.sampled_from(USERS),
        "DevUser": st.sampled_from(USERS),
    }
)


class RefusedError(Exception):
    """CloudFormation would not deploy the template with these values."""


def deployed(value: Any, values: dict[str, str], extensions: bool) -> Any:
    """``value`` as CloudFormation resolves it for a deployment with parameter ``values``."""
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        if isinstance(argument, dict):
            if not extensions:
                raise RefusedError("an intrinsic function in Ref needs AWS::LanguageExtensions")
            argument = deployed(argument, values, extensions)
        return values[argument]
    if function == "Fn::If":
        condition, when_true, when_false = argument
        truth = values["Env"] == "Prod" if condition == "IsProd" else values["P"] == values["Q"]
        return deployed(when_true if truth else when_false, values, extensions)
    if function == "Fn::Sub":
        name = argument[2:].partition("}")[0]
        return values[name] + argument[3 + len(name) :]
    if function == "Fn::Join":
        return argument[0].join(deployed(item, values, extensions) for item in argument[1])
    if function == "Fn::FindInMap":
        key = deployed(argument[1], values, extensions)
        if key not in {value or "empty" for value in USERS}:
            raise RefusedError("Fn::FindInMap keys not in Mappings")
        return {value or "empty": value for value in USERS}[key]
    if function == "Fn::Select":
        return deployed(argument[1], values, extensions)[argument[0]]
    if function == "Fn::Split":
        return deployed(argument[1], values, extensions).split(argument[0])
    raise AssertionError(function)


@settings(max_examples=150, deadline=None)
@given(
    users=st.lists(USER_FORMS, min_size=1, max_size=4),
    extensions=st.booleans(),
    deployments=st.lists(DEPLOYMENTS, min_size=1, max_size=6),
)
def test_what_the_stack_layer_fails_or_passes_every_deployment_fails_or_passes(
    users: list[Any], extensions: bool, deployments: list[dict[str, str]]
) -> None:
    text = json.dumps(template(users, extensions))
    outcome = stack.check_stack({"template": text}, Settings())
    failed = {item.container for item in outcome.items if item.status == stack.FAIL}
    # what it neither fails nor leaves to the resource layer, it passes for every deployment
    named = {item.container for item in outcome.items}
    whole = any(item.container is None for item in outcome.items)
    passed = set() if whole else set(range(len(users))) - named
    for values in deployments:
        try:
            resolved = [deployed(user, values, extensions) for user in users]
        except RefusedError:
            continue  # no deployment: whatever the stack layer said blocks nothing
        containers = [
            {"Name": f"c{number}", "Image": "app", "User": user}
            for number, user in enumerate(resolved)
        ]
        response = handlers.hook(hook_event({"ContainerDefinitions": containers}), None)
        statuses = [annotation["status"] for annotation in response["annotations"]]
        for position in failed:
            assert position is not None
            assert statuses[position] == "FAILED", (users, values, outcome.message)
        for position in passed:
            assert statuses[position] == "PASSED", (users, values, outcome.message)
