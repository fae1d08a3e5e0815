"""The hook reads a remote payload (``requestData.payload``, a presigned HTTPS URL) itself: from a
real TLS server on 127.0.0.1 whose certificate is trusted as production trusts one (a CA bundle,
here ``SSL_CERT_FILE``), within its deadline, and without the URL, its host or its signature
ever appearing in the answer, on stdout or stderr, or in any log record."""

import json
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from hook_event import hook_event, task_definition
from tls_server import Quiet, tls_server

from guardrails_ecs_nonrootuser import handlers, remote

SIGNATURE = "5e3c0f1d9a7b-SIGNATURE"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-SESSION-TOKEN"
QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261123%2Fus-east-1%2Fs3"
    f"&X-Amz-Security-Token={TOKEN}&X-Amz-Signature={SIGNATURE}"
)
MODEL = {"resourceProperties": task_definition("1000", "0")}
SHORT = 3.0
"""The deadline the slow cases run with; one case runs with the real one."""


class _Handler(Quiet):
    attempts: dict[str, int] = {}  # noqa: RUF012 - shared by the server's threads on purpose

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        try:
            self.serve()
        except (ConnectionError, ssl.SSLError):  # the hook stopped reading, as it should
            self.close_connection = True

    def serve(self) -> None:
        name = self.path.split("?", 1)[0].strip("/")
        self.attempts[name] = self.attempts.get(name, 0) + 1
        if name == "good" or (name == "flaky" and self.attempts[name] > 1):
            self.answer(200, json.dumps(MODEL).encode())
        elif name in ("forbidden", "flaky", "failing"):
            self.answer({"forbidden": 403}.get(name, 500), b"<Error/>")
        elif name == "redirect":
            self.send_response(302)
            self.send_header("Location", f"http://{self.headers['Host']}/good")
            self.end_headers()
        elif name == "never":
            time.sleep(60)
        elif name == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        elif name == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(30 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"[" * (30 * 1024 * 1024))
        elif name == "huge-unannounced":
            self.send_response(200)
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b" " * 1024 * 1024)
        else:
            self.answer(200, {"not-json": b"<html>", "list": b"[1, 2]"}[name])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1, and the CA bundle that trusts it."""
    ca_dir = tmp_path_factory.mktemp("ca")
    with tls_server(_Handler, ca_dir) as base:
        yield base, ca_dir / "ca.pem"


@pytest.fixture
def trusted(server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    base, bundle = server
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    _Handler.attempts.clear()
    return base


def remote_event(url: str) -> dict[str, Any]:
    event = hook_event(None)
    event["requestData"]["targetModel"] = None
    event["requestData"]["payload"] = url
    return event


def invoke_leaking_nothing(
    event: dict[str, Any], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], float]:
    """The answer and the seconds it took; nothing of the URL anywhere."""
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    response = dict(handlers.hook(event, None))
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for place in (json.dumps(response), captured.out, captured.err, logged):
        for secret in (SIGNATURE, TOKEN, "X-Amz", "127.0.0.1"):
            assert secret not in place
    return response, elapsed


def test_a_remote_payload_is_decided_as_the_same_model_inline(
    trusted: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    response, elapsed = invoke_leaking_nothing(
        remote_event(f"{trusted}/good?{QUERY}"), caplog, capsys
    )
    inline = dict(handlers.hook(hook_event(MODEL["resourceProperties"]), None))
    assert response == inline
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    assert elapsed < 2


@pytest.mark.parametrize(
    ("path", "reason", "attempts"),
    [
        pytest.param("forbidden", "the server answered 403", 1, id="403"),
        pytest.param("failing", "the server answered 500", remote.ATTEMPTS, id="500-every-time"),
        pytest.param("redirect", "the server answered 302", 1, id="redirect-to-http"),
        pytest.param("not-json", "it is not JSON", 1, id="not-json"),
        pytest.param("list", "it is not a JSON object", 1, id="a-json-list"),
        pytest.param("huge", "it is larger than 5,242,880 bytes", 1, id="30-mb-announced"),
        pytest.param(
            "huge-unannounced", "it is larger than 5,242,880 bytes", 1, id="30-mb-streamed"
        ),
        pytest.param("never", f"it was not read within {SHORT:g} seconds", 1, id="never-answers"),
        pytest.param("trickle", f"it was not read within {SHORT:g} seconds", 1, id="trickles"),
    ],
)
def test_a_payload_that_cannot_be_read_is_invalid_request_naming_what_failed(
    *,
    trusted: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    reason: str,
    attempts: int,
) -> None:
    monkeypatch.setattr(remote, "DEADLINE", SHORT)
    response, elapsed = invoke_leaking_nothing(
        remote_event(f"{trusted}/{path}?{QUERY}"), caplog, capsys
    )
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InvalidRequest")
    assert response["message"] == f"Invalid request: the remote payload cannot be read: {reason}."
    assert elapsed < SHORT + 1
    assert _Handler.attempts[path] == attempts


def test_a_500_then_200_is_read_on_the_next_attempt(
    trusted: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    response, _ = invoke_leaking_nothing(remote_event(f"{trusted}/flaky?{QUERY}"), caplog, capsys)
    assert response["errorCode"] == "NonCompliant"
    assert _Handler.attempts["flaky"] == 2


def test_a_closed_port_is_tried_again_then_refused(
    trusted: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response, elapsed = invoke_leaking_nothing(
        remote_event(f"https://127.0.0.1:{port}/good?{QUERY}"), caplog, capsys
    )
    assert response["message"] == (
        "Invalid request: the remote payload cannot be read: the connection failed."
    )
    assert elapsed < 5


def test_an_untrusted_certificate_is_refused(
    server: tuple[str, Path],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    response, _ = invoke_leaking_nothing(remote_event(f"{server[0]}/good?{QUERY}"), caplog, capsys)
    assert response["message"] == (
        "Invalid request: the remote payload cannot be read: "
        "the server's certificate is not trusted."
    )


def test_an_http_url_is_refused_before_any_request(
    trusted: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    url = trusted.replace("https://", "http://") + f"/good?{QUERY}"
    response, _ = invoke_leaking_nothing(remote_event(url), caplog, capsys)
    assert response["message"] == "Invalid request: requestData.payload is not an https URL."
    assert _Handler.attempts == {}


def test_a_silent_server_is_given_up_on_within_the_hooks_budget(
    trusted: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real deadline: CloudFormation waits 30 seconds for a hook; the answer comes in 25."""
    response, elapsed = invoke_leaking_nothing(
        remote_event(f"{trusted}/never?{QUERY}"), caplog, capsys
    )
    assert response["errorCode"] == "InvalidRequest"
    assert remote.DEADLINE <= elapsed < 25
