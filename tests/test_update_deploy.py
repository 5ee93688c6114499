"""An update goes live blue-green (auto-deployment on) and rolls back to the old version."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from activities.deploy.traffic_steps import proxy_of
from infra.settings import get_settings
from models.deploy import DeployInput, DeployKind, DeployResult, deploy_workflow_id
from models.update import UpdateInput
from registry.deployments import live_deployment, previous_good
from registry.store import open_registry
from tests.conftest import running_worker
from tests.creation_helpers import World, deploying_world_fixture  # noqa: F401 - the fixture
from tests.update_helpers import (
    SLUG,
    approved_update,
    base_files,
    new_update_issue,
    seed_integration,
    update_body,
)


def live_version() -> str:
    answer = httpx.get(f"http://127.0.0.1:{proxy_of('development').port}/health/ready",
                       headers={"Host": SLUG}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.headers["X-Version"]


async def test_an_update_goes_live_blue_green_and_rolls_back(
        client: Client, task_queue: str, deploying_world: World) -> None:
    world = deploying_world
    registry = open_registry(get_settings().registry_url)
    seed_integration(world, registry)
    body = update_body(SLUG, "feature", "Add hourly forecasts.",
                       "GET /forecast/{city}/hourly - the hourly forecast")
    issue = new_update_issue(world, body)
    async with running_worker(client, task_queue):
        await client.execute_workflow(
            "DeployWorkflow", DeployInput(slug=SLUG, version="0.1.0", files=base_files(),
                                          start_monitor=False),
            id=deploy_workflow_id("development", SLUG, "0.1.0"), task_queue=task_queue,
            result_type=DeployResult)
        assert live_version() == "0.1.0"
        result = await approved_update(
            client,
            UpdateInput(repo=world.repo, issue_number=issue, requested_by="alice", body=body),
            f"update-{task_queue}", task_queue)
        assert (result.outcome, result.new_version) == ("merged", "0.2.0")
        assert "0.2.0 is live" in result.message
        assert live_version() == "0.2.0"

        previous = previous_good(registry, SLUG, "development")
        assert previous is not None and previous.version == "0.1.0"
        await client.execute_workflow(
            "DeployWorkflow", DeployInput(slug=SLUG, version="0.1.0", kind=DeployKind.ROLLBACK,
                                          image=previous.image, traffic_approved=True,
                                          start_monitor=False, reason="test rollback"),
            id=deploy_workflow_id("development", SLUG, "0.1.0") + "-rollback",
            task_queue=task_queue, result_type=DeployResult)
    assert live_version() == "0.1.0"
    live = live_deployment(registry, SLUG, "development")
    assert live is not None and live.version == "0.1.0"
