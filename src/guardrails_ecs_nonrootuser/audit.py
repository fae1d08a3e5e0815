"""`ecs-nonroot audit`: what the hook would block where it is about to be enabled.

The hook judges a task definition only when CloudFormation next creates or updates it. Before
turning enforcement on, this reads what is already deployed and decides it with the same policy
and configuration, from one of two sources:

- ``audit`` (the roles source), in each account and Region: every ACTIVE task definition
  revision (and any deregistered one still in use) from the ECS API, each container's ``name``,
  ``image`` and ``user`` and the task's ``runtimePlatform`` mapped once (``_as_properties``) to
  the properties the hook is sent and decided as a template holding that task definition; what
  uses each (``usage_of``: every deployment of every service, every running task; with
  ``in_use``, only what is used is decided); and every stack's template as CloudFormation
  processed it (transforms and modules expanded), with the stack's own parameter values
  (``ResolvedValue`` for SSM parameters) and pseudo parameters: a failure there blocks the
  stack's next update. Each account is read with the caller's credentials (its own account) or
  by assuming ``role`` in it (``Accounts``); accounts and Regions are read ``jobs`` at a time
  (``bounded``).
- ``audit_config`` (the config source): every task definition an AWS Config aggregator records,
  with ``SelectAggregateResourceConfig`` (``queries``; paginated), the configuration item mapped
  once (``config_properties``: CloudFormation's own names) and decided the same way; which a
  service deploys is read from the aggregator too, and with ``in_use`` what uses each is read in
  each account and Region through the role.

Every list is paginated, and throttled calls are retried (botocore's adaptive mode: it slows
down when throttled). A task definition or stack that cannot be read is that item's error; an
account or Region that cannot be read at all, or answers in a shape not expected, is returned as
``Unreadable``, and the others are still read: the caller sees partial results, and
``EXIT_PARTIAL``. What is decided is handed to a ``Sink`` as it is (``audit_report`` keeps it on
disk).

Nothing is written to any account; the calls are the read-only ones ``deploy/iam/audit.json``
allows.
"""

from __future__ import annotations

import functools
import json
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple, TypeVar

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


class Audited(NamedTuple):
    """One thing read and decided: a task definition revision, a running task of one (its
    images as pulled), or a stack."""

    unit: Unit
    kind: str
    """task-definition, running-task or stack."""
    name: str
    """family:revision, or the stack's name."""
    arn: str | None
    used_by: tuple[str, ...] | None
    """What uses a task definition (service, running-task); None when that was not read."""
    report: FileReport
    task: str | None = None
    """The running task's id (kind running-task)."""


class Unreadable(NamedTuple):
    """An account and Region, or a source, that could not be read at all."""

    unit: Unit
    reason: str


SERVICE, RUNNING_TASK = "service", "running-task"
Usage = dict[str, set[str]]
"""By task definition ARN, what uses it (SERVICE, RUNNING_TASK)."""
Sink = Callable[[Audited], None]


def audit(
    session: Any,
    units: list[Unit],
    options: Options,
    sink: Sink,
    *,
    role: str | None = None,
    in_use: bool = False,
    image_client: Callable[[Any], Client] = command_client,
    jobs: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> list[Unreadable]:
    """Read and decide everything in ``units`` (the roles source), each unit's results given to
    ``sink`` in the calling thread as the unit is done; the units that could not be read are
    returned. With ``ImageVerification`` on, the images a unit's task definitions run are read
    after the unit is (rule r), by ``image_client(session)`` (the unit's session reads its
    ECR)."""
    session_for = Accounts(session, role)

    def read(unit: Unit) -> tuple[list[Audited], Unreadable | None]:
        try:
            account = session_for(unit.account)
            found = list(_read_unit(account, unit, options, in_use))
        except Exception as error:  # refused, or answered in a shape not expected: this unit's
            return [], Unreadable(unit, _unread(error))

        def decide(images: ImageTable | None) -> list[Audited]:
            given = options._replace(images=images)
            return [item if isinstance(item, Audited) else item(given) for item in found]

        return with_images(options.settings, decide, lambda: image_client(account)), None

    unreadable: list[Unreadable] = []
    for done, (found, error) in enumerate(bounded(read, units, jobs), 1):
        for item in found:
            sink(item)
        unreadable += [error] if error is not None else []
        if progress is not None:
            progress(done, len(units))
    return sorted(unreadable)


Result = TypeVar("Result")
Given = TypeVar("Given")


def bounded(work: Callable[[Given], Result], items: Iterable[Given], jobs: int) -> Iterator[Result]:
    """``work`` on every item, ``jobs`` at a time, each result as it is done; at most ``jobs``
    results are held at once (a result handed on is not kept)."""
    pending: set[Future[Result]] = set()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for item in items:
            if len(pending) >= jobs:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
            pending.add(pool.submit(work, item))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)


class NoRoleError(Exception):
    """Another account than the caller's, and no role to assume in it."""


class Account:
    """An account's clients: the caller's session's, with the credentials of the role assumed
    there (if any). Every client is made from the one session, which loads each service's model
    once (a session per account would load them again: megabytes per account), one at a time
    (a session is not thread-safe; its clients are)."""

    def __init__(self, session: Any, lock: threading.Lock, credentials: Any = None) -> None:
        self._session, self._lock = session, lock
        self._credentials = (
            {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
            if credentials
            else {}
        )

    def client(self, service: str, **arguments: Any) -> Any:
        with self._lock:
            return self._session.client(service, **self._credentials, **arguments)


class Accounts:
    """The clients of each account: the caller's own (``caller``), or those of ``role``
    assumed in it (once per account; accounts are assumed in parallel)."""

    def __init__(self, session: Any, role: str | None) -> None:
        self._session, self._role, self._lock = session, role, threading.Lock()
        self.caller = Account(session, self._lock)
        sts = self.caller.client("sts", config=client_config())
        self._identity = sts.get_caller_identity()
        self._accounts: dict[str, Account] = {self._identity["Account"]: self.caller}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, account: str) -> Account:
        with self._guard:
            mine = self._locks.setdefault(account, threading.Lock())
        with mine:
            if account not in self._accounts:
                if not self._role:  # the caller's credentials would read the caller's account
                    raise NoRoleError(f"no --role to read account {account} with")
                self._accounts[account] = self._assumed(account)
            return self._accounts[account]

    def _assumed(self, account: str) -> Account:
        partition = self._identity["Arn"].split(":")[1]
        arn = f"arn:{partition}:iam::{account}:role/{self._role}"
        sts = self.caller.client("sts", config=client_config())
        credentials = sts.assume_role(RoleArn=arn, RoleSessionName=ROLE_SESSION)["Credentials"]
        return Account(self._session, self._lock, credentials)


TASK_DEFINITIONS = "AWS::ECS::TaskDefinition"
_SELECTED = (
    "accountId, awsRegion, arn, configurationItemStatus, configuration.TaskDefinitionArn, "
    "configuration.Family, configuration.Status, configuration.ContainerDefinitions.Name, "
    "configuration.ContainerDefinitions.Image, configuration.ContainerDefinitions.User, "
    "configuration.ContainerDefinitions.FirelensConfiguration.Type, tags"
)
_GONE = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})
PAGE = 100
"""Results per page of an advanced query (SelectAggregateResourceConfig's most)."""


def queries(accounts: Sequence[str] = (), regions: Sequence[str] = ()) -> dict[str, str]:
    """The advanced queries the config source runs: task definitions, services (what they
    deploy), and how many task definitions each account and Region holds."""
    where = f"resourceType = '{TASK_DEFINITIONS}'"
    scope = ""
    if accounts:
        scope += f" AND accountId IN ({', '.join(_literal(a) for a in accounts)})"
    if regions:
        scope += f" AND awsRegion IN ({', '.join(_literal(r) for r in regions)})"
    return {
        "task-definitions": f"SELECT {_SELECTED} WHERE {where}{scope}",
        "services": "SELECT accountId, awsRegion, configuration.TaskDefinition "
        f"WHERE resourceType = 'AWS::ECS::Service'{scope}",
        "units": f"SELECT accountId, awsRegion, COUNT(*) WHERE {where}{scope} "
        "GROUP BY accountId, awsRegion",
    }


def _literal(text: str) -> str:
    """An account id or Region as a query's string literal (nothing else is accepted)."""
    if not re.fullmatch(r"[a-z0-9-]{1,64}", text):
        raise ValueError(f"not an account id or Region: {text!r}")
    return f"'{text}'"


def audit_config(
    session: Any,
    aggregator: str,
    options: Options,
    sink: Sink,
    *,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    role: str | None = None,
    in_use: bool = False,
    image_client: Callable[[Any], Client] = command_client,
    jobs: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> list[Unreadable]:
    """Read and decide every task definition an AWS Config aggregator records (the config
    source), page by page, each given to ``sink`` in the calling thread; which a service
    deploys is read from the aggregator too. With ``in_use``, what services deploy and
    running tasks run is read in each account and Region (by assuming ``role``), and only
    what is used is decided; the units that could not be read are returned (their task
    definitions are all decided)."""
    readers = Accounts(session, role)
    config = readers.caller.client("config", config=client_config())
    asked = queries(accounts, regions)

    def select(expression: str) -> Iterator[dict[str, Any]]:
        paginator = config.get_paginator("select_aggregate_resource_config")
        pages = paginator.paginate(
            Expression=expression,
            ConfigurationAggregatorName=aggregator,
            PaginationConfig={"PageSize": PAGE},
        )
        for page in pages:
            for result in page.get("Results", []):
                try:
                    row = json.loads(result)
                except (TypeError, ValueError):
                    row = None
                yield row if isinstance(row, dict) else {}  # not an object: an error, not a skip

    usage: dict[tuple[str, str, str], set[str]] = {}
    for row in select(asked["services"]):
        deployed = _configuration(row).get("TaskDefinition")
        if isinstance(deployed, str) and deployed:
            key = (str(row.get("accountId")), str(row.get("awsRegion")), _revision(deployed))
            usage.setdefault(key, set()).add(SERVICE)
    unreadable: list[Unreadable] = []
    unknown: set[Unit] = set()
    if in_use:
        units = sorted(
            Unit(str(row.get("accountId")), str(row.get("awsRegion")))
            for row in select(asked["units"])
        )
        for unit, used in bounded(functools.partial(_used_in, readers), units, jobs):
            if isinstance(used, Unreadable):
                unreadable.append(used)
                unknown.add(unit)
                continue
            for arn, users in used.items():
                key = (unit.account, unit.region, _revision(arn))
                usage.setdefault(key, set()).update(users)
    images = lambda: image_client(readers.caller)  # noqa: E731 - the caller's credentials read
    page: list[dict[str, Any]] = []
    read = 0

    def decide_page() -> None:
        def decide(table: ImageTable | None) -> list[Audited]:
            given = options._replace(images=table)
            return [_config_item(row, usage, unknown, given) for row in page]

        for item in with_images(options.settings, decide, images):
            if item.used_by or not in_use or item.unit in unknown:
                sink(item)
        page.clear()

    for row in prefetched(select(asked["task-definitions"]), PAGE):
        if row.get("configurationItemStatus") in _GONE:
            continue
        status = _configuration(row).get("Status")
        if status in ("INACTIVE", "DELETE_IN_PROGRESS") and not usage.get(_key(row)):
            continue  # INACTIVE, and used by nothing: as the roles source, not read
        page.append(row)
        read += 1
        if len(page) == PAGE:
            decide_page()
            if progress is not None:
                progress(read, 0)
    decide_page()
    if progress is not None:
        progress(read, -1)
    return sorted(unreadable)


def prefetched(items: Iterator[Given], ahead: int) -> Iterator[Given]:
    """``items``, read by a thread of its own up to ``ahead`` items ahead of the caller (the
    next page is fetched while this one is decided); what reading raises is raised here."""
    done = object()
    waiting: queue.Queue[Any] = queue.Queue(maxsize=ahead)

    def read() -> None:
        try:
            for item in items:
                waiting.put(item)
        except BaseException as error:  # handed to the caller, raised there
            waiting.put((done, error))
        else:
            waiting.put((done, None))

    threading.Thread(target=read, daemon=True).start()
    while True:
        item = waiting.get()
        if isinstance(item, tuple) and len(item) == 2 and item[0] is done:
            if item[1] is not None:
                raise item[1]
            return
        yield item


def _used_in(session_for: Accounts, unit: Unit) -> tuple[Unit, Usage | Unreadable]:
    try:
        ecs = session_for(unit.account).client(
            "ecs", region_name=unit.region, config=client_config()
        )
        return unit, usage_of(ecs, {})
    except Exception as error:  # refused, or answered in a shape not expected: this unit's
        return unit, Unreadable(unit, _unread(error))


def _revision(task_definition: str) -> str:
    """family:revision, from an ARN or from itself."""
    return task_definition.rpartition(":task-definition/")[2] or task_definition


def _configuration(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """A row's ``configuration``, or nothing when it is not an object."""
    configuration = row.get("configuration")
    return configuration if isinstance(configuration, Mapping) else {}


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    configuration = _configuration(row)
    arn = configuration.get("TaskDefinitionArn") or row.get("arn") or ""
    account, region = row.get("accountId") or "unknown", row.get("awsRegion") or "unknown"
    return (str(account), str(region), _revision(str(arn)))


def _config_item(
    row: Mapping[str, Any],
    usage: Mapping[tuple[str, str, str], set[str]],
    unknown: set[Unit],
    options: Options,
) -> Audited:
    """One configuration item, decided."""
    account, region, name = _key(row)
    unit = Unit(account, region)
    configuration = _configuration(row)
    found = configuration.get("TaskDefinitionArn") or row.get("arn")
    arn = str(found) if found else None
    used_by = None if unit in unknown else tuple(sorted(usage.get((account, region, name), ())))
    if not name or not isinstance(configuration.get("ContainerDefinitions"), list):
        name = name or str(configuration.get("Family") or "unknown")
        reason = "AWS Config records no container definitions for it: it cannot be decided"
        report = FileReport(f"{unit.path}/task-definition/{name}", "error", reason)
        return Audited(unit, "task-definition", name, arn, used_by, report)
    properties = config_properties(configuration, row.get("tags"))
    return _decided(options, unit=unit, name=name, arn=arn, used_by=used_by, properties=properties)


def accounts_of_organization(session: Any) -> list[str]:
    """The ACTIVE accounts of the caller's organization."""
    client = session.client("organizations", config=client_config())
    return sorted(
        account["Id"]
        for page in client.get_paginator("list_accounts").paginate()
        for account in page["Accounts"]
        if account.get("Status") == "ACTIVE"
    )


def caller_account(session: Any) -> str:
    account: str = session.client("sts", config=client_config()).get_caller_identity()["Account"]
    return account


def client_config() -> Any:
    from botocore.config import Config  # type: ignore[import-untyped]

    return Config(
        retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=30
    )


def reason(error: Exception) -> str:
    """What failed, by its error code (never a message that may quote a request)."""
    if isinstance(error, NoRoleError):
        return str(error)
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
    operation = getattr(error, "operation_name", None)
    if code:
        return f"{operation}: {code}" if operation else str(code)
    return type(error).__name__


Pending = Callable[[Options], Audited]
"""A task definition or stack read, to be decided with the options given."""


def _read_unit(
    session: Any, unit: Unit, options: Options, in_use: bool
) -> Iterator[Audited | Pending]:
    """Everything in one account and Region, read; a task definition or stack that cannot be
    read is that item's error, and the rest is still read (a list that cannot be read fails the
    unit). What uses each task definition is read too; ``in_use`` keeps only what is used."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    config = client_config()
    ecs = session.client("ecs", region_name=unit.region, config=config)
    cloudformation = session.client("cloudformation", region_name=unit.region, config=config)
    running: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {}
    usage = usage_of(ecs, running)
    arns = set(usage) if in_use else _active(ecs) | set(usage)  # a deregistered one may run
    # Tags only when an exception tag is configured: nothing else reads them.
    include = {"include": ["TAGS"]} if options.settings.exception_tag_key else {}
    for arn in sorted(arns):
        used_by = tuple(sorted(usage.get(arn, ())))
        try:
            response = ecs.describe_task_definition(taskDefinition=arn, **include)
            definition = {**response["taskDefinition"], "tags": response.get("tags", [])}
        except ClientError as error:
            name = arn.rpartition("/")[2]
            report = FileReport(f"{unit.path}/task-definition/{name}", "error", _unread(error))
            yield Audited(unit, "task-definition", name, arn, used_by, report)
            continue
        properties = _as_properties(definition)
        name = f"{definition['family']}:{definition['revision']}"
        yield functools.partial(
            _decided, unit=unit, name=name, arn=arn, used_by=used_by, properties=properties
        )
        if options.settings.image_verification is not ImageVerification.OFF:
            for task, digests in running.get(arn, {}).items():
                pinned = _as_properties(_pinned(definition, digests))
                yield functools.partial(
                    _decided,
                    unit=unit,
                    name=name,
                    arn=arn,
                    used_by=used_by,
                    properties=pinned,
                    task=task,
                )
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if stack.get("StackStatus") == "DELETE_COMPLETE":
                continue
            name = stack["StackName"]
            try:
                body = cloudformation.get_template(
                    StackName=stack["StackId"], TemplateStage="Processed"
                )["TemplateBody"]
            except ClientError as error:
                report = FileReport(f"{unit.path}/stack/{name}", "error", _unread(error))
                yield Audited(unit, "stack", name, stack["StackId"], None, report)
                continue
            yield functools.partial(_stack_report, unit, stack, body)


def _unread(error: Exception) -> str:
    return f"cannot be read: {reason(error)}"


def _active(ecs: Any) -> set[str]:
    paginator = ecs.get_paginator("list_task_definitions")
    return {
        arn for page in paginator.paginate(status="ACTIVE") for arn in page["taskDefinitionArns"]
    }


def usage_of(ecs: Any, running: dict[str, dict[str, tuple[tuple[str, str], ...]]]) -> Usage:
    """What uses each task definition: services (every deployment of each) and running tasks;
    into ``running``, by task definition, the image digests its running tasks run (each
    distinct set of container names and ``imageDigest`` once, under the first task that runs
    it)."""
    used: Usage = {}
    for cluster in _all(ecs, "list_clusters", "clusterArns"):
        services = list(_all(ecs, "list_services", "serviceArns", cluster=cluster))
        for batch in _batches(services, 10):
            for service in ecs.describe_services(cluster=cluster, services=batch)["services"]:
                deployed = [service.get("taskDefinition")]
                deployed += [d.get("taskDefinition") for d in service.get("deployments", [])]
                for arn in filter(None, deployed):
                    used.setdefault(arn, set()).add(SERVICE)
        tasks = list(_all(ecs, "list_tasks", "taskArns", cluster=cluster, desiredStatus="RUNNING"))
        for batch in _batches(tasks, 100):
            for task in ecs.describe_tasks(cluster=cluster, tasks=batch)["tasks"]:
                used.setdefault(task["taskDefinitionArn"], set()).add(RUNNING_TASK)
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
    """An ECS API task definition (camelCase) as the properties CloudFormation sends the hook."""
    containers = []
    for container in definition.get("containerDefinitions", []):
        item = {"Name": container.get("name"), "Image": container.get("image")}
        if "user" in container:
            item["User"] = container["user"]
        if "firelensConfiguration" in container:
            item["FirelensConfiguration"] = {"Type": container["firelensConfiguration"].get("type")}
        containers.append(item)
    platform = definition.get("runtimePlatform") or {}
    return _properties(
        containers,
        {
            "OperatingSystemFamily": platform.get("operatingSystemFamily"),
            "CpuArchitecture": platform.get("cpuArchitecture"),
        },
        [(t.get("key"), t.get("value")) for t in definition.get("tags") or ()],
    )


def config_properties(configuration: Mapping[str, Any], tags: Any) -> dict[str, Any]:
    """An AWS Config configuration item's ``configuration`` (CloudFormation's PascalCase names)
    and ``tags`` as the properties CloudFormation sends the hook. The stored item has no
    ``RuntimePlatform`` today: a task definition without one is decided for every platform."""
    containers = []
    for container in configuration.get("ContainerDefinitions") or ():
        if not isinstance(container, Mapping):
            containers.append(container)  # decided as the malformed value it is
            continue
        item = {"Name": container.get("Name"), "Image": container.get("Image")}
        if "User" in container:
            item["User"] = container["User"]
        firelens = container.get("FirelensConfiguration")
        if isinstance(firelens, Mapping):
            item["FirelensConfiguration"] = {"Type": firelens.get("Type")}
        containers.append(item)
    platform = configuration.get("RuntimePlatform")
    platform = platform if isinstance(platform, Mapping) else {}
    if isinstance(tags, Mapping):  # a configuration item's tags: a map
        pairs = list(tags.items())
    elif isinstance(tags, list):  # an advanced query's: a list of {key, value, tag}
        pairs = [(t.get("key"), t.get("value")) for t in tags if isinstance(t, Mapping)]
    else:
        pairs = []
    return _properties(
        containers,
        {key: platform.get(key) for key in ("OperatingSystemFamily", "CpuArchitecture")},
        pairs,
    )


def _properties(
    containers: list[Any], platform: Mapping[str, Any], tags: list[tuple[Any, Any]]
) -> dict[str, Any]:
    properties: dict[str, Any] = {"ContainerDefinitions": containers}
    if any(platform.values()):
        properties["RuntimePlatform"] = {key: value for key, value in platform.items() if value}
    if tags:
        properties["Tags"] = [{"Key": key, "Value": value} for key, value in tags]
    return properties


def _decided(
    options: Options,
    *,
    unit: Unit,
    name: str,
    arn: str | None,
    used_by: tuple[str, ...] | None,
    properties: Mapping[str, Any],
    task: str | None = None,
) -> Audited:
    """A task definition's properties decided as a template holding it: a running task's (its
    images pinned to what it pulled) when ``task`` is given."""
    resource = {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}
    template = json.dumps({"Resources": {name: resource}}).encode()
    path = f"{unit.path}/task-definition/{name}" + (f"/running-task/{task}" if task else "")
    report = _unplaced(check_file(path, template, options))
    kind = "running-task" if task else "task-definition"
    return Audited(unit, kind, name, arn, used_by, report, task)


def _pinned(definition: Mapping[str, Any], digests: tuple[tuple[str, str], ...]) -> dict[str, Any]:
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
    return {**definition, "containerDefinitions": containers}


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


def _stack_report(unit: Unit, stack: Mapping[str, Any], body: Any, options: Options) -> Audited:
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
    report = check_file(
        path, text.encode("utf-8", "surrogatepass"), options._replace(parameters=values)
    )
    return Audited(unit, "stack", stack["StackName"], stack["StackId"], None, report)


def terminal_progress(done: int, total: int) -> None:
    """A progress line on standard error, when it is a terminal: ``done`` account-Regions read
    of ``total``; or, ``total`` 0 (the config source: how many is not known in advance) or -1
    (its last call), ``done`` task definitions read."""
    if sys.stderr.isatty():
        end = "\n" if done == total or total < 0 else ""
        what = f"{done}/{total} account-Regions" if total > 0 else f"{done} task definitions"
        print(f"\raudit: {what} read", end=end, file=sys.stderr, flush=True)


def units_of(accounts: Iterable[str], regions: Iterable[str]) -> list[Unit]:
    return [Unit(account, region) for account in accounts for region in regions]
