"""The command's registry credentials: the user's Docker configuration, then ECR's.

As ``docker pull`` finds them: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``, its
``credHelpers`` for the registry, its ``auths`` entry, then its ``credsStore`` (a helper is run
as ``docker-credential-<name> get``, bounded in time); for ECR, a token asked with the AWS SDK's
credentials (``credentials.ecr``). Not shipped in the hook's package: the hook reads only ECR,
with its execution role, and never runs a program. Nothing here logs a credential, and a failure
says which step failed, never a secret.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from .credentials import ecr
from .reference import DOCKER_HUB
from .registry import Client, Credentials, ImageError

HELPER_TIMEOUT = 10.0
COMMAND_DEADLINE = 60.0
"""Seconds in which the command reads every image of a run (or of an account and Region)."""
_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", DOCKER_HUB, "registry-1.docker.io")


def docker(config: Path | None = None) -> Credentials:
    """Credentials from the user's Docker configuration, as ``docker pull`` finds them."""
    path = (
        config or Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    )
    try:
        settings = json.loads(path.read_text())
    except (OSError, ValueError):
        settings = {}
    if not isinstance(settings, dict):
        settings = {}

    def credentials(registry: str) -> tuple[str, str] | None:
        keys = _HUB_KEYS if registry == DOCKER_HUB else (registry, f"https://{registry}")
        helpers = settings.get("credHelpers") or {}
        for key in keys:
            if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
                return _helper(helpers[key], keys[0])
        auths = settings.get("auths") or {}
        for key in keys:
            entry = auths.get(key) if isinstance(auths, dict) else None
            if isinstance(entry, dict):
                found = _auth_entry(entry)
                if found:
                    return found
        store = settings.get("credsStore")
        return _helper(store, keys[0], missing_ok=True) if isinstance(store, str) else None

    return credentials


def _auth_entry(entry: dict[str, Any]) -> tuple[str, str] | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            return None
        return user, password
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return entry["username"], entry["password"]
    return None


def _helper(name: str, server: str, missing_ok: bool = False) -> tuple[str, str] | None:
    """What ``docker-credential-<name> get`` gives for ``server``."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ImageError("the Docker configuration names a credential helper that is not valid")
    try:
        done = subprocess.run(
            [f"docker-credential-{name}", "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ImageError(
            f"the credential helper docker-credential-{name} is not installed"
        ) from None
    except subprocess.TimeoutExpired:
        raise ImageError(f"the credential helper docker-credential-{name} did not answer") from None
    if done.returncode != 0:
        if missing_ok:
            return None
        raise ImageError(f"the credential helper docker-credential-{name} failed") from None
    try:
        answer = json.loads(done.stdout)
        return str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError):
        raise ImageError(f"the credential helper docker-credential-{name} answered badly") from None


def chain(*sources: Credentials) -> Credentials:
    """The first of ``sources`` that has credentials for a registry."""

    def credentials(registry: str) -> tuple[str, str] | None:
        for source in sources:
            found = source(registry)
            if found is not None:
                return found
        return None

    return credentials


def command_client(session: Any | None) -> Client:
    """The command's registry client: the user's Docker credentials, then, for ECR, those of
    ``session`` (a boto3 session), if any."""
    sources = [docker()]
    if session is not None:
        sources.append(ecr(lambda region: session.client("ecr", region_name=region)))
    return Client(time.monotonic() + COMMAND_DEADLINE, chain(*sources))
