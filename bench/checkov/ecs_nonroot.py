"""Comparable checkov custom check for the benchmark: ECS containers must not run as root."""

import re

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

ROOT = re.compile(r"^(?i:[+-]?0+|root)(:.*)?$|^[^:]*:(?i:[+-]?0+|root)$|^(:.*)?$|:$|:.*:|\s")


class EcsContainersNotRoot(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS containers must set a non-root User",
            id="CKV_BENCH_ECS_NONROOT",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::ECS::TaskDefinition"],
        )

    def scan_resource_conf(self, conf):
        containers = conf.get("Properties", {}).get("ContainerDefinitions") or []
        for container in containers if isinstance(containers, list) else []:
            user = container.get("User") if isinstance(container, dict) else None
            if not isinstance(user, str) or ROOT.search(user):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = EcsContainersNotRoot()
