"""Every workflow interaction of the starter and the CLI: start, signal, update, query, cancel.

Calls are by workflow *type name* (``workflows.names``), so workflows that do not exist yet are
routed too: when a type is not among the worker's workflows (``workflows.registry``), the
interaction is logged and reported as ``not_registered`` instead of starting something no
worker can run. Each call is bounded by ``RPC_TIMEOUT``; a Temporal that does not answer
raises ``TemporalUnavailable``.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from temporalio import workflow as temporal_workflow
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.contribution import ContributionInput
from models.creation import (
    ApprovalAnswer,
    ApprovalDecision,
    ApprovalTimes,
    ChangeRequest,
    CreationInput,
    Progress,
)
from models.credentials import CredentialsSet
from models.github import UpsertComment
from models.intake import IntakeInput, intake_workflow_id
from models.update import UpdateInput
from models.webhooks import ReviewRequest
from starter.progress_text import describe_progress
from workflows import names

log = structlog.get_logger("ccb.dispatch")

RPC_TIMEOUT = timedelta(seconds=5)
RESULT_WAIT_SECONDS = 2.0


class TemporalUnavailable(Exception):
    """Temporal did not answer in time: nothing was decided, the caller may try again."""


@dataclass(frozen=True)
class Outcome:
    """What happened: ``status`` for machines, ``message`` (one sentence) for people."""

    status: str
    message: str
    workflow_id: str = ""
    workflow_type: str = ""
    accepted: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "message": self.message, **self.details}
        if self.workflow_id:
            data["workflow_id"] = self.workflow_id
        if self.workflow_type:
            data["workflow_type"] = self.workflow_type
        if self.accepted is not None:
            data["accepted"] = self.accepted
        return data


def configured_reviewers() -> list[str]:
    """``CCB_REVIEWERS``: asked to review every bot pull request (with CODEOWNERS')."""
    from infra.settings import get_settings

    return get_settings().reviewer_logins


def registered_workflows() -> frozenset[str]:
    """The workflow type names the worker hosts (``workflows.registry``; its first import
    takes seconds, so the starter does it at start, not on a delivery)."""
    from workflows.registry import ALL_WORKFLOWS

    return _names_of(tuple(ALL_WORKFLOWS))


@functools.cache
def _names_of(classes: tuple[type, ...]) -> frozenset[str]:
    found = set()
    for cls in classes:
        definition = temporal_workflow._Definition.from_class(cls)
        if definition is not None and definition.name:
            found.add(definition.name)
    return frozenset(found)


def _unavailable(exc: Exception) -> TemporalUnavailable:
    return TemporalUnavailable(f"Temporal did not answer ({type(exc).__name__}); try again")


def _not_found(exc: RPCError) -> bool:
    return exc.status == RPCStatusCode.NOT_FOUND


class Dispatcher:
    """The bot's Temporal client, used the way the routing table says."""

    def __init__(self, client: Client, task_queue: str,
                 registered: frozenset[str] | None = None,
                 approval: ApprovalTimes | None = None,
                 reviewers: list[str] | None = None, plan_first: bool = False) -> None:
        self.client, self.plan_first = client, plan_first  # plan_first: CCB_PLAN_FIRST
        self.task_queue = task_queue
        self.registered = registered if registered is not None else registered_workflows()
        self.approval = approval or ApprovalTimes()  # the settings' wait for a person
        self.reviewers = reviewers if reviewers is not None else configured_reviewers()

    # -- starting ------------------------------------------------------------------------------

    def request_workflow(self, repo: str, issue: int) -> tuple[str, str]:
        """(type, id) handling a creation request today: the creation workflow once it is
        registered, the intake workflow until then."""
        if names.CREATION_WORKFLOW in self.registered:
            return names.CREATION_WORKFLOW, names.creation_workflow_id(repo, issue)
        return names.INTAKE_WORKFLOW, intake_workflow_id(repo, issue)

    def request_input(self, repo: str, issue: int, actor: str, title: str,
                      body: str | None) -> CreationInput | IntakeInput:
        if names.CREATION_WORKFLOW in self.registered:
            return CreationInput(repo=repo, issue_number=issue, requested_by=actor,
                                 body=body, title=title, reviewers=self.reviewers,
                                 plan_first=self.plan_first, **dict(self.approval))
        return IntakeInput(repo=repo, issue_number=issue, requested_by=actor, body=body,
                           title=title)

    async def start_request(self, repo: str, issue: int, actor: str, title: str,
                            body: str | None, *, update: bool = False) -> Outcome:
        """Start the workflow for a request issue once: a repeat joins or names the first."""
        return await self._start_once(*self._request_start(repo, issue, actor, title, body,
                                                          update=update))

    def _request_start(self, repo: str, issue: int, actor: str, title: str,
                       body: str | None, *, update: bool) -> tuple[str, str, Any]:
        """(type, id, input) of a request issue's workflow: the update's, or the request's."""
        if update:
            return (names.UPDATE_WORKFLOW, names.update_workflow_id(repo, issue),
                    UpdateInput(repo=repo, issue_number=issue, requested_by=actor, body=body,
                                title=title, reviewers=self.reviewers, **dict(self.approval)))
        kind, workflow_id = self.request_workflow(repo, issue)
        return kind, workflow_id, self.request_input(repo, issue, actor, title, body)

    async def start_review(self, request: ReviewRequest) -> Outcome:
        workflow_id = names.review_workflow_id(request.repo, request.pr_number, request.head_sha)
        return await self._start_once(names.REVIEW_WORKFLOW, workflow_id, request)

    async def start_contribution(self, contribution: ContributionInput) -> Outcome:
        """Record and deploy what a person's merged pull request changed (once per merge)."""
        workflow_id = names.contribution_workflow_id(contribution.repo, contribution.pr_number,
                                                     contribution.merge_sha)
        return await self._start_once(names.CONTRIBUTION_WORKFLOW, workflow_id, contribution)

    async def start_reply(self, reply: UpsertComment, key: str) -> Outcome:
        """Post one bot comment through ``BotReplyWorkflow`` (at most once per ``key``)."""
        workflow_id = names.reply_workflow_id(reply.repo, reply.number, key)
        return await self._start_once(names.REPLY_WORKFLOW, workflow_id, reply)

    async def _start_once(self, kind: str, workflow_id: str, arg: Any) -> Outcome:
        if kind not in self.registered:
            log.warning("workflow type not registered", workflow_type=kind,
                        workflow_id=workflow_id)
            return Outcome("not_registered", f"{kind} is not registered on the worker yet; "
                           "nothing was started", workflow_id, kind)
        try:
            await self.client.start_workflow(
                kind, arg, id=workflow_id, task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=RPC_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            return Outcome("exists", f"{workflow_id} already ran for this; nothing new started",
                           workflow_id, kind)
        except RPCError as exc:
            raise _unavailable(exc) from None
        return Outcome("started", f"{kind} {workflow_id} is on it", workflow_id, kind)

    # -- finding the workflow of an issue ------------------------------------------------------

    def candidates(self, repo: str, issue: int) -> list[tuple[str, str]]:
        """(type, id) of every workflow that may own ``issue``, most specific first."""
        found = [(names.CREATION_WORKFLOW, names.creation_workflow_id(repo, issue)),
                 (names.UPDATE_WORKFLOW, names.update_workflow_id(repo, issue)),
                 (names.INTAKE_WORKFLOW, intake_workflow_id(repo, issue))]
        return [c for c in found if c[0] in self.registered]

    async def credentials_set(self, slug: str, environment: str,
                              stored: list[str]) -> list[str]:
        """Signal ``credentials_set`` to every running request of ``slug`` that waits for
        credentials; their ids."""
        told: list[str] = []
        query = (f"ExecutionStatus = 'Running' AND WorkflowType IN "
                 f"('{names.CREATION_WORKFLOW}', '{names.UPDATE_WORKFLOW}')")
        try:
            async for found in self.client.list_workflows(query, rpc_timeout=RPC_TIMEOUT):
                handle = self.client.get_workflow_handle(found.id, run_id=found.run_id)
                try:
                    progress = await handle.query("progress", result_type=Progress,
                                                  rpc_timeout=RPC_TIMEOUT)
                except (RPCError, WorkflowQueryFailedError):
                    continue
                if progress.slug == slug and progress.waiting_for_credentials:
                    await handle.signal("credentials_set", CredentialsSet(
                        slug=slug, environment=environment, names=stored),
                        rpc_timeout=RPC_TIMEOUT)
                    told.append(found.id)
        except RPCError as exc:
            raise _unavailable(exc) from None
        return told

    async def find(self, repo: str, issue: int) -> tuple[str, WorkflowHandle[Any, Any],
                                                         WorkflowExecutionStatus | None] | None:
        """The workflow owning ``issue``: a running one first, else the latest that exists."""
        first: tuple[str, WorkflowHandle[Any, Any], WorkflowExecutionStatus | None] | None = None
        for kind, workflow_id in self.candidates(repo, issue):
            handle = self.client.get_workflow_handle(workflow_id)
            try:
                description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
            except RPCError as exc:
                if _not_found(exc):
                    continue
                raise _unavailable(exc) from None
            if description.status == WorkflowExecutionStatus.RUNNING:
                return kind, handle, description.status
            first = first or (kind, handle, description.status)
        return first

    async def _find_or_outcome(self, repo: str, issue: int) -> Any:
        found = await self.find(repo, issue)
        if found is None:
            return Outcome("not_found", f"no workflow is working on #{issue}; open it with the "
                           f"{names.REQUEST_LABEL!r} label first")
        return found

    # -- messages ------------------------------------------------------------------------------

    async def approve(self, repo: str, issue: int, decision: ApprovalDecision,
                      update_id: str | None = None,
                      target: tuple[str, str] | None = None) -> Outcome:
        """The ``approve`` update: its validator tells whether the approval was accepted."""
        found = await self._target(repo, issue, target)
        if isinstance(found, Outcome):
            return found
        kind, handle, status = found
        if status not in (None, WorkflowExecutionStatus.RUNNING):
            return Outcome("rejected", f"{handle.id} is {status.name.lower()}: nothing to "
                           "approve", handle.id, kind, accepted=False)
        try:
            update = await handle.start_update(
                names.APPROVE_UPDATE, decision, id=update_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=ApprovalAnswer,
                rpc_timeout=RPC_TIMEOUT,
            )
            # A rejection by the validator is already known here: result() raises at once.
            answer = await asyncio.wait_for(update.result(), RESULT_WAIT_SECONDS)
        except WorkflowUpdateFailedError as exc:
            reason = getattr(exc.cause, "message", "") or str(exc.cause or exc)
            return Outcome("rejected", f"approval not accepted: {reason}", handle.id, kind,
                           accepted=False)
        except TimeoutError:  # accepted; the handler is still at work
            answer = None
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise _unavailable(exc) from None
        except RPCError as exc:
            if _not_found(exc):
                return Outcome("rejected", f"{handle.id} is not running: nothing to approve",
                               handle.id, kind, accepted=False)
            raise _unavailable(exc) from None
        if isinstance(answer, ApprovalAnswer) and not answer.accepted:
            return Outcome("rejected", f"approval not accepted: {answer.message}", handle.id,
                           kind, accepted=False)
        message = "approval accepted"
        if isinstance(answer, ApprovalAnswer) and answer.message:
            message = f"approval accepted: {answer.message}"
        return Outcome("updated", message, handle.id, kind, accepted=True)

    async def request_changes(self, repo: str, issue: int, change: ChangeRequest,
                              target: tuple[str, str] | None = None) -> Outcome:
        found = await self._target(repo, issue, target)
        if isinstance(found, Outcome):
            return found
        kind, handle, status = found
        if status not in (None, WorkflowExecutionStatus.RUNNING):
            return Outcome("rejected", f"{handle.id} is {status.name.lower()}: it takes no "
                           "change requests", handle.id, kind)
        try:
            await handle.signal(names.REQUEST_CHANGES_SIGNAL, change, rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if _not_found(exc):
                return Outcome("rejected", f"{handle.id} is not running", handle.id, kind)
            raise _unavailable(exc) from None
        return Outcome("signalled", "change request sent to the workflow", handle.id, kind)

    async def cancel(self, repo: str, issue: int) -> Outcome:
        found = await self._find_or_outcome(repo, issue)
        if isinstance(found, Outcome):
            return found
        kind, handle, status = found
        if status != WorkflowExecutionStatus.RUNNING:
            return Outcome("rejected", f"{handle.id} is {status.name.lower()}: nothing to "
                           "cancel", handle.id, kind)
        try:
            await handle.cancel(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise _unavailable(exc) from None
        return Outcome("cancelled", f"cancellation requested for {handle.id}; it undoes what "
                       "it did and stops", handle.id, kind)

    async def retry(self, repo: str, issue: int, actor: str, title: str,
                    body: str | None) -> Outcome:
        """A new run of the request's workflow (the update's, on an update issue), only when
        its last run closed failed."""
        try:  # an update issue's own workflow first (its id names the issue as an update)
            await self.client.get_workflow_handle(names.update_workflow_id(repo, issue)
                                                  ).describe(rpc_timeout=RPC_TIMEOUT)
            is_update = names.UPDATE_WORKFLOW in self.registered
        except RPCError as exc:
            if not _not_found(exc):
                raise _unavailable(exc) from None
            is_update = False
        kind, workflow_id, arg = self._request_start(repo, issue, actor, title, body,
                                                     update=is_update)
        try:
            await self.client.start_workflow(
                kind, arg, id=workflow_id, task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                rpc_timeout=RPC_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            found = await self.find(repo, issue)
            state = found[2].name.lower() if found and found[2] else "running"
            return Outcome("rejected", f"{workflow_id} is {state}: only a failed request can "
                           "be retried", workflow_id, kind)
        except RPCError as exc:
            raise _unavailable(exc) from None
        return Outcome("started", f"retrying: a new run of {workflow_id} started", workflow_id,
                       kind)

    async def progress(self, repo: str, issue: int) -> Outcome:
        """The ``progress`` query where the workflow has it, else its Temporal status."""
        found = await self._find_or_outcome(repo, issue)
        if isinstance(found, Outcome):
            return found
        kind, handle, status = found
        state = status.name.lower() if status else "unknown"
        try:
            progress = await handle.query(names.PROGRESS_QUERY, rpc_timeout=RPC_TIMEOUT)
        except (WorkflowQueryFailedError, RPCError) as exc:
            log.info("no progress query answer", workflow_id=handle.id, error=type(exc).__name__)
            return Outcome("queried", f"{kind} {handle.id} is {state}", handle.id, kind)
        return Outcome("queried", f"{kind} {handle.id} is {state}: {describe_progress(progress)}",
                       handle.id, kind)

    async def pull_request_head(self, repo: str, issue: int) -> tuple[int, str] | None:
        """(pull request, head sha) the request waits on approval for, or None."""
        found = await self._find_or_outcome(repo, issue)
        if isinstance(found, Outcome):
            return None
        try:
            progress = await found[1].query(names.PROGRESS_QUERY, result_type=Progress,
                                            rpc_timeout=RPC_TIMEOUT)
        except (WorkflowQueryFailedError, RPCError):
            return None
        if not progress.pr_number or not progress.head_sha:
            return None
        return progress.pr_number, progress.head_sha

    async def _target(self, repo: str, issue: int, target: tuple[str, str] | None) -> Any:
        if target is None:
            return await self._find_or_outcome(repo, issue)
        kind, workflow_id = target
        if kind not in self.registered:
            log.warning("workflow type not registered", workflow_type=kind,
                        workflow_id=workflow_id)
            return Outcome("not_registered", f"{kind} is not registered on the worker yet",
                           workflow_id, kind)
        return kind, self.client.get_workflow_handle(workflow_id), None
