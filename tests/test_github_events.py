"""Issue 13 item 3, through GitHub's own events (the forge's signed webhooks to the starter):
what a person does to a request outside the bot's commands. The bot's pull request closed
unmerged ends the run FAILED, undone (branch deleted) and said; merged by a person with
write access, the run goes on as approved by them and merges nothing twice; the request
issue closed by a person cancels the run, undone and said once."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from infra.settings import get_settings
from models.events import EventType
from registry.store import open_registry
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.webhook_flow import (  # noqa: F401 - the fixture `hooked`
    WebhookWorld,
    hooked_fixture,
    skip_issue_numbers,
    wait_for_run,
)


async def _comment_with(world: WebhookWorld, number: int, needle: str) -> str:
    for _ in range(300):  # bounded: comments are posted within seconds
        found = [c for c in world.bot_comments(number) if needle in c]
        if found:
            return found[-1]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no comment with {needle!r} on #{number}: {world.bot_comments(number)}")


async def test_a_person_closing_the_pull_request_ends_the_run_failed_and_undone(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 120)
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        run = await wait_for_run(client, world.request_handle(client, issue).id)
        waiting = await wait_for_approval_wait(run)
        pull = world.as_user("carol").get_pull(waiting.pr_number or 0)
        pull.edit(state="closed")  # carol closes the bot's pull request on GitHub
        with pytest.raises(WorkflowFailureError) as failed:
            await run.result()
    assert f"pull request #{pull.number} was closed by carol without merging" in str(
        failed.value.cause)
    assert (await run.describe()).status == WorkflowExecutionStatus.FAILED
    assert world.branches() == ["main"]  # its branch deleted by the compensation
    assert not world.as_user("alice").get_pull(pull.number).merged
    said = await _comment_with(world, issue, "**FAILED**")
    assert "was closed by carol without merging" in said
    ending = await _comment_with(world, issue, "<!-- ccb:ending/")  # the new comment that notifies
    assert ending.startswith("@alice The integration request stopped: its pull request was "
                             "closed without merging")


async def test_a_person_merging_the_pull_request_is_their_approval_and_nothing_merges_twice(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 140)
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        run = await wait_for_run(client, world.request_handle(client, issue).id)
        waiting = await wait_for_approval_wait(run)
        pull = world.as_user("carol").get_pull(waiting.pr_number or 0)
        merged = pull.merge(merge_method="squash")  # carol merges it herself
        result = await run.result()
    assert result.merged_sha == merged.sha  # the person's merge, not a second one
    main = world.as_user("alice").get_commits(sha="main")
    assert sum(1 for c in main if f"#{pull.number}" in c.commit.message) == 1
    registry = open_registry(get_settings().registry_url)
    reviews = [e for e in registry.events(result.slug) if e.type == EventType.REVIEW_COMPLETED]
    assert [(e.payload["approved_by"], e.payload["source"]) for e in reviews] == [
        ("carol", "merge")]
    assert (await run.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_a_person_closing_the_request_issue_cancels_the_run_and_it_is_said_once(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 160)
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        run = await wait_for_run(client, world.request_handle(client, issue).id)
        waiting = await wait_for_approval_wait(run)
        world.as_user("alice").get_issue(issue).edit(state="closed")  # the requester closes it
        with pytest.raises(WorkflowFailureError) as failed:
            await run.result()
        said = await _comment_with(world, issue, "closed this issue, so the bot stopped")
    # The creation ends as every cancelled request does: undone, FAILED "cancelled".
    assert "the request was cancelled" in str(failed.value.cause)
    assert (await run.describe()).status == WorkflowExecutionStatus.FAILED
    assert world.branches() == ["main"]
    assert world.as_user("alice").get_pull(waiting.pr_number or 0).state == "closed"
    assert sum("closed this issue, so the bot stopped" in c
               for c in world.bot_comments(issue)) == 1
    assert said.startswith("@alice closed this issue")
    assert not any("<!-- ccb:ending/" in c for c in world.bot_comments(issue))  # said once, by that
