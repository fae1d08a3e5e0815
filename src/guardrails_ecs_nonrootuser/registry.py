"""Read what an image runs as: its configuration's ``User``, from its registry.

The OCI distribution API, as a container runtime pulls (standard library only; nothing here
logs):

- the manifest is asked for by tag or digest, accepting an OCI image index, a Docker manifest
  list, an OCI manifest and a Docker v2 schema 2 manifest; a tag is first asked with HEAD (which
  Docker Hub does not count as a pull) and its digest read by digest unless already known;
- an index or list is resolved to every manifest a runtime may pull on a platform the task may
  run on (``_choose``);
- the manifest's config blob is read and its ``config.User`` taken (absent: ""), every JSON key
  matched whatever its letter case, the last winning, as the runtimes' Go decoders do;
- every body is checked against its sha256 digest and capped in size (``MAX_BODY``);
- a registry's challenge is answered as Docker answers it: a Bearer token from the realm it names
  (anonymously, or with the registry's credentials when there are some), or Basic credentials;
  credentials go only to the registry that asked and its realm, over https, and never across a
  redirect (a blob's redirect to storage is followed without them, as presigned URLs require);
- every request is bounded by one deadline, shared by all the lookups of an answer, which run in
  parallel (``MAX_PARALLEL``): at the deadline a connection is shut, however its server trickles.

What is immutable is kept for the life of the process (``CACHE``, bounded): a manifest by its
digest and a configuration's ``User`` by the config's digest, each for the access it was read
with. A tag is resolved again at every lookup. ``ImageTable`` is how the front ends give the
policy what it reads (``policy.ImageLookup``).
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import contextlib
import hashlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from .policy import ImageSeen, ImageVerification, Platform, Settings
from .reference import Reference, ReferenceError, parse
from .remote import https_parts, time_left

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
_INDEXES = (OCI_INDEX, DOCKER_LIST)
_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)

MAX_BODY = 4 * 1024 * 1024
"""The largest manifest or configuration read (distribution refuses manifests over 4 MiB)."""
MAX_PARALLEL = 8
CONNECT_TIMEOUT = 5.0
MAX_REDIRECTS = 3
CACHE_ENTRIES = 2048

Credentials = Callable[[str], "tuple[str, str] | None"]
"""The user name and password for a registry (its host and port as an image names it), or None
to go anonymously."""

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class ImageError(Exception):
    """Why an image cannot be read, in words a message can carry (never a URL or a secret)."""


class _Cache:
    """Immutable facts by digest, the least recently used dropped beyond ``CACHE_ENTRIES``."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._items: collections.OrderedDict[tuple[str, ...], Any] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: tuple[str, ...], value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = _Cache()


class _Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class Client:
    """Reads images until ``deadline`` (``time.monotonic``), with ``credentials``."""

    def __init__(
        self,
        deadline: float,
        credentials: Credentials | None = None,
        cache: _Cache = CACHE,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.deadline = deadline
        self.credentials = credentials or (lambda _: None)
        self.cache = cache
        self._context = context
        self._tokens: dict[tuple[str, str], str] = {}
        self._credentials: dict[str, tuple[str, str] | None] = {}
        self._lock = threading.RLock()

    @property
    def context(self) -> ssl.SSLContext:
        """The TLS context, made at the first request (loading the trusted CAs takes ~15 ms:
        a lookup answered from the cache makes none)."""
        with self._lock:
            if self._context is None:
                self._context = ssl.create_default_context()
            return self._context

    # The lookups

    def look_up_all(
        self, wanted: Iterable[tuple[str, tuple[Platform, ...]]]
    ) -> dict[tuple[str, tuple[Platform, ...]], tuple[ImageSeen, ...]]:
        """Each image read for its platforms, in parallel, all by the deadline."""
        keys = list(dict.fromkeys(wanted))
        results: dict[tuple[str, tuple[Platform, ...]], tuple[ImageSeen, ...]] = {}
        if not keys:
            return results
        pool = concurrent.futures.ThreadPoolExecutor(min(MAX_PARALLEL, len(keys)))
        try:
            futures = {pool.submit(self.look_up, *key): key for key in keys}
            done, _ = concurrent.futures.wait(futures, max(0.0, self.deadline - time.monotonic()))
            for future, key in futures.items():
                results[key] = future.result() if future in done else (_late(),)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return results

    def look_up(self, image: str, platforms: tuple[Platform, ...]) -> tuple[ImageSeen, ...]:
        """What ``image`` runs as on each of ``platforms`` it provides, or why it cannot be
        read."""
        try:
            reference = parse(image)
            return self._read(reference, platforms)
        except ReferenceError as error:
            return (ImageSeen(None, problem=f"it is not an image reference: {error}"),)
        except ImageError as error:
            return (ImageSeen(None, problem=str(error)),)
        except TimeoutError:
            return (_late(),)
        except Exception:  # whatever a registry sends (a malformed URL, text HTTP cannot carry)
            return (ImageSeen(None, problem="the registry's answer could not be used"),)

    def _read(self, reference: Reference, platforms: tuple[Platform, ...]) -> tuple[ImageSeen, ...]:
        digest, manifest = self._manifest(reference)
        if _is_index(manifest):
            chosen = _choose(manifest, platforms)
            if not chosen:
                wanted = " or ".join(str(platform) for platform in platforms)
                raise ImageError(f"its index has no manifest for {wanted}")
            seen = []
            for label, descriptor in chosen:
                child = reference._replace(tag="", digest=descriptor)
                child_digest, child_manifest = self._manifest(child)
                if _is_index(child_manifest):
                    raise ImageError("its index names another index for the platform")
                seen.append(ImageSeen(self._user(child, child_manifest), child_digest, label))
            return tuple(seen)
        return (ImageSeen(self._user(reference, manifest), digest),)

    def _manifest(self, reference: Reference) -> tuple[str, dict[str, Any]]:
        """The manifest's digest and content, verified against its digest."""
        digest = reference.digest
        if not digest:
            answer = self._get(reference, f"manifests/{reference.tag}", method="HEAD")
            given = answer.headers.get("docker-content-digest", "")
            if answer.status == 200 and _DIGEST.fullmatch(given):
                digest = given
        if digest:
            cached = self.cache.get(self._key("manifest", reference, digest))
            if cached is not None:
                return digest, cached
            answer = self._get(reference, f"manifests/{digest}")
            _verify(answer.body, digest, "its manifest")
        else:
            answer = self._get(reference, f"manifests/{reference.tag}")
            digest = "sha256:" + hashlib.sha256(answer.body).hexdigest()
            given = answer.headers.get("docker-content-digest", "")
            if given and given != digest:
                raise ImageError("its manifest does not match the digest the registry gave")
        manifest = _json_object(answer.body, "its manifest")
        if manifest.get("mediatype") not in (*_INDEXES, *_MANIFESTS, None):
            raise ImageError("its manifest is of a type not supported (not OCI or Docker v2)")
        self.cache.put(self._key("manifest", reference, digest), manifest)
        return digest, manifest

    def _key(self, kind: str, reference: Reference, digest: str) -> tuple[str, ...]:
        """A cache key: what was read, where, and with which access (what one caller could read
        is never another's answer)."""
        return (kind, reference.api_host, reference.repository, digest, self._identity(reference))

    def _identity(self, reference: Reference) -> str:
        """Who reads from the registry: anonymous, or a digest of the credentials."""
        given = self._given(reference.registry)
        if given is None:
            return "anonymous"
        return hashlib.sha256("\0".join(given).encode("utf-8", "replace")).hexdigest()

    def _given(self, registry: str) -> tuple[str, str] | None:
        """The credentials for a registry, asked once per client."""
        with self._lock:
            if registry not in self._credentials:
                self._credentials[registry] = self.credentials(registry)
            return self._credentials[registry]

    def _user(self, reference: Reference, manifest: dict[str, Any]) -> str:
        """The ``config.User`` of a manifest's configuration ("" when it sets none)."""
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ImageError("its manifest names no sha256 configuration (not OCI or Docker v2)")
        key = self._key("user", reference, digest)
        cached = self.cache.get(key)
        if cached is not None:
            assert isinstance(cached, str)
            return cached
        answer = self._get(reference, f"blobs/{digest}")
        _verify(answer.body, digest, "its configuration")
        content = _json_object(answer.body, "its configuration")
        settings = content.get("config") or {}
        user = settings.get("user") if isinstance(settings, dict) else None
        if user is None:
            user = ""
        if not isinstance(user, str):
            raise ImageError("its configuration's User is not text")
        self.cache.put(key, user)
        return user

    # HTTP

    def _get(self, reference: Reference, path: str, method: str = "GET") -> _Answer:
        """A registry answer to ``method`` on ``/v2/<repository>/<path>``: 200, authenticated
        as the registry asks; anything else is a ``ImageError`` (a HEAD may answer otherwise)."""
        host = reference.api_host
        url = f"https://{host}/v2/{reference.repository}/{path}"
        headers = {"Accept": _ACCEPT}
        scope = f"repository:{reference.repository}:pull"
        authorization = self._authorization(host, scope)
        answer, moved = self._send(method, url, headers, authorization)
        if answer.status == 401 and not moved:  # a host it redirected to gets no credentials
            authorization = self._answer_challenge(reference, answer, scope)
            answer, _ = self._send(method, url, headers, authorization)
        if method == "HEAD" or answer.status == 200:
            return answer
        raise ImageError(_status_problem(answer.status))

    def _authorization(self, host: str, scope: str) -> str:
        with self._lock:
            return self._tokens.get((host, scope), "")

    def _answer_challenge(self, reference: Reference, answer: _Answer, scope: str) -> str:
        challenge = answer.headers.get("www-authenticate", "")
        scheme, _, rest = challenge.partition(" ")
        given = self._given(reference.registry)
        if scheme.lower() == "basic":
            if given is None:
                raise ImageError("the registry asks for credentials and none are configured")
            value = "Basic " + base64.b64encode(":".join(given).encode()).decode()
        elif scheme.lower() == "bearer":
            value = "Bearer " + self._token(dict(_CHALLENGE.findall(rest)), scope, given)
        else:
            raise ImageError("the registry refused access (401) without a known challenge")
        with self._lock:
            self._tokens[(reference.api_host, scope)] = value
        return value

    def _token(self, fields: dict[str, str], scope: str, given: tuple[str, str] | None) -> str:
        try:
            host, port, target = https_parts(fields.get("realm", ""))
        except ValueError as error:
            raise ImageError(f"the registry's token service {error}") from None
        path, _, query_text = target.partition("?")
        query = dict(urllib.parse.parse_qsl(query_text))
        if fields.get("service"):
            query["service"] = fields["service"]
        query["scope"] = fields.get("scope") or scope
        authorization = ""
        if given is not None:
            authorization = "Basic " + base64.b64encode(":".join(given).encode()).decode()
        url = f"https://{host}:{port}{path}?{urllib.parse.urlencode(query)}"
        answer, _ = self._send("GET", url, {}, authorization)
        if answer.status != 200:
            raise ImageError(f"its registry's token service answered {answer.status}")
        content = _json_object(answer.body, "the token service's answer")
        token = content.get("token") or content.get("access_token")
        if not isinstance(token, str) or not token.isprintable() or not token:
            raise ImageError("the registry's token service gave no token")
        return token

    def _send(
        self, method: str, url: str, headers: dict[str, str], authorization: str
    ) -> tuple[_Answer, bool]:
        """One request to an https ``url`` and its redirects (https only, without
        ``authorization``); whether it was redirected."""
        for hop in range(MAX_REDIRECTS + 1):
            try:
                host, port, target = https_parts(url)
            except ValueError as error:
                raise ImageError(f"the registry's redirect {error}") from None
            sent = {**headers, **({"Authorization": authorization} if authorization else {})}
            answer = self._once(method, (host, port), target, sent)
            if answer.status not in (301, 302, 303, 307, 308):
                return answer, hop > 0
            url = urllib.parse.urljoin(url, answer.headers.get("location", ""))
            authorization = ""  # never across a redirect
            headers = {key: value for key, value in headers.items() if key != "Accept"}
        raise ImageError(f"the registry redirected more than {MAX_REDIRECTS} times")

    def _once(
        self, method: str, address: tuple[str, int], target: str, headers: dict[str, str]
    ) -> _Answer:
        """One request; at the deadline its connection is shut, however the server trickles."""
        connection = _connection(*address, self.context)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(max(0.0, self.deadline - time.monotonic()), expire)
        watchdog.daemon = True
        watchdog.start()
        response = None
        try:
            connection.timeout = time_left(self.deadline, CONNECT_TIMEOUT)
            connection.request(method, target, headers={"User-Agent": "ecs-nonroot", **headers})
            sock = connection.sock
            assert sock is not None
            sock.settimeout(time_left(self.deadline))
            response = connection.getresponse()
            found = {key.lower(): value for key, value in response.getheaders()}
            if method == "HEAD" or response.status != 200:
                return _Answer(response.status, found, b"")
            body = self._body(response, sock, found.get("content-length", ""))
            if expired.is_set():
                raise TimeoutError
            return _Answer(response.status, found, body)
        except ImageError:
            raise
        except Exception as error:
            raise _translated(error, expired.is_set()) from None
        finally:
            watchdog.cancel()
            if response is not None:
                response.close()
            connection.close()

    def _body(self, response: http.client.HTTPResponse, sock: socket.socket, length: str) -> bytes:
        """The body of an answer, at most ``MAX_BODY`` bytes."""
        if length.isdigit() and int(length) > MAX_BODY:
            raise ImageError(f"the registry's answer is larger than {MAX_BODY:,} bytes")
        chunks, size = [], 0
        while chunk := response.read1(65536):
            size += len(chunk)
            if size > MAX_BODY:
                raise ImageError(f"the registry's answer is larger than {MAX_BODY:,} bytes")
            chunks.append(chunk)
            if not response.isclosed():
                sock.settimeout(time_left(self.deadline))
        return b"".join(chunks)


def _translated(error: Exception, expired: bool) -> Exception:
    """What a failed request says (never the URL): the deadline, or what broke."""
    if expired or isinstance(error, TimeoutError):
        return TimeoutError()
    if isinstance(error, ssl.SSLCertVerificationError):
        return ImageError("the registry's certificate is not trusted")
    if isinstance(error, (ConnectionError, http.client.HTTPException, ssl.SSLError)):
        return ImageError("the connection to the registry failed")
    if isinstance(error, OSError):
        return ImageError("the registry could not be reached")
    return error


def _connection(host: str, port: int, context: ssl.SSLContext) -> http.client.HTTPSConnection:
    """A connection to ``host``, through the https proxy the environment names, if any."""
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.hostname:
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port or 8080, context=context
            )
            connection.set_tunnel(host, port)
            return connection
    return http.client.HTTPSConnection(host, port, context=context)


def _late() -> ImageSeen:
    return ImageSeen(None, problem="the registry did not answer in time")


def _status_problem(status: int) -> str:
    if status in (401, 403):
        return f"the registry refused access ({status})"
    if status == 404:
        return "the registry has no such image (404)"
    if status == 429:
        return "the registry's rate limit was reached (429)"
    return f"the registry answered {status}"


def _verify(body: bytes, digest: str, what: str) -> None:
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise ImageError(f"{what} does not match its digest")


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    """A JSON object read as the runtimes' Go decoder reads it into its structures: a key
    matches a field whatever its letter case, and the last of such keys wins (``{"User": "1000",
    "user": "0"}`` is user 0). Keys come back case-folded."""
    try:
        content = json.loads(body, object_pairs_hook=_folded)
    except (ValueError, RecursionError):
        raise ImageError(f"{what} is not JSON") from None
    if not isinstance(content, dict):
        raise ImageError(f"{what} is not a JSON object")
    return content


def _folded(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key.casefold(): value for key, value in pairs}


def _is_index(manifest: dict[str, Any]) -> bool:
    return manifest.get("mediatype") in _INDEXES or (
        manifest.get("mediatype") is None and "manifests" in manifest
    )


_ARCHITECTURES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386"}
_ARCHITECTURES |= {"armhf": "arm", "armel": "arm"}
_FALLBACK = {"amd64": "386", "arm64": "arm"}
"""What a host of an architecture also runs when an index has nothing for it (containerd)."""
MAX_CANDIDATES = 8
"""The most manifests of one index read for one platform."""


def _choose(index: dict[str, Any], platforms: Sequence[Platform]) -> list[tuple[str, str]]:
    """Every manifest of the index that a runtime may pull on one of ``platforms``, with the
    platform it names: containerd and Docker normalize an entry's platform (letter case,
    ``x86_64`` is ``amd64``, ``aarch64`` is ``arm64``, no ``os`` is the host's), take any of the
    architecture's variants they support, fall back to 32-bit (``386``, ``arm``) when nothing
    matches, and take an entry without a platform on any host. Rather than guess which one a
    given runtime and host prefer, each of them is read; for Windows, those of the family's
    build (all of them when none is for it, or the build is not known)."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise ImageError("its index lists no manifests, or one that is not an object")
    chosen: dict[str, str] = {}
    for platform in platforms:
        found = _candidates(manifests, platform)
        if len(found) > MAX_CANDIDATES:
            raise ImageError(f"its index lists more than {MAX_CANDIDATES} manifests for {platform}")
        for label, digest in found:
            chosen.setdefault(digest, label)
    return [(label, digest) for digest, label in chosen.items()]


def _candidates(manifests: list[dict[str, Any]], platform: Platform) -> list[tuple[str, str]]:
    def described(entry: dict[str, Any]) -> tuple[str, str, str, str] | None:
        named = entry.get("platform")
        if not isinstance(named, dict):
            return None
        text = {key: named.get(key) for key in ("os", "architecture", "variant", "os.version")}
        os_name = (text["os"] if isinstance(text["os"], str) else "").lower() or platform.os
        arch = (text["architecture"] if isinstance(text["architecture"], str) else "").lower()
        variant = (text["variant"] if isinstance(text["variant"], str) else "").lower()
        version = text["os.version"] if isinstance(text["os.version"], str) else ""
        return os_name, _ARCHITECTURES.get(arch, arch), variant, version

    def matching(architecture: str) -> list[tuple[dict[str, Any], tuple[str, str, str, str]]]:
        return [
            (entry, seen)
            for entry in manifests
            for seen in (described(entry),)
            if seen is not None and seen[0] == platform.os and seen[1] == architecture
        ]

    found = matching(platform.architecture) or matching(_FALLBACK.get(platform.architecture, ""))
    if platform.os_version:
        built = [
            (entry, seen)
            for entry, seen in found
            if not seen[3] or (seen[3] + ".").startswith(platform.os_version + ".")
        ]
        found = built or found
    unplaced = [entry for entry in manifests if described(entry) is None]
    labelled = [
        (f"{seen[0]}/{seen[1]}" + (f"/{seen[2]}" if seen[2] else ""), entry.get("digest"))
        for entry, seen in found
    ] + [("no platform named", entry.get("digest")) for entry in unplaced]
    for _, digest in labelled:
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ImageError("its index names a manifest by a digest that is not sha256")
    return [(label, str(digest)) for label, digest in labelled]


class ImageTable:
    """What the policy reads images through (``policy.ImageLookup``). It first records what is
    asked (``wanted``), answering that it has not been looked up; ``look_up`` then reads them
    all at once, in parallel, and later calls answer from what was read."""

    def __init__(self) -> None:
        self.wanted: dict[tuple[str, tuple[Platform, ...]], None] = {}
        self.read: dict[tuple[str, tuple[Platform, ...]], tuple[ImageSeen, ...]] | None = None

    def __call__(self, image: str, platforms: tuple[Platform, ...]) -> Sequence[ImageSeen]:
        key = (image, platforms)
        if self.read is None:
            self.wanted[key] = None
            return (ImageSeen(None, problem="it was not looked up"),)
        return self.read.get(key, (ImageSeen(None, problem="it was not looked up"),))

    @property
    def recording(self) -> bool:
        """Whether it is still learning what is read (nothing has been looked up)."""
        return self.read is None

    def look_up(self, client: Client) -> None:
        self.read = client.look_up_all(self.wanted)


_Decided = TypeVar("_Decided")


def with_images(
    settings: Settings,
    decide: Callable[[ImageTable | None], _Decided],
    client: Callable[[], Client],
) -> _Decided:
    """``decide``'s answer, given what images run as when ``ImageVerification`` is on: it is
    asked once with a table that records which images it reads (``ImageTable.recording``),
    those are read together (``client()``), and it is asked again with the table filled. With
    verification off, or no image to read, it is asked once."""
    if settings.image_verification is ImageVerification.OFF:
        return decide(None)
    table = ImageTable()
    first = decide(table)
    if not table.wanted:
        return first
    table.look_up(client())
    return decide(table)
