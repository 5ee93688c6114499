"""The registry's record of model calls (one row per Claude call, with tokens and cost), and
the input of the token-budget check."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from registry.tables import utcnow


class LlmCall(SQLModel, table=True):
    """One Messages API call made for an integration request (a repair turn is its own row)."""

    __tablename__ = "llm_calls"

    id: int | None = Field(default=None, primary_key=True)
    # Idempotency key: workflow id, activity id, attempt and call number within the attempt.
    call_key: str = Field(unique=True, index=True, max_length=400)
    integration_key: str = Field(index=True, max_length=200)
    step: str  # "analyze", "generate", "review"
    model: str
    request_id: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    created_at: datetime = Field(default_factory=utcnow)
