"""The contract-test infrastructure's own promise: nothing it runs can reach past loopback."""

import subprocess
import sys
from pathlib import Path

import pytest
from lambda_endpoint import invoke, served

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("host", "blocked"),
    [
        pytest.param("192.0.2.1", True, id="documentation-address"),
        pytest.param("sts.amazonaws.com", True, id="aws-endpoint-name"),
        pytest.param("127.0.0.1", False, id="loopback"),
        pytest.param("localhost", False, id="localhost"),
    ],
)
def test_audit_hook_refuses_connections_off_loopback(host: str, blocked: bool) -> None:
    code = (
        "import socket, sys\n"
        "from lambda_endpoint import allow_loopback_only\n"
        "sys.addaudithook(allow_loopback_only)\n"
        "try:\n"
        f"    socket.create_connection(({host!r}, 9), timeout=0.5)\n"
        "except ConnectionRefusedError as error:\n"
        "    print('blocked' if 'tests stay on loopback' in str(error) else 'refused')\n"
        "except OSError:\n"
        "    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=HERE
    )
    assert result.stdout.strip() == ("blocked" if blocked else "refused")


RUNTIME_PYTHON = HERE.parent / ".lambda-runtime" / "bin" / "python"
HANDLERS = """
import os, sys

def answer(event, context):
    return {
        "event": event,
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis() > 0,
        "runtime": "awslambdaric" in sys.modules,
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
    }

def fail(event, context):
    raise ValueError("the handler failed")
"""


@pytest.mark.parametrize(("handler", "failed"), [("answer", False), ("fail", True)])
def test_the_endpoint_invokes_through_lambdas_runtime_client(
    tmp_path: Path, handler: str, failed: bool
) -> None:
    (tmp_path / "functions.py").write_text(HANDLERS, encoding="utf-8")
    with served(str(RUNTIME_PYTHON), [str(tmp_path)], f"functions.{handler}") as url:
        body, error = invoke(url, {"n": 1})
    if failed:
        assert (error, body["errorType"], body["errorMessage"]) == (
            "Unhandled",
            "ValueError",
            "the handler failed",
        )
    else:
        assert error is None
        assert body == {
            "event": {"n": 1},
            "function": "TypeFunction",
            "remaining_ms": True,
            "runtime": True,
            "task_root": str(tmp_path),
        }
