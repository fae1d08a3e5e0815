"""Read the target model CloudFormation leaves at a presigned HTTPS URL (``requestData.payload``).

The hook reads it itself, before the CloudFormation library would (which follows redirects to
any scheme, retries for up to a minute, and quotes the whole URL, signature and session token
included, in its answer, its traceback and its HTTP library's log). Here:

- only ``https`` is read, with the certificates the runtime trusts (the default SSL context:
  the system's store, or ``SSL_CERT_FILE``); a redirect is an answer, not followed;
- every attempt together ends by ``DEADLINE`` seconds, each read bounded by the time left, so
  a server that never answers or trickles a byte at a time cannot hold the hook past it;
- 5xx answers and failed connections are tried again, at most ``ATTEMPTS`` times in all;
- at most ``MAX_BYTES`` are read, and the answer must be a JSON object.

``PayloadError`` says what failed (the status, the time, the size, the shape) and never the URL,
its host or its query. Standard library only: nothing here logs.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

DEADLINE = 20.0
"""Seconds for every attempt together: the hook answers within CloudFormation's 30."""
CONNECT_TIMEOUT = 5.0
ATTEMPTS = 3
MAX_BYTES = 5 * 1024 * 1024
"""A task definition's properties, twice (as they are and as they were), fit well within it:
a template is at most 1 MB."""
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_CHUNK = 65536


class PayloadError(Exception):
    """Why the payload cannot be read (never the URL)."""


class _TransientError(PayloadError):
    """A failure that another attempt may not meet."""


class _TimeoutError(PayloadError):
    """The deadline passed."""


def fetch(url: str) -> dict[str, Any]:
    """The JSON object at ``url``, read within ``DEADLINE`` seconds."""
    deadline = DEADLINE
    try:
        host, port, target = https_parts(url)
    except ValueError as error:
        raise PayloadError(f"its URL {error}") from None
    ends = time.monotonic() + deadline
    context = ssl.create_default_context()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            body = _get(host, port, target, context, ends)
            break
        except _TimeoutError:
            raise PayloadError(f"it was not read within {deadline:g} seconds") from None
        except _TransientError as error:
            pause = 0.25 * 2**attempt
            if attempt == ATTEMPTS or time.monotonic() + pause >= ends:
                raise PayloadError(str(error)) from None
            time.sleep(pause)
    try:
        model = json.loads(body)
    except (ValueError, RecursionError):
        raise PayloadError("it is not JSON") from None
    if not isinstance(model, dict):
        raise PayloadError("it is not a JSON object")
    return model


def _get(host: str, port: int, target: str, context: ssl.SSLContext, ends: float) -> bytes:
    """One GET: the body of a 200 answer."""
    connection = http.client.HTTPSConnection(host, port, context=context)
    response = None
    try:
        connection.timeout = time_left(ends, CONNECT_TIMEOUT)
        connection.request("GET", target, headers={"Accept": "application/json"})
        sock = connection.sock
        assert sock is not None
        sock.settimeout(time_left(ends))
        response = connection.getresponse()
        if response.status in _RETRY_STATUSES:
            raise _TransientError(f"the server answered {response.status}")
        if response.status != 200:
            raise PayloadError(f"the server answered {response.status}")
        length = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > MAX_BYTES:
            raise PayloadError(f"it is larger than {MAX_BYTES:,} bytes")
        chunks, size = [], 0
        while chunk := response.read1(_CHUNK):
            size += len(chunk)
            if size > MAX_BYTES:
                raise PayloadError(f"it is larger than {MAX_BYTES:,} bytes")
            chunks.append(chunk)
            if not response.isclosed():
                sock.settimeout(time_left(ends))
        return b"".join(chunks)
    except ssl.SSLCertVerificationError:
        raise PayloadError("the server's certificate is not trusted") from None
    except TimeoutError:  # socket.timeout too
        raise _TimeoutError from None
    except (ConnectionError, http.client.HTTPException, ssl.SSLError) as error:
        reason = "the connection failed" if isinstance(error, OSError) else "the answer broke off"
        raise _TransientError(reason) from None
    except OSError:
        raise _TransientError("the server could not be reached") from None
    finally:
        if response is not None:
            response.close()  # it holds the socket open otherwise
        connection.close()


def https_parts(url: str) -> tuple[str, int, str]:
    """The host, port (443 unless given) and request target of an https URL; a ``ValueError``
    says what is wrong with it ("is not an https URL", "has an invalid port")."""
    try:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError
    except ValueError:  # urlsplit's own: an unbalanced [ in the host
        raise ValueError("is not an https URL") from None
    try:
        port = parts.port or 443
    except ValueError:
        raise ValueError("has an invalid port") from None
    return parts.hostname, port, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def time_left(ends: float, most: float | None = None) -> float:
    """Seconds left before ``ends`` (at most ``most``); a timeout when none are."""
    left = ends - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left if most is None else min(left, most)
