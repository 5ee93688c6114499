"""The bot's Temporal Schedules: created or brought up to date when a control worker starts.

Today one: ``ccb-reverify`` runs ``ReverifyWorkflow`` every ``CCB_REVERIFY_INTERVAL_HOURS``
(24 by default; 0 removes it). An update keeps its paused state and note, so a schedule an
operator paused (``ccb schedules pause``, or the Web UI) stays paused across restarts.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from infra.settings import Settings
from models.deployment import Environment
from models.reverify import REVERIFY_SCHEDULE_ID, ReverifyInput


def reverify_schedule_id(task_queue: str) -> str:
    """One schedule per installation (control queue): ``ccb-reverify`` for the default one."""
    return REVERIFY_SCHEDULE_ID if task_queue == "ccb" else f"{REVERIFY_SCHEDULE_ID}-{task_queue}"


def reverify_schedule(settings: Settings, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "ReverifyWorkflow", ReverifyInput(environments=list(Environment)),
            id=reverify_schedule_id(task_queue), task_queue=task_queue,
            execution_timeout=timedelta(hours=2)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(
            every=timedelta(hours=settings.reverify_interval_hours))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))


async def ensure_schedules(client: Client, settings: Settings,
                           task_queue: str | None = None) -> str:
    """Create the re-verification schedule, or update its action and interval in place;
    returns what was done, for the worker's log."""
    queue = task_queue or settings.task_queue
    schedule_id = reverify_schedule_id(queue)
    handle = client.get_schedule_handle(schedule_id)
    if settings.reverify_interval_hours <= 0:
        try:
            await handle.delete()
            return "re-verification schedule removed (CCB_REVERIFY_INTERVAL_HOURS=0)"
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return "no re-verification schedule (CCB_REVERIFY_INTERVAL_HOURS=0)"
            raise
    done = await create_or_update(client, schedule_id, reverify_schedule(settings, queue))
    return f"schedule {schedule_id} {done} (every {settings.reverify_interval_hours:g} h)"


async def create_or_update(client: Client, schedule_id: str, wanted: Schedule) -> str:
    """Create ``wanted``, or bring the existing schedule's action, spec and policy up to it
    with its state (paused or not, its note) kept; "created" or "kept"."""
    try:
        await client.create_schedule(schedule_id, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule = current.description.schedule
            schedule.action, schedule.spec, schedule.policy = (
                wanted.action, wanted.spec, wanted.policy)
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(keep_state)
        return "kept"
