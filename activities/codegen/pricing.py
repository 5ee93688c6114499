"""What a Claude call costs: prices per model id, and the cost of one call's token usage.

Prices are USD per million tokens. The built-in table covers the current model families; the
``CCB_CLAUDE_PRICES`` setting overrides or extends it without a code change. A model id is
matched by its longest known prefix, so ``claude-sonnet-4-5-20250929`` uses the
``claude-sonnet-4-5`` row. An unknown model costs 0 and logs one warning per model id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import BaseModel, Field

from models.codegen import TokenUsage

log = logging.getLogger("ccb.codegen.pricing")

PER_MILLION = 1_000_000


class ModelPrice(BaseModel):
    """USD per million tokens of each kind (cache writes are the 5-minute ephemeral kind)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float | None = Field(default=None, ge=0)  # None: 1.25 x input
    cache_read: float | None = Field(default=None, ge=0)  # None: 0.1 x input

    def effective(self) -> ModelPrice:
        """This price with the cache rates filled in from Anthropic's usual ratios."""
        return ModelPrice(
            input=self.input,
            output=self.output,
            cache_write=self.input * 1.25 if self.cache_write is None else self.cache_write,
            cache_read=self.input * 0.1 if self.cache_read is None else self.cache_read,
        )


# List prices (USD / million tokens) from Anthropic's pricing page as of 2026-11; keys are
# model-id prefixes. The 5.x Sonnet/Opus-5.5 rows come from a quoted copy of that page: check
# them, and set CCB_CLAUDE_PRICES for anything new or changed (Haiku 5.5 is tiered: not here).
_OPUS_45 = ModelPrice(input=5, output=25, cache_write=6.25, cache_read=0.5)
_OPUS_4 = ModelPrice(input=15, output=75, cache_write=18.75, cache_read=1.5)
_SONNET_4 = ModelPrice(input=3, output=15, cache_write=3.75, cache_read=0.3)
_FABLE_5 = ModelPrice(input=10, output=50, cache_write=12.5, cache_read=1)
_FABLE_51 = ModelPrice(input=10, output=50, cache_write=12.5, cache_read=0.25)
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-fable-5-1": _FABLE_51,
    "claude-mythos-5-1": _FABLE_51,
    "claude-opus-5": _OPUS_45,
    "claude-opus-5-5": ModelPrice(input=4, output=20, cache_write=5, cache_read=0.2),
    "claude-opus-4-8": _OPUS_45,
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-sonnet-5": ModelPrice(input=2, output=10, cache_write=2.5, cache_read=0.2),
    "claude-sonnet-5-5": ModelPrice(input=2, output=10, cache_write=2.5, cache_read=0.1),
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-3-7-sonnet": _SONNET_4,
    "claude-haiku-4-5": ModelPrice(input=1, output=5, cache_write=1.25, cache_read=0.1),
    "claude-3-5-haiku": ModelPrice(input=0.8, output=4, cache_write=1, cache_read=0.08),
}

_warned: set[str] = set()


Overrides = Mapping[str, Mapping[str, float]]


def price_table(overrides: Overrides | None = None) -> dict[str, ModelPrice]:
    """The built-in prices with ``overrides`` (the ``claude_prices`` setting) laid over them."""
    table = dict(DEFAULT_PRICES)
    for model, fields in (overrides or {}).items():
        table[model] = ModelPrice.model_validate(dict(fields))
    return table


def price_for(model: str, overrides: Overrides | None = None) -> ModelPrice | None:
    """The price row whose key is the longest prefix of ``model``; None if none fits."""
    table = price_table(overrides)
    matches = [key for key in table if model == key or model.startswith(key + "-")]
    if not matches:
        return None
    return table[max(matches, key=len)].effective()


def with_cost(usage: TokenUsage, model: str, overrides: Overrides | None = None) -> TokenUsage:
    """``usage`` with ``cost_usd`` filled in from the price of ``model`` (0 if unknown)."""
    price = price_for(model, overrides)
    if price is None:
        if model not in _warned:
            _warned.add(model)
            log.warning("no price known for model %r: its calls are recorded at cost 0; "
                        "add it to CCB_CLAUDE_PRICES", model)
        return usage.model_copy(update={"cost_usd": 0.0})
    assert price.cache_write is not None and price.cache_read is not None
    cost = (usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_creation_input_tokens * price.cache_write
            + usage.cache_read_input_tokens * price.cache_read) / PER_MILLION
    return usage.model_copy(update={"cost_usd": round(cost, 6)})
