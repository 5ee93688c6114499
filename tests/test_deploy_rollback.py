"""Automatic rollbacks (a test image with a fault switch): a green that never becomes healthy,
one that fails its smoke checks and one whose error rate rises during the shift each roll back
by themselves, while blue serves on under load without a failed request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.deploy.traffic_steps import proxy_of
from activities.traffic import switch
from infra.settings import get_settings
from models.deploy import DeployInput
from models.deployment import Color, DeploymentStatus
from models.events import EventType
from models.traffic import ServerAdminState
from registry.deployments import deployments, live_deployment
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
from tests.test_deploy_workflow import deploy, first_version, slug_for
from tests.traffic_helpers import LoadClient

FAULTS = [
    ("1.1.0", "never_healthy", "never became healthy"),
    ("1.2.0", "smoke_fail", "smoke checks of 1.2.0 failed: operation 'echo'"),
    ("1.3.0", "errors", "answered"),
]


@pytest.fixture
def reg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    with deploy_environment(monkeypatch):
        yield open_registry(get_settings().registry_url)


async def test_faulty_greens_roll_back_by_themselves_while_blue_serves(
        client: Client, task_queue: str, reg: Registry, tmp_path: Path) -> None:
    slug = slug_for("faults")
    register(reg, slug)
    proxy = proxy_of("development")
    records = tmp_path / "records.jsonl"
    reasons: dict[str, str] = {}
    async with deploy_worker(client, task_queue):
        await deploy(client, task_queue, first_version(slug))
        load = LoadClient(["--port", str(proxy.port), "--host-header", slug, "--rate", "150",
                           "--connections", "16", "--duration", "120", "--initial", "1.0.0",
                           "--records", str(records)])
        try:
            for version, mode, _ in FAULTS:
                with pytest.raises(WorkflowFailureError) as failure:
                    await deploy(client, task_queue, DeployInput(
                        slug=slug, version=version, start_monitor=False,
                        files=faulty_files(slug, version, mode=mode, after_requests=5),
                        tuning=quick_tuning(health_timeout_s=6, min_requests_for_rate=10)))
                reasons[version] = str(failure.value.cause)
                assert set(live_containers(slug)) == {"blue"}  # green removed
                routes = {r.color: r for r in switch.routes(proxy, slug)}
                assert routes[Color.GREEN].state == ServerAdminState.MAINT
                assert (routes[Color.BLUE].state, routes[Color.BLUE].weight) == (
                    ServerAdminState.READY, 100)
            summary = stop_load(load)
        finally:
            load.kill()

    for version, _, reason in FAULTS:
        assert "rolled back" in reasons[version] and reason in reasons[version], reasons
    assert "error" in reasons["1.3.0"] and "requests" in reasons["1.3.0"]
    served = [json.loads(line) for line in records.read_text().splitlines()]
    blue = [r for r in served if r["kind"] == "proxy" and r["version"] == "1.0.0"]
    bad = [r for r in served if r["kind"] == "proxy" and (r["status"] != 200 or r["error"])]
    print(f"\nblue served {len(blue)} requests; {len(bad)} failed, all from the faulty "
          f"1.3.0: {sorted({r['version'] for r in bad})}; dropped {summary['dropped']}")
    assert summary["dropped"] == 0
    assert all(r["version"] == "1.3.0" and r["status"] == 500 for r in bad)
    assert len(blue) > 1000
    live = live_deployment(reg, slug, "development")
    assert live is not None and live.version == "1.0.0"
    statuses = {d.version: d.status for d in deployments(reg, slug)}
    assert statuses == {"1.0.0": DeploymentStatus.LIVE, "1.1.0": DeploymentStatus.ROLLED_BACK,
                        "1.2.0": DeploymentStatus.ROLLED_BACK,
                        "1.3.0": DeploymentStatus.ROLLED_BACK}
    errors = [e for e in reg.events(slug) if e.type == EventType.ERROR_OCCURRED]
    assert len(errors) == 3
    assert reg.get(slug).state == "ACTIVE"  # blue still serves: the integration stays active
