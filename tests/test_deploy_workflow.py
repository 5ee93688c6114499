"""The blue-green deployment workflow with real containers behind the project's HAProxy:
a first deployment, a switch to a new version and a rollback, each done by the workflow under
steady load from a separate process, without a failed or dropped request; gates refuse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.deploy.traffic_steps import proxy_of, routes_or_none
from activities.traffic import switch
from infra.settings import get_settings
from models.deploy import DeployInput, DeployKind, DeployResult, deploy_workflow_id
from models.deployment import Color, DeploymentStatus
from models.traffic import ServerAdminState
from registry.deployments import deployments, live_deployment, previous_good
from registry.store import Registry, open_registry
from tests.deploy_helpers import (
    deploy_environment,
    deploy_worker,
    faulty_files,
    live_containers,
    quick_tuning,
    register,
    stop_load,
)
from tests.traffic_helpers import LoadClient, get


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with deploy_environment(monkeypatch) as data:
        yield data


@pytest.fixture
def reg(env: Path) -> Registry:
    return open_registry(get_settings().registry_url)


def slug_for(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


async def deploy(client: Client, task_queue: str, inp: DeployInput,
                 suffix: str = "") -> DeployResult:
    return await client.execute_workflow(
        "DeployWorkflow", inp,
        id=deploy_workflow_id(inp.environment, inp.slug, inp.version) + suffix,
        task_queue=task_queue, result_type=DeployResult)


def first_version(slug: str, version: str = "1.0.0", **tuning: object) -> DeployInput:
    return DeployInput(slug=slug, version=version, files=faulty_files(slug, version),
                       tuning=quick_tuning(**tuning), start_monitor=False)


async def test_switch_and_rollback_by_the_workflow_lose_no_request_under_load(
        client: Client, task_queue: str, reg: Registry) -> None:
    slug = slug_for("zero-loss")
    register(reg, slug)
    proxy = proxy_of("development")
    async with deploy_worker(client, task_queue):
        first = await deploy(client, task_queue, first_version(slug))
        assert (first.status, first.color, first.runtime) == ("live", Color.BLUE, "docker")
        assert first.image.startswith(f"{slug}:1.0.0-")
        assert get(proxy.port, slug)[:2] == (200, "1.0.0")
        assert reg.get(slug).state == "ACTIVE"

        load = LoadClient(["--port", str(proxy.port), "--host-header", slug, "--rate", "200",
                           "--connections", "16", "--duration", "120", "--initial", "1.0.0"])
        try:
            load.send("slow 4 2")  # 2 s requests in flight on blue when the switch starts
            load.send("mark switch 1.0.0 1.1.0")
            second = await deploy(client, task_queue, DeployInput(
                slug=slug, version="1.1.0", files=faulty_files(slug, "1.1.0"),
                tuning=quick_tuning(), start_monitor=False))
            assert (second.status, second.color, second.previous_version) == (
                "live", Color.GREEN, "1.0.0")
            assert set(live_containers(slug)) == {"green"}  # blue drained and removed

            back = previous_good(reg, slug, "development")
            assert back is not None and back.version == "1.0.0" and back.image == first.image
            load.send("slow 4 2")
            load.send("mark rollback 1.1.0 1.0.0")
            rolled = await deploy(client, task_queue, DeployInput(
                slug=slug, version="1.0.0", kind=DeployKind.ROLLBACK, image=back.image,
                tuning=quick_tuning(), start_monitor=False), suffix="-rollback")
            assert (rolled.status, rolled.color, rolled.previous_version) == (
                "live", Color.BLUE, "1.1.0")
            summary = stop_load(load)
        finally:
            load.kill()

    print(f"\nload across switch and rollback: {summary['requests']} requests, "
          f"{summary['req_per_s']} req/s, failed {summary['failed']}, dropped "
          f"{summary['dropped']}, flaps {summary['flaps']}, versions {summary['versions']}, "
          f"slow {summary['slow_completed']}/{summary['slow_started']}")
    assert summary["failed"] == 0 and summary["dropped"] == 0, summary["errors_sample"]
    assert summary["flaps"] == 0
    assert summary["slow_completed"] == summary["slow_started"] == 8
    assert summary["versions"].get("1.1.0", 0) > 0 and summary["versions"].get("1.0.0", 0) > 0
    assert set(live_containers(slug)) == {"blue"}
    routes = {r.color: r for r in switch.routes(proxy, slug)}
    assert routes[Color.GREEN].state == ServerAdminState.MAINT
    assert routes[Color.BLUE].weight == 100
    rows = [(d.version, d.color, d.status) for d in deployments(reg, slug)]
    assert rows == [("1.0.0", Color.BLUE, DeploymentStatus.RETIRED),
                    ("1.1.0", Color.GREEN, DeploymentStatus.RETIRED),
                    ("1.0.0", Color.BLUE, DeploymentStatus.LIVE)]


async def test_a_missing_gate_refuses_the_deployment_with_the_reason(
        client: Client, task_queue: str, reg: Registry) -> None:
    slug = slug_for("no-review")
    register(reg, slug, gates=("tests",))
    async with deploy_worker(client, task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await deploy(client, task_queue, first_version(slug))
    message = str(failure.value.cause)
    assert "gate(s) not passed: approval obtained" in message
    assert live_deployment(reg, slug, "development") is None
    assert live_containers(slug) == {}
    assert reg.get(slug).state == "APPROVED"  # nothing happened


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="a deployment needs the integration's files"):
        DeployInput(slug="demo", version="1.0.0")
    with pytest.raises(ValueError, match="files must lie under integrations/demo/"):
        DeployInput(slug="demo", version="1.0.0", files={"etc/passwd": "x"})
    with pytest.raises(ValueError, match="steps must rise strictly to 100"):
        quick_tuning(steps=[50, 10])


async def test_without_docker_the_same_workflow_runs_local_processes_and_says_so(
        client: Client, task_queue: str, reg: Registry) -> None:
    slug = slug_for("local")
    register(reg, slug)
    proxy = proxy_of("development")
    async with deploy_worker(client, task_queue):
        first = await deploy(client, task_queue, first_version(slug).model_copy(
            update={"runtime": "local"}))
        second = await deploy(client, task_queue, DeployInput(
            slug=slug, version="1.1.0", files=faulty_files(slug, "1.1.0"), runtime="local",
            tuning=quick_tuning(), start_monitor=False))
    assert (first.runtime, second.runtime) == ("local", "local")
    assert "without container isolation" in second.isolation_note
    assert second.image.startswith(str(get_settings().data_dir.resolve()))  # kept source+venv
    assert get(proxy.port, slug)[:2] == (200, "1.1.0")
    assert live_containers(slug) == {}
    run_dir = get_settings().data_dir / "deploy" / "run"
    assert [p.stem.rsplit("-", 1)[1] for p in run_dir.glob("*.json")] == ["green"]
    completed = [e for e in reg.events(slug) if e.type == "deployment.completed"]
    assert "without container isolation" in completed[-1].payload["isolation"]


def test_flags_per_environment_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.flags import UnknownFlagError, flags_for

    assert flags_for("development").auto_deployment and flags_for("staging").auto_deployment
    production = flags_for("production")
    assert not production.auto_deployment and production.traffic_approval
    monkeypatch.setenv("CCB_FEATURE_FLAGS", '{"production": {"auto_deployment": true}}')
    get_settings.cache_clear()
    try:
        assert flags_for("production").auto_deployment
        monkeypatch.setenv("CCB_FEATURE_FLAGS", '{"staging": {"auto_deploy": true}}')
        get_settings.cache_clear()
        with pytest.raises(UnknownFlagError, match="unknown flags for staging: auto_deploy"):
            flags_for("staging")
    finally:
        get_settings.cache_clear()


async def test_in_production_traffic_moves_only_after_approval(
        client: Client, task_queue: str, reg: Registry) -> None:
    import asyncio

    from models.deploy import DeployProgress

    slug = slug_for("prod")
    register(reg, slug)
    proxy = proxy_of("production")
    async with deploy_worker(client, task_queue):
        handle = await client.start_workflow(
            "DeployWorkflow", first_version(slug).model_copy(update={"environment": "production"}),
            id=deploy_workflow_id("production", slug, "1.0.0"), task_queue=task_queue,
            result_type=DeployResult)
        for _ in range(300):
            progress = await handle.query("status", result_type=DeployProgress)
            if progress.waiting_for_approval:
                break
            await asyncio.sleep(0.1)
        assert progress.waiting_for_approval and progress.percent == 0
        routes = routes_or_none(proxy, slug) or {}
        assert all(r.state == ServerAdminState.MAINT for r in routes.values())  # no traffic
        assert live_deployment(reg, slug, "production") is None
        answer = await handle.execute_update("approve_traffic", "carol", result_type=str)
        assert answer == "traffic approved by carol"
        result = await handle.result()
    assert result.status == "live" and get(proxy.port, slug)[:2] == (200, "1.0.0")
