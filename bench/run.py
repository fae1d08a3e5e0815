"""Time ecs-nonroot against cfn-guard, cfn-lint and checkov on the same corpus, in one run.

Each tool runs a comparable rule (bench/nonroot.guard, bench/cfn-lint-custom-rules.txt,
bench/checkov/ecs_nonroot.py). For every case the script reports the median wall time over
several runs, the peak memory of the process (its maximum resident set size), and accuracy: how
many task definitions got the verdict expected.json says they must get. The table is printed and
written into docs/benchmarks.md between its "bench:templates" markers.

    python bench/run.py CORPUS_DIR --guard PATH --checkov PATH
"""

import argparse
import json
import os
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from measure import machine, record, timed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
CASES = {
    "1 task definition": ["one.yaml"],
    "typical stack: 20 task definitions": ["typical.yaml"],
    "limits, YAML: 500 resources, 100 task definitions x 10 containers": ["large.yaml"],
    "limits, JSON twin": ["large.json"],
    "one task definition of 40,000 containers, minified JSON (1.3 MB)": ["containers.json"],
    "1,000 templates in a tree": ["tree"],
}
ONLY = {"one task definition of 40,000 containers, minified JSON (1.3 MB)": ("ecs-nonroot",)}
"""Cases only some tools are timed on (the peers take minutes a run there)."""
RESOURCE_PATH = re.compile(r"/Resources/([^/\"]+)")

Flagged = set[tuple[str, str]]


def ecs_nonroot(corpus: Path, data: list[str]) -> tuple[list[str], Callable[[str], Flagged]]:
    def parse(output: str) -> Flagged:
        return {
            (os.path.relpath(f["path"], corpus), t["logicalId"])
            for f in json.loads(output)["files"]
            for t in f["taskDefinitions"]
            if any(finding["level"] == "error" for finding in t["findings"])
        }

    command = [
        str(BIN / "ecs-nonroot"),
        "check",
        *[str(corpus / d) for d in data],
        "--format",
        "json",
    ]
    return command, parse


def cfn_guard(
    guard: str,
) -> Callable[[Path, list[str]], tuple[list[str], Callable[[str], Flagged]]]:
    def tool(corpus: Path, data: list[str]) -> tuple[list[str], Callable[[str], Flagged]]:
        def parse(output: str) -> Flagged:
            flagged = set()
            for document in json.loads(output):
                name = os.path.relpath(document["name"], corpus)
                for path in RESOURCE_PATH.findall(json.dumps(document["not_compliant"])):
                    flagged.add((name, path))
            return flagged

        command = [guard, "validate", "--rules", str(HERE / "nonroot.guard")]
        for item in data:
            command += ["--data", str(corpus / item)]
        return [
            *command,
            "--output-format",
            "json",
            "--structured",
            "--show-summary",
            "none",
        ], parse

    return tool


def cfn_lint(corpus: Path, data: list[str]) -> tuple[list[str], Callable[[str], Flagged]]:
    def parse(output: str) -> Flagged:
        return {
            (os.path.relpath(m["Filename"], corpus), m["Location"]["Path"][1])
            for m in json.loads(output)
            if m["Rule"]["Id"].startswith("E9") and len(m["Location"]["Path"]) > 1
        }

    files = []
    for item in data:
        path = corpus / item
        files += sorted(map(str, path.glob("*.yaml"))) if path.is_dir() else [str(path)]
    command = [str(BIN / "cfn-lint"), "--custom-rules", str(HERE / "cfn-lint-custom-rules.txt")]
    return [*command, "--format", "json", "--", *files], parse


def checkov(binary: str) -> Callable[[Path, list[str]], tuple[list[str], Callable[[str], Flagged]]]:
    def tool(corpus: Path, data: list[str]) -> tuple[list[str], Callable[[str], Flagged]]:
        def parse(output: str) -> Flagged:
            reports = json.loads(output)
            flagged = set()
            for report in reports if isinstance(reports, list) else [reports]:
                for failed in report.get("results", {}).get("failed_checks", []):
                    name = os.path.relpath(corpus / failed["file_path"].lstrip("/"), corpus)
                    flagged.add((name, failed["resource"].rpartition(".")[2]))
            return flagged

        command = [binary, "--framework", "cloudformation", "--quiet", "--compact", "-o", "json"]
        command += [
            "--external-checks-dir",
            str(HERE / "checkov"),
            "--check",
            "CKV_BENCH_ECS_NONROOT",
        ]
        for item in data:
            command += ["--directory" if (corpus / item).is_dir() else "--file", item]
        return command, parse

    return tool


def measure(command: list[str], cwd: Path, runs: int) -> tuple[float, float, str]:
    """Median wall seconds, peak resident memory in MB, and the last run's output."""
    results = [timed(command, cwd) for _ in range(runs)]
    return (
        statistics.median(seconds for seconds, _, _ in results),
        max(peak for _, peak, _ in results),
        results[-1][2],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--guard", required=True)
    parser.add_argument("--checkov", required=True)
    parser.add_argument("--runs", type=int, default=7, help="runs of the fast tools")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of cfn-lint and checkov")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    expected = json.loads((corpus / "expected.json").read_text(encoding="utf-8"))
    tools = {
        "ecs-nonroot": (ecs_nonroot, args.runs),
        "cfn-guard 3.1.1": (cfn_guard(str(Path(args.guard).resolve())), args.runs),
        "cfn-lint (custom rules)": (cfn_lint, args.slow_runs),
        "checkov (custom check)": (checkov(str(Path(args.checkov).resolve())), args.slow_runs),
    }
    rows = []
    floor = {
        "python3.12, interpreter start only": [sys.executable, "-c", "pass"],
        "python3.12, start and import PyYAML and argparse": [
            sys.executable,
            "-c",
            "import yaml, argparse",
        ],
    }
    for name, command in floor.items():
        seconds, peak, _ = measure(command, corpus, args.runs)
        rows.append(f"| floor | {name} | {seconds:.3f} | {peak:.0f} | |")
        print(rows[-1], flush=True)
    for case, data in CASES.items():
        truth = {
            (name, logical_id): verdict
            for name, verdicts in expected.items()
            if any(name == d or name.startswith(d + "/") for d in data)
            for logical_id, verdict in verdicts.items()
        }
        for tool_name, (tool, runs) in tools.items():
            if tool_name not in ONLY.get(case, tools):
                continue
            command, parse = tool(corpus, data)
            seconds, peak, output = measure(command, corpus, runs)
            try:
                flagged = parse(output)
                correct = sum(
                    (key in flagged) == (verdict == "FAIL") for key, verdict in truth.items()
                )
                accuracy = f"{correct}/{len(truth)}"
            except (ValueError, KeyError, TypeError):
                accuracy = "no result"
            rows.append(f"| {case} | {tool_name} | {seconds:.3f} | {peak:.0f} | {accuracy} |")
            print(rows[-1], flush=True)
    table = "\n".join(
        [
            "| Case | Tool | Median wall time (s) | Peak memory (MB) | Correct verdicts |",
            "| --- | --- | ---: | ---: | ---: |",
            *rows,
        ]
    )
    record("templates", f"Measured on {machine()}.\n\n{table}\n")


if __name__ == "__main__":
    main()
