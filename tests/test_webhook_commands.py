"""Issue 4 item 3: duplicates start one workflow; only writers trigger or command; each
comment command reaches its update / signal / query / cancel / start and is answered once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.webhook_helpers import (
    deliver,
    load,
    ours,
    webhook_stack,
)
from workflows import names


def request_issue(number: int, sender: str = "carol", title: str = "Acme") -> dict[str, Any]:
    payload = ours(load("issues/opened.payload.json"), sender=sender)
    payload["issue"].update(number=number, title=title,
                            labels=[{"name": names.REQUEST_LABEL}])
    return payload


def command(number: int, text: str, sender: str = "carol", comment_id: int = 1) -> dict:
    payload = ours(load("issue_comment/created.payload.json"), sender=sender)
    payload["issue"].update(number=number, title="Acme", labels=[])
    payload["comment"].update(id=comment_id, body=text)
    return payload


async def test_one_delivery_sent_20_times_at_once_starts_one_workflow(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        payload = request_issue(11)
        answers = await asyncio.gather(*(deliver(stack.http, "issues", payload,
                                                 delivery="same-guid") for _ in range(20)))
        assert {a.status_code for a in answers} == {202}
        ids = {a.json()["workflow_id"] for a in answers}
        assert len(ids) == 1, ids
        assert len(await stack.workflows(expect=1)) == 1


async def test_twenty_deliveries_about_one_issue_start_one_workflow(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    """opened + labeled (GitHub sends both for a labelled new issue), redeliveries: one."""
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        labeled = ours(load("issues/labeled.payload.json"))
        labeled["issue"]["number"] = 12
        labeled["label"] = {"name": names.REQUEST_LABEL}
        sends = [deliver(stack.http, "issues", request_issue(12)) for _ in range(10)]
        sends += [deliver(stack.http, "issues", labeled) for _ in range(10)]
        answers = await asyncio.gather(*sends)
        assert {a.status_code for a in answers} == {202}
        assert {a.json()["status"] for a in answers} <= {"started", "exists"}
        assert len({a.json()["workflow_id"] for a in answers}) == 1
        assert len(await stack.workflows(expect=1)) == 1


async def test_a_reader_gets_one_polite_comment_and_nothing_starts(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        for _ in range(3):  # redeliveries and a second try change nothing
            answer = await deliver(stack.http, "issue_comment", command(21, "/approve", "bob"))
            assert answer.status_code == 202 and answer.json()["status"] == "refused"
        answer = await deliver(stack.http, "issues", request_issue(21, sender="bob"))
        assert answer.json()["status"] == "refused"
        comments = await stack.comments_settled(21, 2)
        assert len(comments) == 2, comments
        assert all("Only people with write access" in c and "@bob" in c for c in comments)
        types = [t for t, _ in await stack.workflows(expect=2)]
        assert types == [names.REPLY_WORKFLOW] * 2  # two subjects, one reply each
        assert stack.github.permission_lookups == 1  # cached for the burst


async def test_comment_commands_reach_the_creation_workflow(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a creation workflow registered (a stand-in keeping the names.py contract), the
    request path switches to it by itself, and every command does what it says."""
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        answer = (await deliver(stack.http, "issues", request_issue(31))).json()
        assert answer["workflow_type"] == names.CREATION_WORKFLOW
        workflow_id = names.creation_workflow_id(stack.repo, 31)
        assert answer["workflow_id"] == workflow_id
        handle = client.get_workflow_handle(workflow_id)

        async def say(text: str, comment_id: int) -> dict[str, Any]:
            reply = await deliver(stack.http, "issue_comment", command(31, text, "carol",
                                                                        comment_id))
            assert reply.status_code == 202, reply.text
            return reply.json()

        status = await say("/status", 1)
        assert status["status"] == "queried" and "state REVIEWING" in status["message"]
        rejected = await say("/approve too early", 2)
        assert rejected["status"] == "rejected" and rejected["accepted"] is False
        assert "not open yet" in rejected["message"]
        assert (await say("/request-changes", 3))["status"] == "rejected"  # no text: usage
        changes = await say("/request-changes use v2 of the API\nand retry on 429", 4)
        assert changes["status"] == "signalled"
        assert await handle.query("change_texts") == ["use v2 of the API\nand retry on 429"]
        retry = await say("/retry", 5)
        assert retry["status"] == "rejected" and "running" in retry["message"]
        accepted = await say("/approve looks good", 6)
        assert accepted["status"] == "updated" and accepted["accepted"] is True
        assert await handle.result() == "carol"
        assert (await say("/cancel", 7))["status"] == "rejected"  # completed: nothing to cancel

        comments = await stack.comments_settled(31, 7)
        assert len(comments) == 7, comments
        assert comments[5].startswith("`/approve` from @carol: approval accepted: approved by")
        # a redelivered command is answered once, not twice
        await say("/status", 1)
        assert len(await stack.comments_settled(31, 8)) == 7


async def test_cancel_and_retry_after_failure(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        await deliver(stack.http, "issues", request_issue(41))
        handle = client.get_workflow_handle(names.creation_workflow_id(stack.repo, 41))
        cancel = (await deliver(stack.http, "issue_comment", command(41, "/cancel"))).json()
        assert cancel["status"] == "cancelled"
        with pytest.raises(Exception):  # noqa: B017 - WorkflowFailureError(cancelled)
            await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

        retry = (await deliver(stack.http, "issue_comment", command(41, "/retry",
                                                                   comment_id=2))).json()
        assert retry["status"] == "started", retry
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        runs = await stack.workflows(expect=2, workflow_type=names.CREATION_WORKFLOW)
        assert len(runs) == 2  # the cancelled run and the retry, one workflow id


async def test_review_decisions_reach_the_workflow_owning_the_pr(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        await deliver(stack.http, "issues", request_issue(51))
        handle = client.get_workflow_handle(names.creation_workflow_id(stack.repo, 51))
        review = ours(load("pull_request_review/submitted.payload.json"))
        review["pull_request"].update(body=f"Adds acme.\n\n{names.issue_marker(51)}")
        review["pull_request"]["head"]["ref"] = "integration/acme"
        review["review"].update(state="changes_requested", body="rename the client", id=901)
        answer = (await deliver(stack.http, "pull_request_review", review)).json()
        assert answer["status"] == "signalled", answer
        assert await handle.query("change_texts") == ["rename the client"]
        review["review"].update(state="approved", body="", id=902)
        answer = (await deliver(stack.http, "pull_request_review", review)).json()
        assert answer["status"] == "updated" and answer["accepted"] is True
        assert await handle.result() == "carol"


def closed_or_reopened(number: int, action: str, sender: str, author: str = "bob",
                       labels: tuple[str, ...] = (names.REQUEST_LABEL,)) -> dict[str, Any]:
    """issues.closed / issues.reopened of request issue ``number`` opened by ``author`` (the
    real reopened payload; closed differs only in its action)."""
    payload = ours(load("issues/reopened.payload.json"), sender=sender)
    payload["action"] = action
    payload["issue"].update(number=number, title="Acme", labels=[{"name": n} for n in labels],
                            user={"login": author, "type": "User"})
    return payload


async def test_closing_cancels_the_run_and_reopening_retries_it_each_said_once(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    """The requester (bob, who may only read) closes their own request: the run is
    cancelled and one comment says so; reopening starts it again; a stranger who may only
    read gets the polite refusal; a closed issue that is not a request is ignored."""
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        await deliver(stack.http, "issues", request_issue(51))
        handle = client.get_workflow_handle(names.creation_workflow_id(stack.repo, 51))
        closed = (await deliver(stack.http, "issues", closed_or_reopened(51, "closed",
                                                                          "bob"))).json()
        assert closed["status"] == "cancelled", closed
        with pytest.raises(Exception):  # noqa: B017 - WorkflowFailureError(cancelled)
            await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

        reopened = (await deliver(stack.http, "issues", closed_or_reopened(51, "reopened",
                                                                            "bob"))).json()
        assert reopened["status"] == "started", reopened
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        stranger = (await deliver(stack.http, "issues", closed_or_reopened(
            51, "closed", "dave", author="bob"))).json()
        assert stranger["status"] == "refused", stranger
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        other = (await deliver(stack.http, "issues", closed_or_reopened(
            52, "closed", "carol", labels=("bug",)))).json()
        assert other["status"] == "ignored" and "not a request" in other["reason"]

        said = await stack.comments_settled(51, 3)
        assert len(said) == 3, said
        assert "@bob closed this issue, so the bot stopped working on it" in said[0]
        assert "@bob reopened this issue: the bot is retrying the request." in said[1]
        assert "Thanks, @dave. Only people with write access" in said[2]
        await handle.cancel()


async def test_a_budget_comment_raises_the_cap_through_the_workflows_update(
        client: Client, task_queue: str, data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    """`/budget +N` from a writer becomes the `raise_budget` update; the reply says whether
    it was taken (the validator's reason when not), and a misuse gets the usage."""
    async with webhook_stack(client, task_queue, monkeypatch) as stack:
        await deliver(stack.http, "issues", request_issue(36))

        async def say(text: str, comment_id: int) -> dict[str, Any]:
            reply = await deliver(stack.http, "issue_comment", command(36, text, "carol",
                                                                        comment_id))
            assert reply.status_code == 202, reply.text
            return reply.json()

        taken = await say("/budget +0.50", 1)
        assert taken["status"] == "updated" and "the cap is now $1.50" in taken["message"]
        over = await say("/budget $5", 2)
        assert over["status"] == "rejected" and "at most $1.00" in over["message"]
        misuse = await say("/budget lots", 3)
        assert misuse["status"] == "rejected" and "`/budget +N`" in misuse["message"]
        comments = await stack.comments_settled(36, 3)
        assert comments[0].startswith("`/budget` from @carol: dollar cap raised: the cap is")
