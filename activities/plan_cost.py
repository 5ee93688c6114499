"""The plan comment's cost estimate: what the rest of a request may cost in model calls.

Read from the settings (the model, its price, the output limit) and the request's usage so
far, so the estimate changes when an operator changes the model or its price. The prompt of
the analysis stands for the size of the next prompts (code-writing prompts carry the spec and,
in fix rounds, the previous files: twice the analysis prompt is assumed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.codegen.pricing import PER_MILLION, price_for
from infra.settings import get_settings
from models.codegen import Backend
from models.plan import PlanCost, PlanCostQuery

PROMPT_GROWTH = 2  # a code-writing prompt against the analysis prompt
DEFAULT_PROMPT_TOKENS = 4_000  # when no analysis prompt is known


def estimate(query: PlanCostQuery, *, model: str, max_tokens: int,
             prices: dict[str, dict[str, float]]) -> PlanCost:
    """``likely``: one code round, the review; ``at_most``: every fix round, each answer at the
    output limit. 0 for the offline generator."""
    if query.backend != Backend.CLAUDE.value:
        return PlanCost(note="the offline generator uses no model")
    price = price_for(model, prices)
    if price is None:
        return PlanCost(note=f"no price is known for {model}: set CCB_CLAUDE_PRICES")
    prompt = max(query.prompt_tokens, DEFAULT_PROMPT_TOKENS) * PROMPT_GROWTH
    per_call = (prompt * price.input + max_tokens * price.output) / PER_MILLION
    typical = (prompt * price.input + max_tokens / 2 * price.output) / PER_MILLION
    calls = query.max_fix_rounds + 1  # generation rounds and the review
    return PlanCost(likely_usd=round(2 * typical, 4), at_most_usd=round(calls * per_call, 4),
                    calls_at_most=calls,
                    note=f"{model}; ${query.spent_usd:.4f} spent on the analysis so far")


@activity.defn
def estimate_plan_cost(query: PlanCostQuery) -> PlanCost:
    """The estimate with this worker's settings. A read: safe to repeat."""
    settings = get_settings()
    return estimate(query, model=settings.claude_model, max_tokens=settings.claude_max_tokens,
                    prices=settings.claude_prices)


PLAN_ACTIVITIES: list[Callable[..., Any]] = [estimate_plan_cost]
