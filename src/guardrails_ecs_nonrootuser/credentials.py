"""Amazon ECR's registry credentials (``registry.Credentials``), for the hook and the command.

For a private registry (``<account>.dkr.ecr.<region>.amazonaws.com``): the user ``AWS`` and the
password of an ``ecr:GetAuthorizationToken`` token, asked for that registry's account in its
Region with the AWS credentials given (the hook's: its execution role; the command's: the AWS
SDK's, with the ``[audit]`` extra). The command's other sources are in ``docker_config``.

Standard library only: an AWS client is made by the caller. Nothing here logs a credential, and a
failure says which step failed, never a secret.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from typing import Any

from .registry import Credentials, ImageError

ECR_HOST = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"(?::[0-9]+)?"
)


def ecr(client_for: Callable[[str], Any]) -> Credentials:
    """Credentials for ECR registries from ``client_for(region)`` (an ECR client), each asked
    once; None for any other registry."""
    asked: dict[str, tuple[str, str]] = {}
    lock = threading.Lock()

    def credentials(registry: str) -> tuple[str, str] | None:
        match = ECR_HOST.fullmatch(registry)
        if match is None:
            return None
        with lock:
            if registry not in asked:
                asked[registry] = _ecr_token(client_for, match["account"], match["region"])
            return asked[registry]

    return credentials


def _ecr_token(client_for: Callable[[str], Any], account: str, region: str) -> tuple[str, str]:
    try:
        answer = client_for(region).get_authorization_token(registryIds=[account])
        token = answer["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
    except Exception as error:  # what failed is named, never its message (it may hold an ARN)
        code = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
        raise ImageError(f"no ECR authorization token could be had ({code})") from None
    return user, password
