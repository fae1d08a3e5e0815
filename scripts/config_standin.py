"""A stand-in for AWS Config's SelectAggregateResourceConfig, on 127.0.0.1, for tests and the
audit's benchmark (moto answers that call with canned results only).

It answers the documented request and response shapes (JSON 1.1, target
``StarlingDoveService.SelectAggregateResourceConfig``): ``Results`` as JSON strings,
``QueryInfo.SelectFields``, ``NextToken`` while results remain, at most ``Limit`` (1 to 100, 100
when not given) per page. It understands the part of the advanced query language the audit
uses, and refuses the rest with ``InvalidExpressionException``: ``SELECT`` of dotted property
paths (an array is projected element by element, as Config projects nested properties) or
``COUNT(*)``; ``WHERE`` conditions joined by ``AND``: ``resourceType = '...'``, ``accountId IN
(...)``, ``awsRegion IN (...)``; ``GROUP BY`` of selected properties. An unknown aggregator is
``NoSuchConfigurationAggregatorException``. Each request can be delayed (``latency``) to stand
for the service's response time; every request's body is kept in ``requests``; ``garbage``
results (not JSON objects) can be added to the task definitions' answers.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

TARGET = "StarlingDoveService.SelectAggregateResourceConfig"
_QUERY = re.compile(r"SELECT (?P<fields>.+?) WHERE (?P<where>.+?)(?: GROUP BY (?P<group>.+))?")
_EQUALS = re.compile(r"(\w+) = '([^']*)'")
_IN = re.compile(r"(\w+) IN \(((?:'[^']*'(?:, )?)+)\)")


class InvalidExpressionError(ValueError):
    pass


class _Raw(str):
    """A result sent as it is, not as JSON made from a row."""


def project(item: Any, path: list[str]) -> Any:
    """The part of ``item`` at ``path``, keeping its nesting; arrays element by element."""
    if not path:
        return item
    if isinstance(item, list):
        return [project(element, path) for element in item]
    if isinstance(item, dict) and path[0] in item:
        return {path[0]: project(item[path[0]], path[1:])}
    return None


def merge(into: dict[str, Any], part: Any) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            for mine, theirs in zip(into[key], value, strict=True):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    merge(mine, theirs)
        else:
            into[key] = value


def select(expression: str, items: Iterable[dict[str, Any]]) -> tuple[list[str], list[Any]]:
    """The selected fields and the rows of ``expression`` over ``items``."""
    query = _QUERY.fullmatch(expression.strip())
    if not query:
        raise InvalidExpressionError(expression)
    fields = [field.strip() for field in query["fields"].split(",")]
    wanted: list[tuple[str, set[str]]] = []  # each condition: the property and its values
    for condition in query["where"].split(" AND "):
        if equals := _EQUALS.fullmatch(condition.strip()):
            wanted.append((equals[1], {equals[2]}))
        elif among := _IN.fullmatch(condition.strip()):
            wanted.append((among[1], set(re.findall(r"'([^']*)'", among[2]))))
        else:
            raise InvalidExpressionError(condition)
    chosen = [item for item in items if all(item.get(k) in values for k, values in wanted)]
    if query["group"]:
        keys = [key.strip() for key in query["group"].split(",")]
        if "COUNT(*)" not in fields or set(fields) - {"COUNT(*)"} != set(keys):
            raise InvalidExpressionError(query["group"])
        counts = Counter(tuple(item.get(key) for key in keys) for item in chosen)
        rows = [
            {**dict(zip(keys, group, strict=True)), "COUNT(*)": n} for group, n in counts.items()
        ]
        return fields, rows
    if "COUNT(*)" in fields:
        raise InvalidExpressionError("COUNT(*) without GROUP BY")
    rows = []
    for item in chosen:
        row: dict[str, Any] = {}
        for field in fields:
            part = project(item, field.split("."))
            if part is not None:
                merge(row, part)
        rows.append(row)
    return fields, rows


class ConfigAggregator:
    """The stand-in's server: ``items`` (configuration items, each with ``resourceType``,
    ``accountId``, ``awsRegion``) behind ``aggregator``; ``endpoint`` once started."""

    def __init__(
        self,
        aggregator: str,
        items: Iterable[dict[str, Any]] | Callable[[], Iterator[dict[str, Any]]],
        latency: float = 0.0,
        garbage: Iterable[str] = (),
    ) -> None:
        self.aggregator, self.latency = aggregator, latency
        self.items = items
        self.garbage = list(garbage)  # results sent as they are, after the task definitions
        self.requests: list[dict[str, Any]] = []
        self._answers: dict[str, tuple[list[str], list[Any]]] = {}  # by expression
        self._server: http.server.ThreadingHTTPServer | None = None

    def all_items(self) -> Iterable[dict[str, Any]]:
        return self.items() if callable(self.items) else self.items

    def start(self) -> str:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if owner.latency:
                    time.sleep(owner.latency)
                if self.headers.get("X-Amz-Target") != TARGET:
                    self.answer(400, {"__type": "UnknownOperationException"})
                    return
                owner.requests.append(body)
                self.answer(*owner.page(body))

            def answer(self, status: int, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.endpoint

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def page(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("ConfigurationAggregatorName") != self.aggregator:
            return 400, {"__type": "NoSuchConfigurationAggregatorException", "message": "none"}
        limit = body.get("Limit") or 100
        if not 0 < limit <= 100:
            return 400, {"__type": "InvalidLimitException", "message": "1 to 100"}
        expression = body.get("Expression", "")
        try:
            if expression not in self._answers:
                fields, rows = select(expression, self.all_items())
                if "'AWS::ECS::TaskDefinition'" in expression and "COUNT" not in expression:
                    rows += [_Raw(text) for text in self.garbage]
                self._answers[expression] = fields, rows
            fields, rows = self._answers[expression]
        except InvalidExpressionError as error:
            return 400, {"__type": "InvalidExpressionException", "message": str(error)}
        start = int(body.get("NextToken") or 0)
        answer: dict[str, Any] = {
            "Results": [
                row if isinstance(row, _Raw) else json.dumps(row)
                for row in rows[start : start + limit]
            ],
            "QueryInfo": {"SelectFields": [{"Name": field} for field in fields]},
        }
        if start + limit < len(rows):
            answer["NextToken"] = str(start + limit)
        return 200, answer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ConfigAggregator:
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()
