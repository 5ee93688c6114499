"""The creation workflow driven through the forge's webhooks: the issue starts it, alice's
approving PR review approves it, and after a failure her `/retry` comment starts a new run."""

from __future__ import annotations

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from models.creation import Progress
from models.states import IntegrationState
from registry.store import Registry
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.webhook_flow import (  # noqa: F401 - the fixture `hooked`
    WebhookWorld,
    hooked_fixture,
    skip_issue_numbers,
    wait_for_run,
)


def _approve_by_review(world: WebhookWorld, pr_number: int) -> None:
    world.as_user("alice").get_pull(pr_number).create_review(
        body="Looks good to me.", event="APPROVE")


async def test_webhooks_start_approve_and_retry_a_request(
    client: Client, task_queue: str, hooked: WebhookWorld, registry: Registry
) -> None:
    world = hooked
    skip_issue_numbers(world, 20)  # the session's other webhook test uses lower numbers
    async with running_worker(client, task_queue):
        issue = world.new_issue()  # delivered as issues/opened: the starter starts the run
        wf_id = world.request_handle(client, issue).id
        first = await wait_for_run(client, wf_id)
        progress = await wait_for_approval_wait(first)
        world.forge.add_fault("PUT", r"/pulls/\d+/merge$", 405,
                              body={"message": "Pull Request is not mergeable"})
        _approve_by_review(world, progress.pr_number or 0)
        with pytest.raises(WorkflowFailureError):
            await first.result()
        failed = await first.query("progress", result_type=Progress)
        assert failed.state == IntegrationState.FAILED
        assert any(s.name == "review" and "approved by alice (review)" in s.note
                   for s in failed.steps)
        assert world.as_user("alice").get_pull(progress.pr_number or 0).state == "closed"
        assert world.branches() == ["main"]

        # `/retry` as an issue comment: the starter starts a new run of the same workflow id.
        world.as_user("alice").get_issue(issue).create_comment("/retry")
        retry = await wait_for_run(client, wf_id, not_run=first.run_id)
        again = await wait_for_approval_wait(retry)
        assert again.pr_number != progress.pr_number
        _approve_by_review(world, again.pr_number or 0)
        result = await retry.result()

    assert result.state == IntegrationState.APPROVED
    assert world.as_user("alice").get_pull(result.pr_number or 0).merged
    assert (await retry.describe()).status == WorkflowExecutionStatus.COMPLETED
    states = [t.to_state for t in registry.transitions("acme-weather")]
    assert states[states.index("FAILED") + 1] == "ANALYZING"
    deliveries = world.forge.deliveries()
    assert all(d["status_code"] in (200, 202) for d in deliveries), deliveries[-3:]
    kinds = sorted({f"{d['event']}.{d.get('action')}" for d in deliveries})
    assert {"issues.opened", "issue_comment.created",
            "pull_request_review.submitted"} <= set(kinds)
    print(f"webhook flow: {len(deliveries)} deliveries ({', '.join(kinds)}); "
          f"run 1 PR #{progress.pr_number} refused and closed, /retry run PR "
          f"#{result.pr_number} merged")
