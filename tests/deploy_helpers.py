"""Helpers of the deployment tests and benchmark: the fault-switch integration's files, a
registered integration with its gates, a private environment (short data dir, own proxy
port, cleanup of containers and processes), and a worker with the deployment's workflows.

    python -m tests.deploy_helpers worker   # a worker subprocess for the crash tests
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.client import Client

from activities.deploy import containers, local_processes
from activities.deploy.incidents import INCIDENT_ACTIVITIES
from activities.deploy.monitoring import MONITOR_ACTIVITIES
from activities.deploy.naming import LABEL_INSTALLATION, installation
from activities.deploy.steps import DEPLOY_ACTIVITIES
from activities.deploy.traffic_steps import proxy_of
from activities.github_issues import upsert_bot_comment
from activities.lifecycle import LIFECYCLE_ACTIVITIES
from activities.sandbox.docker_runner import docker_client
from activities.sync_schedules import SYNC_SCHEDULE_ACTIVITIES
from activities.traffic import haproxy_process
from infra.settings import get_settings
from models.deploy import DeployTuning
from models.deployment import Color
from models.events import EventType
from models.states import IntegrationState
from registry.store import Registry
from worker import Workers, serving
from workflows.deploy import DeployWorkflow
from workflows.monitor import HealthMonitorWorkflow

REPO_ROOT = Path(__file__).resolve().parent.parent
FAULTY = REPO_ROOT / "tests" / "images" / "faulty"
DEPLOY_WORKFLOWS: list[type] = [DeployWorkflow, HealthMonitorWorkflow]
ALL_DEPLOY_ACTIVITIES: list[Any] = [*DEPLOY_ACTIVITIES, *MONITOR_ACTIVITIES,
                                    *INCIDENT_ACTIVITIES, *LIFECYCLE_ACTIVITIES,
                                    *SYNC_SCHEDULE_ACTIVITIES,  # a sync job's schedule
                                    upsert_bot_comment]
S = IntegrationState
WORKFLOW_TO_APPROVED = [S.ANALYZING, S.GENERATING, S.TESTING, S.REVIEWING, S.APPROVED]


def faulty_files(slug: str, version: str, mode: str = "healthy", after_requests: int = 0,
                 interval_s: float = 1.0,
                 live_checks: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """The fault-switch integration as ``integrations/<slug>/...`` files (with
    ``live_checks`` in its manifest when given)."""
    root = f"integrations/{slug}/"
    manifest = {"name": f"Faulty {slug}", "slug": slug, "version": version,
                "description": "deployment test service with a fault switch",
                "capabilities": ["echo"],
                "health_check": {"path": "/health/ready", "interval_seconds": interval_s,
                                 "timeout_seconds": 2.0}}
    if live_checks is not None:
        manifest["live_checks"] = live_checks
    return {
        root + "Dockerfile": (FAULTY / "Dockerfile").read_text(),
        root + "faulty_app.py": (FAULTY / "faulty_app.py").read_text(),
        root + "manifest.json": json.dumps(manifest, indent=2) + "\n",
        root + "fault.json": json.dumps({"mode": mode, "after_requests": after_requests}),
    }


def register(registry: Registry, slug: str, gates: tuple[str, ...] = ("tests", "review"),
             state: IntegrationState = S.APPROVED) -> None:
    """An integration in ``state`` with the audit events of the named gates passed."""
    registry.record_request(slug=slug, name=slug, integration_type="api-client", request={},
                            repo="demo/integrations", issue_number=None, actor="tester",
                            workflow_id=f"test-{slug}", key=f"test-{slug}/requested")
    for step in WORKFLOW_TO_APPROVED[:WORKFLOW_TO_APPROVED.index(state) + 1]:
        registry.transition(slug, step, actor="tester", reason="test", workflow_id="test",
                            key=f"test-{slug}/{step}")
    if "tests" in gates:
        registry.add_event(f"test-{slug}/tests", EventType.TESTS_COMPLETED, slug=slug,
                           payload={"passed": True, "tests": 3})
    if "review" in gates:
        registry.add_event(f"test-{slug}/review", EventType.REVIEW_COMPLETED, slug=slug,
                           payload={"approved_by": "alice", "source": "test"})


QUICK_TUNING: dict[str, Any] = {"steps": [10, 50, 100], "step_pause_s": 1.0, "window_s": 2.0,
                                "drain_timeout_s": 10.0, "health_timeout_s": 30.0,
                                "probe_interval_s": 0.25, "memory_mb": 128, "cpus": 0.5}


def quick_tuning(**changes: Any) -> DeployTuning:
    """Steps and windows short enough for tests (the defaults follow kamal/Argo: minutes)."""
    return DeployTuning(**{**QUICK_TUNING, **changes})


def quick_environment_tuning() -> str:
    """``CCB_DEPLOY_TUNING`` giving development the quick tuning (workflows that deploy as a
    child, e.g. creation and update, use the environment's)."""
    return json.dumps({"development": QUICK_TUNING})


def stop_load(load: Any) -> dict[str, Any]:
    """End a ``tests.traffic_helpers.LoadClient`` run now; its summary."""
    assert load.process.stdin is not None
    load.process.stdin.write("stop\n")
    load.process.stdin.flush()
    return dict(load.result(timeout_s=60))


def free_port() -> int:
    from tests.traffic_helpers import free_port as pick

    return pick()


@contextlib.contextmanager
def deploy_environment(monkeypatch: Any) -> Iterator[Path]:
    """A short private data dir (unix socket paths are short), each environment's proxy on
    a free port, no promotion past development; afterwards the proxies stopped and every
    container/process of this installation removed."""
    data = Path(tempfile.mkdtemp(prefix="ccb-dp-", dir="/tmp"))
    monkeypatch.setenv("CCB_DATA_DIR", str(data))
    monkeypatch.setenv("CCB_PROXY_PORTS", json.dumps({"development": free_port(),
                                                       "staging": free_port(),
                                                       "production": free_port()}))
    # Deployments stay in development unless a test promotes (it sets the order itself).
    monkeypatch.setenv("CCB_ENVIRONMENTS", "development")
    monkeypatch.delenv("CCB_DATABASE_URL", raising=False)
    monkeypatch.delenv("CCB_FAULT_PAUSE", raising=False)
    get_settings.cache_clear()
    try:
        yield data
    finally:
        cleanup(data)
        get_settings.cache_clear()


def cleanup(data: Path) -> None:
    """Stop the proxies, remove this installation's containers and local processes."""
    for env in ("development", "staging", "production"):
        with contextlib.suppress(Exception):
            haproxy_process.stop(proxy_of(env), graceful=False)
    client = docker_client()
    if client is not None:
        for container in containers.containers_of(client, {LABEL_INSTALLATION: installation()}):
            with contextlib.suppress(Exception):
                container.remove(force=True)
    run_dir = data / "deploy" / "run"
    for state in run_dir.glob("*.json") if run_dir.exists() else []:
        local_processes.stop(state.stem)
    shutil.rmtree(data, ignore_errors=True)


def live_containers(slug: str) -> dict[str, str]:
    """Colour -> container id of ``slug``'s containers of this installation."""
    client = docker_client()
    assert client is not None
    found = containers.containers_of(client, {LABEL_INSTALLATION: installation(),
                                              "ccb.deploy.slug": slug})
    return {c.labels["ccb.deploy.color"]: c.id or "" for c in found}


def other(color: Color) -> Color:
    return Color.GREEN if color == Color.BLUE else Color.BLUE


@contextlib.asynccontextmanager
async def deploy_worker(client: Client, task_queue: str) -> AsyncIterator[Workers]:
    """A worker with the deployment's workflows and activities, in this process."""
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with serving(client, task_queue, executor, workflows=DEPLOY_WORKFLOWS,
                           activities=ALL_DEPLOY_ACTIVITIES) as workers:
            yield workers


def start_worker_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m tests.deploy_helpers worker`` with ``env`` (the crash tests kill it)."""
    return subprocess.Popen([sys.executable, "-m", "tests.deploy_helpers", "worker"],
                            cwd=REPO_ROOT, env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT)


async def _run_worker() -> None:
    from infra.temporal import connect

    settings = get_settings()
    client = await connect(settings, attempts=20)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with deploy_worker(client, settings.task_queue):
        print("worker ready", flush=True)
        await stop.wait()


def main() -> None:
    if sys.argv[1:] != ["worker"]:
        sys.exit("usage: python -m tests.deploy_helpers worker")
    asyncio.run(_run_worker())
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
