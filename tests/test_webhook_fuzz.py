"""Issue 4 item 3: 2,000+ generated bad requests give no 5xx and start no workflow."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest
from temporalio.client import Client

from starter.signature import sign
from tests.webhook_helpers import SECRET, fixture_files, webhook_stack

REQUESTS = 2_200
SEED = 20_240_4
EVENTS = ["issues", "issue_comment", "pull_request", "pull_request_review", "ping", "push",
          "", "ISSUES", "issues\x00", "x" * 300]
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain",
                 "multipart/form-data; boundary=x", "", "application/json; charset=utf-8",
                 "application/octet-stream", "\u00e9/\u00e9"]
# A limit small enough to make "huge" bodies cheap to send.
MAX_BODY = 64 * 1024


def wrong_shapes(rng: random.Random, base: dict[str, Any]) -> Any:
    """Valid JSON that is not a routable payload of the event."""
    choice = rng.randrange(9)
    data = json.loads(json.dumps(base))
    if choice == 0:
        return rng.choice([[], [1, 2], "text", 3, None, True])
    if choice == 1:
        data.pop(rng.choice(list(data)), None)
        return data
    if choice == 2:
        data["action"] = rng.choice([None, 7, [], {"a": 1}])
        return data
    if choice == 3:
        for key in ("issue", "pull_request", "comment", "review", "sender", "repository"):
            if key in data:
                data[key] = rng.choice([None, "x", [], 0, {"number": "n"}])
        return data
    if choice == 4:
        return {"action": "opened", "issue": {"number": -1}, "sender": {}, "repository": {}}
    if choice == 5:
        depth = rng.choice([50, 5_000, 50_000])  # deep nesting, written as text
        return b'{"action": "opened", "issue": ' + b"[" * depth + b"1" + b"]" * depth + b"}"
    if choice == 6:
        if "issue" in data and isinstance(data["issue"], dict):
            data["issue"]["labels"] = [{"name": "integration-request"}, {"nome": 1}]
        data["action"] = "opened"
        return data
    if choice == 7:
        data["sender"] = {"login": "x" * 500}
        return data
    return {"action": "created", "comment": {"id": 0, "body": "/approve"}}


def bad_request(rng: random.Random, payloads: list[tuple[str, bytes]]) -> tuple[bytes, dict]:
    """One bad request: what is wrong is chosen at random (seeded)."""
    event, good = rng.choice(payloads)
    body = good
    kind = rng.randrange(10)
    headers = {"X-GitHub-Event": rng.choice(EVENTS + [event] * 5),
               "X-GitHub-Delivery": str(uuid.UUID(int=rng.getrandbits(128))),
               "Content-Type": rng.choice(CONTENT_TYPES)}
    signed = True
    if kind == 0:  # truncated
        body = good[: rng.randrange(len(good))]
    elif kind == 1:  # garbage
        body = rng.randbytes(rng.randrange(1, 4_000))
    elif kind == 2:  # huge
        body = b"{" + b" " * (MAX_BODY + rng.randrange(1, 10_000)) + b"}"
    elif kind == 3:  # valid signature over a wrong shape
        shape = wrong_shapes(rng, json.loads(good))
        body = shape if isinstance(shape, bytes) else json.dumps(shape).encode()
    elif kind == 4:  # unsigned or badly signed
        signed = False
        headers["X-Hub-Signature-256"] = rng.choice(
            ["", "sha256=", "sha256=" + "0" * 64, "sha1=" + "0" * 40, "sha256=zz" + "0" * 62,
             sign("wrong", good), "sha256=" + "\u00e9" * 64])
    elif kind == 5:  # random headers dropped or mangled
        headers.pop(rng.choice(list(headers)))
        if rng.random() < 0.5:
            headers["Content-Length"] = rng.choice(["-1", "abc", "999999999999", "0"])
    elif kind == 6:  # form-encoded garbage
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = rng.choice([b"payload=%7Bnot", b"a=1&b=2", b"payload=1&payload=2", good])
    elif kind == 7:  # valid JSON of another event's shape, under this event
        body = rng.choice(payloads)[1]
        headers["X-GitHub-Event"] = rng.choice(["issues", "pull_request_review"])
        body = json.dumps({**json.loads(body), "action": "opened"}).encode()
    elif kind == 8:  # a body that is not UTF-8 JSON
        body = "{\"action\": \"opened\", \"x\": \"\udcff\"}".encode("utf-8", "surrogatepass")
    else:  # a signed, valid-looking payload from a repository we don't work in
        body = good
    if signed:
        headers["X-Hub-Signature-256"] = sign(SECRET, body)
    return body, {k: v.encode("latin-1") for k, v in headers.items()}


async def test_generated_bad_requests_never_5xx_and_start_nothing(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_WEBHOOK_MAX_BODY_BYTES", str(MAX_BODY))
    rng = random.Random(SEED)
    payloads = [(p.parent.name, p.read_bytes()) for p in fixture_files()]
    codes: dict[int, int] = {}
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        for _ in range(REQUESTS):
            body, headers = bad_request(rng, payloads)
            answer = await stack.http.post("/webhooks/github", content=body, headers=headers)
            codes[answer.status_code] = codes.get(answer.status_code, 0) + 1
            assert answer.status_code < 500, (answer.status_code, answer.text, headers)
            assert answer.headers["content-type"] == "application/json"
        assert await stack.workflows(expect=0) == []
    assert sum(codes.values()) == REQUESTS
    assert {400, 401, 413, 202} <= set(codes), codes  # every kind of answer was exercised
    print(f"answers to {REQUESTS} bad requests: {dict(sorted(codes.items()))}")


async def test_an_unannounced_body_over_the_limit_is_cut_off_while_reading(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Content-Length (chunked): the starter counts while reading and stops at the limit."""
    monkeypatch.setenv("CCB_WEBHOOK_MAX_BODY_BYTES", str(MAX_BODY))
    chunk, chunks = b" " * 4096, 200  # 800 KiB offered, 64 KiB allowed
    pulled = {"n": 0}

    async def body() -> Any:
        for _ in range(chunks):
            pulled["n"] += 1
            yield chunk

    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        answer = await stack.http.post(
            "/webhooks/github", content=body(),
            headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d",
                     "X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert answer.status_code == 413, answer.text
        assert "over 65536 bytes" in answer.json()["reason"]
        assert pulled["n"] < chunks  # it stopped reading
        assert await stack.workflows(expect=0) == []
