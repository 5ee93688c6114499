"""The creation workflow's recorded runs (for tests/histories): happy path, invalid request,
changes requested then approved, merge refused, a failure after the merge. Used by
scripts/record_histories.py.

Each recording generation keeps its own files: ``creation_<case>.json`` were recorded before
the ``review-by-code-review-workflow`` and ``revert-pull-request-after-merge`` patches and
still replay (the patches' old branches), ``creation_<case>_v2.json`` after them,
``creation_<case>_v3.json`` after ``stop-when-a-round-changes-nothing`` (with a run whose
generator cannot fix its own code: ``creation_stalled_v3``), ``creation_<case>_v4.json`` on
the shared ``RequestRun`` shape after ``bugs-fail-the-workflow-task`` and
``credentials-before-merge``, approvals bound to the head, ``creation_<case>_v5.json``
after ``ending-comment`` and ``approval-reminder-comments``. Bump ``GENERATION`` with the
next deliberate change of the history shape, and keep the old files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from activities.github_client import reset_github_client
from forge.testing import ForgeHandle, running_forge
from infra.settings import get_settings
from models.creation import (
    ChangeRequest,
    CreationInput,
    CreationResult,
    Progress,
)
from tests.creation_helpers import (
    GITHUB_ENV,
    SAMPLE_BODY,
    approve,
    store_sample_credential,
    wait_for_approval_wait,
)

GENERATION = "_v5"
INVALID_BODY = SAMPLE_BODY.replace("api-client", "telepathy")
Case = Callable[[WorkflowHandle, ForgeHandle], Awaitable[None]]


async def _approve(handle: WorkflowHandle, forge: ForgeHandle) -> None:
    await wait_for_approval_wait(handle)
    await approve(handle)


async def _invalid(handle: WorkflowHandle, forge: ForgeHandle) -> None:
    return None


async def _changes_then_approve(handle: WorkflowHandle, forge: ForgeHandle) -> None:
    first = await wait_for_approval_wait(handle)
    await handle.signal("request_changes", ChangeRequest(
        reviewer="alice", text="Please document the rate limits in the README."))
    for _ in range(1200):
        progress = await handle.query("progress", result_type=Progress)
        if progress.head_sha != first.head_sha and progress.waiting_for_approval:
            break
        await asyncio.sleep(0.2)
    await _approve(handle, forge)


async def _merge_refused(handle: WorkflowHandle, forge: ForgeHandle) -> None:
    await wait_for_approval_wait(handle)
    forge.add_fault("PUT", r"/pulls/\d+/merge$", 405,
                    body={"message": "Pull Request is not mergeable"})
    await approve(handle)


async def _branch_delete_refused(handle: WorkflowHandle, forge: ForgeHandle) -> None:
    await wait_for_approval_wait(handle)
    forge.add_fault("DELETE", r"/git/refs/heads/", 403,
                    body={"message": "Resource not accessible by integration"})
    await approve(handle)


@contextlib.contextmanager
def _broken_template(work: Path) -> Iterator[None]:
    """The bot's own bug: the service template imports a module it never uses."""
    from activities.codegen.offline import layout

    broken = work / "templates"
    shutil.copytree(layout.TEMPLATES, broken, dirs_exist_ok=True)
    service = broken / "service.py.tmpl"
    service.write_text("import os\n" + service.read_text(encoding="utf-8"), encoding="utf-8")
    original, layout.TEMPLATES = layout.TEMPLATES, broken
    try:
        yield
    finally:
        layout.TEMPLATES = original


# Cases whose generator is broken on purpose while they run.
BROKEN = {"creation_stalled"}

CASES: dict[str, tuple[str, Case]] = {
    "creation_happy_path": (SAMPLE_BODY, _approve),
    "creation_invalid_request": (INVALID_BODY, _invalid),
    "creation_changes_then_approved": (SAMPLE_BODY, _changes_then_approve),
    "creation_merge_refused": (SAMPLE_BODY, _merge_refused),
    "creation_failed_after_merge": (SAMPLE_BODY, _branch_delete_refused),
    "creation_stalled": (SAMPLE_BODY, _invalid),
}


async def record_creation_histories(client: Client, task_queue: str, data_dir: Path,
                                    out: Path) -> dict[str, int]:
    """Run every case on its own forge (auto-deployment off) and write its history JSON.
    The caller runs a worker on ``task_queue``. Returns name -> number of events."""
    counts: dict[str, int] = {}
    for name, (body, drive) in CASES.items():
        with running_forge(data_dir / name / "forge") as forge:
            for var in GITHUB_ENV:
                os.environ.pop(var, None)
            os.environ.update(
                CCB_DATA_DIR=str(data_dir / name), CCB_GITHUB_API_URL=forge.api_url,
                CCB_GITHUB_REPO=forge.full_name,
                CCB_FEATURE_FLAGS=json.dumps({"development": {"auto_deployment": False}}))
            get_settings.cache_clear()
            reset_github_client()
            store_sample_credential()
            issue = forge.github("alice").get_repo(forge.full_name).create_issue(
                title="Integration request", body=body, labels=["integration-request"]).number
            broken = (_broken_template(data_dir / name) if name in BROKEN
                      else contextlib.nullcontext())
            with broken:
                handle = await client.start_workflow(
                    "IntegrationCreationWorkflow",
                    CreationInput(repo=forge.full_name, issue_number=issue,
                                  requested_by="alice", body=body),
                    id=f"record-{name}", task_queue=task_queue, result_type=CreationResult)
                await drive(handle, forge)
                with contextlib.suppress(WorkflowFailureError):  # some cases end FAILED
                    await handle.result()
            history = await handle.fetch_history()
            (out / f"{name}{GENERATION}.json").write_text(history.to_json())
            counts[name + GENERATION] = len(history.events)
            reset_github_client()
    return counts


def keep_history(history: object, name: str) -> None:
    """With ``CCB_RECORD_HISTORIES=<dir>`` (and ``CCB_PAYLOAD_CLAIM_BYTES=0``, no payload
    keys, so the fixture is whole and in clear), write ``history`` as ``<dir>/<name>.json``:
    how tests that run a workflow against Docker record its replay fixture."""
    where = os.environ.get("CCB_RECORD_HISTORIES")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / f"{name}.json").write_text(history.to_json())  # type: ignore[attr-defined]


async def replays_and_is_kept(history: object, name: str) -> None:
    """``history`` replays on today's code; kept as ``name`` when recording (above)."""
    from temporalio.worker import Replayer

    from infra.payload_codec import data_converter
    from workflows.registry import ALL_WORKFLOWS

    keep_history(history, name)
    replayed = await Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter()
                              ).replay_workflow(history,  # type: ignore[arg-type]
                                                raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure
