"""Approval expiry on the time-skipping server: seven days pass in seconds, reminders are
posted on the way, and the saga undoes the branch and the pull request."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from models.creation import Progress
from models.states import IntegrationState
from registry.store import Registry
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    start_creation,
    world_fixture,
)


async def test_approval_expires_after_seven_days_and_compensations_run(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, registry: Registry
) -> None:
    client = time_skipping_env.client
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()  # waiting on the result lets the server skip the timers
        progress = await handle.query("progress", result_type=Progress)

    cause = failed.value.cause
    assert "no approval within 7 days" in str(cause)
    assert progress.state == IntegrationState.FAILED and progress.pr_number
    review = next(s for s in progress.steps if s.name == "review")
    assert review.status == "failed"
    pull = world.as_user("alice").get_pull(progress.pr_number)
    assert pull.state == "closed" and not pull.merged
    assert world.branches() == ["main"]
    [comment] = world.bot_comments(issue)
    assert "**Failed**" in comment and "no approval within 7 days" in comment
    assert "/retry" in comment
    assert registry.get("acme-weather").state == IntegrationState.FAILED

    # Reminders: every edit of the progress comment is an activity in the history.
    history = await handle.fetch_history()
    # Large inputs are claim-checked: decode them as the worker does.
    codec = client.data_converter.payload_codec
    assert codec is not None
    notes = [str(await codec.decode(list(e.activity_task_scheduled_event_attributes.input
                                         .payloads)))
             for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
             and e.activity_task_scheduled_event_attributes.activity_type.name
             == "publish_progress"]
    reminders = [n for n in notes if "reminder " in n and "still waiting" in n]
    assert len(reminders) >= 1
    timers = sum(e.HasField("timer_started_event_attributes") for e in history.events)
    print(f"expiry: {timers} timers, {len(reminders)} reminder notes published, "
          f"PR #{pull.number} closed, state {progress.state}")
