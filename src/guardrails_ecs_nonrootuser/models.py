# DO NOT modify this file by hand, changes will be overwritten
from dataclasses import dataclass

from cloudformation_cli_python_lib.interface import BaseHookHandlerRequest, BaseModel
from cloudformation_cli_python_lib.recast import recast_object
from cloudformation_cli_python_lib.utils import deserialize_list

import sys
from inspect import getmembers, isclass
from typing import (
    AbstractSet,
    Any,
    Generic,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    Type,
    TypeVar,
)

T = TypeVar("T")


def set_or_none(value: Optional[Sequence[T]]) -> Optional[AbstractSet[T]]:
    if value:
        return set(value)
    return None


@dataclass
class HookHandlerRequest(BaseHookHandlerRequest):
    pass


@dataclass
class TypeConfigurationModel(BaseModel):
    AllowRootGroup: Optional[bool]
    RequireNumericUser: Optional[bool]
    MinimumUid: Optional[int]
    WindowsContainers: Optional[str]
    ExemptContainerNames: Optional[Sequence[str]]
    ExemptImages: Optional[Sequence[str]]
    Exemptions: Optional[Sequence["_Exemption"]]
    ExceptionTagKey: Optional[str]
    AllowMatchAllExemptions: Optional[bool]
    WarnOnly: Optional[Sequence[str]]
    ImageVerification: Optional[str]
    TrustedRegistries: Optional[Sequence[str]]

    @classmethod
    def _deserialize(
        cls: Type["_TypeConfigurationModel"],
        json_data: Optional[Mapping[str, Any]],
    ) -> Optional["_TypeConfigurationModel"]:
        if not json_data:
            return None
        return cls(
            AllowRootGroup=json_data.get("AllowRootGroup"),
            RequireNumericUser=json_data.get("RequireNumericUser"),
            MinimumUid=json_data.get("MinimumUid"),
            WindowsContainers=json_data.get("WindowsContainers"),
            ExemptContainerNames=json_data.get("ExemptContainerNames"),
            ExemptImages=json_data.get("ExemptImages"),
            Exemptions=deserialize_list(json_data.get("Exemptions"), Exemption),
            ExceptionTagKey=json_data.get("ExceptionTagKey"),
            AllowMatchAllExemptions=json_data.get("AllowMatchAllExemptions"),
            WarnOnly=json_data.get("WarnOnly"),
            ImageVerification=json_data.get("ImageVerification"),
            TrustedRegistries=json_data.get("TrustedRegistries"),
        )


# work around possible type aliasing issues when variable has same name as a model
_TypeConfigurationModel = TypeConfigurationModel


@dataclass
class Exemption(BaseModel):
    ContainerName: Optional[str]
    Image: Optional[str]
    AllowOverrides: Optional[bool]
    Reason: Optional[str]

    @classmethod
    def _deserialize(
        cls: Type["_Exemption"],
        json_data: Optional[Mapping[str, Any]],
    ) -> Optional["_Exemption"]:
        if not json_data:
            return None
        return cls(
            ContainerName=json_data.get("ContainerName"),
            Image=json_data.get("Image"),
            AllowOverrides=json_data.get("AllowOverrides"),
            Reason=json_data.get("Reason"),
        )


# work around possible type aliasing issues when variable has same name as a model
_Exemption = Exemption


