"""The dollar cap's decision, pure: what the next model call may cost, and whether it may go.

The next call is estimated conservatively as the larger of
- the costliest model step this request has recorded (a step is one activity attempt: its
  first answer and any repair turn), and
- a fresh step's bound: ``PROMPT_ESTIMATE_TOKENS`` of prompt at the dearer of the input and
  cache-write prices, plus the call's ``max_tokens`` of output at the output price.
The call goes ahead only when the recorded spend plus that estimate stays within the cap; a
cap of 0 means none. Failing closed is the activity's part: an unreadable registry or an
unpriced model never reaches this with a guess.
"""

from __future__ import annotations

from collections.abc import Iterable

PROMPT_ESTIMATE_TOKENS = 10_000
PER_MILLION = 1_000_000


def fresh_step_usd(*, input_price: float, cache_write_price: float, output_price: float,
                   max_output_tokens: int) -> float:
    """The bound of a step with no history (prices in USD per million tokens)."""
    prompt = PROMPT_ESTIMATE_TOKENS * max(input_price, cache_write_price)
    return round((prompt + max_output_tokens * output_price) / PER_MILLION, 6)


def next_call_usd(step_costs: Iterable[float], fresh: float) -> float:
    """The estimate of the next call: the costliest recorded step, or ``fresh`` if higher."""
    return max([fresh, *step_costs])


def may_call(*, spent: float, next_call: float, cap: float) -> bool:
    """Whether a call estimated at ``next_call`` keeps ``spent`` within ``cap`` (0: no cap)."""
    if cap <= 0:
        return True
    return spent + next_call <= cap
