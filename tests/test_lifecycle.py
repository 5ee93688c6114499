"""Issue 13 item 2: pause, resume and deprecate, from `ccb`, on the real worker, Docker and
HAProxy. Paused, the proxy answers for the integration (not its service) and its monitor is
stopped; resumed, the service answers again and a monitor runs; deprecated, no container,
no route, the proxy slot is free for another integration, and the history is kept."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from activities.deploy.traffic_steps import proxy_of
from activities.sandbox.docker_runner import docker_client
from activities.traffic import switch
from infra.settings import get_settings
from models.deploy import DeployInput, DeployResult, deploy_workflow_id, monitor_workflow_id
from models.events import EventType
from models.lifecycle_actions import lifecycle_workflow_id
from models.states import IntegrationState
from registry.deployments import live_deployment
from registry.store import open_registry
from tests.conftest import REPO_ROOT, running_worker
from tests.creation_recording import replays_and_is_kept
from tests.deploy_helpers import deploy_environment, faulty_files, live_containers, register
from tests.traffic_helpers import get


async def _ccb(*args: str, env: dict[str, str], ok: bool = True) -> str:
    """`ccb` in a thread: the worker runs on this test's event loop."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "starter.cli", *args], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


async def _replays(client: Client, workflow_id: str) -> None:
    """The latest run's history replays on today's code."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    await replays_and_is_kept(history, "lifecycle_deprecate")


async def _monitor_status(client: Client, slug: str) -> WorkflowExecutionStatus | None:
    described = await client.get_workflow_handle(
        monitor_workflow_id("development", slug)).describe()
    return described.status


async def test_pause_resume_then_deprecate(client: Client, task_queue: str,
                                           temporal_address: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with deploy_environment(monkeypatch) as data:
        registry = open_registry(get_settings().registry_url)
        slug = f"cycled-{uuid.uuid4().hex[:6]}"
        register(registry, slug)
        env = {**os.environ, "CCB_DATA_DIR": str(data), "CCB_TEMPORAL_ADDRESS": temporal_address,
               "CCB_TASK_QUEUE": task_queue}
        port = proxy_of("development").port
        async with running_worker(client, task_queue):
            deployed = await client.execute_workflow(
                "DeployWorkflow", DeployInput(slug=slug, version="1.0.0",
                                              files=faulty_files(slug, "1.0.0")),
                id=deploy_workflow_id("development", slug, "1.0.0"), task_queue=task_queue,
                result_type=DeployResult)
            assert deployed.status == "live"
            assert get(port, slug)[:2] == (200, "1.0.0")  # the service answers

            out = await _ccb("pause", slug, "--reason", "vendor maintenance", "--as", "carol",
                       env=env)
            assert f"{slug} is PAUSED (development)" in out
            status, version, body = get(port, slug)
            assert (status, version) == (503, "")  # the proxy's answer, not the service's
            assert "No server is available" in body
            assert await _monitor_status(client, slug) == WorkflowExecutionStatus.CANCELED
            assert live_containers(slug)  # the instance keeps running while paused
            again = await _ccb("pause", slug, env=env, ok=False)
            assert f"{slug} is PAUSED: it cannot be paused" in again

            assert f"{slug} is ACTIVE (development)" in await _ccb("resume", slug, env=env)
            assert get(port, slug)[:2] == (200, "1.0.0")
            assert await _monitor_status(client, slug) == WorkflowExecutionStatus.RUNNING

            proxy = proxy_of("development")
            slot = switch.ensure_backend(proxy, slug).backend
            out = await _ccb("deprecate", slug, "--reason", "replaced by v2", env=env)
            assert f"{slug} is DEPRECATED (development)" in out and "proxy slot freed" in out
            assert live_containers(slug) == {}
            assert slug not in switch._read_map_file(proxy)  # no route
            other = f"next-{uuid.uuid4().hex[:6]}"
            assert switch.ensure_backend(proxy, other).backend == slot  # the slot is reusable
            switch.release_backend(proxy, other)
            assert await _monitor_status(client, slug) == WorkflowExecutionStatus.CANCELED
            await _replays(client, lifecycle_workflow_id(slug))

        engine = docker_client()
        assert engine is not None
        assert registry.get(slug).state == IntegrationState.DEPRECATED
        assert live_deployment(registry, slug, "development") is None
        assert [v.version for v in registry.versions(slug)] == ["1.0.0"]  # history kept
        moves = [(t.from_state, t.to_state, t.actor, t.reason)
                 for t in registry.transitions(slug)][-3:]
        user = moves[1][2]
        assert moves == [("ACTIVE", "PAUSED", "carol", "vendor maintenance"),
                         ("PAUSED", "ACTIVE", user, "resumed with cli"),
                         ("ACTIVE", "DEPRECATED", user, "replaced by v2")]
        actions = [e.payload["action"] for e in registry.events(slug)
                   if e.type == EventType.LIFECYCLE_CHANGED]
        assert actions == ["pause", "resume", "deprecate"]
