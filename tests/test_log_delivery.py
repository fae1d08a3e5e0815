"""Log delivery never decides: with ``providerLogGroupName`` set, the library ships log records
and metrics to CloudWatch in line. Against CloudWatch on loopback (moto's server) they arrive and
the answer is the decision; against an endpoint that is closed, or that accepts connections and
never answers, the answer is still the decision, within the hook's budget. And the library gets
no credentials it does not use."""

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hook_event import PLACEHOLDER_CREDENTIALS, hook_event, task_definition

from guardrails_ecs_nonrootuser import handlers

GROUP = "guardrails-hook-logs"
PROPERTIES = task_definition("1000", "0")


def logged_event() -> dict[str, Any]:
    event = hook_event(PROPERTIES)
    event["requestData"]["providerLogGroupName"] = GROUP
    event["requestData"]["providerCredentials"] = json.dumps(PLACEHOLDER_CREDENTIALS)
    return event


@pytest.fixture
def root_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The library adds a handler to the root logger and a filter to its first handler: both
    are taken away again after each test."""
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    filters_before = {id(h): list(h.filters) for h in handlers_before}
    yield
    root.handlers[:] = handlers_before
    for handler in handlers_before:
        handler.filters[:] = filters_before[id(handler)]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Points every AWS client at the given URL."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    def point_at(url: str) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)

    yield point_at


def _wait_for(port: int) -> None:
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError("moto's server did not start")


def the_decision() -> dict[str, Any]:
    return dict(handlers.hook(hook_event(PROPERTIES), None))


def test_logs_reach_cloudwatch_and_the_answer_is_the_decision(
    root_logging: None, endpoint: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # in a process of its own: in this one, its request logs would go to the library's log
    # handler, which would send them to it while it is answering
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        endpoint(f"http://127.0.0.1:{port}")
        response = dict(handlers.hook(logged_event(), None))
        logs = boto3.client(
            "logs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        streams = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=streams[0]["logStreamName"])[
            "events"
        ]
    finally:
        server.terminate()
        server.wait(10)
    assert response == the_decision()
    assert any("Checked 2 containers: 1 failed" in event["message"] for event in events)


@pytest.mark.parametrize("kind", ["closed", "silent"])
def test_cloudwatch_that_fails_or_never_answers_does_not_change_the_answer(
    root_logging: None, endpoint: Any, kind: str
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    acceptor = threading.Thread(target=accept, daemon=True)
    if kind == "silent":  # accepts every connection, never sends a byte
        listener.listen(64)
        acceptor.start()
    else:
        listener.close()
    endpoint(f"http://127.0.0.1:{port}")
    started = time.monotonic()
    try:
        response = dict(handlers.hook(logged_event(), None))
    finally:
        if kind == "silent":
            listener.shutdown(socket.SHUT_RDWR)  # ends the accept() waiting in the thread
        listener.close()
        if acceptor.is_alive():
            acceptor.join(5)
        for connection in accepted:
            connection.close()
    elapsed = time.monotonic() - started
    assert response == the_decision()
    assert response["errorCode"] == "NonCompliant"
    assert elapsed < handlers.BUDGET
    assert elapsed < 10  # the bounded clients give up in seconds


def test_a_log_delivery_that_outlasts_the_budget_is_left_behind(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the clients do: past the budget the answer is the decision."""
    expected = the_decision()
    monkeypatch.setattr(handlers, "BUDGET", 1.0)
    release = threading.Event()

    def stuck(event: Any, context: Any) -> Any:
        release.wait(30)  # then answers nothing anyone reads, touching nothing
        return {}

    monkeypatch.setattr(handlers, "_HOOK", _Stuck(stuck))
    started = time.monotonic()
    response = dict(handlers.hook(logged_event(), None))
    release.set()
    assert time.monotonic() - started < 2
    assert response == expected


class _Stuck:
    """The library, held up before it answers."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self._cast_hook_request = handlers._HOOK._cast_hook_request

    def __call__(self, event: Any, context: Any) -> Any:
        return self.call(event, context)


@pytest.mark.parametrize(("logged", "sessions"), [(False, 0), (True, 1)])
def test_the_library_gets_only_the_credentials_it_uses(
    root_logging: None,
    endpoint: Any,
    monkeypatch: pytest.MonkeyPatch,
    logged: bool,
    sessions: int,
) -> None:
    endpoint("http://127.0.0.1:1")  # nothing answers there: no call may matter
    made: list[Any] = []

    def counting(credentials: Any, region: Any = None) -> Any:
        if credentials:
            made.append(credentials)
        return handlers._bounded_session(credentials, region)

    monkeypatch.setattr(handlers._library, "_get_boto_session", counting)  # type: ignore[attr-defined]
    event = logged_event() if logged else hook_event(PROPERTIES)
    if not logged:  # the provider's credentials come without a log group: unused
        event["requestData"]["providerCredentials"] = json.dumps(PLACEHOLDER_CREDENTIALS)
    response = dict(handlers.hook(event, None))
    assert response["errorCode"] == "NonCompliant"
    assert len(made) == sessions  # the caller's credentials never make a session


def test_a_request_the_library_itself_cannot_read_keeps_its_answer(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback decides only requests the library could read: otherwise its answer stands
    (the same as without log delivery), and the hook never raises."""
    internal = {"hookStatus": "FAILED", "errorCode": "InternalFailure", "message": ""}
    monkeypatch.setattr(handlers, "_HOOK", _Stuck(lambda event, context: internal))

    def unreadable(event: Any) -> Any:
        raise ValueError("the library cannot read it")

    monkeypatch.setattr(handlers, "_without_library", unreadable)
    assert dict(handlers.hook(logged_event(), None)) == internal
