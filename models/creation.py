"""Inputs, messages, progress and results of the integration-creation workflow."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from models.codegen import Backend, Finding, TokenUsage
from models.request import FieldProblem
from models.spend import SpendStatus


class ApprovalTimes(BaseModel):
    """How long a run waits for a person's decision, and how often it reminds them
    (settings ``CCB_APPROVAL_EXPIRY_HOURS`` and ``CCB_APPROVAL_REMINDER_HOURS``)."""

    approval_expiry: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    reminder_interval: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))


class CreationInput(ApprovalTimes):
    """An integration-request issue to turn into a deployed integration."""

    repo: str
    issue_number: int
    requested_by: str
    body: str | None = None
    title: str = ""
    environment: str = "development"
    max_fix_rounds: int = Field(default=3, ge=1, le=10)
    reviewers: list[str] = Field(default_factory=list)
    token_budget: int | None = None  # None: the setting CCB_TOKEN_BUDGET_PER_REQUEST
    plan_first: bool = False  # the setting CCB_PLAN_FIRST (the issue's label also turns it on)
    # USD; None: the setting (CCB_DOLLAR_BUDGET_BY_REPO, else CCB_DOLLAR_BUDGET_PER_REQUEST),
    # read by the first spend check and kept (in history) for the rest of the run.
    dollar_budget: float | None = Field(default=None, ge=0)


class ApprovalDecision(BaseModel):
    """An approval from a PR review, `/approve`, `ccb approve` or the Temporal UI, bound to
    the pull request and the head it was given on: the run refuses it for another pull
    request or another head (``workflows.approval``)."""

    reviewer: str
    source: str = "ui"  # review | comment | cli | ui
    comment: str = ""
    head_sha: str = ""  # the commit approved (at least its first 7 characters)
    pr_number: int | None = None  # the pull request it was given on (None: not on one)


class PullClosed(BaseModel):
    """A person closed the run's pull request on GitHub: merged (they approved it by merging)
    or not (the request ends)."""

    pr_number: int
    actor: str
    merged: bool = False
    head_sha: str = ""  # the head it was closed or merged at


class RequestEdited(BaseModel):
    """A person edited the request's issue: before its pull request exists, the run starts
    again with this text (``issues.edited``)."""

    title: str = ""
    body: str | None = None
    actor: str


class ChangeRequest(BaseModel):
    """Changes requested by a reviewer: their text goes back to code generation."""

    reviewer: str
    text: str = Field(min_length=1, max_length=20_000)
    # Where it came from (``comment:<id>``, ``review:<id>``); a repeated source counts once.
    source: str = ""


class ApprovalAnswer(BaseModel):
    accepted: bool
    message: str


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepRecord(BaseModel):
    name: str
    title: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    note: str = ""


class ErrorCategory(StrEnum):
    """SPEC "Errors"."""

    RECOVERABLE = "recoverable"
    NON_RECOVERABLE = "non-recoverable"
    CRITICAL = "critical"
    INTERNAL = "internal"  # the bot's own fault (e.g. its code failed its own checks)


class Progress(BaseModel):
    """What the `progress` query returns and the issue's progress comment shows."""

    workflow_id: str
    kind: str = "request"  # or "update": what the progress comment's heading names
    slug: str = ""
    state: str = "REQUESTED"
    current_step: str = ""
    steps: list[StepRecord] = Field(default_factory=list)
    backend: Backend | None = None
    branch: str = ""
    pr_number: int | None = None
    pr_url: str = ""
    head_sha: str = ""
    merged_sha: str = ""
    deployment: str = ""
    usage: TokenUsage = Field(default_factory=TokenUsage)
    findings: list[Finding] = Field(default_factory=list)
    error: str = ""
    error_category: ErrorCategory | None = None
    waiting_for_approval: bool = False
    waiting_for_credentials: list[str] = Field(default_factory=list)  # names, never values
    waiting_for_budget: bool = False  # stopped at the dollar cap until a writer's /budget
    spend: SpendStatus | None = None  # the latest spend check (its cap, the next call)
    next_step: str = ""  # once failed: what the person can do (the ending's words)
    plan_revision: int = 0  # plan-first: the revision posted last (0: no plan posted)
    plan_url: str = ""  # that revision's comment
    plan_approved_by: str = ""
    waiting_for_plan: bool = False


class CreationResult(BaseModel):
    slug: str = ""
    state: str
    pr_number: int | None = None
    pr_url: str = ""
    merged_sha: str = ""
    problems: list[FieldProblem] = Field(default_factory=list)
    error: str = ""
    error_category: ErrorCategory | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
