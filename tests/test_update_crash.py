"""The worker SIGKILLed during the compatibility check: the update still ends once, with one
branch, one pull request and one result comment."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from models.update import UpdateInput, UpdateResult
from registry.store import Registry
from tests.creation_helpers import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.update_helpers import (
    SLUG,
    approve_when_asked,
    killed_mid_step,
    new_update_issue,
    seed_integration,
    update_body,
)


async def test_worker_killed_during_the_compatibility_check(
        client: Client, task_queue: str, temporal_address: str, world: World,
        registry: Registry, data_dir: Path) -> None:
    seed_integration(world, registry)
    body = update_body(SLUG, "feature", "Add hourly forecasts.",
                       "GET /forecast/{city}/hourly - the hourly forecast")
    issue = new_update_issue(world, body)

    async def start():  # type: ignore[no-untyped-def]
        return await client.start_workflow(
            "IntegrationUpdateWorkflow",
            UpdateInput(repo=world.repo, issue_number=issue, requested_by="alice", body=body),
            id=f"update-{task_queue}", task_queue=task_queue, result_type=UpdateResult)

    result = await killed_mid_step(client, task_queue, temporal_address, data_dir,
                                   "update.compat", start, then=approve_when_asked)
    assert isinstance(result, UpdateResult)
    assert (result.outcome, result.new_version) == ("merged", "0.2.0")
    assert len(world.pulls()) == 1 and world.branches() == ["main"]
    [comment] = [c for c in world.bot_comments(issue) if "merged in" in c]
    assert "0.1.0 -> 0.2.0" in comment
    assert [v.version for v in registry.versions(SLUG)] == ["0.1.0", "0.2.0"]
