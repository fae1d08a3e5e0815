"""What every test shares: each runs in an empty working directory of its own, so that no
``.ecs-nonroot.json`` (the repository's own included) is found unless a test puts one there."""

import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _own_working_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    directory = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(directory)
    return directory


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """moto's server on loopback, from an empty account (moto keeps its state per process); its
    URL. Stopped when the test ends."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib.request.urlopen(
        urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    ).close()
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def moto_environment(tmp_path: Path, moto_endpoint: str) -> dict[str, str]:
    """An environment whose AWS CLI and boto3 call moto's server with test credentials, in
    eu-west-1."""
    return {
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


@pytest.fixture(autouse=True)
def _every_answer_within_the_apis_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer a test gets from the hook's entrypoint (``handlers.hook``, called in this
    process) is checked against what CloudFormation takes (``hook_limits``)."""
    import hook_limits

    from guardrails_ecs_nonrootuser import handlers

    entrypoint = handlers.hook

    def checked(event: object, context: object) -> Any:
        response = entrypoint(event, context)
        assert not hook_limits.problems(response), hook_limits.problems(response)
        return response

    monkeypatch.setattr(handlers, "hook", checked)


def stand_in_aws(tmp_path: Path, script: str) -> tuple[dict[str, str], Path]:
    """An environment whose `aws` command is the stand-in ``script`` (in tests/), and the file
    that holds its state (FAKE_AWS_STATE)."""
    bin_directory = tmp_path / "bin"
    bin_directory.mkdir()
    command = bin_directory / "aws"
    command.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name(script)}" "$@"\n'
    )
    command.chmod(0o755)
    state = tmp_path / "state.json"
    env = {
        "PATH": f"{bin_directory}:{os.environ['PATH']}",
        "FAKE_AWS_STATE": str(state),
        "HOME": str(tmp_path),
    }
    return env, state
