"""Issue 15, item 1 (sync jobs): a deployed sync job gets its Temporal Schedule (the
request's interval), whose runs call the instance's /sync; the schedule is paused and
resumed with the integration and removed when it is deprecated. The job's own cursor and
rate limit are proved by its generated tests (tests/test_generation_types.py runs them)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from activities.codegen.offline_generator import analyze, generate
from infra.settings import get_settings
from models.codegen import AnalyzeInput, GenerateInput
from models.deploy import DeployInput, DeployResult, deploy_workflow_id
from models.lifecycle_actions import LifecycleAction, LifecycleRequest, lifecycle_workflow_id
from models.request import Endpoint, IntegrationRequest
from models.sync_job import sync_schedule_id
from registry.store import open_registry
from rules.sync_job import manifest_interval, sync_plan
from tests.codegen_samples import run_package_tests, write_files
from tests.conftest import running_worker
from tests.creation_recording import replays_and_is_kept
from tests.deploy_helpers import deploy_environment, quick_tuning, register


def sync_request(slug: str, requirements: str) -> IntegrationRequest:
    return IntegrationRequest(
        service_name="Ledger Export", slug=slug, integration_type="sync-job",
        base_url="https://ledger.example/api", auth="none", requirements=requirements,
        endpoints=[Endpoint(method="GET", path="/entries/{entry_id}", description="one"),
                   Endpoint(method="GET", path="/entries?since", description="entries"),
                   Endpoint(method="POST", path="/exports", description="start an export")])


LEDGER = sync_request("ledger-export", "Copy new entries every 20 minutes, resuming from the "
                      "last offset; the API allows 30 requests per minute.")


def _files(request: IntegrationRequest) -> dict[str, str]:
    spec = analyze(AnalyzeInput(request=request, integration_key="sync")).spec
    return generate(GenerateInput(request=request, spec=spec, integration_key="sync")).files


def test_the_plan_is_read_from_the_request_and_the_tests_prove_the_cursor(
        tmp_path: Path) -> None:
    plan = sync_plan(LEDGER)
    assert (plan.interval_seconds, plan.requests, plan.period_seconds, plan.cursor_param) == (
        1200, 30, 60.0, "offset")
    files = _files(LEDGER)
    manifest = files["integrations/ledger-export/manifest.json"]
    assert manifest_interval(manifest) == 1200
    sync = files["integrations/ledger-export/ledger_export/sync.py"]
    assert 'SOURCE_OPERATION = "get_entries"' in sync  # the list, not the one-entry GET
    assert 'CURSOR_PARAM = "offset"' in sync and "REQUESTS = 30" in sync
    write_files(files, tmp_path)
    run, coverage = run_package_tests(tmp_path / "integrations" / "ledger-export")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert coverage >= 80
    for proof in ("test_a_failed_run_resumes_from_its_cursor",
                  "test_requests_are_spaced_to_the_rate_limit",
                  "test_a_429_is_waited_out_and_tried_again"):
        assert proof in files["integrations/ledger-export/tests/test_sync.py"]


@pytest.mark.parametrize(("text", "every"), [
    ("", 900), ("hourly", 3600), ("every 5 minutes", 300), ("every 10 s", 60),
    ("every 30 days", 7 * 86_400), ("run it nightly", 86_400)])
def test_the_interval_is_bounded(text: str, every: int) -> None:
    assert sync_plan(sync_request("x-y", text)).interval_seconds == every


async def _paused(client: Client, schedule_id: str) -> bool:
    described = await client.get_schedule_handle(schedule_id).describe()
    return described.schedule.state.paused


async def _lifecycle(client: Client, task_queue: str, slug: str, action: LifecycleAction,
                     n: int) -> None:
    await client.execute_workflow(
        "LifecycleWorkflow", LifecycleRequest(slug=slug, action=action, actor="carol",
                                              reason=f"test {action.value}"),
        id=f"{lifecycle_workflow_id(slug)}-{n}", task_queue=task_queue)


@pytest.mark.slow
async def test_a_deployed_sync_job_has_a_schedule_that_follows_the_integration(
        client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    slug = f"ledger-{uuid.uuid4().hex[:6]}"
    files = _files(sync_request(slug, "every 20 minutes"))
    schedule_id = sync_schedule_id(task_queue, "development", slug)
    with deploy_environment(monkeypatch):
        register(open_registry(get_settings().registry_url), slug)
        async with running_worker(client, task_queue):
            inp = DeployInput(slug=slug, version="0.1.0", files=files, tuning=quick_tuning(),
                              start_monitor=False)
            deployed = await client.execute_workflow(
                "DeployWorkflow", inp, id=deploy_workflow_id("development", slug, "0.1.0"),
                task_queue=task_queue, result_type=DeployResult)
            assert deployed.status == "live"
            handle = client.get_schedule_handle(schedule_id)
            described = await handle.describe()
            assert described.schedule.spec.intervals[0].every == timedelta(minutes=20)
            assert described.schedule.action.workflow == "SyncRunWorkflow"  # type: ignore[union-attr]
            assert not described.schedule.state.paused

            # One run now: it reaches the instance's /sync through the proxy. The instance
            # has no network, so its page fetch fails and the run says so (cursor kept).
            await handle.trigger()
            for _ in range(100):
                actions = (await handle.describe()).info.recent_actions
                if actions:
                    break
                await asyncio.sleep(0.2)
            started = actions[-1].action
            run = client.get_workflow_handle(started.workflow_id,
                                             run_id=started.first_execution_run_id)
            with pytest.raises(WorkflowFailureError) as failed:
                await run.result()
            cause = str(failed.value.cause.cause if failed.value.cause.cause  # type: ignore[union-attr]
                        else failed.value.cause)
            assert f"the sync of {slug} in development failed on its first page" in cause, cause
            assert "the next run resumes there" in cause

            await _lifecycle(client, task_queue, slug, LifecycleAction.PAUSE, 1)
            assert await _paused(client, schedule_id)
            await _lifecycle(client, task_queue, slug, LifecycleAction.RESUME, 2)
            assert not await _paused(client, schedule_id)
            await _lifecycle(client, task_queue, slug, LifecycleAction.DEPRECATE, 3)
            with pytest.raises(RPCError) as gone:
                await handle.describe()
            assert gone.value.status == RPCStatusCode.NOT_FOUND
            # Today's code replays what these runs recorded (and keeps them as fixtures).
            for workflow_id, run_id, name in (
                    (deploy_workflow_id("development", slug, "0.1.0"), None, "deploy_sync_job"),
                    (started.workflow_id, started.first_execution_run_id, "sync_run_failed"),
                    (f"{lifecycle_workflow_id(slug)}-3", None, "lifecycle_sync_deprecate")):
                history = await client.get_workflow_handle(
                    workflow_id, run_id=run_id).fetch_history()
                await replays_and_is_kept(history, name)
