"""Integration creation end to end on a real dev server: forge, offline generator, sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)

from activities.deploy.traffic_steps import proxy_of
from infra.settings import get_settings
from models.creation import ApprovalAnswer, ApprovalDecision, ChangeRequest, Progress
from models.states import IntegrationState
from registry.deployments import live_deployment
from registry.store import Registry, open_registry
from rules.issue_form import parse_issue_form
from tests.conftest import REPO_ROOT, running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixtures `world`, `deploying_world`
    SAMPLE_BODY,
    World,
    approve,
    deploying_world_fixture,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)


async def test_request_becomes_a_merged_pr_and_an_active_integration(
    client: Client, task_queue: str, deploying_world: World
) -> None:
    world = deploying_world
    registry = open_registry(get_settings().registry_url)
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        progress = await wait_for_approval_wait(handle)
        assert progress.state == IntegrationState.REVIEWING and progress.pr_number

        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("approve", ApprovalDecision(reviewer=""),
                                        result_type=ApprovalAnswer)
        answer = await approve(handle)
        assert answer.accepted
        result = await handle.result()

    assert result.slug == "acme-weather" and result.merged_sha
    pull = world.as_user("alice").get_pull(result.pr_number or 0)
    assert pull.merged and pull.state == "closed"
    assert "offline generator" in pull.body and f"Closes #{issue}" in pull.body
    assert "integration/acme-weather" not in world.branches()
    gh_issue = world.as_user("alice").get_issue(issue)
    assert gh_issue.state == "closed"
    comment, ending = world.bot_comments(issue)  # one progress comment, edited in place
    assert ending.startswith("@alice The integration request is merged, deployed and live")
    assert "Next: Nothing to do" in ending and result.pr_url in ending
    assert "- [x] Merge the pull request" in comment
    assert "- [x] Deploy (blue-green)" in comment
    assert "ccb:active" in [label.name for label in gh_issue.labels]
    merged_files = [f.path for f in world.as_user("alice").get_contents(
        "integrations/acme-weather")]
    assert "integrations/acme-weather/manifest.json" in merged_files

    row = registry.get("acme-weather")
    assert row.state == IntegrationState.ACTIVE and row.current_version == "0.1.0"
    states = [t.to_state for t in registry.transitions("acme-weather")]
    assert states[:3] == ["REQUESTED", "ANALYZING", "GENERATING"]
    assert states[-4:] == ["REVIEWING", "APPROVED", "DEPLOYING", "ACTIVE"]
    # The deployed integration answers through the environment's proxy.
    live = live_deployment(registry, "acme-weather", "development")
    assert live is not None and live.version == "0.1.0"
    ready = httpx.get(f"http://127.0.0.1:{proxy_of('development').port}/health/ready",
                      headers={"Host": "acme-weather"}, timeout=10)
    assert ready.status_code == 200 and ready.headers["X-Version"] == "0.1.0"


async def test_invalid_request_gets_one_comment_and_nothing_else(
    client: Client, task_queue: str, world: World, registry: Registry
) -> None:
    body = SAMPLE_BODY.replace("api-client", "telepathy").replace(
        "https://api.acme-weather.example/v1", "http://169.254.169.254/latest")
    issue = world.new_issue(body)
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, body=body)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "invalid" in str(failed.value.cause)
    [comment] = world.bot_comments(issue)
    assert "Integration type" in comment and "Base URL" in comment and "/retry" in comment
    assert world.branches() == ["main"]
    assert world.pulls() == []
    assert registry.list_integrations() == []


async def test_changes_requested_then_approved_adds_a_second_commit(
    client: Client, task_queue: str, world: World
) -> None:
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        first = await wait_for_approval_wait(handle)
        await handle.signal("request_changes", ChangeRequest(
            reviewer="alice", text="Please document the rate limits in the README."))
        await _wait_for_new_head(handle, first.head_sha)
        second = await wait_for_approval_wait(handle)
        assert second.pr_number == first.pr_number
        commits = list(world.as_user("alice").get_pull(first.pr_number or 0).get_commits())
        assert len(commits) == 2
        await approve(handle)
        result = await handle.result()
    assert world.as_user("alice").get_pull(result.pr_number or 0).merged


async def test_merge_refused_closes_the_pull_request_and_retry_succeeds(
    client: Client, task_queue: str, world: World, registry: Registry
) -> None:
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        progress = await wait_for_approval_wait(handle)
        world.forge.add_fault("PUT", r"/pulls/\d+/merge$", 405, body={
            "message": "Pull Request is not mergeable",
            "documentation_url": "https://docs.github.com/rest"})
        await approve(handle)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        pull = world.as_user("alice").get_pull(progress.pr_number or 0)
        assert pull.state == "closed" and not pull.merged
        assert "integration/acme-weather" not in world.branches()
        comment = world.progress_comment(issue)
        assert "**Failed**" in comment and "/retry" in comment
        ending = world.ending_comment(issue)
        assert ending.startswith("@alice The integration request") and "Next:" in ending
        assert registry.get("acme-weather").state == IntegrationState.FAILED

        # /retry: a new run of the same workflow id starts again from the analysis.
        retry = await start_creation(client, world, issue, task_queue)
        await wait_for_approval_wait(retry)
        await approve(retry)
        result = await retry.result()
    assert world.as_user("alice").get_pull(result.pr_number or 0).merged
    states = [t.to_state for t in registry.transitions("acme-weather")]
    assert "FAILED" in states and states[states.index("FAILED") + 1] == "ANALYZING"


async def _wait_for_new_head(handle: WorkflowHandle, old_sha: str) -> None:
    for _ in range(1200):
        progress = await handle.query("progress", result_type=Progress)
        if progress.head_sha != old_sha and progress.waiting_for_approval:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("no second commit")


INVALID_BODIES = sorted((REPO_ROOT / "tests" / "fixtures" / "issue_bodies").glob("invalid_*.md"))


@pytest.mark.parametrize("path", INVALID_BODIES, ids=lambda p: p.stem)
async def test_each_invalid_body_gets_one_comment_listing_its_problems(
    client: Client, task_queue: str, world: World, registry: Registry, path: Path
) -> None:
    body = path.read_text(encoding="utf-8", errors="replace")
    expected = {p.field for p in parse_issue_form(body).problems}
    assert expected
    issue = world.new_issue(body)
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, body=body)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    [comment] = world.bot_comments(issue)
    assert "**Failed**" in comment and "/retry" in comment
    for field in expected:
        assert f"`{field}`" in comment
    assert world.branches() == ["main"]
    assert world.pulls() == []
    assert registry.list_integrations() == []


async def test_a_failure_after_the_merge_opens_a_revert_pull_request(
    client: Client, task_queue: str, world: World, registry: Registry
) -> None:
    """Deleting the merged branch (the step after the merge) is refused: the merged code
    cannot be undone by deleting a branch, so the saga opens a pull request that removes it,
    says so on the issue, and the integration ends FAILED."""
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        progress = await wait_for_approval_wait(handle)
        world.forge.add_fault("DELETE", r"/git/refs/heads/", 403, body={
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest"})
        await approve(handle)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        final = await handle.query("progress", result_type=Progress)

    alice = world.as_user("alice")
    merged = alice.get_pull(progress.pr_number or 0)
    assert merged.merged
    reverts = [p for p in alice.get_pulls(state="open") if p.title.startswith("Revert")]
    assert [p.title for p in reverts] == [
        f"Revert Acme Weather integration (#{progress.pr_number})"]
    revert = reverts[0]
    assert revert.head.ref == f"revert/acme-weather-{merged.merge_commit_sha[:7]}"
    assert "Resource not accessible" in revert.body
    removed = {f.filename: f.status for f in revert.get_files()}
    merged_tree = alice.get_git_tree(merged.merge_commit_sha, recursive=True).tree
    merged_files = {e.path for e in merged_tree
                    if e.type == "blob" and e.path.startswith("integrations/acme-weather/")}
    assert merged_files and removed == dict.fromkeys(merged_files, "removed")
    assert f"revert pull request #{revert.number} opened" in final.error
    comment = world.progress_comment(issue)
    assert f"revert pull request #{revert.number}" in comment
    ending = world.ending_comment(issue)
    assert f"revert pull request #{revert.number}" in ending and "Next:" in ending
    assert registry.get("acme-weather").state == IntegrationState.FAILED
