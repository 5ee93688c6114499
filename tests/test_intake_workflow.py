"""The first workflow on the foundation: request intake, on a real Temporal dev server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from temporalio.client import Client

from models.events import EventType
from models.intake import IntakeInput, IntakeResult, intake_workflow_id
from models.states import IntegrationState
from registry.store import Registry
from tests.conftest import REPO_ROOT, running_worker
from tests.visibility import listed as visible
from workflows.intake import IntegrationIntakeWorkflow

SAMPLE_BODY = (REPO_ROOT / "starter" / "sample_request.md").read_text()


def _intake(issue: int, body: str | None = SAMPLE_BODY) -> IntakeInput:
    return IntakeInput(repo="demo/integrations", issue_number=issue, body=body,
                       requested_by="alice")


async def test_valid_request_is_recorded_and_searchable(
    client: Client, task_queue: str, registry: Registry
) -> None:
    wf_id = intake_workflow_id("demo/integrations", 101) + task_queue
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            IntegrationIntakeWorkflow.run, _intake(101), id=wf_id, task_queue=task_queue,
            result_type=IntakeResult,
        )
    assert result.accepted and result.slug == "acme-weather"
    assert result.state == IntegrationState.REQUESTED
    row = registry.get("acme-weather")
    assert (row.state, row.issue_number, row.workflow_id) == ("REQUESTED", 101, wf_id)
    assert row.request["endpoints"][0] == {"method": "GET", "path": "/forecast/{city}",
                                           "description": "the forecast for a city"}
    [event] = registry.events("acme-weather")
    assert event.type == EventType.INTEGRATION_REQUESTED
    [transition] = registry.transitions("acme-weather")
    assert (transition.actor, transition.workflow_id) == ("alice", wf_id)

    listed = await visible(
        client, f'WorkflowId = "{wf_id}" AND CcbIntegrationSlug = "acme-weather" '
                f'AND CcbState = "REQUESTED" AND ExecutionStatus = "Completed"')
    assert [w.id for w in listed] == [wf_id]


async def test_invalid_request_records_nothing_and_lists_problems(
    client: Client, task_queue: str, registry: Registry
) -> None:
    body = SAMPLE_BODY.replace("api-client", "telepathy").replace(
        "https://api.acme-weather.example/v1", "ftp://files.example")
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            IntegrationIntakeWorkflow.run, _intake(102, body), task_queue=task_queue,
            id=f"intake-invalid-{task_queue}", result_type=IntakeResult,
        )
    assert not result.accepted and result.state == IntegrationState.FAILED
    assert {p.field for p in result.problems} == {"Integration type", "Base URL"}
    assert registry.list_integrations() == []
    assert registry.events() == []


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


@pytest.mark.parametrize("point", ["record_requested.before_commit",
                                   "record_requested.after_commit"])
async def test_worker_killed_during_intake_activity_still_records_once(
    client: Client, task_queue: str, registry: Registry, worker_env: dict[str, str],
    data_dir: Path, point: str,
) -> None:
    """SIGKILL the worker while the recording activity runs; a new worker finishes the job."""
    marker = data_dir / "faults" / f"{point}.reached"
    log = data_dir / "worker.log"
    first = _start_worker({**worker_env, "CCB_FAULT_PAUSE": f"{point}=25"}, log)
    wf_id = f"intake-durable-{task_queue}"
    handle = await client.start_workflow(IntegrationIntakeWorkflow.run, _intake(103),
                                         id=wf_id, task_queue=task_queue,
                                         result_type=IntakeResult)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the activity never reached the pause point"
            await asyncio.sleep(0.1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()

    second = _start_worker(worker_env, log)
    try:
        result = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert second.returncode == 0, log.read_text()[-2000:]
    assert result.accepted and result.state == IntegrationState.REQUESTED
    assert len(registry.list_integrations()) == 1
    assert len(registry.events()) == 1
    assert len(registry.transitions()) == 1
    assert marker.read_text().count("\n") == 1  # the retry ran on the new worker, unpaused
