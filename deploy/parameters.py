"""The StackSet's parameters as the AWS CLI's JSON list, from KEY=VALUE arguments, the CLI's
shorthand (ParameterKey=K,ParameterValue=V) and a JSON file of that list (--file=PATH), later
ones winning. A list value such as ExemptImages ("a,b") goes in the file: in the shorthand a
comma separates fields."""

import json
import sys


def main(arguments: list[str]) -> int:
    try:
        values = parameters(arguments)
    except (OSError, ValueError, KeyError, TypeError) as error:
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
