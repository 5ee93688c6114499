"""The worker process: hosts the bot's workflows and activities on the queues it serves.

Run it with ``python -m worker`` (``ccb up`` does): it serves every capability — the control
queue (workflows; GitHub, registry and model calls), the sandbox queue (code checks and
sandboxed tests) and this host's deploy queue (builds, containers, traffic). ``--serve
sandbox`` (or ``CCB_SERVE``) runs only some of them, so a second Docker host or a cheaper
model-calling machine can join (``rules/task_queues.py`` names the queues). SIGTERM or
SIGINT shut it down gracefully: it stops polling, lets running activities finish within a
grace period, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from types import TracebackType
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.registry import ACTIVITIES_BY_CAPABILITY
from infra.logging_setup import configure_logging
from infra.metrics_runtime import prometheus_runtime
from infra.settings import Settings, get_settings
from infra.temporal import connect
from infra.tracing import configured_tracer
from registry.store import open_registry
from rules.task_queues import ALL_CAPABILITIES, Capability, parse_capabilities, queue_for
from workflows.registry import ALL_WORKFLOWS

log = structlog.get_logger("ccb.worker")

ACTIVITY_THREADS = 16
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


class Workers:
    """One SDK worker per task queue served, started and stopped together."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._stack = AsyncExitStack()

    @property
    def task_queues(self) -> list[str]:
        return [w.task_queue for w in self.workers]

    async def __aenter__(self) -> Workers:
        await self._stack.__aenter__()
        try:
            for worker in self.workers:
                await self._stack.enter_async_context(worker)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stack.__aexit__(kind, exc, tb)


def serving(client: Client, task_queue: str, executor: ThreadPoolExecutor, *,
            workflows: Sequence[type], activities: Sequence[Callable[..., Any]],
            capabilities: Sequence[Capability] = ALL_CAPABILITIES, deploy_host: str = "",
            max_concurrent_activities: int = ACTIVITY_THREADS) -> Workers:
    """Workers for ``capabilities`` beside the control queue ``task_queue``: the workflows
    on the control queue, each of ``activities`` on the queue of its capability."""
    wanted = {id(fn) for fn in activities}
    workers = []
    for capability in capabilities:
        mine = [fn for fn in ACTIVITIES_BY_CAPABILITY[capability] if id(fn) in wanted]
        if capability is Capability.CONTROL:
            # Activities a caller added that no capability lists (a test's own) stay here.
            listed = {id(fn) for fns in ACTIVITIES_BY_CAPABILITY.values() for fn in fns}
            mine += [fn for fn in activities if id(fn) not in listed]
        flows = list(workflows) if capability is Capability.CONTROL else []
        if not mine and not flows:
            continue
        workers.append(Worker(
            client, task_queue=queue_for(task_queue, capability, deploy_host),
            workflows=flows, activities=mine, activity_executor=executor,
            max_concurrent_activities=max_concurrent_activities,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN))
    return Workers(workers)


def build_worker(client: Client, task_queue: str, executor: ThreadPoolExecutor,
                 capabilities: Sequence[Capability] = ALL_CAPABILITIES,
                 deploy_host: str = "") -> Workers:
    """The bot's workers: every workflow and activity of the capabilities served."""
    every = [fn for fns in ACTIVITIES_BY_CAPABILITY.values() for fn in fns]
    return serving(client, task_queue, executor, workflows=ALL_WORKFLOWS, activities=every,
                   capabilities=capabilities, deploy_host=deploy_host)


async def run_worker(settings: Settings, capabilities: Sequence[Capability]) -> None:
    """Connect, create the registry schema, poll until a signal asks us to stop."""
    open_registry(settings.registry_url)  # schema created on start
    client = await connect(settings, attempts=60)
    if Capability.CONTROL in capabilities:
        from infra.schedules import ensure_schedules

        log.info(await ensure_schedules(client, settings))
    if Capability.SANDBOX in capabilities:
        from activities.sandbox import reap_after_dead_workers

        if removed := await asyncio.to_thread(reap_after_dead_workers):
            log.info("removed sandbox containers left by workers that died", names=removed)
    runtime = prometheus_runtime(settings.metrics_host, settings.worker_metrics_port)
    client = await connect(settings, attempts=60, runtime=runtime,
                           tracer=configured_tracer(settings, "ccb-worker"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        workers = build_worker(client, settings.task_queue, executor, capabilities,
                               settings.deploy_host)
        log.info("worker started", task_queues=workers.task_queues,
                 temporal=settings.temporal_address, namespace=settings.temporal_namespace,
                 metrics=f"http://{settings.metrics_host}:{settings.worker_metrics_port}/metrics"
                 if runtime else "off", tracing="otlp" if settings.otlp_endpoint else "off")
        async with workers:
            await stop.wait()
            log.info("worker stopping")
    log.info("worker stopped")


def parse_args(argv: Sequence[str], settings: Settings) -> tuple[Capability, ...]:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.split("\n")[0])
    parser.add_argument("--serve", default=settings.serve,
                        help="control, sandbox, deploy (comma-separated) or all "
                             "(default: CCB_SERVE, else all)")
    args = parser.parse_args(list(argv))
    try:
        return parse_capabilities(args.serve)
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: error exits


def main() -> None:
    settings = get_settings()
    capabilities = parse_args(sys.argv[1:], settings)
    configure_logging(settings.log_level, settings.log_format, process="worker")
    code = 0
    try:
        asyncio.run(run_worker(settings, capabilities))
    except ConnectionError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK can abort at interpreter exit after success


if __name__ == "__main__":
    main()
