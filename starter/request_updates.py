"""One workflow update sent to the request of an issue, for the commands whose answer the
workflow's validator decides (``/approve-plan``, ``/revise-plan``, ``/budget``): found,
running, accepted or refused with the validator's reason; Temporal not answering is
``TemporalUnavailable`` (the webhook answers 503, GitHub delivers again)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError, RPCStatusCode

from starter.dispatch import (
    RESULT_WAIT_SECONDS,
    RPC_TIMEOUT,
    Dispatcher,
    Outcome,
    TemporalUnavailable,
)
from workflows import names

REQUEST_WORKFLOWS = (names.CREATION_WORKFLOW, names.UPDATE_WORKFLOW)


@dataclass(frozen=True)
class Taken:
    """The update was accepted: its answer (None while its handler is still at work)."""

    kind: str
    workflow_id: str
    answer: Any


def _unavailable(exc: Exception) -> TemporalUnavailable:
    return TemporalUnavailable(f"Temporal did not answer ({type(exc).__name__}); try again")


async def send_update(dispatcher: Dispatcher, repo: str, issue: int, *, name: str, arg: Any,
                      result_type: type, update_id: str | None, refused: str,
                      nothing: str, kinds: tuple[str, ...] = REQUEST_WORKFLOWS,
                      ) -> Outcome | Taken:
    """``name(arg)`` to the request of ``issue`` (a workflow of one of ``kinds``); an
    ``Outcome`` when it was not taken ("<refused>: <why>", or "... <nothing>" when no such
    request runs), else ``Taken``."""
    found = await dispatcher.find(repo, issue)
    if found is None or found[0] not in REQUEST_WORKFLOWS:
        return Outcome("not_found", f"no request is working on #{issue}: {nothing}",
                       accepted=False)
    if found[0] not in kinds:
        return Outcome("rejected", f"#{issue} is handled by {found[0]}: {nothing}",
                       found[1].id, found[0], accepted=False)
    kind, handle, status = found
    if status != WorkflowExecutionStatus.RUNNING:
        state = status.name.lower() if status else "not running"
        return Outcome("rejected", f"{handle.id} is {state}: {nothing}", handle.id, kind,
                       accepted=False)
    try:
        update = await handle.start_update(name, arg, id=update_id, result_type=result_type,
                                           wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                                           rpc_timeout=RPC_TIMEOUT)
        answer = await asyncio.wait_for(update.result(), RESULT_WAIT_SECONDS)
    except WorkflowUpdateFailedError as exc:
        reason = getattr(exc.cause, "message", "") or str(exc.cause or exc)
        return Outcome("rejected", f"{refused}: {reason}", handle.id, kind, accepted=False)
    except TimeoutError:  # accepted; the handler is still at work
        answer = None
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise _unavailable(exc) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Outcome("rejected", f"{handle.id} is not running: {nothing}", handle.id,
                           kind, accepted=False)
        raise _unavailable(exc) from None
    return Taken(kind, handle.id, answer)
