"""Issue 11, item 2: compensation runs only when a run really ends (a Temporal failure or a
cancellation). A bug in workflow code fails the workflow task instead: the run waits, and a
fixed worker resumes it from its history with nothing undone."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

import workflows.request_run
from models.review import ReviewOutcome, ReviewRun
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)

BUG = "deliberate bug in the review step"
CLOSED = {EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
          EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED}


async def _broken_review(run: ReviewRun) -> ReviewOutcome:
    raise TypeError(BUG)


async def _task_failures(client: Client, handle: WorkflowHandle,
                         timeout: float = 180) -> list[str]:
    """Wait (bounded) until the history shows a failed workflow task; their messages."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        history = await handle.fetch_history()
        # The messages are encoded (they can quote issue text): decode as a reader would.
        failures = [str(await client.data_converter.decode_failure(
                        e.workflow_task_failed_event_attributes.failure))
                    for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        if failures:
            return failures
        closed = [e.event_type for e in history.events if e.event_type in CLOSED]
        assert not closed, f"the run ended instead of failing its task: {closed}"
        if loop.time() > deadline:
            raise AssertionError("the broken step never failed a workflow task")
        await asyncio.sleep(0.5)


async def test_a_bug_fails_the_task_and_a_fixed_worker_resumes_without_compensation(
    client: Client, task_queue: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue = world.new_issue()
    with monkeypatch.context() as patch:
        # The request run imports the review helper through the sandbox's pass-through, so
        # each new run of this worker binds the broken one.
        patch.setattr(workflows.request_run, "review_as_child", _broken_review)
        async with running_worker(client, task_queue):
            handle = await start_creation(client, world, issue, task_queue)
            failures = await _task_failures(client, handle)
    assert any(BUG in message for message in failures), failures
    description = await handle.describe()
    assert description.status is not None and description.status.name == "RUNNING"
    [pull] = world.pulls()
    assert pull.state == "open"  # not closed by a compensation
    assert f"integration/{pull.head.ref.split('/')[-1]}" in world.branches()

    async with running_worker(client, task_queue):  # the fixed worker
        progress = await wait_for_approval_wait(handle)
        assert progress.pr_number == pull.number
        await approve(handle)
        result = await handle.result()
    assert result.merged_sha and result.pr_number == pull.number
    [merged] = world.pulls()
    assert merged.merged
    comment = world.progress_comment(issue)
    assert "**Failed**" not in comment
    assert "Next:" in world.ending_comment(issue)
