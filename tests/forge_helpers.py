"""Helpers for the forge's tests: a recording of every HTTP answer PyGithub receives, an
OpenAPI validator for GitHub's REST description, and a tiny webhook receiver."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

from tests.conftest import SHARED

SPEC_PATH = SHARED / "fixtures" / "github-rest" / "api.github.com.subset.json"
WEBHOOK_FIXTURES = SHARED / "fixtures" / "github-webhooks"
GITHUB_HOST = "https://api.github.com"
MULTI_SEGMENT = {"ref", "path", "branch", "basehead", "name"}

# Operations the bot uses that GitHub's subset file does not describe, with the component
# schema GitHub documents for their answer (validated with the same OpenAPI 3.0 rules).
EXTRA_OPERATIONS: list[tuple[str, str, str, bool]] = [
    ("POST", r"/repos/[^/]+/[^/]+/issues", "issue", False),
    ("GET", r"/repos/[^/]+/[^/]+/issues", "issue", True),
    ("GET", r"/user", "simple-user", False),
    ("GET", r"/repos/[^/]+/[^/]+/commits/[0-9a-f]{40}", "commit", False),
    ("GET", r"/repos/[^/]+/[^/]+/pulls/\d+/commits", "commit", True),
    ("GET", r"/repos/[^/]+/[^/]+/commits/[^/]+/statuses", "status", True),
    ("GET", r"/repos/[^/]+/[^/]+/statuses/[0-9a-f]{40}", "status", True),
]


@dataclass
class Exchange:
    """One request PyGithub sent and the answer it got."""

    method: str
    url: str
    status: int
    content_type: str
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.removeprefix("/api/v3")

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query))


@contextmanager
def recording_http() -> Iterator[list[Exchange]]:
    """Record every answer received through ``requests`` (PyGithub's transport)."""
    recorded: list[Exchange] = []
    original = requests.adapters.HTTPAdapter.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = original(self, request, *args, **kwargs)
        body = response.content  # reads the body; requests keeps it for the caller
        recorded.append(Exchange(request.method, request.url, response.status_code,
                                 response.headers.get("content-type", ""), body))
        return response

    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield recorded
    finally:
        requests.adapters.HTTPAdapter.send = original  # type: ignore[method-assign]


def allow_null_in_nullable_enums(node: Any) -> int:
    """GitHub marks fields like ``state_reason`` ``nullable: true`` with an ``enum`` that
    lacks null, and answers null for them. Under OAS 3.0.3's strict reading (which
    openapi-core follows) ``enum`` still rejects null, so real GitHub answers would fail.
    Add null to those enums, GitHub's evident intent; returns how many were changed."""
    changed = 0
    if isinstance(node, dict):
        enum = node.get("enum")
        if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
            enum.append(None)
            changed += 1
        for value in node.values():
            changed += allow_null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            changed += allow_null_in_nullable_enums(value)
    return changed


class GitHubSchema:
    """GitHub's REST description (the subset file), validating answers with openapi-core."""

    def __init__(self) -> None:
        self.spec_dict = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
        self.nullable_enums = allow_null_in_nullable_enums(self.spec_dict)
        self.openapi = OpenAPI.from_dict(self.spec_dict)

    def validate(self, exchange: Exchange) -> str:
        """Validate one answer; returns the operation it was checked against. Raises when
        the answer does not match GitHub's schema or no schema is known for it."""
        request = MockRequest(GITHUB_HOST, exchange.method.lower(),
                              self.template_path(exchange.path), args=exchange.query)
        response = MockResponse(exchange.body, status_code=exchange.status,
                                content_type=exchange.content_type.split(";")[0] or None)
        try:
            self.openapi.validate_response(request, response)
        except (PathNotFound, OperationNotFound):
            return self.validate_extra(exchange)
        return f"{exchange.method} {exchange.path} (subset)"

    def template_path(self, path: str) -> str:
        """``path`` with slashes inside a multi-segment parameter (``{ref}``, ``{path}``,
        ``{branch}``, ``{basehead}``) escaped, so it matches its single-segment template."""
        for template in self.spec_dict["paths"]:
            names = re.findall(r"\{(\w+)\}", template)
            if not set(names) & MULTI_SEGMENT:
                continue
            pattern = re.escape(template)
            for name in names:
                part = ".+" if name in MULTI_SEGMENT else "[^/]+"
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{part})")
            match = re.fullmatch(pattern, path)
            if match:
                return self._fill(template, match.groupdict())
        return path

    @staticmethod
    def _fill(template: str, values: dict[str, str]) -> str:
        def value(m: re.Match[str]) -> str:
            raw = values[m.group(1)]
            return quote(raw, safe="") if m.group(1) in MULTI_SEGMENT else raw
        return re.sub(r"\{(\w+)\}", value, template)

    def validate_extra(self, exchange: Exchange) -> str:
        for method, pattern, schema_name, is_list in EXTRA_OPERATIONS:
            if method == exchange.method and re.fullmatch(pattern, exchange.path):
                schema: dict[str, Any] = {"$ref": f"#/components/schemas/{schema_name}"}
                if is_list:
                    schema = {"type": "array", "items": schema}
                document = {**schema, "components": self.spec_dict["components"]}
                OAS30Validator(document).validate(json.loads(exchange.body))
                return f"{exchange.method} {exchange.path} ({schema_name})"
        raise AssertionError(f"no GitHub schema known for {exchange.method} {exchange.path}")


@dataclass
class ReceivedHook:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST (answering 202)."""

    received: list[ReceivedHook] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                received.append(ReceivedHook({k.lower(): v for k, v in self.headers.items()},
                                             body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/github"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
