"""Run the CloudFormation CLI's contract suite (`cfn test`, unmodified) against the hook, offline.

`cfn test` invokes the hook through the Lambda Invoke API; `sam local start-lambda` would serve
that from Docker. Here lambda_endpoint.py serves it on 127.0.0.1 from the package that
`cfn submit --dry-run` built (build/), run by Lambda's runtime interface client (awslambdaric) on
the interpreter that stands in for the Lambda runtime.
`cfn test` sends every target its schema names as a RESOURCE target with a model from inputs/:
it runs in a scratch copy of the project whose schema names only AWS::ECS::TaskDefinition (the
stack and change-set targets are exercised through the same entrypoint by tests/test_stack.py).
`cfn test` also calls AWS STS (GetSessionToken, GetCallerIdentity on a fixed public endpoint);
moto's mock_aws serves those in this process. An audit hook refuses any connection that would
leave the machine.

    python tests/run_contract.py              the hook must pass every contract test
    python tests/run_contract.py --permissive negative control: a hook that lets everything
                                              through must fail exactly the FAILED-expecting tests
                                              (its expected failures go to a log, shown only if
                                              the control does not fail as it must)
"""

import argparse
import collections
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lambda_endpoint import allow_loopback_only, served
from moto import mock_aws
from rpdk.core import cli

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNTIME_PYTHON = ROOT / ".lambda-runtime" / "bin" / "python"
TYPE_CONFIGURATION = ROOT / "inputs" / "type-configuration.json"
ENTRYPOINT = json.loads((ROOT / ".rpdk-config").read_text(encoding="utf-8"))["entrypoint"]
SCHEMA = "guardrails-ecs-nonrootuser.json"
REGION = "us-east-1"
# Contract tests that expect SUCCESS and FAILED for each input set; a permissive hook must fail
# exactly the FAILED-expecting ones, once per set.
SUCCESS_EXPECTING = {"contract_pre_create_success", "contract_pre_update_success"}
FAILED_EXPECTING = {"contract_pre_create_failed", "contract_pre_update_failed"}


def resource_targets_project(scratch: Path) -> Path:
    """A copy of the project whose schema's handlers name resource targets only."""
    project = scratch / "project"
    project.mkdir()
    (project / ".rpdk-config").write_bytes((ROOT / ".rpdk-config").read_bytes())
    for shared in ("inputs", "target-schemas"):
        (project / shared).symlink_to(ROOT / shared)
    schema = json.loads((ROOT / SCHEMA).read_text(encoding="utf-8"))
    for handler in schema["handlers"].values():
        handler["targetNames"] = [t for t in handler["targetNames"] if t.startswith("AWS::")]
    (project / SCHEMA).write_text(json.dumps(schema, indent=4), encoding="utf-8")
    return project


def run_cfn_test(endpoint: str, report: Path) -> int:
    """`cfn test` against ``endpoint`` with STS mocked; its exit status."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        CONTRACT_REPORT=str(report),
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    sys.path.insert(0, str(HERE))  # for `-p contract_report` inside cfn test's pytest runs
    arguments = ["test", "--endpoint", endpoint, "--region", REGION]
    arguments += ["--typeconfig", str(TYPE_CONFIGURATION), "--", "-p", "contract_report"]
    with mock_aws():
        try:
            cli.main(arguments)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 1
    return 0


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Standard output and error of this process and its children go to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def outcomes(report: Path) -> collections.Counter[tuple[str, str]]:
    """How often each (contract test, outcome) pair occurred over all input sets."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in report.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        counts[record["test"].rpartition("::")[2], record["outcome"]] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permissive", action="store_true", help="run the negative control")
    parser.add_argument("--code", type=Path, default=ROOT / "build", help="built package")
    args = parser.parse_args()
    sys.addaudithook(allow_loopback_only)
    sets = len({path.name.split("_")[1] for path in (ROOT / "inputs").glob("inputs_*.json")})
    code_dirs, entrypoint = [args.code], ENTRYPOINT
    if args.permissive:
        code_dirs, entrypoint = [HERE, args.code], "permissive_hook.hook"
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(resource_targets_project(Path(scratch)))
        report = Path(scratch) / "report.jsonl"
        report.touch()
        log = ROOT / ".cache" / "negative-control.log"
        with (
            served(str(RUNTIME_PYTHON), [str(d) for d in code_dirs], entrypoint) as endpoint,
            _output_to(log) if args.permissive else contextlib.nullcontext(),
        ):
            status = run_cfn_test(endpoint, report)
        counts = outcomes(report)
    summary = ", ".join(f"{test} {outcome}: {n}" for (test, outcome), n in sorted(counts.items()))
    print(f"\ncfn test over {sets} input sets against {entrypoint} exited {status}. {summary}")
    failures = {test: n for (test, outcome), n in counts.items() if outcome == "failed"}
    passing = SUCCESS_EXPECTING if args.permissive else SUCCESS_EXPECTING | FAILED_EXPECTING
    # cfn test stops after the first input set with a failure: the negative control runs one.
    runs = 1 if args.permissive else sets
    expected = all(counts[test, "passed"] == runs for test in passing)
    if args.permissive:
        expected = expected and status != 0 and failures == dict.fromkeys(FAILED_EXPECTING, runs)
        verdict = (
            f"negative control failed as it must ({log.relative_to(ROOT)} has its output)"
            if expected
            else "NEGATIVE CONTROL BROKEN:\n" + log.read_text(encoding="utf-8", errors="replace")
        )
    else:
        expected = expected and status == 0 and not failures
        verdict = "contract suite passed" if expected else "CONTRACT SUITE FAILED"
    print(verdict)
    return 0 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
