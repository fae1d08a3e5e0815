"""`ecs-nonroot audit`: what the hook would block where it is about to be enabled.

The hook judges a task definition only when CloudFormation next creates or updates it. Before
turning enforcement on, this reads what is already deployed and decides it with the same policy
and configuration:

- every ACTIVE task definition revision (with ``in_use``, only those a service's deployments or
  a running task use), from the ECS API: each container's ``name``, ``image`` and ``user`` and
  the task's ``runtimePlatform``, mapped once (``_as_properties``) to the properties the hook is
  sent, and decided as a template holding that task definition;
- every stack's template as CloudFormation processed it (transforms and modules expanded), with
  the stack's own parameter values (``ResolvedValue`` for SSM parameters) and pseudo parameters:
  a failure there is "would be blocked on its next update".

Each account is read with the caller's credentials (its own account) or by assuming ``role`` in
it; accounts come from a list or from AWS Organizations (the ACTIVE ones). Accounts and Regions
are read in parallel (``jobs``), every list is paginated, and throttled calls are retried with
backoff (botocore's standard mode). A task definition or stack that cannot be read is reported as
that item's error; an account or Region that cannot be read at all, as such, and the others
still are: the caller sees partial results, and ``EXIT_PARTIAL``.

Nothing is written to any account; the calls are the read-only ones ``deploy/iam/audit.json``
allows.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, NamedTuple

from .docker_config import command_client
from .policy import ImageVerification
from .registry import Client, ImageTable, with_images
from .resolve import Unresolved
from .scan import FileReport, Options, check_file

EXIT_PARTIAL = 3
"""Some account or Region could not be read: what was read is reported."""
ROLE_SESSION = "ecs-nonroot-audit"
_MASKED = "****"  # how DescribeStacks shows a NoEcho parameter's value


class Unit(NamedTuple):
    """One account in one Region."""

    account: str
    region: str

    @property
    def path(self) -> str:
        return f"aws://{self.account}/{self.region}"


def audit(
    session: Any,
    units: list[Unit],
    options: Options,
    *,
    role: str | None = None,
    in_use: bool = False,
    image_client: Callable[[Any], Client] = command_client,
    jobs: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[FileReport], list[FileReport]]:
    """The reports on everything in ``units``, and the units that could not be read. With
    ``ImageVerification`` on, the images a unit's task definitions run are read after the unit
    is (rule r), by ``image_client(session)`` (the unit's session reads its ECR)."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    caller = session.client("sts", config=_config()).get_caller_identity()
    partition = caller["Arn"].split(":")[1]
    sessions: dict[str, Any] = {}
    lock = threading.Lock()

    def session_for(account: str) -> Any:
        with lock:
            if account not in sessions:
                sessions[account] = (
                    session
                    if account == caller["Account"] or role is None
                    else _assumed(session, f"arn:{partition}:iam::{account}:role/{role}")
                )
            return sessions[account]

    def read(unit: Unit) -> tuple[list[FileReport], FileReport | None]:
        try:
            account = session_for(unit.account)
            found = list(_read_unit(account, unit, options, in_use))
        except (BotoCoreError, ClientError) as error:
            return [], FileReport(unit.path, "error", _unread(error))

        def decide(images: ImageTable | None) -> list[FileReport]:
            given = options._replace(images=images)
            return [item if isinstance(item, FileReport) else item(given) for item in found]

        return with_images(options.settings, decide, lambda: image_client(account)), None

    reports: list[FileReport] = []
    unreadable: list[FileReport] = []
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(units) or 1))) as pool:
        futures = [pool.submit(read, unit) for unit in units]
        for done, future in enumerate(as_completed(futures), 1):
            found, error = future.result()
            reports += found
            unreadable += [error] if error is not None else []
            if progress is not None:
                progress(done, len(units))
    return sorted(reports, key=lambda r: r.path), sorted(unreadable, key=lambda r: r.path)


def accounts_of_organization(session: Any) -> list[str]:
    """The ACTIVE accounts of the caller's organization."""
    client = session.client("organizations", config=_config())
    return sorted(
        account["Id"]
        for page in client.get_paginator("list_accounts").paginate()
        for account in page["Accounts"]
        if account.get("Status") == "ACTIVE"
    )


def caller_account(session: Any) -> str:
    account: str = session.client("sts", config=_config()).get_caller_identity()["Account"]
    return account


def _config() -> Any:
    from botocore.config import Config  # type: ignore[import-untyped]

    return Config(
        retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=30
    )


def _assumed(session: Any, role_arn: str) -> Any:
    import boto3

    credentials = session.client("sts", config=_config()).assume_role(
        RoleArn=role_arn, RoleSessionName=ROLE_SESSION
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _reason(error: Exception) -> str:
    """What failed, by its error code (never a message that may quote a request)."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
    operation = getattr(error, "operation_name", None)
    if code:
        return f"{operation}: {code}" if operation else str(code)
    return type(error).__name__


Pending = Callable[[Options], FileReport]
"""A task definition or stack read, to be checked with the options given."""


def _read_unit(
    session: Any, unit: Unit, options: Options, in_use: bool
) -> Iterator[FileReport | Pending]:
    """Everything in one account and Region, read; a task definition or stack that cannot be
    read is that item's error, and the rest is still read (a list that cannot be read fails the
    unit)."""
    from botocore.exceptions import ClientError

    config = _config()
    ecs = session.client("ecs", region_name=unit.region, config=config)
    cloudformation = session.client("cloudformation", region_name=unit.region, config=config)
    running: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {}
    arns = _in_use(ecs, running) if in_use else _active(ecs)
    # Tags only when an exception tag is configured: nothing else reads them.
    include = {"include": ["TAGS"]} if options.settings.exception_tag_key else {}
    for arn in sorted(arns):
        try:
            response = ecs.describe_task_definition(taskDefinition=arn, **include)
            definition = {**response["taskDefinition"], "tags": response.get("tags", [])}
        except ClientError as error:
            name = arn.rpartition("/")[2]
            yield FileReport(f"{unit.path}/task-definition/{name}", "error", _unread(error))
            continue
        yield functools.partial(_task_definition_report, unit, definition)
        if options.settings.image_verification is not ImageVerification.OFF:
            for task, digests in running.get(arn, {}).items():
                yield functools.partial(_running_report, unit, definition, task, digests)
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if stack.get("StackStatus") == "DELETE_COMPLETE":
                continue
            try:
                body = cloudformation.get_template(
                    StackName=stack["StackId"], TemplateStage="Processed"
                )["TemplateBody"]
            except ClientError as error:
                path = f"{unit.path}/stack/{stack['StackName']}"
                yield FileReport(path, "error", _unread(error))
                continue
            yield functools.partial(_stack_report, unit, stack, body)


def _unread(error: Exception) -> str:
    return f"cannot be read: {_reason(error)}"


def _active(ecs: Any) -> set[str]:
    paginator = ecs.get_paginator("list_task_definitions")
    return {
        arn for page in paginator.paginate(status="ACTIVE") for arn in page["taskDefinitionArns"]
    }


def _in_use(ecs: Any, running: dict[str, dict[str, tuple[tuple[str, str], ...]]]) -> set[str]:
    """The task definitions services deploy (every deployment) and running tasks run; into
    ``running``, by task definition, the image digests its running tasks run (each distinct set
    of container names and ``imageDigest`` once, under the first task that runs it)."""
    used: set[str] = set()
    for cluster in _all(ecs, "list_clusters", "clusterArns"):
        services = list(_all(ecs, "list_services", "serviceArns", cluster=cluster))
        for batch in _batches(services, 10):
            for service in ecs.describe_services(cluster=cluster, services=batch)["services"]:
                used.add(service["taskDefinition"])
                used.update(d["taskDefinition"] for d in service.get("deployments", []))
        tasks = list(_all(ecs, "list_tasks", "taskArns", cluster=cluster, desiredStatus="RUNNING"))
        for batch in _batches(tasks, 100):
            for task in ecs.describe_tasks(cluster=cluster, tasks=batch)["tasks"]:
                used.add(task["taskDefinitionArn"])
                digests = tuple(
                    sorted(
                        (container["name"], container["imageDigest"])
                        for container in task.get("containers", [])
                        if container.get("name") and container.get("imageDigest")
                    )
                )
                seen = running.setdefault(task["taskDefinitionArn"], {})
                if digests and digests not in seen.values():
                    seen[task["taskArn"].rpartition("/")[2]] = digests
    return used


def _all(client: Any, operation: str, key: str, **arguments: Any) -> Iterator[str]:
    for page in client.get_paginator(operation).paginate(**arguments):
        yield from page[key]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _as_properties(definition: Mapping[str, Any]) -> dict[str, Any]:
    """An ECS API task definition as the properties CloudFormation sends the hook."""
    containers = []
    for container in definition.get("containerDefinitions", []):
        item = {"Name": container.get("name"), "Image": container.get("image")}
        if "user" in container:
            item["User"] = container["user"]
        if "firelensConfiguration" in container:
            item["FirelensConfiguration"] = {"Type": container["firelensConfiguration"].get("type")}
        containers.append(item)
    properties: dict[str, Any] = {"ContainerDefinitions": containers}
    platform = definition.get("runtimePlatform") or {}
    fields = {
        "OperatingSystemFamily": "operatingSystemFamily",
        "CpuArchitecture": "cpuArchitecture",
    }
    if any(platform.get(field) for field in fields.values()):
        properties["RuntimePlatform"] = {
            key: platform[field] for key, field in fields.items() if platform.get(field)
        }
    if definition.get("tags"):
        properties["Tags"] = [
            {"Key": t.get("key"), "Value": t.get("value")} for t in definition["tags"]
        ]
    return properties


def _task_definition_report(
    unit: Unit, definition: Mapping[str, Any], options: Options
) -> FileReport:
    name = f"{definition['family']}:{definition['revision']}"
    resource = {"Type": "AWS::ECS::TaskDefinition", "Properties": _as_properties(definition)}
    template = json.dumps({"Resources": {name: resource}}).encode()
    report = check_file(f"{unit.path}/task-definition/{name}", template, options)
    return _unplaced(report)


def _running_report(
    unit: Unit,
    definition: Mapping[str, Any],
    task: str,
    digests: tuple[tuple[str, str], ...],
    options: Options,
) -> FileReport:
    """The task definition as a running task runs it: each container's image pinned to the
    digest the task pulled (``DescribeTasks``' ``imageDigest``), so what runs as root now is
    decided on what runs, not on what a tag names today."""
    pulled = dict(digests)
    containers = []
    for written in definition.get("containerDefinitions", []):
        digest, image = pulled.get(written.get("name")), written.get("image")
        if digest and isinstance(image, str):
            written = {**written, "image": f"{_without_tag(image)}@{digest}"}  # noqa: PLW2901
        containers.append(written)
    name = f"{definition['family']}:{definition['revision']}"
    pinned = {**definition, "containerDefinitions": containers}
    resource = {"Type": "AWS::ECS::TaskDefinition", "Properties": _as_properties(pinned)}
    template = json.dumps({"Resources": {name: resource}}).encode()
    path = f"{unit.path}/task-definition/{name}/running-task/{task}"
    return _unplaced(check_file(path, template, options))


def _without_tag(image: str) -> str:
    """An image reference without its tag or digest."""
    name = image.partition("@")[0]
    head, slash, last = name.rpartition("/")
    return f"{head}{slash}{last.partition(':')[0]}"


def _unplaced(report: FileReport) -> FileReport:
    """A report on what the API returned: no line or column of a file to point at (1:1)."""
    return report._replace(
        task_definitions=tuple(
            td._replace(
                line=1,
                column=1,
                containers=tuple(c._replace(line=1, column=1) for c in td.containers),
                findings=tuple(f._replace(line=1, column=1) for f in td.findings),
            )
            for td in report.task_definitions
        )
    )


def _stack_report(unit: Unit, stack: Mapping[str, Any], body: Any, options: Options) -> FileReport:
    text = body if isinstance(body, str) else json.dumps(body)
    values: dict[str, str | Unresolved] = {
        "AWS::AccountId": unit.account,
        "AWS::Region": unit.region,
        "AWS::StackName": stack["StackName"],
        "AWS::StackId": stack["StackId"],
        "AWS::Partition": stack["StackId"].split(":")[1],
    }
    for parameter in stack.get("Parameters", []):
        name = parameter["ParameterKey"]
        value = parameter.get("ResolvedValue", parameter.get("ParameterValue"))
        if value == _MASKED:  # its Default is not its value: it is not known here
            values[name] = Unresolved(f"parameter {name} is NoEcho: its value is not shown")
        elif value is not None:
            values[name] = value
    path = f"{unit.path}/stack/{stack['StackName']}"
    return check_file(
        path, text.encode("utf-8", "surrogatepass"), options._replace(parameters=values)
    )


def terminal_progress(done: int, total: int) -> None:
    """A progress line on standard error, when it is a terminal."""
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\raudit: {done}/{total} account-Regions read", end=end, file=sys.stderr, flush=True)


def units_of(accounts: Iterable[str], regions: Iterable[str]) -> list[Unit]:
    return [Unit(account, region) for account in accounts for region in regions]
