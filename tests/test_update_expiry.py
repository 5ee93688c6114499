"""The update's wait for a person follows the same rule as creation's (``RequestRun``):
reminders at the configured interval, each a new comment so that watchers are notified, and
expiry at the configured time, after which the branch and pull request are undone. On the
time-skipping server, so hours pass in seconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from infra.settings import Settings
from models.creation import CreationInput
from models.update import UpdateInput
from registry.store import Registry
from starter.dispatch import Dispatcher
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    world_fixture,
)
from tests.update_helpers import SLUG, new_update_issue, seed_integration, update_body


async def test_update_reminds_each_interval_then_expires_and_undoes(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, registry: Registry
) -> None:
    client = time_skipping_env.client
    seed_integration(world, registry)
    body = update_body(SLUG, "breaking", "Please rename get_alerts to list_alerts.")
    issue = new_update_issue(world, body)
    inp = UpdateInput(repo=world.repo, issue_number=issue, requested_by="alice", body=body,
                      approval_expiry=timedelta(hours=5),
                      reminder_interval=timedelta(hours=2))
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow", inp, id=f"update-expiry-{task_queue}",
            task_queue=task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()  # waiting on the result lets the server skip the timers

    assert "no approval within 5 hours" in str(failed.value.cause)
    comments = world.bot_comments(issue)
    reminders = [c.split("<!--")[0].strip() for c in comments if "still waits for a" in c]
    # at 2 h and 4 h; the 5 h expiry comes before a third, so the second is the last warning
    assert [r.split(":")[0] for r in reminders] == ["Reminder 1", "Last reminder (2)"], comments
    assert all("still waits for a human review" in r and "public API" in r for r in reminders)
    assert "Without a decision within 1 hour" in reminders[1]
    [ending] = [c for c in comments if "<!-- ccb:update-result/" in c]
    assert ending.startswith("@alice The update stopped: nobody approved"), ending
    assert "Why: no approval within 5 hours" in ending
    progress = world.progress_comment(issue)  # the checklist says where it stopped
    assert progress.startswith("### Update of `acme-weather`: **FAILED**"), progress
    assert "❌ **A person's approval** — failed" in progress
    assert "Next: Comment `/retry`" in progress
    labels = [lb.name for lb in world.as_user("alice").get_issue(issue).get_labels()]
    assert [name for name in labels if name.startswith("ccb:")] == ["ccb:failed"]
    assert world.branches() == ["main"]
    assert all(p.state == "closed" and not p.merged for p in world.pulls())
    assert registry.get(SLUG).current_version == "0.1.0"


def test_the_settings_wait_reaches_both_request_workflows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_APPROVAL_EXPIRY_HOURS", "48")
    monkeypatch.setenv("CCB_APPROVAL_REMINDER_HOURS", "6")
    times = Settings().approval_times()
    assert times.approval_expiry == timedelta(hours=48)
    assert times.reminder_interval == timedelta(hours=6)
    dispatcher = Dispatcher(client=None, task_queue="q",  # type: ignore[arg-type]
                            registered=frozenset({"IntegrationCreationWorkflow"}),
                            approval=times)
    creation = dispatcher.request_input("o/r", 1, "alice", "t", "b")
    assert isinstance(creation, CreationInput)
    assert (creation.approval_expiry, creation.reminder_interval) == (
        timedelta(hours=48), timedelta(hours=6))


def test_a_wait_of_zero_is_refused_with_the_setting_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_APPROVAL_REMINDER_HOURS", "0")
    with pytest.raises(ValueError, match="approval_reminder_hours"):
        Settings()
