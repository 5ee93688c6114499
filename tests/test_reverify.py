"""The re-verification schedule: it re-checks every ACTIVE integration on its deploy host,
records each result, raises the alert of one whose instance was stopped, and is paused,
resumed and triggered from `ccb schedules` (the same server objects the Web UI shows).

Schedules run on the dev server: the time-skipping test server does not implement them
(sdk-java#1954, closed without plans), so the test triggers the schedule instead of waiting
for its interval.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.client import Client, ScheduleHandle

from activities.reverify import REVERIFY_ACTIVITIES
from activities.sandbox.docker_runner import docker_client
from infra.schedules import ensure_schedules, reverify_schedule_id
from infra.settings import get_settings
from models.deploy import DeployInput, DeployResult, deploy_workflow_id
from models.events import EventType
from models.reverify import ReverifySummary
from registry.store import open_registry
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
        healthy, stopped = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("steady", "halted"))
        env = {**os.environ, "CCB_DATA_DIR": str(data), "CCB_TEMPORAL_ADDRESS": temporal_address,
               "CCB_TASK_QUEUE": task_queue}
        schedule = client.get_schedule_handle(reverify_schedule_id(task_queue))
        with ThreadPoolExecutor(max_workers=16) as executor:
            workers = serving(client, task_queue, executor,
                              workflows=[*DEPLOY_WORKFLOWS, ReverifyWorkflow],
                              activities=[*ALL_DEPLOY_ACTIVITIES, *REVERIFY_ACTIVITIES])
            async with workers:
                for slug in (healthy, stopped):
                    register(reg, slug)
                    inp = DeployInput(slug=slug, version="1.0.0",
                                      files=faulty_files(slug, "1.0.0"),
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
        assert set(by_slug) == {healthy, stopped}
        assert by_slug[healthy].ok and [c.name for c in by_slug[healthy].checks] == [
            "health", "smoke"]
        assert not by_slug[stopped].ok and "is not running" in by_slug[stopped].reason
        recorded = {e.payload["ok"]: e for e in reg.events()
                    if e.type == EventType.VERIFICATION_COMPLETED}
        assert set(recorded) == {True, False}
        alerts = [e for e in reg.events(stopped) if e.type == EventType.ERROR_OCCURRED]
        assert len(alerts) == 1 and "re-verification failed" in alerts[0].payload["reason"]
        assert not [e for e in reg.events(healthy) if e.type == EventType.ERROR_OCCURRED]
        print(f"\nre-verified {healthy} (ok) and {stopped} ({by_slug[stopped].reason})")


def test_no_schedules_is_said_plainly(temporal_address: str, data_dir: Path) -> None:
    env = {**os.environ, "CCB_DATA_DIR": str(data_dir), "CCB_TEMPORAL_ADDRESS": temporal_address}
    done = subprocess.run([sys.executable, "-m", "starter.cli", "schedules", "pause", "nope"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no schedule named 'nope'; `ccb schedules` lists them" in done.stderr
    assert "Traceback" not in done.stderr
