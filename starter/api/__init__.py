"""The REST API under ``/api/v1``: read the registry, act through the workflows' messages.

One module per resource (``integrations``, ``events``, ``deployments``, ``requests``);
``auth`` holds the bearer tokens, ``common`` what the resources share. Its OpenAPI document
is served at ``/api/v1/openapi.json`` and committed as ``starter/api/openapi.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from infra.settings import Settings
from starter.api import deployments, events, integrations, requests
from starter.api.auth import TokenConfigError, load_tokens

PREFIX = "/api/v1"
OPENAPI_PATH = Path(__file__).with_name("openapi.json")
TITLE = "ccb REST API"
VERSION = "1.0.0"


def api_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    for module in (integrations, events, deployments, requests):
        router.include_router(module.router)
    return router


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The API's own OpenAPI document (health and webhooks are not part of it)."""
    document = get_openapi(title=TITLE, version=VERSION, routes=app.routes,
                           description="Read the registry; act on requests and deployments. "
                                       "Bearer tokens with the role read or operate.")
    document["paths"] = {path: item for path, item in document.get("paths", {}).items()
                         if path.startswith(PREFIX + "/")}
    return document


def openapi_text(app: FastAPI) -> str:
    return json.dumps(openapi_document(app), indent=2, sort_keys=True) + "\n"


def _sentence(exc: RequestValidationError) -> str:
    """The first problem of a refused request in words: where, and what is expected."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts) + " (see /api/v1/openapi.json)"


def mount_api(app: FastAPI, settings: Settings) -> None:
    """Add the API, its token table and its OpenAPI document to the starter's app."""
    app.state.api_settings = settings
    try:
        app.state.api_tokens = load_tokens(settings)
    except TokenConfigError as exc:
        app.state.api_tokens = exc  # every call answers 401 with this sentence
    app.include_router(api_router())

    @app.get(PREFIX + "/openapi.json", include_in_schema=False)
    async def api_openapi() -> Response:
        return Response(openapi_text(app), media_type="application/json")

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(PREFIX + "/"):
            return JSONResponse(jsonable_encoder({"detail": _sentence(exc)}), status_code=422)
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(RequestValidationError, validation)
