"""Write the AWS::ECS::TaskDefinition resource schema that `cfn generate --local-only` needs.

The schema comes from the installed (pinned) cfn-lint, so the generated target model is
reproducible without network access or an AWS account.
"""

import json
import sys
from pathlib import Path

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

TARGET = "AWS::ECS::TaskDefinition"


def main(out_dir: str) -> None:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", TARGET).schema
    path = Path(out_dir) / "aws-ecs-taskdefinition.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target-schemas")
