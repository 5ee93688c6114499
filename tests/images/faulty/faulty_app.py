"""A test integration with a fault switch: ``fault.json`` next to it says how to misbehave.

Modes: ``healthy``; ``never_healthy`` (liveness and readiness answer 503); ``smoke_fail``
(the OpenAPI document lists no operation); ``errors`` (after ``after_requests`` requests to
``/``, every further one answers 500). Every answer carries ``X-Version`` from
``manifest.json``. ``/slow?s=<seconds>`` answers after that long (at most 30 s).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

HERE = Path(__file__).resolve().parent
VERSION = json.loads((HERE / "manifest.json").read_text())["version"]
FAULT = json.loads((HERE / "fault.json").read_text()) if (HERE / "fault.json").exists() else {}
MODE = FAULT.get("mode", "healthy")
AFTER = int(FAULT.get("after_requests", 0))
COUNT = {"root": 0}


async def _send(send: Any, status: int, body: bytes, kind: bytes = b"text/plain") -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", kind), (b"x-version", VERSION.encode()),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _openapi() -> bytes:
    paths: dict[str, Any] = {"/health/live": {}, "/health/ready": {}}
    if MODE != "smoke_fail":
        paths["/operations/echo"] = {"post": {"summary": "echo"}}
    return json.dumps({"openapi": "3.1.0", "info": {"title": "faulty", "version": VERSION},
                       "paths": paths}).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path in ("/health/live", "/health/ready"):
        if MODE == "never_healthy":
            await _send(send, 503, b"not healthy (fault switch)")
        else:
            await _send(send, 200, b'{"status": "ok"}', b"application/json")
    elif path == "/openapi.json":
        await _send(send, 200, _openapi(), b"application/json")
    elif path == "/slow":
        seconds = float(parse_qs(scope["query_string"].decode()).get("s", ["1"])[0])
        await asyncio.sleep(min(max(seconds, 0.0), 30.0))
        await _send(send, 200, VERSION.encode())
    elif path == "/operations/echo" and MODE != "smoke_fail":
        await _send(send, 200, b"{}", b"application/json")
    else:
        COUNT["root"] += 1
        if MODE == "errors" and COUNT["root"] > AFTER:
            await _send(send, 500, b"failing (fault switch)")
        else:
            await _send(send, 200, VERSION.encode())
