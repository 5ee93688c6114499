"""The ``raise_budget`` update of a request waiting at its dollar cap, for ``/budget +N`` and
``ccb budget``: the workflow's validator says whether the raise is taken (the max one raise
may add, a run that waits, a person), and its answer gives the new cap."""

from __future__ import annotations

from models.spend import BudgetRaise, BudgetRaiseAnswer
from starter.dispatch import Dispatcher, Outcome
from starter.request_updates import Taken, send_update

RAISE_BUDGET_UPDATE = "raise_budget"


async def raise_budget(dispatcher: Dispatcher, repo: str, issue: int, ask: BudgetRaise,
                       update_id: str | None = None) -> Outcome:
    """Send ``ask`` to the request of ``issue`` (at most once per ``update_id``)."""
    sent = await send_update(dispatcher, repo, issue, name=RAISE_BUDGET_UPDATE, arg=ask,
                             result_type=BudgetRaiseAnswer, update_id=update_id,
                             refused="the dollar cap was not raised",
                             nothing="no dollar cap to raise")
    if not isinstance(sent, Taken):
        return sent
    answer: BudgetRaiseAnswer | None = sent.answer
    message = answer.message if answer else f"raised by ${ask.amount_usd:.2f}"
    return Outcome("updated", f"dollar cap raised: {message}", sent.workflow_id, sent.kind,
                   accepted=True, details={"cap_usd": answer.cap_usd} if answer else {})
