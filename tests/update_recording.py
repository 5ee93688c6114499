"""The update and review workflows' recorded runs (for tests/histories): an update adding an
endpoint, merged without a human, and the ``CodeReviewWorkflow`` it ran as a child. Used by
scripts/record_histories.py; recorded after the update's patches (``update-by-claude``,
``update-regenerates-on-changes``, ``update-revert-pull-request``) and the review's
(``code-review-by-model``). ``GENERATION`` names a recording: the files without a suffix
were recorded before ``stop-when-a-round-changes-nothing``, ``_v2`` after it, ``_v3`` on the
shared ``RequestRun`` shape with ``update-approval-reminders`` (it adds a breaking update
that is reminded once, then approved), ``_v4`` after ``credentials-before-merge``,
``update-needs-a-person`` and approvals bound to the head (the feature update is approved by a
person too), ``_v5`` after ``update-checklist`` (the issue's live checklist and state
label); each is kept."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from activities.github_client import reset_github_client
from forge.testing import running_forge
from infra.settings import get_settings
from models.update import UpdateInput, UpdateResult
from registry.store import open_registry
from tests.creation_helpers import (
    GITHUB_ENV,
    World,
    approve,
    store_sample_credential,
    wait_for_approval_wait,
)
from tests.update_helpers import SLUG, new_update_issue, seed_integration, update_body

NAMES = ("update_feature", "review_of_update_feature", "update_breaking_reminded")
GENERATION = "_v5"


async def record_update_histories(client: Client, task_queue: str, data_dir: Path,
                                  out: Path) -> dict[str, int]:
    """Seed acme-weather 0.1.0 on a fresh forge, run one feature update to its merge, write
    the update's history and its review child's. Returns name -> number of events."""
    with running_forge(data_dir / "forge") as forge:
        for var in GITHUB_ENV:
            os.environ.pop(var, None)
        os.environ.update(
            CCB_DATA_DIR=str(data_dir), CCB_GITHUB_API_URL=forge.api_url,
            CCB_GITHUB_REPO=forge.full_name,
            CCB_FEATURE_FLAGS=json.dumps({"development": {"auto_deployment": False}}))
        get_settings.cache_clear()
        reset_github_client()
        store_sample_credential()
        world = World(forge=forge, data_dir=data_dir)
        seed_integration(world, open_registry(get_settings().registry_url))
        body = update_body(SLUG, "feature", "Add hourly forecasts.",
                           "GET /forecast/{city}/hourly - the hourly forecast")
        issue = new_update_issue(world, body)
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow",
            UpdateInput(repo=forge.full_name, issue_number=issue, requested_by="alice",
                        body=body),
            id="record-update_feature", task_queue=task_queue, result_type=UpdateResult)
        await wait_for_approval_wait(handle)  # a person approves every merge, updates too
        await approve(handle)
        result = await handle.result()
        assert result.outcome == "merged", result
        history = await handle.fetch_history()
        [review_id] = [e.child_workflow_execution_started_event_attributes
                       .workflow_execution.workflow_id for e in history.events
                       if e.HasField("child_workflow_execution_started_event_attributes")]
        review = await client.get_workflow_handle(review_id).fetch_history()
        reminded = await _breaking_update_reminded_then_approved(client, task_queue, world)
        reset_github_client()
    counts = {}
    for name, recorded in zip(NAMES, (history, review, reminded), strict=True):
        (out / f"{name}{GENERATION}.json").write_text(recorded.to_json())
        counts[name + GENERATION] = len(recorded.events)
    return counts


async def _breaking_update_reminded_then_approved(client: Client, task_queue: str,
                                                  world: World) -> object:
    """A rename (breaking: a person must approve), reminded once, then approved by alice."""
    body = update_body(SLUG, "breaking", "Please rename get_alerts to list_alerts.")
    issue = new_update_issue(world, body)
    handle = await client.start_workflow(
        "IntegrationUpdateWorkflow",
        UpdateInput(repo=world.forge.full_name, issue_number=issue, requested_by="alice",
                    body=body, reminder_interval=timedelta(seconds=2)),
        id="record-update_breaking_reminded", task_queue=task_queue, result_type=UpdateResult)
    await wait_for_approval_wait(handle)
    await asyncio.sleep(3)  # one reminder
    await approve(handle)
    result = await handle.result()
    assert result.outcome == "merged" and result.breaking, result
    return await handle.fetch_history()
