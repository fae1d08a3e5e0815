"""The contract-test infrastructure's own promise: nothing it runs can reach past loopback."""

import subprocess
import sys
from pathlib import Path

import pytest

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
