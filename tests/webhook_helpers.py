"""Helpers for the webhook tests: signing, the fixture payloads, a GitHub-shaped server on
127.0.0.1 (collaborator permissions + issue comments), the starter app with the bot's worker,
and a stand-in for the creation workflow that implements the ``workflows.names`` contract."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from infra.settings import get_settings
from models.creation import ApprovalAnswer, ApprovalDecision, ChangeRequest, CreationInput, Progress
from models.spend import BudgetRaise, BudgetRaiseAnswer
from starter.signature import sign
from tests.conftest import SHARED, running_worker
from tests.visibility import listed as visible
from workflows import names

SECRET = "test-webhook-secret"
FIXTURES = SHARED / "fixtures" / "github-webhooks"
OWNER, REPO_NAME = "demo", "integrations"
REPO = f"{OWNER}/{REPO_NAME}"
BOT = "ccb-bot"
# login -> permission on REPO, as the forge seeds them
PERMISSIONS = {"ccb-bot": "admin", "alice": "admin", "carol": "write", "bob": "read"}


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.json"))


def fixture_event(path: Path) -> str:
    """The X-GitHub-Event of a fixture: its folder's name."""
    return path.parent.name


def load(relative: str) -> dict[str, Any]:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


# The repository of the running webhook_stack: one per test, so that workflow ids (derived
# from repository and issue) never meet across tests on the session's shared Temporal server.
_current = {"repo": REPO}


def ours(payload: dict[str, Any], *, sender: str = "carol", **changes: Any) -> dict[str, Any]:
    """A copy of a real payload moved to our repository and sent by ``sender``."""
    data = copy.deepcopy(payload)
    data["repository"]["full_name"] = _current["repo"]
    data["repository"]["name"] = _current["repo"].split("/", 1)[1]
    data["sender"]["login"] = sender
    data["sender"]["type"] = "User"
    data.update(changes)
    return data


def headers(event: str, body: bytes, *, delivery: str | None = None,
            secret: str = SECRET) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(secret, body), "Content-Type": "application/json"}


async def deliver(http: httpx.AsyncClient, event: str, payload: dict[str, Any] | bytes, *,
                  delivery: str | None = None, secret: str = SECRET) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await http.post("/webhooks/github", content=body,
                           headers=headers(event, body, delivery=delivery, secret=secret))


async def workflows_on(client: Client, task_queue: str, expect: int | None = None,
                       workflow_type: str | None = None) -> list[tuple[str, str]]:
    """(type, id) of every workflow started on ``task_queue`` (see ``tests.visibility``)."""
    query = f"TaskQueue = '{task_queue}'"
    if workflow_type:
        query += f" AND WorkflowType = '{workflow_type}'"
    found = await visible(client, query, expect)
    return sorted((execution.workflow_type, execution.id) for execution in found)


# -- a GitHub-shaped server --------------------------------------------------------------------

@dataclass
class GitHubDouble:
    """GitHub's collaborator-permission and issue-comment endpoints, for ``REPO`` only."""

    tokens: dict[str, str] = field(
        default_factory=lambda: {login: f"tok-{login}" for login in PERMISSIONS})
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    permission_lookups: int = 0
    api_url: str = ""
    repo: str = REPO
    _next_id: int = 1000

    def login(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        return next((u for u, t in self.tokens.items() if t == token), None)

    def comment_bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def app(self) -> Starlette:
        base = "/api/v3/repos/{owner}/{name}"

        def denied(request: Request) -> JSONResponse | None:
            if self.login(request) is None:
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            return None

        async def permission(request: Request) -> JSONResponse:
            self.permission_lookups += 1
            user = request.path_params["user"]
            if user not in PERMISSIONS:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            role = PERMISSIONS[user]
            return denied(request) or JSONResponse(
                {"permission": role, "role_name": role, "user": {"login": user}})

        def as_json(number: int, c: dict[str, Any]) -> dict[str, Any]:
            url = f"{self.api_url}/repos/{self.repo}/issues/comments/{c['id']}"
            return {"id": c["id"], "body": c["body"], "user": {"login": c["user"]},
                    "url": url, "html_url": f"http://127.0.0.1/{self.repo}/issues/{number}"}

        async def comments(request: Request) -> JSONResponse:
            refused = denied(request)
            if refused:
                return refused
            number = int(request.path_params["number"])
            listed = self.comments.setdefault(number, [])
            if request.method == "POST":
                data = await request.json()
                self._next_id += 1
                comment = {"id": self._next_id, "body": data["body"],
                           "user": self.login(request)}
                listed.append(comment)
                return JSONResponse(as_json(number, comment), status_code=201)
            return JSONResponse([as_json(number, c) for c in listed])

        async def edit(request: Request) -> JSONResponse:
            comment_id = int(request.path_params["id"])
            data = await request.json()
            for number, listed in self.comments.items():
                for comment in listed:
                    if comment["id"] == comment_id:
                        comment["body"] = data["body"]
                        return JSONResponse(as_json(number, comment))
            return JSONResponse({"message": "Not Found"}, status_code=404)

        async def open_issue(request: Request) -> JSONResponse:
            refused = denied(request)
            if refused:
                return refused
            data = await request.json()
            number = len(self.issues) + 1
            issue = {"number": number, "title": data["title"], "body": data.get("body"),
                     "labels": [{"name": n} for n in data.get("labels", [])],
                     "user": {"login": self.login(request)}, "state": "open",
                     "url": f"{self.api_url}/repos/{self.repo}/issues/{number}",
                     "html_url": f"http://127.0.0.1/{self.repo}/issues/{number}"}
            self.issues.append(issue)
            return JSONResponse(issue, status_code=201)

        return Starlette(routes=[
            Route(base + "/issues", open_issue, methods=["POST"]),
            Route(base + "/collaborators/{user}/permission", permission),
            Route(base + "/issues/{number:int}/comments", comments, methods=["GET", "POST"]),
            Route(base + "/issues/comments/{id:int}", edit, methods=["PATCH"]),
        ])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (ephemeral port) in a thread; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- the starter with the bot's worker ---------------------------------------------------------

@dataclass
class Stack:
    http: httpx.AsyncClient
    github: GitHubDouble
    client: Client
    task_queue: str
    repo: str

    async def workflows(self, expect: int | None = None,
                        workflow_type: str | None = None) -> list[tuple[str, str]]:
        return await workflows_on(self.client, self.task_queue, expect, workflow_type)

    async def comments_settled(self, number: int, expected: int) -> list[str]:
        """The comments on ``number`` once ``expected`` are there (reply workflows finished)."""
        for _ in range(200):
            found = self.github.comment_bodies(number)
            if len(found) >= expected:
                return found
            await asyncio.sleep(0.05)
        return self.github.comment_bodies(number)


@asynccontextmanager
async def webhook_stack(client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch,
                        *, creation: str = "stand-in",
                        secret: str = SECRET) -> AsyncIterator[Stack]:
    """GitHub double + the bot's worker on ``task_queue`` + the starter app, all in-process.

    ``creation`` chooses what ``workflows.registry.ALL_WORKFLOWS`` holds under the creation
    workflow's name, for the starter and the worker alike: ``"stand-in"`` (the contract of
    ``workflows.names`` without Claude, GitHub or deployments behind it), or ``"none"`` (as
    before the creation workflow landed: requests go to the intake workflow).
    """
    import worker
    import workflows.registry as registry
    from activities.github_client import reset_github_client
    from starter.app import create_app

    every = [w for w in registry.ALL_WORKFLOWS
             if workflow._Definition.must_from_class(w).name != names.CREATION_WORKFLOW]
    if creation == "stand-in":
        every.append(StandInCreationWorkflow)
    monkeypatch.setattr(registry, "ALL_WORKFLOWS", every)
    monkeypatch.setattr(worker, "ALL_WORKFLOWS", every)
    repo = f"{OWNER}/{REPO_NAME}-{task_queue}"
    monkeypatch.setitem(_current, "repo", repo)
    github = GitHubDouble(repo=repo)
    with serving(github.app()) as url:
        github.api_url = f"{url}/api/v3"
        for name, value in {
            "CCB_WEBHOOK_SECRET": secret, "CCB_TASK_QUEUE": task_queue,
            "CCB_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "CCB_GITHUB_API_URL": github.api_url, "GITHUB_TOKEN": github.tokens[BOT],
            "CCB_GITHUB_REPO": repo, "CCB_BOT_LOGIN": BOT,
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        reset_github_client()
        app = create_app(get_settings())
        try:
            async with running_worker(client, task_queue), \
                    app.router.lifespan_context(app), \
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://starter") as http:
                yield Stack(http, github, client, task_queue, repo)
        finally:
            reset_github_client()
            get_settings.cache_clear()


# -- a stand-in for the creation workflow (the names.py contract) ------------------------------

@workflow.defn(name=names.CREATION_WORKFLOW, sandboxed=False)
class StandInCreationWorkflow:
    """Waits for approval like the real one will; a title containing "fail" fails at once."""

    def __init__(self) -> None:
        self.approved_by = ""
        self.changes: list[ChangeRequest] = []

    @workflow.run
    async def run(self, request: CreationInput) -> str:
        if "fail" in request.title:
            raise ApplicationError("generation failed", non_retryable=True)
        await workflow.wait_condition(lambda: bool(self.approved_by),
                                      timeout=timedelta(minutes=10))
        return self.approved_by

    @workflow.update(name=names.APPROVE_UPDATE)
    def approve(self, decision: ApprovalDecision) -> ApprovalAnswer:
        self.approved_by = decision.reviewer
        return ApprovalAnswer(accepted=True, message=f"approved by {decision.reviewer}")

    @approve.validator
    def check_approval(self, decision: ApprovalDecision) -> None:
        if not self.changes and decision.comment == "too early":
            raise ValueError("the pull request is not open yet")

    @workflow.signal(name=names.REQUEST_CHANGES_SIGNAL)
    def request_changes(self, change: ChangeRequest) -> None:
        if all(c.source != change.source for c in self.changes):
            self.changes.append(change)

    @workflow.query(name=names.PROGRESS_QUERY)
    def progress(self) -> Progress:
        return Progress(workflow_id=workflow.info().workflow_id, state="REVIEWING",
                        current_step="review", waiting_for_approval=not self.approved_by)

    @workflow.query
    def change_texts(self) -> list[str]:
        return [c.text for c in self.changes]

    @workflow.update(name="raise_budget")
    def raise_budget(self, ask: BudgetRaise) -> BudgetRaiseAnswer:
        return BudgetRaiseAnswer(accepted=True, cap_usd=1 + ask.amount_usd,
                                 message=f"the cap is now ${1 + ask.amount_usd:.2f}")

    @raise_budget.validator
    def check_raise(self, ask: BudgetRaise) -> None:
        if ask.amount_usd > 1:
            raise ValueError("one raise may add at most $1.00")
