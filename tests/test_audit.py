"""`ecs-nonroot audit` against moto's server on 127.0.0.1: two accounts reached by assuming a
role, an organization's account list, task definitions active, inactive and in use (by a service
and by a running task), stacks with parameter values, an account whose role cannot be assumed,
and throttling.

moto assumes any role and never throttles; a small proxy in front of it (``Faults``) refuses
AssumeRole into one account with AccessDenied and answers the first ListTaskDefinitions calls
with ThrottlingException and the first BatchImportFindings calls with TooManyRequestsException,
as STS, ECS and Security Hub answer those (documented error codes); it answers Security Hub's
BatchUpdateFindings, which moto does not model, as processed and keeps the request; it forwards
everything else."""

import http.client
import http.server
import io
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audit_demo import CALLER, MEMBER, REGION, ROLE, STACK_TEMPLATE, deploy, session
from iam_policy import allows, policy
from moto.server import ThreadedMotoServer

LOCKED = "222222222222"


_REST_ACTIONS = {"/findings/import": "BatchImportFindings", "/findings": "GetFindings"}
"""Security Hub's operations (REST) by path."""


class Faults(http.server.BaseHTTPRequestHandler):
    """Forwards to moto, except for the faults it is set to answer."""

    upstream = ""
    throttle_left = 0
    throttle_imports = 0
    deny_templates = False
    seen: list[str] = []  # noqa: RUF012 - the calls (service:Action) it saw, in order
    workflow: list[dict[str, Any]] = []  # noqa: RUF012 - BatchUpdateFindings' requests

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        action = (
            target.rpartition(".")[2]
            or _REST_ACTIONS.get(self.path)
            or dict(item.split("=", 1) for item in body.decode().split("&") if "=" in item).get(
                "Action", ""
            )
        )
        scope = self.headers.get("Authorization", "").split("Credential=")[-1].split("/")
        Faults.seen.append(f"{scope[3] if len(scope) > 3 else '?'}:{action}")
        if action == "AssumeRole" and LOCKED in urllib.parse.unquote(body.decode()):
            denied = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            denied += b"<Message>denied</Message></Error></ErrorResponse>"
            self.reply(403, denied, "text/xml")
        elif action == "GetTemplate" and Faults.deny_templates:
            denied = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            self.reply(403, denied + b"<Message>no</Message></Error></ErrorResponse>", "text/xml")
        elif self.path == "/findings/import" and Faults.throttle_imports > 0:
            Faults.throttle_imports -= 1
            self.send_response(429)
            self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        elif action == "ListTaskDefinitions" and Faults.throttle_left > 0:
            Faults.throttle_left -= 1
            throttled = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            self.reply(400, json.dumps(throttled).encode(), "application/x-amz-json-1.1")
        else:
            self.forward(body)

    def do_PATCH(self) -> None:
        """BatchUpdateFindings, which moto does not model: kept, and answered as processed."""
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        assert self.path == "/findings/batchupdate", self.path
        Faults.seen.append("securityhub:BatchUpdateFindings")
        Faults.workflow.append(body)
        answer = {"ProcessedFindings": body["FindingIdentifiers"], "UnprocessedFindings": []}
        self.reply(200, json.dumps(answer).encode(), "application/json")

    def forward(self, body: bytes) -> None:
        host, port = self.upstream.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        connection.request("POST", self.path, body=body, headers=headers)
        response = connection.getresponse()
        self.reply(response.status, response.read(), response.getheader("Content-Type", ""))
        connection.close()

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[dict[str, str]]:
    """moto's server behind the fault proxy, both on loopback; an environment that uses them."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    Faults.upstream = f"http://{host}:{port}"
    request = urllib.request.Request(f"{Faults.upstream}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    Faults.throttle_left, Faults.seen, Faults.deny_templates = 0, [], False
    Faults.throttle_imports, Faults.workflow = 0, []
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Faults)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.server_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "",  # the audit's own retry settings apply
    }
    try:
        yield env
    finally:
        proxy.shutdown()
        proxy.server_close()
        moto.stop()


def run_audit(env: dict[str, str], *arguments: str) -> tuple[int, Any, str]:
    command = [str(Path(sys.executable).with_name("ecs-nonroot")), "audit", "--format", "json"]
    result = subprocess.run(
        [*command, *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    document = json.loads(result.stdout) if result.stdout.strip() else None
    return result.returncode, document, result.stderr


def path(item: dict[str, Any]) -> str:
    base = f"aws://{item['account']}/{item['region']}"
    if item["kind"] == "stack":
        return f"{base}/stack/{item['stack']}"
    return f"{base}/task-definition/{item['family']}:{item['revision']}"


def verdicts(document: Any) -> dict[str, str]:
    """Path -> FAIL or PASS, or error when it could not be read. The task definition the stack
    created (moto names its family task-definition-NNNNNN) is "stack's"."""
    found = {}
    for item in document["items"]:
        where = re.sub(r"/task-definition-[0-9]+:", "/stack's:", path(item))
        found[where] = "error" if item["verdict"] == "ERROR" else item["verdict"]
    return found


def expected(account: str, *, in_use: bool = False) -> dict[str, str]:
    base = f"aws://{account}/{REGION}"
    found = {
        f"{base}/task-definition/served:1": "FAIL",
        f"{base}/task-definition/ran:1": "PASS",
        f"{base}/stack/workers": "FAIL",  # WorkerUser is 0 in the stack, 1000 by default
    }
    if not in_use:  # the stack's task definition, as deployed (User 0), used by nothing
        found[f"{base}/task-definition/stack's:1"] = "FAIL"
    if not in_use:
        found[f"{base}/task-definition/unused:1"] = "FAIL"
    return found


def test_the_callers_account_every_active_task_definition_and_stack(aws: dict[str, str]) -> None:
    deploy(aws, CALLER)
    code, document, stderr = run_audit(aws, "--region", REGION)
    assert code == 1, stderr
    assert verdicts(document) == expected(CALLER)


def test_in_use_only_what_services_and_running_tasks_use(aws: dict[str, str]) -> None:
    deploy(aws, CALLER)
    code, document, _ = run_audit(aws, "--region", REGION, "--in-use")
    assert code == 1
    assert verdicts(document) == expected(CALLER, in_use=True)


def test_the_policy_configuration_applies(aws: dict[str, str]) -> None:
    deploy(aws, CALLER)
    code, document, _ = run_audit(
        aws, "--region", REGION, "--in-use", "--exempt-container-name", "*p*"
    )
    assert code == 1  # the stack's container is "worker", not exempt
    found = verdicts(document)
    assert found[f"aws://{CALLER}/{REGION}/task-definition/served:1"] == "PASS"
    assert found[f"aws://{CALLER}/{REGION}/stack/workers"] == "FAIL"


def test_the_configuration_file_in_the_working_directory_applies(aws: dict[str, str]) -> None:
    deploy(aws, CALLER)
    Path(".ecs-nonroot.json").write_text('{"ExemptContainerNames": ["*p*"]}', encoding="utf-8")
    code, document, _ = run_audit(aws, "--region", REGION, "--in-use")
    assert (code, document["config"]) == (1, ".ecs-nonroot.json")
    assert verdicts(document)[f"aws://{CALLER}/{REGION}/task-definition/served:1"] == "PASS"
    code, document, _ = run_audit(aws, "--region", REGION, "--in-use", "--no-config")
    assert (code, document["config"]) == (1, None)
    assert verdicts(document)[f"aws://{CALLER}/{REGION}/task-definition/served:1"] == "FAIL"


def test_accounts_by_role_with_one_unreadable_keep_the_rest_and_say_so(
    aws: dict[str, str],
) -> None:
    deploy(aws, CALLER)
    deploy(aws, MEMBER)
    accounts = f"{CALLER},{MEMBER},{LOCKED}"
    code, document, _ = run_audit(aws, "--region", REGION, "--accounts", accounts, "--role", ROLE)
    assert code == 3  # partial: one account could not be read
    assert verdicts(document) == {**expected(CALLER), **expected(MEMBER)}
    assert document["unreadable"] == [
        {"account": LOCKED, "region": REGION, "reason": "cannot be read: AssumeRole: AccessDenied"}
    ]
    summary = document["summary"]
    read = (summary["accounts"], summary["accountsRead"], summary["accountsUnreadable"])
    assert read == (3, 2, 1)
    assert Faults.seen.count("sts:AssumeRole") >= 2


def test_the_organizations_accounts(aws: dict[str, str]) -> None:
    organizations = session(aws).client("organizations", endpoint_url=aws["AWS_ENDPOINT_URL"])
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(AccountName="member", Email="m@example.com")
    account = member["CreateAccountStatus"]["AccountId"]
    deploy(aws, account)
    code, document, _ = run_audit(aws, "--region", REGION, "--organization", "--role", ROLE)
    assert code == 1
    assert verdicts(document) == expected(account)  # the caller's (management) account: empty


def test_throttled_calls_are_retried(aws: dict[str, str]) -> None:
    deploy(aws, CALLER)
    Faults.throttle_left = 2
    code, document, _ = run_audit(aws, "--region", REGION)
    assert code == 1
    assert verdicts(document) == expected(CALLER)
    assert Faults.seen.count("ecs:ListTaskDefinitions") == 3


def test_without_a_region_it_says_so(aws: dict[str, str]) -> None:
    env = {k: v for k, v in aws.items() if k != "AWS_DEFAULT_REGION"}
    code, document, stderr = run_audit(env)
    assert (code, document) == (2, None)
    assert "no Region" in stderr


def test_every_call_is_allowed_by_the_audit_policies(aws: dict[str, str]) -> None:
    """The operator's policy allows every call; the member role every call made in a member
    account (all but STS, Organizations and AWS Config's aggregator): with the config source
    and with --to-security-hub too."""
    from config_standin import ConfigAggregator

    deploy(aws, MEMBER)
    organizations = session(aws).client("organizations", endpoint_url=aws["AWS_ENDPOINT_URL"])
    organizations.create_organization(FeatureSet="ALL")
    Faults.seen = []
    accounts = ["--accounts", f"{CALLER},{MEMBER}", "--role", ROLE]
    run_audit(aws, "--region", REGION, "--in-use", *accounts, "--to-security-hub")
    run_audit(aws, "--region", REGION, "--organization", "--role", ROLE)
    with ConfigAggregator("org", []) as standin:
        env = {**aws, "AWS_ENDPOINT_URL_CONFIG_SERVICE": standin.endpoint}
        run_audit(env, "--source", "config", "--aggregator", "org")
        assert standin.requests
    calls = {*Faults.seen, "config:SelectAggregateResourceConfig"}
    assert {"sts:AssumeRole", "organizations:ListAccounts", "ecs:DescribeTasks"} <= calls
    assert {"securityhub:GetFindings", "securityhub:BatchImportFindings"} <= calls
    operator, member = policy("audit.json"), policy("audit-member-role.yaml")
    assert [c for c in calls if not allows(operator, c)] == []
    in_member = {c for c in calls if not c.startswith(("sts:", "organizations:", "config:"))}
    assert [c for c in in_member if not allows(member, c)] == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails_ecs_nonrootuser.audit import terminal_progress

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    terminal_progress(1, 2)
    terminal_progress(2, 2)
    assert terminal.getvalue() == (
        "\raudit: 1/2 account-Regions read\raudit: 2/2 account-Regions read\n"
    )
    terminal = _Terminal()  # the config source: how many is not known in advance
    monkeypatch.setattr(sys, "stderr", terminal)
    terminal_progress(100, 0)
    terminal_progress(150, -1)
    assert terminal.getvalue() == (
        "\raudit: 100 task definitions read\raudit: 150 task definitions read\n"
    )
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    terminal_progress(1, 2)
    assert piped.getvalue() == ""


def test_a_noecho_parameter_of_a_deployed_stack_is_unknown_not_its_default() -> None:
    """DescribeStacks shows a NoEcho parameter's value as ****: its Default is not its value."""
    from guardrails_ecs_nonrootuser.audit import Unit, _stack_report
    from guardrails_ecs_nonrootuser.scan import Options

    template = STACK_TEMPLATE.replace('Default: "1000"', 'Default: "1000", NoEcho: true')
    stack = {
        "StackName": "workers",
        "StackId": f"arn:aws:cloudformation:{REGION}:{CALLER}:stack/workers/1",
        "Parameters": [{"ParameterKey": "WorkerUser", "ParameterValue": "****"}],
    }
    report = _stack_report(Unit(CALLER, REGION), stack, template, Options()).report
    (task_definition,) = report.task_definitions
    assert [c.verdict for c in task_definition.containers] == ["UNRESOLVED"]
    assert "parameter WorkerUser is NoEcho" in task_definition.findings[0].message


def test_an_item_that_cannot_be_read_is_its_error_and_the_rest_is_read(
    aws: dict[str, str],
) -> None:
    deploy(aws, CALLER)
    Faults.deny_templates = True
    code, document, _ = run_audit(aws, "--region", REGION)
    assert code == 2  # an input could not be read
    stack = f"aws://{CALLER}/{REGION}/stack/workers"
    assert verdicts(document) == {**expected(CALLER), stack: "error"}
    (item,) = [i for i in document["items"] if path(i) == stack]
    assert item["note"] == "cannot be read: GetTemplate: AccessDenied"


def test_the_exception_tag_and_exemptions_apply_to_deployed_task_definitions(
    aws: dict[str, str], tmp_path: Path
) -> None:
    """Tags are read (DescribeTaskDefinition include TAGS) only when an exception tag is
    configured; a FireLens router is sent to the policy as one (its own fix)."""
    ecs = session(aws).client("ecs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    router = {"name": "log_router", "image": "registry.example/router:1", "memory": 128}
    ecs.register_task_definition(
        family="tagged",
        containerDefinitions=[{**router, "firelensConfiguration": {"type": "fluentbit"}}],
        tags=[{"key": "nonroot-exception", "value": "SEC-9 vendor router"}],
    )
    code, document, _ = run_audit(aws, "--region", REGION)
    tagged = f"aws://{CALLER}/{REGION}/task-definition/tagged:1"
    (item,) = [i for i in document["items"] if path(i) == tagged]
    (finding,) = item["findings"]
    assert (code, finding["rule"]) == (1, "missing-user")
    assert "ECS agent 1.96.0" in finding["message"]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ExceptionTagKey": "nonroot-exception"}), encoding="utf-8")
    code, document, _ = run_audit(aws, "--region", REGION, "--config", str(config))
    (item,) = [i for i in document["items"] if path(i) == tagged]
    (finding,) = item["findings"]
    assert (code, finding["rule"], finding["level"]) == (0, "skipped-container", "note")
    assert finding["message"].endswith(
        'excepted by its tag "nonroot-exception": "SEC-9 vendor router".'
    )
