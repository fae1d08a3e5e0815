"""Image references, read as the container runtime reads a container's ``Image``.

The grammar and normalization are the distribution project's (``reference.ParseNormalizedNamed``,
which Docker, containerd and the ECS agent use): the first path component is a registry when it
contains a ``.`` or a ``:``, is ``localhost`` or has a capital letter, else the image is on
Docker Hub (``docker.io``), where a single component is under ``library/``; ``index.docker.io``
is ``docker.io``. A reference without a tag or digest means ``:latest``; with both, the digest is
what is pulled. Only ``sha256`` digests are read (the only algorithm registries serve).
Standard library only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
"""Where Docker Hub's registry API answers."""
MAX_NAME = 255
"""The longest repository name, registry included (distribution's NameTotalLengthMax)."""

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?")
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ANY_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


class ReferenceError(ValueError):
    """Why a text is not an image reference the runtime would pull."""


class Reference(NamedTuple):
    """A normalized image reference."""

    registry: str
    """The registry as named (``docker.io``, ``ghcr.io``, ``127.0.0.1:5000``)."""
    repository: str
    tag: str = ""
    digest: str = ""
    """``sha256:`` and 64 hex digits, when pinned."""

    @property
    def api_host(self) -> str:
        """Where the registry's API answers (host and port)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def host(self) -> str:
        """The registry's host name, without a port (what ``TrustedRegistries`` matches)."""
        return self.registry.rpartition(":")[0] if _has_port(self.registry) else self.registry

    @property
    def pinned(self) -> bool:
        return bool(self.digest)


def _has_port(registry: str) -> bool:
    return ":" in registry and registry.rpartition(":")[2].isdigit()


def parse(text: str) -> Reference:
    """``text`` as the runtime normalizes it; ``ReferenceError`` says why it cannot be pulled."""
    if not text or text != text.strip():
        raise ReferenceError("it is empty or has surrounding spaces")
    name, at, digest = text.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        if _ANY_DIGEST.fullmatch(digest):
            raise ReferenceError("its digest is not sha256 with 64 lowercase hex digits")
        raise ReferenceError("its digest is malformed")
    tag = ""
    last = name.rpartition("/")[2]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not _TAG.fullmatch(tag):
            raise ReferenceError("its tag is malformed")
    first, slash, rest = name.partition("/")
    hub = not any(c in first for c in ".:") and first != "localhost" and first == first.lower()
    registry, path = (DOCKER_HUB, name) if not slash or hub else (first, rest)
    if not _DOMAIN.fullmatch(registry):
        raise ReferenceError("its registry is malformed")
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _PATH.fullmatch(path):
        raise ReferenceError(
            "its repository is malformed (lowercase letters, digits and separators only)"
        )
    if len(registry) + 1 + len(path) > MAX_NAME:
        raise ReferenceError(f"its name is longer than {MAX_NAME} characters")
    return Reference(registry, path, tag if tag or digest else "latest", digest)
