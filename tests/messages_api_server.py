"""A local Anthropic Messages API for tests: real HTTP on 127.0.0.1, scripted answers.

``POST /v1/messages`` checks the request the way the real API does (headers, model,
max_tokens, alternating messages, tool_use/tool_result pairing, system blocks, tools,
tool_choice, cache_control breakpoints) and answers with the next scripted reply: a
``tool_use`` message with the given input, or an error status with the real error body and
headers such as ``retry-after``. Every request is recorded, so a test can read exactly what
the SDK sent and how many times. A malformed request gets the API's 400 and is listed in
:attr:`MessagesApiServer.problems`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_USAGE = {"input_tokens": 1200, "output_tokens": 300,
                 "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 0}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOP_LEVEL_KEYS = {"model", "max_tokens", "messages", "system", "tools", "tool_choice",
                  "temperature", "top_p", "top_k", "stop_sequences", "stream", "metadata",
                  "thinking", "service_tier"}
MAX_CACHE_BREAKPOINTS = 4


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    tool_input: dict[str, Any] | None = None
    tool_name: str | None = None  # None: the tool that tool_choice forces
    text: str | None = None  # a text block before the tool_use (or alone, if no tool_input)
    stop_reason: str = "tool_use"
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))
    error_type: str = ""
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any] | None
    problems: list[str]
    request_id: str


def _check_cache_control(value: Any, where: str, problems: list[str]) -> int:
    if value is None:
        return 0
    if not isinstance(value, dict) or value.get("type") != "ephemeral" or not set(value) <= {
            "type", "ttl"} or value.get("ttl", "5m") not in ("5m", "1h"):
        problems.append(f"{where}.cache_control: must be {{'type': 'ephemeral'}} (ttl 5m/1h)")
    return 1


def _check_block(block: Any, where: str, role: str, problems: list[str]) -> int:
    """Check one content block; return its number of cache breakpoints."""
    if not isinstance(block, dict) or "type" not in block:
        problems.append(f"{where}: a content block must be an object with a type")
        return 0
    kind = block["type"]
    if kind == "text":
        if not isinstance(block.get("text"), str) or not block["text"]:
            problems.append(f"{where}.text: text content blocks must be non-empty")
    elif kind == "tool_use":
        if role != "assistant":
            problems.append(f"{where}: tool_use blocks belong to assistant turns")
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str) \
                or not isinstance(block.get("input"), dict):
            problems.append(f"{where}: tool_use needs id, name and an object input")
    elif kind == "tool_result":
        if role != "user":
            problems.append(f"{where}: tool_result blocks belong to user turns")
        if not isinstance(block.get("tool_use_id"), str):
            problems.append(f"{where}.tool_use_id: required")
        content = block.get("content", "")
        if not isinstance(content, str | list):
            problems.append(f"{where}.content: a string or a list of blocks")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            problems.append(f"{where}.is_error: a boolean")
    elif kind != "image":
        problems.append(f"{where}.type: unknown block type {kind!r}")
    return _check_cache_control(block.get("cache_control"), where, problems)


def _check_messages(messages: Any, problems: list[str]) -> int:
    if not isinstance(messages, list) or not messages:
        problems.append("messages: a non-empty list is required")
        return 0
    breakpoints = 0
    pending_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            problems.append(f"{where}.role: must be user or assistant")
            continue
        role = message["role"]
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            problems.append(f"{where}.role: roles must alternate, starting with user")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list) or not blocks:
            problems.append(f"{where}.content: a non-empty string or list of blocks")
            continue
        answered = set()
        for j, block in enumerate(blocks):
            breakpoints += _check_block(block, f"{where}.content.{j}", role, problems)
            if isinstance(block, dict) and block.get("type") == "tool_result":
                if block.get("tool_use_id") not in pending_tool_ids:
                    problems.append(f"{where}.content.{j}: tool_result for an unknown tool_use id")
                answered.add(block.get("tool_use_id"))
        if role == "user" and pending_tool_ids - answered:
            problems.append(f"{where}: every tool_use needs a tool_result in the next user turn")
        pending_tool_ids = {b["id"] for b in blocks if isinstance(b, dict)
                            and b.get("type") == "tool_use" and isinstance(b.get("id"), str)}
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") != "user":
        problems.append("messages: the last turn must be the user's")
    return breakpoints


def _check_tools(body: dict[str, Any], problems: list[str]) -> tuple[int, list[str]]:
    tools = body.get("tools", [])
    names: list[str] = []
    breakpoints = 0
    if not isinstance(tools, list):
        problems.append("tools: a list")
        return 0, names
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            problems.append(f"{where}: an object")
            continue
        extra = set(tool) - {"name", "description", "input_schema", "cache_control", "type"}
        if extra:
            problems.append(f"{where}: unknown fields {sorted(extra)}")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            problems.append(f"{where}.name: must match {TOOL_NAME.pattern}")
        else:
            names.append(name)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            problems.append(f"{where}.input_schema: a JSON schema with type 'object'")
        breakpoints += _check_cache_control(tool.get("cache_control"), where, problems)
    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, dict) else None
        if kind not in ("auto", "any", "tool", "none"):
            problems.append("tool_choice.type: one of auto, any, tool, none")
        elif kind == "tool" and choice.get("name") not in names:
            problems.append("tool_choice.name: must name one of the tools")
    return breakpoints, names


def check_messages_request(headers: dict[str, str], body: Any) -> list[str]:
    """Every way ``body`` (and its headers) differs from what the Messages API accepts."""
    problems: list[str] = []
    if not sent_api_key(headers):
        problems.append("headers: x-api-key (or Authorization: Bearer) is required")
    if not headers.get("anthropic-version"):
        problems.append("headers: anthropic-version is required")
    if not isinstance(body, dict):
        return [*problems, "body: a JSON object is required"]
    unknown = set(body) - TOP_LEVEL_KEYS
    if unknown:
        problems.append(f"body: unknown fields {sorted(unknown)}")
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model: a model id is required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        problems.append("max_tokens: a positive integer is required")
    if body.get("stream"):
        problems.append("stream: this double answers without streaming")
    breakpoints = _check_messages(body.get("messages"), problems)
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" \
                    or not isinstance(block.get("text"), str) or not block["text"]:
                problems.append(f"system.{i}: system blocks are non-empty text blocks")
                continue
            breakpoints += _check_cache_control(block.get("cache_control"), f"system.{i}",
                                                problems)
    elif system is not None and not isinstance(system, str):
        problems.append("system: a string or a list of text blocks")
    tool_breakpoints, _names = _check_tools(body, problems)
    if breakpoints + tool_breakpoints > MAX_CACHE_BREAKPOINTS:
        problems.append(f"cache_control: at most {MAX_CACHE_BREAKPOINTS} blocks may carry it")
    return problems


class MessagesApiServer:
    """The server: start it, script replies, point the SDK's ``base_url`` at :attr:`url`."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key  # when set, other keys get the API's 401
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------

    def reply_tool_use(self, tool_input: dict[str, Any], **fields: Any) -> None:
        self._replies.append(Reply(tool_input=tool_input, **fields))

    def reply_error(self, status: int, error_type: str, message: str,
                    headers: dict[str, str] | None = None) -> None:
        self._replies.append(Reply(status=status, error_type=error_type, error_message=message,
                                   headers=headers or {}))

    def reply(self, reply: Reply) -> None:
        self._replies.append(reply)

    @property
    def pending(self) -> int:
        return len(self._replies)

    @property
    def problems(self) -> list[str]:
        return [p for r in self.requests for p in r.problems]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.body is not None]

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MessagesApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read server.requests instead

            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> MessagesApiServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- answering -----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        request_id = f"req_test_{next(self._ids):06d}"
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        problems: list[str] = []
        if handler.command != "POST" or handler.path.split("?")[0] != "/v1/messages":
            problems.append(f"{handler.command} {handler.path}: only POST /v1/messages exists")
            status, payload = 404, _error("not_found_error", "Not found")
            extra: dict[str, str] = {}
        else:
            problems = check_messages_request(headers, body)
            status, payload, extra = self._answer(headers, body, problems)
        with self._lock:
            self.requests.append(RecordedRequest(handler.command, handler.path, headers, body,
                                                 problems, request_id))
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.send_header("request-id", request_id)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, headers: dict[str, str], body: Any, problems: list[str]
                ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.api_key is not None and sent_api_key(headers) != self.api_key:
            return 401, _error("authentication_error", "invalid x-api-key"), {}
        if problems:
            return 400, _error("invalid_request_error", "; ".join(problems)), {}
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
        if reply is None:
            problems.append("no scripted reply left for this request")
            return 500, _error("api_error", "no scripted reply left"), {}
        if reply.status != 200:
            return reply.status, _error(reply.error_type, reply.error_message), reply.headers
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        if reply.tool_input is not None:
            forced = (body.get("tool_choice") or {}).get("name") or "tool"
            content.append({"type": "tool_use", "id": f"toolu_test_{next(self._ids):06d}",
                            "name": reply.tool_name or forced, "input": reply.tool_input})
        message = {
            "id": f"msg_test_{next(self._ids):06d}", "type": "message", "role": "assistant",
            "model": body["model"], "content": content, "stop_reason": reply.stop_reason,
            "stop_sequence": None, "usage": reply.usage,
        }
        return 200, message, reply.headers


def sent_api_key(headers: dict[str, str]) -> str:
    """The key a request carries: ``x-api-key``, or ``Authorization: Bearer`` (newer SDKs)."""
    bearer = headers.get("authorization", "")
    return headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else "")


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


@contextmanager
def claude_api(monkeypatch: pytest.MonkeyPatch,
               api_key: str = "sk-ant-test-dummy-key") -> Iterator[MessagesApiServer]:
    """The server, with the settings pointing the Claude backend (and its key) at it."""
    from infra.settings import get_settings

    with MessagesApiServer(api_key=api_key) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", api_key)
        monkeypatch.setenv("CCB_ANTHROPIC_BASE_URL", server.url)
        get_settings.cache_clear()
        try:
            yield server
        finally:
            get_settings.cache_clear()
