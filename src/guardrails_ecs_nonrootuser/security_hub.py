"""The audit's findings in the AWS Security Finding Format (ASFF), and sent to Security Hub.

One finding per failing (or, under ``WarnOnly``, warned) container of a task definition, a
running task or a stack, in the account and Region of the resource, from the account's default
product (``product/ACCOUNT/default``): Security Hub accepts a default-product finding only from
the account it is about, so an account other than the caller's is written to through the
audit's role there. Its ``Id`` is derived from what it is about (kind, resource, logical id,
container, rule), never from when it was found, so a re-run updates the finding instead of
adding one; ``CreatedAt`` of a finding already there is kept.

``send`` imports in batches of ``BATCH`` (BatchImportFindings' most), retrying what Security Hub
throttles (botocore's adaptive retries, then a finding that failed with a throttling or internal
error, up to ``ATTEMPTS`` times). A finding of ours still ACTIVE whose resource the audit read
and found compliant, or (every active task definition of its account and Region read) no longer
found, is updated: ``Compliance`` ``PASSED`` and ``RecordState`` ``ARCHIVED`` (re-imported, the
fields a provider owns), then ``Workflow`` ``RESOLVED`` (BatchUpdateFindings).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import IO, Any, NamedTuple

from .audit import reason
from .audit_report import path_of
from .policy import rule_page
from .report import SECURITY_SEVERITY, TOOL, WARN_ONLY_SEVERITY

SCHEMA_VERSION = "2018-10-08"
ID_PREFIX = f"{TOOL}/"
BATCH = 100
ATTEMPTS = 4
TYPES = ["Software and Configuration Checks/AWS Security Best Practices"]
RESOURCE_TYPES = {"stack": "AwsCloudFormationStack"}
_RETRIED = frozenset({"ThrottlingException", "TooManyRequestsException", "InternalException"})
_LIMITS = {"Title": 256, "Description": 1024, "Text": 512}


def severity(rule: str, level: str) -> str:
    """The severity label of a finding: a warning (WarnOnly) is LOW; an error by the rule's
    security severity (as code scanning gets it): HIGH from 7, MEDIUM from 4, LOW below."""
    score = float(WARN_ONLY_SEVERITY if level != "error" else SECURITY_SEVERITY.get(rule, "5.5"))
    return "HIGH" if score >= 7 else "MEDIUM" if score >= 4 else "LOW"


def finding_id(item: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    """Stable: the same container failing the same rule in the same resource gets the same id."""
    about = [
        item["kind"],
        item["arn"] or item["stack"] or f"{item['family']}:{item['revision']}",
        item["task"] or "",
        finding["logicalId"] or "",
        finding["container"] if finding["container"] is not None else f"#{finding['index']}",
        finding["index"],
        finding["rule"],
        # several findings of one rule about no one container: told apart by what they say
        finding["message"] if finding["index"] is None else "",
    ]
    digest = hashlib.sha256("\0".join(map(str, about)).encode("utf-8", "surrogatepass"))
    return f"{ID_PREFIX}{item['region']}/{item['account']}/{digest.hexdigest()}"


def product_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def findings_of(
    item: Mapping[str, Any], now: str, created: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """The ASFF findings of one audit record (none when it passes or could not be read)."""
    arn = item["arn"]
    partition = arn.split(":")[1] if isinstance(arn, str) and arn.startswith("arn:") else "aws"
    account, region = item["account"], item["region"]
    resource = {
        "Type": RESOURCE_TYPES.get(item["kind"], "AwsEcsTaskDefinition"),
        "Id": _resource(item),
        "Partition": partition,
        "Region": region,
    }
    if item["kind"] != "stack" and item["family"]:
        resource["Details"] = {"AwsEcsTaskDefinition": {"Family": item["family"]}}
    for finding in item["findings"]:
        if finding["level"] not in ("error", "warning"):
            continue
        identifier = finding_id(item, finding)
        container = finding["container"] or f"#{finding['index']}"
        fields = {
            "ecs-nonroot/Rule": finding["rule"],
            "ecs-nonroot/Kind": item["kind"],
            "ecs-nonroot/UsedBy": " ".join(item["usedBy"]) if item["usedBy"] else "",
            "ecs-nonroot/BlockedAtNextDeployment": "yes" if item["blocked"] else "no",
            **({"ecs-nonroot/Container": container} if finding["index"] is not None else {}),
            **({"ecs-nonroot/LogicalId": finding["logicalId"]} if finding["logicalId"] else {}),
            **({"ecs-nonroot/Task": item["task"]} if item["task"] else {}),
        }
        yield {
            "SchemaVersion": SCHEMA_VERSION,
            "Id": identifier,
            "ProductArn": product_arn(partition, region, account),
            "GeneratorId": f"{TOOL}/{finding['rule']}",
            "AwsAccountId": account,
            "Types": TYPES,
            "CreatedAt": (created or {}).get(identifier, now),
            "UpdatedAt": now,
            "Severity": {"Label": severity(finding["rule"], finding["level"])},
            "Title": _limit(f"{_what(item)}: {finding['summary']}", "Title"),
            "Description": _limit(f"{path_of(item)}: {finding['message']}", "Description"),
            "Remediation": {
                "Recommendation": {
                    "Text": _limit(finding["fix"] or finding["summary"], "Text"),
                    "Url": rule_page(finding["rule"]),
                }
            },
            "ProductFields": {key: value[:1024] for key, value in fields.items()},
            "Resources": [resource],
            "Compliance": {"Status": "FAILED" if finding["level"] == "error" else "WARNING"},
            "RecordState": "ACTIVE",
        }


def _what(item: Mapping[str, Any]) -> str:
    if item["kind"] == "stack":
        return f"Stack {item['stack']}"
    name = f"ECS task definition {item['family']}:{item['revision']}"
    return name + (f", running task {item['task']}" if item["task"] else "")


def _limit(text: str, field: str) -> str:
    most = _LIMITS[field]
    return text if len(text) <= most else text[: most - 1] + "…"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_asff(out: IO[str], records: Iterable[Mapping[str, Any]]) -> None:
    """A JSON array of findings, as ``aws securityhub batch-import-findings --findings`` takes
    (in batches of 100), written as it is read."""
    now = now_iso()
    out.write("[")
    first = True
    for item in records:
        for finding in findings_of(item, now):
            out.write(("" if first else ",") + "\n  " + json.dumps(finding, ensure_ascii=True))
            first = False
    out.write("\n]\n" if not first else "]\n")


class Sent(NamedTuple):
    imported: int
    resolved: int
    failed: list[str]
    """What could not be sent, each as "account Region: what and why"."""


def send(
    records: Iterable[Mapping[str, Any]],
    units: Iterable[tuple[str, str]],
    client_for: Callable[[str, str], Any],
    *,
    complete: bool,
    kinds: frozenset[str],
) -> Sent:
    """Import the findings of ``records`` (ordered by account and Region) into Security Hub, in
    each of the ``units`` read (account and Region; none that could not be read) through
    ``client_for(account, region)``, and resolve ours there that are no longer found: a
    finding about a resource read and decided, or, when every active one of the ``kinds`` read
    was read (``complete``: not only those in use), about one of those kinds no longer there.
    A finding about a resource that could not be read, or of a kind not read, stays."""
    imported = resolved = 0
    failed: list[str] = []
    grouped = itertools.groupby(records, key=lambda item: (item["account"], item["region"]))
    pending = next(grouped, None)
    for unit in sorted(set(units)):
        while pending is not None and pending[0] < unit:  # a unit not read: nothing sent
            pending = next(grouped, None)
        items = list(pending[1]) if pending is not None and pending[0] == unit else []
        try:
            client = client_for(*unit)
            done = _send_unit(items, client, unit, complete=complete, kinds=kinds)
        except Exception as error:  # an account or Region that refuses is reported, not fatal
            failed.append(f"{unit[0]} {unit[1]}: {reason(error)}")
            continue
        imported += done.imported
        resolved += done.resolved
        failed.extend(f"{unit[0]} {unit[1]}: {what}" for what in done.failed)
    return Sent(imported, resolved, failed)


def _send_unit(
    items: list[Mapping[str, Any]],
    client: Any,
    unit: tuple[str, str],
    *,
    complete: bool,
    kinds: frozenset[str],
) -> Sent:
    account, region = unit
    ours = {
        finding["Id"]: finding
        for page in client.get_paginator("get_findings").paginate(
            Filters={
                "Id": [{"Value": ID_PREFIX, "Comparison": "PREFIX"}],
                "AwsAccountId": [{"Value": account, "Comparison": "EQUALS"}],
                "Region": [{"Value": region, "Comparison": "EQUALS"}],
                "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            }
        )
        for finding in page["Findings"]
        # the filters again: a finding of another account, Region or tool is never touched
        if finding.get("Id", "").startswith(ID_PREFIX)
        and finding.get("AwsAccountId") == account
        and finding.get("Region", region) == region
        and finding.get("RecordState", "ACTIVE") == "ACTIVE"
    }
    now = now_iso()
    created = {identifier: f.get("CreatedAt", now) for identifier, f in ours.items()}
    current = [f for item in items for f in findings_of(item, now, created)]
    imported = {f["Id"] for f in current}
    decided = {_resource(item) for item in items if item["verdict"] != "ERROR"}
    undecided = {_resource(item) for item in items if item["verdict"] == "ERROR"}

    def resolved(finding: Mapping[str, Any]) -> bool:
        resources = {r.get("Id") for r in finding.get("Resources", [])}
        kind = (finding.get("ProductFields") or {}).get(f"{TOOL}/Kind")
        if finding["Id"] in imported or kind not in kinds or resources & undecided:
            return False
        return bool(resources & decided) or complete

    gone = [
        {**finding, "Compliance": {"Status": "PASSED"}, "RecordState": "ARCHIVED", "UpdatedAt": now}
        for finding in ours.values()
        if resolved(finding)
    ]
    failed = _import(client, current) + _import(client, [_provider_fields(f) for f in gone])
    if gone:
        failed += _resolve(client, gone)
    return Sent(len(current), len(gone), failed)


def _resource(item: Mapping[str, Any]) -> str:
    """The Id of the resource a record's findings are about."""
    return str(item["arn"] or path_of(item))


_PROVIDER_FIELDS = frozenset(
    {
        "SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
        "UpdatedAt", "Severity", "Title", "Description", "Remediation", "ProductFields",
        "Resources", "Compliance", "RecordState",
    }
)  # fmt: skip


def _provider_fields(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A finding read back, with only what a provider imports (not what Security Hub adds)."""
    kept = {key: value for key, value in finding.items() if key in _PROVIDER_FIELDS}
    kept["ProductFields"] = {
        key: value
        for key, value in (finding.get("ProductFields") or {}).items()
        if key.startswith(f"{TOOL}/")
    }
    return kept


def _import(client: Any, findings: list[dict[str, Any]]) -> list[str]:
    failed: list[str] = []
    for start in range(0, len(findings), BATCH):
        batch = findings[start : start + BATCH]
        for attempt in range(ATTEMPTS):
            answer = client.batch_import_findings(Findings=batch)
            refused = {
                f.get("Id"): f.get("ErrorCode", "") for f in answer.get("FailedFindings", [])
            }
            last = attempt == ATTEMPTS - 1
            failed += [
                f"finding {identifier}: {code}"
                for identifier, code in refused.items()
                if last or code not in _RETRIED
            ]
            batch = [f for f in batch if refused.get(f["Id"]) in _RETRIED]
            if not batch or last:
                break
            time.sleep(0.5 * 2**attempt)
    return failed


def _resolve(client: Any, findings: list[dict[str, Any]]) -> list[str]:
    """Workflow RESOLVED (a customer's field: BatchUpdateFindings, not BatchImportFindings)."""
    failed: list[str] = []
    for start in range(0, len(findings), BATCH):
        batch = findings[start : start + BATCH]
        answer = client.batch_update_findings(
            FindingIdentifiers=[{"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in batch],
            Workflow={"Status": "RESOLVED"},
            Note={"Text": "Compliant or gone when ecs-nonroot audit last ran.", "UpdatedBy": TOOL},
        )
        failed += [
            f"finding {f.get('FindingIdentifier', {}).get('Id')}: {f.get('ErrorCode', '')}"
            for f in answer.get("UnprocessedFindings", [])
        ]
    return failed
