"""The worker SIGKILLed mid-build, mid-shift and mid-window: after a restart the deployment
finishes, and at no time is there more than one instance of a colour (one green) or a route
to a container that is gone. A watcher samples both the whole time."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from activities.deploy import containers
from activities.deploy.naming import LABEL_INSTALLATION, installation
from activities.deploy.traffic_steps import proxy_of, routes_or_none
from activities.sandbox.docker_runner import docker_client
from infra.settings import get_settings
from models.deploy import DeployInput, DeployResult, deploy_workflow_id
from models.traffic import ServerAdminState
from registry.deployments import live_deployment
from registry.store import Registry, open_registry
from tests.deploy_helpers import (
    deploy_environment,
    deploy_worker,
    faulty_files,
    quick_tuning,
    register,
    start_worker_process,
)
from tests.test_deploy_workflow import deploy, first_version, slug_for
from tests.traffic_helpers import get

MARKER_POLLS = 300  # at most 300 x 0.1 s for the paused step to be reached


@pytest.fixture
def data(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with deploy_environment(monkeypatch) as path:
        yield path


def violations(slug: str) -> list[str]:
    """More than one instance of a colour, or a colour routed to no running container."""
    client = docker_client()
    assert client is not None
    found = containers.containers_of(client, {LABEL_INSTALLATION: installation(),
                                              "ccb.deploy.slug": slug})
    by_color: dict[str, list[int]] = {}
    for container in found:
        running = container.status == "running"
        by_color.setdefault(container.labels["ccb.deploy.color"], []).append(
            containers.host_port(container) if running else -1)
    problems = [f"{len(ports)} {color} containers" for color, ports in by_color.items()
                if len(ports) > 1]
    routes = routes_or_none(proxy_of("development"), slug) or {}
    for color, route in routes.items():
        if route.state != ServerAdminState.MAINT and route.port not in by_color.get(color, []):
            # re-read: a route and its container change in separate steps
            fresh = (routes_or_none(proxy_of("development"), slug) or {}).get(color)
            if fresh is not None and fresh.state != ServerAdminState.MAINT:
                problems.append(f"{color} routed to :{route.port}, no such container")
    return problems


async def watch(slug: str, stop: asyncio.Event, seen: list[str]) -> int:
    samples = 0
    while not stop.is_set():
        seen.extend(await asyncio.to_thread(violations, slug))
        samples += 1
        await asyncio.sleep(0.1)
    return samples


@pytest.mark.parametrize("point", ["deploy.build", "deploy.shift", "deploy.window"])
async def test_worker_killed_mid_step_the_deployment_finishes_without_stray_instances(
        client: Client, task_queue: str, temporal_address: str, data: Path,
        point: str) -> None:
    registry: Registry = open_registry(get_settings().registry_url)
    slug = slug_for("crash")
    register(registry, slug)
    async with deploy_worker(client, task_queue):
        await deploy(client, task_queue, first_version(slug))

    env = {**os.environ, "CCB_TEMPORAL_ADDRESS": temporal_address, "CCB_TASK_QUEUE": task_queue,
           "CCB_FAULT_PAUSE": f"{point}=60", "CCB_LOG_FORMAT": "json"}
    marker = data / "faults" / f"{point}.reached"
    stop, seen = asyncio.Event(), []
    watcher = asyncio.create_task(watch(slug, stop, seen))
    first = start_worker_process(env, data / "worker-1.log")
    try:
        handle = await client.start_workflow(
            "DeployWorkflow", DeployInput(slug=slug, version="2.0.0", start_monitor=False,
                                          files=faulty_files(slug, "2.0.0"),
                                          tuning=quick_tuning()),
            id=deploy_workflow_id("development", slug, "2.0.0"), task_queue=task_queue,
            result_type=DeployResult)
        for _ in range(MARKER_POLLS):
            if marker.exists():
                break
            await asyncio.sleep(0.1)
        assert marker.exists(), (data / "worker-1.log").read_text()[-2000:]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        async with deploy_worker(client, task_queue):  # the restarted worker, unpaused
            result = await handle.result()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
        stop.set()
        samples = await watcher
    assert result.status == "live" and result.version == "2.0.0"
    assert marker.read_text().count("\n") == 1  # the retried step ran on the new worker
    live = live_deployment(registry, slug, "development")
    assert live is not None and live.version == "2.0.0"
    assert get(proxy_of("development").port, slug)[:2] == (200, "2.0.0")
    assert samples > 10 and seen == [], seen
    assert violations(slug) == []
