"""Generate the benchmark corpus, with the verdict each task definition must get.

Written to a directory (not committed): one.yaml (one task definition), typical.yaml (20),
large.yaml and large.json (500 resources, about 1 MB: 100 task definitions of 10 containers),
containers.json (one task definition of 40,000 containers, minified: 1.3 MB), tree/ (1,000 small
templates), and expected.json: file -> logical id -> PASS or FAIL under the
hook's default configuration. The verdicts come from the table below, written from the policy's
rules, not computed by the code under test.
"""

import json
import random
import sys
from pathlib import Path
from typing import Any

# (User as written in YAML or None for no User, the same value in JSON form, verdict)
USERS: list[tuple[str | None, Any, str]] = [
    ('"1000:1000"', "1000:1000", "PASS"),
    ('"1010"', "1010", "PASS"),
    ("node", "node", "PASS"),
    ('"nonroot"', "nonroot", "PASS"),
    ('"101:101"', "101:101", "PASS"),
    ('"rootless"', "rootless", "PASS"),
    ("!Ref AppUser", {"Ref": "AppUser"}, "PASS"),
    ('!Sub "${AppUid}:${AppUid}"', {"Fn::Sub": "${AppUid}:${AppUid}"}, "PASS"),
    (None, None, "FAIL"),
    ('"0"', "0", "FAIL"),
    ('"00"', "00", "FAIL"),
    ('"+0"', "+0", "FAIL"),
    ("root", "root", "FAIL"),
    ('"ROOT"', "ROOT", "FAIL"),
    ('"bin:root"', "bin:root", "FAIL"),
    ('"1000:0"', "1000:0", "FAIL"),
    ('":1000"', ":1000", "FAIL"),
    ('"1000:"', "1000:", "FAIL"),
    ("!Ref RootUser", {"Ref": "RootUser"}, "FAIL"),
    ('!Sub "${AppUid}:0"', {"Fn::Sub": "${AppUid}:0"}, "FAIL"),
]
PARAMETERS = {
    "AppUser": {"Type": "String", "Default": "1000:1000"},
    "RootUser": {"Type": "String", "Default": "0"},
    "AppUid": {"Type": "Number", "Default": "1000"},
}


def template(
    rng: random.Random, task_definitions: int, containers: int, others: int, environment: int
) -> tuple[dict[str, Any], str, dict[str, str]]:
    """A template as JSON (long-form intrinsics), as YAML (short form), and its verdicts."""
    resources: dict[str, Any] = {}
    yaml = ['AWSTemplateFormatVersion: "2010-09-09"', "Parameters:"]
    for name, spec in PARAMETERS.items():
        yaml.append(f'  {name}: {{Type: {spec["Type"]}, Default: "{spec["Default"]}"}}')
    yaml.append("Resources:")
    expected = {}
    passing = [u for u in USERS if u[2] == "PASS"]
    for index in range(task_definitions):
        logical_id = f"Task{index:03}"
        # about half of the task definitions get one offending container
        chosen = [rng.choice(passing) for _ in range(containers)]
        if rng.random() < 0.5:
            chosen[rng.randrange(containers)] = rng.choice(USERS)
        expected[logical_id] = "FAIL" if any(u[2] == "FAIL" for u in chosen) else "PASS"
        yaml += [
            f"  {logical_id}:",
            "    Type: AWS::ECS::TaskDefinition",
            "    Properties:",
            f"      Family: family-{index}",
            "      ContainerDefinitions:",
        ]
        definitions = []
        for number, (yaml_user, json_user, _) in enumerate(chosen):
            name, image = f"container{number}", f"registry.example.com/team/app{number}:1.{index}"
            yaml += [
                f"        - Name: {name}",
                f"          Image: {image}",
                "          Essential: true",
            ]
            definition: dict[str, Any] = {"Name": name, "Image": image, "Essential": True}
            if yaml_user is not None:
                yaml.append(f"          User: {yaml_user}")
                definition["User"] = json_user
            if environment:
                yaml.append("          Environment:")
                definition["Environment"] = []
                for variable in range(environment):
                    value = f"value-{variable}-" + "x" * 24
                    yaml += [
                        f"            - Name: SETTING_{variable}",
                        f"              Value: {value}",
                    ]
                    definition["Environment"].append(
                        {"Name": f"SETTING_{variable}", "Value": value}
                    )
            definitions.append(definition)
        resources[logical_id] = {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {"Family": f"family-{index}", "ContainerDefinitions": definitions},
        }
    for index in range(others):
        logical_id = f"Queue{index:03}"
        yaml += [
            f"  {logical_id}:",
            "    Type: AWS::SQS::Queue",
            "    Properties:",
            f"      QueueName: !Sub queue-{index}-${{AWS::StackName}}",
            "      VisibilityTimeout: 60",
            "      Tags:",
            "        - Key: team",
            f"          Value: team-{index % 7}",
        ]
        resources[logical_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": f"queue-{index}-${{AWS::StackName}}"},
                "VisibilityTimeout": 60,
                "Tags": [{"Key": "team", "Value": f"team-{index % 7}"}],
            },
        }
    document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": PARAMETERS,
        "Resources": resources,
    }
    return document, "\n".join(yaml) + "\n", expected


def main(directory: str) -> None:
    out = Path(directory)
    (out / "tree").mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261123)
    expected: dict[str, dict[str, str]] = {}
    cases = {"one": (1, 1, 0, 0), "typical": (20, 3, 30, 4), "large": (100, 10, 400, 4)}
    for name, shape in cases.items():
        document, yaml, verdicts = template(rng, *shape)
        (out / f"{name}.yaml").write_text(yaml, encoding="utf-8")
        expected[f"{name}.yaml"] = verdicts
        if name == "large":
            (out / "large.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
            expected["large.json"] = verdicts
    containers = [{"Name": f"c{i}", "User": str(1000 + i % 7)} for i in range(40_000)]
    containers[rng.randrange(len(containers))]["User"] = "0"
    wide = {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": containers}}
    (out / "containers.json").write_text(
        json.dumps({"Resources": {"Wide": wide}}, separators=(",", ":")), encoding="utf-8"
    )
    expected["containers.json"] = {"Wide": "FAIL"}
    for index in range(1000):
        document, yaml, verdicts = template(rng, rng.randint(1, 2), rng.randint(1, 3), 3, 0)
        path = f"tree/stack{index:04}.yaml"
        (out / path).write_text(yaml, encoding="utf-8")
        expected[path] = verdicts
    (out / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".cache/bench")
