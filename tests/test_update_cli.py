"""``ccb update`` opens the update issue and starts its workflow; ``ccb versions`` shows the
versions and transitions; a bad update is refused in one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from temporalio.client import Client, WorkflowFailureError

from models.update import UpdateResult
from registry.store import Registry
from tests.conftest import REPO_ROOT, running_worker
from tests.creation_helpers import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.update_helpers import SLUG, seed_integration
from workflows.names import update_workflow_id


def ccb(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from starter.cli import main; main()", *args]
    return subprocess.run(command, cwd=REPO_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, check=False)


async def test_ccb_update_starts_the_workflow_and_versions_lists_the_history(
        client: Client, task_queue: str, temporal_address: str, world: World,
        registry: Registry) -> None:
    seed_integration(world, registry)
    async with running_worker(client, task_queue):
        done = await asyncio.to_thread(
            ccb, "update", "acme-wether", "--change", "Add hourly forecasts.", "--as", "alice",
            CCB_TEMPORAL_ADDRESS=temporal_address, CCB_TASK_QUEUE=task_queue)
        assert done.returncode == 0, done.stderr
        assert "opened issue #1" in done.stdout and "is on it" in done.stdout
        with pytest.raises(WorkflowFailureError) as failed:  # FAILED, not completed
            await client.get_workflow_handle(update_workflow_id(world.repo, 1),
                                             result_type=UpdateResult).result()
    assert "There is no integration `acme-wether`" in str(failed.value.cause)
    [comment] = world.bot_comments(1)
    assert "`acme-weather`" in comment

    shown = ccb("versions", SLUG)
    assert shown.returncode == 0, shown.stderr
    assert "current version 0.1.0" in shown.stdout and " * 0.1.0" in shown.stdout
    assert "REVIEWING ->" in shown.stdout and "APPROVED" in shown.stdout


def test_bad_update_and_unknown_slug_are_one_line_errors(world: World) -> None:
    bad = ccb("update", "acme-weather", "--change", "x", "--kind", "sideways")
    assert bad.returncode == 2 and "the update would be rejected" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = ccb("versions", "nope")
    assert unknown.returncode == 1 and "nope" in unknown.stderr
    assert "Traceback" not in unknown.stderr
