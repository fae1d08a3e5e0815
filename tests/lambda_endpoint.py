"""A stand-in for AWS Lambda: the Invoke API in front, Lambda's own runtime client behind.

Test infrastructure only (never packaged). It answers the Lambda Invoke API
(POST /2015-03-31/functions/<name>/invocations) on 127.0.0.1, as `sam local start-lambda` does
for `cfn test`, and serves the Lambda Runtime API (/2018-06-01/runtime/...) on 127.0.0.1 to a
process that runs the handler the way Lambda's managed Python runtime does: awslambdaric, the
runtime interface client AWS publishes and builds that runtime from, polling for invocations,
with the code directories on its path as /var/task is on Lambda's. Each invocation is queued
for the runtime and its response (or its error, Lambda's "Unhandled" function error) returned.

    python lambda_endpoint.py serve --code DIR --entrypoint module.attribute [--port 0]
                                  prints "ready <url>" once the runtime has loaded the handler

``served`` runs it and yields the URL; ``invoke`` calls the Invoke API there.

Runs on the interpreter that stands in for the Lambda python3.12 runtime (.lambda-runtime/).
Both processes refuse any outbound connection that is not to the loopback interface.
"""

import argparse
import contextlib
import ipaddress
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

INVOKE_PATH = "/2015-03-31/functions/{}/invocations"
RUNTIME = "/2018-06-01/runtime"
TIMEOUT = 60
"""Seconds an invocation may take, as the function's timeout."""
# The runtime process: the same audit hook, then awslambdaric's own entrypoint.
_BOOT = (
    "import sys; sys.path.insert(0, {here!r}); "
    "from lambda_endpoint import allow_loopback_only; sys.addaudithook(allow_loopback_only); "
    "del sys.path[0]; from awslambdaric.__main__ import main; main(['awslambdaric', {handler!r}])"
)


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


class _Invocations:
    """Events waiting for the runtime, and the runtime's answers waiting for the caller."""

    def __init__(self) -> None:
        self.waiting: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.answers: dict[str, queue.Queue[tuple[str, bytes]]] = {}
        self.ready = threading.Event()

    def invoke(self, event: bytes) -> tuple[str, bytes]:
        """("response" or "error", the body the runtime posted)."""
        request_id = str(uuid.uuid4())
        self.answers[request_id] = queue.Queue()
        self.waiting.put((request_id, event))
        try:
            return self.answers[request_id].get(timeout=TIMEOUT)
        except queue.Empty:
            return "error", json.dumps({"errorMessage": "Task timed out"}).encode()
        finally:
            del self.answers[request_id]


def serve(code_dirs: list[str], entrypoint: str, function_name: str, port: int) -> None:
    invocations = _Invocations()
    expected_path = INVOKE_PATH.format(function_name)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"

    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the runtime client keeps its connection

        def do_GET(self) -> None:
            if self.path != f"{RUNTIME}/invocation/next":
                self._answer(HTTPStatus.NOT_FOUND, b"{}", {})
                return
            invocations.ready.set()  # the handler loaded: the runtime asks for work
            request_id, event = invocations.waiting.get()
            deadline = str(int((time.time() + TIMEOUT) * 1000))
            headers = {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": deadline,
                "Lambda-Runtime-Invoked-Function-Arn": arn,
            }
            self._answer(HTTPStatus.OK, event, headers)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = self.path.split("?")[0]
            if path == expected_path:
                outcome, answer = invocations.invoke(body or b"{}")
                headers = {"X-Amz-Executed-Version": "$LATEST"}
                if outcome == "error":
                    headers["X-Amz-Function-Error"] = "Unhandled"
                self._answer(HTTPStatus.OK, answer, headers)
            elif path.startswith(f"{RUNTIME}/invocation/"):
                request_id, outcome = path.split("/")[4:6]
                if request_id in invocations.answers:
                    invocations.answers[request_id].put((outcome, body))
                self._answer(HTTPStatus.ACCEPTED, b"{}", {})
            elif path == f"{RUNTIME}/init/error":
                print(f"the handler did not load: {body.decode(errors='replace')}", file=sys.stderr)
                self._answer(HTTPStatus.ACCEPTED, b"{}", {})
                os._exit(1)
            else:
                error = {"Type": "User", "Message": f"Function not found: {self.path}"}
                headers = {"x-amzn-ErrorType": "ResourceNotFound"}
                self._answer(HTTPStatus.NOT_FOUND, json.dumps(error).encode(), headers)

        def _answer(self, status: HTTPStatus, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the requests carry test credentials and task definitions."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Api)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    environment = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": address,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "LAMBDA_TASK_ROOT": code_dirs[0],
        "PYTHONPATH": os.pathsep.join(code_dirs),
        "PYTHONDONTWRITEBYTECODE": "1",  # the code directory is read-only on Lambda
    }
    here = str(Path(__file__).resolve().parent)
    boot = _BOOT.format(here=here, handler=entrypoint)
    runtime = subprocess.Popen([sys.executable, "-c", boot], cwd=code_dirs[0], env=environment)

    def stop(*_: Any) -> None:
        runtime.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while not invocations.ready.wait(0.1):
        if runtime.poll() is not None:
            raise SystemExit("the Lambda runtime ended before it asked for an invocation")
    print(f"ready http://{address}", flush=True)
    runtime.wait()


@contextlib.contextmanager
def served(
    python: str,
    code_dirs: list[str],
    entrypoint: str,
    env: dict[str, str] | None = None,
    memory: int | None = None,
) -> Iterator[str]:
    """This stand-in serving ``entrypoint`` on ``python``, on a free loopback port; its URL.
    ``memory``: the most bytes of address space the function's process may take, as a Lambda
    function's memory setting bounds it."""

    command = [python, "-I", __file__, "serve", "--port", "0", "--entrypoint", entrypoint]
    for directory in code_dirs:
        command += ["--code", directory]
    if memory is not None:
        command += ["--memory", str(memory)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as server:
        try:
            assert server.stdout is not None
            ready = server.stdout.readline().split()
            if ready[:1] != ["ready"]:
                raise SystemExit(f"the local Lambda endpoint did not start: {ready}")
            yield ready[1]
        finally:
            server.terminate()


def invoke(url: str, event: Any, function_name: str = "TypeFunction") -> tuple[Any, str | None]:
    """The function's answer to ``event`` through the Invoke API, and its function error."""
    request = urllib.request.Request(
        url + INVOKE_PATH.format(function_name), data=json.dumps(event).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read()), response.headers.get("X-Amz-Function-Error")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve"])
    parser.add_argument("--code", action="append", required=True, help="code directory")
    parser.add_argument("--entrypoint", required=True, help="module.attribute")
    parser.add_argument("--function-name", default="TypeFunction")
    parser.add_argument("--port", type=int, default=3001, help="0 picks a free port")
    parser.add_argument("--memory", type=int, help="the most bytes of address space to take")
    args = parser.parse_args()
    if args.memory:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    sys.addaudithook(allow_loopback_only)
    serve(args.code, args.entrypoint, args.function_name, args.port)


if __name__ == "__main__":
    main()
