"""Integrations: the list (by state and environment), one, its versions, transitions, usage."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from models.deployment import DeploymentStatus, Environment
from models.request import SLUG_PATTERN
from models.states import IntegrationState
from registry.deployments import deployments
from registry.queries import UsageReport, usage
from registry.store import Registry
from registry.tables import Integration
from starter.api.auth import READ
from starter.api.common import NOT_FOUND, READ_ERRORS, integration_or_404, registry_of
from starter.api.schemas import (
    IntegrationList,
    IntegrationOut,
    TransitionList,
    TransitionOut,
    UsageLineOut,
    UsageOut,
    VersionList,
    VersionOut,
)

router = APIRouter(tags=["integrations"], dependencies=[READ], responses=READ_ERRORS)

SLUG = Annotated[str, Path(pattern=SLUG_PATTERN, examples=["acme-weather"],
                           description="the integration's slug, e.g. acme-weather")]


def _live(registry: Registry) -> dict[str, dict[str, str]]:
    """slug -> environment -> live version."""
    live: dict[str, dict[str, str]] = {}
    for row in deployments(registry):
        if row.status == DeploymentStatus.LIVE:
            live.setdefault(row.integration_slug, {})[row.environment.value] = row.version
    return live


def _out(row: Integration, live: dict[str, str]) -> IntegrationOut:
    return IntegrationOut(slug=row.slug, name=row.name, integration_type=row.integration_type,
                          state=row.state, current_version=row.current_version, repo=row.repo,
                          issue_number=row.issue_number, workflow_id=row.workflow_id,
                          live=live, created_at=row.created_at, updated_at=row.updated_at)


@router.get("/integrations", response_model=IntegrationList)
async def list_integrations(
    request: Request,
    state: Annotated[IntegrationState | None, Query(description="only this state")] = None,
    environment: Annotated[Environment | None, Query(
        description="only integrations live in this environment")] = None,
) -> IntegrationList:
    """Every integration (what `ccb list` shows), filtered by state and environment."""
    registry = registry_of(request)

    def read() -> IntegrationList:
        live = _live(registry)
        rows = [r for r in registry.list_integrations()
                if (state is None or r.state == state)
                and (environment is None or environment.value in live.get(r.slug, {}))]
        return IntegrationList(integrations=[_out(r, live.get(r.slug, {})) for r in rows])

    return await asyncio.to_thread(read)


@router.get("/integrations/{slug}", response_model=IntegrationOut, responses=NOT_FOUND)
async def get_integration(request: Request, slug: SLUG) -> IntegrationOut:
    """One integration with its live version per environment."""
    registry = registry_of(request)

    def read() -> IntegrationOut:
        row = integration_or_404(registry, slug)
        return _out(row, _live(registry).get(slug, {}))

    return await asyncio.to_thread(read)


@router.get("/integrations/{slug}/versions", response_model=VersionList, responses=NOT_FOUND)
async def list_versions(request: Request, slug: SLUG) -> VersionList:
    """The merged versions of an integration, oldest first (`ccb versions`)."""
    registry = registry_of(request)

    def read() -> VersionList:
        integration_or_404(registry, slug)
        return VersionList(slug=slug, versions=[
            VersionOut(version=v.version, commit_sha=v.commit_sha, pr_number=v.pr_number,
                       created_at=v.created_at) for v in registry.versions(slug)])

    return await asyncio.to_thread(read)


@router.get("/integrations/{slug}/transitions", response_model=TransitionList,
            responses=NOT_FOUND)
async def integration_transitions(request: Request, slug: SLUG) -> TransitionList:
    """The state transitions of one integration, oldest first (`ccb transitions <slug>`)."""
    registry = registry_of(request)

    def read() -> TransitionList:
        integration_or_404(registry, slug)
        return TransitionList(transitions=[TransitionOut(**vars(t))
                                           for t in registry.transitions(slug)])

    return await asyncio.to_thread(read)


@router.get("/transitions", response_model=TransitionList)
async def all_transitions(request: Request) -> TransitionList:
    """Every recorded transition, oldest first (`ccb transitions`)."""
    registry = registry_of(request)
    rows = await asyncio.to_thread(registry.transitions)
    return TransitionList(transitions=[TransitionOut(**vars(t)) for t in rows])


def _usage_out(slug: str | None, report: UsageReport) -> UsageOut:
    return UsageOut(slug=slug, workflow_ids=report.workflow_ids,
                    input_tokens=report.input_tokens, output_tokens=report.output_tokens,
                    cost_usd=report.cost_usd,
                    by_step=[UsageLineOut(**vars(line)) for line in report.lines])


@router.get("/integrations/{slug}/usage", response_model=UsageOut, responses=NOT_FOUND)
async def integration_usage(request: Request, slug: SLUG) -> UsageOut:
    """Model tokens and dollars spent on an integration's workflows, by step and model."""
    registry = registry_of(request)

    def read() -> UsageOut:
        integration_or_404(registry, slug)
        return _usage_out(slug, usage(registry, slug))

    return await asyncio.to_thread(read)


@router.get("/usage", response_model=UsageOut)
async def fleet_usage(request: Request) -> UsageOut:
    """Model tokens and dollars of every request, by step and model."""
    registry = registry_of(request)
    return _usage_out(None, await asyncio.to_thread(usage, registry))
