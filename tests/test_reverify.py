"""The re-verification schedule: it re-checks every ACTIVE integration on its deploy host,
records each result, raises the alert of one whose instance was stopped, and is paused,
resumed and triggered from `ccb schedules` (the same server objects the Web UI shows).

Schedules run on the dev server: the time-skipping test server does not implement them
(sdk-java#1954, closed without plans), so one test triggers the schedule instead of waiting
for its nightly interval, and another gives it an interval of seconds and waits for it.
The healthy integration is the offline generator's: its generated live checks (the
manifest's ``live_checks``) run against its deployed instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.client import Client, ScheduleHandle
from temporalio.service import RPCError

from activities.codegen.offline_generator import analyze, generate
from activities.reverify import REVERIFY_ACTIVITIES
from activities.sandbox.docker_runner import docker_client
from infra.schedules import ensure_schedules, reverify_schedule_id
from infra.settings import get_settings
from models.codegen import AnalyzeInput, GenerateInput
from models.deploy import DeployInput, DeployResult, deploy_workflow_id
from models.events import EventType
from models.request import IntegrationType
from models.reverify import ReverifySummary
from registry.store import open_registry
from tests.codegen_samples import KEY, OPEN_DATA
from tests.conftest import REPO_ROOT
from tests.deploy_helpers import (
    ALL_DEPLOY_ACTIVITIES,
    DEPLOY_WORKFLOWS,
    deploy_environment,
    faulty_files,
    live_containers,
    quick_tuning,
    register,
)
from tests.figures import figure
from worker import serving
from workflows.reverify import ReverifyWorkflow


def _ccb(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "starter.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


async def _first_run(handle: ScheduleHandle, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recent = (await handle.describe()).info.recent_actions
        if recent:
            return recent[-1].action.workflow_id
        await asyncio.sleep(0.5)
    raise AssertionError("the schedule started no run")


async def test_the_schedule_reverifies_both_and_alerts_the_stopped_one(
        client: Client, task_queue: str, temporal_address: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with deploy_environment(monkeypatch) as data:
        reg = open_registry(get_settings().registry_url)
        healthy, stopped, drifted = (f"{name}-{uuid.uuid4().hex[:6]}"
                                     for name in ("steady", "halted", "drifted"))
        env = {**os.environ, "CCB_DATA_DIR": str(data), "CCB_TEMPORAL_ADDRESS": temporal_address,
               "CCB_TASK_QUEUE": task_queue}
        schedule = client.get_schedule_handle(reverify_schedule_id(task_queue))
        with ThreadPoolExecutor(max_workers=16) as executor:
            workers = serving(client, task_queue, executor,
                              workflows=[*DEPLOY_WORKFLOWS, ReverifyWorkflow],
                              activities=[*ALL_DEPLOY_ACTIVITIES, *REVERIFY_ACTIVITIES])
            async with workers:
                files = {healthy: _generated_files(healthy), stopped: faulty_files(
                    stopped, "1.0.0"), drifted: faulty_files(drifted, "1.0.0", live_checks=[
                        {"name": "liveness names the version", "path": "/health/live",
                         "expect_json_keys": ["version"]}])}
                for slug in (healthy, stopped, drifted):
                    register(reg, slug)
                    inp = DeployInput(slug=slug, version="1.0.0", files=files[slug],
                                      tuning=quick_tuning(), start_monitor=False)
                    done = await client.execute_workflow(
                        "DeployWorkflow", inp, task_queue=task_queue, result_type=DeployResult,
                        id=deploy_workflow_id(inp.environment, slug, inp.version))
                    assert done.status == "live"
                docker = docker_client()
                assert docker is not None
                docker.containers.get(live_containers(stopped)["blue"]).stop(timeout=1)

                assert "created" in await ensure_schedules(client, get_settings(), task_queue)
                assert "kept" in await ensure_schedules(client, get_settings(), task_queue)
                try:
                    # Paused from the CLI: listed as paused, and it stays so when the worker
                    # brings the schedule up to date again.
                    _ccb("schedules", "pause", schedule.id, "--note", "maintenance", env=env)
                    await ensure_schedules(client, get_settings(), task_queue)
                    listed = _ccb("schedules", env=env)
                    line = next(x for x in listed.splitlines() if x.startswith(schedule.id))
                    assert "paused (maintenance)" in line and "every 24 h" in line
                    _ccb("schedules", "unpause", schedule.id, env=env)
                    assert not (await schedule.describe()).schedule.state.paused
                    _ccb("schedules", "trigger", schedule.id, env=env)
                    run_id = await _first_run(schedule)
                    summary = await client.get_workflow_handle(
                        run_id, result_type=ReverifySummary).result()
                finally:
                    await schedule.delete()

        by_slug = {r.slug: r for r in summary.verified}
        assert set(by_slug) == {healthy, stopped, drifted}
        assert by_slug[healthy].ok, by_slug[healthy].reason
        assert [c.name for c in by_slug[healthy].checks] == [
            "health", "smoke", "generated tests"]
        generated_tests = by_slug[healthy].checks[2]
        assert generated_tests.detail == f"{_declared_checks(files[healthy], healthy)} live " \
            "checks passed"
        assert not by_slug[stopped].ok and "is not running" in by_slug[stopped].reason
        assert [c.name for c in by_slug[stopped].checks] == ["health"]
        assert not by_slug[drifted].ok and by_slug[drifted].checks[2].detail == (
            "liveness names the version: GET /health/live answered without version")
        recorded = {e.id.rsplit("/", 1)[1]: e.payload["ok"] for e in reg.events()
                    if e.type == EventType.VERIFICATION_COMPLETED}  # ids end with the slug
        assert recorded == {healthy: True, stopped: False, drifted: False}
        for failed in (stopped, drifted):
            alerts = [e for e in reg.events(failed) if e.type == EventType.ERROR_OCCURRED]
            assert len(alerts) == 1 and "re-verification failed" in alerts[0].payload["reason"]
        assert not [e for e in reg.events(healthy) if e.type == EventType.ERROR_OCCURRED]
        figure(f"re-verified {healthy} (ok: {generated_tests.detail}), {stopped} "
              f"({by_slug[stopped].reason}) and {drifted} ({by_slug[drifted].reason})")


def _generated_files(slug: str) -> dict[str, str]:
    """The offline generator's integration for a request without credentials, as ``slug``."""
    request = OPEN_DATA.model_copy(update={"slug": slug, "service_name": "Open Data",
                                           "integration_type": IntegrationType.API_CLIENT})
    spec = analyze(AnalyzeInput(request=request, integration_key=KEY)).spec
    return generate(GenerateInput(request=request, spec=spec, version="1.0.0",
                                  integration_key=KEY)).files


def _declared_checks(files: dict[str, str], slug: str) -> int:
    return len(json.loads(files[f"integrations/{slug}/manifest.json"])["live_checks"])


async def test_the_schedule_fires_by_itself_at_its_interval(
        client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch,
        data_dir: Path) -> None:
    """Nobody triggers it: the interval alone starts a run (a few seconds here)."""
    monkeypatch.setenv("CCB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CCB_REVERIFY_INTERVAL_HOURS", "0.0005")  # 1.8 s
    get_settings.cache_clear()
    queue = f"{task_queue}-fires"
    schedule = client.get_schedule_handle(reverify_schedule_id(queue))
    try:
        with ThreadPoolExecutor(max_workers=16) as executor:
            async with serving(client, queue, executor, workflows=[ReverifyWorkflow],
                               activities=REVERIFY_ACTIVITIES):
                assert "created" in await ensure_schedules(client, get_settings(), queue)
                run_id = await _first_run(schedule)
                summary = await client.get_workflow_handle(
                    run_id, result_type=ReverifySummary).result()
                described = await schedule.describe()
                await schedule.delete()
                for action in described.info.running_actions:  # none left on a dead queue
                    await client.get_workflow_handle(action.workflow_id).result()
        assert summary.verified == []  # nothing is live in this registry
        assert described.info.num_actions >= 1
        figure(f"the schedule started {described.info.num_actions} run(s) by itself")
    finally:
        with contextlib.suppress(RPCError):  # deleted above unless the test failed first
            await schedule.delete()
        get_settings.cache_clear()


def test_no_schedules_is_said_plainly(temporal_address: str, data_dir: Path) -> None:
    env = {**os.environ, "CCB_DATA_DIR": str(data_dir), "CCB_TEMPORAL_ADDRESS": temporal_address}
    done = subprocess.run([sys.executable, "-m", "starter.cli", "schedules", "pause", "nope"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no schedule named 'nope'; `ccb schedules` lists them" in done.stderr
    assert "Traceback" not in done.stderr
