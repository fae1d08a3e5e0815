"""A real OCI registry on 127.0.0.1, with TLS and token authentication, and images pushed to it.

The registry is Debian's ``docker-registry`` (the CNCF distribution registry, 2.8); images are
built with ``umoci`` and pushed with ``skopeo``, as a user's pipeline would. A token server of a
few dozen lines issues the registry's JWT bearer tokens, as Docker Hub's auth.docker.io does: it
grants pull to anyone on repositories under ``public/``, pull and push to a user with a
password, and only the builder anything on ``forbidden/``. Every certificate is issued by a CA
made for the run; ``ca_file`` names it for ``SSL_CERT_FILE``. Used by the tests and by
``make demo``; never shipped.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOOLS = ("docker-registry", "skopeo", "umoci")
USER, PASSWORD = "builder", "s3cret-registry-password"
SERVICE = "local-registry"
ISSUER = "local-token-issuer"


def missing_tools() -> list[str]:
    """The commands this needs that are not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


class Image(NamedTuple):
    """What to build: a config's ``User`` (None: not set), its platform, its manifest format."""

    user: str | None = None
    os: str = "linux"
    architecture: str = "amd64"
    docker_v2s2: bool = False


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Signer:
    """An RSA key and a self-signed certificate the registry trusts for tokens (x5c)."""

    def __init__(self, directory: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = directory / "token-signer.pem"
        self.bundle.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def token(self, subject: str, access: list[dict[str, Any]]) -> str:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": os.urandom(8).hex(),
            "access": access,
        }
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


class _TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # parallel lookups connect at once: a short backlog would drop some
    signer: _Signer
    accounts: dict[str, str]
    issued: list[str]
    """The subject of every token issued, in order ("" when anonymous)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    server: _TokenServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        subject = ""
        given = self.headers.get("Authorization", "")
        if given.startswith("Basic "):
            user, _, password = base64.b64decode(given[6:]).decode().partition(":")
            if self.server.accounts.get(user) != password:
                self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                return
            subject = user
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = actions.split(",")
            if name.startswith("forbidden/") and subject != USER:
                granted: list[str] = []
            elif subject:
                granted = wanted
            else:
                granted = ["pull"] if name.startswith("public/") and "pull" in wanted else []
            access.append({"type": kind, "name": name, "actions": granted})
        self.server.issued.append(subject)
        token = self.server.signer.token(subject, access)
        self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalRegistry:
    """A registry and its token server on 127.0.0.1, started by ``start`` and stopped by
    ``stop`` (by the pid it started). ``names``: more host names its certificate is valid for;
    ``accounts``: more user names and passwords it takes (as ECR takes ``AWS`` and a token)."""

    def __init__(
        self, directory: Path, names: Sequence[str] = (), accounts: dict[str, str] | None = None
    ) -> None:
        self.directory = directory
        self.names = tuple(names)
        self.accounts = {USER: PASSWORD, **(accounts or {})}
        self.authority = trustme.CA()
        self.ca_file = directory / "ca.pem"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._tokens: _TokenServer | None = None

    @property
    def host(self) -> str:
        """The registry's host and port, as an image reference names it."""
        return f"127.0.0.1:{self.port}"

    @property
    def tokens_issued(self) -> list[str]:
        assert self._tokens is not None
        return self._tokens.issued

    def start(self) -> LocalRegistry:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.authority.cert_pem.write_to_path(str(self.ca_file))
        leaf = self.authority.issue_cert("127.0.0.1", "localhost", *self.names)
        certificate, key = self.directory / "registry.pem", self.directory / "registry.key"
        certificate.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key.write_bytes(leaf.private_key_pem.bytes())
        signer = _Signer(self.directory)
        tokens = _TokenServer(("127.0.0.1", 0), _TokenHandler)
        tokens.signer, tokens.accounts, tokens.issued = signer, self.accounts, []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(context)
        tokens.socket = context.wrap_socket(tokens.socket, server_side=True)
        threading.Thread(target=tokens.serve_forever, daemon=True).start()
        self._tokens = tokens
        self.port = _free_port()
        config = self.directory / "config.yml"
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "version": 0.1,
                    "log": {"level": "error", "accesslog": {"disabled": True}},
                    "storage": {"filesystem": {"rootdirectory": str(self.directory / "data")}},
                    "http": {
                        "addr": self.host,
                        "secret": os.urandom(16).hex(),
                        "tls": {"certificate": str(certificate), "key": str(key)},
                    },
                    "auth": {
                        "token": {
                            "realm": f"https://127.0.0.1:{tokens.server_port}/token",
                            "service": SERVICE,
                            "issuer": ISSUER,
                            "rootcertbundle": str(signer.bundle),
                        }
                    },
                }
            )
        )
        log = open(self.directory / "registry.log", "wb")  # noqa: SIM115 - the process holds it
        self._process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        ends = time.monotonic() + 20
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                log = (self.directory / "registry.log").read_text(errors="replace")
                raise RuntimeError(f"the registry exited: {log[-2000:]}")
            try:
                urllib.request.urlopen(f"https://{self.host}/v2/", context=context, timeout=2)
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    return
            except OSError:
                pass
            if time.monotonic() > ends:
                raise RuntimeError("the registry did not start within 20 seconds")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._tokens is not None:
            self._tokens.shutdown()
            self._tokens.server_close()

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Building and pushing

    def push(self, repository: str, tag: str, image: Image) -> str:
        """Build ``image`` with umoci and push it as ``repository:tag``; its manifest's digest."""
        with tempfile.TemporaryDirectory(dir=self.directory) as work:
            layout = Path(work) / "layout"
            self._build(layout, "image", image)
            return self._copy(f"oci:{layout}:image", repository, tag, image.docker_v2s2)

    def push_index(self, repository: str, tag: str, images: Sequence[Image]) -> str:
        """Build each image and push an OCI image index of them, each with its platform; the
        index's digest."""
        with tempfile.TemporaryDirectory(dir=self.directory) as work:
            layout = Path(work) / "layout"
            for number, image in enumerate(images):
                self._build(layout, f"part{number}", image)
            listing = json.loads((layout / "index.json").read_text())
            parts = []
            for descriptor, image in zip(listing["manifests"], images, strict=True):
                part = {k: v for k, v in descriptor.items() if k != "annotations"}
                part["platform"] = {"architecture": image.architecture, "os": image.os}
                parts.append(part)
            body = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": parts,
                }
            ).encode()
            digest = hashlib.sha256(body).hexdigest()
            (layout / "blobs" / "sha256" / digest).write_bytes(body)
            listing["manifests"].append(
                {
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": f"sha256:{digest}",
                    "size": len(body),
                    "annotations": {"org.opencontainers.image.ref.name": "index"},
                }
            )
            (layout / "index.json").write_text(json.dumps(listing))
            return self._copy(f"oci:{layout}:index", repository, tag, False, every=True)

    def push_raw(self, repository: str, tag: str, config: bytes, manifest: str) -> str:
        """Push ``config`` as a blob and ``manifest`` (``{config}`` replaced by the config's
        digest) as it is written, for documents no image tool writes (letter-case twins of
        keys); the manifest's digest."""
        digest = "sha256:" + hashlib.sha256(config).hexdigest()
        self._upload(repository, config)
        body = manifest.replace("{config}", digest).replace("{size}", str(len(config))).encode()
        return self.put_manifest(repository, tag, body)

    def put_manifest(self, repository: str, tag: str, body: bytes, media_type: str = "") -> str:
        """PUT a manifest or index as written; its digest."""
        document = json.loads(body)
        kind = (
            media_type
            or document.get("mediaType")
            or (
                "application/vnd.oci.image.index.v1+json"
                if "manifests" in document
                else "application/vnd.oci.image.manifest.v1+json"
            )
        )
        self._request("PUT", f"/v2/{repository}/manifests/{tag}", repository, body, kind)
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def _upload(self, repository: str, blob: bytes) -> None:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        location = self._request("POST", f"/v2/{repository}/blobs/uploads/", repository)
        parts = urllib.parse.urlsplit(location)
        query = f"{parts.query}&" if parts.query else ""
        target = f"{parts.path}?{query}digest={urllib.parse.quote(digest)}"
        self._request("PUT", target, repository, blob, "application/octet-stream")

    def _request(
        self, method: str, target: str, repository: str, body: bytes = b"", kind: str = ""
    ) -> str:
        """One authenticated request as the builder; the Location it answers."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        assert self._tokens is not None
        scope = urllib.parse.quote(f"repository:{repository}:pull,push")
        realm = f"https://127.0.0.1:{self._tokens.server_port}/token"
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        asked = urllib.request.Request(
            f"{realm}?service={SERVICE}&scope={scope}", headers={"Authorization": f"Basic {basic}"}
        )
        with urllib.request.urlopen(asked, context=context, timeout=10) as answer:
            token = json.loads(answer.read())["token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Length": str(len(body))}
        if kind:
            headers["Content-Type"] = kind
        request = urllib.request.Request(
            f"https://{self.host}{target}", data=body, headers=headers, method=method
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return str(answer.headers.get("Location", ""))

    def _build(self, layout: Path, name: str, image: Image) -> None:
        if not layout.exists():
            _run("umoci", "init", "--layout", str(layout))
        _run("umoci", "new", "--image", f"{layout}:{name}")
        settings = ["--os", image.os, "--architecture", image.architecture]
        if image.user is not None:
            settings += ["--config.user", image.user]
        _run("umoci", "config", "--image", f"{layout}:{name}", *settings)

    def _copy(self, source: str, repository: str, tag: str, v2s2: bool, every: bool = False) -> str:
        certificates = self.directory / "certs.d"
        certificates.mkdir(exist_ok=True)
        shutil.copy(self.ca_file, certificates / "ca.crt")
        digest_file = self.directory / "pushed.digest"
        _run(
            "skopeo",
            "copy",
            "--quiet",
            *(["--all"] if every else []),
            *(["--format", "v2s2"] if v2s2 else []),
            "--dest-cert-dir",
            str(certificates),
            "--dest-creds",
            f"{USER}:{PASSWORD}",
            "--digestfile",
            str(digest_file),
            source,
            f"docker://{self.host}/{repository}:{tag}",
        )
        return digest_file.read_text().strip()


def _run(*command: str) -> None:
    environment = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    subprocess.run(command, check=True, capture_output=True, timeout=120, env=environment)


@contextlib.contextmanager
def local_registry(
    directory: Path, names: Sequence[str] = (), accounts: dict[str, str] | None = None
) -> Iterator[LocalRegistry]:
    registry = LocalRegistry(directory, names, accounts)
    try:
        yield registry.start()
    finally:
        registry.stop()
