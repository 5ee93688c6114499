"""Issue 4 item 3: every real payload is routed as the table says (asserted per payload), and
copies carrying our repository, labels and commands take the trigger paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from models.intake import intake_workflow_id
from tests.webhook_helpers import (
    BOT,
    deliver,
    fixture_event,
    fixture_files,
    load,
    ours,
    webhook_stack,
)
from workflows import names

# What each unchanged fixture gets: (status, a phrase of the reason). None of them names our
# repository or our labels, so none starts anything.
EXPECTED: dict[str, tuple[str, str]] = {
    "ping": ("ignored", "ping"),
    "issues/opened": ("ignored", "not 'integration-request'"),
    "issues/labeled": ("ignored", "with 'bug': not 'integration-request'"),
    "issue_comment/created": ("ignored", "not a ccb command"),
    "issue_comment": ("ignored", "only new comments"),
    "pull_request/opened": ("ignored", "repository 'Codertocat/Hello-World' is not"),
    "pull_request/synchronize": ("ignored", "repository 'Codertocat/Hello-World' is not"),
    "pull_request/closed": ("ignored", "not one the bot opened for a request"),
    "pull_request": ("ignored", "is not handled"),
    "pull_request_review/submitted": ("ignored", "'commented' review decides nothing"),
    "pull_request_review": ("ignored", "is not handled"),
    "issues/reopened": ("ignored", "issues.reopened of an issue that is not a request"),
    "issues/edited": ("ignored", "issues.edited of an issue that is not a request"),
    "issues": ("ignored", "is not handled"),
}


def expected_for(path: Path) -> tuple[str, str]:
    event = fixture_event(path)
    action = path.name.split(".")[0]
    return EXPECTED.get(f"{event}/{action}") or EXPECTED[event]


@pytest.mark.parametrize("path", fixture_files(),
                         ids=lambda p: f"{p.parent.name}/{p.name.removesuffix('.json')}")
async def test_every_real_payload_is_routed_as_the_table_says(
        path: Path, client: Client, task_queue: str, data_dir,
        monkeypatch: pytest.MonkeyPatch) -> None:
    status, reason = expected_for(path)
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        answer = await deliver(stack.http, fixture_event(path), path.read_bytes())
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == status, answer.text
        assert reason in answer.json()["reason"], answer.text
        assert await stack.workflows(expect=0) == []
        assert stack.github.permission_lookups == 0


def labelled(relative: str, label: str, sender: str = "carol", **changes: Any) -> dict[str, Any]:
    payload = ours(load(relative), sender=sender, **changes)
    payload["issue"]["labels"] = [{"name": label}]
    if "label" in payload:
        payload["label"] = {"name": label}
    return payload


def pr_payload(relative: str, *, head: str = "feature/x", body: str | None = "") -> dict:
    payload = ours(load(relative))
    payload["pull_request"]["head"]["ref"] = head
    payload["pull_request"]["body"] = body
    return payload


async def test_an_integration_request_starts_the_request_workflow(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today the creation workflow is not registered: the request goes to the intake workflow,
    which runs to the end on the real worker (the fixture's body is no template: refused)."""
    async with webhook_stack(client, task_queue, monkeypatch, creation="none") as stack:
        for relative, sender, number in [("issues/opened.payload.json", "carol", 1),
                                         ("issues/labeled.payload.json", "alice", 2),
                                         ("issues/opened.with-empty-body.payload.json",
                                          "carol", 3)]:
            payload = labelled(relative, names.REQUEST_LABEL, sender)
            payload["issue"]["number"] = number
            answer = await deliver(stack.http, "issues", payload)
            assert answer.status_code == 202, answer.text
            body = answer.json()
            assert body["status"] == "started", body
            assert body["workflow_type"] == names.INTAKE_WORKFLOW
            assert body["workflow_id"] == intake_workflow_id(stack.repo, number)
            result = await client.get_workflow_handle(body["workflow_id"]).result()
            assert result["accepted"] is False  # the fixture bodies are not request forms
        assert len(await stack.workflows(expect=3)) == 3


@pytest.mark.parametrize("event, payload, status, reason", [
    ("issues", lambda: labelled("issues/labeled.payload.json", names.UPDATE_LABEL),
     "started", names.UPDATE_WORKFLOW),
    ("pull_request", lambda: pr_payload("pull_request/opened.payload.json"),
     "started", names.REVIEW_WORKFLOW),
    ("pull_request", lambda: pr_payload("pull_request/synchronize.payload.json"),
     "started", names.REVIEW_WORKFLOW),
    ("issues", lambda: labelled("issues/opened.payload.json", names.REQUEST_LABEL, BOT),
     "ignored", "the bot's own event"),
    ("issues", lambda: {**labelled("issues/opened.payload.json", names.REQUEST_LABEL),
                        "sender": {"login": "dependabot[bot]", "type": "Bot"}},
     "ignored", "the bot's own event"),
    ("issues", lambda: {**labelled("issues/opened.payload.json", names.REQUEST_LABEL),
                        "repository": {"full_name": "someone/else"}},
     "ignored", "'someone/else' is not the one"),
    ("issues", lambda: labelled("issues/unlabeled.payload.json", names.REQUEST_LABEL),
     "ignored", "issues.unlabeled is not handled"),
    ("pull_request_review", lambda: {**pr_payload("pull_request_review/submitted.payload.json",
                                                  head="integration/acme",
                                                  body="Adds acme. <!-- ccb:issue:7 -->"),
                                     "review": {**load("pull_request_review/submitted.payload"
                                                       ".json")["review"], "state": "approved"}},
     "not_registered", names.CREATION_WORKFLOW),
    ("pull_request_review", lambda: {**pr_payload("pull_request_review/submitted.payload.json",
                                                  head="feature/x", body="Fixes #7"),
                                     "review": {**load("pull_request_review/submitted.payload"
                                                       ".json")["review"], "state": "approved"}},
     "ignored", "not one the bot opened"),
], ids=["update-label", "pr-opened", "pr-synchronize", "bot-login", "bot-type", "other-repo",
        "unlabeled", "review-approved-creation-pr", "review-on-foreign-pr"])
async def test_modified_payloads_take_their_path(
        event: str, payload: Any, status: str, reason: str, client: Client, task_queue: str,
        data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    async with webhook_stack(client, task_queue, monkeypatch, creation="none") as stack:
        answer = await deliver(stack.http, event, payload())
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["status"] == status, body
        assert reason in (body.get("reason") or body.get("workflow_type") or ""), body
        started = [kind for kind, _ in await stack.workflows(expect=int(status == "started"))]
        # Exactly the workflow routed to, once; nothing a worker cannot run.
        assert started == ([reason] if status == "started" else []), started


@pytest.mark.parametrize("mangle, reason", [
    (lambda p: p.pop("issue"), "wrong shape at: issue"),
    (lambda p: p["issue"].update(number="seven"), "wrong shape at: issue.number"),
    (lambda p: p.update(action=5), "needs an 'action' string"),
    (lambda p: p["sender"].pop("login"), "wrong shape at: sender.login"),
], ids=["no-issue", "number-not-int", "action-not-string", "no-sender-login"])
async def test_wrong_shapes_are_400(mangle: Any, reason: str, client: Client, task_queue: str,
                                    data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = labelled("issues/opened.payload.json", names.REQUEST_LABEL)
    mangle(payload)
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        answer = await deliver(stack.http, "issues", payload)
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["reason"]
        assert await stack.workflows(expect=0) == []
