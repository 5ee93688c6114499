"""The sync jobs' Temporal Schedules (control queue) and the call each scheduled run makes
(deploy host: the instance is reached through the host's proxy on loopback).

A schedule is created when a sync job goes live in an environment (an existing one keeps
its paused state and gets the manifest's interval), paused and unpaused with the
integration, and deleted when it is deprecated. Each is visible in the Temporal UI.
"""

from __future__ import annotations

import http.client
import json
from datetime import timedelta

from temporalio import activity
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.deploy.traffic_steps import proxy_of
from activities.heartbeat import heartbeating
from infra.schedules import create_or_update
from models.deployment import Environment
from models.error_types import ErrorType
from models.sync_job import (
    SyncRunInput,
    SyncRunResult,
    SyncScheduleChange,
    SyncScheduleRequest,
    SyncSchedulesCommand,
    sync_run_workflow_id,
    sync_schedule_id,
)

SYNC_CALL_TIMEOUT_S = 600.0


def _schedule(req: SyncScheduleRequest, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "SyncRunWorkflow", SyncRunInput(slug=req.slug, environment=req.environment,
                                            host=req.host),
            id=sync_run_workflow_id(req.environment, req.slug), task_queue=task_queue,
            execution_timeout=timedelta(minutes=30)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(
            every=timedelta(seconds=req.interval_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=f"the sync job {req.slug} in {req.environment.value}"))


@activity.defn
async def ensure_sync_schedule(req: SyncScheduleRequest) -> str:
    """Create the schedule, or bring its action and interval up to date (its paused state
    and note kept); what was done, in words."""
    queue = activity.info().task_queue
    schedule_id = sync_schedule_id(queue, req.environment, req.slug)
    done = await create_or_update(activity.client(), schedule_id, _schedule(req, queue))
    return f"schedule {schedule_id} {done} (every {req.interval_seconds} s)"


@activity.defn
async def change_sync_schedules(cmd: SyncSchedulesCommand) -> list[str]:
    """Pause, unpause or delete each environment's schedule of the integration; the ids
    changed (none when it is not a sync job). Doing it again changes nothing."""
    queue, client, changed = activity.info().task_queue, activity.client(), []
    for environment in Environment:
        handle = client.get_schedule_handle(sync_schedule_id(queue, environment, cmd.slug))
        try:
            if cmd.change == SyncScheduleChange.PAUSE:
                await handle.pause(note=cmd.note or "paused with the integration")
            elif cmd.change == SyncScheduleChange.UNPAUSE:
                await handle.unpause(note=cmd.note or "resumed with the integration")
            else:
                await handle.delete()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        changed.append(handle.id)
    return changed


def _post_sync(port: int, slug: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SYNC_CALL_TIMEOUT_S)
    try:
        conn.request("POST", "/sync", body=b"{}", headers={
            "Host": slug, "Content-Type": "application/json"})
        answer = conn.getresponse()
        return answer.status, answer.read(65_536).decode(errors="replace")
    finally:
        conn.close()


@activity.defn
def call_sync(run: SyncRunInput) -> SyncRunResult:
    """One run of the sync job: ``POST /sync`` on the instance behind the proxy,
    heartbeating while it pages. A run the job itself failed (its cursor is kept for the
    next) is a non-retryable failure, so the Temporal UI shows it; an unreachable instance
    is retried."""
    port = proxy_of(run.environment).port
    try:
        with heartbeating(f"the sync of {run.slug} in {run.environment.value}"):
            status, text = _post_sync(port, run.slug)
    except OSError as exc:
        raise ConnectionError(f"{run.slug} in {run.environment.value} did not answer "
                              f"/sync: {exc}") from None
    try:
        body = json.loads(text)
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if status == 409:
        return SyncRunResult(slug=run.slug, environment=run.environment, status="busy")
    if status == 200:
        return SyncRunResult(
            slug=run.slug, environment=run.environment, status=str(body.get("status", "")),
            records=body.get("records"), cursor=_text(body.get("cursor")),
            pages_this_run=body.get("pages_this_run"))
    if status == 502 and body.get("status") == "failed":
        cursor = body.get("cursor")
        where = f"at cursor {cursor!r}" if cursor is not None else "on its first page"
        raise ApplicationError(
            f"the sync of {run.slug} in {run.environment.value} failed {where}: "
            f"{str(body.get('error'))[:300]} (the next run resumes there)",
            type=ErrorType.SYNC_FAILED, non_retryable=True)
    if status == 400:  # the job needs what no schedule can give (its source's path values)
        raise ApplicationError(
            f"the sync job {run.slug} in {run.environment.value} refused the scheduled run: "
            f"{str(body.get('message') or text)[:300]}; its source needs path parameters, "
            "so run it with POST /sync and a body naming them, or update the integration "
            "so it pages through an endpoint without them",
            type=ErrorType.SYNC_FAILED, non_retryable=True)
    raise ConnectionError(f"{run.slug} in {run.environment.value} answered {status} to "
                          f"/sync: {text[:200]}")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


SYNC_SCHEDULE_ACTIVITIES = [ensure_sync_schedule, change_sync_schedules]
SYNC_HOST_ACTIVITIES = [call_sync]
