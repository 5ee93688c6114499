"""Commands of the registry activities that workflows call (states, events, versions)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from models.events import EventType
from models.states import IntegrationState


class TransitionCommand(BaseModel):
    slug: str
    target: IntegrationState
    actor: str
    reason: str
    workflow_id: str
    key: str  # idempotency key: the same move retried is recorded once


class EventCommand(BaseModel):
    event_id: str  # deterministic (workflow id + step): a retried write is a no-op
    type: EventType
    slug: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class VersionCommand(BaseModel):
    slug: str
    version: str
    commit_sha: str = ""
    pr_number: int | None = None
    manifest: dict[str, Any] = Field(default_factory=dict)
    make_current: bool = True
    # At the merge: what let this commit merge (tests_passed, security_scan, approved_by,
    # approved_sha), recorded once as the version.recorded event promotion gates read.
    gates: dict[str, Any] | None = None
