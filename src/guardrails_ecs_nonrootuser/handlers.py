"""The hook's entrypoints: CloudFormation's request in, the policy's answer out.

This is the only module that imports the CloudFormation library. ``hook`` checks the shape of
the event before the library sees it, so a malformed or hostile event gets a plain
InvalidRequest instead of an exception inside the library (which would answer InternalFailure,
print a traceback and echo parts of the event). It reads a remote payload itself (``remote``),
and gives the library only the credentials it uses: the caller's (the hook's execution role)
only when ``ImageVerification`` is on, for ECR's authorization token, and the provider's only
when CloudFormation asks for log delivery. Log delivery (the
library's CloudWatch Logs handler and metrics, called in line) runs with bounded clients and
beside the decision, so an unreachable or silent CloudWatch never changes the verdict or holds
it past ``BUDGET``. The handlers read the type configuration and
the target's properties, ask ``policy`` for the decision and turn the report into a
ProgressEvent with one annotation per container. A STACK or CHANGE_SET target (routed on
``targetType``) is decided by ``stack`` from its payload, with one annotation per offending or
unverified container. Nothing here logs the request, its credentials or any property value.
"""

import contextlib
import contextvars
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

import cloudformation_cli_python_lib.hook as _library
from botocore.config import Config  # type: ignore[import-untyped]
from cloudformation_cli_python_lib.boto3_proxy import SessionProxy
from cloudformation_cli_python_lib.hook import Hook
from cloudformation_cli_python_lib.interface import (
    BaseHookHandlerRequest,
    HandlerErrorCode,
    HookAnnotation,
    HookAnnotationSeverityLevel,
    HookAnnotationStatus,
    HookContext,
    HookInvocationPoint,
    HookProgressEvent,
    OperationStatus,
    ProgressEvent,
)
from cloudformation_cli_python_lib.utils import HookInvocationRequest

from . import remote
from .models import TypeConfigurationModel
from .policy import (
    ConfigError,
    ContainerResult,
    ImageVerification,
    MalformedTaskDefinitionError,
    Settings,
    Verdict,
    evaluate,
    quote,
    rule_page,
)
from .remote import PayloadError

if TYPE_CHECKING:
    from .registry import ImageTable
    from .stack import Item

LOG = logging.getLogger(__name__)

TYPE_NAME = "Guardrails::ECS::NonRootUser"
TARGET_TYPE = "AWS::ECS::TaskDefinition"
DECISION_TABLE_URL = (
    "https://github.com/guardrails-hooks/guardrails-ecs-nonrootuser/blob/main/README.md"
    "#decision-table"
)
MAX_ANNOTATIONS = 50
"""ECS allows 10 containers per task definition; a larger request is annotated in part."""
ANNOTATION_LIMITS = {
    "annotationName": 1024,
    "statusMessage": 16_384,
    "remediationMessage": 16_384,
    "remediationLink": 5_120,
}
"""The longest each annotation field may be (CloudFormation API reference, the Annotation data
type, as botocore's model of GetHookResult states them). With MAX_ANNOTATIONS, an answer stays
under 2 MB."""

_ANNOTATION_STATUS = {
    Verdict.PASS: HookAnnotationStatus.PASSED,
    Verdict.FAIL: HookAnnotationStatus.FAILED,
    Verdict.SKIP: HookAnnotationStatus.SKIPPED,
    Verdict.WARN: HookAnnotationStatus.FAILED,
}
_SEVERITY = {
    Verdict.FAIL: HookAnnotationSeverityLevel.HIGH,
    Verdict.WARN: HookAnnotationSeverityLevel.MEDIUM,
}
"""A violation's severity: one that warns only (WarnOnly) is MEDIUM."""

BUDGET = 25.0
"""Seconds from the event's arrival to the answer: CloudFormation waits 30."""
TEMPLATE_BUDGET = 20.0
"""Seconds from the event's arrival after which resolving a template's values stops."""
IMAGE_BUDGET = 15.0
"""Seconds from the event's arrival by which every image is read (rule r): what is not read by
then fails closed at the resource level, and is left to it by the stack and change-set levels."""
_ARRIVED: contextvars.ContextVar[float] = contextvars.ContextVar("arrived")
_BOUNDED = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1})
"""The library's CloudWatch clients: one try, a few seconds at most."""

_HOOK = Hook(TYPE_NAME, TypeConfigurationModel)
test_entrypoint = _HOOK.test_entrypoint


_library_session = _library._get_boto_session  # type: ignore[attr-defined]


def _bounded_session(credentials: Any, region: str | None = None) -> SessionProxy | None:
    """The library's own session, with clients that give up quickly (it offers no setting for
    the clients it makes for log delivery and metrics)."""
    proxy: SessionProxy | None = _library_session(credentials, region)
    if proxy is not None:
        session = proxy.session
        proxy.client = lambda *args, **kwargs: session.client(*args, config=_BOUNDED, **kwargs)
    return proxy


_library._get_boto_session = _bounded_session  # type: ignore[attr-defined]


def hook(event: object, context: object) -> MutableMapping[str, Any]:
    """The Lambda entrypoint (``.rpdk-config``): the library's, behind a check of the event,
    with a remote payload read here (``remote``) so the library never fetches it."""
    started = time.monotonic()
    arrival = _ARRIVED.set(started)
    try:
        return _answer(event, context, started)
    finally:
        _ARRIVED.reset(arrival)


def _answer(event: object, context: object, started: float) -> MutableMapping[str, Any]:
    """The answer to one event that arrived at ``started``."""
    problem = event_problem(event)
    if not problem and isinstance(event, MutableMapping):
        try:
            event = _with_target_model(event)
        except PayloadError as error:
            problem = f"the remote payload cannot be read: {error}"
    if problem or not isinstance(event, MutableMapping):
        refusal = HookProgressEvent.failed(
            HandlerErrorCode.InvalidRequest, f"Invalid request: {problem}."
        )
        token = event.get("clientRequestToken") if isinstance(event, Mapping) else None
        refusal.clientRequestToken = token if _plain_text(token) else None
        return refusal._serialize()
    # The library reads these without defaults; a request may come without some of them
    # (a Cloud Control API request has no stack), and none of them changes the decision.
    complete = {**dict.fromkeys(_OPTIONAL_STRINGS), **event}
    data = complete["requestData"]
    logged = bool(data.get("providerLogGroupName") and data.get("providerCredentials"))
    reads_images = _reads_images(complete.get("hookModel"))
    unused = ({} if reads_images else {"callerCredentials": None}) | (
        {} if logged else {"providerCredentials": None}
    )
    complete["requestData"] = {**data, **unused}
    if not logged:
        response: MutableMapping[str, Any] = _HOOK(complete, context)
        return response
    return _beside_log_delivery(complete, context, started)


def _reads_images(configuration: object) -> bool:
    """Whether the type configuration turns ``ImageVerification`` on (the only use of the
    caller's credentials: ECR's authorization token)."""
    return isinstance(configuration, Mapping) and configuration.get("ImageVerification") in (
        ImageVerification.DIGEST.value,
        ImageVerification.TAG.value,
    )


def _beside_log_delivery(
    event: MutableMapping[str, Any], context: object, started: float
) -> MutableMapping[str, Any]:
    """The library's answer with its log delivery, if it comes within the budget and log
    delivery did not fail it (InternalFailure); else the same decision without the library."""
    answers: list[MutableMapping[str, Any]] = []
    state = contextvars.copy_context()
    worker = threading.Thread(
        target=lambda: answers.append(state.run(_HOOK, event, context)), daemon=True
    )
    worker.start()
    worker.join(max(0.0, started + BUDGET - time.monotonic()))
    if answers and answers[0].get("errorCode") != HandlerErrorCode.InternalFailure.value:
        return answers[0]
    try:
        return _without_library(event)
    except Exception:  # the library failed on the request itself, not on log delivery
        if answers:
            return answers[0]
        refusal = HookProgressEvent.failed(
            HandlerErrorCode.InvalidRequest, "Invalid request: it could not be decided in time."
        )
        return refusal._serialize()


def _without_library(event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The answer, decided without the library's log delivery and without logging (the log
    handler may still be held by a call that has not returned)."""
    request = HookInvocationRequest.deserialize(event)  # the target model is filled: no fetch
    handler_request, configuration = _HOOK._cast_hook_request(request)
    if request.actionInvocationPoint == HookInvocationPoint.DELETE_PRE_PROVISION.name:
        progress = _not_checked()
    else:
        session = _library._get_boto_session(request.requestData.callerCredentials)  # type: ignore[attr-defined]
        progress = decide(handler_request.hookContext, configuration, session, quiet=True)
    return Hook._create_progress_response(progress, event)._serialize()


def _with_target_model(event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``event`` with the target model its payload URL holds, when it comes that way."""
    data = event["requestData"]
    if data.get("targetModel") or not data.get("payload"):
        return event
    model = remote.fetch(data["payload"])
    return {**event, "requestData": {**data, "targetModel": model, "payload": None}}


_CREDENTIAL_KEYS = {"accessKeyId", "secretAccessKey", "sessionToken"}
_OPTIONAL_STRINGS = ("awsAccountId", "stackId", "changeSetId", "hookTypeName", "hookTypeVersion")
_TARGET_STRINGS = ("targetName", "targetType", "targetLogicalId")


def event_problem(event: object) -> str:
    """What makes ``event`` unfit for the library, or "" (the message never quotes the event)."""
    if not isinstance(event, MutableMapping) or not all(isinstance(key, str) for key in event):
        return "the event is not an object with string keys"
    point = event.get("actionInvocationPoint")
    if not isinstance(point, str) or point not in HookInvocationPoint.__members__:
        return "actionInvocationPoint is not a hook invocation point"
    if not _plain_text(event.get("clientRequestToken")):
        return "clientRequestToken is not plain text of at most 1024 characters"
    for key in _OPTIONAL_STRINGS:
        if event.get(key) is not None and not isinstance(event[key], str):
            return f"{key} is not a string"
    for key in ("hookModel", "requestContext"):
        if event.get(key) is not None and not isinstance(event[key], Mapping):
            return f"{key} is not an object"
    callback = (event.get("requestContext") or {}).get("callbackContext")
    if callback is not None and not isinstance(callback, MutableMapping):
        return "requestContext.callbackContext is not an object"
    return _request_data_problem(event.get("requestData"))


def _request_data_problem(data: object) -> str:
    if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
        return "requestData is not an object with string keys"
    for key in _TARGET_STRINGS:
        if not isinstance(data.get(key), str):
            return f"requestData.{key} is not a string"
    if data.get("targetModel") is not None and not isinstance(data["targetModel"], Mapping):
        return "requestData.targetModel is not an object"
    for key in ("providerLogGroupName", "payload"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"requestData.{key} is not a string"
    payload = data.get("payload")
    if not data.get("targetModel") and payload and not payload.startswith("https://"):
        return "requestData.payload is not an https URL"
    for key in [key for key in data if key.endswith("Credentials")]:
        if data[key] and not _credentials(data[key]):
            return f"requestData.{key} is not a credentials object"
    return ""


def _plain_text(value: object) -> bool:
    """A string the answer can echo: at most 1024 printable characters (so no lone surrogates)."""
    return isinstance(value, str) and len(value) <= 1024 and value.isprintable()


def _credentials(value: object) -> bool:
    """Whether ``value`` is the JSON text of an object with exactly the three string keys."""
    if not isinstance(value, str):
        return False
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return (
        isinstance(parsed, dict)
        and set(parsed) == _CREDENTIAL_KEYS
        and all(isinstance(item, str) for item in parsed.values())
    )


@_HOOK.handler(HookInvocationPoint.CREATE_PRE_PROVISION)
@_HOOK.handler(HookInvocationPoint.UPDATE_PRE_PROVISION)
def pre_provision_handler(
    session: SessionProxy | None,
    request: BaseHookHandlerRequest,
    callback_context: MutableMapping[str, Any],
    type_configuration: TypeConfigurationModel | None,
) -> ProgressEvent:
    """Check the task definition about to be created or updated."""
    return decide(request.hookContext, type_configuration, session)


@_HOOK.handler(HookInvocationPoint.DELETE_PRE_PROVISION)
def pre_delete_handler(
    session: SessionProxy | None,
    request: BaseHookHandlerRequest,
    callback_context: MutableMapping[str, Any],
    type_configuration: TypeConfigurationModel | None,
) -> ProgressEvent:
    """Deletes are never blocked (the schema does not ask for them; this answers if sent one)."""
    return _not_checked()


def _not_checked() -> ProgressEvent:
    return ProgressEvent(status=OperationStatus.SUCCESS, message="Deletes are not checked.")


def decide(
    context: HookContext,
    type_configuration: object,
    session: SessionProxy | None = None,
    *,
    quiet: bool = False,
) -> ProgressEvent:
    """The whole decision for one hook invocation, as a ProgressEvent; logged unless
    ``quiet``. ``session`` (the caller's) reads private ECR images when ``ImageVerification``
    is on."""
    try:
        settings = Settings.from_mapping(_properties(type_configuration))
    except ConfigError as error:
        return ProgressEvent.failed(HandlerErrorCode.InvalidTypeConfiguration, str(error))
    if context.targetType in _TEMPLATE_TARGETS:
        return _decide_template(context, settings, session, quiet)
    target = context.targetName
    if target != TARGET_TYPE:
        shown = quote(target) if isinstance(target, str) else "another target"
        return ProgressEvent.failed(
            HandlerErrorCode.UnsupportedTarget,
            f"This hook checks {TARGET_TYPE} only, not {shown}.",
        )
    target_model = context.targetModel
    if not isinstance(target_model, Mapping):
        return ProgressEvent.failed(
            HandlerErrorCode.InvalidRequest, "The request carries no targetModel object."
        )
    properties = target_model.get("resourceProperties")
    if not isinstance(properties, Mapping):  # absent or misspelled: nothing to decide on
        return ProgressEvent.failed(
            HandlerErrorCode.InvalidRequest,
            "The request's targetModel carries no resourceProperties object.",
        )
    try:
        report = _with_images(
            settings, lambda images: evaluate(properties, settings, images), session
        )
    except MalformedTaskDefinitionError as error:
        return ProgressEvent.failed(HandlerErrorCode.InvalidRequest, str(error))
    if not quiet:
        # the library's log handler, left on the root logger, may fail: it never decides
        with contextlib.suppress(Exception):
            LOG.info(
                "Checked %d containers: %d failed, %d skipped",
                len(report.results),
                len(report.failures),
                len(report.skipped),
            )
    return ProgressEvent(
        status=OperationStatus.SUCCESS if report.compliant else OperationStatus.FAILED,
        errorCode=None if report.compliant else HandlerErrorCode.NonCompliant,
        message=report.message(),
        annotations=[_annotation(result) for result in report.results[:MAX_ANNOTATIONS]],
    )


def _properties(type_configuration: object) -> object:
    """The configuration's Properties as the policy reads them: the library's model (a dataclass
    whose Exemptions are dataclasses too) as plain mappings; anything else as it is, which the
    policy refuses."""
    if dataclasses.is_dataclass(type_configuration) and not isinstance(type_configuration, type):
        return dataclasses.asdict(type_configuration)
    return type_configuration


_TEMPLATE_TARGETS = ("STACK", "CHANGE_SET")


_Decided = TypeVar("_Decided")


def _with_images(
    settings: Settings,
    decide: Callable[["ImageTable | None"], _Decided],
    session: SessionProxy | None,
) -> _Decided:
    """``decide``'s answer, with the images it reads read by ``IMAGE_BUDGET`` seconds after
    the event arrived, ECR's with ``session`` (the caller's), when ``ImageVerification`` is on."""
    if settings.image_verification is ImageVerification.OFF:
        return decide(None)  # the registry client is not even imported
    from . import credentials, registry

    def client() -> registry.Client:
        ecr = None
        if session is not None:
            ecr = credentials.ecr(lambda region: session.client("ecr", region_name=region))
        return registry.Client(_ARRIVED.get(time.monotonic()) + IMAGE_BUDGET, ecr)

    return registry.with_images(settings, decide, client)


def _decide_template(
    context: HookContext, settings: Settings, session: SessionProxy | None, quiet: bool
) -> ProgressEvent:
    """The decision on a stack's template or a change set (``stack``)."""
    # Imported here: the template reader (PyYAML) would add to every cold start, and a
    # resource-level invocation never uses it.
    from . import stack

    payload = context.targetModel
    if not isinstance(payload, Mapping):
        return ProgressEvent.failed(
            HandlerErrorCode.InvalidRequest, "The request carries no payload object."
        )
    check = stack.check_stack if context.targetType == "STACK" else stack.check_change_set
    known = stack.Known(
        _ARRIVED.get(time.monotonic()) + TEMPLATE_BUDGET,
        stack.pseudo_parameters(context.awsAccountId, context.stackId),
    )
    outcome = _with_images(
        settings, lambda images: check(payload, settings, known._replace(images=images)), session
    )
    if not quiet:
        with contextlib.suppress(Exception):
            LOG.info(
                "Checked a %s: %d failed, %d unverified, %d skipped",
                context.targetType,
                *(sum(i.status == s for i in outcome.items) for s in stack.STATUSES),
            )
    items = outcome.items
    annotations = [_item_annotation(item) for item in items[:MAX_ANNOTATIONS]]
    if len(items) > MAX_ANNOTATIONS:
        annotations[-1] = HookAnnotation(
            annotationName="NonRootUser more",
            status=HookAnnotationStatus.SKIPPED,
            statusMessage=f"{len(items) - MAX_ANNOTATIONS + 1} more findings are not shown.",
        )
    return ProgressEvent(
        status=OperationStatus.FAILED if outcome.failed else OperationStatus.SUCCESS,
        errorCode=HandlerErrorCode.NonCompliant if outcome.failed else None,
        message=outcome.message,
        annotations=annotations,
    )


def _item_annotation(item: "Item") -> HookAnnotation:
    verdict = {"FAIL": Verdict.FAIL, "WARN": Verdict.WARN}.get(item.status, Verdict.SKIP)
    return _within_limits(
        HookAnnotation(
            annotationName=f"NonRootUser {item.place}",
            status=_ANNOTATION_STATUS[verdict],
            statusMessage=item.describe(),
            remediationMessage=item.fix or None,
            remediationLink=rule_page(item.rule) if item.rule else DECISION_TABLE_URL,
            severityLevel=_SEVERITY.get(verdict),
        )
    )


def _annotation(result: ContainerResult) -> HookAnnotation:
    finding = result.finding
    return _within_limits(
        HookAnnotation(
            annotationName=f"NonRootUser {result.label}",
            status=_ANNOTATION_STATUS[result.verdict],
            statusMessage=result.describe(),
            remediationMessage=finding.fix if finding else None,
            remediationLink=rule_page(finding.rule.value) if finding else DECISION_TABLE_URL,
            severityLevel=_SEVERITY.get(result.verdict),
        )
    )


def _within_limits(annotation: HookAnnotation) -> HookAnnotation:
    """``annotation`` with each field cut to the length the API takes (``ANNOTATION_LIMITS``),
    saying how long it was."""
    for field, limit in ANNOTATION_LIMITS.items():
        text = getattr(annotation, field)
        if isinstance(text, str) and len(text) > limit:
            tail = f"... ({len(text):,} characters)"
            setattr(annotation, field, text[: limit - len(tail)] + tail)
    return annotation
