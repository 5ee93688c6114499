"""Actions on a request (the issue that asked for an integration or an update): approve,
request changes, approve or revise its plan, raise its dollar cap, retry, cancel — the same
workflow messages as the comment commands and `ccb`, through ``starter.dispatch``; each one
audited with the token's name as actor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowExecutionStatus

from models.creation import ApprovalDecision, ChangeRequest
from models.plan import PlanApproval, PlanRevision
from models.spend import BudgetRaise
from registry.queries import slug_of_issue
from starter.api.auth import OPERATE, Caller
from starter.api.common import (
    ACTION_ERRORS,
    audit,
    dispatcher_of,
    outcome_answer,
    registry_of,
    settings_of,
)
from starter.api.schemas import (
    Accepted,
    ApproveBody,
    BudgetBody,
    ChangesBody,
    PlanApproveBody,
    PlanReviseBody,
)
from starter.budget_dispatch import raise_budget
from starter.dispatch import Dispatcher, Outcome, TemporalUnavailable
from starter.issue_events import cancel_and_say
from starter.plan_dispatch import answer_plan

router = APIRouter(prefix="/requests/{issue}", tags=["requests"], responses=ACTION_ERRORS)

ISSUE = Annotated[int, Path(ge=1, le=2**31 - 1, description="the request issue's number")]


async def _deliver(request: Request, caller: Caller, action: str, issue: int,
                   send: Callable[[Dispatcher, str], Awaitable[Outcome]]) -> JSONResponse:
    """Send one message through the dispatcher, audit what came of it, answer it."""
    repo = settings_of(request).github_repo
    dispatcher = await dispatcher_of(request)
    try:
        outcome = await send(dispatcher, repo)
    except TemporalUnavailable as exc:
        raise HTTPException(503, f"{exc}; nothing was decided, try again") from None
    registry = registry_of(request)
    slug = await asyncio.to_thread(slug_of_issue, registry, repo, issue)
    await asyncio.to_thread(audit, registry, caller, action, slug=slug,
                            target=f"{repo}#{issue}", status=outcome.status,
                            message=outcome.message)
    return outcome_answer(outcome)


@router.post("/approve", response_model=Accepted, summary="Approve the request's PR at a head")
async def approve(request: Request, issue: ISSUE, body: ApproveBody,
                  caller: Caller = OPERATE) -> JSONResponse:
    """The workflow's ``approve`` update, bound to ``head_sha`` (the head you reviewed, as
    `ccb approve --head`): 200 when accepted, 409 with the workflow's reason when not."""
    decision = ApprovalDecision(reviewer=caller.name, source="api", comment=body.comment,
                                head_sha=body.head_sha)
    return await _deliver(request, caller, "approve", issue,
                          lambda d, repo: d.approve(repo, issue, decision))


@router.post("/request-changes", status_code=202, response_model=Accepted)
async def request_changes(request: Request, issue: ISSUE, body: ChangesBody,
                          caller: Caller = OPERATE) -> JSONResponse:
    """The ``request_changes`` signal: the text goes back to code generation."""
    change = ChangeRequest(reviewer=caller.name, text=body.text, source="api")
    return await _deliver(request, caller, "request-changes", issue,
                          lambda d, repo: d.request_changes(repo, issue, change))


@router.post("/approve-plan", response_model=Accepted, summary="Approve a plan revision")
async def approve_plan(request: Request, issue: ISSUE, body: PlanApproveBody,
                       caller: Caller = OPERATE) -> JSONResponse:
    """Plan-first: the ``approve_plan`` update, bound to ``revision``; the code is written
    from it. 200 when accepted, 409 with the workflow's reason when not."""
    answer = PlanApproval(reviewer=caller.name, revision=body.revision, source="api")
    return await _deliver(request, caller, "approve-plan", issue,
                          lambda d, repo: answer_plan(d, repo, issue, answer))


@router.post("/revise-plan", response_model=Accepted, summary="Ask for a plan's next revision")
async def revise_plan(request: Request, issue: ISSUE, body: PlanReviseBody,
                      caller: Caller = OPERATE) -> JSONResponse:
    """Plan-first: the ``revise_plan`` update: the analysis runs again with ``text`` and
    the next revision is posted."""
    answer = PlanRevision(reviewer=caller.name, revision=body.revision, source="api",
                          text=body.text)
    return await _deliver(request, caller, "revise-plan", issue,
                          lambda d, repo: answer_plan(d, repo, issue, answer))


@router.post("/budget", response_model=Accepted, summary="Raise a waiting request's dollar cap")
async def budget(request: Request, issue: ISSUE, body: BudgetBody,
                 caller: Caller = OPERATE) -> JSONResponse:
    """The ``raise_budget`` update of a request waiting at its dollar cap (at most
    ``CCB_BUDGET_RAISE_MAX_USD``): it goes on where it stopped."""
    ask = BudgetRaise(actor=caller.name, amount_usd=body.amount_usd, source="api")
    return await _deliver(request, caller, "budget", issue,
                          lambda d, repo: raise_budget(d, repo, issue, ask))


@router.post("/cancel", status_code=202, response_model=Accepted)
async def cancel(request: Request, issue: ISSUE, caller: Caller = OPERATE) -> JSONResponse:
    """Cancel the request's workflow: it undoes what it did and stops."""
    return await _deliver(request, caller, "cancel", issue,
                          lambda d, repo: cancel_and_say(d, repo, issue,
                                                         f"{caller.name}, through the API"))


def _read_issue(repo: str, issue: int) -> tuple[str, str | None]:
    """The issue's title and body now: a retry runs on its current text, like `/retry`."""
    from activities.github_client import github_calls

    with github_calls() as github:
        found = github.get_repo(repo).get_issue(issue)
        return found.title, found.body


async def _retry(dispatcher: Dispatcher, repo: str, issue: int, actor: str) -> Outcome:
    found = await dispatcher.find(repo, issue)
    if found is None:
        return Outcome("not_found", f"no workflow has worked on #{issue}: nothing to retry")
    kind, handle, status = found
    if status != WorkflowExecutionStatus.FAILED:
        state = status.name.lower() if status else "unknown"
        return Outcome("rejected", f"{handle.id} is {state}: only a failed request can be "
                       "retried", handle.id, kind)
    try:
        title, body = await asyncio.to_thread(_read_issue, repo, issue)
    except Exception as exc:  # noqa: BLE001 - GitHub's refusal, said in one sentence
        return Outcome("rejected", f"cannot read issue #{issue} from GitHub "
                       f"({type(exc).__name__}): check the GitHub settings and try again")
    return await dispatcher.retry(repo, issue, actor, title, body)


@router.post("/retry", status_code=202, response_model=Accepted)
async def retry(request: Request, issue: ISSUE, caller: Caller = OPERATE) -> JSONResponse:
    """Start a failed request again, on its issue's current text."""
    return await _deliver(request, caller, "retry", issue,
                          lambda d, repo: _retry(d, repo, issue, caller.name))
