"""Exemptions and the per-resource exception, the same in every layer and visible in every
output: entries tied to an image with a reason, the ready configurations, the exception tag."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from guardrails_ecs_nonrootuser import stack
from guardrails_ecs_nonrootuser.cli import main
from guardrails_ecs_nonrootuser.policy import ConfigError, Settings, evaluate
from guardrails_ecs_nonrootuser.scan import SKIPPED_CONTAINER, globs_meet

ROOT = Path(__file__).resolve().parent.parent
KEY = "guardrails:nonroot-exception"
ROUTER = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4"
ENTRY = {"ContainerName": "log_router", "Image": "*aws-for-fluent-bit:*", "Reason": "SEC-42 router"}

EXEMPT_TEMPLATE = f"""\
Resources:
  Web:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: registry.example/app:1
          User: "1000:1000"
        - Name: log_router
          Image: {ROUTER}
  Impostor:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: log_router
          Image: public.ecr.aws/nginx/nginx:1
          User: "0"
"""

TAGGED_TEMPLATE = f"""\
Parameters:
  Reason:
    Type: String
  Secret:
    Type: String
    NoEcho: true
    Default: hidden-reason-value
Conditions:
  Excepted: !Equals [!Ref Reason, approved]
Resources:
  Literal:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Tags:
        - {{Key: team, Value: web}}
        - {{Key: "{KEY}", Value: "SEC-7 legacy image"}}
      ContainerDefinitions:
        - {{Name: legacy, Image: registry.example/legacy:1, User: "0"}}
  FromParameter:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Tags: [{{Key: "{KEY}", Value: !Ref Reason}}]
      ContainerDefinitions:
        - {{Name: legacy, Image: registry.example/legacy:1, User: "0"}}
        - {{Name: fine, Image: registry.example/app:1, User: "1000"}}
  FromNoEcho:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Tags: [{{Key: "{KEY}", Value: !Ref Secret}}]
      ContainerDefinitions:
        - {{Name: legacy, Image: registry.example/legacy:1, User: "0"}}
  Conditional:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Tags: !If [Excepted, [{{Key: "{KEY}", Value: "SEC-8"}}], !Ref AWS::NoValue]
      ContainerDefinitions:
        - {{Name: legacy, Image: registry.example/legacy:1, User: "0"}}
  BlankReason:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Tags: [{{Key: "{KEY}", Value: " "}}]
      ContainerDefinitions:
        - {{Name: legacy, Image: registry.example/legacy:1, User: "0"}}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def write(tmp_path: Path, text: str, config: dict[str, Any]) -> tuple[str, str]:
    template, configuration = tmp_path / "template.yaml", tmp_path / "config.json"
    template.write_text(text, encoding="utf-8")
    configuration.write_text(json.dumps(config), encoding="utf-8")
    return str(template), str(configuration)


def verdicts(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (t["logicalId"], c["name"]): c["verdict"]
        for f in document["files"]
        for t in f["taskDefinitions"]
        for c in t["containers"]
    }


def test_a_name_tied_to_an_image_skips_the_router_and_decides_the_impostor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, config = write(tmp_path, EXEMPT_TEMPLATE, {"Exemptions": [ENTRY]})
    code, out = run(capsys, template, "--config", config, "--format", "json")
    assert code == 1
    assert verdicts(json.loads(out)) == {
        ("Web", "app"): "PASS",
        ("Web", "log_router"): "SKIP",
        ("Impostor", "log_router"): "FAIL",
    }


SKIP_TEXT = (
    'Skipped container "log_router" (#1): exempt by Exemptions[0] (ContainerName "log_router", '
    'Image "*aws-for-fluent-bit:*"): "SEC-42 router".'
)


@pytest.mark.parametrize("form", ["text", "json", "sarif", "github", "junit"])
def test_every_output_shows_a_skipped_container_with_its_entry_and_reason(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, config = write(tmp_path, EXEMPT_TEMPLATE, {"Exemptions": [ENTRY]})
    code, out = run(capsys, template, "--config", config, "--format", form)
    assert code == 1
    if form == "json":
        (finding,) = [
            f
            for f in json.loads(out)["files"][0]["taskDefinitions"][0]["findings"]
            if f["rule"] == SKIPPED_CONTAINER
        ]
        assert (finding["message"], finding["level"], finding["line"]) == (SKIP_TEXT, "note", 9)
        assert finding["value"] is None  # no User written
    elif form == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert {"ruleId": SKIPPED_CONTAINER, "level": "note", "text": SKIP_TEXT} in [
            {"ruleId": r["ruleId"], "level": r["level"], "text": r["message"]["text"]}
            for r in results
        ]
    elif form == "junit":
        suite = ElementTree.fromstring(out.split("\n", 1)[1])
        (web,) = [case for case in suite if case.get("name") == "Web"]
        assert SKIP_TEXT in (web.findtext("system-out") or "")
        assert web.find("failure") is None
        (impostor,) = [case for case in suite if case.get("name") == "Impostor"]
        assert [child.tag for child in impostor] == ["failure"]
    elif form == "github":  # only with --verbose: GitHub shows 10 annotations of a kind
        assert f"title=ecs-nonroot {SKIPPED_CONTAINER}" not in out
        _, out = run(capsys, template, "--config", config, "--format", form, "--verbose")
        assert (
            f"::notice file={template.replace(':', '%3A')},line=9,col=11,"
            f"title=ecs-nonroot {SKIPPED_CONTAINER}::Web: {SKIP_TEXT}"
        ) in out.splitlines()
    else:  # the entry and reason in a few words; all of it with --verbose
        brief = 'Skipped container "log_router": exempt by Exemptions[0]: "SEC-42 router".'
        assert f"{template}:9:11: note [{SKIPPED_CONTAINER}] Web: {brief}" in out.splitlines()
        _, out = run(capsys, template, "--config", config, "--verbose")
        assert f"    {SKIP_TEXT}" in out.splitlines()


def test_json_findings_carry_the_value_decided(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, _ = write(tmp_path, EXEMPT_TEMPLATE, {})
    _, out = run(capsys, template, "--format", "json")
    values = {
        (t["logicalId"], f["rule"]): f["value"]
        for t in json.loads(out)["files"][0]["taskDefinitions"]
        for f in t["findings"]
    }
    assert values == {("Web", "missing-user"): None, ("Impostor", "root-user"): "0"}


def test_the_exception_tag_in_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Off unless configured; a literal tag excepts; one from a parameter with no value, or
    from a NoEcho parameter, cannot be verified (never shown); under a condition, the worst."""
    template, config = write(tmp_path, TAGGED_TEMPLATE, {"ExceptionTagKey": KEY})
    _, out = run(capsys, template, "--format", "json")
    assert set(verdicts(json.loads(out)).values()) == {"FAIL", "PASS"}  # not configured
    code, out = run(capsys, template, "--config", config, "--format", "json")
    assert code == 1
    assert "hidden-reason-value" not in out
    document = json.loads(out)
    assert verdicts(document) == {
        ("Literal", "legacy"): "SKIP",
        ("FromParameter", "legacy"): "UNRESOLVED",
        ("FromParameter", "fine"): "PASS",
        ("FromNoEcho", "legacy"): "UNRESOLVED",
        ("Conditional", "legacy"): "FAIL",
        ("BlankReason", "legacy"): "FAIL",
    }
    messages = [
        f["message"]
        for t in document["files"][0]["taskDefinitions"]
        if t["logicalId"] == "FromParameter"
        for f in t["findings"]
    ]
    assert messages == [
        'Cannot verify: container "legacy" (#0) User "0": uid 0 is root. It passes only if the '
        f"exception tag {KEY} excepts its task definition, and whether it does cannot be "
        "resolved: Tags: parameter Reason has no Default. Fix: set User to a non-root uid and "
        'gid, e.g. "1000:1000"; or give its value with --parameter Reason=VALUE, or use a literal.'
    ]
    _, out = run(
        capsys,
        template,
        "--exception-tag-key",
        KEY,
        "--parameter",
        "Reason=approved",
        "--format",
        "json",
    )
    found = verdicts(json.loads(out))
    assert (found[("FromParameter", "legacy")], found[("Conditional", "legacy")]) == (
        "SKIP",
        "SKIP",
    )


def test_the_stack_layer_and_the_hook_agree_on_the_exception_tag() -> None:
    """At the stack layer parameters have no value: a tag from one leaves the container to the
    resource layer, which sees the resolved tag, as the command does with --parameter."""
    settings = Settings.from_mapping({"ExceptionTagKey": KEY})
    outcome = stack.check_stack({"template": TAGGED_TEMPLATE}, settings)
    failed = {(item.logical_id, item.status) for item in outcome.items}
    assert ("Literal", stack.FAIL) not in failed
    assert ("FromParameter", stack.FAIL) not in failed
    assert ("BlankReason", stack.FAIL) in failed
    resolved = {
        "Tags": [{"Key": KEY, "Value": "SEC-7"}],
        "ContainerDefinitions": [{"Name": "legacy", "Image": "x", "User": "0"}],
    }
    assert evaluate(resolved, settings).compliant
    assert not evaluate({**resolved, "Tags": [{"Key": KEY, "Value": ""}]}, settings).compliant


@pytest.mark.parametrize(
    ("image", "user", "verdict"),
    [
        pytest.param(ROUTER, None, "SKIP", id="official-router"),
        pytest.param(ROUTER.replace(":2.32.4", "@sha256:" + "a" * 64), None, "SKIP", id="digest"),
        pytest.param("amazon/aws-for-fluent-bit:stable", None, "SKIP", id="docker-hub"),
        pytest.param("public.ecr.aws/nginx/nginx:1", "0", "FAIL", id="nginx-named-log_router"),
        pytest.param(
            "public.ecr.aws/aws-observability/aws-for-fluent-bit-debug:1", None, "FAIL", id="prefix"
        ),
        pytest.param("evil.example/amazon/aws-for-fluent-bit:1", None, "FAIL", id="other-registry"),
    ],
)
@pytest.mark.parametrize("mode", ["audit", "enforce"])
def test_ready_configurations_exempt_by_image_not_by_name(
    mode: str, image: str, user: str | None, verdict: str
) -> None:
    document = json.loads((ROOT / "deploy" / "config" / f"{mode}.json").read_text("utf-8"))
    settings = Settings.from_mapping(
        document["CloudFormationConfiguration"]["HookConfiguration"]["Properties"]
    )
    container = {"Name": "log_router", "Image": image, **({"User": user} if user else {})}
    (result,) = evaluate({"ContainerDefinitions": [container]}, settings).results
    assert result.verdict.value == verdict


def test_cfn_lint_reports_the_failure_not_the_exemption(tmp_path: Path) -> None:
    """cfn-lint exits non-zero on any match, informational ones too: a skipped container is
    none, so an exempted template passes cfn-lint as it passes the command."""
    template, config = write(tmp_path, EXEMPT_TEMPLATE, {"Exemptions": [ENTRY]})
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            template,
            "--format",
            "json",
            "--append-rules",
            "guardrails_ecs_nonrootuser.cfn_lint_rule",
            "--configure-rule",
            f"E9101:config={config}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    matches = [m for m in json.loads(result.stdout) if m["Rule"]["Id"].endswith("9101")]
    assert [(m["Rule"]["Id"], m["Location"]["Start"]["LineNumber"]) for m in matches] == [
        ("E9101", 17)
    ]


def test_junit_puts_the_failure_before_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JUnit's schema orders a test case's failure before its system-out."""
    both = EXEMPT_TEMPLATE.replace('User: "1000:1000"', 'User: "0"')
    template, config = write(tmp_path, both, {"Exemptions": [ENTRY]})
    _, out = run(capsys, template, "--config", config, "--format", "junit")
    suite = ElementTree.fromstring(out.split("\n", 1)[1])
    (web,) = [case for case in suite if case.get("name") == "Web"]
    assert [child.tag for child in web] == ["failure", "system-out"]


EXEMPTING = {
    "Exemptions": [
        {"ContainerName": "log_router", "Image": "*aws-for-fluent-bit:*", "Reason": "r"},
    ],
    "ExceptionTagKey": "nonroot-exception",
}


def test_what_may_be_exempt_is_never_failed_at_the_stack_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exemption or the tag that depends on a value the check cannot resolve: the command
    reports it unverified (never skipped, never a plain failure), and the stack layer, which
    resolves no parameter, fails only what no deployment exempts."""
    fixture = ROOT / "tests" / "fixtures" / "hostile" / "exemptions.yaml"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(EXEMPTING), encoding="utf-8")
    code, out = run(capsys, str(fixture), "--config", str(config), "--format", "json")
    assert code == 1 and "not-to-be-shown" not in out
    assert {logical_id: v for (logical_id, _), v in verdicts(json.loads(out)).items()} == {
        "ImageFromParameterDefault": "SKIP",
        "ImageFromParameterNoDefault": "UNRESOLVED",
        "NameFromParameter": "SKIP",
        "NameFromParameterOtherImage": "FAIL",
        "ConditionalImage": "FAIL",
        "TagFromParameter": "UNRESOLVED",
        "TagFromNoEcho": "UNRESOLVED",
        "TagUnderCondition": "FAIL",
        "TagLiteral": "SKIP",
        "Plain": "FAIL",
    }
    outcome = stack.check_stack(
        {"template": fixture.read_text("utf-8")}, Settings.from_mapping(EXEMPTING)
    )
    assert {item.logical_id for item in outcome.items if item.status == stack.FAIL} == {
        "NameFromParameterOtherImage",
        "Plain",
    }
    assert "not-to-be-shown" not in outcome.message


@pytest.mark.parametrize(
    ("pattern", "shape", "meet"),
    [
        pytest.param("log_router", "*", True, id="unknown-meets-anything"),
        pytest.param("log_router", "app-*", False, id="literal-prefix-differs"),
        pytest.param(
            "public.ecr.aws/aws-observability/aws-for-fluent-bit[:@]*",
            "[0-9]" * 12 + ".dkr.ecr.[a-z]*.amazonaws.com/app:*",
            False,
            id="an-account-id-is-digits",
        ),
        pytest.param(
            "*aws-for-fluent-bit:*",
            "[0-9]" * 12 + ".dkr.ecr.[a-z]*.amazonaws.com/aws-for-fluent-bit:*",
            True,
            id="regional-router",
        ),
        pytest.param("a[b]c", "a[!b]c", False, id="classes-apart"),
        pytest.param("a?c", "a[!b]c", True, id="any-character"),
        pytest.param("abc*", "*xyz", True, id="stars-on-both-sides"),
        pytest.param("*a*b*c", "*c*b*a", False, id="different-last-characters"),
        pytest.param("x", "", False, id="empty-shape"),
        pytest.param("[*]", "*", True, id="escaped-star"),
        pytest.param("*a" * 200 + "b", "*a" * 200 + "c", True, id="too-large-taken-to-meet"),
    ],
)
def test_globs_meet_exactly_when_some_text_matches_both(
    pattern: str, shape: str, meet: bool
) -> None:
    """Whether an exemption may match a value known only in part; a brute-force check over short
    texts confirms every "no" of the cases over few characters."""
    assert globs_meet(pattern, shape) is meet
    if not meet and len(set(pattern + shape)) <= 8:
        import fnmatch
        import itertools

        alphabet = sorted(set(pattern + shape) - set("*?[]!") | {"/", "0"})
        for size in range(6):
            for letters in itertools.product(alphabet, repeat=size):
                text = "".join(letters)
                assert not (fnmatch.fnmatchcase(text, pattern) and fnmatch.fnmatchcase(text, shape))


ECR_APP = """\
Resources:
  Web:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: !Sub "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/app:1"
        - Name: router
          Image: !Sub "${Registry}/aws-for-fluent-bit:2"
Parameters:
  Registry:
    Type: String
"""
READY = json.loads((ROOT / "deploy" / "config" / "enforce.json").read_text("utf-8"))[
    "CloudFormationConfiguration"
]["HookConfiguration"]["Properties"]


def test_an_image_known_in_part_keeps_its_violation_unless_an_exemption_may_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under the ready configuration (AWS's public router images exempt): an ECR image that
    starts with the account id cannot be one of them, so its container keeps its violation; a
    router whose registry is a parameter with no value may be, so it is unverified; the stack
    layer fails only the app."""
    template, configuration = write(tmp_path, ECR_APP, READY)
    code, out = run(capsys, template, "--config", configuration, "--format", "json")
    findings = {
        f["container"]: f for f in json.loads(out)["files"][0]["taskDefinitions"][0]["findings"]
    }
    assert (code, findings[0]["rule"], findings[1]["rule"]) == (
        1,
        "missing-user",
        "unresolved-value",
    )
    message = findings[1]["message"]
    assert "It passes only if Exemptions[0] exempts it" in message
    assert 'Fix: set User to a non-root uid and gid, e.g. "1000:1000"; or give' in message
    outcome = stack.check_stack({"template": ECR_APP}, Settings.from_mapping(READY))
    assert {(i.container, i.status) for i in outcome.items} == {
        (0, stack.FAIL),
        (1, stack.UNVERIFIED),
    }


def many_unresolved_images(count: int, shape: str) -> str:
    rows = [
        "Parameters:",
        "  P: {Type: String}",
        "Resources:",
        "  Task:",
        "    Type: AWS::ECS::TaskDefinition",
        "    Properties:",
        "      ContainerDefinitions:",
    ]
    rows += [f'        - {{Name: c{i}, Image: !Sub "${{P}}{shape}{i}"}}' for i in range(count)]
    return "\n".join(rows) + "\n"


def test_deciding_whether_exemptions_may_match_spends_the_templates_budget() -> None:
    """Exemptions full of wildcards against values known in part: the stack layer stops at its
    deadline, the rest left to the resource layer; ordinary ones cost next to nothing."""
    import time

    heavy = Settings.from_mapping(
        {"Exemptions": [{"Image": "*a" * 60 + f"b{i}", "Reason": "r"} for i in range(100)]}
    )
    template = many_unresolved_images(200, "xa" * 60)
    started = time.perf_counter()
    outcome = stack.check_stack(
        {"template": template}, heavy, stack.Known(deadline=time.monotonic() + 0.5)
    )
    assert time.perf_counter() - started < 2
    assert [item.status for item in outcome.items] == [stack.UNVERIFIED]
    assert "takes longer than the time left" in outcome.items[0].message
    ordinary = Settings.from_mapping(
        {
            "Exemptions": [
                {"Image": f"registry.example/agent{i}:*", "Reason": "r"} for i in range(10)
            ]
        }
    )
    started = time.perf_counter()
    outcome = stack.check_stack({"template": many_unresolved_images(200, "/app:")}, ordinary)
    assert time.perf_counter() - started < 2
    assert len(outcome.items) == 200  # each container unverified on its own
    assert {item.status for item in outcome.items} == {stack.UNVERIFIED}


CONFIGURATION_SCHEMA = json.loads(
    (ROOT / "guardrails-ecs-nonrootuser-configuration.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({"Exemptions": [{"Image": "x", "Reason": " "}]}, id="blank-reason"),
        pytest.param({"Exemptions": [{"Reason": "r"}]}, id="no-pattern"),
        pytest.param({"Exemptions": [{"Image": "x"}]}, id="no-reason"),
        pytest.param({"Exemptions": [{"Image": "x", "Reason": "r", "Name": "y"}]}, id="unknown"),
        pytest.param({"Exemptions": [{"Image": "", "Reason": "r"}]}, id="empty-pattern"),
        pytest.param({"ExceptionTagKey": " padded"}, id="padded-tag-key"),
        pytest.param({"ExceptionTagKey": ""}, id="empty-tag-key"),
    ],
)
def test_what_the_policy_refuses_set_type_configuration_refuses_too(properties: Any) -> None:
    """A configuration the hook refuses fails every invocation; what the schema can express,
    CloudFormation refuses when the configuration is set, before any deployment."""
    import jsonschema

    with pytest.raises(ConfigError):
        Settings.from_mapping(properties)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(properties, CONFIGURATION_SCHEMA)


def test_the_schema_accepts_the_ready_configurations_exemptions() -> None:
    import jsonschema

    jsonschema.validate({**READY, "ExceptionTagKey": KEY}, CONFIGURATION_SCHEMA)
