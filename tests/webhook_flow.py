"""The whole bot wired through webhooks, on loopback: the forge delivers signed webhooks to
the real starter app (uvicorn in a thread), which starts and steers workflows on the test's
Temporal server and task queue; the bot's worker runs in this process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from opentelemetry.trace import Tracer
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.github_client import reset_github_client
from forge.testing import running_forge
from infra.settings import get_settings
from models.creation import CreationResult
from starter.app import create_app
from tests.creation_helpers import GITHUB_ENV, World, store_sample_credential
from workflows import names


@dataclass
class WebhookWorld(World):
    """The forge world whose webhooks reach a running starter."""

    starter_url: str = ""

    def request_handle(self, client: Client, issue: int) -> WorkflowHandle:
        """The creation workflow of ``issue`` (its latest run), as the starter named it."""
        return client.get_workflow_handle(names.creation_workflow_id(self.repo, issue))


@dataclass
class LogCapture(logging.Handler):
    """Every log record of this process, formatted (with tracebacks), kept in memory."""

    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def __hash__(self) -> int:
        return id(self)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(app: object, port: int) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1:``port`` in a thread, lifespan on."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started, "the starter did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def webhook_world(data_dir: Path, monkeypatch: pytest.MonkeyPatch, *, temporal_address: str,
                  task_queue: str, secret: str, deploy: bool = False,
                  tracer: Tracer | None = None) -> Iterator[WebhookWorld]:
    """Forge -> signed webhooks -> starter -> Temporal; auto-deployment off unless ``deploy``
    (then ``data_dir`` is ``deploy_environment``'s); the starter traced by ``tracer``."""
    port = _free_port()
    webhook_url = f"http://127.0.0.1:{port}/webhooks/github"
    with running_forge(data_dir / "forge", webhook_url=webhook_url,
                       webhook_secret=secret) as forge:
        for var in GITHUB_ENV:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("CCB_GITHUB_API_URL", forge.api_url)
        monkeypatch.setenv("CCB_GITHUB_REPO", forge.full_name)
        monkeypatch.setenv("CCB_WEBHOOK_SECRET", secret)
        monkeypatch.setenv("CCB_TEMPORAL_ADDRESS", temporal_address)
        monkeypatch.setenv("CCB_TASK_QUEUE", task_queue)
        monkeypatch.setenv("CCB_FEATURE_FLAGS", json.dumps({"development": {
            "auto_deployment": deploy}}))
        get_settings.cache_clear()
        reset_github_client()
        store_sample_credential()
        try:
            with _serving(create_app(get_settings(), tracer=tracer), port) as url:
                yield WebhookWorld(forge=forge, data_dir=data_dir, starter_url=url)
        finally:
            reset_github_client()
            get_settings.cache_clear()


HOOKED_SECRET = "webhook-flow-secret"


@pytest.fixture(name="hooked")
def hooked_fixture(data_dir: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str,
                   task_queue: str) -> Iterator[WebhookWorld]:
    """The webhook world on this test's Temporal server and task queue (import it into a
    test module: ``from tests.webhook_flow import hooked_fixture``)."""
    with webhook_world(data_dir, monkeypatch, temporal_address=temporal_address,
                       task_queue=task_queue, secret=HOOKED_SECRET) as world:
        yield world


ISSUE_BLOCK = 20
_ISSUE_BLOCKS: dict[int, str] = {}  # count -> the test that skipped it, for this session


def skip_issue_numbers(world: World, count: int) -> None:
    """Open ``count`` unlabelled issues (ignored by the bot), so this test's request issue has
    a number no other test in the session uses: workflow ids derive from repo and issue.
    Each test owns the block of ``ISSUE_BLOCK`` numbers after ``count``; two tests of one
    session whose blocks overlap fail here, naming each other, instead of later querying
    each other's workflows."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].split("[")[0]
    for other_count, other in _ISSUE_BLOCKS.items():
        if other != test and abs(other_count - count) < ISSUE_BLOCK:
            raise AssertionError(f"{test} skips {count} issue numbers, too close to {other}'s "
                                 f"{other_count}: keep them {ISSUE_BLOCK} apart")
    _ISSUE_BLOCKS[count] = test
    repo = world.as_user("bob")
    for _ in range(count):
        repo.create_issue(title="A question", body="Not a request.")


async def wait_for_run(client: Client, workflow_id: str, *, not_run: str | None = None,
                       timeout: float = 60) -> WorkflowHandle:
    """The workflow's latest run once it exists (and, with ``not_run``, is a newer run)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            desc = await client.get_workflow_handle(workflow_id).describe()
            if desc.run_id != not_run:
                return client.get_workflow_handle(workflow_id, run_id=desc.run_id,
                                                  result_type=CreationResult)
        except RPCError as err:  # not started yet: the webhook is on its way
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        if loop.time() > deadline:
            raise AssertionError(f"{workflow_id} was never started by the webhook")
        await asyncio.sleep(0.2)
