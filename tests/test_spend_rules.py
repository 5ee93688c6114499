"""The dollar cap's pieces without a workflow: the `/budget` argument parser (any text), the
go-ahead decision (never past the cap), and the spend check against a real registry (failing
closed on an unpriced model)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError

from activities.spend import spend_status
from activities.usage import record_call
from infra.settings import get_settings
from models.codegen import TokenUsage
from models.error_types import ErrorType
from models.spend import SpendCheck
from registry.store import Registry
from rules.spend import PROMPT_ESTIMATE_TOKENS, fresh_step_usd, may_call, next_call_usd
from starter.commands import BUDGET_USAGE, Command, CommandMisuse, CommandName, parse_command

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)
DOLLARS = st.floats(min_value=0, max_value=1e4, allow_nan=False)


@given(st.text(max_size=200))
def test_any_budget_text_parses_to_an_amount_or_the_usage(text: str) -> None:
    parsed = parse_command("/budget " + text)
    assert isinstance(parsed, Command | CommandMisuse) and parsed.name is CommandName.BUDGET
    if isinstance(parsed, Command):
        assert Decimal(parsed.text) > 0 and parsed.text == f"{Decimal(parsed.text):.2f}"
    else:
        assert BUDGET_USAGE in parsed.problem


@given(AMOUNTS, st.sampled_from(["+{}", "{}", "${}", "+${}", " +{} ", "+{}\nthanks"]))
def test_a_valid_amount_round_trips(amount: Decimal, form: str) -> None:
    assert parse_command("/budget " + form.format(amount)) == Command(CommandName.BUDGET,
                                                                      f"{amount:.2f}")


@pytest.mark.parametrize("text", ["", "0", "+0.00", "-2", "two", "2 3", "1e3", "2.505",
                                  "nan", "inf", "1234567", "٣"])
def test_misuse_says_how(text: str) -> None:
    parsed = parse_command(f"/budget {text}")
    assert isinstance(parsed, CommandMisuse) and BUDGET_USAGE in parsed.problem


@given(DOLLARS, DOLLARS, DOLLARS)
def test_never_past_the_cap_and_always_when_well_under(spent: float, next_call: float,
                                                       cap: float) -> None:
    go = may_call(spent=spent, next_call=next_call, cap=cap)
    if cap > 0 and spent + next_call > cap:
        assert not go
    if cap <= 0 or spent + next_call <= cap * 0.99:
        assert go


@given(st.lists(DOLLARS, max_size=8), DOLLARS)
def test_the_estimate_is_never_below_a_recorded_step_or_the_fresh_bound(
        steps: list[float], fresh: float) -> None:
    estimate = next_call_usd(steps, fresh)
    assert estimate >= fresh and all(estimate >= s for s in steps)


def test_spend_is_read_from_the_recorded_calls(registry: Registry,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_CLAUDE_PRICES", json.dumps({"claude-sonnet-4-6": {
        "input": 1, "output": 10, "cache_write": 2, "cache_read": 0}}))
    monkeypatch.setenv("CCB_CLAUDE_MAX_TOKENS", "1000")
    monkeypatch.setenv("CCB_DOLLAR_BUDGET_BY_REPO", json.dumps({"acme/x": 0.5}))
    get_settings.cache_clear()
    for key, cost in (("a/1:1", 0.02), ("a/1:2", 0.03), ("b/1:1", 0.01)):
        record_call(call_key=key, integration_key="wf-1", step="generate", model="m",
                    request_id="r", usage=TokenUsage(output_tokens=100, cost_usd=cost))
    fresh = fresh_step_usd(input_price=1, cache_write_price=2, output_price=10,
                           max_output_tokens=1000)
    assert fresh == (PROMPT_ESTIMATE_TOKENS * 2 + 1000 * 10) / 1e6 == 0.03
    status = spend_status(SpendCheck(usage_key="wf-1", repo="acme/x"))
    assert (status.spent_usd, status.cap_usd, status.calls) == (0.06, 0.5, 3)
    assert status.next_call_usd == 0.05  # the attempt with a repair turn: 0.02 + 0.03
    assert status.go_ahead and status.tokens == 300
    capped = spend_status(SpendCheck(usage_key="wf-1", repo="acme/x", cap_usd=0.1))
    assert not capped.go_ahead and capped.needed_usd == pytest.approx(0.01)
    assert spend_status(SpendCheck(usage_key="wf-1", cap_usd=0)).go_ahead


def test_a_cap_with_an_unpriced_model_refuses_saying_which_price_to_set(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_CLAUDE_MODEL", "claude-unheard-of-9")
    get_settings.cache_clear()
    with pytest.raises(ApplicationError) as refused:
        spend_status(SpendCheck(usage_key="wf-2", cap_usd=1.0))
    assert refused.value.type == ErrorType.MODEL_PRICE_UNKNOWN and refused.value.non_retryable
    assert "CCB_CLAUDE_PRICES" in str(refused.value)
    assert spend_status(SpendCheck(usage_key="wf-2", cap_usd=0)).go_ahead  # no cap: no price


def test_an_unreadable_registry_is_an_error_never_a_go_ahead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_DATABASE_URL", "postgresql+psycopg2://nobody:x@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        with pytest.raises(Exception) as failed:
            spend_status(SpendCheck(usage_key="wf-3", cap_usd=1.0))
        assert not isinstance(failed.value, ApplicationError)  # retried by Temporal
        assert "OperationalError" in type(failed.value).__name__
    finally:
        get_settings.cache_clear()
