"""The update workflow on a real dev server with the forge and the offline generator."""

from __future__ import annotations

import json

from temporalio.client import Client

from models.creation import ApprovalAnswer, ApprovalDecision
from models.registry import Registry
from models.update import UpdateInput, UpdateResult
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the `world` fixture
    World,
    wait_for_approval_wait,
    world_fixture,
)
from tests.update_helpers import (
    ROOT,
    SLUG,
    new_update_issue,
    seed_integration,
    update_body,
)


def update_input(world: World, issue: int, body: str) -> UpdateInput:
    return UpdateInput(repo=world.repo, issue_number=issue, requested_by="alice", body=body)


async def test_an_unknown_integration_gets_one_comment_listing_the_known_ones(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    seed_integration(world, registry)
    body = update_body("acme-wether", "feature", "Add hourly forecasts.")
    issue = new_update_issue(world, body)
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body),
            id=f"update-{task_queue}", task_queue=task_queue, result_type=UpdateResult)
    assert result.outcome == "unknown_integration"
    [comment] = world.bot_comments(issue)
    assert "no integration `acme-wether`" in comment and "`acme-weather`" in comment
    assert world.branches() == ["main"] and world.pulls() == []
    assert registry.get(SLUG).current_version == "0.1.0"


async def test_add_rename_and_fix_bump_minor_major_and_patch(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    seed_integration(world, registry)
    results: list[UpdateResult] = []
    async with running_worker(client, task_queue):
        # 1. A new endpoint: minor, no migration plan, merged without a human (no rule fired).
        body = update_body(SLUG, "feature", "Add hourly forecasts.",
                           "GET /forecast/{city}/hourly - the hourly forecast")
        issue = new_update_issue(world, body)
        results.append(await client.execute_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body),
            id=f"update-{task_queue}-add", task_queue=task_queue, result_type=UpdateResult))

        # 2. A renamed public method: major, MIGRATION.md, a human must approve.
        body = update_body(SLUG, "breaking", "Please rename get_alerts to list_alerts.")
        issue = new_update_issue(world, body)
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body),
            id=f"update-{task_queue}-rename", task_queue=task_queue, result_type=UpdateResult)
        progress = await wait_for_approval_wait(handle)
        pull = world.as_user("alice").get_pull(progress.pr_number or 0)
        assert "Migration plan" in pull.body and "list_alerts" in pull.body
        await handle.execute_update("approve", ApprovalDecision(reviewer="alice"),
                                    result_type=ApprovalAnswer)
        results.append(await handle.result())

        # 3. A fix: patch.
        body = update_body(SLUG, "fix", "Use a timeout of 20 seconds for slow answers.")
        issue = new_update_issue(world, body)
        results.append(await client.execute_workflow(
            "IntegrationUpdateWorkflow", update_input(world, issue, body),
            id=f"update-{task_queue}-fix", task_queue=task_queue, result_type=UpdateResult))

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
