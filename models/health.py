"""Types of the health monitor's incidents: how bad a failed check is, the traffic it saw, and
the incident issue a critical failure opens (shared by the monitor workflow and its
activities)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.request import SLUG_PATTERN

TIMELINE_LIMIT = 30  # entries an incident keeps (the oldest go first); repeats are counted


class Severity(StrEnum):
    """critical: no healthy instance, or too many errors; warning: degraded or slow."""

    WARNING = "warning"
    CRITICAL = "critical"


class HealthPolicy(BaseModel):
    """When failed checks become an incident (the monitor's input, defaults for everyone)."""

    error_rate: float = Field(default=0.5, gt=0, le=1)  # 5xx share of requests in the window
    error_window_checks: int = Field(default=5, ge=2)  # samples the rate is measured over
    min_requests: int = Field(default=10, ge=1)  # fewer requests in the window: no rate
    slow_ms: float = Field(default=2000.0, gt=0)  # /health/ready slower than this: slow


class TrafficSample(BaseModel):
    """The proxy's cumulative counters for the integration's backend at one check."""

    requests: int = Field(ge=0)
    errors: int = Field(ge=0)


class Finding(BaseModel):
    """What one check found: nothing (healthy), or a severity and the words for it."""

    severity: Severity | None = None
    reason: str = ""


class TimelineEntry(BaseModel):
    at: str  # ISO time of the first check that found it
    severity: Severity
    reason: str = Field(max_length=500)
    checks: int = Field(default=1, ge=1)  # consecutive checks that found the same


class IncidentRef(BaseModel):
    number: int = Field(default=0, ge=0)
    url: str = ""
    paged: bool = False  # its text @mentions on-call (it opened critical); kept in every edit


class IncidentCommand(BaseModel):
    """Open, update or close the incident issue of one integration in one environment."""

    slug: str = Field(pattern=SLUG_PATTERN)
    environment: str
    monitor_id: str
    version: str = ""
    severity: Severity = Severity.WARNING
    timeline: list[TimelineEntry] = Field(default_factory=list)
    number: int = Field(default=0, ge=0)  # 0: find or open it
    escalated: bool = False  # a warning incident became critical: page on-call once
    paged: bool = False  # the incident's text @mentions on-call (it opened critical)
    recovered_at: str = ""
