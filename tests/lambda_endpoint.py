"""A stand-in for AWS Lambda: load a handler from a code directory and invoke it.

Test infrastructure only (never packaged). Standard library only, so it runs on the interpreter
that stands in for the Lambda python3.12 runtime (.lambda-runtime/), with the code directory
first on the import path as Lambda puts /var/task first.

    serve   answer the Lambda Invoke API (POST /2015-03-31/functions/<name>/invocations) on
            127.0.0.1, as `sam local start-lambda` does for `cfn test`; prints "ready <url>"
    invoke  read one JSON event per line on stdin, write one JSON response per line on stdout

Both refuse any outbound connection that is not to the loopback interface.
"""

import argparse
import importlib
import ipaddress
import json
import sys
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

Handler = Callable[[Any, Any], Any]
INVOKE_PATH = "/2015-03-31/functions/{}/invocations"


def allow_loopback_only(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: abort any connection or name lookup that would leave the machine."""
    host = None
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    if host is None:
        return
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name == "localhost":
        return
    try:
        if ipaddress.ip_address(name).is_loopback:
            return
    except ValueError:
        pass
    raise ConnectionRefusedError(f"blocked a connection to {name}: tests stay on loopback")


class FakeContext:
    """The parts of Lambda's context object a handler may read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 180_000


def load_handler(spec: str, code_dirs: list[str]) -> Handler:
    """Import ``module.attribute`` with ``code_dirs`` first on the path."""
    sys.path[:0] = code_dirs
    module_name, _, attribute = spec.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def invoke(handler: Handler, event: Any, function_name: str) -> tuple[Any, bool]:
    """The handler's answer and whether it raised (Lambda's "Unhandled" function error)."""
    try:
        return handler(event, FakeContext(function_name)), False
    except Exception as error:  # Lambda reports any exception as the answer
        return {"errorMessage": str(error), "errorType": type(error).__name__}, True


def serve(handler: Handler, function_name: str, port: int) -> None:
    expected_path = INVOKE_PATH.format(function_name)

    class InvokeApi(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.split("?")[0] != expected_path:
                error = {"Type": "User", "Message": f"Function not found: {self.path}"}
                self._answer(HTTPStatus.NOT_FOUND, error, {"x-amzn-ErrorType": "ResourceNotFound"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            result, failed = invoke(handler, json.loads(body or b"{}"), function_name)
            headers = {"X-Amz-Executed-Version": "$LATEST"}
            if failed:
                headers["X-Amz-Function-Error"] = "Unhandled"
            self._answer(HTTPStatus.OK, result, headers)

        def _answer(self, status: HTTPStatus, payload: Any, headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the requests carry test credentials and task definitions."""

    server = HTTPServer(("127.0.0.1", port), InvokeApi)
    print(f"ready http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve", "invoke"])
    parser.add_argument("--code", action="append", required=True, help="code directory")
    parser.add_argument("--entrypoint", required=True, help="module.attribute")
    parser.add_argument("--function-name", default="TypeFunction")
    parser.add_argument("--port", type=int, default=3001, help="0 picks a free port")
    args = parser.parse_args()
    sys.addaudithook(allow_loopback_only)
    handler = load_handler(args.entrypoint, args.code)
    if args.mode == "serve":
        serve(handler, args.function_name, args.port)
        return
    for line in sys.stdin:
        result, _ = invoke(handler, json.loads(line), args.function_name)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
