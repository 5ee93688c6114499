"""What every resource module of the API shares: the registry, the dispatcher, the audit log,
and how a workflow message's outcome becomes an HTTP answer."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from infra.settings import Settings
from models.events import EventType
from registry.store import Registry, UnknownIntegrationError, open_registry
from starter.api.auth import Caller
from starter.api.schemas import Problem
from starter.dispatch import Dispatcher, Outcome

# The answers every route may give besides its own (documented, so clients and schemathesis
# know their shape).
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no token, an unknown one, or none configured"},
    422: {"model": Problem, "description": "a parameter or the body is invalid"},
}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    403: {"model": Problem, "description": "the token's role is read; actions need operate"},
    404: {"model": Problem, "description": "no such integration or request"},
    409: {"model": Problem, "description": "nothing waits for this action now"},
    503: {"model": Problem, "description": "Temporal did not answer; nothing was decided"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem,
                                                     "description": "no such integration"}}

# Outcome statuses of ``starter.dispatch`` and the HTTP status each becomes.
OUTCOME_STATUS = {"updated": 200, "signalled": 202, "cancelled": 202, "started": 202,
                  "not_found": 404, "rejected": 409, "not_registered": 409, "exists": 409}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.api_settings
    return settings


def registry_of(request: Request) -> Registry:
    return open_registry(settings_of(request).registry_url)


def integration_or_404(registry: Registry, slug: str) -> Any:
    try:
        return registry.get(slug)
    except UnknownIntegrationError:
        raise HTTPException(404, f"no integration {slug!r}: GET /api/v1/integrations lists "
                                 "them") from None


async def dispatcher_of(request: Request) -> Dispatcher:
    """The same dispatcher the webhook's comment commands use, on the app's client."""
    settings = settings_of(request)
    try:
        client = await request.app.state.starter.client()
    except (ConnectionError, RuntimeError) as exc:
        raise HTTPException(503, f"cannot reach Temporal at {settings.temporal_address} "
                                 f"({type(exc).__name__}); try again once it runs") from None
    return Dispatcher(client, settings.task_queue, approval=settings.approval_times())


def audit(registry: Registry, caller: Caller, action: str, *, slug: str | None,
          target: str, status: str, message: str) -> None:
    """Record the action as an ``operator.action`` event, the token's name as actor."""
    known = slug if slug and registry.find(slug) is not None else None
    registry.add_event(f"api:{uuid.uuid4().hex}", EventType.OPERATOR_ACTION, slug=known,
                       payload={"action": action, "target": target, "status": status,
                                "message": message},
                       metadata={"actor": caller.name, "role": caller.role.value, "via": "api"})


def outcome_answer(outcome: Outcome) -> JSONResponse:
    """200/202 with what was accepted, or the 4xx the outcome means, its sentence as detail."""
    code = OUTCOME_STATUS.get(outcome.status, 409)
    if code >= 400:
        return JSONResponse({"detail": outcome.message}, status_code=code)
    return JSONResponse({"status": outcome.status, "message": outcome.message,
                         "workflow_id": outcome.workflow_id,
                         "workflow_type": outcome.workflow_type, "details": outcome.details},
                        status_code=code)
