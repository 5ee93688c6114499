"""What every API handler works with: the caller, a database session, payload builders, and
the webhook events to send once the change is committed.

Handlers are plain functions run in the server's thread pool; ``request_context`` serialises
them with the forge's lock, so git refs and database rows change atomically together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, select

from forge.errors import (
    GitHubError,
    bad_json,
    forbidden,
    not_found,
    requires_authentication,
    validation_failed,
)
from forge.gitrepo import GitRepo
from forge.payloads import Payloads, Urls, current_urls
from forge.state import Forge
from forge.store import Repo

LEVELS = ["none", "read", "triage", "write", "maintain", "admin"]
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def urls_for(request: Request) -> Urls:
    urls = current_urls.get(None)
    if urls is None:
        web = str(request.base_url).rstrip("/")
        urls = Urls(api=f"{web}/api/v3", web=web)
    return urls


@dataclass
class Ctx:
    """One request's view of the forge."""

    forge: Forge
    session: Session
    request: Request
    login: str | None
    p: Payloads
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def repo(self, owner: str, name: str) -> Repo:
        repo = self.session.exec(select(Repo).where(Repo.owner == owner,
                                                    Repo.name == name)).first()
        if repo is None or (repo.private and self.level(repo) == "none"):
            raise not_found()
        return repo

    def git(self, repo: Repo) -> GitRepo:
        return self.forge.git(repo)

    def level(self, repo: Repo) -> str:
        if not self.login:
            return "none" if repo.private else "read"
        return self.p.permission_of(repo, self.login)

    def need(self, repo: Repo, level: str) -> str:
        """The caller's login, if they hold at least ``level`` on ``repo`` (else 401/403)."""
        if not self.login:
            raise requires_authentication()
        have = self.level(repo)
        if LEVELS.index(have) < LEVELS.index(level):
            raise forbidden(f"Resource not accessible: {self.login} has {have} access to "
                            f"{repo.owner}/{repo.name}; this needs {level} access.")
        return self.login

    def me(self) -> str:
        if not self.login:
            raise requires_authentication()
        return self.login

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        """Queue a webhook; it is sent after the change commits."""
        self.events.append((event, payload))

    def hook(self, event: str, action: str, repo: Repo, **objects: Any) -> None:
        """Queue a GitHub-shaped webhook: ``action``, the objects, ``repository``, ``sender``."""
        payload: dict[str, Any] = {"action": action, **objects,
                                   "repository": self.p.repo(repo),
                                   "sender": self.p.user(self.login)}
        self.emit(event, payload)

    # -- answers ------------------------------------------------------------------------------

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(data, status_code=status, headers=headers)

    def page(self, items: list[Any]) -> Response:
        """A list answer paginated with ``per_page``/``page`` and a ``Link`` header."""
        params = self.request.query_params
        per_page = int_param(params.get("per_page"), DEFAULT_PER_PAGE, "per_page")
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        page = max(1, int_param(params.get("page"), 1, "page"))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        base = f"{urls_for(self.request).web}{self.request.url.path}"

        def link(number: int, rel: str) -> str:
            query = {k: v for k, v in params.items() if k != "page"}
            query.update({"per_page": str(per_page), "page": str(number)})
            return f'<{base}?{urlencode(query)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return JSONResponse(chunk, headers={"Link": ", ".join(links)} if links else None)


def int_param(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise validation_failed("Query", "invalid", name,
                                f"{name} must be an integer, got {value!r}") from None


@contextmanager
def request_context(request: Request) -> Iterator[Ctx]:
    """Serialise the handler, commit its changes, then queue its webhooks."""
    forge: Forge = request.app.state.forge
    urls = urls_for(request)
    with forge.lock, Session(forge.engine) as session:
        ctx = Ctx(forge=forge, session=session, request=request,
                  login=getattr(request.state, "login", None),
                  p=Payloads(session, urls, forge.git))
        try:
            yield ctx
        except BaseException:
            session.rollback()
            raise
        session.commit()
        if forge.dispatcher is not None:
            for event, payload in ctx.events:
                forge.dispatcher.send(event, payload)


async def json_body(request: Request) -> Any:
    """The request's JSON body (``{}`` when empty); 400 like GitHub when it does not parse."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_json(str(exc)) from None


def body_dict(body: Any, resource: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GitHubError(400, f"Problems parsing JSON: the {resource} body must be an object")
    return body


def req_str(body: dict[str, Any], key: str, resource: str, *, allow_empty: bool = False) -> str:
    """A required string field, or 422 ``missing_field``/``invalid``."""
    if key not in body or body[key] is None:
        raise validation_failed(resource, "missing_field", key,
                                f"{key} is required: send it as a string")
    value = body[key]
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise validation_failed(resource, "invalid", key,
                                f"{key} must be a non-empty string, got {value!r}")
    return value


def opt_str(body: dict[str, Any], key: str, resource: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise validation_failed(resource, "invalid", key, f"{key} must be a string or null")
    return value
