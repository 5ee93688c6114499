"""Issue 13 item 1: a merged version promoted through the environments.

The whole way on the in-process stack (forge webhooks, starter, worker, Docker, HAProxy per
environment): the sample request deploys to development, its promotion moves it to staging
by itself (the generated live checks run against the staging instance), waits for a
person, refuses a reader's `/promote` politely and a writer's `/promote` of another commit,
and goes to production on a writer's `/promote production`. Then, on a worker only: a
version whose recorded tests failed for its commit, or whose live checks fail, never
leaves development.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from infra.secrets import secret_store
from infra.settings import get_settings
from models.deploy import DeployInput, DeployResult, deploy_workflow_id
from models.deployment import Environment
from models.events import EventType
from models.promotion import (
    PromotionInput,
    PromotionProgress,
    PromotionResult,
    StepStatus,
    promotion_workflow_id,
)
from models.states import IntegrationState
from registry.deployments import live_deployment
from registry.store import open_registry
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.creation_recording import replays_and_is_kept
from tests.deploy_helpers import QUICK_TUNING, deploy_environment, faulty_files, register
from tests.figures import figure
from tests.webhook_flow import skip_issue_numbers, wait_for_run, webhook_world

SECRET = "promotion-secret"
ENVS = ("development", "staging", "production")
SAMPLE_KEY = "ACME_WEATHER_API_KEY"


async def _progress_until(handle: WorkflowHandle, done: Callable[[PromotionProgress], bool],
                          timeout: float = 240) -> PromotionProgress:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = await handle.query("progress", result_type=PromotionProgress)
        except RPCError:  # not started yet, or no poller yet: ask again
            last = None
        if last is not None and done(last):
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"the promotion never got there: {last}")


async def _reply(world: object, issue: int, needle: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in world.bot_comments(issue) if needle in c]  # type: ignore[attr-defined]
        if found:
            return found[-1]
        await asyncio.sleep(0.3)
    raise AssertionError(f"no comment with {needle!r}: "
                         f"{world.bot_comments(issue)}")  # type: ignore[attr-defined]


async def _replays(handle: WorkflowHandle) -> None:
    """The run's own history replays on today's code (waits, updates, children and all)."""
    await replays_and_is_kept(await handle.fetch_history(), "promotion_to_production")


def _three_environments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_ENVIRONMENTS", ",".join(ENVS))
    monkeypatch.setenv("CCB_DEPLOY_TUNING", json.dumps({e: QUICK_TUNING for e in ENVS}))
    get_settings.cache_clear()


@pytest.mark.slow
async def test_a_request_reaches_production_on_a_writers_promote(
        client: Client, temporal_address: str, task_queue: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with deploy_environment(monkeypatch) as data:
        _three_environments(monkeypatch)  # before the starter reads its settings
        await _the_whole_way(client, temporal_address, task_queue, monkeypatch, data)


async def _the_whole_way(client: Client, temporal_address: str, task_queue: str,
                         monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    with webhook_world(data, monkeypatch, temporal_address=temporal_address,
                       task_queue=task_queue, secret=SECRET, deploy=True) as world:
        for env in ENVS:  # what the operator does once per environment
            secret_store().set("acme-weather", SAMPLE_KEY, f"key-for-{env}", env)
        skip_issue_numbers(world, 100)
        async with running_worker(client, task_queue):
            issue = world.new_issue()
            run = await wait_for_run(client, world.request_handle(client, issue).id)
            waiting = await wait_for_approval_wait(run)
            world.as_user("alice").get_pull(waiting.pr_number or 0).create_review(
                body="Looks good.", event="APPROVE")
            created = await run.result()
            assert created.state == IntegrationState.ACTIVE
            sha = created.merged_sha
            promotion = client.get_workflow_handle(promotion_workflow_id("acme-weather",
                                                                         "0.1.0"),
                                                   result_type=PromotionResult)
            # Staging by itself (its live checks against the staging instance), then a wait.
            at_gate = await _progress_until(
                promotion, lambda p: p.waiting_for == Environment.PRODUCTION)
            staging = at_gate.environments[1]
            assert (staging.environment, staging.status) == (Environment.STAGING,
                                                             StepStatus.LIVE)
            assert staging.detail.endswith("live checks passed"), staging.detail
            asked = await _reply(world, issue, "passed its live checks there")
            assert "@alice" in asked and sha[:7] in asked

            # A reader: the polite refusal, and nothing moves.
            world.as_user("bob").get_issue(issue).create_comment("/promote production")
            await _reply(world, issue, "Thanks, @bob. Only people with write access")
            # A writer naming another commit: refused, the approval is bound to the commit.
            world.as_user("carol").get_issue(issue).create_comment("/promote production 0000000")
            refused = await _reply(world, issue, "0000000 is not the commit 0.1.0 merged at")
            assert f"promote {sha[:7]}" in refused
            assert (await promotion.query("progress", result_type=PromotionProgress)
                    ).waiting_for == Environment.PRODUCTION
            # The writer's promote: production.
            world.as_user("carol").get_issue(issue).create_comment("/promote production")
            accepted = await _reply(world, issue, "/promote` from @carol: acme-weather 0.1.0")
            assert "approved by carol" in accepted
            result = await promotion.result()
            await _replays(promotion)

        assert result.reached == Environment.PRODUCTION and result.stopped == ""
        assert [s.status for s in result.environments] == [StepStatus.LIVE] * 3
        assert result.environments[2].approved_by == "carol"
        registry = open_registry(get_settings().registry_url)
        for env in ENVS:
            live = live_deployment(registry, "acme-weather", env)
            assert live is not None and live.version == "0.1.0", env
        assert registry.get("acme-weather").state == IntegrationState.ACTIVE
        approvals = [e for e in registry.events("acme-weather")
                     if e.type == EventType.PROMOTION_APPROVED]
        assert [(e.payload["environment"], e.payload["approved_by"], e.payload["commit_sha"])
                for e in approvals] == [("production", "carol", sha)]
        recorded = [e for e in registry.events("acme-weather")
                    if e.type == EventType.VERSION_RECORDED]
        assert [(e.payload["commit_sha"], e.payload["tests_passed"],
                 e.payload["security_scan"], e.payload["approved_by"])
                for e in recorded] == [(sha, True, "passed", "alice")]
        table = await _reply(world, issue, "### Environments of `acme-weather` 0.1.0")
        assert table.count("✅ live") == 3
        figure(f"promoted acme-weather 0.1.0 ({sha[:7]}) development -> staging -> "
              "production (approved by carol)")


@pytest.mark.parametrize("broken", ["tests-failed", "live-checks-fail"])
async def test_a_version_whose_gates_failed_for_its_commit_is_not_promoted(
        client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    """Recorded tests that failed for the commit, or live checks failing against the
    version's instance: the promotion stops before staging and nothing is deployed there."""
    with deploy_environment(monkeypatch):
        _three_environments(monkeypatch)
        registry = open_registry(get_settings().registry_url)
        slug, sha = f"gated-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex + "00000000"
        register(registry, slug)
        checks = ([{"name": "liveness names the version", "path": "/health/live",
                    "expect_json_keys": ["version"]}] if broken == "live-checks-fail" else [])
        files = faulty_files(slug, "1.0.0", live_checks=checks)
        async with running_worker(client, task_queue):
            done = await client.execute_workflow(
                "DeployWorkflow", DeployInput(slug=slug, version="1.0.0", files=files,
                                              commit_sha=sha, start_monitor=False),
                id=deploy_workflow_id("development", slug, "1.0.0"), task_queue=task_queue,
                result_type=DeployResult)
            assert done.status == "live"
            registry.add_event(f"test/{slug}/recorded", EventType.VERSION_RECORDED, slug=slug,
                               payload={"version": "1.0.0", "commit_sha": sha,
                                        "tests_passed": broken != "tests-failed",
                                        "security_scan": "passed", "approved_by": "alice"})
            result = await client.execute_workflow(
                "PromotionWorkflow", PromotionInput(slug=slug, version="1.0.0",
                                                    commit_sha=sha),
                id=promotion_workflow_id(slug, "1.0.0"), task_queue=task_queue,
                result_type=PromotionResult)
        assert result.reached == Environment.DEVELOPMENT
        statuses = {s.environment: s.status for s in result.environments}
        assert statuses[Environment.PRODUCTION] == StepStatus.STOPPED
        if broken == "tests-failed":
            assert statuses[Environment.STAGING] == StepStatus.FAILED
            assert result.stopped == f"gates: the tests did not pass for 1.0.0 at {sha[:7]}"
        else:
            assert statuses[Environment.STAGING] == StepStatus.STOPPED
            assert result.stopped == ("live checks failed in development: generated tests: "
                                      "liveness names the version: GET /health/live answered "
                                      "without version")
        assert live_deployment(registry, slug, "staging") is None
