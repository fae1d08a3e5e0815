"""The audit at organization scale: the config source (an AWS Config aggregator, through the
stand-in of scripts/config_standin.py, since moto's SelectAggregateResourceConfig answers canned
results), the same findings from both sources, and the report's formats.

One fleet of task definitions (``FLEET``), written once in CloudFormation's PascalCase as AWS
Config records them, is registered in moto (the roles source reads it through the ECS API) and
given to the stand-in as configuration items in the documented shape (the config source)."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from audit_demo import CALLER, MEMBER, REGION, ROLE, session
from config_standin import ConfigAggregator, select
from test_audit import Faults, aws, run_audit  # noqa: F401 - aws is a fixture

from guardrails_ecs_nonrootuser.audit import config_properties, queries

AGGREGATOR = "organization"
FLEET: dict[str, list[tuple[str, list[dict[str, Any]], list[dict[str, str]]]]] = {
    CALLER: [
        ("served", [{"Name": "app", "Image": "registry.example/app:1", "User": "0"}], []),
        (
            "mixed",
            [
                {"Name": "web", "Image": "registry.example/web:2", "User": "1000:1000"},
                {"Name": "sidecar", "Image": "registry.example/side:1"},
                {
                    "Name": "log_router",
                    "Image": "registry.example/router:1",
                    "FirelensConfiguration": {"Type": "fluentbit"},
                },
            ],
            [],
        ),
        ("clean", [{"Name": "app", "Image": "registry.example/app:1", "User": "1000"}], []),
    ],
    MEMBER: [
        ("served", [{"Name": "app", "Image": "registry.example/app:1", "User": "00"}], []),
        (
            "excepted",
            [{"Name": "vendor", "Image": "registry.example/vendor:1", "User": "root"}],
            [{"Key": "nonroot-exception", "Value": "SEC-1 vendor image"}],
        ),
        ("windowsish", [{"Name": "app", "Image": "registry.example/app:1",
                         "User": "ContainerAdministrator"}], []),
        ("group", [{"Name": "app", "Image": "registry.example/app:1", "User": "1000:0"}], []),
    ],
}  # fmt: skip


def _camel(container: dict[str, Any]) -> dict[str, Any]:
    """A container as RegisterTaskDefinition takes it."""
    found: dict[str, Any] = {"name": container["Name"], "image": container["Image"], "memory": 64}
    if "User" in container:
        found["user"] = container["User"]
    if "FirelensConfiguration" in container:
        found["firelensConfiguration"] = {"type": container["FirelensConfiguration"]["Type"]}
    return found


def register_fleet(env: dict[str, str]) -> list[dict[str, Any]]:
    """The fleet in moto (a service deploys each "served"); the configuration items AWS Config
    records for it, services included."""
    items: list[dict[str, Any]] = []
    for account, definitions in FLEET.items():
        ecs = session(env, account).client("ecs", endpoint_url=env["AWS_ENDPOINT_URL"])
        ecs.create_cluster(clusterName="main")
        for family, containers, tags in definitions:
            registered = ecs.register_task_definition(
                family=family,
                containerDefinitions=[_camel(c) for c in containers],
                **(
                    {"tags": [{"key": t["Key"], "value": t["Value"]} for t in tags]} if tags else {}
                ),
            )["taskDefinition"]
            arn = registered["taskDefinitionArn"]
            items.append(
                {
                    "accountId": account,
                    "awsRegion": REGION,
                    "resourceType": "AWS::ECS::TaskDefinition",
                    "resourceId": arn,
                    "arn": arn,
                    "configurationItemStatus": "OK",
                    "configuration": {
                        "Family": family,
                        "TaskDefinitionArn": arn,
                        "Status": "ACTIVE",
                        "NetworkMode": "bridge",
                        "ContainerDefinitions": [
                            {**c, "Memory": 64, "Essential": True} for c in containers
                        ],
                    },
                    "tags": [{"key": t["Key"], "value": t["Value"],
                              "tag": f"{t['Key']}={t['Value']}"} for t in tags],
                }
            )  # fmt: skip
            if family == "served":
                service = ecs.create_service(
                    cluster="main", serviceName="web", taskDefinition=arn, desiredCount=1
                )["service"]
                items.append(
                    {
                        "accountId": account,
                        "awsRegion": REGION,
                        "resourceType": "AWS::ECS::Service",
                        "arn": service["serviceArn"],
                        "configurationItemStatus": "OK",
                        "configuration": {"ServiceName": "web", "TaskDefinition": arn},
                    }
                )
    return items


def decided(document: Any) -> dict[tuple[str, str, str], Any]:
    """What each source must agree on: by account, Region and family:revision, the verdict,
    what uses it, and each finding."""
    return {
        (item["account"], item["region"], f"{item['family']}:{item['revision']}"): (
            item["verdict"],
            item["usedBy"],
            item["blocked"],
            [(f["rule"], f["level"], f["container"], f["message"]) for f in item["findings"]],
        )
        for item in document["items"]
        if item["kind"] == "task-definition"
    }


def config_env(env: dict[str, str], standin: ConfigAggregator) -> dict[str, str]:
    return {**env, "AWS_ENDPOINT_URL_CONFIG_SERVICE": standin.endpoint}


def test_a_configuration_item_is_mapped_to_the_properties_the_hook_is_sent() -> None:
    """AWS Config records CloudFormation's names; an advanced query gives tags as a list of
    key, value and tag, a configuration item as a map; nothing else reaches the policy."""
    configuration = {
        "Family": "web",
        "ContainerDefinitions": [
            {"Name": "app", "Image": "i:1", "User": "1000", "Privileged": False, "Memory": 64},
            {"Name": "router", "Image": "r:1", "FirelensConfiguration": {"Type": "fluentbit"}},
        ],
    }
    listed = [{"key": "team", "value": "web", "tag": "team=web"}]
    expected = {
        "ContainerDefinitions": [
            {"Name": "app", "Image": "i:1", "User": "1000"},
            {"Name": "router", "Image": "r:1", "FirelensConfiguration": {"Type": "fluentbit"}},
        ],
        "Tags": [{"Key": "team", "Value": "web"}],
    }
    assert config_properties(configuration, listed) == expected
    assert config_properties(configuration, {"team": "web"}) == expected
    platform = {"RuntimePlatform": {"OperatingSystemFamily": "LINUX"}}
    assert config_properties({**configuration, **platform}, None)["RuntimePlatform"] == {
        "OperatingSystemFamily": "LINUX"
    }


def test_the_stand_in_projects_arrays_element_by_element() -> None:
    """What the config source selects comes back nested as Config nests it."""
    item = {
        "resourceType": "T",
        "configuration": {"C": [{"Name": "a", "User": "0", "X": 1}, {"Name": "b", "X": 2}]},
    }
    fields = "configuration.C.Name, configuration.C.User"
    _, rows = select(f"SELECT {fields} WHERE resourceType = 'T'", [item])
    assert rows == [{"configuration": {"C": [{"Name": "a", "User": "0"}, {"Name": "b"}]}}]


def test_both_sources_give_the_same_findings(aws: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    items = register_fleet(aws)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ExceptionTagKey": "nonroot-exception"}), encoding="utf-8")
    accounts = f"{CALLER},{MEMBER}"
    common = ["--config", str(config), "--region", REGION]
    code, roles, stderr = run_audit(aws, *common, "--accounts", accounts, "--role", ROLE)
    assert code == 1, stderr
    with ConfigAggregator(AGGREGATOR, items) as standin:
        env = config_env(aws, standin)
        code, from_config, stderr = run_audit(
            env, *common, "--source", "config", "--aggregator", AGGREGATOR
        )
    assert code == 1, stderr
    assert decided(from_config) == decided(roles)
    assert len(decided(roles)) == sum(len(d) for d in FLEET.values())
    by_name = {key[0] + "/" + key[2]: value for key, value in decided(from_config).items()}
    assert by_name[f"{CALLER}/served:1"][:3] == ("FAIL", ["service"], True)
    assert by_name[f"{MEMBER}/excepted:1"][0] == "PASS"  # the exception tag was read
    # no RuntimePlatform recorded: decided for Linux and Windows, where it is an administrator
    assert by_name[f"{MEMBER}/windowsish:1"][3][0][0] == "windows-admin-user"
    assert by_name[f"{CALLER}/mixed:1"][3][0][:3] == ("missing-user", "error", "sidecar")
    assert from_config["source"] == "config"
    assert from_config["summary"]["blockedAtNextDeployment"] == 2


def test_the_config_source_pages_through_its_queries(aws: dict[str, str]) -> None:  # noqa: F811
    """250 task definitions: three pages of at most 100, the documented query text."""
    items = [
        {
            "accountId": CALLER,
            "awsRegion": REGION,
            "resourceType": "AWS::ECS::TaskDefinition",
            "arn": f"arn:aws:ecs:{REGION}:{CALLER}:task-definition/bulk:{n}",
            "configurationItemStatus": "OK",
            "configuration": {
                "Family": "bulk",
                "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{CALLER}:task-definition/bulk:{n}",
                "Status": "ACTIVE" if n <= 250 else "INACTIVE",
                "ContainerDefinitions": [{"Name": "app", "Image": "i:1", "User": str(n % 2)}],
            },
        }
        for n in range(1, 261)
    ]
    with ConfigAggregator(AGGREGATOR, items) as standin:
        code, document, stderr = run_audit(
            config_env(aws, standin), "--source", "config", "--aggregator", AGGREGATOR
        )
        asked = [(r["Expression"], r.get("NextToken"), r["Limit"]) for r in standin.requests]
    assert code == 1, stderr
    expressions = queries()
    assert asked == [
        (expressions["services"], None, 100),
        (expressions["task-definitions"], None, 100),
        (expressions["task-definitions"], "100", 100),
        (expressions["task-definitions"], "200", 100),
    ]
    assert document["summary"]["taskDefinitions"] == 250  # the INACTIVE ten, unused, are not
    assert document["summary"]["taskDefinitionsFailing"] == 125
    revisions = [item["revision"] for item in document["items"]]
    assert revisions == sorted(revisions)  # in order of revision, not as text


def test_the_config_source_filters_by_account_and_region_in_the_query(
    aws: dict[str, str],  # noqa: F811
) -> None:
    with ConfigAggregator(AGGREGATOR, []) as standin:
        arguments = ["--source", "config", "--aggregator", AGGREGATOR]
        scope = ["--accounts", CALLER, "--region", "eu-west-1,us-east-1"]
        code, document, stderr = run_audit(config_env(aws, standin), *arguments, *scope)
        expression = standin.requests[-1]["Expression"]
    assert (code, document["summary"]["taskDefinitions"]) == (0, 0), stderr
    assert expression.endswith(
        f"AND accountId IN ('{CALLER}') AND awsRegion IN ('eu-west-1', 'us-east-1')"
    )


def test_config_in_use_reads_what_runs_through_the_role(aws: dict[str, str]) -> None:  # noqa: F811
    """--in-use with the config source: services and running tasks are read in each account
    and Region the aggregator holds task definitions for; an account whose role cannot be
    assumed is reported, and its task definitions are all decided."""
    items = register_fleet(aws)
    locked = "222222222222"
    items.append(
        {
            **items[0],
            "accountId": locked,
            "arn": f"arn:aws:ecs:{REGION}:{locked}:task-definition/served:1",
            "configuration": {
                **items[0]["configuration"],
                "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{locked}:task-definition/served:1",
            },
        }
    )
    with ConfigAggregator(AGGREGATOR, items) as standin:
        env = config_env(aws, standin)
        arguments = ["--source", "config", "--aggregator", AGGREGATOR, "--in-use", "--role", ROLE]
        code, document, stderr = run_audit(env, *arguments)
        expressions = [request["Expression"] for request in standin.requests]
    assert code == 3, stderr
    assert queries()["units"] in expressions
    used = {(i["account"], i["family"]): i["usedBy"] for i in document["items"]}
    assert used == {
        (CALLER, "served"): ["service"],
        (MEMBER, "served"): ["service"],
        (locked, "served"): None,  # not read: decided, what uses it unknown
    }
    assert document["unreadable"] == [
        {"account": locked, "region": REGION, "reason": "cannot be read: AssumeRole: AccessDenied"}
    ]


def test_an_unknown_aggregator_says_so(aws: dict[str, str]) -> None:  # noqa: F811
    with ConfigAggregator(AGGREGATOR, []) as standin:
        code, document, stderr = run_audit(
            config_env(aws, standin), "--source", "config", "--aggregator", "other"
        )
    assert (code, document) == (2, None)
    assert "SelectAggregateResourceConfig: NoSuchConfigurationAggregatorException" in stderr


def test_a_task_definition_config_does_not_record_is_an_error_not_a_pass(
    aws: dict[str, str],  # noqa: F811
) -> None:
    arn = f"arn:aws:ecs:{REGION}:{CALLER}:task-definition/hidden:4"
    item = {
        "accountId": CALLER,
        "awsRegion": REGION,
        "resourceType": "AWS::ECS::TaskDefinition",
        "arn": arn,
        "configurationItemStatus": "ResourceNotRecorded",
    }
    with ConfigAggregator(AGGREGATOR, [item]) as standin:
        code, document, _ = run_audit(
            config_env(aws, standin), "--source", "config", "--aggregator", AGGREGATOR
        )
    assert code == 2
    (found,) = document["items"]
    assert (found["family"], found["revision"], found["verdict"]) == ("hidden", 4, "ERROR")
    assert "AWS Config records no container definitions" in found["note"]


def _audit(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("ecs-nonroot")), "audit", *arguments]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_text_report_groups_by_account_and_region_with_a_summary(
    aws: dict[str, str],  # noqa: F811
) -> None:
    register_fleet(aws)
    done = _audit(aws, "--region", REGION, "--accounts", f"{CALLER},{MEMBER}", "--role", ROLE)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    headings = [line for line in lines if line[:1].isdigit()]
    assert headings == [
        f"{MEMBER} {REGION}: 4 task definitions (1 in use), 0 stacks; failing: 4 (root-group 1, "
        "root-user 2, windows-admin-user 1); blocked at next deployment: 1",
        f"{CALLER} {REGION}: 3 task definitions (1 in use), 0 stacks; failing: 2 (missing-user "
        "1, root-user 1); blocked at next deployment: 1",
    ]
    assert "  task-definition/served:1 [in use: service]: error [root-user] " in done.stdout
    assert "  task-definition/mixed:1 [unused]: error [missing-user] " in done.stdout
    summary = lines[lines.index("Summary") :]
    assert "  accounts read               2 of 2" in summary
    assert "  task definitions            7 (2 in use)" in summary
    assert "    root-user                 3" in summary
    assert "  blocked at next deployment  2" in summary
    arguments = ["--region", REGION, "--accounts", f"{CALLER},{MEMBER}", "--role", ROLE]
    quiet = _audit(aws, *arguments, "-q").stdout.splitlines()
    assert [line for line in quiet if line.startswith("  task-definition/")] == []
    assert [line for line in quiet if line[:1].isdigit()] == headings
    assert quiet[quiet.index("Summary") :] == summary
    verbose = _audit(aws, *arguments, "-v").stdout
    assert "  task-definition/clean:1 [unused]: pass\n" in verbose


def test_csv_a_row_per_finding_and_no_formula(aws: dict[str, str]) -> None:  # noqa: F811
    ecs = session(aws).client("ecs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    container = {"name": "=HYPERLINK(1)", "image": "i:1", "user": "-1", "memory": 64}
    ecs.register_task_definition(family="odd", containerDefinitions=[container])
    ecs.register_task_definition(
        family="fine", containerDefinitions=[{**container, "name": "app", "user": "1000"}]
    )
    done = _audit(aws, "--region", REGION, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["family"], r["verdict"], r["rule"], r["container"], r["value"]) for r in rows] == [
        ("fine", "PASS", "", "", ""),
        ("odd", "FAIL", "uid-out-of-range", "'=HYPERLINK(1)", "'-1"),
    ]
    assert rows[1]["account"] == CALLER and rows[1]["arn"].endswith(":task-definition/odd:1")


@pytest.mark.parametrize("field", ["Title", "Description"])
def test_asff_findings_carry_what_security_hub_requires(
    aws: dict[str, str],  # noqa: F811
    field: str,
) -> None:
    """Each finding is valid input to BatchImportFindings (botocore's model of it: required
    fields and types), within the documented lengths, one per failing container."""
    from botocore.session import get_session  # type: ignore[import-untyped]
    from botocore.validate import ParamValidator  # type: ignore[import-untyped]

    register_fleet(aws)
    done = _audit(aws, "--region", REGION, "--format", "asff")
    findings = json.loads(done.stdout)
    model = get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()
    assert len(findings) == 3  # served (root), mixed: sidecar and log_router; clean: none
    assert len({f["Id"] for f in findings}) == 3
    limit = {"Title": 256, "Description": 1024}[field]
    assert all(len(f[field]) <= limit for f in findings)
    served = next(f for f in findings if f["ProductFields"]["ecs-nonroot/Rule"] == "root-user")
    assert served["Severity"] == {"Label": "HIGH"}
    assert served["ProductArn"] == f"arn:aws:securityhub:{REGION}:{CALLER}:product/{CALLER}/default"
    assert served["Resources"][0]["Type"] == "AwsEcsTaskDefinition"
    assert served["Remediation"]["Recommendation"]["Url"].endswith("/docs/rules/root-user.md")
    assert served["ProductFields"]["ecs-nonroot/BlockedAtNextDeployment"] == "yes"
    again = json.loads(_audit(aws, "--region", REGION, "--format", "asff").stdout)
    assert sorted(f["Id"] for f in again) == sorted(f["Id"] for f in findings)


def hub_findings(env: dict[str, str], account: str) -> list[dict[str, Any]]:
    client = session(env, account).client("securityhub", endpoint_url=env["AWS_ENDPOINT_URL"])
    return [f for page in client.get_paginator("get_findings").paginate() for f in page["Findings"]]


def test_security_hub_import_reimport_and_resolve(aws: dict[str, str]) -> None:  # noqa: F811
    """Findings go to each account's Security Hub (the member's through the role); a re-run
    updates them (same ids, CreatedAt kept), a throttled import is retried, and a finding whose
    task definition is gone is archived as compliant and its workflow set to RESOLVED."""
    register_fleet(aws)
    arguments = ["--region", REGION, "--accounts", f"{CALLER},{MEMBER}", "--role", ROLE]
    arguments += ["--format", "json", "--to-security-hub"]
    Faults.throttle_imports = 1
    first = _audit(aws, *arguments)
    assert first.returncode == 1, first.stderr
    assert "ecs-nonroot: Security Hub: 7 findings imported, 0 resolved" in first.stderr
    mine, member = hub_findings(aws, CALLER), hub_findings(aws, MEMBER)
    assert (len(mine), len(member)) == (3, 4)
    assert {f["AwsAccountId"] for f in member} == {MEMBER}
    assert Faults.throttle_imports == 0  # the throttled call was made, and retried
    created = {f["Id"]: f["CreatedAt"] for f in mine}

    again = _audit(aws, *arguments)
    assert "7 findings imported, 0 resolved" in again.stderr
    assert {f["Id"]: f["CreatedAt"] for f in hub_findings(aws, CALLER)} == created
    assert len(hub_findings(aws, MEMBER)) == 4
    assert Faults.workflow == []

    ecs = session(aws).client("ecs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    ecs.deregister_task_definition(taskDefinition="mixed:1")  # gone: its two findings resolve
    fixed = _audit(aws, *arguments)
    assert "5 findings imported, 2 resolved" in fixed.stderr
    archived = [f for f in hub_findings(aws, CALLER) if f["RecordState"] == "ARCHIVED"]
    assert {f["ProductFields"]["ecs-nonroot/Container"] for f in archived} == {
        "sidecar",
        "log_router",
    }
    assert {f["Compliance"]["Status"] for f in archived} == {"PASSED"}
    (update,) = Faults.workflow
    assert update["Workflow"] == {"Status": "RESOLVED"}
    assert sorted(i["Id"] for i in update["FindingIdentifiers"]) == sorted(
        f["Id"] for f in archived
    )
    assert len(hub_findings(aws, CALLER)) == 3  # updated, not added


def test_the_scale_benchmark_runs_small() -> None:
    """make bench-audit's run, at 3 accounts of 10 task definitions, without latency."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import audit_scale

    rows = audit_scale.measure(3, 10, 0.0, 0.0, 4)
    assert [(source, accounts, total) for source, accounts, total, *_ in rows] == [
        ("roles", 1, 10),
        ("config", 1, 10),
        ("roles", 3, 30),
        ("config", 3, 30),
    ]
    assert all(seconds > 0 and peak > 20 and cpu > 0 for *_, seconds, peak, cpu in rows)


def test_memory_does_not_grow_with_the_number_of_task_definitions(
    aws: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The config source over 600 and 6,000 task definitions: the same peak memory, give or
    take what one page and the interpreter's arenas hold (the records are on disk)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import audit_scale
    from measure import peak_of

    peaks = []
    for per_account in (10, 100):
        accounts = audit_scale.account_ids(60)
        items = audit_scale.config_items(accounts, per_account)
        with ConfigAggregator(AGGREGATOR, items) as standin:
            command = [str(Path(sys.executable).with_name("ecs-nonroot")), "audit"]
            command += ["--source", "config", "--aggregator", AGGREGATOR, "--format", "json"]
            with (tmp_path / "report.json").open("w") as out:
                _, peak, _, code, error = peak_of(command, config_env(aws, standin), out)
        assert code == 1, error
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["summary"]["taskDefinitions"] == 60 * per_account
        peaks.append(peak)
    assert peaks[1] - peaks[0] < 8, peaks  # MB; records kept in memory too: 10 MB more (measured)


def test_what_was_not_read_is_never_resolved(aws: dict[str, str]) -> None:  # noqa: F811
    """A stack whose template cannot be read this time, and stacks under the config source
    (which reads no stacks), keep their findings active."""
    from audit_demo import deploy

    deploy(aws, CALLER)
    first = _audit(aws, "--region", REGION, "--to-security-hub", "--format", "csv")
    assert "4 findings imported, 0 resolved" in first.stderr, first.stderr

    def active(kind: str) -> int:
        return sum(
            f["RecordState"] == "ACTIVE" and f["ProductFields"]["ecs-nonroot/Kind"] == kind
            for f in hub_findings(aws, CALLER)
        )

    assert (active("stack"), active("task-definition")) == (1, 3)
    Faults.deny_templates = True
    denied = _audit(aws, "--region", REGION, "--to-security-hub", "--format", "csv")
    assert denied.returncode == 2  # the stack could not be read
    assert "3 findings imported, 0 resolved" in denied.stderr
    assert active("stack") == 1
    Faults.deny_templates = False
    ecs = session(aws).client("ecs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    items = []
    for arn in ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]:
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        containers = [
            {"Name": c["name"], "Image": c["image"], **({"User": c["user"]} if "user" in c else {})}
            for c in definition["containerDefinitions"]
        ]
        items.append(
            {
                "accountId": CALLER,
                "awsRegion": REGION,
                "resourceType": "AWS::ECS::TaskDefinition",
                "arn": arn,
                "configuration": {"TaskDefinitionArn": arn, "ContainerDefinitions": containers},
            }
        )
    with ConfigAggregator(AGGREGATOR, items) as standin:
        arguments = ["--source", "config", "--aggregator", AGGREGATOR, "--to-security-hub"]
        from_config = _audit(config_env(aws, standin), *arguments)
    assert "3 findings imported, 0 resolved" in from_config.stderr, from_config.stderr
    assert (active("stack"), active("task-definition")) == (1, 3)


def test_findings_go_to_security_hub_in_batches_of_100(aws: dict[str, str]) -> None:  # noqa: F811
    ecs = session(aws).client("ecs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    root = [{"name": f"c{n}", "image": "i:1", "user": "0", "memory": 8} for n in range(10)]
    for _ in range(15):  # 150 failing containers
        ecs.register_task_definition(family="many", containerDefinitions=root)
    Faults.seen = []
    done = _audit(aws, "--region", REGION, "--to-security-hub", "--format", "csv")
    assert "150 findings imported, 0 resolved" in done.stderr, done.stderr
    assert Faults.seen.count("securityhub:BatchImportFindings") == 2
    assert len(hub_findings(aws, CALLER)) == 150


def test_config_rows_of_a_shape_not_expected_are_errors_never_passes(
    aws: dict[str, str],  # noqa: F811
) -> None:
    base = {
        "accountId": CALLER,
        "awsRegion": REGION,
        "resourceType": "AWS::ECS::TaskDefinition",
        "arn": f"arn:aws:ecs:{REGION}:{CALLER}:task-definition/odd:1",
    }
    odd = base["arn"].removesuffix("1")
    weird = ["text", {"Image": "i:1", "User": "1000"}]
    items: list[dict[str, Any]] = [
        {**base, "configuration": "not an object"},
        {**base, "arn": f"{odd}2", "configuration": {"ContainerDefinitions": {"Name": "x"}}},
        {**base, "arn": f"{odd}3", "configuration": {"ContainerDefinitions": weird}},
    ]
    empty: dict[str, Any] = {"ContainerDefinitions": []}
    items.append({**base, "arn": f"{odd}4", "tags": 5, "configuration": empty})
    garbage = ["not json {", "[1, 2]", '"a string"']
    with ConfigAggregator(AGGREGATOR, items, garbage=garbage) as standin:
        code, document, stderr = run_audit(
            config_env(aws, standin), "--source", "config", "--aggregator", AGGREGATOR
        )
    assert code == 2, stderr  # something could not be read: never a pass, never a traceback
    verdicts = [(i["family"], i["revision"], i["verdict"]) for i in document["items"]]
    assert verdicts == [
        ("odd", 1, "ERROR"),
        ("odd", 2, "ERROR"),
        ("odd", 3, "FAIL"),
        ("odd", 4, "PASS"),  # tags of no known shape: none
        ("unknown", None, "ERROR"),
        ("unknown", None, "ERROR"),
        ("unknown", None, "ERROR"),
    ]


def test_another_account_without_a_role_is_unreadable_not_the_callers(
    aws: dict[str, str],  # noqa: F811
) -> None:
    """Without --role, the caller's credentials would read the caller's account again and
    report it as the other's."""
    register_fleet(aws)
    code, document, stderr = run_audit(aws, "--region", REGION, "--accounts", f"{CALLER},{MEMBER}")
    assert code == 3, stderr
    assert {item["account"] for item in document["items"]} == {CALLER}
    reason = f"cannot be read: no --role to read account {MEMBER} with"
    assert document["unreadable"] == [{"account": MEMBER, "region": REGION, "reason": reason}]


def test_csv_cells_escape_terminal_sequences(aws: dict[str, str]) -> None:  # noqa: F811
    ecs = session(aws).client("ecs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    container = {"name": "a\x1b]0;owned\x07", "image": "i:1", "user": "0\x1b[2J", "memory": 8}
    ecs.register_task_definition(family="odd", containerDefinitions=[container])
    done = _audit(aws, "--region", REGION, "--format", "csv")
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "a\\x1b]0;owned\\x07" in done.stdout
