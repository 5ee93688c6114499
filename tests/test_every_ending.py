"""Never silent (issue 13, item 7), on the real stack: each way a request run ends that no
other test walks is reached here the way it happens in use, and the comment that notifies the
person is checked to say what happened and what to do next. The other endings are walked by
the tests ``tests/test_endings.py`` names in ``WALKED``; together they are every ending but
one, ``changes-not-made``, which only runs started before ``update-regenerates-on-changes``
reach (a newer run answers requested changes with a new commit instead)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from infra.secrets import secret_store
from registry.store import Registry
from rules.endings import WORDS, Ending
from starter.dispatch import Dispatcher
from starter.issue_events import cancel_and_say
from tests.claude_scripts import spec_answer
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from tests.messages_api_server import claude_api
from tests.webhook_flow import skip_issue_numbers
from workflows import names
from workflows.policies import DEFAULT_RETRY

PULLS = r"/repos/demo/integrations/pulls$"
Drive = Callable[[WorkflowHandle], Awaitable[None]]


async def _nothing(_: WorkflowHandle) -> None:
    return None


async def _approve_when_asked(handle: WorkflowHandle) -> None:
    await wait_for_approval_wait(handle)
    await approve(handle)


def _set_up(ending: Ending, world: World, registry: Registry, stack: contextlib.ExitStack,
            monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, object], Drive]:
    """What makes the run end in ``ending``: the creation's extra input and what a person
    does once it runs."""
    if ending == Ending.SLUG_TAKEN:  # another request already holds the name
        registry.record_request(slug="acme-weather", name="Acme Weather",
                                integration_type="api-client", request={}, repo=world.repo,
                                issue_number=999, actor="dave", workflow_id="create-other-999",
                                key="create-other-999")
        return {}, _nothing
    if ending == Ending.BUDGET:  # the model's first answer spends more than the budget
        server = stack.enter_context(claude_api(monkeypatch))
        server.reply_tool_use(spec_answer())  # 2,500 tokens
        return {"token_budget": 1000}, _nothing
    if ending == Ending.CREDENTIALS:  # approved, but nobody stores the API key in time
        secret_store().unset("acme-weather", "ACME_WEATHER_API_KEY")
        return {"approval_expiry": timedelta(seconds=20),
                "reminder_interval": timedelta(seconds=15)}, _approve_when_asked
    if ending == Ending.SERVICE_DOWN:  # GitHub rate-limits every try to open the pull request
        world.forge.add_fault("POST", PULLS, 429, headers={"Retry-After": "1"},
                              body={"message": "You have exceeded a secondary rate limit."},
                              times=DEFAULT_RETRY.maximum_attempts)
        return {}, _nothing
    if ending == Ending.FAILED:  # GitHub refuses the bot's token the pull request
        world.forge.add_fault("POST", PULLS, 403, body={
            "message": "Resource not accessible by integration"})
        return {}, _nothing
    assert ending == Ending.CANCELLED  # an operator's `ccb cancel` while it waits
    skip_issue_numbers(world, 280)  # its run has the id the starter gives, `ccb` finds it
    return {}, _nothing


async def _cancel_as_the_cli_does(client: Client, world: World, issue: int,
                                  task_queue: str) -> None:
    dispatcher = Dispatcher(client, task_queue)  # as `ccb` builds it, on the worker's queue
    outcome = await cancel_and_say(dispatcher, world.repo, issue, "ops")
    assert outcome.status == "cancelled", outcome


WALKED_HERE = [Ending.SLUG_TAKEN, Ending.BUDGET, Ending.CREDENTIALS, Ending.SERVICE_DOWN,
               Ending.FAILED, Ending.CANCELLED]


@pytest.mark.parametrize("ending", WALKED_HERE, ids=[e.value for e in WALKED_HERE])
async def test_every_ending_tells_the_person_what_happened_and_what_to_do_next(
        ending: Ending, client: Client, task_queue: str, world: World, registry: Registry,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with contextlib.ExitStack() as stack:
        extra, drive = _set_up(ending, world, registry, stack, monkeypatch)
        issue = world.new_issue()
        async with running_worker(client, task_queue):
            if ending == Ending.CANCELLED:
                handle = await client.start_workflow(
                    "IntegrationCreationWorkflow", world.creation_input(issue),
                    id=names.creation_workflow_id(world.repo, issue), task_queue=task_queue)
                await wait_for_approval_wait(handle)
                await _cancel_as_the_cli_does(client, world, issue, task_queue)
            else:
                handle = await start_creation(client, world, issue, task_queue, **extra)
            await drive(handle)
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
            if ending == Ending.CANCELLED:  # the cancel's reply is posted by its own workflow
                await _until(lambda: any("cancelled this request" in c
                                         for c in world.bot_comments(issue)))
    comments = world.bot_comments(issue)
    notices = [c for c in comments if "<!-- ccb:ending/" in c or "cancelled this request" in c]
    progress = world.progress_comment(issue)
    if ending == Ending.CANCELLED:
        [notice] = notices
        assert "cancelled this request" in notice and "/retry" in notice
        assert "Next: " + WORDS[ending].next in progress
        return
    if notices:  # a new comment, mentioning who asked
        [notice] = notices
        assert notice.startswith("@alice The integration request ")
        assert WORDS[ending].happened.format(what="The integration request") in notice
    else:  # the run ended in the step that created its progress comment: that one notifies
        notice = progress
        assert len(comments) == 1, comments
    assert "Next: " + WORDS[ending].next in notice, notice
    assert "**FAILED**" in progress and world.branches() == ["main"]
    assert all(p.state == "closed" for p in world.pulls())
    cause = str(failed.value.cause)
    assert cause, ending


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(300):  # bounded: a comment is posted within seconds
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the comment never came")
