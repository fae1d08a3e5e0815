"""Rule r (ImageVerification): a container that sets no User is decided by its image's USER,
read from a real registry (``docker-registry``, distribution 2.8) on 127.0.0.1 with TLS and
token authentication, holding images built with umoci and pushed with skopeo
(``scripts/local_registry.py``); misbehaving registries are small TLS servers of the test's."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from hook_event import PLACEHOLDER_CREDENTIALS, hook_event, template_event
from local_registry import PASSWORD, USER, Image, LocalRegistry, missing_tools
from tls_server import Quiet, Store, tls_server

from guardrails_ecs_nonrootuser import handlers, registry
from guardrails_ecs_nonrootuser.policy import Platform, Settings, evaluate
from guardrails_ecs_nonrootuser.reference import ReferenceError, parse

ROOT = Path(__file__).resolve().parent.parent
ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ECR_PASSWORD = "123456789012-auth-token"
"""What moto's GetAuthorizationToken gives for account 123456789012."""
LINUX = (Platform("linux", "amd64"), Platform("linux", "arm64"))


def _needs_tools() -> None:
    missing = missing_tools()
    if missing and shutil.which("apt-get") is None:
        pytest.skip(f"no apt here to install {', '.join(missing)} (make test installs them)")
    assert not missing, f"make test installs {', '.join(missing)}: run it, or apt-get install them"


class Images:
    """The registry and the references of what was pushed to it."""

    def __init__(self, local: LocalRegistry) -> None:
        self.local = local
        self.host = local.host
        self.digests: dict[str, str] = {}

    def ref(self, name: str, pinned: bool = False) -> str:
        base = f"{self.host}/public/{name}"
        return f"{base}@{self.digests[name]}" if pinned else f"{base}:v1"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    _needs_tools()
    local = LocalRegistry(
        tmp_path_factory.mktemp("registry"), names=[ECR_HOST], accounts={"AWS": ECR_PASSWORD}
    )
    local.start()
    try:
        pushed = Images(local)
        for name, image in {
            "unset": Image(None),
            "zero": Image("0"),
            "root": Image("root"),
            "uid": Image("1000"),
            "uid-gid": Image("1000:1000"),
            "root-group": Image("1000:0"),
            "named": Image("app"),
            "empty-user-part": Image(":1000"),
            "v2s2": Image("1000", docker_v2s2=True),
            "windows-admin": Image("ContainerAdministrator", os="windows"),
            "windows-user": Image("ContainerUser", os="windows"),
        }.items():
            pushed.digests[name] = local.push(f"public/{name}", "v1", image)
        pushed.digests["multi"] = local.push_index(
            "public/multi", "v1", [Image("1000"), Image("0", architecture="arm64")]
        )
        pushed.digests["s390x-only"] = local.push_index(
            "public/s390x-only", "v1", [Image("1000", architecture="s390x")]
        )
        local.push("private/app", "v1", Image("1000"))
        local.push("ecr/app", "v1", Image("1000"))
        local.push("forbidden/app", "v1", Image("1000"))
        yield pushed
    finally:
        local.stop()


@pytest.fixture
def trusted(images: Images, monkeypatch: pytest.MonkeyPatch) -> Images:
    """The registry's CA trusted (as a runtime trusts a registry's), every cache empty."""
    monkeypatch.setenv("SSL_CERT_FILE", str(images.local.ca_file))
    registry.CACHE.clear()
    return images


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response = dict(handlers.hook(event, None))
    json.dumps(response)
    return response


def properties(image: str, user: Any = ..., platform: dict[str, str] | None = None) -> Any:
    container: dict[str, Any] = {"Name": "app", "Image": image}
    if user is not ...:
        container["User"] = user
    found: dict[str, Any] = {"Family": "demo", "ContainerDefinitions": [container]}
    if platform:
        found["RuntimePlatform"] = platform
    return found


X86 = {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}
ARM = {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
WINDOWS = {"OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}


# Reference parsing, as distribution's ParseNormalizedNamed (its reference_test.go cases).
@pytest.mark.parametrize(
    ("text", "registry_", "repository", "wanted"),
    [
        ("nginx", "docker.io", "library/nginx", "latest"),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25"),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest"),
        ("index.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7"),
        ("bitnami/redis", "docker.io", "bitnami/redis", "latest"),
        ("localhost/app", "localhost", "app", "latest"),
        ("localhost:5000/team/app:v2", "localhost:5000", "team/app", "v2"),
        ("Registry/app", "Registry", "app", "latest"),
        (f"{ECR_HOST}/app:prod", ECR_HOST, "app", "prod"),
        ("ghcr.io/o/a:1@sha256:" + "a" * 64, "ghcr.io", "o/a", "sha256:" + "a" * 64),
    ],
)
def test_references_are_normalized_as_the_runtime_normalizes_them(
    text: str, registry_: str, repository: str, wanted: str
) -> None:
    reference = parse(text)
    assert (reference.registry, reference.repository, reference.digest or reference.tag) == (
        registry_,
        repository,
        wanted,
    )
    assert parse("nginx").api_host == "registry-1.docker.io"


@pytest.mark.parametrize(
    "text",
    ["", " nginx", "Nginx", "nginx:", "nginx@sha256:abc", "nginx@md5:" + "a" * 32, "a/b:c:d"],
)
def test_what_the_runtime_cannot_pull_is_not_a_reference(text: str) -> None:
    with pytest.raises(ReferenceError):
        parse(text)


# Rule r through the hook's resource level: what each image says, decided by rules a-p.
@pytest.mark.parametrize(
    ("name", "platform", "status", "words"),
    [
        ("unset", X86, "FAILED", "sets no USER, so it runs as root"),
        ("zero", X86, "FAILED", 'sets USER "0": uid 0 is root'),
        ("root", X86, "FAILED", 'sets USER "root": user root is uid 0'),
        ("uid", X86, "SUCCESS", ""),
        ("uid-gid", None, "SUCCESS", ""),
        ("root-group", X86, "FAILED", 'sets USER "1000:0": the group is root'),
        ("named", X86, "SUCCESS", ""),
        ("empty-user-part", X86, "FAILED", "the user part before ':' is empty"),
        ("v2s2", X86, "SUCCESS", ""),
        ("multi", X86, "SUCCESS", ""),
        ("multi", ARM, "FAILED", 'linux/arm64) sets USER "0"'),
        ("multi", None, "FAILED", 'linux/arm64) sets USER "0"'),
        ("s390x-only", X86, "FAILED", "its index has no manifest for linux/amd64"),
        ("windows-admin", WINDOWS, "FAILED", 'sets USER "ContainerAdministrator"'),
        ("windows-user", WINDOWS, "SUCCESS", ""),
        ("windows-admin", None, "FAILED", "Windows administrator account"),
    ],
)
@pytest.mark.parametrize("mode", ["DIGEST", "TAG"])
def test_rule_r_decides_a_container_without_user_by_its_images_user(  # noqa: PLR0917
    trusted: Images, name: str, platform: Any, status: str, words: str, mode: str
) -> None:
    image = trusted.ref(name, pinned=mode == "DIGEST")
    response = invoke(hook_event(properties(image, platform=platform), {"ImageVerification": mode}))
    assert response["hookStatus"] == status, response["message"]
    assert words in response["message"]
    if "cannot be read" in response["message"]:  # failed closed: nothing to build
        assert "no manifest" in words
    elif status == "FAILED":
        assert "build the image with a non-root USER" in json.dumps(response["annotations"])
    else:
        assert "image" in response["annotations"][0]["statusMessage"]


def test_rule_r_tag_names_the_digest_seen(trusted: Images) -> None:
    response = invoke(hook_event(properties(trusted.ref("zero")), {"ImageVerification": "TAG"}))
    assert trusted.digests["zero"][:19] in response["message"]


def test_rule_r_the_task_definitions_user_still_wins(trusted: Images) -> None:
    configuration = {"ImageVerification": "TAG"}
    assert (
        invoke(hook_event(properties(trusted.ref("uid"), "0"), configuration))["hookStatus"]
        == "FAILED"
    )
    assert (
        invoke(hook_event(properties(trusted.ref("zero"), "1000"), configuration))["hookStatus"]
        == "SUCCESS"
    )


def test_rule_r_is_off_by_default_and_digest_mode_reads_no_tag(trusted: Images) -> None:
    issued = len(trusted.local.tokens_issued)
    off = invoke(hook_event(properties(trusted.ref("uid")), None))
    assert off["hookStatus"] == "FAILED" and "cannot be verified at deploy time" in off["message"]
    digest = invoke(hook_event(properties(trusted.ref("uid")), {"ImageVerification": "DIGEST"}))
    assert digest["hookStatus"] == "FAILED"
    assert (
        "ImageVerification is DIGEST and the image is not pinned by a digest" in digest["message"]
    )
    assert len(trusted.local.tokens_issued) == issued  # the registry was not contacted


def test_rule_r_trusted_registries_bound_what_is_contacted(trusted: Images) -> None:
    issued = len(trusted.local.tokens_issued)
    configuration = {"ImageVerification": "TAG", "TrustedRegistries": ["*.example.com"]}
    response = invoke(hook_event(properties(trusted.ref("uid")), configuration))
    assert response["hookStatus"] == "FAILED"
    assert 'registry "127.0.0.1" is not in TrustedRegistries' in response["message"]
    assert len(trusted.local.tokens_issued) == issued
    configuration["TrustedRegistries"] = ["127.0.0.?"]
    assert invoke(hook_event(properties(trusted.ref("uid")), configuration))["hookStatus"] == (
        "SUCCESS"
    )


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("{host}/public/missing:v1", "the registry has no such image (404)"),
        ("{host}/private/app:v1", "the registry refused access (401)"),
        ("{host}/forbidden/app:v1", "the registry refused access (401)"),
        ("127.0.0.1:1/public/uid:v1", "the connection to the registry failed"),
    ],
)
def test_rule_r_an_image_that_cannot_be_read_fails_closed_with_the_reason(
    trusted: Images, image: str, problem: str
) -> None:
    response = invoke(
        hook_event(properties(image.format(host=trusted.host)), {"ImageVerification": "TAG"})
    )
    assert response["hookStatus"] == "FAILED"
    assert problem in response["message"]


def test_rule_r_cache_keeps_what_is_immutable_and_resolves_tags_again(trusted: Images) -> None:
    client = registry.Client(time.monotonic() + 10)
    image = trusted.ref("uid")
    first = client.look_up(image, LINUX)
    issued = len(trusted.local.tokens_issued)
    assert client.look_up(trusted.ref("uid", pinned=True), LINUX) == first
    assert len(trusted.local.tokens_issued) == issued  # by digest: from the cache
    assert client.look_up(image, LINUX) == first  # the tag is asked again (HEAD)
    key = ("manifest", trusted.host, "public/uid", trusted.digests["uid"], "anonymous")
    assert registry.CACHE.get(key)


def test_rule_r_cache_never_gives_one_callers_read_to_another(trusted: Images) -> None:
    image = f"{trusted.host}/private/app:v1"
    builder = registry.Client(time.monotonic() + 10, lambda _: (USER, PASSWORD))
    assert builder.look_up(image, LINUX)[0].user == "1000"
    (anonymous,) = registry.Client(time.monotonic() + 10).look_up(image, LINUX)
    assert anonymous.problem == "the registry refused access (401)"


@pytest.fixture
def moto_ecr(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, trusted: Images) -> Images:
    """ECR's GetAuthorizationToken from moto; the ECR registry's name resolves to the local
    registry, whose certificate names it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", moto_endpoint)
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == ECR_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return trusted


def test_rule_r_private_ecr_is_read_with_the_callers_credentials(moto_ecr: Images) -> None:
    image = f"{ECR_HOST}:{moto_ecr.local.port}/ecr/app:v1"
    event = hook_event(properties(image), {"ImageVerification": "TAG"})
    response = invoke(event)
    assert response["hookStatus"] == "SUCCESS", response["message"]
    assert moto_ecr.local.tokens_issued[-1] == "AWS"
    # with the image verification off, the caller's credentials are never used
    event = hook_event(properties(image, "1000"), None)
    assert invoke(event)["hookStatus"] == "SUCCESS"


def test_rule_r_private_ecr_without_a_token_fails_closed(
    moto_ecr: Images, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")
    image = f"{ECR_HOST}:{moto_ecr.local.port}/ecr/app:v1"
    response = invoke(hook_event(properties(image), {"ImageVerification": "TAG"}))
    assert response["hookStatus"] == "FAILED"
    assert "no ECR authorization token could be had" in response["message"]


# The stack and change-set levels read only what the template resolves, and defer what they
# cannot read.
def _template(image: Any, user: Any = ...) -> str:
    container: dict[str, Any] = {"Name": "app", "Image": image}
    if user is not ...:
        container["User"] = user
    return json.dumps(
        {
            "Parameters": {"Image": {"Type": "String"}},
            "Resources": {
                "Task": {
                    "Type": "AWS::ECS::TaskDefinition",
                    "Properties": {"ContainerDefinitions": [container], "RuntimePlatform": X86},
                }
            },
        }
    )


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusted: Images) -> Iterator[str]:
    """Stack payloads at an https URL whose CA is trusted beside the registry's."""
    with tls_server(Store, tmp_path) as base:
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes((tmp_path / "ca.pem").read_bytes() + trusted.local.ca_file.read_bytes())
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        yield base


@pytest.mark.parametrize(
    ("image", "status", "words"),
    [
        ("zero", "FAILED", 'sets USER "0"'),
        ("uid", "SUCCESS", ""),
        ({"Ref": "Image"}, "SUCCESS", "its Image cannot be resolved"),
        ("{host}/public/missing:v1", "SUCCESS", "no such image (404)"),
    ],
)
def test_rule_r_at_the_stack_level(
    trusted: Images, served: str, image: Any, status: str, words: str
) -> None:
    if isinstance(image, str):
        image = image.format(host=trusted.host) if "{" in image else trusted.ref(image)
    Store.bodies = {"/stack": json.dumps({"template": _template(image)}).encode()}
    event = template_event("STACK", f"{served}/stack", {"ImageVerification": "TAG"})
    response = invoke(event)
    assert response["hookStatus"] == status, response["message"]
    assert words in " ".join(a["statusMessage"] for a in response["annotations"])


def test_rule_r_at_the_change_set_level(trusted: Images, served: str) -> None:
    change = {
        "resourceType": "AWS::ECS::TaskDefinition",
        "logicalResourceId": "Task",
        "action": "CREATE",
        "afterContext": json.dumps(
            {
                "Properties": {
                    "ContainerDefinitions": [{"Name": "app", "Image": trusted.ref("root")}]
                }
            }
        ),
    }
    Store.bodies = {"/cs": json.dumps({"changedResources": [change]}).encode()}
    response = invoke(template_event("CHANGE_SET", f"{served}/cs", {"ImageVerification": "TAG"}))
    assert response["hookStatus"] == "FAILED", response["message"]
    assert 'sets USER "root"' in response["message"]


# Misbehaving registries: each bounded, credentials never follow a redirect, nothing leaks.
class Hostile(Quiet):
    """A registry that misbehaves by repository name."""

    seen_at_storage: list[str] = []  # noqa: RUF012 - read by the test
    realm_saw: list[str] = []  # noqa: RUF012 - read by the test
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(b'{"config":{"User":"1000"}}').hexdigest(),
                "size": 26,
            },
            "layers": [],
        }
    ).encode()
    base = ""
    port = 0

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self.answer(405, b"")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self.special(self.path):
            self.usual(self.path)

    def special(self, path: str) -> bool:
        """The registries that misbehave before any authentication; whether it was one."""
        if "/headers/" in path:  # one header byte at a time, for ever
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(300):
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(0.05)
        elif "/bad-location/" in path:
            self.redirect("https://[bad/x")
        elif "/bad-realm/" in path:
            self.challenge("https://[x/token")
        elif "/unicode-token/" in path and not path.startswith("/token"):
            self.challenge(f"{self.base}/unicode")
        elif path.startswith("/unicode"):
            self.answer(200, json.dumps({"token": "t\u20ack"}).encode())
        elif "/moved/" in path:
            self.redirect(f"https://localhost:{Hostile.port}/elsewhere/manifest")
        elif path.startswith("/elsewhere"):
            self.challenge(f"https://localhost:{Hostile.port}/evilrealm")
        elif path.startswith("/evilrealm"):
            Hostile.realm_saw.append(self.headers.get("Authorization", ""))
            self.answer(200, json.dumps({"token": "stolen"}).encode())
        else:
            return False
        return True

    def redirect(self, location: str) -> None:
        self.send_response(307)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def challenge(self, realm: str) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="x"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def usual(self, path: str) -> None:
        if path.startswith("/storage"):
            Hostile.seen_at_storage.append(self.headers.get("Authorization", ""))
            self.answer(200, b'{"config":{"User":"1000"}}')
        elif path.startswith("/token"):
            self.answer(200, json.dumps({"token": "t0ken-that-must-not-leak"}).encode())
        elif self.headers.get("Authorization") != "Bearer t0ken-that-must-not-leak" or (
            "/denied/" in path
        ):
            self.challenge(f"{self.base}/token")
        elif "/blobs/" in path:  # to storage on another host name, as registries redirect
            self.redirect(f"https://localhost:{Hostile.port}/storage?X-Amz-Signature=abc")
        elif "/slow/" in path:
            time.sleep(30)
        elif "/trickle/" in path:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        elif "/huge/" in path:
            self.send_response(200)
            self.send_header("Content-Length", str(64 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b" " * 1024 * 1024)
        elif "/wrong/" in path:
            digest = "sha256:" + hashlib.sha256(self.manifest).hexdigest()
            self.send_response(200)
            self.send_header("Docker-Content-Digest", digest)
            self.send_header("Content-Length", str(len(self.manifest) + 1))
            self.end_headers()
            self.wfile.write(self.manifest + b" ")
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(self.manifest)))
            self.end_headers()
            self.wfile.write(self.manifest)


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "hostile.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hostile.base = f"https://127.0.0.1:{server.server_port}"
    Hostile.port = server.server_port
    Hostile.seen_at_storage = []
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "hostile.pem"))
    registry.CACHE.clear()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_blob_redirect_is_followed_without_credentials(hostile: str) -> None:
    seen = registry.Client(time.monotonic() + 10).look_up(f"{hostile}/ok/app:v1", LINUX)
    assert seen[0].user == "1000", seen
    assert Hostile.seen_at_storage == [""]


@pytest.mark.parametrize(
    ("repository", "problem"),
    [
        ("denied", "the registry refused access (401)"),
        ("wrong", "its manifest does not match the digest the registry gave"),
        ("huge", "larger than 4,194,304 bytes"),
        ("slow", "did not answer in time"),
        ("trickle", "did not answer in time"),
    ],
)
def test_a_misbehaving_registry_is_a_reason_within_the_deadline(
    hostile: str, repository: str, problem: str
) -> None:
    started = time.monotonic()
    seen = registry.Client(started + 2).look_up_all([(f"{hostile}/{repository}/app:v1", LINUX)])
    (result,) = next(iter(seen.values()))
    assert problem in result.problem
    assert time.monotonic() - started < 3


def test_a_digest_mismatch_by_digest_fails(hostile: str) -> None:
    digest = "sha256:" + hashlib.sha256(Hostile.manifest).hexdigest()
    (seen,) = registry.Client(time.monotonic() + 5).look_up(f"{hostile}/wrong/app@{digest}", LINUX)
    assert seen.problem == "its manifest does not match its digest"


def test_the_hook_answers_within_its_budget_whatever_the_registry_does(
    hostile: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    containers = [
        {"Name": f"c{n}", "Image": f"{hostile}/{kind}/app{n}:v1"}
        for n, kind in enumerate(["slow", "trickle", "slow", "denied", "huge", "ok"] * 2)
    ]
    started = time.monotonic()
    response = invoke(
        hook_event({"ContainerDefinitions": containers}, {"ImageVerification": "TAG"})
    )
    took = time.monotonic() - started
    assert took < handlers.BUDGET, took
    assert took >= handlers.IMAGE_BUDGET - 1  # the slow ones were given their time
    assert response["hookStatus"] == "FAILED"
    captured = capsys.readouterr()
    output = json.dumps(response) + captured.out + captured.err + caplog.text
    for secret in (
        "t0ken-that-must-not-leak",
        "X-Amz-Signature",
        *PLACEHOLDER_CREDENTIALS.values(),
    ):
        assert secret not in output


# The command: ecs-nonroot check --image-verification, with the user's Docker credentials.
def _command(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guardrails_ecs_nonrootuser", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_the_command_reads_images_with_the_users_docker_credentials(
    trusted: Images, tmp_path: Path
) -> None:
    template = tmp_path / "task.yaml"
    good = f"{trusted.host}/private/app:v1"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Task": {
                        "Type": "AWS::ECS::TaskDefinition",
                        "Properties": {
                            "ContainerDefinitions": [
                                {"Name": "good", "Image": good},
                                {"Name": "bad", "Image": trusted.ref("zero")},
                            ]
                        },
                    }
                }
            }
        )
    )
    env = {"SSL_CERT_FILE": str(trusted.local.ca_file), "DOCKER_CONFIG": str(tmp_path)}
    denied = _command("check", "--image-verification", "TAG", str(template), env=env)
    assert denied.returncode == 1
    assert "refused access (401)" in denied.stdout
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {trusted.host: {"auth": auth}}}))
    done = _command("check", "--image-verification", "TAG", str(template), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert '"bad"' in done.stdout and 'sets USER "0"' in done.stdout
    assert '"good"' not in done.stdout.replace('"good"', "", 0) or "refused" not in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    config = tmp_path / ".ecs-nonroot.json"
    config.write_text(json.dumps({"ImageVerification": "TAG"}))
    template.write_text(template.read_text().replace(trusted.ref("zero"), trusted.ref("uid")))
    passed = _command("check", "--config", str(config), str(template), env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_evaluate_never_fetches_without_a_lookup() -> None:
    """The policy decides what it is given: with no lookup, nothing was read."""
    settings = Settings.from_mapping({"ImageVerification": "TAG"})
    report = evaluate(properties("nginx:1"), settings)
    assert report.failures[0].finding is not None
    assert report.failures[0].finding.unread


def test_the_audit_reads_the_images_of_what_is_deployed(
    trusted: Images, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from guardrails_ecs_nonrootuser import audit, docker_config
    from guardrails_ecs_nonrootuser.scan import Options

    for key, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    session = boto3.Session()
    ecs = session.client("ecs")
    for family, name in (("good", "uid"), ("bad", "zero")):
        ecs.register_task_definition(
            family=family,
            containerDefinitions=[{"name": "app", "image": trusted.ref(name), "memory": 128}],
            runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        )
    settings = Settings.from_mapping({"ImageVerification": "TAG"})
    found: list[audit.Audited] = []
    unreadable = audit.audit(
        session,
        audit.units_of(["123456789012"], ["eu-west-1"]),
        Options(settings),
        found.append,
        image_client=docker_config.command_client,
    )
    assert unreadable == []
    reports = [item.report for item in found]
    verdicts = {
        report.path.rpartition("/")[2]: [
            c.verdict for td in report.task_definitions for c in td.containers
        ]
        for report in reports
    }
    assert verdicts == {"good:1": ["PASS"], "bad:1": ["FAIL"]}
    (bad,) = [r for r in reports if r.path.endswith("bad:1")]
    assert 'sets USER "0"' in bad.task_definitions[0].findings[0].message


class _Paged:
    def __init__(self, pages: dict[str, list[dict[str, Any]]], operation: str) -> None:
        self.pages, self.operation = pages, operation

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return self.pages[self.operation]


class _RunningEcs:
    """The ECS calls ``audit.usage_of`` makes, answered in the API's shapes for one cluster
    whose tasks run the digests given (moto's tasks carry no ``imageDigest``)."""

    def __init__(self, tasks: list[dict[str, Any]]) -> None:
        self.tasks = tasks
        self.pages: dict[str, list[dict[str, Any]]] = {
            "list_clusters": [{"clusterArns": ["arn:aws:ecs:eu-west-1:123456789012:cluster/c"]}],
            "list_services": [{"serviceArns": []}],
            "list_tasks": [{"taskArns": [task["taskArn"] for task in tasks]}],
        }

    def get_paginator(self, operation: str) -> _Paged:
        return _Paged(self.pages, operation)

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        return {"tasks": [task for task in self.tasks if task["taskArn"] in tasks]}


def test_the_audit_decides_a_running_task_by_the_digest_it_runs(trusted: Images) -> None:
    """The tag moved to a non-root image after the task started: the task still runs the root
    image it pulled, and that is what is reported for it."""
    from guardrails_ecs_nonrootuser import audit
    from guardrails_ecs_nonrootuser.scan import Options

    local = trusted.local
    pulled = local.push("public/moving", "v1", Image("0"))
    local.push("public/moving", "v1", Image("1000"))
    arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"
    task: dict[str, Any] = {
        "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/c/0123abcd",
        "taskDefinitionArn": arn,
        "containers": [{"name": "app", "image": "x", "imageDigest": pulled}],
    }
    again = {**task, "taskArn": task["taskArn"].replace("0123abcd", "4567ef01")}
    running: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {}
    assert audit.usage_of(_RunningEcs([task, again]), running) == {arn: {audit.RUNNING_TASK}}
    assert running == {arn: {"0123abcd": (("app", pulled),)}}  # one set of digests, once
    definition = {
        "family": "web",
        "revision": 3,
        "containerDefinitions": [{"name": "app", "image": f"{local.host}/public/moving:v1"}],
    }
    options = Options(Settings.from_mapping({"ImageVerification": "TAG"}))
    unit = audit.Unit("123456789012", "eu-west-1")

    def checked(report: Any) -> Any:
        return registry.with_images(
            options.settings,
            lambda images: report(options._replace(images=images)),
            lambda: registry.Client(time.monotonic() + 10),
        )

    def decided(given: Any, task: str | None = None) -> Any:
        pinned = audit._pinned(definition, running[arn][task]) if task else definition
        properties = audit._as_properties(pinned)
        return audit._decided(
            given, unit=unit, name="web:3", arn=arn, used_by=(), properties=properties, task=task
        ).report

    registered = checked(decided)
    assert registered.task_definitions[0].containers[0].verdict == "PASS"
    now = checked(lambda given: decided(given, "0123abcd"))
    assert now.path.endswith("task-definition/web:3/running-task/0123abcd")
    assert now.task_definitions[0].containers[0].verdict == "FAIL"
    assert 'sets USER "0"' in now.task_definitions[0].findings[0].message


def test_the_command_reads_a_template_from_standard_input_once(trusted: Images) -> None:
    """Images are read between two checks of the same input: standard input is read once."""
    template = _template(trusted.ref("zero"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "guardrails_ecs_nonrootuser",
            "check",
            "--image-verification",
            "TAG",
            "-",
        ],
        input=template,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SSL_CERT_FILE": str(trusted.local.ca_file)},
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'image sets USER "0"' in done.stdout


def test_the_cfn_lint_rule_reads_images_as_the_command_does(
    trusted: Images, tmp_path: Path
) -> None:
    template = tmp_path / "task.json"
    template.write_text(_template(trusted.ref("root")))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ImageVerification": "TAG"}))
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            str(template),
            "--append-rules",
            "guardrails_ecs_nonrootuser.cfn_lint_rule",
            "--configure-rule",
            f"E9101:config={config}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SSL_CERT_FILE": str(trusted.local.ca_file)},
        check=False,
    )
    assert 'sets USER "root"' in done.stdout, done.stdout + done.stderr


# What the runtimes' Go decoders and platform matchers do, which a reading must follow.
_MANIFEST = (
    '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", '
    '"config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "{config}", '
    '"size": {size}}, "layers": []}'
)


@pytest.mark.parametrize(
    ("config", "manifest"),
    [
        ('{"config": {"User": "1000", "user": "0"}}', _MANIFEST),
        ('{"config": {"User": "1000"}, "Config": {"User": "0"}}', _MANIFEST),
        ('{"config": {"USER": "0"}}', _MANIFEST),
    ],
    ids=["user-twin", "config-twin", "upper-case-key"],
)
def test_rule_r_keys_are_read_as_go_reads_them_whatever_their_case(
    trusted: Images, config: str, manifest: str
) -> None:
    digest = trusted.local.push_raw("public/cased", "v1", config.encode(), manifest)
    image = f"{trusted.host}/public/cased@{digest}"
    response = invoke(hook_event(properties(image, platform=X86), {"ImageVerification": "DIGEST"}))
    assert response["hookStatus"] == "FAILED", response["message"]
    assert 'sets USER "0"' in response["message"]


def _index(*entries: tuple[dict[str, Any] | None, str, int]) -> bytes:
    manifests = []
    for platform, digest, size in entries:
        entry: dict[str, Any] = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
        }
        if platform is not None:
            entry["platform"] = platform
        manifests.append(entry)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
    return json.dumps({**index, "manifests": manifests}).encode()


@pytest.mark.parametrize(
    ("entries", "platform"),
    [
        (
            [
                ({"os": "linux", "architecture": "x86_64"}, "root"),
                ({"os": "linux", "architecture": "amd64"}, "uid"),
            ],
            X86,
        ),
        (
            [
                ({"os": "Linux", "architecture": "AMD64"}, "root"),
                ({"os": "linux", "architecture": "amd64"}, "uid"),
            ],
            X86,
        ),
        (
            [
                ({"architecture": "amd64"}, "root"),
                ({"os": "linux", "architecture": "amd64"}, "uid"),
            ],
            X86,
        ),
        (
            [
                ({"os": "linux", "architecture": "amd64", "variant": "v3"}, "uid"),
                ({"os": "linux", "architecture": "amd64"}, "root"),
            ],
            X86,
        ),
        (
            [
                ({"os": "linux", "architecture": "386"}, "root"),
                ({"os": "linux", "architecture": "arm64"}, "uid"),
            ],
            None,
        ),
        ([(None, "root"), ({"os": "linux", "architecture": "amd64"}, "uid")], X86),
        (
            [
                ({"os": "linux", "architecture": "amd64"}, "uid"),
                ({"os": "windows", "architecture": "amd64"}, "unset"),
            ],
            None,
        ),
        (
            [
                (
                    {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1"},
                    "windows-user",
                ),
                (
                    {"os": "windows", "architecture": "amd64", "os.version": "10.0.26100.1"},
                    "windows-admin",
                ),
            ],
            {"OperatingSystemFamily": "WINDOWS_SERVER_2025_CORE"},
        ),
    ],
    ids=[
        "x86_64-alias",
        "letter-case",
        "no-os",
        "variant",
        "386-fallback",
        "no-platform",
        "undeclared-windows",
        "windows-2025",
    ],
)
def test_rule_r_every_manifest_a_runtime_may_pull_is_read(
    trusted: Images, entries: list[tuple[dict[str, Any] | None, str]], platform: Any
) -> None:
    """An index whose root manifest one runtime or host would pull fails, whichever entry
    another would prefer (containerd's platform normalization, fallbacks and variants)."""
    sizes = {}
    for _, name in entries:  # each entry's manifest is in its own repository: copy it to one
        manifest = _fetch_manifest(trusted, name)
        _copy_config(trusted, name, manifest)
        trusted.local.put_manifest("public/platforms", trusted.digests[name], manifest)
        sizes[name] = len(manifest)
    body = _index(*((named, trusted.digests[name], sizes[name]) for named, name in entries))
    digest = trusted.local.put_manifest("public/platforms", "v1", body)
    image = f"{trusted.host}/public/platforms@{digest}"
    response = invoke(
        hook_event(properties(image, platform=platform), {"ImageVerification": "DIGEST"})
    )
    assert response["hookStatus"] == "FAILED", response["message"]


def _fetch_manifest(trusted: Images, name: str) -> bytes:
    client = registry.Client(time.monotonic() + 10)
    reference = parse(f"{trusted.host}/public/{name}@{trusted.digests[name]}")
    answer = client._get(reference, f"manifests/{trusted.digests[name]}")
    return answer.body


def _copy_config(trusted: Images, name: str, manifest: bytes) -> None:
    digest = json.loads(manifest)["config"]["digest"]
    reference = parse(f"{trusted.host}/public/{name}:v1")
    config = registry.Client(time.monotonic() + 10)._get(reference, f"blobs/{digest}").body
    trusted.local._upload("public/platforms", config)


def test_a_registry_that_trickles_its_headers_is_cut_at_the_deadline(hostile: str) -> None:
    started = time.monotonic()
    (seen,) = registry.Client(started + 2).look_up(f"{hostile}/headers/app:v1", LINUX)
    assert seen.problem == "the registry did not answer in time"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("repository", ["bad-location", "bad-realm", "unicode-token"])
def test_a_malformed_registry_answer_is_a_reason_never_a_crash(
    hostile: str, repository: str
) -> None:
    response = invoke(
        hook_event(properties(f"{hostile}/{repository}/app:v1"), {"ImageVerification": "TAG"})
    )
    assert response["hookStatus"] == "FAILED" and response.get("errorCode") == "NonCompliant"
    assert "cannot be read" in response["message"]


def test_credentials_never_answer_a_challenge_from_where_a_redirect_led(hostile: str) -> None:
    Hostile.realm_saw = []
    client = registry.Client(time.monotonic() + 5, lambda _: ("alice", "registry-password"))
    (seen,) = client.look_up(f"{hostile}/moved/app:v1", LINUX)
    assert seen.problem == "the registry refused access (401)"
    assert not any(
        "alice" in base64.b64decode(value[6:]).decode() for value in Hostile.realm_saw if value
    )


def test_the_command_reads_private_ecr_with_the_aws_sdks_credentials(
    moto_ecr: Images, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from guardrails_ecs_nonrootuser import cli

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "DOCKER_CONFIG": str(tmp_path),  # no Docker credentials: the SDK's are used
    }.items():
        monkeypatch.setenv(key, value)
    template = tmp_path / "task.json"
    template.write_text(_template(f"{ECR_HOST}:{moto_ecr.local.port}/ecr/app:v1"))
    arguments = ["check", "--no-config", "--image-verification", "TAG", str(template)]
    assert cli.main(arguments) == 0
    assert moto_ecr.local.tokens_issued[-1] == "AWS"
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")
    registry.CACHE.clear()
    assert cli.main(arguments) == 1
