"""``POST /webhooks/github``: verify, route, start or signal a workflow, answer 202 at once.

Order of checks (each answer says what is wrong and what to do):
1. ``X-Hub-Signature-256`` present and shaped ``sha256=<hex>``, else 401 (nothing is read);
2. ``Content-Length`` above ``webhook_max_body_bytes`` -> 413; the body is then read counting
   bytes and abandoned (413) the moment it passes the limit, so no more is ever buffered;
3. the HMAC of the raw body, compared in constant time, else 401;
4. ``X-GitHub-Event`` / ``X-GitHub-Delivery`` present, else 400; a delivery already answered
   (same GUID, same body) gets the same answer again, concurrent twins wait for the first;
5. unsupported event -> 202 ignored; bad JSON, bad content type (415) or wrong shape -> 400;
6. the bot's own events -> 202 ignored; the routing table (``starter.routing``) -> 202
   ignored with its reason; another repository than ``github_repo`` -> 202 ignored;
7. the sender's permission (``starter.permissions``): below write -> one polite comment via
   ``BotReplyWorkflow`` and 202 refused; lookup failure -> 503 (redeliver later);
8. the workflow interaction (``starter.dispatch``) -> 202 with the workflow id; Temporal not
   answering -> 503. Comment commands are answered on the issue by ``BotReplyWorkflow``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import replace

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from temporalio.client import Client

from infra.settings import Settings
from infra.temporal import connect
from models.contribution import ContributionInput
from models.creation import ApprovalDecision, ChangeRequest, PullClosed
from models.github import UpsertComment
from models.spend import BudgetRaise
from models.webhooks import EVENT_MODELS, ReviewRequest
from starter import signature
from starter.budget_dispatch import raise_budget
from starter.commands import Command, CommandMisuse, CommandName, bounded_change, named_head
from starter.dispatch import Dispatcher, Outcome, TemporalUnavailable
from starter.integration_commands import INTEGRATION_COMMANDS, integration_command
from starter.issue_events import may_act, on_issue_event, tell_pull_closed
from starter.metrics import StarterMetrics, webhook_span
from starter.permissions import PermissionChecker, PermissionLookupError, pull_head_sha
from starter.plan_dispatch import answer_plan, plan_answer
from starter.routing import (
    Action,
    CommentCommand,
    ContributionMerged,
    Ignored,
    IssueClosed,
    IssueEdited,
    IssueReopened,
    PullClosedByPerson,
    ReviewDecision,
    StartRequest,
    StartReview,
    route,
)
from starter.webhook_delivery import Answer, BadDelivery, DeliveryCache, answer, decode_body

log = structlog.get_logger("ccb.webhooks")

WEBHOOK_PATH = "/webhooks/github"
EVENT_HEADER = "X-GitHub-Event"
OUTCOME_WORD = re.compile(r"^[a-z_]{1,32}$")  # answers' statuses are the code's own words
DELIVERY_HEADER = "X-GitHub-Delivery"
MAX_DELIVERY_ID = 100
_SAFE_KEY = re.compile(r"[^A-Za-z0-9._:-]")


class WebhookService:
    """What the webhook endpoint keeps for the life of the app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deliveries = DeliveryCache()
        self.permissions = PermissionChecker(settings)
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def dispatcher(self, request: Request) -> Dispatcher:
        starter = getattr(request.app.state, "starter", None)
        if starter is not None:
            client = await starter.client()
        else:  # served without the app's lifespan: connect ourselves, once
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self.settings)
            client = self._client
        return Dispatcher(client, self.settings.task_queue,
                          approval=self.settings.approval_times(),
                          plan_first=self.settings.plan_first)

    # -- the endpoint --------------------------------------------------------------------------

    async def handle(self, request: Request) -> Answer:
        try:
            body = await self._verified_body(request)
            event = request.headers.get(EVENT_HEADER, "").strip()
            delivery = request.headers.get(DELIVERY_HEADER, "").strip()
            if not event or not delivery or len(delivery) > MAX_DELIVERY_ID:
                return answer(400, "error", f"{EVENT_HEADER} and {DELIVERY_HEADER} headers "
                              "are required, as GitHub sends them")
            key = (delivery, hashlib.sha256(body).hexdigest())
            return await self.deliveries.once(
                key, lambda: self._handle_delivery(request, event, delivery, body))
        except BadDelivery as bad:
            return bad.result

    async def _verified_body(self, request: Request) -> bytes:
        header = request.headers.get(signature.SIGNATURE_HEADER)
        if not signature.well_formed(header):
            raise BadDelivery(answer(401, "unauthorized", f"missing or malformed "
                                     f"{signature.SIGNATURE_HEADER}: sign the body with the "
                                     "webhook secret (sha256=<hex HMAC>)"))
        if not self.settings.webhook_secret.get_secret_value():
            log.error("webhook refused: CCB_WEBHOOK_SECRET is not set")
            raise BadDelivery(answer(401, "unauthorized", "this starter has no webhook secret "
                                     "configured: set CCB_WEBHOOK_SECRET"))
        body = await self._read_limited(request)
        if not signature.verify(self.settings.webhook_secret.get_secret_value(), body, header):
            raise BadDelivery(answer(401, "unauthorized", f"{signature.SIGNATURE_HEADER} does "
                                     "not match the body: check the webhook secret"))
        return body

    async def _read_limited(self, request: Request) -> bytes:
        limit = self.settings.webhook_max_body_bytes
        too_big = answer(413, "too_large", f"the body is over {limit} bytes")
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise BadDelivery(answer(400, "error", "Content-Length is not a number"))
            if int(declared) > limit:
                raise BadDelivery(too_big)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BadDelivery(too_big)
                chunks.append(chunk)
        except ClientDisconnect:
            raise BadDelivery(answer(400, "error", "the body ended early")) from None
        return b"".join(chunks)

    async def _handle_delivery(self, request: Request, event: str, delivery: str,
                               body: bytes) -> Answer:
        if event == "ping":
            return answer(202, "ignored", "ping: the webhook is set up")
        model = EVENT_MODELS.get(event)
        if model is None:
            return answer(202, "ignored", f"event {event!r} is not handled")
        data = decode_body(request.headers.get("content-type", ""), body)
        action = data.get("action")
        if not isinstance(action, str):
            return answer(400, "error", f"a {event} payload needs an 'action' string")
        try:
            payload = model.model_validate(data)
        except ValidationError as exc:
            where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
            return answer(400, "error", f"the {event}.{action} payload has a wrong shape "
                          f"at: {where}")
        sender = payload.sender
        if (sender.login.lower() == self.settings.bot_login.lower()
                or sender.type == "Bot"):
            return answer(202, "ignored", "the bot's own event")
        routed = route(event, payload)
        if isinstance(routed, Ignored):
            return answer(202, "ignored", routed.reason)
        if payload.repository.full_name.lower() != self.settings.github_repo.lower():
            return answer(202, "ignored", f"repository {payload.repository.full_name!r} is not "
                          f"the one this bot works in ({self.settings.github_repo})")
        try:
            return await self._act(request, routed, delivery)
        except PermissionLookupError as exc:
            log.warning("permission lookup failed", delivery=delivery, error=str(exc))
            return answer(503, "unavailable", f"{exc}; redeliver the webhook later")
        except TemporalUnavailable as exc:
            log.warning("temporal unavailable", delivery=delivery, error=str(exc))
            return answer(503, "unavailable", f"{exc}; redeliver the webhook later")

    # -- acting --------------------------------------------------------------------------------

    async def _act(self, request: Request, action: Action, delivery: str) -> Answer:
        repo = self.settings.github_repo
        own = isinstance(action, IssueClosed | IssueReopened | IssueEdited) and may_act(action)
        if not own and not await self.permissions.may_write(repo, action.actor):
            return await self._refuse(request, action)
        dispatcher = await self.dispatcher(request)
        if isinstance(action, IssueClosed | IssueReopened | IssueEdited):
            outcome = await on_issue_event(dispatcher, self.settings, action, delivery)
        elif isinstance(action, PullClosedByPerson):
            outcome = await tell_pull_closed(
                dispatcher, (action.workflow_type, action.workflow_id),
                PullClosed(pr_number=action.pr_number, actor=action.actor,
                           merged=action.merged, head_sha=action.head_sha))
        elif isinstance(action, ContributionMerged):
            outcome = await dispatcher.start_contribution(ContributionInput(
                repo=repo, pr_number=action.pr_number, merged_by=action.actor,
                head_sha=action.head_sha, merge_sha=action.merge_sha,
                environment=self.settings.environment_order[0].value))
        elif isinstance(action, StartRequest):
            outcome = await dispatcher.start_request(repo, action.issue_number, action.actor,
                                                     action.title, action.body,
                                                     update=action.update)
        elif isinstance(action, StartReview):
            outcome = await dispatcher.start_review(ReviewRequest(
                repo=repo, pr_number=action.pr_number, head_ref=action.head_ref,
                head_sha=action.head_sha, requested_by=action.actor))
        elif isinstance(action, ReviewDecision):
            outcome = await self._review_decision(dispatcher, action)
        else:
            outcome = await self._command(dispatcher, action)
        log.info("webhook routed", delivery=delivery, outcome=outcome.status,
                 workflow_id=outcome.workflow_id, workflow_type=outcome.workflow_type)
        return Answer(202, outcome.as_json())

    async def _review_decision(self, dispatcher: Dispatcher, action: ReviewDecision) -> Outcome:
        target = (action.workflow_type, action.workflow_id)
        source = f"review:{action.review_id}"
        if action.approve:
            outcome = await dispatcher.approve(
                action.repo, action.pr_number,
                ApprovalDecision(reviewer=action.actor, source="review", comment=action.text,
                                 head_sha=action.head_sha, pr_number=action.pr_number),
                update_id=source, target=target)
            if outcome.status == "rejected":  # one line on the pull request: why, what to do
                await dispatcher.start_reply(UpsertComment(
                    repo=action.repo, number=action.pr_number, marker=f"{source}-refused",
                    body=f"@{action.actor}, your approval was not taken: {outcome.message}"),
                    key=f"{source}-refused")
            return outcome
        return await dispatcher.request_changes(
            action.repo, action.pr_number,
            ChangeRequest(reviewer=action.actor, text=bounded_change(action.text),
                          source=source),
            target=target)

    async def _command(self, dispatcher: Dispatcher, action: CommentCommand) -> Outcome:
        command = action.command
        repo = self.settings.github_repo
        if isinstance(command, CommandMisuse):
            outcome = Outcome("rejected", command.problem)
        else:
            outcome = await self._run_command(dispatcher, action, command)
        name = command.name.value
        reply = await dispatcher.start_reply(
            UpsertComment(repo=repo, number=action.reply_number,
                          marker=f"command-{action.comment_id}",
                          body=f"`/{name}` from @{action.actor}: {outcome.message}"),
            key=f"command-{action.comment_id}")
        return replace(outcome, details={"command": name,
                                         "reply_workflow_id": reply.workflow_id})

    async def _run_command(self, dispatcher: Dispatcher, action: CommentCommand,
                           command: Command) -> Outcome:
        repo, issue = self.settings.github_repo, action.issue_number
        source = f"comment:{action.comment_id}"
        if command.name is CommandName.APPROVE:
            head, pr_number = named_head(command.text), None
            if action.on_pull_request:  # bound to that pull request, at its head now
                pr_number = action.reply_number
                head = head or await pull_head_sha(self.settings, repo, pr_number)
            return await dispatcher.approve(
                repo, issue, ApprovalDecision(reviewer=action.actor, source="comment",
                                              comment=command.text, head_sha=head,
                                              pr_number=pr_number),
                update_id=source)
        if command.name is CommandName.REQUEST_CHANGES:
            return await dispatcher.request_changes(
                repo, issue, ChangeRequest(reviewer=action.actor,
                                           text=bounded_change(command.text), source=source))
        if command.name in (CommandName.APPROVE_PLAN, CommandName.REVISE_PLAN):
            return await answer_plan(dispatcher, repo, issue, plan_answer(
                command, action.actor, action.comment_id), update_id=source)
        if command.name is CommandName.CANCEL:
            return await dispatcher.cancel(repo, issue)
        if command.name is CommandName.STATUS:
            return await dispatcher.progress(repo, issue)
        if command.name is CommandName.BUDGET:  # audited by the workflow: who, how much
            return await raise_budget(dispatcher, repo, issue, BudgetRaise(
                actor=action.actor, amount_usd=float(command.text), source=source), source)
        if command.name in INTEGRATION_COMMANDS:  # on the integration the issue created
            return await integration_command(dispatcher.client, self.settings, issue=issue,
                                             actor=action.actor, command=command)
        if action.on_pull_request:
            return Outcome("rejected", f"comment `/retry` on the request issue #{issue}")
        return await dispatcher.retry(repo, issue, action.actor, action.title, action.body)

    async def _refuse(self, request: Request, action: Action) -> Answer:
        """One polite comment (at most once per subject) and nothing else."""
        repo = self.settings.github_repo
        what, key = _refusal_subject(action)
        text = (f"Thanks, @{action.actor}. Only people with write access to {repo} can "
                f"{what}, so the bot did nothing. Someone with write access can do it for you.")
        dispatcher = await self.dispatcher(request)
        reply = await dispatcher.start_reply(
            UpsertComment(repo=repo, number=action.reply_number, marker=key, body=text), key=key)
        log.info("refused: no write permission", actor=action.actor, subject=key)
        return answer(202, "refused", f"{action.actor} may not {what}",
                      reply_workflow_id=reply.workflow_id)


def _refusal_subject(action: Action) -> tuple[str, str]:
    login = _SAFE_KEY.sub("_", action.actor)[:40]
    if isinstance(action, StartRequest):
        return "start an integration request", f"refused-request-{login}"
    if isinstance(action, StartReview):
        return "start a review", f"refused-review-{login}"
    if isinstance(action, ReviewDecision):
        return "approve or request changes", f"refused-review-{action.review_id}"
    if isinstance(action, IssueClosed | IssueReopened | IssueEdited):
        return "stop, restart or change someone's request", f"refused-issue-{login}"
    if isinstance(action, PullClosedByPerson):
        return "close the bot's pull request", f"refused-pull-{action.pr_number}-{login}"
    name = action.command.name.value
    return f"use `/{name}`", f"command-{action.comment_id}"


def webhook_router(settings: Settings, metrics: StarterMetrics | None = None,
                   tracer: trace.Tracer | None = None) -> APIRouter:
    """The router ``create_app`` includes; each delivery counted in ``metrics`` and handled in
    a span of ``tracer`` (no-op by default), the parent of the workflow it starts."""
    service = WebhookService(settings)
    router = APIRouter()
    counts = metrics or StarterMetrics()
    spans = tracer or trace.NoOpTracer()

    @router.post(WEBHOOK_PATH, status_code=202)
    async def github_webhook(request: Request) -> JSONResponse:
        """GitHub's deliveries: 202 once a workflow has the work (see module doc)."""
        event = request.headers.get(EVENT_HEADER, "").strip()
        async with webhook_span(spans, event) as span:
            result = await service.handle(request)
            span.set_attribute("http.response.status_code", result.status_code)
        status = str(result.body.get("status", ""))
        counts.webhook(event, status if OUTCOME_WORD.match(status) else "other")
        if result.status_code >= 400:
            log.info("webhook rejected", code=result.status_code,
                     reason=result.body.get("reason"))
        return result.response()

    router.webhook_service = service  # type: ignore[attr-defined]  # for tests and benchmarks
    return router
