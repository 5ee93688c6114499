"""Activities of the update workflow that read: the update form, and the registry's entry."""

from __future__ import annotations

import asyncio

from temporalio import activity

from infra.settings import get_settings
from models.intake import IntakeInput
from models.review import ReviewOutcome
from models.update import UPDATE_STATE_KEY, IntegrationLookup
from models.update_request import ParsedUpdate
from registry.store import open_registry
from rules.issue_form import parse_update_form


@activity.defn
def parse_update_request(inp: IntakeInput) -> ParsedUpdate:
    """The integration-update form of the issue, or every problem with it. Pure."""
    return parse_update_form(inp.body)


@activity.defn
def find_integration(slug: str) -> IntegrationLookup:
    """The integration ``slug`` with its live version and request, or the names known. A read."""
    registry = open_registry(get_settings().registry_url)
    row = registry.find(slug)
    if row is None:
        known = [r.slug for r in registry.list_integrations()]
        return IntegrationLookup(found=False, slug=slug, known=known)
    request, renames = dict(row.request or {}), []
    for version in registry.versions(slug):
        remembered = (version.manifest or {}).get(UPDATE_STATE_KEY)
        if version.version == row.current_version and isinstance(remembered, dict):
            request = dict(remembered.get("request") or request)
            renames = [tuple(pair) for pair in remembered.get("renames") or []]
    return IntegrationLookup(found=True, slug=slug, current_version=row.current_version,
                             state=row.state, request=request, renames=renames,
                             issue_number=row.issue_number)




@activity.defn
async def await_review(workflow_id: str) -> ReviewOutcome:
    """The outcome of a review another caller (the webhook) started for the same head.

    A read of a workflow's result: safe to repeat. Heartbeats while it waits, so a worker that
    dies here is noticed quickly and the wait resumes elsewhere.
    """
    from infra.temporal import connect

    client = await connect(get_settings())
    handle = client.get_workflow_handle(workflow_id, result_type=ReviewOutcome)
    result = asyncio.ensure_future(handle.result())
    while not result.done():
        activity.heartbeat(f"waiting for {workflow_id}")
        await asyncio.wait([result], timeout=2)
    return result.result()


UPDATE_STEP_ACTIVITIES = [parse_update_request, find_integration, await_review]
