"""Audit events of SPEC "Events"."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class EventType(StrEnum):
    INTEGRATION_REQUESTED = "integration.requested"
    REQUIREMENTS_ANALYZED = "requirements.analyzed"
    CODE_GENERATED = "code.generated"
    TESTS_COMPLETED = "tests.completed"
    REVIEW_COMPLETED = "review.completed"
    DEPLOYMENT_STARTED = "deployment.started"
    DEPLOYMENT_COMPLETED = "deployment.completed"
    INTEGRATION_ACTIVATED = "integration.activated"
    ERROR_OCCURRED = "error.occurred"
    VERIFICATION_COMPLETED = "verification.completed"  # a scheduled re-verification's result
    OPERATOR_ACTION = "operator.action"  # an action taken through the REST API (who, what)
    VERSION_RECORDED = "version.recorded"  # a merged commit with its gates (tests, scan, approver)
    PROMOTION_APPROVED = "promotion.approved"  # a person let a version at a commit into an env
    LIFECYCLE_CHANGED = "integration.lifecycle"  # paused, resumed or deprecated: who and why
    PLAN_REVISED = "plan.revised"  # plan-first: a person's feedback made a new revision
    PLAN_APPROVED = "plan.approved"  # plan-first: who approved which revision
    BUDGET_RAISED = "budget.raised"  # a writer raised a request's dollar cap: who, how much


class AuditEvent(BaseModel):
    """One event as the registry returns it."""

    id: str
    type: EventType
    timestamp: datetime
    integration_id: int | None
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
