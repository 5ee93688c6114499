"""The types of a sync job's schedule: the bot owns one Temporal Schedule per deployed sync
job and environment, whose runs (``SyncRunWorkflow``) call the instance's ``POST /sync``."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.deployment import Environment

SYNC_SCHEDULE_PREFIX = "ccb-sync"


def sync_schedule_id(task_queue: str, environment: Environment | str, slug: str) -> str:
    """``ccb-sync-<environment>-<slug>`` for the default installation (control queue
    ``ccb``), the queue's name in it for any other, so installations never share one."""
    env = Environment(environment).value
    if task_queue == "ccb":
        return f"{SYNC_SCHEDULE_PREFIX}-{env}-{slug}"
    return f"{SYNC_SCHEDULE_PREFIX}-{task_queue}-{env}-{slug}"


def sync_run_workflow_id(environment: Environment | str, slug: str) -> str:
    """The scheduled run's id (Temporal appends the scheduled time to it)."""
    return f"sync-run-{Environment(environment).value}-{slug}"


class SyncScheduleRequest(BaseModel):
    """A sync job live in ``environment``: its schedule created, or its interval updated."""

    slug: str
    environment: Environment
    interval_seconds: int = Field(ge=60)
    host: str = ""  # the deploy host whose proxy serves the instance


class SyncScheduleChange(StrEnum):
    PAUSE = "pause"
    UNPAUSE = "unpause"
    DELETE = "delete"


class SyncSchedulesCommand(BaseModel):
    """Pause, unpause or delete every schedule of ``slug`` (the lifecycle's actions)."""

    slug: str
    change: SyncScheduleChange
    note: str = ""


class SyncRunInput(BaseModel):
    slug: str
    environment: Environment
    host: str = ""


class SyncRunResult(BaseModel):
    """What one scheduled run of the sync job did (the instance's answer)."""

    slug: str
    environment: Environment
    status: str  # complete, partial, busy
    records: int | None = None
    cursor: str | None = None
    pages_this_run: int | None = None
