"""The StackSet's parameters as the AWS CLI's JSON list, from KEY=VALUE arguments, the CLI's
shorthand (ParameterKey=K,ParameterValue=V) and a JSON file of that list (--file=PATH), later
ones winning. A list value such as ExemptImages ("a,b"), or Exemptions (a JSON array), goes in
the file: in the shorthand a comma separates fields.

The hook's settings among them are checked by the hook's own policy before anything is deployed:
a configuration the hook would refuse would make every invocation fail."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from guardrails_ecs_nonrootuser.policy import Settings  # the policy is standard library only

SETTINGS = ("AllowRootGroup", "RequireNumericUser", "MinimumUid", "WindowsContainers")
LISTS = ("ExemptContainerNames", "ExemptImages", "WarnOnly")


def main(arguments: list[str]) -> int:
    try:
        values = parameters(arguments)
        check(values)
    except (OSError, ValueError, KeyError, TypeError) as error:  # ConfigError is a ValueError
        print(f"parameters: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    document = [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]
    print(json.dumps(document))
    return 0


def parameters(arguments: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for argument in arguments:
        if argument.startswith("--file="):
            with open(argument.removeprefix("--file="), encoding="utf-8") as file:
                for item in json.load(file):
                    values[str(item["ParameterKey"])] = str(item["ParameterValue"])
        elif argument.startswith("ParameterKey="):
            fields = dict(field.split("=", 1) for field in argument.split(","))
            values[fields["ParameterKey"]] = fields["ParameterValue"]
        else:
            key, value = argument.split("=", 1)
            values[key] = value
    return values


def check(values: dict[str, str]) -> None:
    """Refuse the hook settings among ``values`` that the hook would refuse, as it reads the
    configuration the StackSet sets from them."""
    properties: dict[str, object] = {key: values[key] for key in SETTINGS if key in values}
    for key in LISTS:
        if values.get(key):
            properties[key] = values[key].split(",")
    if "Exemptions" in values:
        try:
            properties["Exemptions"] = json.loads(values["Exemptions"])
        except json.JSONDecodeError as error:
            raise ValueError(f"Exemptions is not a JSON array: {error}") from None
    if values.get("ExceptionTagKey"):
        properties["ExceptionTagKey"] = values["ExceptionTagKey"]
    Settings.from_mapping(properties)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
