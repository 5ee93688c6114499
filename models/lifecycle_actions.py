"""Pause, resume and deprecate: a person's lifecycle action on one integration
(workflows/lifecycle.py), and what it acts on."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.deployment import Color, Environment
from models.request import SLUG_PATTERN
from models.states import IntegrationState


class LifecycleAction(StrEnum):
    PAUSE = "pause"  # out of the proxy, monitors stopped; containers kept
    RESUME = "resume"  # healthy first, then back in the proxy, monitors again
    DEPRECATE = "deprecate"  # containers and routes removed, slot freed; history kept


TARGET_STATE = {LifecycleAction.PAUSE: IntegrationState.PAUSED,
                LifecycleAction.RESUME: IntegrationState.ACTIVE,
                LifecycleAction.DEPRECATE: IntegrationState.DEPRECATED}


def lifecycle_workflow_id(slug: str) -> str:
    """One lifecycle action at a time per integration."""
    return f"lifecycle-{slug}"


class LifecycleRequest(BaseModel):
    slug: str = Field(pattern=SLUG_PATTERN)
    action: LifecycleAction
    actor: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="cli", max_length=40)  # cli, comment, api


class LiveInEnvironment(BaseModel):
    """What one environment serves of the integration (its live deployment)."""

    slug: str
    environment: Environment
    version: str
    color: Color
    endpoint: str  # host:port of the instance
    host: str = ""  # the environment's deploy host
    health_path: str = "/health/ready"
    interval_s: float = 30.0


class LifecyclePlan(BaseModel):
    state: IntegrationState
    repo: str = ""
    issue_number: int | None = None
    live: list[LiveInEnvironment] = Field(default_factory=list)


class LifecycleResult(BaseModel):
    slug: str
    action: LifecycleAction
    state: IntegrationState
    environments: list[Environment] = Field(default_factory=list)
    detail: str = ""
