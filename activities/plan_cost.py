"""The plan comment's cost estimate: what the rest of a request may cost in model calls.

Read from the settings (the model, its price, the output limit) and the request's usage so
far, so the estimate changes when an operator changes the model or its price. Each call's
bound is the dollar cap's own (``rules.spend.fresh_step_usd``: a fresh step's prompt and the
output limit), so "at most" is what the cap must allow for the request to finish unattended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.codegen.pricing import price_for
from infra.settings import get_settings
from models.codegen import Backend
from models.plan import PlanCost, PlanCostQuery
from rules.spend import fresh_step_usd


def estimate(query: PlanCostQuery, *, model: str, max_tokens: int,
             prices: dict[str, dict[str, float]], cap_usd: float = 0.0) -> PlanCost:
    """``likely``: one code round and the review, each answer half the output limit;
    ``at_most``: every fix round and the review at the cap's bound. 0 for the offline
    generator."""
    if query.backend != Backend.CLAUDE.value:
        return PlanCost(note="the offline generator uses no model")
    price = price_for(model, prices)
    if price is None:
        return PlanCost(note=f"no price is known for {model}: set CCB_CLAUDE_PRICES")
    price = price.effective()
    assert price.cache_write is not None

    def bound(output_tokens: int) -> float:
        return fresh_step_usd(input_price=price.input, cache_write_price=price.cache_write or 0,
                              output_price=price.output, max_output_tokens=output_tokens)

    calls = query.max_fix_rounds + 1  # generation rounds and the review
    cap = f"; this request's dollar cap is ${cap_usd:.2f}" if cap_usd > 0 else ""
    return PlanCost(likely_usd=round(2 * bound(max_tokens // 2), 4),
                    at_most_usd=round(calls * bound(max_tokens), 4), calls_at_most=calls,
                    cap_usd=cap_usd,
                    note=f"{model}; ${query.spent_usd:.4f} spent on the analysis so far{cap}")


@activity.defn
def estimate_plan_cost(query: PlanCostQuery) -> PlanCost:
    """The estimate with this worker's settings. A read: safe to repeat."""
    settings = get_settings()
    return estimate(query, model=settings.claude_model, max_tokens=settings.claude_max_tokens,
                    prices=settings.claude_prices, cap_usd=settings.dollar_cap(query.repo))


PLAN_ACTIVITIES: list[Callable[..., Any]] = [estimate_plan_cost]
