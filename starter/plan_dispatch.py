"""The plan's answers sent to the request's workflow: ``approve_plan`` and ``revise_plan``
updates (``workflows.plan_gate``), from a comment, the CLI or the API.

Like ``Dispatcher.approve``: the update's validator decides, so the caller learns at once
whether the answer was taken, and why not (another revision, nothing waiting, the bot).
"""

from __future__ import annotations

import asyncio

from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError, RPCStatusCode

from models.plan import PlanAnswer, PlanApproval, PlanRevision
from starter.commands import Command, CommandName
from starter.dispatch import RESULT_WAIT_SECONDS, RPC_TIMEOUT, Dispatcher, Outcome
from starter.dispatch import TemporalUnavailable as Unavailable

APPROVE_PLAN_UPDATE = "approve_plan"  # workflows.plan_gate's names
REVISE_PLAN_UPDATE = "revise_plan"


def plan_answer(command: Command, actor: str, comment_id: int) -> PlanApproval | PlanRevision:
    """``/approve-plan [N]`` or ``/revise-plan <what>`` as the update it sends: bound to the
    revision it names and to the comment (an older comment answered an older revision)."""
    if command.name is CommandName.APPROVE_PLAN:
        return PlanApproval(reviewer=actor, source="comment", comment_id=comment_id,
                            revision=int(command.text) if command.text else None)
    return PlanRevision(reviewer=actor, source="comment", comment_id=comment_id,
                        text=command.text)


async def answer_plan(dispatcher: Dispatcher, repo: str, issue: int,
                      answer: PlanApproval | PlanRevision,
                      update_id: str | None = None) -> Outcome:
    """Send ``answer`` to the request of ``issue``; accepted, or rejected saying why."""
    name = APPROVE_PLAN_UPDATE if isinstance(answer, PlanApproval) else REVISE_PLAN_UPDATE
    what = "plan approval" if isinstance(answer, PlanApproval) else "plan revision"
    found = await dispatcher.find(repo, issue)
    if found is None:
        return Outcome("not_found", f"no workflow is working on #{issue}: nothing has a plan")
    kind, handle, status = found
    if status != WorkflowExecutionStatus.RUNNING:
        state = status.name.lower() if status else "unknown"
        return Outcome("rejected", f"{handle.id} is {state}: no plan waits", handle.id, kind,
                       accepted=False)
    try:
        update = await handle.start_update(name, answer, id=update_id,
                                           wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                                           result_type=PlanAnswer, rpc_timeout=RPC_TIMEOUT)
        result: PlanAnswer | None = await asyncio.wait_for(update.result(),
                                                           RESULT_WAIT_SECONDS)
    except WorkflowUpdateFailedError as exc:
        reason = getattr(exc.cause, "message", "") or str(exc.cause or exc)
        return Outcome("rejected", f"{what} not accepted: {reason}", handle.id, kind,
                       accepted=False)
    except TimeoutError:  # accepted; the handler is still at work
        result = None
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise Unavailable(f"Temporal did not answer ({type(exc).__name__}); try again") from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Outcome("rejected", f"{handle.id} is not running: no plan waits", handle.id,
                           kind, accepted=False)
        raise Unavailable(f"Temporal did not answer ({type(exc).__name__}); try again") from None
    message = f"{what} accepted" + (f": {result.message}" if result else "")
    return Outcome("updated", message, handle.id, kind, accepted=True)
