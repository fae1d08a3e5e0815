"""The command as its users install it: the wheel built from this tree, installed with pip into
fresh virtual environments of Python 3.10 and 3.13 (the command supports 3.10 to 3.13; the venv
the other tests run in is 3.12), its dependency resolved from PyPI within its range; it decides
every fixture exactly as here. And `make release`: the sdist and wheel, built twice from the
same commit, are the same bytes and pass `twine check`."""

import glob
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrails_ecs_nonrootuser import __version__

ROOT = Path(__file__).resolve().parent.parent
RELEASE_VENV = ROOT / ".cache" / "release-venv"
CHECKED = ["tests/fixtures/templates", "tests/fixtures/hostile", "examples"]


def interpreter(version: str) -> str:
    """A working python3.X: a pyenv install or one on PATH (a pyenv shim may not run it)."""
    installed = sorted(
        glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python{version}"))
    )
    for candidate in [*installed, shutil.which(f"python{version}")]:
        if candidate and subprocess.run([candidate, "-c", ""], check=False).returncode == 0:
            return candidate
    raise AssertionError(f"python{version} is needed to test the command on it")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    yield built


CONFIGURATIONS: tuple[list[str], ...] = (
    [],
    ["--config", "deploy/config/enforce.json"],
    ["--config", "tests/fixtures/config-exempting.json"],
)
"""The command's settings: the defaults, the ready configuration, and exemptions of every kind
with the exception tag (which the fixture tests/fixtures/hostile/exemptions.yaml exercises)."""


def check_output(command: str) -> list[tuple[int, str]]:
    outputs = []
    for configuration in CONFIGURATIONS:
        result = subprocess.run(
            [command, "check", *CHECKED, *configuration, "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        outputs.append((result.returncode, result.stdout))
    return outputs


@pytest.mark.parametrize("version", ["3.10", "3.13"])
def test_the_command_installs_and_decides_alike_on(
    version: str, wheel: Path, tmp_path: Path
) -> None:
    environment = tmp_path / "venv"
    subprocess.run([interpreter(version), "-m", "venv", str(environment)], check=True)
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(
        [*pip, "--disable-pip-version-check", str(wheel)], check=True, capture_output=True
    )
    command = str(environment / "bin" / "ecs-nonroot")
    shown = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == f"ecs-nonroot {__version__}"
    here = str(Path(sys.executable).with_name("ecs-nonroot"))
    assert check_output(command) == check_output(here)


def release(directory: Path) -> dict[str, str]:
    """`make release` into ``directory``: file name -> sha256."""
    subprocess.run(
        ["make", "--no-print-directory", "release", f"DIST={directory}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_release_is_reproducible_and_passes_twine_check(tmp_path: Path) -> None:
    assert (RELEASE_VENV / "bin" / "twine").is_file(), "made by make unit"
    first, second = release(tmp_path / "one"), release(tmp_path / "two")
    assert first == second
    assert sorted(first) == [
        f"guardrails_ecs_nonrootuser-{__version__}-py3-none-any.whl",
        f"guardrails_ecs_nonrootuser-{__version__}.tar.gz",
    ]
