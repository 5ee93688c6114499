"""The token-budget check a workflow asks for before a model call."""

from __future__ import annotations

from pydantic import BaseModel


class BudgetCheck(BaseModel):
    """Input of the ``check_token_budget`` activity; ``budget`` None means the setting."""

    integration_key: str
    budget: int | None = None
