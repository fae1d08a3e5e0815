"""What the hook costs on top of the CloudFormation library, measured on the packaged code.

Run by `make bench-hook` with the Lambda runtime stand-in (.lambda-runtime: the standard library
and boto3) and the Lambda code of the package as built (ResourceProvider.zip, bytecode included,
unpacked) first on the path, bytecode writing off, as on Lambda:

- per invocation, median and p99 through the real entrypoint (handlers.hook), for a task
  definition of 1 and of 10 containers with large environments, with the caller's credentials
  as CloudFormation sends them; next to the floor (the policy alone) and to the library's default
  cost (a hook on the same library that answers SUCCESS at once, given the same event);
- cold start: importing the entrypoint in a fresh interpreter, next to importing the library,
  and what the first stack or change-set invocation adds (importing the template reader);
- the stack target on the largest templates CloudFormation takes (1 MB, YAML with short-form
  tags and JSON), through the entrypoint with the template in the request;
- peak memory of those fresh interpreters, and the package size.

The table is printed and written into docs/benchmarks.md between its "bench:hook" markers.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "guardrails-ecs-nonrootuser.zip"


def per_call(functions: dict[str, Callable[[], Any]], calls: int) -> dict[str, tuple[float, float]]:
    """Median and p99 microseconds of each function, called in turn so drift hits all alike."""
    for function in functions.values():
        for _ in range(min(calls, 200)):
            function()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(calls):
        for name, function in functions.items():
            start = time.perf_counter_ns()
            function()
            samples[name].append((time.perf_counter_ns() - start) / 1000)
    return {
        name: (statistics.median(values), sorted(values)[int(len(values) * 0.99) - 1])
        for name, values in samples.items()
    }


def own_import_ms(code: Path) -> float:
    """Milliseconds the hook's own modules take to import (-X importtime, summed self times)."""
    command = [
        sys.executable,
        "-I",
        "-B",
        "-X",
        "importtime",
        "-c",
        f"import sys; sys.path.insert(0, {str(code)!r}); "
        "import guardrails_ecs_nonrootuser.handlers",
    ]
    lines = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    ours = {"guardrails_ecs_nonrootuser"} | {
        f"guardrails_ecs_nonrootuser.{name}" for name in ("handlers", "policy", "models", "remote")
    }
    return sum(
        int(line.split("|")[0].split(":")[1]) / 1000
        for line in lines.splitlines()
        if line.count("|") == 2 and line.split("|")[2].strip() in ours
    )


def fresh(code: str) -> tuple[float, float]:
    """Wall milliseconds and peak MB of one fresh interpreter running ``code``."""
    from measure import timed

    seconds, peak, _ = timed([sys.executable, "-I", "-B", "-c", code])
    return seconds * 1000, peak


def cold_starts(first: str, second: str, runs: int) -> dict[str, float]:
    """Medians for both, and the median of their paired differences (pairs cancel drift)."""
    pairs = [(fresh(first), fresh(second)) for _ in range(runs)]
    return {
        "first_ms": statistics.median(a[0] for a, _ in pairs),
        "second_ms": statistics.median(b[0] for _, b in pairs),
        "difference_ms": statistics.median(b[0] - a[0] for a, b in pairs),
        "first_mb": max(a[1] for a, _ in pairs),
        "second_mb": max(b[1] for _, b in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=41)
    args = parser.parse_args()
    unpacked_into = tempfile.TemporaryDirectory()
    code = Path(unpacked_into.name)
    with zipfile.ZipFile(PACKAGE) as outer, outer.open("ResourceProvider.zip") as inner:
        zipfile.ZipFile(inner).extractall(code)
    sys.path[:0] = [str(code), str(ROOT / "tests"), str(ROOT / "scripts"), str(ROOT / "bench")]
    from hook_event import big_template, hook_event, task_definition, template_event
    from measure import machine, record
    from permissive_hook import hook as library_only

    from guardrails_ecs_nonrootuser import handlers
    from guardrails_ecs_nonrootuser.policy import Settings, evaluate

    rows = []
    ours_over_library = []
    share_of_library = []
    for containers in (1, 10):
        properties = task_definition(*["1000:1000"] * containers)
        for container in properties["ContainerDefinitions"]:
            container["Environment"] = [
                {"Name": f"SETTING_{n}", "Value": "v" * 200} for n in range(100)
            ]
        event = hook_event(properties, {"ExemptImages": ["*fluent-bit*"]})
        settings = Settings.from_mapping({"ExemptImages": ["*fluent-bit*"]})
        measured = per_call(
            {
                "policy alone (floor)": partial(evaluate, properties, settings),
                "library only (SUCCESS at once)": partial(library_only, event, None),
                "hook (handlers.hook)": partial(handlers.hook, event, None),
            },
            args.calls,
        )
        for name, (median, p99) in measured.items():
            rows.append(
                f"| {containers} container(s), 100 variables each | {name} | "
                f"{median:.1f} | {p99:.1f} |"
            )
        library = measured["library only (SUCCESS at once)"][0]
        ours_over_library.append((measured["hook (handlers.hook)"][0] - library) / library * 100)
        share_of_library.append(measured["hook (handlers.hook)"][0] / library)
    path = f"import sys; sys.path.insert(0, {str(code)!r}); "
    cold = cold_starts(
        path + "import cloudformation_cli_python_lib",
        path + "import guardrails_ecs_nonrootuser.handlers",
        args.runs,
    )
    reader = cold_starts(
        path + "import guardrails_ecs_nonrootuser.handlers",
        path + "import guardrails_ecs_nonrootuser.handlers, guardrails_ecs_nonrootuser.stack",
        args.runs,
    )
    stack_rows = []
    for form in ("yaml", "json"):
        template = big_template(1_000_000, form == "yaml")
        event = template_event("STACK", "https://unused.example")
        event["requestData"].update(targetModel={"template": template}, payload=None)
        seconds = []
        for _ in range(5):
            start = time.perf_counter()
            handlers.hook(event, None)
            seconds.append(time.perf_counter() - start)
        stack_rows.append(
            f"| Stack target, a {len(template.encode()):,}-byte {form.upper()} template "
            f"(s; median / max of 5) | | {statistics.median(seconds):.2f} / "
            f"{max(seconds):.2f} | |"
        )
    with zipfile.ZipFile(PACKAGE) as outer, outer.open("ResourceProvider.zip") as inner:
        unpacked = sum(e.file_size for e in zipfile.ZipFile(inner).infolist())
    section = "\n".join(
        [
            f"Measured on {machine()}, in the Lambda runtime stand-in with the packaged code.",
            "",
            "| Task definition | Code | Median (µs) | p99 (µs) |",
            "| --- | --- | ---: | ---: |",
            *rows,
            "",
            "| Measure | Library alone | With the hook | Difference |",
            "| --- | ---: | ---: | ---: |",
            "| Per invocation, 1 / 10 containers | | | "
            + " / ".join(f"{p:+.1f}%" for p in ours_over_library)
            + " |",
            "| Per invocation, the hook's cost as a share of the library's default (goal: at "
            "most 1/7 = 0.143), 1 / 10 containers | | "
            + " / ".join(f"{share:.3f}" for share in share_of_library)
            + " | |",
            f"| Cold start: import in a fresh interpreter (ms; difference: median of {args.runs} "
            f"paired runs) | {cold['first_ms']:.1f} | {cold['second_ms']:.1f} | "
            f"{cold['difference_ms']:+.1f} |",
            f"| Cold start: the hook's own modules, summed import self-times (ms) | | "
            f"{own_import_ms(code):.1f} | |",
            f"| Peak memory of that interpreter (MB) | {cold['first_mb']:.1f} | "
            f"{cold['second_mb']:.1f} | {cold['second_mb'] - cold['first_mb']:+.1f} |",
            f"| First stack or change-set invocation: importing the template reader (ms; "
            f"median of {args.runs} paired runs) | | | {reader['difference_ms']:+.1f} |",
            *stack_rows,
            f"| Package: zip / Lambda code unpacked (bytes) | | {PACKAGE.stat().st_size:,} / "
            f"{unpacked:,} | |",
            "",
        ]
    )
    print(section)
    record("hook", section)
    unpacked_into.cleanup()


if __name__ == "__main__":
    main()
