"""`ecs-nonroot check`: the hook's decision over CloudFormation templates, before deploying them
(and `ecs-nonroot audit`: over what is deployed already, see ``audit``).

Reads YAML and JSON templates (files, directories searched recursively, or - for standard
input), checks every AWS::ECS::TaskDefinition with the hook's own policy and prints the result as
text, JSON or SARIF. Exit codes: 0 nothing can run as root, 1 a container can run as root or
cannot be verified, 2 usage error or unreadable input.

Only regular files are read, at most 16 MiB each (FIFOs, sockets and devices are skipped with a
note), and only those of at most 4 MiB as templates (a larger file in which no task definition
can be written is skipped with a note). Directories are searched through symbolic links, each
directory once. A directory that cannot be read is an error, and so is any file that cannot be
read or checked; the other files are still checked and reported.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import stat
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .loader import may_hold_task_definitions
from .policy import ConfigError, ImageVerification, Settings, plural, quote
from .report import (
    EXIT_USAGE,
    exit_code,
    printable,
    render_github,
    render_json,
    render_junit,
    render_sarif,
    render_text,
    shown,
)
from .resolve import PSEUDO_PARAMETERS
from .scan import CANNOT_HOLD, NOT_A_TEMPLATE, FileReport, Options, check_file

if TYPE_CHECKING:
    from .audit import Audited, Unit
    from .audit_report import Tally

SUFFIXES = (".yaml", ".yml", ".json", ".template")
DEFAULT_EXCLUDES = (".*", "node_modules", "__pycache__")
"""Never searched (a name given on the command line is still read): hidden files and
directories (.git, .venv, .aws-sam), node_modules, bytecode caches."""
NOT_REGULAR = "not a regular file"
"""How a file that is not read because it is a FIFO, socket or device is noted."""
MAX_BYTES = 16 * 1024 * 1024
"""The largest file read."""
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024
"""The largest file read as a template: four times the largest template CloudFormation accepts
(1 MB), room for a source with comments and indentation. What a template costs to check grows
with its size: this bounds it (docs/hardening.md)."""
PARALLEL_FROM = 16
"""With at least this many files, templates are checked in parallel on every core."""

_FLAGS = {
    "allow_root_group": ("AllowRootGroup", "--allow-root-group"),
    "require_numeric_user": ("RequireNumericUser", "--require-numeric-user"),
    "minimum_uid": ("MinimumUid", "--minimum-uid"),
    "windows_containers": ("WindowsContainers", "--windows-containers"),
    "exempt_container_names": ("ExemptContainerNames", "--exempt-container-name"),
    "exempt_images": ("ExemptImages", "--exempt-image"),
    "allow_match_all_exemptions": ("AllowMatchAllExemptions", "--allow-match-all-exemptions"),
    "exception_tag_key": ("ExceptionTagKey", "--exception-tag-key"),
    "warn_only": ("WarnOnly", "--warn-only"),
    "image_verification": ("ImageVerification", "--image-verification"),
    "trusted_registries": ("TrustedRegistries", "--trusted-registry"),
}
"""Each setting's destination, the configuration property it sets and its flag."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "audit":
        return _audit(parser, args)
    if args.command != "check":
        parser.print_help()
        return EXIT_USAGE
    try:
        options, config = _options(args)
        found = list(_expand(args.paths, [*DEFAULT_EXCLUDES, *args.exclude]))
    except (OSError, ValueError) as error:  # ConfigError is a ValueError
        print(printable(f"{parser.prog}: error: {error}"), file=sys.stderr)
        return EXIT_USAGE
    reports = check_all([item for _, item in found], options, args.jobs)
    unknown = _unknown_parameters(options, reports)
    if unknown:
        print(printable(f"{parser.prog}: error: {unknown}"), file=sys.stderr)
        return EXIT_USAGE
    for note in _nothing_found(args.paths, found, reports):
        print(printable(f"{parser.prog}: note: {note}"), file=sys.stderr)
    _print(reports, args.format, _detail(args), options, config)
    return exit_code(reports)


def _nothing_found(
    paths: Sequence[str],
    found: Sequence[tuple[str, str | FileReport]],
    reports: Sequence[FileReport],
) -> Iterator[str]:
    """A note for each directory given in which no file is a template (a gate that read nothing
    must say so)."""
    for path in dict.fromkeys(p for p in paths if p != "-" and os.path.isdir(p)):
        mine = [r for (argument, _), r in zip(found, reports, strict=True) if argument == path]
        if not any(report.status != "skipped" for report in mine):
            suffixes = ", ".join(SUFFIXES[:-1]) + f" or {SUFFIXES[-1]}"
            yield (
                f"{shown(path)}: no CloudFormation template found ({plural(len(mine), 'file')} "
                f"named {suffixes} read, none a template; hidden files and directories, "
                f"{' and '.join(DEFAULT_EXCLUDES[1:])} are not searched)"
            )


def _detail(args: argparse.Namespace) -> str:
    return "verbose" if args.verbose else "quiet" if args.quiet else "normal"


def _print(
    reports: Sequence[FileReport], form: str, detail: str, options: Options, config: str | None
) -> None:
    """The reports in ``form``, with the configuration file used (``config``); a reader that
    stops reading (``| head``) ends the output, not the run."""
    try:
        if form == "json":
            print(render_json(reports, config))
        elif form == "sarif":
            warn_only = frozenset(rule.value for rule in options.settings.warn_only)
            print(render_sarif(reports, __version__, warn_only))
        elif form == "github":
            print(render_github(reports, detail))
        elif form == "junit":
            print(render_junit(reports))
        else:
            print(render_text(reports, detail, colour=_colour()))
        sys.stdout.flush()
    except BrokenPipeError:  # nothing more can be written: the rest goes nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _colour() -> bool:
    """Colours only on a terminal, and not when NO_COLOR is set (no-color.org) or TERM is dumb."""
    return (
        sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM", "") != "dumb"
    )


def _audit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`ecs-nonroot audit`: exit codes as check's, or EXIT_PARTIAL when some account or Region
    could not be read (what could be is reported), or some finding could not be sent to
    Security Hub."""
    from . import audit, audit_report, security_hub

    try:
        import boto3
    except ImportError:
        print(
            f"{parser.prog}: error: audit needs boto3: pip install {_AUDIT_EXTRA!r}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    tally = audit_report.Tally()
    with audit_report.Store() as store:

        def sink(item: audit.Audited) -> None:
            found = audit_report.record(item)
            tally.add(found)
            store.add(found)

        try:
            options, config = _options(args)
            session = boto3.Session()
            accounts, units = _audit_read(args, session, options, sink, tally)
        except Exception as error:  # credentials, Organizations, the aggregator, the caller
            print(printable(f"{parser.prog}: error: {_audit_error(error)}"), file=sys.stderr)
            return EXIT_USAGE
        try:
            if args.format == "json":
                audit_report.write_json(
                    sys.stdout, store.records(), tally, source=args.source, config=config,
                    accounts=accounts,
                )  # fmt: skip
            elif args.format == "csv":
                audit_report.write_csv(sys.stdout, store.records())
            elif args.format == "asff":
                security_hub.write_asff(sys.stdout, store.records())
            else:
                audit_report.write_text(
                    sys.stdout, store.records(), tally, source=args.source,
                    detail=_detail(args), accounts=accounts,
                )  # fmt: skip
            sys.stdout.flush()
        except BrokenPipeError:  # nothing more can be written: the rest goes nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = tally.exit_code()
        if args.to_security_hub:
            session_for = audit.Accounts(session, args.role)
            unreadable = {u.unit for u in tally.unreadable}
            sent = security_hub.send(
                store.records(),
                [
                    unit
                    for unit in [*units, *tally.units]
                    if unit not in unreadable and "unknown" not in unit  # a row that said neither
                ],
                lambda account, region: session_for(account).client(
                    "securityhub", region_name=region, config=audit.client_config()
                ),
                # a row of the aggregator that says no account or Region may be anyone's
                complete=not args.in_use and not any("unknown" in unit for unit in tally.units),
                kinds=_kinds_read(args, options),
            )
            line = f"Security Hub: {sent.imported} findings imported, {sent.resolved} resolved"
            for text in [line, *(f"Security Hub: not sent: {failed}" for failed in sent.failed)]:
                print(printable(f"{parser.prog}: {text}"), file=sys.stderr)
            code = audit.EXIT_PARTIAL if sent.failed else code
    return code


def _kinds_read(args: argparse.Namespace, options: Options) -> frozenset[str]:
    """What the audit read all of, of what its findings are about: stacks with the roles
    source, running tasks with it when images are read and what is in use is."""
    kinds = {"task-definition"}
    if args.source == "roles":
        kinds.add("stack")
        if args.in_use and options.settings.image_verification is not ImageVerification.OFF:
            kinds.add("running-task")
    return frozenset(kinds)


def _audit_read(
    args: argparse.Namespace,
    session: Any,
    options: Options,
    sink: Callable[[Audited], None],
    tally: Tally,
) -> tuple[list[str] | None, list[Unit]]:
    """Read and decide from the source asked for, into ``sink``; the accounts and the units
    listed (for the config source: none, the aggregator has them)."""
    from . import audit, docker_config

    regions = list(dict.fromkeys(r for item in args.region for r in item.split(",") if r))
    accounts = list(dict.fromkeys(a for i in args.accounts or () for a in i.split(",") if a))
    if any(not (a.isascii() and a.isdigit() and len(a) == 12) for a in accounts):
        raise ValueError("--accounts wants 12-digit account ids")
    shared = {
        "role": args.role,
        "in_use": args.in_use,
        "image_client": docker_config.command_client,
        "jobs": args.jobs,
        "progress": audit.terminal_progress,
    }
    if args.source == "config":
        if not args.aggregator:
            raise ValueError("--source config needs --aggregator NAME")
        if not session.region_name:
            raise ValueError("no Region for the aggregator: set AWS_REGION")
        if args.organization:
            raise ValueError("--organization goes with --source roles: the aggregator has them")
        tally.unreadable = audit.audit_config(
            session, args.aggregator, options, sink, accounts=accounts, regions=regions, **shared
        )
        return None, []
    if args.aggregator:
        raise ValueError("--aggregator goes with --source config")
    if not regions and session.region_name:
        regions = [session.region_name]
    if not regions:
        raise ValueError("no Region: give --region (or set AWS_REGION)")
    if args.organization:
        accounts = audit.accounts_of_organization(session)
    elif not accounts:
        accounts = [audit.caller_account(session)]
    units = audit.units_of(accounts, regions)
    tally.unreadable = audit.audit(session, units, options, sink, **shared)
    return accounts, units


def _audit_error(error: Exception) -> str:
    """What stopped the audit before it read any account."""
    if isinstance(error, ValueError):
        return str(error)
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return f"{getattr(error, 'operation_name', 'AWS')}: {response.get('Error', {}).get('Code')}"
    return type(error).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecs-nonroot",
        description="Check that no container of an ECS task definition can run as root.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{check,audit}")
    check = commands.add_parser(
        "check",
        help="check CloudFormation templates",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="template, directory (searched), or - for standard input; default: .",
    )
    _policy_arguments(check)
    check.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value, or a pseudo parameter's such as AWS::Region "
        "(repeatable); otherwise its Default is used. A NAME no checked template declares is "
        "an error.",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files and directories whose name or path matches, when searching "
        f"directories (repeatable; always left out: {' '.join(DEFAULT_EXCLUDES)})",
    )
    check.add_argument(
        "--jobs",
        type=_positive,
        default=os.cpu_count() or 1,
        help="processes for large trees (at most one per core)",
    )
    audit = commands.add_parser(
        "audit",
        help="decide what is deployed: task definitions and stacks, in accounts and Regions",
        description=_AUDIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _policy_arguments(audit, audit=True)
    audit.add_argument(
        "--source",
        choices=("roles", "config"),
        default="roles",
        help="roles (default): read each account and Region through the ECS and CloudFormation "
        "APIs; config: read task definitions from an AWS Config aggregator (--aggregator)",
    )
    audit.add_argument(
        "--aggregator",
        metavar="NAME",
        help="the AWS Config aggregator (--source config), in the session's Region",
    )
    audit.add_argument(
        "--region",
        action="append",
        default=[],
        help="Region(s), comma-separated (--source config: only these)",
    )
    where = audit.add_mutually_exclusive_group()
    where.add_argument("--accounts", action="append", help="account ids, comma-separated")
    where.add_argument(
        "--organization", action="store_true", help="every ACTIVE account of the organization"
    )
    audit.add_argument("--role", help="the role to assume in each account other than the caller's")
    audit.add_argument(
        "--in-use",
        action="store_true",
        help="only task definitions that services deploy or running tasks run",
    )
    audit.add_argument(
        "--jobs", type=_positive, default=16, help="accounts and Regions read at once"
    )
    audit.add_argument(
        "--to-security-hub",
        action="store_true",
        help="also import the findings into Security Hub, in the account and Region of each "
        "resource (through --role elsewhere than the caller's account), and resolve ours "
        "that are no longer found",
    )
    return parser


_AUDIT_EXTRA = "guardrails-ecs-nonrootuser[audit]"
_AUDIT_HELP = """Decide what is deployed with the hook's policy and configuration, before enforcing.
--source roles (default): every ACTIVE task definition revision (--in-use: only those services
deploy or running tasks run) from the ECS API, and every stack's template with its own parameter
values ("blocked at its next update"), in the caller's account, or --accounts / --organization by
assuming --role in each. --source config: every task definition an AWS Config aggregator records
across the organization, with no role in each account (--in-use reads usage through --role).
The report groups by account and Region and ends with a summary; --to-security-hub sends it to
Security Hub. Exit codes as check's, and 3 when some account or Region could not be read (the
rest is reported) or a finding could not be sent."""


def _policy_arguments(command: argparse.ArgumentParser, *, audit: bool = False) -> None:
    """The arguments check and audit share: output, configuration and the policy's settings."""
    if audit:
        command.add_argument(
            "--format",
            choices=("text", "json", "csv", "asff"),
            default="text",
            help="text (default): by account and Region, with counts and a summary table; "
            "json: every record; csv: a row per finding, for spreadsheets; asff: the AWS "
            "Security Finding Format, a finding per failing container",
        )
    else:
        command.add_argument(
            "--format",
            choices=("text", "json", "sarif", "github", "junit"),
            default="text",
            help="text (default): one line per finding; json: every detail; sarif: for code "
            "scanning; github: workflow commands, annotations on the pull request; junit: XML "
            "test reports (GitLab, Jenkins, Azure DevOps)",
        )
    detail = command.add_mutually_exclusive_group()
    detail.add_argument(
        "-q", "--quiet", action="store_true", help="text: only errors, warnings and the summary"
    )
    detail.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="text: also each finding's reason and fix, the configuration file used, and every "
        "file skipped (not a CloudFormation template, not a regular file); github: also "
        "skipped containers",
    )
    source = command.add_mutually_exclusive_group()
    source.add_argument(
        "--config",
        metavar="FILE",
        help="the hook's type configuration (JSON): its Properties object, or a whole "
        f"CloudFormationConfiguration document as given to set-type-configuration (default: "
        f"{CONFIG_NAME} in the working directory or a parent, up to the repository's root)",
    )
    source.add_argument(
        "--no-config", action="store_true", help=f"ignore any {CONFIG_NAME}: only the flags"
    )
    command.add_argument(
        "--unresolved",
        choices=("fail", "warn"),
        default="fail",
        help="a User that cannot be resolved from the template fails (default) or only warns",
    )
    command.add_argument(
        _FLAGS["allow_root_group"][1],
        action=argparse.BooleanOptionalAction,
        default=None,
        help="AllowRootGroup: allow an explicit root group (1000:0)",
    )
    command.add_argument(
        _FLAGS["require_numeric_user"][1],
        action=argparse.BooleanOptionalAction,
        default=None,
        help="RequireNumericUser: the user part must be a numeric uid",
    )
    command.add_argument(
        _FLAGS["minimum_uid"][1],
        metavar="N",
        help="MinimumUid: a numeric uid below N fails (default 1)",
    )
    command.add_argument(
        _FLAGS["windows_containers"][1],
        choices=("ENFORCE_NON_ADMIN", "SKIP"),
        help="WindowsContainers: how Windows task definitions are checked",
    )
    command.add_argument(
        _FLAGS["exempt_container_names"][1],
        dest="exempt_container_names",
        action="append",
        metavar="GLOB",
        help="ExemptContainerNames: containers whose Name matches are skipped (repeatable)",
    )
    command.add_argument(
        _FLAGS["exempt_images"][1],
        dest="exempt_images",
        action="append",
        metavar="GLOB",
        help="ExemptImages: containers whose Image matches are skipped (repeatable)",
    )
    command.add_argument(
        _FLAGS["exception_tag_key"][1],
        metavar="KEY",
        help="ExceptionTagKey: a task definition whose own Tags hold KEY with a reason is skipped "
        "(off unless set)",
    )
    command.add_argument(
        _FLAGS["warn_only"][1],
        dest="warn_only",
        action="append",
        metavar="RULE",
        help="WarnOnly: report violations of these rule ids as warnings that do not fail "
        "(repeatable, or comma-separated), e.g. --warn-only missing-user",
    )
    command.add_argument(
        _FLAGS["image_verification"][1],
        choices=("OFF", "DIGEST", "TAG"),
        help="ImageVerification: decide a container that sets no User by its image's USER, read "
        "from its registry with your Docker credentials (and AWS credentials for ECR): DIGEST "
        "only images pinned by digest, TAG also tags (default OFF: such a container fails)",
    )
    command.add_argument(
        _FLAGS["trusted_registries"][1],
        dest="trusted_registries",
        action="append",
        metavar="GLOB",
        help="TrustedRegistries: registry hosts images may be read from (repeatable; default any)",
    )
    command.add_argument(
        _FLAGS["allow_match_all_exemptions"][1],
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept an exemption pattern made only of wildcards (*), which exempts everything",
    )


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 4096:
        raise argparse.ArgumentTypeError(f"wants a whole number from 1 to 4096, got {text!r}")
    return int(text)


def _options(args: argparse.Namespace) -> tuple[Options, str | None]:
    """The options the command's arguments give, and the configuration file they come from."""
    flags = {key: getattr(args, dest) for dest, (key, _) in _FLAGS.items()}
    if flags["WarnOnly"] is not None:
        flags["WarnOnly"] = [rule for item in flags["WarnOnly"] for rule in item.split(",")]
    config = args.config or (None if args.no_config else find_config())
    options = build_options(
        config,
        {key: value for key, value in flags.items() if value is not None},
        getattr(args, "parameter", []),
        args.unresolved,
        dict(_FLAGS.values()),
    )
    if args.verbose:
        print(printable(f"ecs-nonroot: config: {config or 'none'}"), file=sys.stderr)
    return options, config


CONFIG_NAME = ".ecs-nonroot.json"


def find_config(start: str | None = None) -> str | None:
    """The ``.ecs-nonroot.json`` that applies in ``start`` (the working directory): the first
    found there or in its parents up to the repository's root (the first directory holding
    ``.git``); outside a repository, only the one in ``start`` itself."""
    here = os.path.abspath(start or os.getcwd())
    directories = [here]
    while os.path.dirname(directories[-1]) != directories[-1]:
        directories.append(os.path.dirname(directories[-1]))
    root = next((d for d in directories if os.path.lexists(os.path.join(d, ".git"))), None)
    searched = directories[: directories.index(root) + 1] if root else [here]
    for directory in searched:
        candidate = os.path.join(directory, CONFIG_NAME)
        if os.path.lexists(candidate):
            return CONFIG_NAME if directory == here and start is None else candidate
    return None


def build_options(
    config: str | None,
    overrides: Mapping[str, Any],
    parameters: Sequence[str],
    unresolved: str,
    flags: Mapping[str, str] | None = None,
) -> Options:
    """Options from the hook's configuration file, settings that override it, ``NAME=VALUE``
    template parameters, and ``fail`` or ``warn`` for unresolved values. Messages name an option
    by its flag in ``flags`` (property -> flag) when that flag is given or no configuration file
    is; by its property otherwise, as the file (and the hook) names it. A setting the file holds
    that the policy refuses is an error naming the file and the property."""
    from_file: dict[str, Any] = dict(read_config(config)) if config else {}
    values = {}
    for item in parameters:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise ValueError(f"--parameter wants NAME=VALUE, got {item!r}")
        values[name] = value
    names = tuple(
        (key, flag) for key, flag in (flags or {}).items() if key in overrides or not config
    )
    try:
        settings = Settings.from_mapping({**from_file, **overrides})._replace(option_names=names)
    except ConfigError as error:  # from the file: named with it; from a flag: as it is
        if config and error.property not in overrides:
            raise ValueError(f"{config}: {error.key} {error.problem}") from None
        raise
    return Options(settings, values, unresolved == "warn")


MAX_CONFIG_BYTES = 1024 * 1024
"""The largest configuration file read (the hook's whole configuration is far smaller)."""


def read_config(path: str) -> Any:
    """The configuration's Properties object in the JSON file ``path``: that object itself, or
    a whole CloudFormationConfiguration document as given to set-type-configuration. Read as
    templates are: a regular file only, opened without blocking, of bounded size."""
    import json

    try:
        data = _read(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such configuration file") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror or error}") from None
    if isinstance(data, str):
        raise ValueError(f"{path}: cannot read: {data}")
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: cannot read: larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ValueError(f"{path}: not valid JSON ({reason})") from None
    if isinstance(document, dict) and "CloudFormationConfiguration" in document:
        try:
            document = document["CloudFormationConfiguration"]["HookConfiguration"]["Properties"]
        except (KeyError, TypeError):
            raise ValueError(
                f"{path}: no CloudFormationConfiguration.HookConfiguration.Properties"
            ) from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a JSON object of the hook's configuration properties")
    return document


def _unknown_parameters(options: Options, reports: Sequence[FileReport]) -> str:
    """Why a --parameter names nothing any checked template declares, or ""."""
    declared = set(PSEUDO_PARAMETERS).union(*(report.parameters for report in reports))
    unknown = sorted(set(options.parameters or {}) - declared)
    if not unknown:
        return ""
    names = ", ".join(quote(name) for name in unknown)
    return (
        f"--parameter {names}: no checked template declares it, and it is not a pseudo "
        f"parameter ({', '.join(sorted(PSEUDO_PARAMETERS))})"
    )


def _expand(
    paths: Sequence[str], excludes: Sequence[str]
) -> Iterator[tuple[str, str | FileReport]]:
    """The files to check, in order, each with the argument it was found by; a directory that
    cannot be read is its error report. Below a directory given, a file or directory whose name,
    or path relative to that directory, matches one of ``excludes`` is left out; a path given by
    name is always read."""
    for path in paths:
        if path == "-":
            yield path, path
        elif os.path.isdir(path):
            yield from ((path, item) for item in _walk(path, excludes))
        elif os.path.lexists(path):
            yield path, _tidy(path)
        else:
            raise OSError(f"{path}: no such file or directory")


def _tidy(path: str) -> str:
    """``path`` without its ``.`` components and repeated separators (``.//x/./y/`` is
    ``x/y``): the same file, named as whatever argument found it (``..`` is kept, so a link
    followed by ``..`` keeps its meaning)."""
    absolute = path.startswith(os.sep)
    kept = os.sep.join(part for part in path.split(os.sep) if part not in ("", "."))
    return (os.sep + kept) if absolute else (kept or ".")


def _walk(top: str, excludes: Sequence[str]) -> Iterator[str | FileReport]:
    """Template files under ``top`` in sorted order, through symbolic links to directories,
    each directory once (so a link loop ends), without what ``excludes`` matches below it."""
    seen: set[tuple[int, int]] = set()
    pending = [("", _tidy(top))]
    while pending:
        relative, directory = pending.pop()
        try:
            status = os.stat(directory)
            if (status.st_dev, status.st_ino) in seen:
                continue
            seen.add((status.st_dev, status.st_ino))
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            yield FileReport(directory, "error", f"cannot read directory: {error.strerror}")
            continue
        folders = []
        for entry in entries:
            below = f"{relative}{entry.name}"
            if any(fnmatch.fnmatch(entry.name, g) or fnmatch.fnmatch(below, g) for g in excludes):
                continue
            path = entry.name if directory == "." else os.path.join(directory, entry.name)
            if _is_directory(entry):
                folders.append((below + "/", path))
            elif entry.name.lower().endswith(SUFFIXES):
                yield path
        pending.extend(reversed(folders))


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def check_all(inputs: list[str | FileReport], options: Options, jobs: int) -> list[FileReport]:
    """Every input checked; with ``ImageVerification`` on, twice (``registry.with_images``):
    first in this process to learn which images are read, then with what they run as."""
    from . import registry

    stdin: bytes | str | None = None
    if "-" in inputs and options.settings.image_verification is not ImageVerification.OFF:
        with contextlib.suppress(OSError):  # then read, and its error reported, as any file
            stdin = _read("-")  # once: both passes check it

    def check(images: registry.ImageTable | None) -> list[FileReport]:
        given = options._replace(images=images)
        learning = images is not None and images.recording
        read = [
            _check_read("-", stdin, given) if item == "-" and stdin is not None else item
            for item in inputs
        ]
        return _check_each(read, given, 1 if learning else jobs)

    return registry.with_images(options.settings, check, _image_client)


def _image_client() -> Any:
    """The registry client of ``check``: the user's Docker credentials, and the AWS SDK's for
    ECR when boto3 is installed (the ``[audit]`` extra)."""
    from . import docker_config

    try:
        import boto3
    except ImportError:
        return docker_config.command_client(None)
    return docker_config.command_client(boto3.Session())


def _check_each(inputs: list[str | FileReport], options: Options, jobs: int) -> list[FileReport]:
    paths = [item for item in inputs if isinstance(item, str)]
    workers = min(jobs, len(paths), os.cpu_count() or 1)
    if workers < 2 or len(paths) < PARALLEL_FROM:
        checked = iter([check_path(path, options) for path in paths])
    else:
        from concurrent.futures.process import BrokenProcessPool

        try:
            checked = iter(_in_processes(paths, options, workers))
        except BrokenProcessPool:  # a process died: find the file, checking each on its own
            checked = iter([_in_own_process(path, options) for path in paths])
    return [next(checked) if isinstance(item, str) else item for item in inputs]


def _in_processes(paths: list[str], options: Options, workers: int) -> list[FileReport]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        chunk = max(1, len(paths) // (workers * 8))
        return list(pool.map(partial(check_path, options=options), paths, chunksize=chunk))


def _in_own_process(path: str, options: Options) -> FileReport:
    """``path`` checked in a process of its own: if that process dies, the file's error."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        (report,) = _in_processes([path], options, 1)
    except BrokenProcessPool:
        return FileReport(path, "error", "cannot check: the process checking it ended abruptly")
    return report


def check_path(path: str, options: Options) -> FileReport:
    """The report on one file, read as the command reads it (``_read``)."""
    try:
        data = _read(path)
    except OSError as error:
        return FileReport(path, "error", f"cannot read: {error.strerror or error}")
    return _check_read(path, data, options)


def _check_read(path: str, data: bytes | str, options: Options) -> FileReport:
    """The report on a file read (``_read``'s answer: its bytes, or why it was not read)."""
    if isinstance(data, str):
        return FileReport(path, "skipped", data)
    if len(data) > MAX_BYTES:
        return FileReport(path, "error", f"cannot read: larger than {MAX_BYTES:,} bytes")
    if len(data) > MAX_TEMPLATE_BYTES:
        larger = f"larger than {MAX_TEMPLATE_BYTES:,} bytes"
        if may_hold_task_definitions(data.decode("utf-8", "replace")):
            return FileReport(path, "error", f"cannot read: {larger}")
        return FileReport(path, "skipped", f"{NOT_A_TEMPLATE} ({larger}, {CANNOT_HOLD})")
    return check_file(path, data, options)


def _read(path: str) -> bytes | str:
    """The first ``MAX_BYTES`` + 1 bytes of a regular file or standard input, or why a file is
    not read (opened without blocking, so a FIFO cannot stop the run)."""
    if path == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket or device"
            return f"{NOT_REGULAR} ({kind}): not read"
        return file.read(MAX_BYTES + 1)
