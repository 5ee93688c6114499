"""The ``raise_budget`` update of a request waiting at its dollar cap, for ``/budget +N`` and
``ccb budget``: the workflow's validator says whether the raise is taken (the max one raise
may add, a run that waits, a person), and its answer gives the new cap."""

from __future__ import annotations

import asyncio

from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError, RPCStatusCode

from models.spend import BudgetRaise, BudgetRaiseAnswer
from starter.dispatch import (
    RESULT_WAIT_SECONDS,
    RPC_TIMEOUT,
    Dispatcher,
    Outcome,
    TemporalUnavailable,
)
from workflows import names

RAISE_BUDGET_UPDATE = "raise_budget"
REQUEST_WORKFLOWS = (names.CREATION_WORKFLOW, names.UPDATE_WORKFLOW)


def _unavailable(exc: Exception) -> TemporalUnavailable:
    return TemporalUnavailable(f"Temporal did not answer ({type(exc).__name__}); try again")


async def raise_budget(dispatcher: Dispatcher, repo: str, issue: int, ask: BudgetRaise,
                       update_id: str | None = None) -> Outcome:
    """Send ``ask`` to the request of ``issue`` (at most once per ``update_id``)."""
    found = await dispatcher.find(repo, issue)
    if found is None or found[0] not in REQUEST_WORKFLOWS:
        return Outcome("not_found", f"no request is working on #{issue}", accepted=False)
    kind, handle, status = found
    if status != WorkflowExecutionStatus.RUNNING:
        state = status.name.lower() if status else "not running"
        return Outcome("rejected", f"{handle.id} is {state}: no dollar cap to raise",
                       handle.id, kind, accepted=False)
    try:
        update = await handle.start_update(
            RAISE_BUDGET_UPDATE, ask, id=update_id, result_type=BudgetRaiseAnswer,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED, rpc_timeout=RPC_TIMEOUT)
        answer: BudgetRaiseAnswer | None = await asyncio.wait_for(update.result(),
                                                                  RESULT_WAIT_SECONDS)
    except WorkflowUpdateFailedError as exc:
        reason = getattr(exc.cause, "message", "") or str(exc.cause or exc)
        return Outcome("rejected", f"the dollar cap was not raised: {reason}", handle.id, kind,
                       accepted=False)
    except TimeoutError:  # accepted; the handler is still recording the raise
        answer = None
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise _unavailable(exc) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Outcome("rejected", f"{handle.id} is not running: no dollar cap to raise",
                           handle.id, kind, accepted=False)
        raise _unavailable(exc) from None
    message = answer.message if answer else f"raised by ${ask.amount_usd:.2f}"
    return Outcome("updated", f"dollar cap raised: {message}", handle.id, kind, accepted=True,
                   details={"cap_usd": answer.cap_usd} if answer else {})
