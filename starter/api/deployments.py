"""Deployments: the list, and the deploy and rollback actions (``DeployWorkflow``, as `ccb
deploy` and `ccb rollback` start it)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from models.deploy import DeployInput
from models.deployment import Environment
from models.lifecycle_actions import LifecycleAction, LifecycleRequest
from models.request import SLUG_PATTERN
from registry.deployments import deployments
from starter.api.auth import OPERATE, READ, Caller
from starter.api.common import (
    ACTION_ERRORS,
    NOT_FOUND,
    READ_ERRORS,
    audit,
    dispatcher_of,
    integration_or_404,
    registry_of,
    settings_of,
)
from starter.api.integrations import SLUG
from starter.api.schemas import (
    Accepted,
    DeployBody,
    DeploymentList,
    LifecycleBody,
    PromoteBody,
    RollbackBody,
)
from starter.deploy_requests import (
    DeployRefused,
    deploy_request,
    merged_version,
    rollback_request,
)

router = APIRouter(tags=["deployments"])


@router.get("/deployments", response_model=DeploymentList, dependencies=[READ],
            responses={**READ_ERRORS, **NOT_FOUND})
async def list_deployments(
    request: Request,
    slug: Annotated[str | None, Query(pattern=SLUG_PATTERN)] = None,
    environment: Annotated[Environment | None, Query()] = None,
) -> DeploymentList:
    """Every deployment, oldest first (`ccb deployments --all`), by integration and
    environment."""
    registry = registry_of(request)

    def read() -> DeploymentList:
        if slug:
            integration_or_404(registry, slug)
        return DeploymentList(deployments=deployments(
            registry, slug, environment.value if environment else None))

    return await asyncio.to_thread(read)


async def _start(request: Request, caller: Caller, action: str, inp: DeployInput,
                 workflow_id: str) -> JSONResponse:
    """Start the deployment (once per id) and answer 202 with its workflow id."""
    settings = settings_of(request)
    dispatcher = await dispatcher_of(request)
    registry = registry_of(request)
    try:
        await dispatcher.client.start_workflow(
            "DeployWorkflow", inp, id=workflow_id, task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
    except WorkflowAlreadyStartedError:
        message = f"{workflow_id} is already running: wait for it (GET /api/v1/deployments)"
        await asyncio.to_thread(audit, registry, caller, action, slug=inp.slug,
                                target=workflow_id, status="rejected", message=message)
        raise HTTPException(409, message) from None
    except RPCError as exc:
        raise HTTPException(503, f"Temporal refused to start {workflow_id}: {exc.message}; "
                                 "try again") from None
    message = (f"{action} of {inp.slug} {inp.version} to {inp.environment} started")
    await asyncio.to_thread(audit, registry, caller, action, slug=inp.slug, target=workflow_id,
                            status="started", message=message)
    return JSONResponse(Accepted(status="started", message=message, workflow_id=workflow_id,
                                 workflow_type="DeployWorkflow").model_dump(), status_code=202)


def _read_files(repo: str, slug: str, ref: str) -> dict[str, str]:
    """The integration's files at the merged commit, read as the update workflow reads them."""
    from activities.github_client import github_calls
    from activities.github_review import read_repo_files
    from models.update import RepoFilesQuery

    read: Any = getattr(read_repo_files, "__wrapped__", read_repo_files)  # not as an activity
    with github_calls():
        files: dict[str, str] = read(RepoFilesQuery(repo=repo, prefix=f"integrations/{slug}/",
                                                    ref=ref or "main"))
    return files


@router.post("/integrations/{slug}/deploy", status_code=202, response_model=Accepted,
             responses=ACTION_ERRORS)
async def deploy(request: Request, slug: SLUG, body: DeployBody,
                 caller: Caller = OPERATE) -> JSONResponse:
    """Deploy a merged version blue-green (its files at its commit): 202 with the workflow."""
    registry = registry_of(request)
    integration = await asyncio.to_thread(integration_or_404, registry, slug)
    try:
        version, sha = await asyncio.to_thread(merged_version, registry, slug, body.version)
    except DeployRefused as exc:
        raise HTTPException(409, str(exc)) from None
    repo = integration.repo or settings_of(request).github_repo
    try:
        files = await asyncio.to_thread(_read_files, repo, slug, sha)
    except Exception as exc:  # noqa: BLE001 - GitHub's refusal, said in one sentence
        raise HTTPException(409, f"cannot read integrations/{slug}/ at {sha[:7] or 'main'} "
                                 f"from {repo} ({type(exc).__name__}): check the GitHub "
                                 "settings and try again") from None
    try:
        inp, workflow_id = deploy_request(slug, version, sha, body.environment, files,
                                          actor=caller.name,
                                          traffic_approved=body.approve_traffic)
    except (DeployRefused, ValueError) as exc:
        raise HTTPException(409, str(exc).splitlines()[-1]) from None
    return await _start(request, caller, "deploy", inp, workflow_id)


@router.post("/integrations/{slug}/rollback", status_code=202, response_model=Accepted,
             responses=ACTION_ERRORS)
async def rollback(request: Request, slug: SLUG, body: RollbackBody | None = None,
                   caller: Caller = OPERATE) -> JSONResponse:
    """Go back to the version that served before the live one (its kept image): 202."""
    registry = registry_of(request)
    env = (body or RollbackBody()).environment
    await asyncio.to_thread(integration_or_404, registry, slug)
    try:
        inp, workflow_id = await asyncio.to_thread(
            rollback_request, registry, slug, env, actor=caller.name,
            reason=f"API rollback by {caller.name}")
    except DeployRefused as exc:
        raise HTTPException(409, str(exc)) from None
    return await _start(request, caller, "rollback", inp, workflow_id)




@router.post("/integrations/{slug}/promote", response_model=Accepted,
             responses={**ACTION_ERRORS, 202: {"model": Accepted,
                                               "description": "a new promotion run started"}})
async def promote(request: Request, slug: SLUG, body: PromoteBody,
                  caller: Caller = OPERATE) -> JSONResponse:
    """The version's promotion to ``environment``, approved by the token's name and bound to
    the version's commit (as `/promote` and `ccb promote`): 200 with what was accepted or
    started, 409 with the promotion's reason when not."""
    from pydantic import ValidationError

    from models.promotion import PromoteRequest
    from starter.api.common import outcome_answer
    from starter.dispatch import TemporalUnavailable
    from starter.promotions import promote as ask

    registry = registry_of(request)
    await asyncio.to_thread(integration_or_404, registry, slug)
    try:
        wanted = PromoteRequest(environment=body.environment, approver=caller.name,
                                commit_sha=body.commit_sha, source="api")
    except ValidationError:
        raise HTTPException(422, "commit_sha takes 7 to 40 hex digits") from None
    async def client() -> Any:
        return (await dispatcher_of(request)).client

    try:
        outcome = await ask(client, registry, settings_of(request), slug=slug,
                            request=wanted, version=body.version)
    except TemporalUnavailable as exc:
        raise HTTPException(503, f"{exc}; nothing was decided, try again") from None
    await asyncio.to_thread(audit, registry, caller, "promote", slug=slug,
                            target=outcome.workflow_id or slug, status=outcome.status,
                            message=outcome.message)
    return outcome_answer(outcome)


@router.post("/integrations/{slug}/{action}", status_code=202, response_model=Accepted,
             responses=ACTION_ERRORS)
async def lifecycle(request: Request, slug: SLUG, action: LifecycleAction,
                    body: LifecycleBody | None = None, caller: Caller = OPERATE) -> JSONResponse:
    """Pause, resume or deprecate the integration everywhere it is live (`ccb pause`, …):
    202 with the workflow that does it, 409 while another action on it runs."""
    from starter.api.common import outcome_answer
    from starter.dispatch import TemporalUnavailable
    from starter.lifecycle_requests import start_lifecycle

    registry = registry_of(request)
    await asyncio.to_thread(integration_or_404, registry, slug)
    wanted = LifecycleRequest(slug=slug, action=action, actor=caller.name,
                              reason=(body or LifecycleBody()).reason, source="api")
    dispatcher = await dispatcher_of(request)
    try:
        outcome = await start_lifecycle(dispatcher.client, settings_of(request), wanted,
                                        wait=False)
    except TemporalUnavailable as exc:
        raise HTTPException(503, f"{exc}; nothing was decided, try again") from None
    await asyncio.to_thread(audit, registry, caller, action.value, slug=slug,
                            target=outcome.workflow_id or slug, status=outcome.status,
                            message=outcome.message)
    return outcome_answer(outcome)
