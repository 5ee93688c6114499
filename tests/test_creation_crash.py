"""The worker SIGKILLed at six points of the creation workflow: a new worker finishes every run
with one branch (none once merged), one pull request and one bot progress comment.

The worker runs as a subprocess (``python -m worker``). An activity killed mid-flight is
retried by the server once its start-to-close timeout passes (30 s for the analysis and the
generation, 15 min for the sandbox run or 60 s by its heartbeat timeout, 3 min for the GitHub
steps: none of these has a short heartbeat timeout in ``workflows/policies.py``). Rather than
wait for those, the test does what the server would do at that timeout: it fails the lost
attempt by its activity id, and the retry runs on the new worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError

from models.creation import Progress
from models.states import IntegrationState
from registry.store import Registry
from tests.conftest import REPO_ROOT
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    GITHUB_ENV,
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)

# point -> the activity it pauses (None: killed while the workflow waits for approval)
POINTS: dict[str, str | None] = {
    "offline_analyze.start": "offline_analyze",
    "offline_generate.start": "offline_generate",
    "run_generated_tests.start": "run_generated_tests",
    "open_pull_request.after_create": "open_pull_request",
    "waiting_for_approval": None,
    "merge_pull_request.after_merge": "merge_pull_request",
}
PAUSE_SECONDS = 120  # far longer than the test waits: the kill always lands inside the pause


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def _wait_for_marker(marker: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{marker.name} never reached"
        await asyncio.sleep(0.1)


async def _fail_lost_attempt(client: Client, handle: WorkflowHandle, activity: str) -> None:
    """What the server does when the lost attempt's timeout passes: fail it, so it retries."""
    desc = await handle.describe()
    [lost] = [p for p in desc.raw_description.pending_activities
              if p.activity_type.name == activity
              and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED]
    await client.get_async_activity_handle(
        workflow_id=handle.id, run_id=desc.run_id, activity_id=lost.activity_id,
    ).fail(ApplicationError(f"worker lost (SIGKILL) during {activity}"))


@pytest.mark.parametrize("point", list(POINTS))
async def test_worker_killed_then_restarted_finishes_the_request(
    client: Client, task_queue: str, world: World, worker_env: dict[str, str],
    data_dir: Path, registry: Registry, point: str,
) -> None:
    env = {k: v for k, v in worker_env.items() if k not in GITHUB_ENV}
    env.update(CCB_GITHUB_API_URL=world.forge.api_url, CCB_GITHUB_REPO=world.repo,
               CCB_FEATURE_FLAGS=json.dumps({"development": {"auto_deployment": False}}))
    activity = POINTS[point]
    log = data_dir / "worker.log"
    marker = data_dir / "faults" / f"{point}.reached"
    issue = world.new_issue()

    first = _worker({**env, "CCB_FAULT_PAUSE": f"{point}={PAUSE_SECONDS}"}
                    if activity else env, log)
    try:
        handle = await start_creation(client, world, issue, task_queue)
        if point == "merge_pull_request.after_merge":
            await _approve(handle)
        if activity:
            await _wait_for_marker(marker, first, log)
        else:
            await wait_for_approval_wait(handle)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        _stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL

    second = _worker(env, log)
    try:
        if activity:
            await _fail_lost_attempt(client, handle, activity)
        if point != "merge_pull_request.after_merge":
            progress = await _approve(handle)
            # Before the merge: exactly one branch and one open pull request.
            assert sorted(world.branches()) == ["integration/acme-weather", "main"]
            assert [p.number for p in world.pulls("open")] == [progress.pr_number]
        result = await asyncio.wait_for(handle.result(), timeout=180)
    finally:
        _stop(second)
    assert second.returncode == 0, log.read_text()[-3000:]

    assert result.state == IntegrationState.APPROVED and result.merged_sha
    [pull] = world.pulls()
    assert pull.merged and pull.number == result.pr_number
    assert world.branches() == ["main"]  # the branch is deleted after merging
    assert len(world.bot_comments(issue)) == 2  # the progress comment and the ending
    assert world.ending_comment(issue).startswith("@alice The integration request is merged")
    assert registry.get("acme-weather").state == IntegrationState.APPROVED
    if activity:
        assert marker.read_text().count("\n") == 1  # the retry ran on the new worker
    print(f"{point}: killed, restarted; PR #{pull.number} merged, 1 bot comment, "
          f"branches {world.branches()}")


async def _approve(handle: WorkflowHandle) -> Progress:
    progress = await wait_for_approval_wait(handle)
    answer = await approve(handle)
    assert answer.accepted
    return progress
