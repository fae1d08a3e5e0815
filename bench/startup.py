"""Where the start-up of `ecs-nonroot check` on one small template goes, beside cfn-guard's.

Each command runs on the same one-task-definition template. Two figures per command:

- instructions, counted by valgrind's callgrind: the same for the same binary, inputs and
  environment whatever else the machine is doing, so before and after can be compared;
- the median wall time over alternating runs, so that noise on the machine hits every
  command alike.

The rows below the command itself are its parts, each measured as a process of its own (the
interpreter alone, then with one import more): what importing PyYAML, argparse (and building a
parser), typing and the command's own modules cost. The table is printed and written into
docs/benchmarks.md between its "bench:startup" markers.

    python bench/startup.py --guard PATH [--before SRC] [--runs N]

``--before SRC`` adds a row for the command run from another checkout's ``src`` (to measure a
change); it is printed, not recorded.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import machine, record

HERE = Path(__file__).resolve().parent
TEMPLATE = """\
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - {Name: app, Image: public.ecr.aws/nginx/nginx:1, User: "1000:1000"}
"""
_COLLECTED = re.compile(r"Collected : ([0-9]+)")


def instructions(command: list[str], environment: dict[str, str]) -> int | None:
    """Instructions the process runs, as callgrind counts them; None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [valgrind, "--tool=callgrind", f"--callgrind-out-file={scratch}/out", *command],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
            timeout=600,
        )
    found = _COLLECTED.search(result.stderr)
    return int(found.group(1)) if found else None


def wall_times(
    commands: dict[str, list[str]], environments: dict[str, dict[str, str]], runs: int
) -> dict[str, float]:
    """Median seconds of each command, the commands taken in turn ``runs`` times."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environments[name],
                check=False,
            )
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guard", required=True, help="the cfn-guard binary")
    parser.add_argument("--before", help="another checkout's src directory, to compare")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    python = sys.executable
    plain = dict(os.environ)
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "one.yaml"
        template.write_text(TEMPLATE, encoding="utf-8")
        check = ["-m", "guardrails_ecs_nonrootuser", "check", "--no-config", str(template)]
        commands = {
            "ecs-nonroot check, one template": [python, *check],
            "cfn-guard 3.1.1 validate, one template": [
                args.guard,
                "validate",
                "--rules",
                str(HERE / "nonroot.guard"),
                "--data",
                str(template),
            ],
            "part: python3.12 alone": [python, "-c", "pass"],
            "part: + import re": [python, "-c", "import re"],
            "part: + import typing": [python, "-c", "import typing"],
            "part: + import argparse, build a parser": [
                python,
                "-c",
                "import argparse; argparse.ArgumentParser(prog='x').add_argument('--x')",
            ],
            "part: + import yaml (PyYAML)": [python, "-c", "import yaml"],
            "part: + import the command (no run)": [
                python,
                "-c",
                "import guardrails_ecs_nonrootuser.cli",
            ],
        }
        environments = {name: plain for name in commands}
        if args.before:
            name = "ecs-nonroot check, one template, before"
            commands[name] = [python, *check]
            environments[name] = {**plain, "PYTHONPATH": str(Path(args.before).resolve())}
        counted = {name: instructions(c, environments[name]) for name, c in commands.items()}
        medians = wall_times(commands, environments, args.runs)
    lines = [
        f"Measured on {machine()}; median of {args.runs} alternating runs; instructions "
        "counted by callgrind.",
        "",
        "| Command | Instructions (millions) | Median wall time (ms) |",
        "| --- | ---: | ---: |",
    ]
    rows = {}
    for name in commands:
        count = counted[name]
        shown = "" if count is None else f"{count / 1e6:.1f}"
        rows[name] = f"| {name} | {shown} | {medians[name] * 1000:.1f} |"
    before = rows.pop("ecs-nonroot check, one template, before", None)
    lines += rows.values()
    section = "\n".join(lines) + "\n"
    print(section)
    if before:
        print(before)
    record("startup", section)


if __name__ == "__main__":
    main()
