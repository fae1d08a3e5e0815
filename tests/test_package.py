"""The zip `cfn submit` uploads (built by `make package`), unpacked and run as Lambda would run it.

The code is imported by an interpreter that stands in for the Lambda python3.12 runtime
(.lambda-runtime/: the standard library plus boto3 and its dependencies) with nothing else on
its path, so a dependency missing from the package fails these tests.
"""

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lambda_endpoint
import pytest
import repack
from hook_event import big_template, hook_event, task_definition, template_event
from lambda_endpoint import served
from tls_server import Store, tls_server

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "guardrails-ecs-nonrootuser.zip"
RUNTIME_PYTHON = ROOT / ".lambda-runtime" / "bin" / "python"
ENTRYPOINT = json.loads((ROOT / ".rpdk-config").read_text(encoding="utf-8"))["entrypoint"]
UNPACKED_BUDGET = 3_050_000
"""Bytes the unpacked Lambda code may take; the default build took about 28 MB. The registry
client of ImageVerification (``reference``, ``registry``, ``credentials``, with bytecode) takes
about 71 KB of it."""


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Lambda code (ResourceProvider.zip) unpacked into an empty directory."""
    assert PACKAGE.is_file(), "build the package first: make package"
    assert RUNTIME_PYTHON.is_file(), "create the runtime stand-in first: make package"
    directory = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(PACKAGE) as outer, outer.open("ResourceProvider.zip") as inner:
        zipfile.ZipFile(inner).extractall(directory)
    yield directory


def pinned() -> dict[str, str]:
    """Distribution name -> version, from requirements.txt."""
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return {
        name.lower().replace("-", "_"): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", text, re.M)
    }


RUNTIME_ENVIRONMENT = {"AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
"""What the Lambda runtime stand-in runs with: a Region, and no more of this machine's PATH."""


def run_in_runtime(code: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [str(RUNTIME_PYTHON), "-I", "-B", *args],  # -B: /var/task is read-only
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=code,
        env=RUNTIME_ENVIRONMENT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def invoke(code: Path, *events: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers of the packaged entrypoint, run by Lambda's runtime client (awslambdaric)."""
    with served(str(RUNTIME_PYTHON), [str(code)], ENTRYPOINT, RUNTIME_ENVIRONMENT) as url:
        answers = [lambda_endpoint.invoke(url, event) for event in events]
    assert all(error is None for _, error in answers)
    return [answer for answer, _ in answers]


def test_runtime_stand_in_lacks_the_package_dependencies(code: Path) -> None:
    # Guards the other tests: they pass only because the package itself carries what it needs.
    probe = (
        "import importlib.util as u; print([m for m in ('cloudformation_cli_python_lib', "
        "'requests', 'guardrails_ecs_nonrootuser', 'boto3') if u.find_spec(m)])"
    )
    assert run_in_runtime(Path("/"), "-c", probe).strip() == "['boto3']"


def test_entrypoint_and_its_dependencies_load_from_the_package(code: Path) -> None:
    probe = (
        "import sys; sys.path.insert(0, '.')\n"
        "import guardrails_ecs_nonrootuser.handlers as h, cloudformation_cli_python_lib as l\n"
        "import requests, boto3\n"
        "for m in (h, l, requests, boto3): print(m.__file__)\n"
        "print('setuptools' in sys.modules)\n"
    )
    handler, library, requests, boto3, setuptools = run_in_runtime(code, "-c", probe).split()
    for path in (handler, library, requests):
        assert Path(path).is_relative_to(code)
    assert Path(boto3).is_relative_to(ROOT / ".lambda-runtime")
    assert setuptools == "False"


def test_packaged_hook_decides_through_the_lambda_entrypoint(code: Path) -> None:
    compliant, root, group, windows, bad_config, other = invoke(
        code,
        hook_event(task_definition("1000:1000", "nonroot")),
        hook_event(task_definition("1000", "0"), invocation_point="UPDATE_PRE_PROVISION"),
        hook_event(task_definition("1000:0")),
        hook_event(task_definition("ContainerAdministrator", windows=True)),
        hook_event(task_definition("1000"), {"MinimumUid": "x"}),
        hook_event({}, target="AWS::S3::Bucket"),
    )
    assert compliant["hookStatus"] == "SUCCESS"
    assert compliant["annotations"][1]["status"] == "PASSED"
    assert (root["errorCode"], group["errorCode"]) == ("NonCompliant", "NonCompliant")
    assert 'container "app1" (#1) User "0": uid 0 is root' in root["message"]
    assert windows["errorCode"] == "NonCompliant"
    assert bad_config["errorCode"] == "InvalidTypeConfiguration"
    assert other["errorCode"] == "UnsupportedTarget"


def test_package_contains_only_the_pinned_distributions_and_the_hook(code: Path) -> None:
    found = {}
    recorded = set()
    for record in code.glob("*.dist-info/RECORD"):
        name, _, version = record.parent.name.removesuffix(".dist-info").partition("-")
        found[name.lower()] = version
        for line in record.read_text(encoding="utf-8").splitlines():
            # console scripts are recorded relative to site-packages ("../../bin/idna")
            recorded.add(re.sub(r"^(\.\./)+", "", line.split(",")[0]))
    assert found == pinned()
    files = {
        str(path.relative_to(code))
        for path in code.rglob("*")
        if path.is_file() and path.parent.name != "__pycache__"  # scripts/repack.py's bytecode
    }
    ours = {f for f in files if f.startswith("guardrails_ecs_nonrootuser/")}
    every = {
        str(path.relative_to(ROOT / "src"))
        for path in (ROOT / "src" / "guardrails_ecs_nonrootuser").rglob("*.py")
    }
    assert every > repack.COMMAND_ONLY
    assert ours == (every - repack.COMMAND_ONLY) | {"guardrails_ecs_nonrootuser/BUILD.json"}
    assert files - ours <= recorded
    assert not any(f.endswith((".so", ".pyd", ".dylib")) for f in files)


def test_no_shipped_module_imports_one_left_out(code: Path) -> None:
    """The command's own modules are not shipped: nothing the hook runs may import them."""
    import ast

    left_out = {Path(name).stem for name in repack.COMMAND_ONLY}
    for module in (code / "guardrails_ecs_nonrootuser").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not {name.rpartition(".")[2] for name in names} & left_out, module.name


def test_package_is_lean(code: Path) -> None:
    size = sum(path.stat().st_size for path in code.rglob("*") if path.is_file())
    assert size <= UNPACKED_BUDGET


def test_every_module_ships_bytecode_that_stays_valid_after_unzipping(code: Path) -> None:
    """Lambda's code directory is read-only: without bytecode, every cold start compiles."""
    modules = [path for path in code.rglob("*.py") if "__pycache__" not in path.parts]
    assert modules
    for module in modules:
        cached = module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc"
        header = cached.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, never checked


def test_the_runtime_runs_the_shipped_bytecode(tmp_path: Path, code: Path) -> None:
    task = tmp_path / "task"
    shutil.copytree(code, task)
    policy = task / "guardrails_ecs_nonrootuser" / "policy.py"
    policy.write_text("raise SystemExit('the source was compiled again')\n", encoding="utf-8")
    program = "import sys; sys.path.insert(0, '.'); import guardrails_ecs_nonrootuser.policy as p"
    out = run_in_runtime(task, "-c", f"{program}; print(p.atoi('0'))")
    assert out == "0\n"


def test_the_package_names_its_version_and_commit(code: Path) -> None:
    from guardrails_ecs_nonrootuser import __version__

    build = json.loads((code / "guardrails_ecs_nonrootuser" / "BUILD.json").read_text("utf-8"))

    commit = git("rev-parse", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"  # built from files the commit does not hold
    assert (build["version"], build["commit"]) == (__version__, commit)


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def pip_lean() -> dict[str, str]:
    """The pip settings the Makefile builds the package with (PIP_LEAN)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (line,) = re.findall(r"^PIP_LEAN := (.*)$", makefile, re.M)
    return dict(item.split("=", 1) for item in shlex.split(line))


def build_from_commit(directory: Path, commit: str, epoch: str) -> bytes:
    """The package built from the commit's files alone, as make package builds it."""
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    directory.mkdir()
    subprocess.run(["tar", "-x"], input=archive.stdout, cwd=directory, check=True)
    shutil.copytree(ROOT / "target-schemas", directory / "target-schemas")
    bin_directory = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_directory}:{os.environ['PATH']}", **pip_lean()}
    package = "guardrails-ecs-nonrootuser.zip"
    for command in (
        [str(bin_directory / "cfn"), "submit", "--dry-run", "--no-docker"],
        [sys.executable, "scripts/repack.py", package, "--commit", commit, "--epoch", epoch],
    ):
        subprocess.run(command, cwd=directory, env=env, capture_output=True, check=True)
    return (directory / "guardrails-ecs-nonrootuser.zip").read_bytes()


def test_one_commit_builds_one_package_in_any_clone(tmp_path: Path) -> None:
    commit, epoch = git("rev-parse", "HEAD"), git("log", "-1", "--format=%ct")
    first = build_from_commit(tmp_path / "one", commit, epoch)
    second = build_from_commit(tmp_path / "two", commit, epoch)
    assert first == second
    if not git("status", "--porcelain", "--untracked-files=no"):  # the tree is the commit
        assert PACKAGE.read_bytes() == first  # and so is make package's build here


def test_packaged_hook_decides_a_1_mb_stack_template_within_5_seconds(
    code: Path, tmp_path: Path
) -> None:
    """The packaged reader is PyYAML's pure-Python parser; the answers equal those here, where
    PyYAML has libyaml, and come within 5 seconds of the request (median of 3)."""
    from guardrails_ecs_nonrootuser import stack
    from guardrails_ecs_nonrootuser.policy import Settings

    templates = {form: big_template(1_000_000, form == "yaml") for form in ("yaml", "json")}
    environment = {**RUNTIME_ENVIRONMENT, "SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    with (
        tls_server(Store, tmp_path) as base,
        served(str(RUNTIME_PYTHON), [str(code)], ENTRYPOINT, environment) as url,
    ):
        for form, template in templates.items():
            assert 900_000 < len(template.encode()) <= stack.MAX_TEMPLATE_BYTES
            Store.bodies[f"/{form}"] = json.dumps({"template": template}).encode()
            event = template_event("STACK", f"{base}/{form}?X-Amz-Signature=x")
            expected = stack.check_stack({"template": template}, Settings())
            offenders = template.count('User: "0"') + template.count('"User": "0"')
            assert expected.message.startswith(f"{offenders} of "), form
            times = []
            for _ in range(3):
                started = time.monotonic()
                response, error = lambda_endpoint.invoke(url, event)
                times.append(time.monotonic() - started)
                assert error is None
                assert (response["hookStatus"], response["message"]) == (
                    "FAILED",
                    expected.message,
                ), form
            assert sorted(times)[1] < 5, f"{form}: {times}"


@pytest.mark.parametrize(
    ("kind", "size", "tasks"),
    [
        pytest.param("alias", 600_000, 500, id="alias-of-600-kb-by-5000-containers"),
        pytest.param("join", 450_000, 400, id="join-of-450-kb-lookups-by-4000-containers"),
        pytest.param("split", 600_000, 500, id="split-of-600-kb-by-5000-containers"),
    ],
)
def test_packaged_hook_decides_a_value_shared_by_every_container_within_budget(
    code: Path, tmp_path: Path, kind: str, size: int, tasks: int
) -> None:
    """One large value that every container's User takes (by a YAML alias, or joined from
    mapping lookups, which doubles it): the packaged hook (PyYAML's pure-Python parser) answers
    within its 25 s budget in 1 GiB, deciding the value once, keeping no copy per container."""
    from hook_event import shared_value_template

    template = shared_value_template(kind, size, tasks)
    response = stack_answer_within_budget(code, tmp_path, template)
    assert response["hookStatus"] == "FAILED"
    assert response["message"].startswith(f"{tasks * 10} of {tasks * 10} containers")


@pytest.mark.parametrize(
    ("shape", "user", "status"),
    [
        pytest.param("tree", "0", "FAILED", id="64-ways-by-5000-containers"),
        pytest.param("chain", "1000", "SUCCESS", id="7-ways-by-5000-containers"),
    ],
)
def test_packaged_hook_decides_nested_conditions_in_every_container_within_budget(
    code: Path, tmp_path: Path, shape: str, user: str, status: str
) -> None:
    """Six nested Fn::If, one YAML alias in all 5,000 containers: the packaged hook answers
    within its budget in 1 GiB (what its steps do not reach is left to the resource layer)."""
    from hook_event import conditional_template

    response = stack_answer_within_budget(code, tmp_path, conditional_template(shape, user, 500))
    assert response["hookStatus"] == status, response["message"]


def stack_answer_within_budget(code: Path, tmp_path: Path, template: str) -> dict[str, Any]:
    """The packaged hook's answer at the stack layer on ``template``, in the Lambda runtime
    stand-in limited to 1 GiB, checked to come within the hook's budget."""
    from guardrails_ecs_nonrootuser import handlers, stack

    assert len(template.encode()) <= stack.MAX_TEMPLATE_BYTES
    environment = {**RUNTIME_ENVIRONMENT, "SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    with (
        tls_server(Store, tmp_path) as base,
        served(str(RUNTIME_PYTHON), [str(code)], ENTRYPOINT, environment, memory=1 << 30) as url,
    ):
        Store.bodies["/template"] = json.dumps({"template": template}).encode()
        started = time.monotonic()
        response, error = lambda_endpoint.invoke(url, template_event("STACK", f"{base}/template"))
        elapsed = time.monotonic() - started
    assert error is None
    assert elapsed < handlers.BUDGET, elapsed
    assert isinstance(response, dict)
    return response
