"""The forge's FastAPI application: GitHub's REST API under ``/api/v3`` plus test-only
endpoints under ``/_forge/``.

Every ``/api/v3`` answer carries GitHub's headers (``X-GitHub-Request-Id``,
``X-RateLimit-*``); errors have GitHub's bodies; an unknown token is 401 "Bad credentials".
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from forge.errors import DOCS_URL, GitHubError, bad_credentials, validation_failed
from forge.payloads import Urls, current_urls
from forge.routes import git, issues, pages, pulls, repos
from forge.state import Fault, Forge

log = logging.getLogger("forge")
API_PREFIX = "/api/v3"
STATUS_MESSAGES = {404: "Not Found", 405: "Method Not Allowed", 401: "Requires authentication"}


def token_from(header: str) -> str | None:
    """The token in ``Authorization: token X`` / ``Bearer X`` / ``Basic b64(user:X)``."""
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("token", "bearer") and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2] or decoded
    return ""


def error_response(error: GitHubError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def create_app(forge: Forge) -> FastAPI:
    """The ASGI app of a started ``Forge``."""
    app = FastAPI(title="ccb local forge", docs_url="/_forge/docs", redoc_url=None,
                  openapi_url="/_forge/openapi.json")
    app.state.forge = forge
    for module in (repos, issues, pulls, git):  # repos first: /commits/{ref}/status*
        app.include_router(module.router, prefix=API_PREFIX)
    add_test_routes(app, forge)
    app.include_router(pages.router)  # last: its path pattern must not shadow the API

    @app.exception_handler(GitHubError)
    async def github_error(_: Request, exc: GitHubError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        message = STATUS_MESSAGES.get(exc.status_code, str(exc.detail))
        return error_response(GitHubError(exc.status_code, message))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> Response:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(validation_failed("Request", "invalid", where,
                                                f"{where}: {first.get('msg', 'invalid')}"))

    @app.exception_handler(Exception)
    async def server_error(_: Request, exc: Exception) -> Response:
        log.exception("forge: unexpected error")
        return JSONResponse({"message": f"Server Error: {type(exc).__name__}",
                             "documentation_url": DOCS_URL, "status": "500"}, status_code=500)

    @app.middleware("http")
    async def github_headers(request: Request, call_next: Any) -> Response:
        web = str(request.base_url).rstrip("/")
        reset_token = current_urls.set(Urls(api=web + API_PREFIX, web=web))
        try:
            if not request.url.path.startswith(API_PREFIX):
                return await call_next(request)
            return await api_request(forge, request, call_next)
        finally:
            current_urls.reset(reset_token)

    return app


async def api_request(forge: Forge, request: Request, call_next: Any) -> Response:
    """Faults, authentication and GitHub's headers around one ``/api/v3`` request."""
    request_id = uuid.uuid4().hex[:8].upper() + ":" + uuid.uuid4().hex[:12].upper()
    header = request.headers.get("authorization")
    login = None
    if header is not None:
        token = token_from(header)
        login = forge.login_for(token) if token else None
    who = login or f"anon:{request.client.host if request.client else ''}"
    path = request.url.path
    window = forge.count_request(who, login is not None) if path != API_PREFIX + "/rate_limit" \
        else forge.rate.get(who) or forge.count_request(who, login is not None)
    headers = {
        "X-GitHub-Request-Id": request_id, "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Api-Version-Selected": "2022-11-28",
        "X-RateLimit-Limit": str(window.limit),
        "X-RateLimit-Remaining": str(max(0, window.limit - window.used)),
        "X-RateLimit-Reset": str(window.reset), "X-RateLimit-Used": str(window.used),
        "X-RateLimit-Resource": "core",
    }
    fault = forge.take_fault(request.method, path) if forge.config.faults_enabled else None
    if fault is not None:
        body = fault.body if fault.body is not None else {
            "message": f"Injected fault {fault.status}", "documentation_url": DOCS_URL,
            "status": str(fault.status)}
        response: Response = JSONResponse(body, status_code=fault.status)
        headers.update(fault.headers)
    elif header is not None and login is None:
        response = error_response(bad_credentials())
    else:
        request.state.login = login
        response = await call_next(request)
    for key, value in headers.items():
        response.headers[key] = value
    return response


def add_test_routes(app: FastAPI, forge: Forge) -> None:
    """``/_forge/*``: health, webhook deliveries, and (when enabled) fault injection."""

    @app.get("/_forge/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "faults_enabled": forge.config.faults_enabled,
                "webhook_url": forge.config.webhook_url}

    @app.get("/_forge/deliveries")
    def deliveries(request: Request) -> list[dict[str, Any]]:
        """Webhook deliveries so far; ``?wait=1`` first waits (bounded) for queued ones,
        ``?payload=1`` includes the bodies."""
        if forge.dispatcher is None:
            return []
        if request.query_params.get("wait") not in (None, "", "0"):
            forge.dispatcher.flush(timeout=15)
        return forge.dispatcher.deliveries(
            with_payload=request.query_params.get("payload") not in (None, "", "0"))

    def faults_on() -> None:
        if not forge.config.faults_enabled:
            raise GitHubError(404, "Not Found: fault injection is off (start the forge with "
                                   "faults enabled, as tests do)")

    @app.post("/_forge/faults", status_code=201)
    async def add_fault(request: Request) -> dict[str, Any]:
        faults_on()
        try:
            data = await request.json()
        except ValueError:
            raise GitHubError(400, "Problems parsing JSON") from None
        if not isinstance(data, dict):
            raise GitHubError(400, "send an object {method, path_regex, status, ...}")
        try:
            fault = Fault(method=str(data.get("method", "*")).upper(),
                          path_regex=re.compile(str(data["path_regex"])),
                          status=int(data["status"]),
                          headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
                          body=data.get("body"), times=int(data.get("times", 1)))
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise validation_failed("Fault", "invalid", message=(
                f"bad fault ({type(exc).__name__}: {exc}): send method, path_regex, status, "
                "and optionally headers, body, times")) from None
        with forge.faults_lock:
            forge.faults.append(fault)
        return {"method": fault.method, "path_regex": fault.path_regex.pattern,
                "status": fault.status, "times": fault.times}

    @app.get("/_forge/faults")
    def list_faults() -> list[dict[str, Any]]:
        faults_on()
        with forge.faults_lock:
            return [{"method": f.method, "path_regex": f.path_regex.pattern,
                     "status": f.status, "times": f.times} for f in forge.faults]

    @app.delete("/_forge/faults", status_code=204)
    def clear_faults() -> Response:
        faults_on()
        with forge.faults_lock:
            forge.faults.clear()
        return Response(status_code=204)
