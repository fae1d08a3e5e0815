"""Rewrite the package `cfn submit --dry-run` built: reproducible, with bytecode, naming its build.

cfn writes each zip entry with its file's modification time, in the order a directory walk finds
them, so two builds of one commit differ, and every rollout from a fresh checkout would register
a new hook version. Lambda's code directory is read-only, so modules shipped without bytecode
are compiled again at every cold start. This rewrites the package in place:

- the Lambda code (ResourceProvider.zip) loses compiled extension modules (PyYAML's libyaml
  binding, see requirements.txt), so it runs on either Lambda architecture, and the command's
  own modules (``COMMAND_ONLY``: the command line, its report formats, the audit, the cfn-lint
  rule, the Docker credentials), which the hook never imports; it gains bytecode
  for every module, compiled by this interpreter (python3.12, the runtime's) in unchecked-hash
  mode, which stays valid whatever the files' timestamps after unzipping, with the file names
  Lambda reports (/var/task/...); and
  ``guardrails_ecs_nonrootuser/BUILD.json`` with the version and the commit it was built from;
- both zips list their entries in name order, every entry dated SOURCE_DATE_EPOCH (the commit's
  time when unset), with fixed permissions and compression.

So the same commit gives the same bytes in any clone.

    python scripts/repack.py guardrails-ecs-nonrootuser.zip [--commit SHA] [--epoch SECONDS]
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import py_compile
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CODE = "ResourceProvider.zip"
PACKAGE_DIRECTORY = "guardrails_ecs_nonrootuser"
LAMBDA_ROOT = "/var/task"
COMMAND_ONLY = frozenset(
    f"{PACKAGE_DIRECTORY}/{module}.py"
    for module in (
        "__main__",
        "cli",
        "report",
        "audit",
        "audit_report",
        "security_hub",
        "cfn_lint_rule",
        "docker_config",
    )
)
"""The modules of the ecs-nonroot command that the hook does not import: not shipped."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--commit", help="default: git rev-parse HEAD (-dirty if files differ)")
    parser.add_argument(
        "--epoch", type=int, help="default: SOURCE_DATE_EPOCH, or the commit's time"
    )
    args = parser.parse_args(argv)
    commit = args.commit or _git("rev-parse", "HEAD")
    if not args.commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"  # built from files the commit does not hold
    epoch = args.epoch if args.epoch is not None else _epoch()
    outer = _files(args.package.read_bytes())
    code = _with_bytecode(_portable(_files(outer[CODE])))
    code[f"{PACKAGE_DIRECTORY}/BUILD.json"] = _build(code, commit, epoch)
    outer[CODE] = _zip(code, epoch)
    args.package.write_bytes(_zip(outer, epoch))


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def _epoch() -> int:
    given = os.environ.get("SOURCE_DATE_EPOCH")
    return int(given) if given else int(_git("log", "-1", "--format=%ct"))


def _files(data: bytes) -> dict[str, bytes]:
    """A zip's files (not its directory entries), by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            entry.filename: archive.read(entry)
            for entry in archive.infolist()
            if not entry.is_dir()
        }


def _portable(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` without native code (extension modules, and PyYAML's shim that imports one)
    and without the command's own modules."""
    return {
        name: data
        for name, data in files.items()
        if not name.endswith(".so") and not name.startswith("_yaml/") and name not in COMMAND_ONLY
    }


def _with_bytecode(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` and the bytecode of each of their modules, as Lambda would find it."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, data in files.items():
            if name.endswith(".py"):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(data)
        compiled = compileall.compile_dir(
            root,
            ddir=LAMBDA_ROOT,
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not compiled:
            sys.exit("repack: a module of the package does not compile")
        bytecode = {
            path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*.pyc")
        }
    return {**files, **bytecode}


def _build(code: dict[str, bytes], commit: str, epoch: int) -> bytes:
    init = code[f"{PACKAGE_DIRECTORY}/__init__.py"].decode("utf-8")
    version = re.search(r'^__version__ = "([^"]+)"', init, re.M)
    if version is None:
        sys.exit("repack: no __version__ in the package")
    build = {
        "version": version.group(1),
        "commit": commit,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
    }
    return (json.dumps(build, indent=2) + "\n").encode("utf-8")


def _zip(files: dict[str, bytes], epoch: int) -> bytes:
    """``files`` as a zip that depends on nothing but them and ``epoch``."""
    stamp = time.gmtime(max(epoch, 315532800))[:6]  # zip dates start in 1980
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o100644 << 16
            entry.create_system = 3  # Unix, so the permissions above are read
            archive.writestr(entry, files[name], compresslevel=9)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
