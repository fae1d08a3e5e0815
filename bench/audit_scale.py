"""`ecs-nonroot audit` at organization scale: wall time and peak memory of both sources.

Run by `make bench-audit`: one fleet of ACCOUNTS accounts with PER_ACCOUNT task definition
revisions each (two containers, a quarter of them root, a quarter with no User; a service in each
account deploys the first revision) is

- registered in moto's server on 127.0.0.1, which the roles source reads through a proxy that
  adds LATENCY milliseconds to every call (AWS answers in tens of milliseconds; moto in one or
  two), assuming the audit role in each account;
- given as configuration items to the stand-in of AWS Config's aggregator
  (scripts/config_standin.py), which answers every page after PAGE_LATENCY milliseconds.

Each source's audit runs as the command runs (a process, JSON written to a file), at the full
size and at a tenth of it: peak memory that does not grow with the number of task definitions
is what "streaming" means here. The table is printed and, with --record, written into
docs/benchmarks.md between its "bench:audit" markers.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import logging
import os
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "bench")]

from config_standin import ConfigAggregator  # noqa: E402
from measure import machine, peak_of, record  # noqa: E402

REGION = "eu-west-1"
ROLE = "NonRootAudit"
AGGREGATOR = "organization"
USERS = ("1000:1000", "0", None, "app")  # compliant, root, missing, a name (passes by default)


class Latency(http.server.BaseHTTPRequestHandler):
    """Forwards to moto after ``delay`` seconds."""

    upstream = ""
    delay = 0.0
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        host, port = self.upstream.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        connection.request("POST", self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status)
        self.send_header("Content-Type", response.getheader("Content-Type", ""))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()


def account_ids(count: int) -> list[str]:
    return [f"{100000000000 + n:012d}" for n in range(1, count + 1)]


def containers(n: int) -> list[dict[str, Any]]:
    """Two containers, the second's User one of USERS in turn."""
    user = USERS[n % len(USERS)]
    second = {"Name": "worker", "Image": f"registry.example/worker:{n}"}
    return [
        {"Name": "web", "Image": "registry.example/web:1", "User": "1000"},
        {**second, "User": user} if user is not None else second,
    ]


def seed_moto(endpoint: str, accounts: list[str], per_account: int) -> None:
    """Every account's task definitions and service, registered in parallel."""
    import boto3

    base = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    sts = base.client("sts", endpoint_url=endpoint)

    def seed(account: str) -> None:
        role = f"arn:aws:iam::{account}:role/{ROLE}"
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="seed")["Credentials"]
        ecs = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        ).client("ecs", endpoint_url=endpoint)
        ecs.create_cluster(clusterName="main")
        for n in range(per_account):
            written = [
                {"name": c["Name"], "image": c["Image"], "memory": 64}
                | ({"user": c["User"]} if "User" in c else {})
                for c in containers(n)
            ]
            ecs.register_task_definition(family="app", containerDefinitions=written)
        arn = f"arn:aws:ecs:{REGION}:{account}:task-definition/app:1"
        ecs.create_service(cluster="main", serviceName="web", taskDefinition=arn, desiredCount=0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(seed, accounts))


def config_items(accounts: list[str], per_account: int) -> Any:
    """The same fleet as AWS Config records it (a generator: the stand-in reads it once)."""

    def items() -> Any:
        for account in accounts:
            for n in range(per_account):
                arn = f"arn:aws:ecs:{REGION}:{account}:task-definition/app:{n + 1}"
                yield {
                    "accountId": account,
                    "awsRegion": REGION,
                    "resourceType": "AWS::ECS::TaskDefinition",
                    "arn": arn,
                    "configurationItemStatus": "OK",
                    "configuration": {
                        "Family": "app",
                        "TaskDefinitionArn": arn,
                        "Status": "ACTIVE",
                        "ContainerDefinitions": containers(n),
                    },
                }
            yield {
                "accountId": account,
                "awsRegion": REGION,
                "resourceType": "AWS::ECS::Service",
                "configurationItemStatus": "OK",
                "configuration": {
                    "TaskDefinition": f"arn:aws:ecs:{REGION}:{account}:task-definition/app:1"
                },
            }

    return items


def run_audit(
    arguments: list[str], env: dict[str, str], out: Path
) -> tuple[float, float, float, Any]:
    """Wall seconds, peak resident memory (MB), CPU seconds and the JSON report of one audit."""
    command = [str(Path(sys.executable).with_name("ecs-nonroot")), "audit", "--format", "json"]
    with out.open("w") as written:
        seconds, peak, cpu, code, error = peak_of([*command, *arguments], env, written)
    assert code == 1, f"exit {code}: {error}"
    return seconds, peak, cpu, json.loads(out.read_text())


def measure(
    accounts: int, per_account: int, latency: float, page_latency: float, jobs: int
) -> list[tuple[str, int, int, float, float, float]]:
    """(source, accounts, task definitions, seconds, peak MB, CPU seconds) for each source and
    size."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rows = []
    for size in (max(1, accounts // 10), accounts):
        ids = account_ids(size)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        seed_moto(endpoint, ids, per_account)
        Latency.upstream, Latency.delay = endpoint, latency
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Latency)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": tempfile.gettempdir(),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.server_port}",
        }
        total = size * per_account
        with tempfile.TemporaryDirectory() as work:
            out = Path(work) / "report.json"
            roles = ["--region", REGION, "--accounts", ",".join(ids), "--role", ROLE]
            seconds, peak, cpu, report = run_audit([*roles, "--jobs", str(jobs)], env, out)
            assert report["summary"]["taskDefinitions"] == total, report["summary"]
            rows.append(("roles", size, total, seconds, peak, cpu))
            standin = ConfigAggregator(AGGREGATOR, config_items(ids, per_account), page_latency)
            with standin:
                config_env = {**env, "AWS_ENDPOINT_URL_CONFIG_SERVICE": standin.endpoint}
                config = ["--source", "config", "--aggregator", AGGREGATOR]
                seconds, peak, cpu, report = run_audit(config, config_env, out)
            assert report["summary"]["taskDefinitions"] == total, report["summary"]
            assert report["summary"]["taskDefinitionsInUse"] == size, report["summary"]
            rows.append(("config", size, total, seconds, peak, cpu))
        proxy.shutdown()
        proxy.server_close()
        moto.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--per-account", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--page-latency-ms", type=float, default=300)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    rows = measure(
        args.accounts,
        args.per_account,
        args.latency_ms / 1000,
        args.page_latency_ms / 1000,
        args.jobs,
    )
    lines = [
        f"Measured on {machine()}: each AWS call {args.latency_ms:g} ms (moto behind a delaying "
        f"proxy), each aggregator page {args.page_latency_ms:g} ms (the stand-in), "
        f"`--jobs {args.jobs}`, one Region.",
        "",
        "| Source | Accounts | Task definitions | Wall time (s) | Audit's CPU (s) "
        "| Peak memory (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {source} | {accounts} | {total:,} | {seconds:.1f} | {cpu:.1f} | {peak:.0f} |"
            for source, accounts, total, seconds, peak, cpu in sorted(rows)
        ),
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.record:
        record("audit", section)


if __name__ == "__main__":
    main()
