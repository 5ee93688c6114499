"""The per-request dollar cap: the spend check a workflow asks for before a model call, and
the ``raise_budget`` update a writer's ``/budget +N`` sends."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SpendCheck(BaseModel):
    """Input of ``check_spend``: whose recorded calls count, and the cap in force."""

    usage_key: str  # the request's workflow id: its model calls and its reviews' are recorded
    repo: str = ""  # the repository whose override of the cap applies
    cap_usd: float | None = Field(default=None, ge=0)  # None: the setting (0: no cap)


class SpendStatus(BaseModel):
    """What a request has spent and whether its next model call may go ahead."""

    spent_usd: float = 0.0
    cap_usd: float = 0.0  # 0: no dollar cap
    next_call_usd: float = 0.0  # the conservative estimate of the next call (rules.spend)
    go_ahead: bool = True
    raise_max_usd: float = 0.0  # the most one `/budget` may add (CCB_BUDGET_RAISE_MAX_USD)
    calls: int = 0  # model calls recorded so far
    tokens: int = 0

    @property
    def needed_usd(self) -> float:
        """How much the cap falls short of the spend plus the next call (0 when it does not)."""
        return max(0.0, round(self.spent_usd + self.next_call_usd - self.cap_usd, 6))


class BudgetRaise(BaseModel):
    """A writer's raise of a waiting request's dollar cap (``/budget +2``, ``ccb budget``).
    Not constrained here: the workflow's validator refuses what is wrong, saying why."""

    actor: str
    amount_usd: float
    source: str = ""  # comment:<id> | cli


class BudgetRaiseAnswer(BaseModel):
    accepted: bool
    message: str
    cap_usd: float = 0.0
