"""Issue 12, item 4: a person approves every merge, bound to the pull request and the head it
was given on. The bot's own approval never counts (in the workflow, nor in the deploy gate);
an approval of another pull request, of an older head or of no head is refused with a line
saying why and what to do, and the request keeps waiting."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowUpdateFailedError

from models.creation import ApprovalAnswer, ApprovalDecision, Progress
from models.events import EventType
from registry.deployments import gate_report
from registry.store import Registry
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from workflows.approval import approval_problem

HEAD = "0123456789abcdef0123456789abcdef01234567"


@given(st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True))
def test_only_a_prefix_of_the_current_head_of_this_pull_request_approves(given_sha: str) -> None:
    decision = ApprovalDecision(reviewer="alice", head_sha=given_sha, pr_number=7)
    problem = approval_problem(decision, 7, HEAD)
    assert (problem == "") == HEAD.startswith(given_sha)
    other_pr = approval_problem(decision.model_copy(update={"pr_number": 8}), 7, HEAD)
    assert "#8" in other_pr and "approve #7" in other_pr


def test_no_head_and_a_short_head_are_refused_with_what_to_do() -> None:
    assert "--head 0123456" in approval_problem(ApprovalDecision(reviewer="a"), 7, HEAD)
    assert "now at 0123456" in approval_problem(
        ApprovalDecision(reviewer="a", head_sha="0123"), 7, HEAD)


async def test_the_request_keeps_waiting_through_wrong_approvals(
        client: Client, task_queue: str, world: World) -> None:
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        progress = await wait_for_approval_wait(handle)
        wrong = {
            "an older head": ApprovalDecision(reviewer="alice", source="review",
                                              head_sha="f" * 40, pr_number=progress.pr_number),
            "another pull request": ApprovalDecision(
                reviewer="alice", source="review", head_sha=progress.head_sha,
                pr_number=(progress.pr_number or 0) + 100),
            "no head": ApprovalDecision(reviewer="alice", source="ui"),
            "the bot": ApprovalDecision(reviewer="ccb-bot", head_sha=progress.head_sha,
                                        pr_number=progress.pr_number),
        }
        for what, decision in wrong.items():
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update("approve", decision, result_type=ApprovalAnswer)
            assert str(refused.value.cause), what
            still = await handle.query("progress", result_type=Progress)
            assert still.waiting_for_approval, what
        answer = await approve(handle)
        assert answer.accepted
        result = await handle.result()
    assert world.as_user("alice").get_pull(result.pr_number or 0).merged


def test_the_deploy_gate_never_counts_the_bot_as_an_approver(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.record_request(slug="gated", name="Gated", integration_type="api-client",
                            request={}, repo="o/r", issue_number=1, actor="alice",
                            workflow_id="w", key="w/req")
    registry.add_event("w/tests", EventType.TESTS_COMPLETED, slug="gated",
                       payload={"passed": True, "security_scan": "passed"})
    registry.add_event("w/review-bot", EventType.REVIEW_COMPLETED, slug="gated",
                       payload={"approved_by": "ccb-bot"})
    report = gate_report(registry, "gated")
    assert not report.approval_obtained and report.missing == ["approval obtained"]
    registry.add_event("w/review-alice", EventType.REVIEW_COMPLETED, slug="gated",
                       payload={"approved_by": "alice"})
    assert gate_report(registry, "gated").approval_obtained
