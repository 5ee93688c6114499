"""The one worker process: hosts every workflow and activity on the bot's task queue.

Run it with ``python -m worker`` (``ccb up`` does). SIGTERM or SIGINT shut it down gracefully:
it stops polling, lets running activities finish within a grace period, and exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.registry import ALL_ACTIVITIES
from infra.logging_setup import configure_logging
from infra.settings import Settings, get_settings
from infra.temporal import connect
from registry.store import open_registry
from workflows.registry import ALL_WORKFLOWS

log = structlog.get_logger("ccb.worker")

ACTIVITY_THREADS = 16
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def build_worker(client: Client, task_queue: str, executor: ThreadPoolExecutor) -> Worker:
    """A worker with every workflow and activity of the bot on ``task_queue``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=ALL_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def run_worker(settings: Settings) -> None:
    """Connect, create the registry schema, poll until a signal asks us to stop."""
    open_registry(settings.registry_url)  # schema created on start
    client = await connect(settings, attempts=60)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings.task_queue, executor)
        log.info("worker started", task_queue=settings.task_queue,
                 temporal=settings.temporal_address, namespace=settings.temporal_namespace)
        async with worker:
            await stop.wait()
            log.info("worker stopping")
    log.info("worker stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, process="worker")
    code = 0
    try:
        asyncio.run(run_worker(settings))
    except ConnectionError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK can abort at interpreter exit after success


if __name__ == "__main__":
    main()
