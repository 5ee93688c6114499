"""Token usage of model calls in the registry: record each call once, total it, enforce a budget."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, select
from temporalio.exceptions import ApplicationError

from activities.metrics import record_model_usage
from infra.settings import get_settings
from models.codegen import TokenUsage
from models.error_types import ErrorType
from registry.store import Registry, open_registry
from registry.usage import LlmCall


@lru_cache(maxsize=8)
def usage_registry(url: str) -> Registry:
    """The registry at ``url`` with the ``llm_calls`` table present (created if missing)."""
    registry = open_registry(url)
    SQLModel.metadata.create_all(registry.engine, tables=[LlmCall.__table__])  # type: ignore[attr-defined]
    return registry


def _registry() -> Registry:
    return usage_registry(get_settings().registry_url)


def record_call(*, call_key: str, integration_key: str, step: str, model: str,
                request_id: str, usage: TokenUsage) -> None:
    """Record one model call. Idempotent: a second record with the same ``call_key`` is a no-op
    (so a retried activity's call is counted in the metrics once, too)."""
    registry = _registry()
    with registry.session() as s:
        if s.exec(select(LlmCall).where(LlmCall.call_key == call_key)).first() is not None:
            return
        s.add(LlmCall(call_key=call_key, integration_key=integration_key, step=step,
                      model=model, request_id=request_id, input_tokens=usage.input_tokens,
                      output_tokens=usage.output_tokens,
                      cache_creation_input_tokens=usage.cache_creation_input_tokens,
                      cache_read_input_tokens=usage.cache_read_input_tokens,
                      cost_usd=usage.cost_usd))
        try:
            s.commit()
        except IntegrityError:
            s.rollback()  # a concurrent writer recorded the same call first
            return
    record_model_usage(model, usage)


def calls(integration_key: str) -> list[LlmCall]:
    """Every recorded call of one integration request, oldest first."""
    with _registry().session() as s:
        return list(s.exec(select(LlmCall).where(LlmCall.integration_key == integration_key)
                           .order_by(col(LlmCall.id))))


def total_usage(integration_key: str) -> TokenUsage:
    """The summed tokens and cost of every call recorded for ``integration_key``."""
    with _registry().session() as s:
        row = s.execute(sql_select(
            func.coalesce(func.sum(LlmCall.input_tokens), 0),
            func.coalesce(func.sum(LlmCall.output_tokens), 0),
            func.coalesce(func.sum(LlmCall.cache_creation_input_tokens), 0),
            func.coalesce(func.sum(LlmCall.cache_read_input_tokens), 0),
            func.coalesce(func.sum(LlmCall.cost_usd), 0.0),
        ).where(col(LlmCall.integration_key) == integration_key)).one()
    return TokenUsage(input_tokens=int(row[0]), output_tokens=int(row[1]),
                      cache_creation_input_tokens=int(row[2]),
                      cache_read_input_tokens=int(row[3]), cost_usd=round(float(row[4]), 6))


def check_budget(integration_key: str, budget: int) -> None:
    """Raise a non-retryable error once ``integration_key`` has spent more than ``budget`` tokens.

    Tokens of all four kinds count (``TokenUsage.total_tokens``); a budget of 0 means no limit.
    """
    if budget <= 0:
        return
    used = total_usage(integration_key).total_tokens
    if used > budget:
        raise ApplicationError(
            f"token budget of {budget} exceeded (used {used}): raise CCB_TOKEN_BUDGET "
            "or simplify the request",
            {"budget": budget, "used": used},
            type=ErrorType.TOKEN_BUDGET_EXCEEDED,
            non_retryable=True,
        )
