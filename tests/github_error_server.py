"""A tiny GitHub look-alike on 127.0.0.1 that answers what a test tells it to, and counts.

``running_error_server()`` yields a handle: ``api_url`` (a PyGithub ``base_url``),
``answer(status, headers, body)`` sets the default answer, ``route(method, regex, ...)``
answers one kind of request differently, ``requests`` lists what arrived (method, path,
Authorization header).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict/list -> JSON, str -> sent as it is (e.g. an HTML error page)


@dataclass
class Seen:
    method: str
    path: str
    authorization: str


class ErrorServer:
    """The handle tests use."""

    def __init__(self, host: str, port: int) -> None:
        self.api_url = f"http://{host}:{port}/api/v3"
        self.default = Answer(404, body={"message": "Not Found"})
        self.routes: list[tuple[str, re.Pattern[str], Answer]] = []
        self.requests: list[Seen] = []
        self.lock = threading.Lock()

    def answer(self, status: int, headers: dict[str, str] | None = None, body: Any = None) -> None:
        with self.lock:
            self.default = Answer(status, headers or {}, body)
            self.requests.clear()

    def route(self, method: str, path_regex: str, status: int,
              headers: dict[str, str] | None = None, body: Any = None) -> None:
        with self.lock:
            answer = Answer(status, headers or {}, body)
            self.routes.append((method, re.compile(path_regex), answer))

    def pick(self, method: str, path: str, authorization: str) -> Answer:
        with self.lock:
            self.requests.append(Seen(method, path, authorization))
            for route_method, pattern, answer in self.routes:
                if route_method == method and pattern.search(path):
                    return answer
            return self.default


def _handler(server: ErrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            answer = server.pick(self.command, self.path, self.headers.get("Authorization", ""))
            if isinstance(answer.body, str):
                payload, kind = answer.body.encode(), "text/html; charset=utf-8"
            else:
                payload = json.dumps(answer.body if answer.body is not None else {}).encode()
                kind = "application/json; charset=utf-8"
            self.send_response(answer.status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def running_error_server() -> Iterator[ErrorServer]:
    """Serve on an ephemeral loopback port for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host, port = httpd.server_address[0], httpd.server_address[1]
    handle = ErrorServer(str(host), int(port))
    httpd.RequestHandlerClass = _handler(handle)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,),
                              name="github-error-server", daemon=True)
    thread.start()
    try:
        yield handle
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
