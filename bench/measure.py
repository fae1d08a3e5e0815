"""What the benchmarks share: timing a process with its peak memory, and recording results in
docs/benchmarks.md between that benchmark's markers."""

import os
import platform
import subprocess
import time
from pathlib import Path

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
