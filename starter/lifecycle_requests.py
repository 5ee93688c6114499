"""``/pause``, ``/resume``, ``/deprecate``, their ``ccb`` commands and the REST API's: one
path to ``LifecycleWorkflow`` (one action at a time per integration)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from infra.settings import Settings
from models.lifecycle_actions import LifecycleRequest, LifecycleResult, lifecycle_workflow_id
from starter.dispatch import Outcome, TemporalUnavailable

WORKFLOW = "LifecycleWorkflow"
RPC_TIMEOUT = timedelta(seconds=10)
RESULT_WAIT = timedelta(minutes=3)  # the CLI waits this long for the action to be done


async def start_lifecycle(client: Client, settings: Settings, request: LifecycleRequest,
                          *, wait: bool) -> Outcome:
    """Start the action; with ``wait`` also its result (the CLI), else only that it started
    (a webhook: the workflow comments on the issue when it is done)."""
    workflow_id = lifecycle_workflow_id(request.slug)
    try:
        handle = await client.start_workflow(
            WORKFLOW, request, id=workflow_id, task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            result_type=LifecycleResult, rpc_timeout=RPC_TIMEOUT)
    except WorkflowAlreadyStartedError:
        return Outcome("rejected", f"another lifecycle action on {request.slug} is running: "
                       "wait for it, then ask again", workflow_id, WORKFLOW, accepted=False)
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from None
    if not wait:
        return Outcome("started", f"{request.action} of {request.slug} started", workflow_id,
                       WORKFLOW, accepted=True)
    try:
        result = await asyncio.wait_for(handle.result(), RESULT_WAIT.total_seconds())
    except TimeoutError:
        return Outcome("started", f"{request.action} of {request.slug} started but did not "
                       f"finish within {RESULT_WAIT.total_seconds():g} s: is a worker "
                       f"running? It goes on by itself ({workflow_id})", workflow_id, WORKFLOW)
    except WorkflowFailureError as exc:
        cause = exc.cause
        reason = getattr(cause, "message", "") or str(cause or exc)
        return Outcome("rejected", reason, workflow_id, WORKFLOW, accepted=False)
    where = ", ".join(e.value for e in result.environments) or "no environment"
    return Outcome("updated", f"{request.slug} is {result.state} ({where}): {result.detail}",
                   workflow_id, WORKFLOW, accepted=True)
