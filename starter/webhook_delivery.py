"""The plumbing of one webhook delivery: the answer it gets, a body that cannot be read, the
cache that answers a redelivered GUID the same way, and reading the JSON body (raw or
GitHub's form encoding)."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse

DELIVERY_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status_code)


def answer(code: int, status: str, reason: str, **extra: Any) -> Answer:
    return Answer(code, {"status": status, "reason": reason, **extra})


class BadDelivery(Exception):
    """The delivery cannot be read: ``answer`` tells the sender why."""

    def __init__(self, result: Answer) -> None:
        super().__init__(result.body.get("reason", ""))
        self.result = result


@dataclass
class DeliveryCache:
    """Answers by (delivery GUID, body digest); concurrent twins share one computation."""

    size: int = DELIVERY_CACHE_SIZE
    done: OrderedDict[tuple[str, str], Answer] = field(default_factory=OrderedDict)
    pending: dict[tuple[str, str], asyncio.Future[Answer]] = field(default_factory=dict)

    async def once(self, key: tuple[str, str], compute: Any) -> Answer:
        if key in self.done:
            self.done.move_to_end(key)
            return self.done[key]
        if key in self.pending:
            return await asyncio.shield(self.pending[key])
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            result: Answer = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: twins re-raise it, nobody warns
            raise
        finally:
            self.pending.pop(key, None)
        if result.status_code < 500:  # a 5xx may succeed when redelivered
            self.done[key] = result
            while len(self.done) > self.size:
                self.done.popitem(last=False)
        future.set_result(result)
        return result


def decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The JSON object in ``body`` (raw JSON, or GitHub's form encoding ``payload=...``)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=10)
        except (ValueError, UnicodeDecodeError):
            raise BadDelivery(answer(400, "error", "the form body is not valid")) from None
        values = form.get("payload", [])
        if len(values) != 1:
            raise BadDelivery(answer(400, "error", "the form body needs one 'payload' field"))
        raw: str | bytes = values[0]
    elif kind in ("application/json", ""):
        raw = body
    else:
        raise BadDelivery(answer(415, "error", f"content type {kind!r} is not supported: send "
                                 "application/json"))
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadDelivery(answer(400, "error", "the body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise BadDelivery(answer(400, "error", "the body must be a JSON object"))
    return data
