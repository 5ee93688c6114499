"""Health monitoring: a container killed from outside is detected within two check intervals,
alerted once and rolled back to the last good version; a restarted proxy gets its routes back
from the registry; continue-as-new keeps the monitor's history bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from activities.deploy.traffic_steps import proxy_of
from activities.sandbox.docker_runner import docker_client
from activities.traffic import haproxy_process
from infra.settings import get_settings
from models.deploy import DeployInput, MonitorInput, monitor_workflow_id
from models.deployment import Color
from models.events import EventType
from registry.deployments import live_deployment
from registry.store import Registry, open_registry
from tests.deploy_helpers import (
    deploy_environment,
    deploy_worker,
    faulty_files,
    live_containers,
    quick_tuning,
    register,
)
from tests.test_deploy_workflow import deploy, first_version, slug_for
from tests.traffic_helpers import get

POLLS = 150  # bounded waits: at most this many polls of 0.2 s


@pytest.fixture
def reg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    with deploy_environment(monkeypatch):
        yield open_registry(get_settings().registry_url)


async def poll(check: object) -> None:
    for _ in range(POLLS):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{check} did not become true")


async def test_killed_container_is_alerted_once_and_rolled_back_and_proxy_routes_restored(
        client: Client, task_queue: str, reg: Registry) -> None:
    slug = slug_for("monitored")
    register(reg, slug)
    proxy = proxy_of("development")
    async with deploy_worker(client, task_queue):
        await deploy(client, task_queue, first_version(slug))
        await deploy(client, task_queue, DeployInput(
            slug=slug, version="1.1.0", files=faulty_files(slug, "1.1.0"),
            tuning=quick_tuning(), start_monitor=False))
        handle = await client.start_workflow(
            "HealthMonitorWorkflow",
            MonitorInput(slug=slug, interval_s=1.0, failure_threshold=2, checks_per_run=5),
            id=monitor_workflow_id("development", slug), task_queue=task_queue,
            result_type=MonitorInput)
        try:
            await poll(lambda: haproxy_process.is_running(proxy))
            await asyncio.sleep(2.5)  # a few healthy checks, across a continue-as-new
            before = await handle.query("state", result_type=MonitorInput)
            assert before.alerts == 0 and before.checks_done >= 2
            docker = docker_client()
            assert docker is not None
            docker.containers.get(live_containers(slug)["green"]).kill()

            def rolled_back() -> bool:
                live = live_deployment(reg, slug, "development")
                return live is not None and live.version == "1.0.0"
            await poll(rolled_back)
            await asyncio.sleep(3)  # more checks: no second alert
            alerts = [e for e in reg.events(slug) if e.type == EventType.ERROR_OCCURRED]
            assert len(alerts) == 1, alerts
            alert_check = int(alerts[0].id.rsplit("alert-", 1)[1])
            assert alert_check - before.checks_done <= 3  # <= 2 intervals after the kill
            assert "gone" in alerts[0].payload["reason"] or "not running" in alerts[0].payload[
                "reason"] or "answer" in alerts[0].payload["reason"]
            assert get(proxy.port, slug)[:2] == (200, "1.0.0")
            assert set(live_containers(slug)) == {"blue"}
            state = await handle.query("state", result_type=MonitorInput)
            assert state.alerts == 1 and not state.alerted  # healthy again after the rollback
            desc = await handle.describe()
            assert desc.run_id != handle.result_run_id  # continue-as-new happened

            # The proxy restarted during steady state gets its routes back from the registry.
            haproxy_process.kill(proxy)
            await poll(lambda: haproxy_process.is_running(proxy))
            await poll(lambda: get(proxy.port, slug)[:2] == (200, "1.0.0"))
            live = live_deployment(reg, slug, "development")
            assert live is not None and live.color == Color.BLUE
            alerts = [e for e in reg.events(slug) if e.type == EventType.ERROR_OCCURRED]
            assert len(alerts) == 1
        finally:
            await handle.terminate("test over")
