"""The Claude backend as Temporal activities (sync: the worker runs them in its thread pool).

Idempotency: a step has no side effect but its usage rows, keyed by workflow id, activity id,
attempt and turn, so a retried attempt records its own (real, billed) calls and a repeated
record of the same call is a no-op. Retrying is Temporal's: the SDK's retries are off, and
rate-limit answers set the next attempt's delay. Give ``start_to_close_timeout`` at least
twice ``CCB_CLAUDE_TIMEOUT_SECONDS`` (a step may take a repair turn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.codegen.claude_backend import ClaudeBackend
from activities.heartbeat import heartbeating
from activities.spend import SPEND_ACTIVITIES
from activities.usage import check_budget
from infra.settings import get_settings
from models.budget import BudgetCheck
from models.codegen import (
    AnalyzeInput,
    AnalyzeResult,
    GeneratedCode,
    GenerateInput,
    ReviewInput,
    ReviewResult,
)


def call_key() -> str:
    """The usage rows' key of this attempt: workflow, run, activity and attempt."""
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}/{info.attempt}"


@activity.defn
def claude_analyze(inp: AnalyzeInput) -> AnalyzeResult:
    """Request -> technical spec, by Claude."""
    with heartbeating("waiting for Claude's analysis"):
        return ClaudeBackend().analyze(inp, call_key=call_key())


@activity.defn
def claude_generate(inp: GenerateInput) -> GeneratedCode:
    """Request + spec + findings -> the integration's files, by Claude."""
    with heartbeating("waiting for Claude's code"):
        return ClaudeBackend().generate(inp, call_key=call_key())


@activity.defn
def claude_review(inp: ReviewInput) -> ReviewResult:
    """Files + automated findings -> review comments, by Claude."""
    with heartbeating("waiting for Claude's review"):
        return ClaudeBackend().review(inp, call_key=call_key())


@activity.defn
def check_token_budget(check: BudgetCheck) -> None:
    """Fail (non-retryable) once the request has spent more tokens than its budget. Read-only."""
    budget = check.budget if check.budget is not None else get_settings().token_budget_per_request
    check_budget(check.integration_key, budget)


CLAUDE_ACTIVITIES: list[Callable[..., Any]] = [
    claude_analyze, claude_generate, claude_review, check_token_budget, *SPEND_ACTIVITIES,
]
