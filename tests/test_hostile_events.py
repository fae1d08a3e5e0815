"""Hostile input against the real Lambda entrypoint: arbitrary JSON anywhere in the event.

The answer must always be a well-formed response with an expected status and error code, never
InternalFailure, never an exception, never over the size limits; nothing the event carries may
appear in logs or output; and the hook answers with the network switched off.
"""

import copy
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hook_event import hook_event, task_definition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails_ecs_nonrootuser import handlers
from guardrails_ecs_nonrootuser.policy import MESSAGE_LIMIT

ERROR_CODES = {"InvalidRequest", "InvalidTypeConfiguration", "UnsupportedTarget", "NonCompliant"}
RESPONSE_LIMIT = 256 * 1024

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Where the fuzzer puts arbitrary JSON: every field of the event, of the request data, of the
# target model and of a container, and the type configuration's properties.
PATHS = [
    *[(key,) for key in hook_event({})],
    *[("requestData", key) for key in hook_event({})["requestData"]],
    ("requestData", "providerCredentials"),
    ("requestData", "payload"),
    ("requestData", "targetModel", "resourceProperties"),
    ("requestData", "targetModel", "previousResourceProperties"),
    ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions"),
    ("requestData", "targetModel", "resourceProperties", "RuntimePlatform"),
    *[
        ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions", 0, key)
        for key in ("Name", "Image", "User")
    ],
    *[("hookModel", key) for key in ("AllowRootGroup", "MinimumUid", "ExemptImages", "Other")],
]


def put(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set ``value`` at ``path`` when the path still exists (earlier replacements may cut it)."""
    target: Any = event
    for step in path[:-1]:
        target = _step(target, step)
        if not isinstance(target, (dict, list)):
            return
    if isinstance(target, dict) or _step(target, path[-1]) is not None:
        target[path[-1]] = value


def _step(container: Any, step: Any) -> Any:
    if isinstance(container, dict):
        return container.get(step)
    if isinstance(container, list) and isinstance(step, int) and step < len(container):
        return container[step]
    return None


def assert_well_formed(response: Any) -> None:
    assert isinstance(response, dict)
    text = json.dumps(response, ensure_ascii=False, allow_nan=False)
    assert len(text.encode("utf-8")) <= RESPONSE_LIMIT
    assert response["hookStatus"] in ("SUCCESS", "FAILED")
    assert isinstance(response["message"], str) and len(response["message"]) <= MESSAGE_LIMIT
    if response["hookStatus"] == "FAILED":
        assert response["errorCode"] in ERROR_CODES, response
        assert response["message"]
    else:
        assert "errorCode" not in response
    for annotation in response.get("annotations", []):
        assert len(annotation["annotationName"]) <= 1024
        assert len(annotation["statusMessage"]) <= 16384


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(PATHS), JSON, max_size=4))
def test_arbitrary_json_in_any_field_gets_a_well_formed_answer(
    replacements: dict[tuple[Any, ...], Any],
) -> None:
    event = hook_event(task_definition("1000:1000", "0"), {"ExemptImages": ["x*"]})
    for path, value in replacements.items():
        put(event, path, value)
    assert_well_formed(handlers.hook(event, None))


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(None, id="null-event"),
        pytest.param([], id="list-event"),
        pytest.param("event", id="string-event"),
        pytest.param({1: "x", "clientRequestToken": "t"}, id="non-string-keys"),
        pytest.param({"requestData": {1: 2}}, id="non-string-keys-in-request-data"),
    ],
)
def test_events_that_are_not_objects_are_invalid_requests(event: Any) -> None:
    response = handlers.hook(event, None)
    assert_well_formed(response)
    assert response["errorCode"] == "InvalidRequest"


def deep(depth: int) -> Any:
    value: Any = "0"
    for _ in range(depth):
        value = {"Fn::If": [value]} if depth % 2 else [value]
    return value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("requestData", "targetModel", "resourceProperties"), deep(50_000), id="deep"),
        pytest.param(
            ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions", 0, "User"),
            deep(50_000),
            id="deep-user",
        ),
        pytest.param(
            ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions", 0, "Name"),
            "n" * 5_000_000,
            id="huge-name",
        ),
        pytest.param(
            ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions"),
            [{"Name": f"c{i}", "User": "0"} for i in range(20_000)],
            id="many-containers",
        ),
        pytest.param(
            ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions", 0, "User"),
            "\ud800\udfff\x00\u202e0",
            id="lone-surrogates-and-controls",
        ),
        pytest.param(("clientRequestToken",), "\ud800", id="surrogate-token"),
        pytest.param(("requestData", "targetName"), "\ud800" * 10, id="surrogate-target"),
        pytest.param(
            ("requestData", "targetModel", "resourceProperties", "ContainerDefinitions", 0, "User"),
            float("nan"),
            id="nan-user",
        ),
        pytest.param(("hookModel", "MinimumUid"), float("inf"), id="infinite-setting"),
        pytest.param(("requestData", "callerCredentials"), "{not json", id="bad-credentials"),
        pytest.param(
            ("requestData", "payload"), "http://169.254.169.254/", id="plain-http-payload"
        ),
    ],
)
def test_extreme_values(path: tuple[Any, ...], value: Any) -> None:
    event = hook_event(task_definition("1000:1000"))
    if path[-1] == "payload":
        event["requestData"]["targetModel"] = None
    put(event, path, value)
    response = handlers.hook(event, None)
    assert_well_formed(response)


SECRETS = {
    "access key": "AKIAFUZZLEAKCHECK0001",
    "secret key": "fuzz/Leak+Check/SecretAccessKey/000000001",
    "session token": "FwoGZXIvYXdzEFUZZLEAKCHECKSESSIONTOKEN0001",
    "environment value": "env-value-leak-check-7f3a",
    "secret reference": "arn:aws:secretsmanager:us-east-1:123456789012:secret:leak-check-9c1d",
    "command": "--password=leak-check-e41b",
}


def leaky_events() -> Iterator[dict[str, Any]]:
    credentials = {
        "accessKeyId": SECRETS["access key"],
        "secretAccessKey": SECRETS["secret key"],
        "sessionToken": SECRETS["session token"],
    }
    for users in (("1000",), ("0", "1000:0"), (..., "node")):
        properties = task_definition(*users)
        for container in properties["ContainerDefinitions"]:
            container["Environment"] = [{"Name": "DB", "Value": SECRETS["environment value"]}]
            container["Secrets"] = [{"Name": "K", "ValueFrom": SECRETS["secret reference"]}]
            container["Command"] = [SECRETS["command"]]
        yield hook_event(properties, credentials=credentials)
    broken = hook_event(task_definition("0"), credentials=credentials)
    broken["requestData"]["callerCredentials"] = json.dumps({**credentials, "extra": "x"})
    yield broken
    malformed = hook_event({"ContainerDefinitions": SECRETS["environment value"]})
    yield malformed


def test_nothing_the_event_carries_is_logged_or_returned(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    responses = [handlers.hook(copy.deepcopy(event), None) for event in leaky_events()]
    captured = capfd.readouterr()
    everything = json.dumps(responses) + captured.out + captured.err + caplog.text
    for name, secret in SECRETS.items():
        assert secret not in everything, f"the {name} leaked"
    assert {r["hookStatus"] for r in responses} == {"SUCCESS", "FAILED"}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way to open a connection or look up a name raises."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network disabled for this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
def test_hook_answers_with_the_network_disabled() -> None:
    with pytest.raises(OSError, match="network disabled"):
        socket.create_connection(("127.0.0.1", 9))
    compliant = handlers.hook(hook_event(task_definition("1000:1000")), None)
    offending = handlers.hook(hook_event(task_definition("0")), None)
    assert compliant["hookStatus"] == "SUCCESS"
    assert offending["errorCode"] == "NonCompliant"
