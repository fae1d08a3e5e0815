"""What CloudFormation takes in a hook's answer (the API reference's HookStatusReason and
Annotation data types, as botocore's model of GetHookResult states them): every answer the tests
produce is held to it (tests/conftest.py)."""

import json
from collections.abc import Mapping
from typing import Any

MESSAGE = 1024
"""HookStatusReason: the hook's message."""
ANNOTATION_FIELDS = {
    "annotationName": 1024,
    "statusMessage": 16_384,
    "remediationMessage": 16_384,
    "remediationLink": 5_120,
}
ANNOTATIONS = 50
"""The most annotations the hook gives."""
ANSWER_BYTES = 2 * 1024 * 1024
"""The most an answer takes as JSON (Lambda allows 6 MB)."""


def problems(response: Mapping[str, Any]) -> list[str]:
    """What in ``response`` (the Lambda entrypoint's answer) is beyond a limit, or empty."""
    found = []
    message = response.get("message")
    if isinstance(message, str) and len(message) > MESSAGE:
        found.append(f"message of {len(message)} characters")
    annotations = response.get("annotations") or []
    if len(annotations) > ANNOTATIONS:
        found.append(f"{len(annotations)} annotations")
    for number, annotation in enumerate(annotations):
        for field, limit in ANNOTATION_FIELDS.items():
            text = annotation.get(field)
            if text is not None and not (isinstance(text, str) and 1 <= len(text) <= limit):
                found.append(f"annotations[{number}].{field} of {len(str(text))} characters")
    size = len(json.dumps(response).encode("utf-8"))
    if size > ANSWER_BYTES:
        found.append(f"an answer of {size} bytes")
    return found
