"""Plan approval (issue 15, item 2): the messages of the wait between analysis and code.

With plan-first on (the setting ``CCB_PLAN_FIRST``, or the label ``plan-first`` on the
request's issue), the creation workflow posts the analysis as a numbered *revision* of the
plan and writes no code until a person with write access approves that very revision. Both
messages name the revision they answer, so an approval given before a newer revision was
posted never approves the newer one (``workflows.plan_gate``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

PLAN_FIRST_LABEL = "plan-first"
MAX_FEEDBACK_CHARS = 20_000


class PlanBinding(BaseModel):
    """Which revision a person answers: ``revision`` when they named it, and, for a comment,
    its id (GitHub's ids grow: a comment older than the revision's comment answered an older
    revision)."""

    reviewer: str
    revision: int | None = Field(default=None, ge=1)
    comment_id: int | None = None  # the person's comment (``/approve-plan`` on GitHub)
    source: str = "ui"  # comment | cli | ui


class PlanApproval(PlanBinding):
    """``approve_plan``: code is generated from this revision."""


class PlanRevision(PlanBinding):
    """``revise_plan``: the analysis runs again with ``text``, then revision + 1 is posted."""

    text: str = Field(min_length=1, max_length=MAX_FEEDBACK_CHARS)


class PlanAnswer(BaseModel):
    accepted: bool
    message: str


class PlanCostQuery(BaseModel):
    """What the plan's cost estimate is made from: the backend, the fix rounds allowed, and
    the model's usage so far (the analysis)."""

    backend: str
    repo: str = ""  # whose dollar cap applies (CCB_DOLLAR_BUDGET_BY_REPO)
    max_fix_rounds: int = 3
    spent_usd: float = 0.0


class PlanCost(BaseModel):
    """The estimate the plan comment shows: ``likely`` (one code round and the review) and
    ``at_most`` (every fix round used, each answer at the output limit), in USD."""

    likely_usd: float = 0.0
    at_most_usd: float = 0.0
    calls_at_most: int = 0
    cap_usd: float = 0.0  # the dollar cap the request starts with (0: none)
    note: str = ""
