"""The health monitor's recorded runs (for tests/histories): a scripted series of probes, some
failing, against stand-in activities with the real activities' names (a history records only
what activities returned, so replay needs no container). ``GENERATION`` names a recording:
``_v1`` was recorded before ``monitor-incidents`` (one alert comment on the request's issue),
``_v2`` after it (an incident issue opened, updated and closed on recovery); each is kept."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from models.deploy import AlertCommand, MonitorInput, ProbeResult, RollbackPlan, Target
from models.flags import FeatureFlags
from models.github import CommentRef, UpsertComment
from models.health import IncidentCommand, IncidentRef
from rules.task_queues import Capability, queue_for
from workflows.monitor import HealthMonitorWorkflow

GENERATION = "_v2"
SLUG = "acme-weather"
# What the live version answers, check by check: healthy, down three times, then healthy.
SCRIPT: tuple[tuple[bool, str], ...] = (
    (True, ""), (False, "the instance dev-acme-weather-green is gone"),
    (False, "the instance dev-acme-weather-green is gone"),
    (False, "the instance dev-acme-weather-green is gone"), (True, ""), (True, ""))


def stand_ins() -> list[Callable[..., Any]]:
    """Activities named as the monitor's, answering from ``SCRIPT`` (one probe per check)."""
    probes = iter(SCRIPT * 10)

    @activity.defn(name="probe_live_version")
    def probe(target: Target) -> ProbeResult:
        ok, reason = next(probes)
        return ProbeResult(ok=ok, version="0.1.0", endpoint="127.0.0.1:40000",
                           reason=reason, interval_s=0.2, requests_total=-1, errors_5xx=-1)

    @activity.defn(name="read_feature_flags")
    def flags(environment: str) -> FeatureFlags:
        return FeatureFlags(auto_rollback=False)

    @activity.defn(name="record_health_alert")
    def alert(command: AlertCommand) -> UpsertComment | None:
        return UpsertComment(repo="demo/integrations", number=1, marker="health-development",
                             body=f"Health alert: {command.reason}")

    @activity.defn(name="upsert_bot_comment")
    def comment(command: UpsertComment) -> CommentRef:
        return CommentRef(id=1, url="http://127.0.0.1/demo/integrations/issues/1#comment-1")

    @activity.defn(name="plan_rollback")
    def rollback(target: Target) -> RollbackPlan:
        return RollbackPlan()

    def incident(name: str) -> Callable[..., Any]:
        @activity.defn(name=name)
        def step(command: IncidentCommand) -> IncidentRef:
            return IncidentRef(number=2, url="http://127.0.0.1/demo/integrations/issues/2")
        return step

    incidents = [incident(n) for n in ("open_incident", "update_incident", "close_incident")]
    return [probe, flags, alert, comment, rollback, *incidents]


async def record_monitor_histories(client: Client, out: Path) -> dict[str, int]:
    """One monitor run through ``SCRIPT``; writes ``monitor_down_then_up{GENERATION}.json``."""
    name = f"monitor_down_then_up{GENERATION}"
    if (out / f"{name}.json").exists():
        return {}
    queue = f"record-monitor-{uuid.uuid4().hex[:8]}"
    activities = stand_ins()
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(client, task_queue=queue, workflows=[HealthMonitorWorkflow],
                          activities=activities, activity_executor=executor), \
                Worker(client, task_queue=queue_for(queue, Capability.DEPLOY, ""),
                       activities=activities, activity_executor=executor):
            handle = await client.start_workflow(
                HealthMonitorWorkflow.run,
                MonitorInput(slug=SLUG, interval_s=0.2, failure_threshold=2,
                             max_checks=len(SCRIPT)),
                id=f"record-{name}", task_queue=queue, result_type=MonitorInput)
            await handle.result()
            history = await handle.fetch_history()
    (out / f"{name}.json").write_text(history.to_json())
    return {name: len(history.events)}
