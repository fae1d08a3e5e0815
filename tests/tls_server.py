"""An HTTPS server on 127.0.0.1 whose certificate a CA bundle trusts, as production trusts S3's:
the hook's remote payloads are served from it (``SSL_CERT_FILE`` names the bundle)."""

import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trustme


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is no error of the server's."""


class Quiet(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing: only the hook's output is inspected."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Store(Quiet):
    """Serves ``bodies[path]`` (the path without its query), 404 for any other path."""

    bodies: dict[str, bytes] = {}  # noqa: RUF012 - set per server, read by its threads

    def do_GET(self) -> None:
        body = self.bodies.get(self.path.split("?", 1)[0])
        if body is None:
            self.answer(404, b"<Error/>")
        else:
            self.answer(200, body)


@contextmanager
def tls_server(handler: type[http.server.BaseHTTPRequestHandler], ca_dir: Path) -> Iterator[str]:
    """Serve ``handler`` over HTTPS; yields the base URL. ``ca_dir/ca.pem`` trusts it."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(ca_dir / "ca.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    httpd = _Server(("127.0.0.1", 0), handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
