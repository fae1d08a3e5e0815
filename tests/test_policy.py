"""The policy's rules, one table row per scenario; ids name the rule (see policy's docstring)."""

from typing import Any

import pytest

from guardrails_ecs_nonrootuser.policy import (
    MESSAGE_LIMIT,
    ConfigError,
    Exemption,
    MalformedTaskDefinitionError,
    Report,
    Rule,
    Settings,
    Verdict,
    WindowsMode,
    check_linux_user,
    check_windows_user,
    evaluate,
)

STRICT = Settings()

# (id, User value, settings, expected rule or None for PASS)
# Resolution follows runc's libcontainer/user GetExecUser: split at ':', strconv.Atoi decides
# whether a part is numeric, uid/gid must be within 0..2147483647.
LINUX_CASES: list[tuple[str, Any, Settings, Rule | None]] = [
    # published samples (aws-cloudformation hook samples): these must hold
    ("k-pass-sample-numeric-uid", "1010", STRICT, None),
    ("k-pass-sample-numeric-uid-gid", "1010:1010", STRICT, None),
    ("k-pass-sample-named-user", "node", STRICT, None),
    ("k-pass-sample-named-user-group", "node:node", STRICT, None),
    ("c-missing-user-sample-absent", None, STRICT, Rule.MISSING_USER),
    ("e-root-user-sample-zero", "0", STRICT, Rule.ROOT_USER),
    ("e-root-user-sample-root", "root", STRICT, Rule.ROOT_USER),
    ("j-root-group-sample-bin-root", "bin:root", STRICT, Rule.ROOT_GROUP),
    # c) missing or empty user part
    ("c-missing-user-empty-string", "", STRICT, Rule.MISSING_USER),
    ("c-missing-user-empty-user-part", ":1000", STRICT, Rule.MISSING_USER),
    (
        "c-missing-user-empty-user-part-root-group-allowed",
        ":0",
        Settings(allow_root_group=True),
        Rule.MISSING_USER,
    ),
    # d) malformed
    ("d-malformed-user-empty-group", "1000:", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-two-colons", "1000:1000:1000", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-only-colons", "::", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-leading-space", " 1000", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-trailing-space", "1000 ", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-inner-space", "1000: 1000", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-tab", "app\t", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-newline", "1000\n", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-nul", "10\x0000", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-escape", "\x1b[0m", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-nbsp", "app\u00a0", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-zero-width-space", "r\u200boot", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-rtl-override", "\u202etoor", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-lone-surrogate", "\ud800", STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-boolean", True, STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-float", 1000.0, STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-nan", float("nan"), STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-list", ["1000"], STRICT, Rule.MALFORMED_USER),
    ("d-malformed-user-object-unresolved-intrinsic", {"Ref": "User"}, STRICT, Rule.MALFORMED_USER),
    # p) Windows administrator accounts fail on Linux too: a Windows task definition on EC2 need
    # not declare RuntimePlatform (ECS task definition parameters, "Operating system family")
    (
        "p-windows-admin-user-on-linux-container-administrator",
        "ContainerAdministrator",
        STRICT,
        Rule.WINDOWS_ADMIN_USER,
    ),
    (
        "p-windows-admin-user-on-linux-administrator",
        "administrator",
        STRICT,
        Rule.WINDOWS_ADMIN_USER,
    ),
    ("p-windows-admin-user-on-linux-system", "SYSTEM", STRICT, Rule.WINDOWS_ADMIN_USER),
    (
        "p-windows-admin-user-on-linux-nt-authority",
        "NT AUTHORITY\\SYSTEM",
        STRICT,
        Rule.WINDOWS_ADMIN_USER,
    ),
    (
        "p-windows-admin-user-on-linux-upn",
        "Administrator@corp.example.com",
        STRICT,
        Rule.WINDOWS_ADMIN_USER,
    ),
    ("k-pass-linux-name-containing-system", "systemd-network", STRICT, None),
    ("k-pass-linux-administrator-as-group", "app:administrator", STRICT, None),
    # e) root user
    ("e-root-user-double-zero", "00", STRICT, Rule.ROOT_USER),
    ("e-root-user-plus-zero", "+0", STRICT, Rule.ROOT_USER),
    ("e-root-user-minus-zero", "-0", STRICT, Rule.ROOT_USER),
    ("e-root-user-many-zeros", "0000000000000000000000000000000", STRICT, Rule.ROOT_USER),
    # More digits than Python converts by default (4,300): still uid 0, as Go's Atoi reads it.
    ("e-root-user-5000-zeros", "0" * 5000, STRICT, Rule.ROOT_USER),
    ("e-root-user-minus-5000-zeros", "-" + "0" * 5000, STRICT, Rule.ROOT_USER),
    ("e-root-user-zero-uid-gid", "0:0", STRICT, Rule.ROOT_USER),
    ("e-root-user-zero-uid-nonroot-gid", "0:1000", STRICT, Rule.ROOT_USER),
    ("e-root-user-upper-case", "ROOT", STRICT, Rule.ROOT_USER),
    ("e-root-user-mixed-case", "Root", STRICT, Rule.ROOT_USER),
    ("e-root-user-root-root", "root:root", STRICT, Rule.ROOT_USER),
    ("e-root-user-json-number-zero", 0, STRICT, Rule.ROOT_USER),
    (
        "e-root-user-even-with-root-group-allowed",
        "0:1000",
        Settings(allow_root_group=True),
        Rule.ROOT_USER,
    ),
    ("e-root-user-even-with-named-users", "root:app", STRICT, Rule.ROOT_USER),
    # f) uid out of range
    ("f-uid-out-of-range-negative", "-1", STRICT, Rule.UID_OUT_OF_RANGE),
    ("f-uid-out-of-range-above-int32", "2147483648", STRICT, Rule.UID_OUT_OF_RANGE),
    ("f-uid-out-of-range-above-int64", "99999999999999999999999", STRICT, Rule.UID_OUT_OF_RANGE),
    ("f-uid-out-of-range-json-number", -5, STRICT, Rule.UID_OUT_OF_RANGE),
    ("f-uid-out-of-range-huge-json-number", 10**40, STRICT, Rule.UID_OUT_OF_RANGE),
    ("k-pass-uid-at-max", "2147483647", STRICT, None),
    # g) below MinimumUid
    ("g-uid-below-minimum", "999", Settings(minimum_uid=1000), Rule.UID_BELOW_MINIMUM),
    (
        "g-uid-below-minimum-leading-zeros",
        "0999:1000",
        Settings(minimum_uid=1000),
        Rule.UID_BELOW_MINIMUM,
    ),
    ("k-pass-uid-at-minimum", "1000", Settings(minimum_uid=1000), None),
    ("k-pass-named-user-not-checked-against-minimum", "app", Settings(minimum_uid=1000), None),
    # h) named user when numeric is required
    ("h-named-user-required-numeric", "node", Settings(require_numeric_user=True), Rule.NAMED_USER),
    (
        "h-named-user-required-numeric-with-group",
        "node:1000",
        Settings(require_numeric_user=True),
        Rule.NAMED_USER,
    ),
    (
        "h-named-user-underscore-digits-are-not-numeric",
        "1_000",
        Settings(require_numeric_user=True),
        Rule.NAMED_USER,
    ),
    (
        "h-named-user-non-ascii-digits-are-not-numeric",
        "\u0661\u0660\u0660\u0660",
        Settings(require_numeric_user=True),
        Rule.NAMED_USER,
    ),
    (
        "k-pass-numeric-user-named-group-required-numeric",
        "1000:app",
        Settings(require_numeric_user=True),
        None,
    ),
    # i) gid out of range
    ("i-gid-out-of-range-negative", "1000:-1", STRICT, Rule.GID_OUT_OF_RANGE),
    ("i-gid-out-of-range-above-int32", "1000:2147483648", STRICT, Rule.GID_OUT_OF_RANGE),
    (
        "i-gid-out-of-range-even-with-root-group-allowed",
        "1000:-1",
        Settings(allow_root_group=True),
        Rule.GID_OUT_OF_RANGE,
    ),
    # j) root group
    ("j-root-group-numeric", "1000:0", STRICT, Rule.ROOT_GROUP),
    ("j-root-group-double-zero", "1000:00", STRICT, Rule.ROOT_GROUP),
    ("j-root-group-plus-zero", "1000:+0", STRICT, Rule.ROOT_GROUP),
    ("j-root-group-5000-zeros", "1000:" + "0" * 5000, STRICT, Rule.ROOT_GROUP),
    ("j-root-group-name", "app:root", STRICT, Rule.ROOT_GROUP),
    ("j-root-group-name-upper-case", "1000:ROOT", STRICT, Rule.ROOT_GROUP),
    ("k-pass-root-group-allowed-numeric", "1000:0", Settings(allow_root_group=True), None),
    ("k-pass-root-group-allowed-name", "bin:root", Settings(allow_root_group=True), None),
    # k) pass
    ("k-pass-nonroot-distroless", "nonroot", STRICT, None),
    ("k-pass-nonroot-distroless-group", "nonroot:nonroot", STRICT, None),
    ("k-pass-rootless-name", "rootless", STRICT, None),
    ("k-pass-name-ending-root", "notroot", STRICT, None),
    ("k-pass-group-containing-root", "1000:rootgroup", STRICT, None),
    ("k-pass-leading-zeros-uid", "01000", STRICT, None),
    ("k-pass-plus-sign-uid", "+1000", STRICT, None),
    ("k-pass-json-number", 1000, STRICT, None),
    ("k-pass-uid-1", "1", STRICT, None),
    ("k-pass-non-ascii-name", "usu\u00e1rio", STRICT, None),
]


@pytest.mark.parametrize(
    ("value", "settings", "expected"),
    [pytest.param(value, settings, rule, id=case) for case, value, settings, rule in LINUX_CASES],
)
def test_linux_user_rules(value: Any, settings: Settings, expected: Rule | None) -> None:
    finding = check_linux_user(value, settings)
    assert (finding.rule if finding else None) is expected
    if finding:
        assert finding.reason
        assert finding.fix


WINDOWS_CASES: list[tuple[str, Any, Rule | None]] = [
    ("l-windows-missing-user-absent", None, Rule.WINDOWS_MISSING_USER),
    ("l-windows-missing-user-empty", "", Rule.WINDOWS_MISSING_USER),
    ("l-windows-missing-user-blank", "   ", Rule.WINDOWS_MISSING_USER),
    ("m-malformed-user-windows-control-char", "Container\x07User", Rule.MALFORMED_USER),
    ("m-malformed-user-windows-object", {"Ref": "User"}, Rule.MALFORMED_USER),
    (
        "n-windows-admin-user-container-administrator",
        "ContainerAdministrator",
        Rule.WINDOWS_ADMIN_USER,
    ),
    ("n-windows-admin-user-lower-case", "containeradministrator", Rule.WINDOWS_ADMIN_USER),
    ("n-windows-admin-user-administrator", "Administrator", Rule.WINDOWS_ADMIN_USER),
    ("n-windows-admin-user-system", "SYSTEM", Rule.WINDOWS_ADMIN_USER),
    ("n-windows-admin-user-nt-authority-system", "NT AUTHORITY\\SYSTEM", Rule.WINDOWS_ADMIN_USER),
    (
        "n-windows-admin-user-nt-authority-mixed-case",
        "nt authority\\system",
        Rule.WINDOWS_ADMIN_USER,
    ),
    ("n-windows-admin-user-local-machine-prefix", ".\\Administrator", Rule.WINDOWS_ADMIN_USER),
    ("n-windows-admin-user-upn", "Administrator@corp.example.com", Rule.WINDOWS_ADMIN_USER),
    ("n-windows-admin-user-padded", " ContainerAdministrator ", Rule.WINDOWS_ADMIN_USER),
    ("o-pass-windows-container-user", "ContainerUser", None),
    ("o-pass-windows-domain-user", "CORP\\svc-app", None),
    ("o-pass-windows-name-containing-administrator", "AppAdministrators", None),
    ("o-pass-windows-linux-style-value", "1000", None),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [pytest.param(value, rule, id=case) for case, value, rule in WINDOWS_CASES],
)
def test_windows_user_rules(value: Any, expected: Rule | None) -> None:
    finding = check_windows_user(value)
    assert (finding.rule if finding else None) is expected


def _container(name: str, user: Any = ..., image: str = "registry.example/app:1") -> dict[str, Any]:
    container: dict[str, Any] = {"Name": name, "Image": image}
    if user is not ...:
        container["User"] = user
    return container


NAMES_LOG = Settings.from_mapping({"ExemptContainerNames": ["log_*"]})


def _verdicts(report: Report) -> dict[str, Verdict]:
    return {str(result.name): result.verdict for result in report.results}


def test_a_skip_exempt_container_name_glob() -> None:
    properties = {"ContainerDefinitions": [_container("log_router"), _container("app", "0")]}
    report = evaluate(properties, NAMES_LOG)
    assert _verdicts(report) == {"log_router": Verdict.SKIP, "app": Verdict.FAIL}
    assert 'ExemptContainerNames pattern "log_*"' in report.results[0].note


def test_a_skip_exempt_image_glob_matches_across_slashes() -> None:
    image = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"
    properties = {"ContainerDefinitions": [_container("fb", image=image), _container("app", "1")]}
    report = evaluate(
        properties, Settings.from_mapping({"ExemptImages": ["public.ecr.aws/*fluent-bit:*"]})
    )
    assert _verdicts(report) == {"fb": Verdict.SKIP, "app": Verdict.PASS}
    assert report.compliant
    assert 'Skipped container "fb" (#0): exempt by ExemptImages' in report.message()


def test_a_exemption_globs_are_case_sensitive() -> None:
    properties = {"ContainerDefinitions": [_container("Log_Router")]}
    report = evaluate(properties, NAMES_LOG)
    assert _verdicts(report) == {"Log_Router": Verdict.FAIL}


def test_b_skip_windows_task_definition_when_windows_containers_skip() -> None:
    properties = {
        "RuntimePlatform": {"OperatingSystemFamily": "WINDOWS_SERVER_2019_FULL"},
        "ContainerDefinitions": [_container("iis")],
    }
    report = evaluate(properties, Settings(windows_containers=WindowsMode.SKIP))
    assert _verdicts(report) == {"iis": Verdict.SKIP}
    assert report.compliant


def test_windows_task_definition_is_decided_by_windows_rules_by_default() -> None:
    properties = {
        "RuntimePlatform": {"OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"},
        "ContainerDefinitions": [
            _container("admin", "ContainerAdministrator"),
            _container("user", "ContainerUser"),
            _container("unset"),
        ],
    }
    report = evaluate(properties, STRICT)
    assert _verdicts(report) == {
        "admin": Verdict.FAIL,
        "user": Verdict.PASS,
        "unset": Verdict.FAIL,
    }


def test_linux_runtime_platform_is_decided_by_linux_rules() -> None:
    properties = {
        "RuntimePlatform": {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "ARM64"},
        "ContainerDefinitions": [_container("a", "ContainerUser"), _container("b", "0")],
    }
    assert _verdicts(evaluate(properties, STRICT)) == {"a": Verdict.PASS, "b": Verdict.FAIL}


def test_no_container_definitions_is_compliant() -> None:
    for properties in (None, {}, {"Family": "x"}, {"ContainerDefinitions": None}):
        report = evaluate(properties, STRICT)
        assert report.compliant
        assert report.results == ()
    assert evaluate({"ContainerDefinitions": []}, STRICT).message() == (
        "No ContainerDefinitions: nothing to check."
    )


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        pytest.param(["x"], "properties must be an object, got a list", id="properties-list"),
        pytest.param(
            {"ContainerDefinitions": "x"},
            "ContainerDefinitions must be a list",
            id="containers-string",
        ),
        pytest.param(
            {"ContainerDefinitions": {"Name": "a"}},
            "must be a list, got an object",
            id="containers-object",
        ),
        pytest.param(
            {"ContainerDefinitions": [{"Name": "a", "User": "1"}, "b"]},
            "ContainerDefinitions[1] must be an object, got a string",
            id="container-string",
        ),
        pytest.param(
            {"ContainerDefinitions": [None]},
            "ContainerDefinitions[0] must be an object",
            id="container-null",
        ),
        pytest.param(
            {"RuntimePlatform": "LINUX", "ContainerDefinitions": []},
            "RuntimePlatform must be an object",
            id="runtime-platform-string",
        ),
        pytest.param(
            {"RuntimePlatform": {"OperatingSystemFamily": 7}},
            "OperatingSystemFamily must be a string",
            id="os-family-number",
        ),
    ],
)
def test_malformed_task_definition_is_refused(properties: Any, message: str) -> None:
    with pytest.raises(MalformedTaskDefinitionError, match=None) as raised:
        evaluate(properties, STRICT)
    assert message in str(raised.value)


def test_failure_message_names_every_offender_with_value_reason_and_fix() -> None:
    properties = {
        "ContainerDefinitions": [
            _container("web", "1000:1000"),
            _container("worker", "1000:0"),
            _container("init"),
        ]
    }
    message = evaluate(properties, STRICT).message()
    assert message.startswith("2 of 3 containers can run as root.")
    assert 'Violation: container "worker" (#1) User "1000:0": the group is root' in message
    assert 'Violation: container "init" (#2) User not set:' in message
    assert message.count("Fix: ") == 2
    assert '"web"' not in message
    assert "\n" not in message


def test_failure_message_never_echoes_other_properties() -> None:
    container = _container("app", "0")
    container["Environment"] = [{"Name": "DB_PASSWORD", "Value": "hunter2-very-secret"}]
    container["Secrets"] = [{"Name": "TOKEN", "ValueFrom": "arn:aws:ssm:secret-param"}]
    container["Command"] = ["--api-key=sk_live_abcdef"]
    report = evaluate({"ContainerDefinitions": [container]}, STRICT)
    text = report.message() + " ".join(result.describe() for result in report.results)
    for secret in ("hunter2", "DB_PASSWORD", "ssm", "sk_live", "registry.example"):
        assert secret not in text


def test_failure_message_fits_the_limit_and_counts_what_it_left_out() -> None:
    properties = {"ContainerDefinitions": [_container("x" * 200 + str(i), "0") for i in range(40)]}
    report = evaluate(properties, STRICT)
    message = report.message()
    assert len(message) <= MESSAGE_LIMIT
    shown = message.count("Violation:")
    assert 0 < shown < 40
    assert message.endswith(f"...and {40 - shown} more violations.")


def test_message_limit_holds_even_when_one_violation_is_longer() -> None:
    report = evaluate({"ContainerDefinitions": [_container("a" * 5000, "0")]}, STRICT)
    assert report.message(limit=120) == (
        "1 of 1 container can run as root. ...and 1 more violation."
    )
    assert len(report.message()) <= MESSAGE_LIMIT
    assert report.message(limit=20) == "1 of 1 container can"


def test_success_message_fits_the_limit_too() -> None:
    properties = {"ContainerDefinitions": [_container(f"sidecar-{i:03}") for i in range(100)]}
    message = evaluate(
        properties, Settings.from_mapping({"ExemptContainerNames": ["sidecar-*"]})
    ).message()
    assert message.startswith("Checked 0 of 100 containers: all skipped. Skipped container")
    assert len(message) <= MESSAGE_LIMIT
    shown = message.count("Skipped container")
    assert message.endswith(f"...and {100 - shown} more skipped containers.")


def test_names_and_values_are_escaped_and_cut_in_messages() -> None:
    properties = {"ContainerDefinitions": [_container("evil\n\x1b[2Jname\u202e", "0\r\n")]}
    message = evaluate(properties, STRICT).message()
    assert message.isprintable()
    assert '"evil\\x0a\\x1b[2Jname\\u202e"' in message
    assert 'User "0\\x0d\\x0a"' in message
    long_name = evaluate({"ContainerDefinitions": [_container("n" * 300, "0")]}, STRICT)
    assert "... (300 characters)" in long_name.message()


def test_container_without_a_string_name_is_named_by_position() -> None:
    report = evaluate({"ContainerDefinitions": [{"User": "0", "Name": 5}]}, STRICT)
    assert 'Violation: container #0 User "0"' in report.message()


def test_success_message_counts_checked_and_lists_exempted() -> None:
    properties = {"ContainerDefinitions": [_container("app", "1000"), _container("agent")]}
    report = evaluate(properties, Settings.from_mapping({"ExemptContainerNames": ["agent"]}))
    assert report.message() == (
        'Checked 1 of 2 containers: none can run as root. Skipped container "agent" (#1): '
        'exempt by ExemptContainerNames pattern "agent".'
    )


# Type configuration: (id, Properties object, expected Settings)
CONFIG_CASES: list[tuple[str, Any, Settings]] = [
    ("unset-is-defaults", None, Settings()),
    ("empty-is-defaults", {}, Settings()),
    ("nulls-are-defaults", {"AllowRootGroup": None, "MinimumUid": None}, Settings()),
    (
        "booleans",
        {"AllowRootGroup": True, "RequireNumericUser": True},
        Settings(allow_root_group=True, require_numeric_user=True),
    ),
    (
        "booleans-as-strings",
        {"AllowRootGroup": "TRUE", "RequireNumericUser": "false"},
        Settings(allow_root_group=True),
    ),
    ("integer", {"MinimumUid": 1000}, Settings(minimum_uid=1000)),
    ("integer-as-string", {"MinimumUid": "1000"}, Settings(minimum_uid=1000)),
    ("windows-skip", {"WindowsContainers": "SKIP"}, Settings(windows_containers=WindowsMode.SKIP)),
    (
        "exemptions",
        {"ExemptContainerNames": ["log_router"], "ExemptImages": ["*datadog*"]},
        Settings(
            exemptions=(
                Exemption("ExemptContainerNames", container_name="log_router"),
                Exemption("ExemptImages", image="*datadog*"),
            )
        ),
    ),
]


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [pytest.param(mapping, settings, id=case) for case, mapping, settings in CONFIG_CASES],
)
def test_configuration_is_read_with_defaults_and_string_forms(
    mapping: Any, expected: Settings
) -> None:
    assert Settings.from_mapping(mapping) == expected


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        pytest.param({"AllowRootGroup": "yes"}, "AllowRootGroup", id="boolean-word"),
        pytest.param({"RequireNumericUser": 1}, "RequireNumericUser", id="boolean-number"),
        pytest.param({"MinimumUid": 0}, "MinimumUid", id="uid-zero"),
        pytest.param({"MinimumUid": "1e3"}, "MinimumUid", id="uid-exponent"),
        pytest.param({"MinimumUid": 2**31}, "MinimumUid", id="uid-too-large"),
        pytest.param({"MinimumUid": True}, "MinimumUid", id="uid-boolean"),
        pytest.param({"MinimumUid": 10.5}, "MinimumUid", id="uid-float"),
        pytest.param({"WindowsContainers": "skip"}, "WindowsContainers", id="windows-case"),
        pytest.param({"ExemptImages": "nginx*"}, "ExemptImages", id="patterns-string"),
        pytest.param({"ExemptImages": [""]}, "ExemptImages[0]", id="pattern-empty"),
        pytest.param(
            {"ExemptContainerNames": ["a", 3]}, "ExemptContainerNames[1]", id="pattern-number"
        ),
        pytest.param(
            {"ExemptContainerNames": ["a"] * 101}, "ExemptContainerNames", id="too-many-patterns"
        ),
        pytest.param({"ExemptImages": ["*"]}, "ExemptImages[0]", id="a-match-all-star"),
        pytest.param({"ExemptImages": ["nginx", "**"]}, "ExemptImages[1]", id="a-match-all-stars"),
        pytest.param({"ExemptContainerNames": ["?*"]}, "ExemptContainerNames[0]", id="a-match-all"),
        pytest.param(
            {"ExemptImages": ["*"], "AllowMatchAllExemptions": "maybe"},
            "AllowMatchAllExemptions",
            id="a-match-all-opt-in-not-boolean",
        ),
        pytest.param({"MinimumUID": 1000}, '"MinimumUID"', id="unknown-key"),
        pytest.param(["AllowRootGroup"], "Properties", id="not-an-object"),
    ],
)
def test_invalid_configuration_names_the_key(mapping: Any, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping(mapping)
    assert str(raised.value).startswith(f"Invalid type configuration: {key} ")


@pytest.mark.parametrize(
    ("mapping", "exempt"),
    [
        pytest.param({"ExemptImages": ["*"], "AllowMatchAllExemptions": True}, True, id="opt-in"),
        pytest.param({"ExemptImages": ["*/*"]}, False, id="not-only-wildcards"),
        pytest.param({"ExemptContainerNames": ["?"]}, False, id="one-character-names"),
    ],
)
def test_a_match_all_exemption_applies_only_when_opted_in(mapping: Any, exempt: bool) -> None:
    """a) the opt-in makes a wildcard-only pattern exempt everything; patterns with any other
    character are ordinary patterns (``?`` alone: names of one character)."""
    (result,) = evaluate(
        {"ContainerDefinitions": [{"Name": "app", "Image": "nginx", "User": "0"}]},
        Settings.from_mapping(mapping),
    ).results
    assert (result.verdict is Verdict.SKIP) is exempt


FLUENT_BIT = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
LOG_ROUTER_ENTRY = {
    "ContainerName": "log_router",
    "Image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:*",
    "Reason": "FireLens router, SEC-42",
}


@pytest.mark.parametrize(
    ("container", "verdict"),
    [
        pytest.param(_container("log_router", image=FLUENT_BIT), Verdict.SKIP, id="both-match"),
        pytest.param(_container("log_router", "0", image="nginx:1"), Verdict.FAIL, id="name-only"),
        pytest.param(_container("router", image=FLUENT_BIT), Verdict.FAIL, id="image-only"),
        pytest.param({"Name": "log_router"}, Verdict.FAIL, id="no-image-is-no-match"),
        pytest.param({"Name": "log_router", "Image": 7}, Verdict.FAIL, id="image-not-text"),
    ],
)
def test_a_exemption_entry_matches_only_when_every_given_field_matches(
    container: dict[str, Any], verdict: Verdict
) -> None:
    """a) a name exemption tied to an image: a container named log_router running nginx as
    uid 0 is decided, not skipped."""
    settings = Settings.from_mapping({"Exemptions": [LOG_ROUTER_ENTRY]})
    (result,) = evaluate({"ContainerDefinitions": [container]}, settings).results
    assert result.verdict is verdict


def test_a_exemption_entry_shows_its_fields_and_reason() -> None:
    settings = Settings.from_mapping(
        {"Exemptions": [{"Image": "registry.example/agent:*", "Reason": "vendor agent"}]}
    )
    properties = {"ContainerDefinitions": [_container("agent", image="registry.example/agent:7")]}
    report = evaluate(properties, settings)
    assert report.message() == (
        'Checked 0 of 1 container: all skipped. Skipped container "agent" (#0): exempt by '
        'Exemptions[0] (Image "registry.example/agent:*"): "vendor agent".'
    )


def test_a_exemption_entry_applies_before_the_older_lists_and_in_order() -> None:
    settings = Settings.from_mapping(
        {
            "ExemptContainerNames": ["log_router"],
            "Exemptions": [{"ContainerName": "log_*", "Reason": "first"}, LOG_ROUTER_ENTRY],
        }
    )
    (result,) = evaluate({"ContainerDefinitions": [_container("log_router")]}, settings).results
    assert result.note.startswith("exempt by Exemptions[0]")


TAG_KEY = "guardrails:nonroot-exception"


@pytest.mark.parametrize(
    ("key", "tags", "excepted"),
    [
        pytest.param(TAG_KEY, [{"Key": TAG_KEY, "Value": "SEC-7 legacy"}], True, id="tagged"),
        pytest.param(None, [{"Key": TAG_KEY, "Value": "SEC-7"}], False, id="off-by-default"),
        pytest.param(TAG_KEY, [{"Key": TAG_KEY, "Value": "  "}], False, id="blank-reason"),
        pytest.param(TAG_KEY, [{"Key": TAG_KEY}], False, id="no-value"),
        pytest.param(TAG_KEY, [{"Key": TAG_KEY, "Value": 7}], False, id="value-not-text"),
        pytest.param(TAG_KEY, [{"Key": TAG_KEY.upper(), "Value": "x"}], False, id="key-case"),
        pytest.param(TAG_KEY, [{"Key": "other", "Value": "x"}], False, id="other-key"),
        pytest.param(
            TAG_KEY,
            [{"Key": TAG_KEY, "Value": "x"}, {"Key": TAG_KEY, "Value": ""}],
            False,
            id="one-blank-of-two",
        ),
        pytest.param(TAG_KEY, "not a list", False, id="tags-not-a-list"),
        pytest.param(TAG_KEY, ["not an object"], False, id="tag-not-an-object"),
    ],
)
def test_a_exception_tag_skips_every_container_with_its_reason(
    key: str | None, tags: Any, excepted: bool
) -> None:
    """a) the tag the configuration names excepts the whole task definition; anything short
    of that key with a reason excepts nothing (and never breaks the decision)."""
    properties = {
        "Tags": tags,
        "ContainerDefinitions": [_container("app", "0"), _container("sidecar")],
    }
    report = evaluate(properties, Settings(exception_tag_key=key))
    assert report.compliant is excepted
    if excepted:
        assert {r.verdict for r in report.results} == {Verdict.SKIP}
        assert f'excepted by its tag "{TAG_KEY}": "SEC-7 legacy"' in report.message()


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        pytest.param({"Exemptions": {"Image": "x"}}, "Exemptions", id="entries-not-a-list"),
        pytest.param({"Exemptions": ["x"]}, "Exemptions[0]", id="entry-not-an-object"),
        pytest.param({"Exemptions": [{"Reason": "r"}]}, "Exemptions[0]", id="entry-no-pattern"),
        pytest.param(
            {"Exemptions": [{"Image": "x", "Reason": "r", "Name": "y"}]},
            'Exemptions[0]."Name"',
            id="entry-unknown-field",
        ),
        pytest.param({"Exemptions": [{"Image": "x"}]}, "Exemptions[0].Reason", id="no-reason"),
        pytest.param(
            {"Exemptions": [{"Image": "x", "Reason": " "}]}, "Exemptions[0].Reason", id="blank"
        ),
        pytest.param(
            {"Exemptions": [{"Image": "x", "Reason": "r" * 257}]},
            "Exemptions[0].Reason",
            id="reason-too-long",
        ),
        pytest.param(
            {"Exemptions": [{"Image": "", "Reason": "r"}]}, "Exemptions[0].Image", id="empty-glob"
        ),
        pytest.param(
            {"Exemptions": [{"ContainerName": "*", "Image": "?*", "Reason": "r"}]},
            "Exemptions[0]",
            id="a-match-all-entry",
        ),
        pytest.param({"ExceptionTagKey": "aws:cloudformation:x"}, "ExceptionTagKey", id="aws"),
        pytest.param({"ExceptionTagKey": ""}, "ExceptionTagKey", id="tag-key-empty"),
        pytest.param({"ExceptionTagKey": " x"}, "ExceptionTagKey", id="tag-key-padded"),
        pytest.param({"ExceptionTagKey": "k" * 129}, "ExceptionTagKey", id="tag-key-too-long"),
        pytest.param({"ExceptionTagKey": ["k"]}, "ExceptionTagKey", id="tag-key-not-text"),
    ],
)
def test_invalid_exemption_configuration_names_the_key(mapping: Any, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping(mapping)
    assert str(raised.value).startswith(f"Invalid type configuration: {key} ")


def test_a_match_all_pattern_tied_to_a_name_is_an_ordinary_entry() -> None:
    """a) only an entry whose every pattern matches everything is refused."""
    settings = Settings.from_mapping(
        {"Exemptions": [{"ContainerName": "log_router", "Image": "*", "Reason": "r"}]}
    )
    properties = {"ContainerDefinitions": [_container("log_router"), _container("app")]}
    assert _verdicts(evaluate(properties, settings)) == {
        "log_router": Verdict.SKIP,
        "app": Verdict.FAIL,
    }


@pytest.mark.parametrize(
    ("user", "firelens_fix"),
    [
        pytest.param(..., True, id="c-missing-user"),
        pytest.param("0", True, id="e-root-user"),
        pytest.param("1000:0", False, id="j-root-group-keeps-its-fix"),
    ],
)
def test_firelens_log_router_gets_the_log_routers_fix(user: Any, firelens_fix: bool) -> None:
    router = {**_container("log_router", user, FLUENT_BIT), "FirelensConfiguration": {}}
    (result,) = evaluate({"ContainerDefinitions": [router]}, STRICT).results
    assert result.finding is not None
    assert ("ECS agent 1.96.0" in result.finding.fix) is firelens_fix
    plain = evaluate({"ContainerDefinitions": [_container("app", user)]}, STRICT).results[0]
    assert plain.finding is not None and "1.96.0" not in plain.finding.fix


def test_option_names_are_the_readers() -> None:
    """The command names its flags where the hook names its properties."""
    flags = (("AllowRootGroup", "--allow-root-group"), ("MinimumUid", "--minimum-uid"))
    root_group = check_linux_user("1000:0", Settings(option_names=flags))
    below = check_linux_user("5", Settings(minimum_uid=10, option_names=flags))
    assert root_group is not None and root_group.fix.endswith("or set --allow-root-group")
    assert below is not None and below.reason == "uid 5 is below --minimum-uid 10"
    hook = check_linux_user("1000:0", STRICT)
    assert hook is not None and hook.fix.endswith("or set AllowRootGroup")


@pytest.mark.parametrize(
    ("warn_only", "user", "verdict"),
    [
        pytest.param(["missing-user"], None, Verdict.WARN, id="listed-rule-warns"),
        pytest.param(["missing-user"], ":1000", Verdict.WARN, id="empty-user-part-warns"),
        pytest.param(["missing-user"], "0", Verdict.FAIL, id="other-rule-blocks"),
        pytest.param(["root-user", "root-group"], "1000:0", Verdict.WARN, id="group-rule-warns"),
        pytest.param(["root-user"], "1000", Verdict.PASS, id="passing-stays-pass"),
        pytest.param([], None, Verdict.FAIL, id="empty-blocks-everything"),
    ],
)
def test_q_warn_only_rules_are_reported_without_blocking(
    warn_only: list[str], user: str | None, verdict: Verdict
) -> None:
    settings = Settings.from_mapping({"WarnOnly": warn_only})
    container = {"Name": "app", "Image": "nginx", **({"User": user} if user else {})}
    report = evaluate({"ContainerDefinitions": [container]}, settings)
    (result,) = report.results
    assert result.verdict is verdict
    assert report.compliant is (verdict is not Verdict.FAIL)
    if verdict is Verdict.WARN:
        assert result.finding is not None and result.finding.fix
        assert report.message().startswith(
            "Checked 1 container: 1 violation is reported only, as WarnOnly lists its rule; "
            'nothing is blocked. Warning: container "app" (#0) User'
        )


def test_q_exemptions_apply_before_warn_only() -> None:
    settings = Settings.from_mapping({"WarnOnly": ["missing-user"], "ExemptImages": ["vendor/*"]})
    report = evaluate({"ContainerDefinitions": [{"Name": "a", "Image": "vendor/x"}]}, settings)
    assert [r.verdict for r in report.results] == [Verdict.SKIP]


@pytest.mark.parametrize(
    ("value", "key"),
    [
        pytest.param(["missing-usr"], "WarnOnly[0]", id="unknown-id"),
        pytest.param(["Missing-User"], "WarnOnly[0]", id="wrong-case"),
        pytest.param("missing-user", "WarnOnly", id="not-a-list"),
        pytest.param(["missing-user", 7], "WarnOnly[1]", id="not-text"),
    ],
)
def test_q_warn_only_refuses_what_is_not_a_rule_id_by_name(value: Any, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping({"WarnOnly": value})
    assert raised.value.key == key


@pytest.mark.parametrize(
    ("user", "configuration", "rule"),
    [
        pytest.param(
            "500:0",
            {"MinimumUid": 1000, "WarnOnly": ["uid-below-minimum"]},
            Rule.ROOT_GROUP,
            id="below-minimum-and-root-group",
        ),
        pytest.param(
            "app:0",
            {"RequireNumericUser": True, "WarnOnly": ["named-user"]},
            Rule.ROOT_GROUP,
            id="named-and-root-group",
        ),
        pytest.param(
            ":0", {"WarnOnly": ["missing-user"]}, Rule.ROOT_GROUP, id="no-user-root-group"
        ),
        pytest.param(
            "0:1000:x", {"WarnOnly": ["malformed-user"]}, Rule.ROOT_USER, id="extra-field-root"
        ),
        pytest.param("0:", {"WarnOnly": ["malformed-user"]}, Rule.ROOT_USER, id="empty-group-root"),
        pytest.param("0:1000:x", {}, Rule.MALFORMED_USER, id="first-rule-without-warn-only"),
    ],
)
def test_q_a_warn_only_rule_never_hides_a_rule_that_blocks(
    user: str, configuration: dict[str, Any], rule: Rule
) -> None:
    settings = Settings.from_mapping(configuration)
    finding = check_linux_user(user, settings)
    assert finding is not None and finding.rule is rule
    (result,) = evaluate({"ContainerDefinitions": [{"Name": "a", "User": user}]}, settings).results
    assert result.verdict is Verdict.FAIL


ROUTER: dict[str, Any] = {
    "Name": "log_router",
    "Image": "amazon/aws-for-fluent-bit:stable",
    "User": "0",
}
ROUTER_EXEMPTION: dict[str, Any] = {
    "Exemptions": [{"Image": "amazon/aws-for-fluent-bit:*", "Reason": "router"}]
}


@pytest.mark.parametrize(
    ("changes", "exempt"),
    [
        pytest.param({}, True, id="as-the-image-runs"),
        pytest.param({"FirelensConfiguration": {"Type": "fluentbit"}}, True, id="firelens"),
        pytest.param({"EntryPoint": ["/bin/sh", "-c"]}, False, id="entrypoint"),
        pytest.param({"Command": ["sh", "-c", "id"]}, False, id="command"),
        pytest.param({"Privileged": True}, False, id="privileged"),
        pytest.param({"Privileged": "true"}, False, id="privileged-as-sent"),
        pytest.param({"Privileged": "false"}, True, id="not-privileged-as-sent"),
        pytest.param({"Privileged": False, "EntryPoint": [], "Command": []}, True, id="empty"),
        pytest.param(
            {"LinuxParameters": {"Capabilities": {"Add": ["SYS_ADMIN"]}}}, False, id="capabilities"
        ),
        pytest.param(
            {"LinuxParameters": {"Capabilities": {"Drop": ["ALL"]}}}, True, id="capabilities-drop"
        ),
        pytest.param({"EntryPoint": "not-a-list"}, False, id="other-shape-counts"),
    ],
)
def test_a_exemption_is_for_what_the_image_runs_as_it_runs_it(
    changes: dict[str, Any], exempt: bool
) -> None:
    container = {**ROUTER, **changes}
    for configuration in (ROUTER_EXEMPTION, {"ExemptImages": ["amazon/aws-for-fluent-bit:*"]}):
        report = evaluate(
            {"ContainerDefinitions": [container]}, Settings.from_mapping(configuration)
        )
        (result,) = report.results
        assert result.verdict is (Verdict.SKIP if exempt else Verdict.FAIL), configuration
    if not exempt:
        (result,) = evaluate(
            {"ContainerDefinitions": [container]}, Settings.from_mapping(ROUTER_EXEMPTION)
        ).results
        assert result.finding is not None
        assert "Exemptions[0] does not exempt it, as it overrides " in result.finding.reason
        assert "(AllowOverrides is not set)" in result.finding.reason
        allowed = {"Exemptions": [{**ROUTER_EXEMPTION["Exemptions"][0], "AllowOverrides": True}]}
        report = evaluate({"ContainerDefinitions": [container]}, Settings.from_mapping(allowed))
        assert [r.verdict for r in report.results] == [Verdict.SKIP]


def test_a_exemption_allow_overrides_must_be_true_or_false() -> None:
    entry = {**ROUTER_EXEMPTION["Exemptions"][0], "AllowOverrides": "sometimes"}
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping({"Exemptions": [entry]})
    assert raised.value.key == "Exemptions[0].AllowOverrides"
