"""``/promote``, ``ccb promote`` and the REST API's promote: one path to a version's promotion.

A running promotion gets the ``promote`` update (its validator answers: bound to the
commit, only for an environment entered on approval, never from the bot). When the version's
promotion has ended (it stopped at a failed gate, a missing credential, an expired wait), a
new run starts from the environment before the one asked for, where the version must be
live, with the person's approval already given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from infra.flags import flags_for
from infra.settings import Settings
from models.deployment import Environment
from models.flags import PromotionPolicy
from models.promotion import (
    PromoteAnswer,
    PromoteRequest,
    PromotionInput,
    promotion_workflow_id,
)
from registry.deployments import live_deployment
from registry.store import Registry
from rules.promotion import entry_policy
from starter.deploy_requests import DeployRefused, merged_version
from starter.dispatch import RESULT_WAIT_SECONDS, RPC_TIMEOUT, Outcome, TemporalUnavailable

WORKFLOW = "PromotionWorkflow"


async def promote(client: Client | Callable[[], Awaitable[Client]], registry: Registry,
                  settings: Settings, *, slug: str, request: PromoteRequest,
                  version: str = "") -> Outcome:
    """Ask for ``version`` (the newest merged when empty) of ``slug`` to enter
    ``request.environment``; what happened, in one sentence. What the registry can refuse
    (no such version, another commit, not live in the environment before) is refused
    before Temporal is asked (``client`` may be a function that connects)."""
    try:
        version, sha = await asyncio.to_thread(merged_version, registry, slug, version)
    except DeployRefused as exc:
        return Outcome("rejected", str(exc), accepted=False)
    workflow_id = promotion_workflow_id(slug, version)
    refused = await asyncio.to_thread(_refusal, registry, settings, slug, version, sha,
                                      request)
    if refused:
        return _no(refused, workflow_id)
    if not isinstance(client, Client):
        client = await client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        status = (await handle.describe(rpc_timeout=RPC_TIMEOUT)).status
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from None
        status = None
    if status == WorkflowExecutionStatus.RUNNING:
        return await _update(handle, request, workflow_id)
    return await _restart(client, registry, settings, slug=slug, version=version, sha=sha,
                          request=request, workflow_id=workflow_id)


def _refusal(registry: Registry, settings: Settings, slug: str, version: str, sha: str,
             request: PromoteRequest) -> str:
    """Why the registry already says no ('' when it does not)."""
    order = settings.environment_order
    target = request.environment
    if target not in order:
        return (f"{target} is not in the environments ({', '.join(order)}): set "
                "CCB_ENVIRONMENTS")
    if order.index(target) == 0:
        return (f"{target} is the first environment: merged versions deploy there "
                f"themselves (or with `ccb deploy {slug} --env {target}`)")
    given = request.commit_sha.lower()
    if given and (len(given) < 7 or not sha.lower().startswith(given)):
        return (f"{given} is not the commit {version} merged at: promote {sha[:7]} "
                "(approvals are bound to the commit)")
    if len(sha) < 7:
        return (f"{slug} {version} was recorded without its commit: merge it again with an "
                "update request")
    previous = order[order.index(target) - 1]
    live = live_deployment(registry, slug, previous.value)
    if live is None or live.version != version:
        where = f"{live.version} is live there" if live else "nothing is live there"
        return (f"{slug} {version} must be live in {previous} before it goes to {target} "
                f"({where}): promote it to {previous} first")
    return ""


async def _update(handle: Any, request: PromoteRequest, workflow_id: str) -> Outcome:
    """The ``promote`` update: its validator's answer at once; the handler's result when it
    comes within a moment (it records the approval), else that it was accepted."""
    try:
        update = await handle.start_update(
            "promote", request, wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=PromoteAnswer, rpc_timeout=RPC_TIMEOUT)
        answer = await asyncio.wait_for(update.result(), RESULT_WAIT_SECONDS)
    except WorkflowUpdateFailedError as exc:
        reason = getattr(exc.cause, "message", "") or str(exc.cause or exc)
        return Outcome("rejected", f"promotion not accepted: {reason}", workflow_id, WORKFLOW,
                       accepted=False)
    except TimeoutError:  # accepted; the handler is still recording it
        return Outcome("updated", f"promotion of {workflow_id} accepted", workflow_id,
                       WORKFLOW, accepted=True)
    except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
        raise TemporalUnavailable(f"the promotion {workflow_id} did not answer "
                                  f"({type(exc).__name__}): is a worker running?") from None
    return Outcome("updated", answer.message, workflow_id, WORKFLOW, accepted=True)


async def _restart(client: Client, registry: Registry, settings: Settings, *, slug: str,
                   version: str, sha: str, request: PromoteRequest,
                   workflow_id: str) -> Outcome:
    """A new promotion run from the environment before the one asked for (``_refusal``
    has checked the version is live there)."""
    order = settings.environment_order
    target = request.environment
    previous = order[order.index(target) - 1]
    needs_person = entry_policy(flags_for(target)) == PromotionPolicy.APPROVAL
    integration = await asyncio.to_thread(registry.get, slug)
    inp = PromotionInput(slug=slug, version=version, commit_sha=sha,
                         from_environment=previous, repo=integration.repo or settings.github_repo,
                         issue_number=integration.issue_number, requested_by=request.approver,
                         approvals=[request] if needs_person else [])
    try:
        await client.start_workflow(
            WORKFLOW, inp, id=workflow_id, task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE, rpc_timeout=RPC_TIMEOUT)
    except WorkflowAlreadyStartedError:  # started meanwhile (another /promote): tell it
        return await _update(client.get_workflow_handle(workflow_id), request, workflow_id)
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from None
    return Outcome("started", f"promotion of {slug} {version} ({sha[:7]}) from {previous} to "
                   f"{target} started" + (f", approved by {request.approver}"
                                          if needs_person else ""),
                   workflow_id, WORKFLOW, accepted=True)


def _no(message: str, workflow_id: str) -> Outcome:
    return Outcome("rejected", message, workflow_id, WORKFLOW, accepted=False)


def environment_named(text: str) -> Environment | None:
    try:
        return Environment(text.strip().lower())
    except ValueError:
        return None

