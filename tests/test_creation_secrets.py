"""No secret reaches a workflow history or a log: the webhook-driven flow runs on the Claude
backend with distinctive secret values, then every history of every workflow it started and
every captured log line are scanned for them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from infra.settings import get_settings
from tests.claude_scripts import REVIEW_ANSWER, files_answer, good_files, spec_answer
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.messages_api_server import MessagesApiServer, sent_api_key
from tests.visibility import listed
from tests.webhook_flow import (
    LogCapture,
    WebhookWorld,
    skip_issue_numbers,
    wait_for_run,
    webhook_world,
)

RUN = uuid.uuid4().hex[:10]
API_KEY = f"sk-ant-api03-SECRET{RUN}"
WEBHOOK_SECRET = f"whsec-SECRET{RUN}"


@pytest.fixture(name="logs")
def logs_fixture() -> Iterator[LogCapture]:
    """Every log record of this process at DEBUG, for the length of the test."""
    capture = LogCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture)
    root.setLevel(level)


@pytest.fixture(name="hooked")
def hooked_fixture(data_dir: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str,
                   task_queue: str) -> Iterator[tuple[WebhookWorld, MessagesApiServer]]:
    with MessagesApiServer(api_key=API_KEY) as api, webhook_world(
            data_dir, monkeypatch, temporal_address=temporal_address, task_queue=task_queue,
            secret=WEBHOOK_SECRET) as world:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("CCB_ANTHROPIC_BASE_URL", api.url)
        get_settings.cache_clear()
        yield world, api


async def test_no_secret_in_histories_or_logs(
    client: Client, task_queue: str, hooked: tuple[WebhookWorld, MessagesApiServer],
    logs: LogCapture, capfd: pytest.CaptureFixture[str], data_dir: Path,
) -> None:
    world, api = hooked
    api.reply_tool_use(spec_answer())
    api.reply_tool_use(files_answer(good_files()))
    api.reply_tool_use(REVIEW_ANSWER)
    skip_issue_numbers(world, 40)  # numbers no other test of the session uses
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        handle = await wait_for_run(client, world.request_handle(client, issue).id)
        progress = await wait_for_approval_wait(handle)
        world.as_user("alice").get_pull(progress.pr_number or 0).create_review(
            body="Approved.", event="APPROVE")
        result = await handle.result()
    assert world.as_user("alice").get_pull(result.pr_number or 0).merged
    assert progress.backend == "claude" and api.pending == 0 and api.problems == []
    # The key did reach the API (so the run used it), and nowhere else.
    assert all(sent_api_key(r.headers) == API_KEY for r in api.requests)

    secrets = {"ANTHROPIC_API_KEY": API_KEY, "webhook secret": WEBHOOK_SECRET,
               **{f"forge token of {user}": token for user, token in world.forge.tokens.items()}}
    histories: dict[str, str] = {}
    for execution in await listed(client, f"TaskQueue = '{task_queue}'"):
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id).fetch_history()
        histories[f"{execution.workflow_type} {execution.id}/{execution.run_id}"] = \
            history.to_json()
    # Large payloads live in the payload store (history keeps their digest): scan it too.
    from sqlmodel import select

    from registry.store import open_registry
    from registry.tables import PayloadBlob

    codec = client.data_converter.payload_codec
    assert codec is not None
    with open_registry(get_settings().registry_url).session() as session:
        blobs = [Payload.FromString(row.data) for row in session.exec(select(PayloadBlob))]
    histories["payload store"] = str(await codec.decode(blobs))
    assert len(blobs) > 0  # the scan has something to read
    out, err = capfd.readouterr()
    files = {str(p): p.read_text(errors="replace") for p in data_dir.rglob("*.log")}
    texts = {**histories, "log records": "\n".join(logs.lines), "stdout": out, "stderr": err,
             **files}
    assert _leaks(texts, secrets) == []
    # The scan does find a secret where one is: the forge's own token file.
    control = {"tokens.json": (data_dir / "forge" / "tokens.json").read_text()}
    assert _leaks(control, secrets)
    kinds = sorted({k.split(" ", 1)[0] for k in histories})
    assert "IntegrationCreationWorkflow" in kinds
    print(f"secrets: {len(secrets)} values, {len(histories)} histories "
          f"({sum(len(t) for t in histories.values())} chars; {', '.join(kinds)}), "
          f"{len(logs.lines)} log records, {len(out) + len(err)} chars of output, "
          f"{len(files)} log files: no leak")


def _leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    return [f"{name} in {where}" for where, text in texts.items()
            for name, value in secrets.items() if value in text]
