"""A deliberately permissive hook for the contract suite's negative control.

It uses the real library and type configuration model but lets every request through, so
`cfn test` must fail on it: a green contract run means something only if this one is red.
Test infrastructure only (never packaged).
"""

from typing import Any

from cloudformation_cli_python_lib.hook import Hook
from cloudformation_cli_python_lib.interface import (
    HookInvocationPoint,
    OperationStatus,
    ProgressEvent,
)

from guardrails_ecs_nonrootuser.models import TypeConfigurationModel

hook = Hook("Guardrails::ECS::NonRootUser", TypeConfigurationModel)


@hook.handler(HookInvocationPoint.CREATE_PRE_PROVISION)
@hook.handler(HookInvocationPoint.UPDATE_PRE_PROVISION)
def allow_everything(*_: Any) -> ProgressEvent:
    return ProgressEvent(status=OperationStatus.SUCCESS)
