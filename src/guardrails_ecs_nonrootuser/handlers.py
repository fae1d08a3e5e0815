"""The hook's entrypoints: CloudFormation's request in, the policy's answer out.

This is the only module that imports the CloudFormation library. It reads the
type configuration and the target's properties, asks ``policy`` for the
decision and turns the report into a ProgressEvent with one annotation per
container. It never logs the request, its credentials or any property value.
"""

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

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
    OperationStatus,
    ProgressEvent,
)

from .models import TypeConfigurationModel
from .policy import (
    ConfigError,
    ContainerResult,
    MalformedTaskDefinitionError,
    Settings,
    Verdict,
    evaluate,
    quote,
)

LOG = logging.getLogger(__name__)

TYPE_NAME = "Guardrails::ECS::NonRootUser"
TARGET_TYPE = "AWS::ECS::TaskDefinition"
DECISION_TABLE_URL = (
    "https://github.com/guardrails-hooks/guardrails-ecs-nonrootuser/blob/main/README.md"
    "#decision-table"
)
MAX_ANNOTATIONS = 50
"""ECS allows 10 containers per task definition; a larger request is annotated in part."""

_ANNOTATION_STATUS = {
    Verdict.PASS: HookAnnotationStatus.PASSED,
    Verdict.FAIL: HookAnnotationStatus.FAILED,
    Verdict.SKIP: HookAnnotationStatus.SKIPPED,
}

hook = Hook(TYPE_NAME, TypeConfigurationModel)
test_entrypoint = hook.test_entrypoint


@hook.handler(HookInvocationPoint.CREATE_PRE_PROVISION)
@hook.handler(HookInvocationPoint.UPDATE_PRE_PROVISION)
def pre_provision_handler(
    session: SessionProxy | None,
    request: BaseHookHandlerRequest,
    callback_context: MutableMapping[str, Any],
    type_configuration: TypeConfigurationModel | None,
) -> ProgressEvent:
    """Check the task definition about to be created or updated."""
    return decide(request.hookContext, type_configuration)


@hook.handler(HookInvocationPoint.DELETE_PRE_PROVISION)
def pre_delete_handler(
    session: SessionProxy | None,
    request: BaseHookHandlerRequest,
    callback_context: MutableMapping[str, Any],
    type_configuration: TypeConfigurationModel | None,
) -> ProgressEvent:
    """Deletes are never blocked (the schema does not ask for them; this answers if sent one)."""
    return ProgressEvent(status=OperationStatus.SUCCESS, message="Deletes are not checked.")


def decide(
    context: HookContext, type_configuration: TypeConfigurationModel | None
) -> ProgressEvent:
    """The whole decision for one hook invocation, as a ProgressEvent."""
    try:
        settings = Settings.from_mapping(
            None if type_configuration is None else vars(type_configuration)
        )
    except ConfigError as error:
        return ProgressEvent.failed(HandlerErrorCode.InvalidTypeConfiguration, str(error))
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
    try:
        report = evaluate(target_model.get("resourceProperties"), settings)
    except MalformedTaskDefinitionError as error:
        return ProgressEvent.failed(HandlerErrorCode.InvalidRequest, str(error))
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


def _annotation(result: ContainerResult) -> HookAnnotation:
    failed = result.finding is not None
    return HookAnnotation(
        annotationName=f"NonRootUser {result.label}",
        status=_ANNOTATION_STATUS[result.verdict],
        statusMessage=result.describe(),
        remediationMessage=result.finding.fix if result.finding else None,
        remediationLink=DECISION_TABLE_URL,
        severityLevel=HookAnnotationSeverityLevel.HIGH if failed else None,
    )
