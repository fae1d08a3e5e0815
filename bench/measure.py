"""What the benchmarks share: timing a process with its peak memory, and recording results in
docs/benchmarks.md between that benchmark's markers."""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"


def record(marker: str, section: str) -> None:
    """Replace what stands between <!-- bench:MARKER --> and <!-- /bench:MARKER -->."""
    begin, end = f"<!-- bench:{marker} -->\n", f"<!-- /bench:{marker} -->"
    head, found, rest = DOCUMENT.read_text(encoding="utf-8").partition(begin)
    if not found:
        raise SystemExit(f"{DOCUMENT} has no {begin.strip()} marker")
    _, _, tail = rest.partition(end)
    DOCUMENT.write_text(head + begin + section + end + tail, encoding="utf-8")
    print(f"\nwritten to {DOCUMENT}")


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory (MB) and standard output of one run of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # wait4 also reports the peak memory
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return elapsed, usage.ru_maxrss / 1024, output


_LAUNCH = """import os, sys
report = int(sys.argv[1])
child = os.fork()
if child == 0:
    os.close(report)
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(child, 0)
os.write(report, f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_of(
    command: list[str], env: dict[str, str], stdout: Any
) -> tuple[float, float, float, int, str]:
    """Wall seconds, peak resident memory (MB), CPU seconds, exit code and standard error of
    ``command``, started by a small launcher: a process forked from a large one (a benchmark
    holding moto) would report the large one's memory as its own peak (Linux keeps it across
    exec)."""
    read, write = os.pipe()
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-S", "-c", _LAUNCH, str(write), *command],
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(write,),
    )
    os.close(write)
    _, error = process.communicate()
    elapsed = time.perf_counter() - start
    with os.fdopen(read) as measured:
        kilobytes, cpu = measured.read().split()
    return elapsed, int(kilobytes) / 1024, float(cpu), process.returncode, error
