"""Issue 4 item 3: the signature is checked on the raw body before anything else."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from models.intake import intake_workflow_id
from starter.signature import sign, verify
from tests.webhook_helpers import deliver, headers, load, ours, webhook_stack

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_own_test_vector_verifies() -> None:
    assert sign(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE
    assert verify(GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE)


@pytest.mark.parametrize("body, header, secret", [
    (b"Hello, World?", GITHUB_SIGNATURE, GITHUB_SECRET),  # one changed byte
    (GITHUB_BODY, None, GITHUB_SECRET),  # missing header
    (GITHUB_BODY, "sha1=" + GITHUB_SIGNATURE[7:47], GITHUB_SECRET),  # sha1
    (GITHUB_BODY, GITHUB_SIGNATURE, "It's a Secret to Nobody"),  # wrong secret
    (GITHUB_BODY, GITHUB_SIGNATURE, ""),  # no secret configured
], ids=["changed-byte", "missing", "sha1", "wrong-secret", "no-secret"])
def test_bad_signatures_do_not_verify(body: bytes, header: str | None, secret: str) -> None:
    assert not verify(secret, body, header)


async def test_the_test_vector_is_accepted_by_the_endpoint(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_WEBHOOK_SECRET", GITHUB_SECRET)
    async with webhook_stack(client, task_queue, monkeypatch, secret=GITHUB_SECRET) as stack:
        hdrs = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-1",
                "X-Hub-Signature-256": GITHUB_SIGNATURE}
        answer = await stack.http.post("/webhooks/github", content=GITHUB_BODY, headers=hdrs)
        assert answer.status_code == 202, answer.text
        # A routed event with this (valid, non-JSON) body passes the signature, then is a 400.
        hdrs.update({"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-2"})
        answer = await stack.http.post("/webhooks/github", content=GITHUB_BODY, headers=hdrs)
        assert answer.status_code == 400, answer.text
        assert "not valid JSON" in answer.json()["reason"]


async def test_bad_signatures_get_401_and_start_nothing(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    async with webhook_stack(client, task_queue, monkeypatch, creation="none") as stack:
        payload = ours(load("issues/opened.payload.json"))
        payload["issue"]["labels"] = [{"name": "integration-request"}]
        body = json.dumps(payload).encode()
        good = headers("issues", body)
        cases = {
            "changed-byte": (body.replace(b"carol", b"carol "), good),
            "missing": (body, {k: v for k, v in good.items() if k != "X-Hub-Signature-256"}),
            "sha1": (body, {**good, "X-Hub-Signature-256": "sha1=" + "0" * 40}),
            "wrong-secret": (body, headers("issues", body, secret="not-the-secret")),
        }
        for name, (sent, hdrs) in cases.items():
            answer = await stack.http.post("/webhooks/github", content=sent, headers=hdrs)
            assert answer.status_code == 401, (name, answer.text)
            assert answer.json()["status"] == "unauthorized"
        assert await stack.workflows(expect=0) == []
        # and the same delivery, signed right, does start the request (the control case)
        answer = await deliver(stack.http, "issues", payload)
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "started"
        assert [t for t, _ in await stack.workflows(expect=1)] == ["IntegrationIntakeWorkflow"]
        number = payload["issue"]["number"]
        assert answer.json()["workflow_id"] == intake_workflow_id(stack.repo, number)
