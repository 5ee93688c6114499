"""The update workflow on a real dev server with the forge and the offline generator."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.codegen.offline_update import generate_update
from activities.usage import calls
from models.creation import ChangeRequest, Progress
from models.update import UpdateGenerateInput, UpdateInput, UpdateResult
from registry.store import Registry
from rules.issue_form import parse_update_form
from tests.claude_scripts import REVIEW_ANSWER, files_answer
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the `world` fixture
    World,
    approve,
    wait_for_approval_wait,
    world_fixture,
)
from tests.messages_api_server import claude_api
from tests.update_helpers import (
    ROOT,
    SLUG,
    approved_update,
    base_files,
    new_update_issue,
    sample_request,
    seed_integration,
    update_body,
)


def update_input(world: World, issue: int, body: str) -> UpdateInput:
    return UpdateInput(repo=world.repo, issue_number=issue, requested_by="alice", body=body)


async def test_an_unknown_integration_fails_with_one_comment_and_retry_retries_the_update(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    """FAILED in Temporal (not Completed) with one comment listing the known ones, an
    error.occurred event in the registry; `/retry` (the dispatcher) runs the update again."""
    from temporalio.client import WorkflowExecutionStatus

    from models.events import EventType
    from starter.dispatch import Dispatcher
    from workflows.names import update_workflow_id

    seed_integration(world, registry)
    body = update_body("acme-wether", "feature", "Add hourly forecasts.")
    issue = new_update_issue(world, body)
    workflow_id = update_workflow_id(world.repo, issue)
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body), id=workflow_id,
            task_queue=task_queue, result_type=UpdateResult)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert "There is no integration `acme-wether`" in str(failed.value.cause)
        assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
        dispatcher = Dispatcher(client, task_queue)
        again = await dispatcher.retry(world.repo, issue, "alice", "Update", body)
        assert (again.status, again.workflow_type) == ("started", "IntegrationUpdateWorkflow")
        second = client.get_workflow_handle(workflow_id)
        with pytest.raises(WorkflowFailureError):
            await second.result()  # still unknown: fails again, as an update
        runs = [w async for w in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    assert {r.workflow_type for r in runs} == {"IntegrationUpdateWorkflow"}
    [comment] = world.bot_comments(issue)
    assert "no integration `acme-wether`" in comment and "`acme-weather`" in comment
    assert world.branches() == ["main"] and world.pulls() == []
    assert registry.get(SLUG).current_version == "0.1.0"
    refused = [e for e in registry.events() if e.type == EventType.ERROR_OCCURRED
               and e.metadata.get("workflow_id") == workflow_id]
    assert len(refused) == 2 and refused[0].payload["category"] == "unknown_integration"


async def test_add_rename_and_fix_bump_minor_major_and_patch(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    seed_integration(world, registry)
    results: list[UpdateResult] = []
    async with running_worker(client, task_queue):
        # 1. A new endpoint: minor, no migration plan; a person approves (every merge).
        body = update_body(SLUG, "feature", "Add hourly forecasts.",
                           "GET /forecast/{city}/hourly - the hourly forecast")
        issue = new_update_issue(world, body)
        results.append(await approved_update(client, update_input(world, issue, body),
                                             f"update-{task_queue}-add", task_queue))

        # 2. A renamed public method: major, MIGRATION.md, a human must approve.
        body = update_body(SLUG, "breaking", "Please rename get_alerts to list_alerts.")
        issue = new_update_issue(world, body)
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body),
            id=f"update-{task_queue}-rename", task_queue=task_queue, result_type=UpdateResult)
        progress = await wait_for_approval_wait(handle)
        pull = world.as_user("alice").get_pull(progress.pr_number or 0)
        assert "Migration plan" in pull.body and "list_alerts" in pull.body
        await approve(handle)
        results.append(await handle.result())

        # 3. A fix: patch.
        body = update_body(SLUG, "fix", "Use a timeout of 20 seconds for slow answers.")
        issue = new_update_issue(world, body)
        results.append(await approved_update(client, update_input(world, issue, body),
                                             f"update-{task_queue}-fix", task_queue))

    assert [(r.outcome, r.bump, r.new_version, r.breaking) for r in results] == [
        ("merged", "minor", "0.2.0", False),
        ("merged", "major", "1.0.0", True),
        ("merged", "patch", "1.0.1", False),
    ]
    repo = world.as_user("alice")
    manifest = json.loads(repo.get_contents(f"{ROOT}/manifest.json").decoded_content)
    assert manifest["version"] == "1.0.1"
    capabilities = manifest["capabilities"]
    assert "list_alerts" in capabilities and "get_alerts" not in capabilities
    assert "get_forecast_hourly" in manifest["capabilities"]
    migration = repo.get_contents(f"{ROOT}/MIGRATION.md").decoded_content.decode()
    assert "from 0.2.0 to 1.0.0" in migration and "list_alerts" in migration
    first = repo.get_pull(results[0].pr_number or 0)
    assert first.merged and "Migration plan" not in first.body
    assert [v.version for v in registry.versions(SLUG)] == ["0.1.0", "0.2.0", "1.0.0", "1.0.1"]
    assert registry.get(SLUG).current_version == "1.0.1"
    assert world.branches() == ["main"]


async def test_with_a_key_claude_writes_and_reviews_the_update(
        client: Client, task_queue: str, world: World, registry: Registry,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key the update is written by Claude (the local Messages API, scripted with the
    files a correct answer holds, at the declared bump's version) and reviewed by Claude in
    the review child; the version still follows the public-API comparison, and both calls'
    tokens are recorded against the update's workflow."""
    seed_integration(world, registry)
    body = update_body(SLUG, "feature", "Add hourly forecasts.",
                       "GET /forecast/{city}/hourly - the hourly forecast")
    parsed = parse_update_form(body)
    assert parsed.update is not None
    written = generate_update(UpdateGenerateInput(
        request=sample_request().model_dump(mode="json"), update=parsed.update,
        version="0.2.0", previous_files=base_files())).files
    issue = new_update_issue(world, body)
    workflow_id = f"update-{task_queue}-claude"
    with claude_api(monkeypatch) as server:
        server.reply_tool_use(files_answer(written, "hourly forecasts added"))
        server.reply_tool_use(REVIEW_ANSWER)
        async with running_worker(client, task_queue):
            handle = await client.start_workflow(
                "IntegrationUpdateWorkflow", update_input(world, issue, body), id=workflow_id,
                task_queue=task_queue, result_type=UpdateResult)
            await wait_for_approval_wait(handle)  # a person approves every merge
            await approve(handle)
            result = await handle.result()
        assert server.problems == [] and server.pending == 0
        tools = [str((b.get("tool_choice") or {}).get("name")) for b in server.bodies]
        generate_prompt = json.dumps(server.bodies[0])

    assert (result.outcome, result.bump, result.new_version) == ("merged", "minor", "0.2.0")
    assert len(tools) == 2 and tools[0] != tools[1]
    assert "Add hourly forecasts." in generate_prompt and "previous_files" in generate_prompt
    pull = world.as_user("alice").get_pull(result.pr_number or 0)
    assert pull.merged and "Written by Claude" in pull.body
    [review] = [r.body for r in pull.get_reviews() if r.user.login == "ccb-bot"]
    assert "Claude's review" in review and REVIEW_ANSWER["summary"] in review
    manifest = json.loads(world.as_user("alice").get_contents(
        f"{ROOT}/manifest.json").decoded_content)
    assert manifest["version"] == "0.2.0" and "get_forecast_hourly" in manifest["capabilities"]
    rows = calls(workflow_id)
    assert [r.step for r in rows] == ["generate", "review"]
    assert result.usage.input_tokens == sum(r.input_tokens for r in rows) > 0
    assert result.usage.output_tokens == sum(r.output_tokens for r in rows) > 0


async def test_changes_requested_on_an_update_are_answered_by_a_new_commit(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    """A breaking update waits for a human; the reviewer asks for a change: the workflow
    regenerates with the reviewer's words, commits on the same pull request, refreshes its
    description, reviews the new head and, once approved, merges it."""
    seed_integration(world, registry)
    body = update_body(SLUG, "breaking", "Please rename get_alerts to list_alerts.")
    issue = new_update_issue(world, body)
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body),
            id=f"update-{task_queue}-changes", task_queue=task_queue, result_type=UpdateResult)
        first = await wait_for_approval_wait(handle)
        waiting = world.progress_comment(issue)  # the update's live checklist, as a creation's
        assert waiting.startswith(f"### Update of `{SLUG}`: **REVIEWING**"), waiting
        assert "- [x] Open the pull request" in waiting and "Waiting for a person's" in waiting
        assert _state_labels(world, issue) == ["ccb:reviewing"]
        await handle.signal("request_changes", ChangeRequest(
            reviewer="alice", text="Say in the README that alerts are listed now.",
            source="review:1"))
        second = first
        for _ in range(1200):  # bounded: at most 240 s
            second = await handle.query("progress", result_type=Progress)
            if second.head_sha != first.head_sha and second.waiting_for_approval:
                break
            await asyncio.sleep(0.2)
        assert second.head_sha != first.head_sha, second
        await approve(handle)
        result = await handle.result()

    assert (result.outcome, result.new_version, result.breaking) == ("merged", "1.0.0", True)
    pull = world.as_user("alice").get_pull(result.pr_number or 0)
    assert pull.merged and first.pr_number == second.pr_number == result.pr_number
    messages = [c.commit.message for c in pull.get_commits()]
    assert len(messages) == 2 and messages[1].startswith("Address review by alice")
    assert pull.title == f"Update {SLUG} to {result.new_version}"  # the title follows it
    changes = world.as_user("alice").get_contents(f"{ROOT}/CHANGES.md").decoded_content.decode()
    assert "alerts are listed now" in changes
    reviews = [r.body for r in pull.get_reviews() if r.user.login == "ccb-bot"]
    assert len(reviews) == 2  # one per head
    done = world.progress_comment(issue)
    assert done.startswith(f"### Update of `{SLUG}`: **APPROVED**"), done  # merged, not deployed
    assert "(round 2)" in done and "~~Deploy (blue-green)~~ (skipped)" in done
    assert "- [ ]" not in done and _state_labels(world, issue) == ["ccb:approved"]


def _state_labels(world: World, issue: int) -> list[str]:
    labels = world.as_user("alice").get_issue(issue).get_labels()
    return sorted(label.name for label in labels if label.name.startswith("ccb:"))


async def test_a_failure_after_an_update_is_merged_opens_a_revert_pull_request(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    """Deleting the merged branch is refused after the merge: the saga opens a pull request
    that puts the old version's files back, and the issue's comment names it."""
    old_files = seed_integration(world, registry)
    body = update_body(SLUG, "feature", "Add hourly forecasts.",
                       "GET /forecast/{city}/hourly - the hourly forecast")
    issue = new_update_issue(world, body)
    world.forge.add_fault("DELETE", r"/git/refs/heads/", 403, body={
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest"})
    async with running_worker(client, task_queue):
        with pytest.raises(WorkflowFailureError):
            await approved_update(client, update_input(world, issue, body),
                                  f"update-{task_queue}-revert", task_queue)

    alice = world.as_user("alice")
    [merged] = [p for p in alice.get_pulls(state="closed") if p.merged]
    [revert] = [p for p in alice.get_pulls(state="open")]
    assert revert.title == f"Revert {SLUG} to 0.1.0 (#{merged.number})"
    assert revert.head.ref == f"revert/{SLUG}-{merged.merge_commit_sha[:7]}"
    # The revert branch holds exactly the old version's files again.
    tree = alice.get_git_tree(revert.head.sha, recursive=True).tree
    on_branch = {e.path for e in tree if e.type == "blob" and e.path.startswith(f"{ROOT}/")}
    assert on_branch == set(old_files)
    manifest = json.loads(alice.get_contents(f"{ROOT}/manifest.json",
                                             ref=revert.head.ref).decoded_content)
    assert manifest["version"] == "0.1.0"
    comments = world.bot_comments(issue)
    assert any(f"Revert pull request #{revert.number} opened" in c for c in comments)
