"""The dollar cap's check before a model call: the request's recorded spend (``llm_calls``)
against its cap, and the next call's estimate (``rules.spend``).

Fails closed: a registry that cannot be read raises (Temporal retries the activity; the call
never goes ahead on a guess), and a cap with a model whose price is unknown refuses the
request, saying which price to set. Read-only, so retries are harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.codegen.pricing import price_for
from activities.usage import calls
from infra.settings import get_settings
from models.error_types import ErrorType
from models.spend import SpendCheck, SpendStatus
from registry.usage import LlmCall
from rules.spend import fresh_step_usd, may_call, next_call_usd


def _by_step(rows: list[LlmCall]) -> list[float]:
    """The cost of each recorded model step: its calls grouped by attempt (a call's key is
    ``<attempt key>:<turn>``)."""
    by_step: dict[str, float] = defaultdict(float)
    for row in rows:
        by_step[row.call_key.rsplit(":", 1)[0]] += row.cost_usd
    return list(by_step.values())


def spend_status(check: SpendCheck) -> SpendStatus:
    """The request's spend, cap and next-call estimate, and whether the call may go ahead."""
    settings = get_settings()
    cap = check.cap_usd
    if cap is None:
        cap = settings.dollar_cap(check.repo)
    rows = calls(check.usage_key)  # raises when the registry cannot be read: no guessing
    spent = round(sum(r.cost_usd for r in rows), 6)
    tokens = sum(r.input_tokens + r.output_tokens + r.cache_creation_input_tokens
                 + r.cache_read_input_tokens for r in rows)
    status = SpendStatus(spent_usd=spent, cap_usd=cap, calls=len(rows), tokens=tokens,
                         raise_max_usd=settings.budget_raise_max_usd)
    if cap <= 0:
        return status
    model = settings.claude_model
    price = price_for(model, settings.claude_prices)
    if price is None:
        raise ApplicationError(
            f"no price is known for the model {model!r}, so the dollar cap of ${cap:.2f} "
            "cannot be kept: set its price in CCB_CLAUDE_PRICES (USD per million tokens), "
            "then comment /retry", type=ErrorType.MODEL_PRICE_UNKNOWN, non_retryable=True)
    assert price.cache_write is not None  # effective() fills it in
    fresh = fresh_step_usd(input_price=price.input, cache_write_price=price.cache_write,
                           output_price=price.output, max_output_tokens=settings.claude_max_tokens)
    estimate = round(next_call_usd(_by_step(rows), fresh), 6)
    return status.model_copy(update={
        "next_call_usd": estimate, "go_ahead": may_call(spent=spent, next_call=estimate, cap=cap)})


@activity.defn
def check_spend(check: SpendCheck) -> SpendStatus:
    """Before a model call: the request's dollar spend against its cap (read-only)."""
    return spend_status(check)


SPEND_ACTIVITIES: list[Callable[..., Any]] = [check_spend]
