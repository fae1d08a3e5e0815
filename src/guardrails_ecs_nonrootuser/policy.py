"""The decision: can a container of an ECS task definition run as root?

Standard library only: the hook's handlers, the command line and the tests all
import this module, and it must import without the AWS library installed.

Input is the task definition's resource properties as CloudFormation sends them
to a hook (intrinsic functions resolved; scalars often sent as strings). Each
container definition is decided on its own, in this order.

Scope
  a) SKIP a container that is exempt, by the first that applies:
     - its task definition is excepted: ``ExceptionTagKey`` is set and the
       task definition's ``Tags`` hold that key (exactly) with a value that is
       not blank, the exception's reason (a blank value, or one that is not
       text, excepts nothing);
     - an exemption matches it. An ``Exemptions`` entry matches when every
       field it gives matches: ``ContainerName`` the container's ``Name``,
       ``Image`` its ``Image`` (a container without that field, or with a value
       that is not text, is not matched); its ``Reason`` is shown.
       ``ExemptContainerNames`` and ``ExemptImages`` patterns are entries of
       one field, without a reason.
     An exemption is for what the image runs, as it runs it: it does not
     apply to a container that overrides ``EntryPoint`` or ``Command``, sets
     ``Privileged``, or adds capabilities (``LinuxParameters.Capabilities.Add``),
     unless the entry sets ``AllowOverrides`` (the older patterns cannot); such
     a container is decided by the rules below, and its failure says which
     exemption it escaped and why.
     Patterns are ``fnmatch`` globs, case-sensitive; ``*`` also matches ``/``.
     An entry whose every pattern is made only of wildcards with a ``*``
     (``*``, ``**``, ``?*``) exempts every container (every one long enough):
     the configuration is refused unless ``AllowMatchAllExemptions`` is set.
  b) SKIP every container of a Windows task definition
     (``RuntimePlatform.OperatingSystemFamily`` starts with ``WINDOWS_SERVER``)
     when ``WindowsContainers`` is ``SKIP``.

Both platforms, before the platform's own rules:
  p) FAIL ``windows-admin-user`` when ``User`` names a Windows administrator
     account (as in rule n) whatever the platform: a Windows task definition
     run on EC2 need not declare ``RuntimePlatform``, so the platform a value
     is meant for is not known from the task definition, and on Linux such a
     name is never a deliberate non-root user.

Linux containers: ``User`` is resolved the way runc resolves a user spec
(libcontainer's ``GetExecUser``): split at the first ``:`` into a user part
and a group part; a part that Go's ``strconv.Atoi`` accepts is a numeric id,
anything else is a name looked up in the image's ``/etc/passwd`` or
``/etc/group``. JSON numbers are decided as the digits they spell.
  c) FAIL ``missing-user`` when ``User`` is absent, null, empty, or its user
     part is empty (``":1000"``): the image's default user applies, which is
     root unless the image says otherwise, and nothing at deploy time can
     verify that.
  d) FAIL ``malformed-user`` when ``User`` is not a string or a whole number,
     contains whitespace or a non-printable character, has more than one
     ``:``, or has an empty group after the ``:`` (``"1000:"``: the runtime
     then falls back to the user's primary group, gid 0 when the image does
     not list the user).
  e) FAIL ``root-user`` when the user part is numeric 0 (``0``, ``00``,
     ``+0``, ``-0``) or, in any letter case, the name ``root``. Names that only
     contain "root" (``nonroot``, ``rootless``) are not root.
  f) FAIL ``uid-out-of-range`` when the numeric user part is negative or above
     2147483647 (runc refuses it, or treats it as an unknown name).
  g) FAIL ``uid-below-minimum`` when the numeric user part is below
     ``MinimumUid``.
  h) FAIL ``named-user`` when ``RequireNumericUser`` is set and the user part
     is a name: the image's ``/etc/passwd`` can map any name to uid 0.
  i) FAIL ``gid-out-of-range`` when the numeric group part is negative or
     above 2147483647.
  j) FAIL ``root-group`` when the group part is numeric 0 or, in any letter
     case, the name ``root``, unless ``AllowRootGroup`` is set.
  k) PASS otherwise.

Windows containers (``WindowsContainers`` is ``ENFORCE_NON_ADMIN``):
  l) FAIL ``windows-missing-user`` when ``User`` is absent, null or blank:
     Windows Server Core images run as ContainerAdministrator by default.
  m) FAIL ``malformed-user`` when ``User`` is not a string or a whole number,
     or contains a non-printable character.
  n) FAIL ``windows-admin-user`` when the account (the part after the last
     ``\\`` and before any ``@``), in any letter case, is ContainerAdministrator,
     Administrator or SYSTEM (so ``NT AUTHORITY\\SYSTEM`` too).
  o) PASS otherwise.

Phased enforcement:
  q) WARN instead of FAIL when the failed rule's id is in ``WarnOnly``: the
     violation is reported with its fix, but does not block (the hook answers
     SUCCESS, the command exits 0 for it). A value that fails several rules
     fails by the first one not in ``WarnOnly`` (``"500:0"`` with
     ``uid-below-minimum`` listed still fails ``root-group``); for that, a
     ``User`` with more than one ``:`` is also read as the runtime reads it,
     by its first two fields. Exemptions still apply first (a).

What the image runs as (``ImageVerification`` is ``DIGEST`` or ``TAG``):
  r) When ``User`` is absent, null or empty (rule c, or l on Windows), the image's own
     ``config.User`` is decided instead, for each platform the task may run it on
     (``task_platforms``), by the rules above as if the task definition had said it (an unset
     one fails c or l, "sets no USER"); the message names the image, the digest read and the
     platform. The image is read only when its ``Image`` is a reference the runtime can pull
     (``reference.parse``), pinned by digest under ``DIGEST``, on a registry
     ``TrustedRegistries`` allows (any when empty); otherwise, or when it cannot be read (the
     reason given), the container fails c or l. The policy never fetches: the caller's
     ``images`` (``ImageLookup``) reads, and a container asked about before anything is read
     fails as unread.

Every failure carries a fix. A Linux container with a ``FirelensConfiguration``
(a FireLens log router) that fails rule c or e gets the log router's own: a
numeric ``User``, which FireLens takes since ECS agent 1.96.0.

The request itself is refused (``MalformedTaskDefinitionError``) when the resource
properties are not an object, ``ContainerDefinitions`` is not a list, a
container definition is not an object, or ``RuntimePlatform`` (or its
``OperatingSystemFamily``) has the wrong type. No ``ContainerDefinitions`` at
all is compliant: nothing runs.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple, TypeVar

MAX_ID = 2**31 - 1
"""The largest uid or gid runc accepts (libcontainer's maxID)."""

REPOSITORY = "https://github.com/guardrails-hooks/guardrails-ecs-nonrootuser/blob/main"
"""Where the documentation is published."""


def rule_page(rule_id: str) -> str:
    """The documentation page of a rule id (``docs/rules/root-user.md``)."""
    return f"{REPOSITORY}/docs/rules/{rule_id}.md"


MESSAGE_LIMIT = 1024
"""The longest message a hook may return to CloudFormation."""

WINDOWS_FAMILY_PREFIX = "WINDOWS_SERVER"
WINDOWS_ADMIN_ACCOUNTS = frozenset({"containeradministrator", "administrator", "system"})

EXAMPLE_USER = '"1000:1000"'

# strconv.Atoi, base 10: an optional sign and ASCII digits, nothing else
# (no spaces, no underscores, no other scripts' digits, unlike Python's int()).
_ATOI = re.compile(r"[+-]?[0-9]+")
# Longer digit strings are far outside any id range; never convert them.
_MAX_DIGITS = 20
_DISPLAY_LIMIT = 64


class Verdict(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    WARN = "WARN"
    """A violation of a rule in ``WarnOnly``: reported, not blocking (rule q)."""


class Rule(enum.Enum):
    """Why a container failed; the value is the id used in messages and reports."""

    MISSING_USER = "missing-user"
    MALFORMED_USER = "malformed-user"
    ROOT_USER = "root-user"
    UID_OUT_OF_RANGE = "uid-out-of-range"
    UID_BELOW_MINIMUM = "uid-below-minimum"
    NAMED_USER = "named-user"
    GID_OUT_OF_RANGE = "gid-out-of-range"
    ROOT_GROUP = "root-group"
    WINDOWS_MISSING_USER = "windows-missing-user"
    WINDOWS_ADMIN_USER = "windows-admin-user"


RULE_SUMMARIES = {
    Rule.MISSING_USER: "User is not set (or its user part is empty), so the image's default "
    "user applies: root unless the image sets another, which cannot be verified at deploy time.",
    Rule.MALFORMED_USER: "User is not a well-formed user spec: not a string or whole number, "
    "whitespace or non-printable characters, more than one ':', or an empty group after ':'.",
    Rule.ROOT_USER: "The user part is uid 0 (0, 00, +0, -0) or the name root, in any case.",
    Rule.UID_OUT_OF_RANGE: f"The numeric uid is negative or above {MAX_ID}.",
    Rule.UID_BELOW_MINIMUM: "The numeric uid is below the configured MinimumUid.",
    Rule.NAMED_USER: "RequireNumericUser is set and the user part is a name, which the image's "
    "/etc/passwd may map to uid 0.",
    Rule.GID_OUT_OF_RANGE: f"The numeric gid is negative or above {MAX_ID}.",
    Rule.ROOT_GROUP: "The group part is gid 0 or the name root, in any case, and AllowRootGroup "
    "is not set.",
    Rule.WINDOWS_MISSING_USER: "A Windows container sets no User, so the image's default user "
    "applies: ContainerAdministrator in Windows Server Core images.",
    Rule.WINDOWS_ADMIN_USER: "User is a Windows administrator account (ContainerAdministrator, "
    "Administrator, SYSTEM), on any platform: a Windows task on EC2 need not declare one.",
}
"""One sentence per rule, for reports that describe their rules (SARIF)."""


class WindowsMode(enum.Enum):
    ENFORCE_NON_ADMIN = "ENFORCE_NON_ADMIN"
    SKIP = "SKIP"


class ImageVerification(enum.Enum):
    """Whether the image of a container without a ``User`` is read (rule r)."""

    OFF = "OFF"
    DIGEST = "DIGEST"
    """Only images pinned by digest: the verdict can never go stale."""
    TAG = "TAG"
    """Images by tag too, resolved when checked."""


class Platform(NamedTuple):
    """An OCI platform a task runs its images on."""

    os: str
    architecture: str
    os_version: str = ""
    """For Windows, the build its family runs (``10.0.17763``); "" when any."""

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}"


class ImageSeen(NamedTuple):
    """What an image's configuration says for one platform, or why it could not be read."""

    user: str | None
    """Its ``config.User`` ("" when unset); None when it could not be read."""
    digest: str = ""
    """The digest of the manifest read (``sha256:...``)."""
    platform: str = ""
    """The platform of the manifest read (``linux/arm64``), when an index was resolved."""
    problem: str = ""
    """Why it could not be read (never a URL or a credential)."""


ImageLookup = Callable[[str, tuple[Platform, ...]], Sequence[ImageSeen]]
"""Reads an image (a container's ``Image``) for the platforms a task may run it on: one
``ImageSeen`` per platform its manifest provides among them, or one that says why not. The policy
never fetches: the front ends give it one (``images``)."""


class ConfigError(ValueError):
    """A type configuration value is invalid; ``key`` names the property."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Invalid type configuration: {key} {problem}.")
        self.key = key
        self.problem = problem

    @property
    def property(self) -> str:
        """The configuration property the problem is in (``Exemptions`` for
        ``Exemptions[0].Reason``)."""
        return re.split(r"[.\[]", self.key, maxsplit=1)[0]


class MalformedTaskDefinitionError(ValueError):
    """The task definition's properties do not have the shape ECS requires."""


class Exemption(NamedTuple):
    """Containers not evaluated: those every given pattern matches (rule a)."""

    source: str
    """Where it is configured: ``Exemptions[2]``, ``ExemptImages``."""
    container_name: str | None = None
    image: str | None = None
    reason: str = ""
    allow_overrides: bool = False
    """Whether it exempts a container that overrides what its image runs, or how
    (``AllowOverrides``, rule a)."""

    def patterns(self) -> tuple[tuple[str, str], ...]:
        """The patterns it gives, each with the container property it matches."""
        return tuple(
            (place, pattern)
            for place, pattern in (("Name", self.container_name), ("Image", self.image))
            if pattern is not None
        )

    def matches(self, container: Mapping[str, object]) -> bool:
        """Whether it exempts ``container``: its patterns match, and the container overrides
        nothing, or the entry allows it."""
        return self.matches_patterns(container) and (
            self.allow_overrides or not overrides(container)
        )

    def matches_patterns(self, container: Mapping[str, object]) -> bool:
        return all(
            isinstance(value, str) and fnmatch.fnmatchcase(value, pattern)
            for place, pattern in self.patterns()
            for value in (container.get(place),)
        )

    def describe(self, brief: bool = False) -> str:
        """'exempt by Exemptions[0] (Image "x/*"): "the reason"', for messages; an
        ExemptContainerNames or ExemptImages pattern, which has no reason, by its pattern.
        ``brief``: without the patterns, the reason cut short."""
        given = self.patterns()
        if not self.reason:
            return f"exempt by {self.source} pattern {quote(given[0][1], BRIEF if brief else 64)}"
        if brief:
            return f"exempt by {self.source}: {quote(self.reason, BRIEF)}"
        fields = ", ".join(
            f"{'ContainerName' if place == 'Name' else place} {quote(pattern)}"
            for place, pattern in given
        )
        return f"exempt by {self.source} ({fields}): {quote(self.reason, MAX_REASON)}"


class Settings(NamedTuple):
    """The hook's type configuration, validated, with the schema's defaults."""

    allow_root_group: bool = False
    require_numeric_user: bool = False
    minimum_uid: int = 1
    windows_containers: WindowsMode = WindowsMode.ENFORCE_NON_ADMIN
    exemptions: tuple[Exemption, ...] = ()
    allow_match_all_exemptions: bool = False
    exception_tag_key: str | None = None
    warn_only: frozenset[Rule] = frozenset()
    image_verification: ImageVerification = ImageVerification.OFF
    trusted_registries: tuple[str, ...] = ()
    """Host patterns of the registries images may be read from; empty: any."""
    option_names: tuple[tuple[str, str], ...] = ()
    """How messages name an option (``AllowRootGroup``), when not by its property name: the
    command names its flags (``--allow-root-group``)."""

    def named(self, key: str) -> str:
        """The name the reader uses for the configuration property ``key``."""
        return dict(self.option_names).get(key, key)

    @classmethod
    def from_mapping(cls, mapping: object) -> Settings:
        """Build settings from the configuration's ``Properties`` object.

        ``None`` or a missing/null key takes the default. Booleans and integers
        may also arrive as strings. Unknown keys are refused, like the schema does.
        """
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise ConfigError("Properties", f"must be an object, got {_kind(mapping)}")
        unknown = sorted(str(key) for key in mapping if key not in _CONFIG_KEYS)
        if unknown:
            raise ConfigError(_display(unknown[0]), "is not a property of this hook")

        def get(key: str) -> object:
            return mapping.get(key)

        match_all = _config_bool("AllowMatchAllExemptions", get("AllowMatchAllExemptions"), False)
        exemptions = (
            *_config_entries(get("Exemptions"), match_all),
            *(
                Exemption("ExemptContainerNames", container_name=pattern)
                for pattern in _config_patterns(
                    "ExemptContainerNames", get("ExemptContainerNames"), 255, match_all
                )
            ),
            *(
                Exemption("ExemptImages", image=pattern)
                for pattern in _config_patterns(
                    "ExemptImages", get("ExemptImages"), 1024, match_all
                )
            ),
        )
        return cls(
            allow_root_group=_config_bool("AllowRootGroup", get("AllowRootGroup"), False),
            require_numeric_user=_config_bool(
                "RequireNumericUser", get("RequireNumericUser"), False
            ),
            minimum_uid=_config_uid("MinimumUid", get("MinimumUid"), 1),
            windows_containers=_config_choice(
                "WindowsContainers", get("WindowsContainers"), WindowsMode.ENFORCE_NON_ADMIN
            ),
            exemptions=exemptions,
            allow_match_all_exemptions=match_all,
            exception_tag_key=_config_tag_key("ExceptionTagKey", get("ExceptionTagKey")),
            warn_only=_config_rules("WarnOnly", get("WarnOnly")),
            image_verification=_config_choice(
                "ImageVerification", get("ImageVerification"), ImageVerification.OFF
            ),
            trusted_registries=tuple(
                pattern.lower()
                for pattern in _config_patterns(
                    "TrustedRegistries", get("TrustedRegistries"), MAX_HOST, True
                )
            ),
        )

    def may_read(self, registry_host: str) -> bool:
        """Whether ``TrustedRegistries`` lets an image be read from this registry host."""
        host = registry_host.lower()
        return not self.trusted_registries or any(
            fnmatch.fnmatchcase(host, pattern) for pattern in self.trusted_registries
        )


_CONFIG_KEYS = frozenset(
    {
        "AllowRootGroup",
        "RequireNumericUser",
        "MinimumUid",
        "WindowsContainers",
        "ExemptContainerNames",
        "ExemptImages",
        "AllowMatchAllExemptions",
        "Exemptions",
        "ExceptionTagKey",
        "WarnOnly",
        "ImageVerification",
        "TrustedRegistries",
    }
)
MAX_HOST = 255
MAX_PATTERNS = 100
_ENTRY_FIELDS = {"ContainerName": 255, "Image": 1024}
MAX_REASON = 256
BRIEF = 40
"""The longest a reason or pattern is shown in a one-line summary."""
MAX_TAG_KEY = 128


def _config_bool(key: str, value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(key, f"must be true or false, got {_display(value)}")


def _config_uid(key: str, value: object, default: int) -> int:
    if value is None:
        return default
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        number = atoi(value.strip())
    if number is None or not 1 <= number <= MAX_ID:
        raise ConfigError(key, f"must be an integer from 1 to {MAX_ID}, got {_display(value)}")
    return number


_Choice = TypeVar("_Choice", WindowsMode, ImageVerification)


def _config_choice(key: str, value: object, default: _Choice) -> _Choice:
    if value is None:
        return default
    for choice in type(default):
        if value == choice.value:
            return choice
    choices = ", ".join(choice.value for choice in type(default))
    raise ConfigError(key, f"must be one of {choices}, got {_display(value)}")


def _config_patterns(key: str, value: object, max_length: int, match_all: bool) -> tuple[str, ...]:
    patterns = []
    for position, item in enumerate(_config_list(key, value, "glob patterns")):
        pattern = _config_text(f"{key}[{position}]", item, max_length)
        if not match_all and _matches_all(pattern):
            raise ConfigError(
                f"{key}[{position}]",
                f"{_display(pattern)} matches every container and turns the check off; "
                "set AllowMatchAllExemptions to true if that is meant",
            )
        patterns.append(pattern)
    return tuple(patterns)


def _config_entries(value: object, match_all: bool) -> list[Exemption]:
    """``Exemptions``: objects of ``ContainerName`` and/or ``Image`` patterns and a ``Reason``."""
    entries = []
    for position, entry in enumerate(_config_list("Exemptions", value, "exemption objects")):
        key = f"Exemptions[{position}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(key, f"must be an object, got {_kind(entry)}")
        fields = (*_ENTRY_FIELDS, "Reason", "AllowOverrides")
        unknown = sorted(str(field) for field in entry if field not in fields)
        if unknown:
            raise ConfigError(f"{key}.{_display(unknown[0])}", "is not a field of an exemption")
        patterns = {
            field: _config_text(f"{key}.{field}", entry[field], limit)
            for field, limit in _ENTRY_FIELDS.items()
            if entry.get(field) is not None
        }
        if not patterns:
            raise ConfigError(key, "must give ContainerName, Image or both")
        reason = entry.get("Reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{key}.Reason", "must say why these containers are exempt")
        _config_text(f"{key}.Reason", reason, MAX_REASON)
        if not match_all and all(_matches_all(pattern) for pattern in patterns.values()):
            raise ConfigError(
                key,
                "matches every container and turns the check off; set AllowMatchAllExemptions "
                "to true if that is meant",
            )
        entries.append(
            Exemption(
                key,
                patterns.get("ContainerName"),
                patterns.get("Image"),
                reason.strip(),
                _config_bool(f"{key}.AllowOverrides", entry.get("AllowOverrides"), False),
            )
        )
    return entries


def _config_list(key: str, value: object, what: str) -> Sequence[object]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(key, f"must be a list of {what}, got {_kind(value)}")
    if len(value) > MAX_PATTERNS:
        raise ConfigError(key, f"has {len(value)} items; at most {MAX_PATTERNS} are allowed")
    return value


def _config_text(key: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise ConfigError(
            key, f"must be a string of 1 to {max_length} characters, got {_display(value)}"
        )
    return value


def _matches_all(pattern: str) -> bool:
    """Whether a glob is made only of wildcards with a ``*``: it matches every value."""
    return "*" in pattern and not pattern.strip("*?")


def _config_rules(key: str, value: object) -> frozenset[Rule]:
    """Rule ids, each refused by name unless it is one of ``Rule``."""
    rules = set()
    for position, item in enumerate(_config_list(key, value, "rule ids")):
        rule = next((rule for rule in Rule if rule.value == item), None)
        if rule is None:
            ids = ", ".join(rule.value for rule in Rule)
            raise ConfigError(
                f"{key}[{position}]", f"{_display(item)} is not a rule id (rule ids: {ids})"
            )
        rules.add(rule)
    return frozenset(rules)


def _config_tag_key(key: str, value: object) -> str | None:
    if value is None:
        return None
    text = _config_text(key, value, MAX_TAG_KEY)
    if text.strip() != text or text.lower().startswith("aws:"):
        raise ConfigError(
            key, f"must be a tag key people can set (no aws: prefix), got {_display(text)}"
        )
    return text


def atoi(text: str) -> int | None:
    """The integer Go's ``strconv.Atoi`` reads from ``text``, or None if it is not one.

    Signs and leading zeros are allowed (``+0``, ``-0``, ``00``). Digit strings
    too long to be any id come back as a value beyond ``MAX_ID``.
    """
    if _ATOI.fullmatch(text) is None:
        return None
    digits = text.lstrip("+-").lstrip("0") or "0"
    negative = text.startswith("-")
    if len(digits) > _MAX_DIGITS:
        return -(MAX_ID + 1) if negative else MAX_ID + 1
    return -int(digits) if negative else int(digits)  # any number of leading zeros


class Finding(NamedTuple):
    """One reason a container can run as root, and how to fix it."""

    rule: Rule
    reason: str
    fix: str
    short: str = ""
    """The reason in a few words, when ``reason`` is long."""
    unread: bool = False
    """The image could not be read (rule r): a layer that is not authoritative defers it."""

    @property
    def brief(self) -> str:
        return self.short or self.reason


def check_linux_user(value: object, settings: Settings) -> Finding | None:
    """Decide a Linux container's ``User`` value (rules c to k, and p); None means it passes.
    The first rule it fails decides, but a rule in ``WarnOnly`` (rule q) never hides one that
    is not: the first failed rule that blocks, if any, is the finding. A text is decided once
    per settings, however many containers share it (a long one costs its length once)."""
    if isinstance(value, str):
        return _check_linux_text(value, settings)
    return _first_blocking(_linux_findings(value, settings), settings)


@functools.lru_cache(maxsize=256)
def _check_linux_text(text: str, settings: Settings) -> Finding | None:
    return _first_blocking(_linux_findings(text, settings), settings)


def _first_blocking(found: Iterator[Finding], settings: Settings) -> Finding | None:
    findings = list(found)
    blocking = (f for f in findings if f.rule not in settings.warn_only)
    return next(blocking, findings[0] if findings else None)


def _linux_findings(value: object, settings: Settings) -> Iterator[Finding]:
    """Every rule a Linux ``User`` value fails, in the order of the rules' precedence."""
    text = _user_text(value)
    if text is None:
        yield _malformed(f"User is {_kind(value)}, not a user spec")
        return
    if text == "":
        yield _missing_user(*((None, None) if value is None else ("User is empty", "empty")))
        return
    if _is_windows_admin(text):
        yield _windows_admin()
        return
    # Every whitespace character but the ASCII space is non-printable (Unicode Cc, Zs, Zl, Zp).
    if not text.isprintable() or " " in text:
        yield _malformed("User contains whitespace or a non-printable character")
        return
    user, colon, rest = text.partition(":")
    group = rest.partition(":")[0]  # the runtime reads the first two fields, ignores the rest
    if ":" in rest:
        yield _malformed("User has more than one ':'")
    if user == "":
        yield _missing_user("the user part before ':' is empty", "no user part")
    if colon and group == "":
        yield _malformed(
            "the group after ':' is empty, so the runtime falls back to the user's primary "
            "group, gid 0 when the image does not list the user"
        )
    parts = (_check_user_part(user, settings) if user else None, _check_group_part(group, settings))
    yield from (finding for finding in parts if finding is not None)


def _check_user_part(user: str, settings: Settings) -> Finding | None:
    uid = atoi(user)
    if uid is None:
        if user.casefold() == "root":
            return Finding(Rule.ROOT_USER, "user root is uid 0", _FIX_ROOT)
        if settings.require_numeric_user:
            required = settings.named("RequireNumericUser")
            return Finding(
                Rule.NAMED_USER,
                "a user name is resolved from the image's /etc/passwd and may be uid 0; "
                f"{required} is set",
                "use the numeric uid instead of the name, e.g. " + EXAMPLE_USER,
                f"a name, not a uid, and {required} is set",
            )
        return None
    if uid == 0:
        return Finding(Rule.ROOT_USER, "uid 0 is root", _FIX_ROOT)
    if not 0 <= uid <= MAX_ID:
        return Finding(
            Rule.UID_OUT_OF_RANGE,
            f"the uid is outside 0..{MAX_ID}",
            "use a uid from 1 to 2147483647, e.g. " + EXAMPLE_USER,
        )
    if uid < settings.minimum_uid:
        return Finding(
            Rule.UID_BELOW_MINIMUM,
            f"uid {uid} is below {settings.named('MinimumUid')} {settings.minimum_uid}",
            f"use a uid of at least {settings.minimum_uid}",
        )
    return None


def _check_group_part(group: str, settings: Settings) -> Finding | None:
    if group == "":
        return None
    gid = atoi(group)
    if gid is not None and not 0 <= gid <= MAX_ID:
        return Finding(
            Rule.GID_OUT_OF_RANGE,
            f"the gid is outside 0..{MAX_ID}",
            "use a gid from 1 to 2147483647, e.g. " + EXAMPLE_USER,
        )
    is_root = gid == 0 if gid is not None else group.casefold() == "root"
    if is_root and not settings.allow_root_group:
        return Finding(
            Rule.ROOT_GROUP,
            "the group is root (gid 0)",
            f"use a non-root group, e.g. {EXAMPLE_USER}, or set {settings.named('AllowRootGroup')}",
        )
    return None


_FIX_ROOT = "set User to a non-root uid and gid, e.g. " + EXAMPLE_USER


def _missing_user(cause: str | None, brief_cause: str | None = None) -> Finding:
    reason = (
        "the image's default user applies, which is root unless the image sets one, "
        "and that cannot be verified at deploy time"
    )
    short = "the image's default user applies (often root)"
    return Finding(
        Rule.MISSING_USER,
        f"{cause}: {reason}" if cause else reason,
        _FIX_ROOT,
        f"{brief_cause}: image default applies" if brief_cause else short,
    )


def _malformed(reason: str) -> Finding:
    return Finding(
        Rule.MALFORMED_USER,
        reason,
        f'write User as "uid" or "uid:gid" with no spaces, e.g. {EXAMPLE_USER}',
    )


def check_windows_user(value: object) -> Finding | None:
    """Decide a Windows container's ``User`` value (rules l to o); None means it passes."""
    text = _user_text(value)
    if text is None:
        return _malformed(f"User is {_kind(value)}, not an account name")
    if text.strip() == "":
        return Finding(
            Rule.WINDOWS_MISSING_USER,
            "the image's default user applies: ContainerAdministrator in Windows Server Core "
            "images",
            _FIX_WINDOWS,
        )
    if not text.isprintable():
        return _malformed("User contains a non-printable character")
    if _is_windows_admin(text):
        return _windows_admin()
    return None


def _is_windows_admin(text: str) -> bool:
    """Whether the account (after the last ``\\``, before any ``@``) is an administrator."""
    account = text.strip().rpartition("\\")[2].partition("@")[0]
    return account.casefold() in WINDOWS_ADMIN_ACCOUNTS


def _windows_admin() -> Finding:
    return Finding(Rule.WINDOWS_ADMIN_USER, "User is a Windows administrator account", _FIX_WINDOWS)


_FIX_WINDOWS = 'set User to a non-administrator account, e.g. "ContainerUser"'


def _user_text(value: object) -> str | None:
    """The user spec as the runtime would read it; None for a value of the wrong type."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_text(value)
    return None


def _int_text(value: int) -> str:
    """The digits of ``value``; for a huge number, a shorter one just as far out of range."""
    if abs(value) < 10**_MAX_DIGITS:
        return str(value)
    return ("-" if value < 0 else "") + "9" * (_MAX_DIGITS + 1)


class ContainerResult(NamedTuple):
    """The verdict on one container definition."""

    position: int
    name: object
    user: object
    verdict: Verdict
    finding: Finding | None = None
    note: str = ""
    brief: str = ""
    """``note`` in a few words, when it is long (why a container is skipped)."""

    @property
    def label(self) -> str:
        """How messages name this container: its name (escaped) and position."""
        if isinstance(self.name, str):
            return f"container {quote(self.name)} (#{self.position})"
        return f"container #{self.position}"

    @property
    def seen(self) -> str:
        """The value decided, as messages show it."""
        return "User not set" if self.user is None else f"User {_display(self.user)}"

    def describe(self, when: str = "", origin: str = "") -> str:
        """One line: the container, the value seen and the verdict's reason (and fix); ``when``
        follows the container's label (``", when HasProxy is true,"``), ``origin`` the value
        (``" from parameter AppUser"``). A violation that only warns (rule q) starts with
        "Warning", one that blocks with "Violation"."""
        if self.finding is None:
            return f"{self.label}{when}: {self.seen}{origin}: {self.note}"
        kind = "Warning" if self.verdict is Verdict.WARN else "Violation"
        return (
            f"{kind}: {self.label}{when} {self.seen}{origin}: {self.finding.reason}. "
            f"Fix: {self.finding.fix}."
        )

    @property
    def short_label(self) -> str:
        """``label`` without the position when the container has a name."""
        return f"container {quote(self.name)}" if isinstance(self.name, str) else self.label

    def what(self, when: str = "", origin: str = "") -> str:
        """``describe`` without its kind and fix: the container, the value and the reason."""
        reason = self.finding.reason if self.finding else self.note
        return f"{self.label}{when} {self.seen}{origin}: {reason}"

    def summary(self, when: str = "", origin: str = "") -> str:
        """``describe`` in a few words, without the fix: the container, the value, what is
        wrong."""
        if self.finding is None:
            return f"{self.short_label}{when}: {self.seen}{origin}: {self.note}"
        return f"{self.short_label}{when} {self.seen}{origin}: {self.finding.brief}"


class Report(NamedTuple):
    """The verdicts on every container of one task definition."""

    results: tuple[ContainerResult, ...]
    windows: bool = False

    @property
    def failures(self) -> tuple[ContainerResult, ...]:
        return tuple(r for r in self.results if r.verdict is Verdict.FAIL)

    @property
    def skipped(self) -> tuple[ContainerResult, ...]:
        return tuple(r for r in self.results if r.verdict is Verdict.SKIP)

    @property
    def warnings(self) -> tuple[ContainerResult, ...]:
        """Violations of rules in ``WarnOnly``: reported, not blocking."""
        return tuple(r for r in self.results if r.verdict is Verdict.WARN)

    @property
    def compliant(self) -> bool:
        return not self.failures

    @property
    def _risk(self) -> str:
        return "an administrator" if self.windows else "root"

    def message(self, limit: int = MESSAGE_LIMIT) -> str:
        """The one-line answer, at most ``limit`` characters."""
        if self.compliant:
            noun = "container" if self.warnings else "skipped container"
            return fit(self._success_parts(), noun, limit)
        failures = self.failures
        noun = "container" if len(self.results) == 1 else "containers"
        head = f"{len(failures)} of {len(self.results)} {noun} can run as {self._risk}"
        if self.warnings:
            head += f"; {len(self.warnings)} more reported only (WarnOnly)"
        parts = [f"{head}.", *(r.describe() for r in (*failures, *self.warnings))]
        return fit(parts, "violation", limit)

    def _success_parts(self) -> list[str]:
        if not self.results:
            return ["No ContainerDefinitions: nothing to check."]
        checked = len(self.results) - len(self.skipped)
        noun = "container" if len(self.results) == 1 else "containers"
        warned = len(self.warnings)
        if warned:
            total = (
                f"{len(self.results)} {noun}"
                if checked == len(self.results)
                else (f"{checked} of {len(self.results)} {noun}")
            )
            head = f"Checked {total}: {reported_only(warned)}; nothing is blocked."
            parts = [r.describe() for r in self.warnings]
            return [head, *parts, *(f"Skipped {r.label}: {r.note}." for r in self.skipped)]
        if checked == 0:
            head = f"Checked 0 of {len(self.results)} {noun}: all skipped."
        elif checked == len(self.results):
            head = f"Checked {checked} {noun}: none can run as {self._risk}."
        else:
            head = f"Checked {checked} of {len(self.results)} {noun}: none can run as {self._risk}."
        return [head, *(f"Skipped {r.label}: {r.note}." for r in self.skipped)]


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one: "1 container", "2 containers"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def reported_only(count: int) -> str:
    """How a message says ``count`` violations warn only (rule q)."""
    one = count == 1
    return (
        f"{plural(count, 'violation')} {'is' if one else 'are'} reported only, as WarnOnly lists "
        f"{'its rule' if one else 'their rules'}"
    )


def fit(parts: list[str], noun: str, limit: int) -> str:
    """Join ``parts`` with spaces; if that is over ``limit``, keep the first parts that fit
    and say how many more there are (cutting the first part itself only as a last resort)."""
    text = " ".join(parts)
    if len(text) <= limit:
        return text
    # ends[k - 1] - 1 is the length of " ".join(parts[:k])
    ends = list(itertools.accumulate(len(part) + 1 for part in parts))
    for kept in range(len(parts) - 1, 0, -1):
        left = len(parts) - kept
        tail = f" ...and {left} more {noun}{'' if left == 1 else 's'}."
        if ends[kept - 1] - 1 + len(tail) <= limit:
            return " ".join(parts[:kept]) + tail
    return text[:limit]


def evaluate(properties: object, settings: Settings, images: ImageLookup | None = None) -> Report:
    """Decide every container definition of an ``AWS::ECS::TaskDefinition``; ``images`` reads
    what an image runs as, when ``ImageVerification`` is on (rule r)."""
    if properties is None:
        return Report(())
    if not isinstance(properties, Mapping):
        raise MalformedTaskDefinitionError(
            f"The task definition's properties must be an object, got {_kind(properties)}."
        )
    windows = _is_windows(properties.get("RuntimePlatform"))
    platforms = (
        ()
        if settings.image_verification is ImageVerification.OFF
        else task_platforms(properties.get("RuntimePlatform"))
    )
    containers = properties.get("ContainerDefinitions")
    if containers is None:
        return Report((), windows)
    if isinstance(containers, (str, bytes)) or not isinstance(containers, Sequence):
        raise MalformedTaskDefinitionError(
            f"ContainerDefinitions must be a list, got {_kind(containers)}."
        )
    exception = tag_exception(properties.get("Tags"), settings)
    brief = tag_exception(properties.get("Tags"), settings, brief=True)
    results = []
    for index, container in enumerate(containers):
        if not isinstance(container, Mapping):
            raise MalformedTaskDefinitionError(
                f"ContainerDefinitions[{index}] must be an object, got {_kind(container)}."
            )
        if exception:
            name, user = container.get("Name"), container.get("User")
            results.append(
                ContainerResult(index, name, user, Verdict.SKIP, note=exception, brief=brief)
            )
        else:
            results.append(
                _decide_container(index, container, windows, settings, (platforms, images))
            )
    return Report(tuple(results), windows)


def tag_exception(tags: object, settings: Settings, brief: bool = False) -> str:
    """Why the task definition is excepted by its tag (rule a), or "": its ``Tags`` hold
    ``ExceptionTagKey`` with a value that is not blank, and no blank one. ``brief``: the key and
    reason cut short."""
    key = settings.exception_tag_key
    if key is None or isinstance(tags, (str, bytes)) or not isinstance(tags, Sequence):
        return ""
    values = [
        tag.get("Value") for tag in tags if isinstance(tag, Mapping) and tag.get("Key") == key
    ]
    reasons = [value.strip() for value in values if isinstance(value, str) and value.strip()]
    if not values or len(reasons) < len(values):
        return ""
    if brief:
        return f"excepted by its tag {quote(key, BRIEF)}: {quote(reasons[0], BRIEF)}"
    return f"excepted by its tag {quote(key)}: {quote(reasons[0], MAX_REASON)}"


def _is_windows(platform: object) -> bool:
    if platform is None:
        return False
    if not isinstance(platform, Mapping):
        raise MalformedTaskDefinitionError(
            f"RuntimePlatform must be an object, got {_kind(platform)}."
        )
    family = platform.get("OperatingSystemFamily")
    if family is None:
        return False
    if not isinstance(family, str):
        raise MalformedTaskDefinitionError(
            f"RuntimePlatform.OperatingSystemFamily must be a string, got {_kind(family)}."
        )
    return family.startswith(WINDOWS_FAMILY_PREFIX)


def _decide_container(
    index: int,
    container: Mapping[str, object],
    windows: bool,
    settings: Settings,
    images: tuple[tuple[Platform, ...], ImageLookup | None],
) -> ContainerResult:
    name, user = container.get("Name"), container.get("User")
    exemption = next((e for e in settings.exemptions if e.matches(container)), None)
    refused = next((e for e in settings.exemptions if e.matches_patterns(container)), None)
    if exemption:
        return ContainerResult(
            index,
            name,
            user,
            Verdict.SKIP,
            note=exemption.describe(),
            brief=exemption.describe(True),
        )
    if windows and settings.windows_containers is WindowsMode.SKIP:
        return ContainerResult(
            index,
            name,
            user,
            Verdict.SKIP,
            note=f"Windows task definition, {settings.named('WindowsContainers')} is SKIP",
        )
    finding = check_windows_user(user) if windows else check_linux_user(user, settings)
    if finding and finding.rule in IMAGE_RULES and not (_user_text(user) or "").strip():
        finding, note = _from_image(finding, container.get("Image"), windows, settings, images)
        if finding is None:
            return ContainerResult(index, name, user, Verdict.PASS, note=note)
    if finding and not windows and container.get("FirelensConfiguration") is not None:
        finding = _firelens(finding)
    if finding and refused:
        finding = finding._replace(
            reason=f"{finding.reason}; {refused.source} does not exempt it, as it overrides "
            f"{' and '.join(overrides(container))} (AllowOverrides is not set)"
        )
    if finding:
        verdict = Verdict.WARN if finding.rule in settings.warn_only else Verdict.FAIL
        return ContainerResult(index, name, user, verdict, finding)
    return ContainerResult(index, name, user, Verdict.PASS, note=_pass_note(user, windows))


IMAGE_RULES = (Rule.MISSING_USER, Rule.WINDOWS_MISSING_USER)
"""The rules that leave the image's default user in force: rule r reads it."""

_WINDOWS_BUILDS = {
    "WINDOWS_SERVER_2016_FULL": "10.0.14393",
    "WINDOWS_SERVER_2019": "10.0.17763",
    "WINDOWS_SERVER_2004_CORE": "10.0.19041",
    "WINDOWS_SERVER_20H2_CORE": "10.0.19042",
    "WINDOWS_SERVER_2022": "10.0.20348",
    "WINDOWS_SERVER_2025": "10.0.26100",
}
"""The Windows build an ECS operating system family runs (by prefix): in an image index, the
manifest whose ``os.version`` starts with it is the one pulled."""


def task_platforms(platform: object) -> tuple[Platform, ...]:
    """The platforms a task definition may run its images on: Windows on x86-64 for a Windows
    family (its build when known: else any); Linux on the declared ``CpuArchitecture``. When no
    operating system family is declared, each of those ECS runs (Linux on x86-64 and ARM64, and
    Windows, which a task on EC2 need not declare): on EC2, the instance decides."""
    family = platform.get("OperatingSystemFamily") if isinstance(platform, Mapping) else None
    if isinstance(family, str) and family.startswith(WINDOWS_FAMILY_PREFIX):
        build = next((b for f, b in _WINDOWS_BUILDS.items() if family.startswith(f)), "")
        return (Platform("windows", "amd64", build),)
    cpu = platform.get("CpuArchitecture") if isinstance(platform, Mapping) else None
    linux = {
        "X86_64": (Platform("linux", "amd64"),),
        "ARM64": (Platform("linux", "arm64"),),
    }.get(
        cpu if isinstance(cpu, str) else "",
        (Platform("linux", "amd64"), Platform("linux", "arm64")),
    )
    if isinstance(family, str) or cpu == "ARM64":  # Windows tasks run on x86-64 only
        return linux
    return (*linux, Platform("windows", "amd64"))


def image_refusal(image: object, settings: Settings) -> str:
    """Why ``ImageVerification`` does not read ``image`` (rule r), or "" when it does."""
    # imported here: reference parsing is not needed unless images are read
    from .reference import ReferenceError, parse

    if not isinstance(image, str):
        return f"its Image is {_kind(image)}, not an image reference"
    try:
        reference = parse(image)
    except ReferenceError as error:
        return f"its Image is not an image reference the runtime can pull: {error}"
    if settings.image_verification is ImageVerification.DIGEST and not reference.pinned:
        return (
            f"{settings.named('ImageVerification')} is DIGEST and the image is not pinned by a "
            "digest (image@sha256:...)"
        )
    if not settings.may_read(reference.host):
        return f"registry {quote(reference.host)} is not in {settings.named('TrustedRegistries')}"
    return ""


def _from_image(
    missing: Finding,
    image: object,
    windows: bool,
    settings: Settings,
    reading: tuple[tuple[Platform, ...], ImageLookup | None],
) -> tuple[Finding | None, str]:
    """Rule r: the verdict on a container without a ``User`` by its image's ``config.User``
    for each platform the task may run it on: the first finding, or None and the pass note."""
    if settings.image_verification is ImageVerification.OFF:
        return missing, ""
    refusal = image_refusal(image, settings)
    if refusal:
        return missing._replace(reason=f"{missing.reason}; not read, as {refusal}"), ""
    assert isinstance(image, str)
    platforms, images = reading
    seen_all = images(image, platforms) if images is not None else ()
    if not seen_all:
        seen_all = (ImageSeen(None, problem="it was not looked up"),)
    notes = []
    for seen in seen_all:
        shown = _image_shown(image, seen)
        if seen.user is None:
            return (
                missing._replace(
                    reason=f"the image's default user applies and {shown} cannot be read: "
                    f"{seen.problem}",
                    short=f"{shown} cannot be read: {seen.problem}",
                    unread=True,
                ),
                "",
            )
        said = f"sets USER {quote(seen.user)}" if seen.user else "sets no USER"
        if windows:
            finding = check_windows_user(seen.user)
        else:
            finding = check_linux_user(seen.user, settings)
        if finding is not None:
            if not seen.user.strip():
                why = (
                    "Windows Server Core images run as ContainerAdministrator"
                    if windows
                    else "so it runs as root"
                )
                reason = f"{shown} {said}, {why}"
            else:
                reason = f"{shown} {said}: {finding.reason}"
            return (
                finding._replace(
                    reason=reason, fix=f"{finding.fix}, or {_FIX_IMAGE}", short=f"image {said}"
                ),
                "",
            )
        notes.append(f"{shown} {said}")
    return None, f"{'; '.join(notes)}: {_pass_note(seen_all[0].user, windows)}"


_FIX_IMAGE = "build the image with a non-root USER"


def _image_shown(image: str, seen: ImageSeen) -> str:
    """How messages name an image read: as written (a digest cut short), with the digest read
    when the reference does not give it, and the platform chosen from an index."""
    name, at, digest = image.partition("@")
    written = f"{name}@{digest[:19]}.." if at and len(digest) > 19 else image
    details = [
        seen.digest[:19] + ".." if seen.digest and seen.digest not in image else "",
        seen.platform,
    ]
    extra = ", ".join(detail for detail in details if detail)
    return f"image {quote(written, 128)}" + (f" ({extra})" if extra else "")


OVERRIDES = ("EntryPoint", "Command")
"""Container properties that replace what the image runs."""
OVERRIDE_PROPERTIES = (*OVERRIDES, "Privileged", "LinuxParameters")
"""Every container property ``overrides`` reads."""


def overrides(container: Mapping[str, object]) -> tuple[str, ...]:
    """What the container sets that changes what its image runs, or with which powers:
    ``EntryPoint`` or ``Command`` (not empty), ``Privileged`` (true), capabilities added
    (``LinuxParameters.Capabilities.Add``, not empty). A value of another shape counts (as
    one a template cannot resolve does): an exemption is never taken on a guess."""
    found = [key for key in OVERRIDES if container.get(key) not in (None, [], "")]
    privileged = container.get("Privileged")
    if privileged not in (None, False) and str(privileged).lower() != "false":
        found.append("Privileged")
    parameters = container.get("LinuxParameters")
    capabilities = parameters.get("Capabilities") if isinstance(parameters, Mapping) else None
    added = capabilities.get("Add") if isinstance(capabilities, Mapping) else None
    if added not in (None, []):
        found.append("LinuxParameters.Capabilities.Add")
    return tuple(found)


FIRELENS_FIX = (
    "set User to a numeric uid, e.g. "
    + EXAMPLE_USER
    + ": a FireLens log router can run as non-root since ECS agent 1.96.0 (FireLens non-root "
    "user mode), which takes a numeric uid only (docs/configuration.md, FireLens log routers)"
)


def _firelens(finding: Finding) -> Finding:
    """A FireLens log router's finding, with the fix for log routers (rules c and e)."""
    if finding.rule in (Rule.MISSING_USER, Rule.ROOT_USER):
        return finding._replace(fix=FIRELENS_FIX)
    return finding


def _pass_note(user: object, windows: bool) -> str:
    if windows:
        return "not an administrator account"
    text = _user_text(user) or ""
    name = text.partition(":")[0]
    if atoi(name) is None:
        return "a named user, not root by name (its uid comes from the image's /etc/passwd)"
    return "not root"


def _kind(value: object) -> str:
    """A value's JSON kind, for messages that must not echo the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return "a value of another type"


def _display(value: object) -> str:
    """A short, printable, single-line rendering of a scalar for messages."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, int):
        return _int_text(value)
    return f"({_kind(value)})"


def quote(text: str, limit: int = _DISPLAY_LIMIT) -> str:
    """``text`` in double quotes with non-printable characters escaped, cut at ``limit``."""
    shown = text[:limit]
    escaped = "".join(_escape_char(char) for char in shown)
    suffix = f"... ({len(text)} characters)" if len(text) > limit else ""
    return f'"{escaped}"{suffix}'


def _escape_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
