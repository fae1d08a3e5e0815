"""Show the hook deciding on sample task definitions through its real Lambda entrypoint, then on
the templates in examples/ as a stack's template, then the same policy as a command over them
(with the repository's .ecs-nonroot.json, found by itself)."""

import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from hook_event import hook_event, task_definition, template_event

from guardrails_ecs_nonrootuser import handlers

FLUENT_BIT = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
READY = json.loads(
    (Path(__file__).resolve().parent.parent / "deploy" / "config" / "enforce.json").read_text(
        encoding="utf-8"
    )
)["CloudFormationConfiguration"]["HookConfiguration"]["Properties"]
"""The ready configuration's properties (deploy/config/enforce.json)."""

# (what the case shows, task definition properties, type configuration)
CASES: list[tuple[str, Any, Any]] = [
    ('User "1010" (published sample)', task_definition("1010"), None),
    ('User "1010:1010" (published sample)', task_definition("1010:1010"), None),
    ('User "node:node" (published sample)', task_definition("node:node"), None),
    ('User "nonroot" (distroless: only contains "root")', task_definition("nonroot"), None),
    ("User not set (published sample)", task_definition(...), None),
    ('User "0" (published sample)', task_definition("0"), None),
    ('User "root" (published sample)', task_definition("root"), None),
    ('User "bin:root" (published sample)', task_definition("bin:root"), None),
    ('User "00" (Atoi reads uid 0)', task_definition("00"), None),
    ('User "1000:0" (root group)', task_definition("1000:0"), None),
    ('User ":1000" (empty user part)', task_definition(":1000"), None),
    ("two containers, one offender", task_definition("1000:1000", "+0"), None),
    (
        "log router exempted by image, with a reason",
        {
            "ContainerDefinitions": [
                {"Name": "app", "Image": "app:1", "User": "1000:1000"},
                {"Name": "log_router", "Image": FLUENT_BIT},
            ]
        },
        READY,
    ),
    (
        "a container named log_router running nginx as root",
        {
            "ContainerDefinitions": [
                {"Name": "log_router", "Image": "public.ecr.aws/nginx/nginx:1", "User": "0"}
            ]
        },
        READY,
    ),
    (
        "Windows, ContainerAdministrator",
        task_definition("ContainerAdministrator", windows=True),
        None,
    ),
    ("Windows, ContainerUser", task_definition("ContainerUser", windows=True), None),
    (
        "User not set, WarnOnly: missing-user (phased)",
        task_definition("1000:1000", ...),
        {**READY, "WarnOnly": ["missing-user"]},
    ),
    ("invalid configuration", task_definition("1000"), {"MinimumUid": "lots"}),
]


def main() -> None:
    # cloudformation-cli-python-lib 2.1.20 calls the deprecated datetime.utcnow().
    warnings.filterwarnings("ignore", "datetime.datetime.utcnow", DeprecationWarning)
    print("Guardrails::ECS::NonRootUser, decided by handlers.hook (the Lambda entrypoint)\n")
    for title, properties, configuration in CASES:
        response = handlers.hook(hook_event(properties, configuration), None)
        verdict = response["hookStatus"]
        if "errorCode" in response:
            verdict += f" ({response['errorCode']})"
        print(f"{title:<52} {verdict}")
        print(f"    {response['message']}")
    examples = Path(__file__).resolve().parent.parent / "examples"
    print("\nThe same templates as a stack's template (the STACK target), before any resource:\n")
    configuration = json.loads((examples / "hook-config.json").read_text(encoding="utf-8"))
    properties = configuration["CloudFormationConfiguration"]["HookConfiguration"]["Properties"]
    for template in ("compliant.yaml", "noncompliant.yaml"):
        event = template_event("STACK", "https://unused.example", properties)
        text = (examples / template).read_text(encoding="utf-8")
        event["requestData"].update(targetModel={"template": text}, payload=None)
        response = handlers.hook(event, None)
        print(f"examples/{template:<40} {response['hookStatus']}")
        print(f"    {response['message']}")
        for annotation in response.get("annotations", []):
            print(f"    {annotation['status']:<7} {annotation['statusMessage']}")
    command = Path(sys.executable).with_name("ecs-nonroot")
    print("\nThe command, with the repository's .ecs-nonroot.json (the ready configuration):")
    for arguments in (
        ["check", "examples/compliant.yaml"],
        ["check", "examples/noncompliant.yaml"],
        ["check", "examples", "--warn-only", "missing-user", "--quiet"],
    ):
        print(f"\n$ ecs-nonroot {' '.join(arguments)}", flush=True)
        status = subprocess.run([command, *arguments], cwd=examples.parent, check=False)
        print(f"(exit code {status.returncode})")


def images() -> None:
    """Rule r: a container that sets no User, decided by its image's USER, read from a real
    registry on 127.0.0.1 that this starts and stops (scripts/local_registry.py)."""
    from local_registry import Image, local_registry, missing_tools

    print("\nImageVerification: a container without User is decided by its image's own USER")
    missing = missing_tools()
    if missing:
        print(f"    (not shown: {', '.join(missing)} not installed; make registry-tools does it)")
        return
    with tempfile.TemporaryDirectory() as work, local_registry(Path(work)) as registry:
        os.environ["SSL_CERT_FILE"] = str(registry.ca_file)  # the registry's test CA
        print(f"    a registry on {registry.host}, with two images built and pushed:")
        app = f"{registry.host}/public/app:1.0"
        legacy = f"{registry.host}/public/legacy:1.0"
        registry.push("public/app", "1.0", Image("10001:10001"))
        registry.push("public/legacy", "1.0", Image(None))
        print(f"    {app} (USER 10001:10001), {legacy} (no USER)\n")
        for title, image in (("image sets USER 10001:10001", app), ("image sets no USER", legacy)):
            properties = {"ContainerDefinitions": [{"Name": "web", "Image": image}]}
            response = handlers.hook(hook_event(properties, {"ImageVerification": "TAG"}), None)
            print(f"User not set, {title:<38} {response['hookStatus']}")
            print(f"    {response['message']}")
            for annotation in response.get("annotations", []):
                print(f"    {annotation['status']:<7} {annotation['statusMessage']}")
        template = Path(work) / "service.yaml"
        template.write_text(
            "Resources:\n  Service:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
            "      ContainerDefinitions:\n"
            f"        - {{Name: web, Image: '{app}'}}\n"
            f"        - {{Name: worker, Image: '{legacy}'}}\n",
            encoding="utf-8",
        )
        command = Path(sys.executable).with_name("ecs-nonroot")
        print("\n$ ecs-nonroot check --image-verification TAG service.yaml", flush=True)
        status = subprocess.run(
            [command, "check", "--no-config", "--image-verification", "TAG", "service.yaml"],
            cwd=work,
            check=False,
        )
        print(f"(exit code {status.returncode})")


if __name__ == "__main__":
    main()
    images()
