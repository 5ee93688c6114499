"""Workers split by capability: the control queue (workflows, GitHub, registry, models), the
sandbox queue (checks and tests of generated code) and a deploy host's queue (builds,
containers, traffic), served by different processes, and a request completes across them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.registry import DEPLOY_HOST_ACTIVITIES
from models.deploy import DeployInput, DeployResult, deploy_workflow_id
from models.states import IntegrationState
from registry.store import Registry, open_registry
from rules.task_queues import Capability, parse_capabilities, queue_for
from tests.conftest import REPO_ROOT
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    GITHUB_ENV,
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from tests.deploy_helpers import (
    ALL_DEPLOY_ACTIVITIES,
    DEPLOY_WORKFLOWS,
    deploy_environment,
    faulty_files,
    quick_tuning,
    register,
)
from tests.figures import figure
from tests.test_creation_crash import _fail_lost_attempt, _stop, _wait_for_marker
from worker import serving
from workflows.deploy import HOST_STEPS

SANDBOX_STEPS = {"check_generated_code", "run_generated_tests"}


def _worker(env: dict[str, str], log: Path, serve: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "worker", "--serve", serve], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


async def _queues_and_workers(handle: WorkflowHandle) -> dict[str, set[tuple[str, str]]]:
    """Activity type -> the (task queue, worker identity) pairs that ran it."""
    scheduled: dict[int, tuple[str, str]] = {}
    ran: dict[str, set[tuple[str, str]]] = {}
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (attrs.activity_type.name, attrs.task_queue.name)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            name, queue = scheduled[attrs.scheduled_event_id]
            ran.setdefault(name, set()).add((queue, attrs.identity.split("@")[0]))
    return ran


def test_capabilities_parse_and_name_their_queues() -> None:
    assert parse_capabilities("") == parse_capabilities("all") == tuple(Capability)
    assert parse_capabilities("deploy, control") == (Capability.CONTROL, Capability.DEPLOY)
    with pytest.raises(ValueError, match="unknown capability 'gpu': serve any of control"):
        parse_capabilities("control,gpu")
    assert queue_for("ccb", Capability.CONTROL) == "ccb"
    assert queue_for("ccb", Capability.SANDBOX) == "ccb-sandbox"
    assert queue_for("ccb", Capability.DEPLOY) == "ccb-deploy"
    assert queue_for("ccb", Capability.DEPLOY, "edge-1") == "ccb-deploy-edge-1"
    # The deploy workflow sends exactly the host's activities to the host (probes come from
    # the monitor, re-verification from its schedule's workflow and promotions, the proxy
    # and instance steps of pause, resume and deprecate from the lifecycle workflow, a sync
    # job's call from its scheduled run).
    from activities.lifecycle_steps import LIFECYCLE_HOST_ACTIVITIES
    from activities.sync_schedules import SYNC_HOST_ACTIVITIES

    others = {"probe_live_version", "reverify_live",
              *(fn.__name__ for fn in (*LIFECYCLE_HOST_ACTIVITIES, *SYNC_HOST_ACTIVITIES))}
    assert {fn.__name__ for fn in HOST_STEPS} | others == {
        fn.__name__ for fn in DEPLOY_HOST_ACTIVITIES}


def test_a_bad_serve_word_is_one_line_naming_it() -> None:
    done = subprocess.run([sys.executable, "-m", "worker", "--serve", "control,gpu"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown capability 'gpu': serve any of control, sandbox, deploy" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_request_completes_across_two_workers_and_survives_the_sandbox_one_dying(
    client: Client, task_queue: str, world: World, worker_env: dict[str, str],
    data_dir: Path, registry: Registry,
) -> None:
    env = {k: v for k, v in worker_env.items() if k not in GITHUB_ENV}
    env.update(CCB_GITHUB_API_URL=world.forge.api_url, CCB_GITHUB_REPO=world.repo,
               CCB_FEATURE_FLAGS=json.dumps({"development": {"auto_deployment": False}}))
    point = "run_generated_tests.start"
    marker = data_dir / "faults" / f"{point}.reached"
    control_log, sandbox_log = data_dir / "control.log", data_dir / "sandbox.log"
    control = _worker(env, control_log, "control")
    sandbox = _worker({**env, "CCB_FAULT_PAUSE": f"{point}=120"}, sandbox_log,
                      "sandbox,deploy")
    restarted: subprocess.Popen[bytes] | None = None
    issue = world.new_issue()
    try:
        handle = await start_creation(client, world, issue, task_queue)
        # The sandbox worker dies inside the test run; the control worker goes on waiting.
        await _wait_for_marker(marker, sandbox, sandbox_log)
        os.kill(sandbox.pid, signal.SIGKILL)
        sandbox.wait(timeout=10)
        restarted = _worker(env, sandbox_log, "sandbox,deploy")
        await _fail_lost_attempt(client, handle, "run_generated_tests")
        progress = await wait_for_approval_wait(handle)
        assert sorted(world.branches()) == ["integration/acme-weather", "main"]
        assert [p.number for p in world.pulls("open")] == [progress.pr_number]
        assert (await approve(handle)).accepted
        result = await asyncio.wait_for(handle.result(), timeout=180)
    finally:
        for proc in (control, sandbox, restarted):
            if proc is not None:
                _stop(proc)
    assert control.returncode == 0, control_log.read_text()[-3000:]

    assert result.state == IntegrationState.APPROVED and result.merged_sha
    [pull] = world.pulls()
    assert pull.merged and pull.number == result.pr_number
    assert len(world.bot_comments(issue)) == 2  # the progress comment and the ending
    assert marker.read_text().count("\n") == 1  # the lost attempt was not run twice
    ran = await _queues_and_workers(handle)
    assert restarted is not None
    sandbox_pids = {str(sandbox.pid), str(restarted.pid)}
    for name, where in ran.items():
        queues = {queue for queue, _ in where}
        pids = {pid for _, pid in where}
        if name in SANDBOX_STEPS:
            assert queues == {f"{task_queue}-sandbox"} and pids <= sandbox_pids, (name, where)
        else:
            assert queues == {task_queue} and pids == {str(control.pid)}, (name, where)
    assert {pid for _, pid in ran["run_generated_tests"]} == {str(restarted.pid)}
    figure(f"control worker {control.pid} ran {len(ran) - len(SANDBOX_STEPS)} activity "
          f"types; sandbox workers {sorted(sandbox_pids)} ran {sorted(SANDBOX_STEPS)}")


@pytest.mark.usefixtures("client")
async def test_an_environment_deploys_on_the_host_it_names(
        client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with deploy_environment(monkeypatch):
        monkeypatch.setenv("CCB_DEPLOY_HOSTS", json.dumps({"development": "edge-1"}))
        from infra.settings import get_settings

        get_settings.cache_clear()
        reg = open_registry(get_settings().registry_url)
        slug = f"on-edge-{uuid.uuid4().hex[:6]}"
        register(reg, slug)
        inp = DeployInput(slug=slug, version="1.0.0", files=faulty_files(slug, "1.0.0"),
                          tuning=quick_tuning(), start_monitor=False)
        with ThreadPoolExecutor(max_workers=16) as executor:
            # This host serves the control queue and the default deploy queue only.
            here = serving(client, task_queue, executor, workflows=DEPLOY_WORKFLOWS,
                           activities=ALL_DEPLOY_ACTIVITIES)
            edge = serving(client, task_queue, executor, workflows=[],
                           activities=ALL_DEPLOY_ACTIVITIES,
                           capabilities=[Capability.DEPLOY], deploy_host="edge-1")
            async with here:
                handle = await client.start_workflow(
                    "DeployWorkflow", inp, task_queue=task_queue, result_type=DeployResult,
                    id=deploy_workflow_id(inp.environment, slug, inp.version))
                waiting = await _waits_on(client, f"{task_queue}-deploy-edge-1")
                assert waiting, "the build did not wait for the edge-1 host"
                async with edge:
                    result = await asyncio.wait_for(handle.result(), timeout=240)
        assert result.status == "live"
        ran = await _queues_and_workers(handle)
        host = {fn.__name__ for fn in HOST_STEPS}
        for name, where in ran.items():
            queues = {queue for queue, _ in where}
            expected = f"{task_queue}-deploy-edge-1" if name in host else task_queue
            assert queues == {expected}, (name, where)
        assert {"build_version", "start_instance", "shift_traffic"} <= set(ran)


async def _waits_on(client: Client, queue: str, timeout: float = 60) -> bool:
    """True once an activity task sits in ``queue`` with no poller to take it."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, report_stats=True))
        if described.stats.approximate_backlog_count > 0 and not described.pollers:
            return True
        await asyncio.sleep(0.5)
    return False
