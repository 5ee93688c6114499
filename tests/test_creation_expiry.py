"""Approval expiry on the time-skipping server: seven days pass in seconds, reminders are
posted on the way (new comments mentioning the requested reviewers, at most one per interval,
the last saying when the run gives up), and the saga undoes the branch and the pull request."""

from __future__ import annotations

import itertools
from datetime import timedelta

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
from tests.figures import figure


async def test_approval_expires_after_seven_days_and_compensations_run(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, registry: Registry
) -> None:
    client = time_skipping_env.client
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, reviewers=["carol"])
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
    comment, *reminder_comments, ending = world.bot_comments(issue)
    assert "**Failed**" in comment and "no approval within 7 days" in comment
    assert "/retry" in comment
    assert ending == world.ending_comment(issue)  # the last word: what happened, what next
    assert ending.startswith("@alice The integration request stopped: nobody approved")
    assert "Why: no approval within 7 days" in ending and "Next: Comment `/retry`" in ending
    # Days 1 to 6 (the next would fall on the expiry): the sixth is the last warning.
    assert [c.split(":")[0].strip() for c in reminder_comments] == [
        *(f"Reminder {n} for @carol" for n in range(1, 6)), "Last reminder (6) for @carol"]
    assert all(f"pull request #{progress.pr_number} still waits" in c for c in reminder_comments)
    assert "Without a decision within 1 day" in reminder_comments[-1]
    assert "Without a decision" not in reminder_comments[0]
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
    # At most one reminder comment per interval, by the server's (skipped) clock.
    posted = [e.event_time.ToDatetime() for e in history.events
              if e.HasField("activity_task_scheduled_event_attributes")
              and e.activity_task_scheduled_event_attributes.activity_type.name
              == "upsert_bot_comment"
              and "approval-reminder-" in str(await codec.decode(list(
                  e.activity_task_scheduled_event_attributes.input.payloads)))]
    assert len(posted) == 6
    assert all(b - a >= timedelta(days=1) for a, b in itertools.pairwise(posted))
    timers = sum(e.HasField("timer_started_event_attributes") for e in history.events)
    figure(f"expiry: {timers} timers, {len(reminders)} reminder notes published, "
          f"PR #{pull.number} closed, state {progress.state}")
