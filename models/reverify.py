"""The scheduled re-verification of deployed integrations: its input, one result per
integration, and the run's summary."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.deployment import Environment

REVERIFY_SCHEDULE_ID = "ccb-reverify"


class ReverifyInput(BaseModel):
    environments: list[Environment] = Field(default_factory=lambda: [Environment.DEVELOPMENT])


class LiveIntegration(BaseModel):
    """An ACTIVE integration with a live deployment in one environment."""

    slug: str
    environment: Environment
    version: str
    host: str = ""  # the deploy host its environment names


class VerifyCheck(BaseModel):
    name: str  # health | smoke
    ok: bool
    detail: str = ""


class Reverification(BaseModel):
    slug: str
    environment: Environment
    version: str
    ok: bool
    checks: list[VerifyCheck] = Field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)


class RecordReverification(BaseModel):
    result: Reverification
    run_id: str  # the scheduled run, so a retried record is written once


class ReverifySummary(BaseModel):
    verified: list[Reverification] = Field(default_factory=list)

    @property
    def failed(self) -> list[Reverification]:
        return [r for r in self.verified if not r.ok]
