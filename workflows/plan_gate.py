"""Plan approval (issue 15, item 2): the architect -> coder gate of the design notes.

With plan-first on (``CreationInput.plan_first``, from the setting, or the issue's label
``plan-first``), creation posts its analysis as revision 1 of a plan and waits, durably, for
a person with write access: ``approve_plan`` lets the code be written from that revision;
``revise_plan`` runs the analysis again with their words and posts the next revision. Both are
workflow updates bound to the revision they answer (validated: one about an older revision,
or given on a comment older than the newest revision's, is refused and the caller told why).
Nothing is written to the repository while the plan waits: the branch and the pull request
come after the approval. Reminders are new comments; each revision waits at most the approval
expiry, then the run ends FAILED (``PlanExpired``) with its ending comment. A worker that
dies while the plan waits loses nothing: the wait is workflow state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import claude_analyze
    from activities.codegen.offline_activities import offline_analyze
    from activities.github_issues import issue_labels, upsert_bot_comment
    from activities.plan_cost import estimate_plan_cost
    from models.codegen import AnalyzeInput, Backend
    from models.creation import CreationInput, Progress, StepRecord
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import CommentRef, IssueQuery, UpsertComment
    from models.manifest import TechnicalSpec
    from models.plan import (
        PLAN_FIRST_LABEL,
        PlanAnswer,
        PlanApproval,
        PlanBinding,
        PlanCost,
        PlanCostQuery,
        PlanRevision,
    )
    from models.request import IntegrationRequest
    from rules.inert import inert
    from rules.plan_feedback import revised_request
    from rules.plan_text import plan_comment, plan_reminder
    from rules.words import span
    from workflows.approval import BOT_LOGINS
    from workflows.creation_review import RequestFailed
    from workflows.policies import GITHUB_STEP
    from workflows.request_texts import mentions

PLAN_PATCH = "plan-approval"  # earlier runs went from the analysis straight to code
APPROVE_PLAN_UPDATE = "approve_plan"
REVISE_PLAN_UPDATE = "revise_plan"
MAX_REVISIONS = 10
PLAN_STEP = StepRecord(name="plan", title="Plan approved by a person (plan-first)")


class PlanGate:
    """Mixin of ``IntegrationCreationWorkflow`` (it provides the ``RequestRun`` steps)."""

    _progress: Progress
    _input: CreationInput | None
    _edited: Any
    _guidance: Any  # the base branch's rules (``workflows.guidance_step``), or None
    _slug_recorded: bool
    _start: Callable[..., Awaitable[None]]
    _done: Callable[..., Awaitable[None]]
    _note: Callable[..., Awaitable[None]]
    _local: Callable[..., Awaitable[Any]]
    _event: Callable[..., Awaitable[None]]
    _by_backend: Callable[..., Awaitable[Any]]
    _restart_if_edited: Callable[..., Awaitable[None]]

    def _init_plan(self) -> None:
        self._plan_answer: PlanApproval | PlanRevision | None = None
        self._plan_comment_id = 0  # the newest revision's comment

    # -- the messages -------------------------------------------------------------------------

    @workflow.update(name=APPROVE_PLAN_UPDATE)
    async def approve_plan(self, approval: PlanApproval) -> PlanAnswer:
        # Answered: a second answer, even in the same workflow task, is refused.
        self._plan_answer, self._progress.waiting_for_plan = approval, False
        return PlanAnswer(accepted=True, message=(
            f"plan revision {self._progress.plan_revision} approved by {approval.reviewer}: "
            "the code is written from it"))

    @approve_plan.validator
    def _validate_approve_plan(self, approval: PlanApproval) -> None:
        self._refuse_unbound(approval)

    @workflow.update(name=REVISE_PLAN_UPDATE)
    async def revise_plan(self, revision: PlanRevision) -> PlanAnswer:
        self._plan_answer, self._progress.waiting_for_plan = revision, False
        return PlanAnswer(accepted=True, message=(
            f"the analysis runs again with the feedback; revision "
            f"{self._progress.plan_revision + 1} of the plan follows"))

    @revise_plan.validator
    def _validate_revise_plan(self, revision: PlanRevision) -> None:
        self._refuse_unbound(revision)
        if self._progress.plan_revision >= MAX_REVISIONS:
            raise ValueError(f"the plan has had {MAX_REVISIONS} revisions: approve revision "
                             f"{self._progress.plan_revision} or `/cancel` the request")

    def _refuse_unbound(self, answer: PlanBinding) -> None:
        """Only a person's answer, while a plan waits, about the revision waiting."""
        current = self._progress.plan_revision
        if not self._progress.waiting_for_plan:
            where = (f"revision {current} was already answered" if current
                     else "no plan is waiting (plan-first is off for it, or its analysis "
                          "is still running)")
            raise ValueError(f"not waiting for a plan decision: {where}; the request is at "
                             f"step '{self._progress.current_step or 'starting'}'")
        if not answer.reviewer:
            raise ValueError("an answer to the plan must name who gives it")
        if answer.reviewer.lower() in BOT_LOGINS:
            raise ValueError("the bot never approves its own plan: a person does")
        if answer.revision is not None and answer.revision != current:
            raise ValueError(f"that answers revision {answer.revision}, but the plan is at "
                             f"revision {current} ({self._progress.plan_url}): read it and "
                             "answer again")
        if answer.comment_id is not None and answer.comment_id < self._plan_comment_id:
            raise ValueError(f"revision {current} was posted after your comment "
                             f"({self._progress.plan_url}): read it and answer again")
        if answer.revision is None and answer.comment_id is None:
            raise ValueError(f"say which revision you answer: the plan is at revision "
                             f"{current} (`/approve-plan {current}`, or `ccb approve-plan "
                             f"<issue> --revision {current}`)")

    # -- the gate -----------------------------------------------------------------------------

    async def _plan_first(self, inp: CreationInput, request: IntegrationRequest,
                          backend: Backend,
                          spec: TechnicalSpec) -> tuple[IntegrationRequest, TechnicalSpec]:
        """The request and spec code is generated from: as analysed, when plan-first is off;
        else those of the revision a person approved."""
        if not workflow.patched(PLAN_PATCH) or not await self._plan_wanted(inp):
            return request, spec
        steps = self._progress.steps
        steps.insert(next(i for i, s in enumerate(steps) if s.name == "analyze") + 1,
                     PLAN_STEP.model_copy())
        changes: list[str] = []
        feedback_by = ""
        while True:
            revision = self._progress.plan_revision + 1
            await self._start("plan", attempt=revision)
            await self._post_plan(inp, request, backend, spec, revision, changes, feedback_by)
            answer = await self._await_plan(inp)
            if isinstance(answer, PlanApproval):
                break
            feedback_by = answer.reviewer
            await self._note("plan", f"revision {revision}: {answer.reviewer} asked for a "
                                     "revision; analysing again")
            request, changes = revised_request(request, answer.text, revision=revision + 1,
                                               reviewer=answer.reviewer)
            spec = (await self._by_backend(backend, claude_analyze, offline_analyze, AnalyzeInput(
                request=request, integration_key=workflow.info().workflow_id,
                guidance=self._guidance))).spec
            await self._event(EventType.PLAN_REVISED, f"plan-revised-{revision}", {
                "revision": revision + 1, "by": answer.reviewer, "source": answer.source,
                "changes": changes, "summary": spec.summary[:200]})
        self._progress.plan_approved_by = answer.reviewer
        await self._event(EventType.PLAN_APPROVED, f"plan-approved-{revision}", {
            "revision": revision, "by": answer.reviewer, "source": answer.source,
            "url": self._progress.plan_url})
        await self._done("plan", f"revision {revision} approved by {answer.reviewer}")
        return request, spec

    async def _plan_wanted(self, inp: CreationInput) -> bool:
        if inp.plan_first:
            return True
        labels: list[str] = await workflow.execute_activity(
            issue_labels, IssueQuery(repo=inp.repo, number=inp.issue_number), **GITHUB_STEP)
        return PLAN_FIRST_LABEL in labels

    async def _post_plan(self, inp: CreationInput, request: IntegrationRequest,
                         backend: Backend, spec: TechnicalSpec, revision: int,
                         changes: list[str], feedback_by: str) -> None:
        usage = self._progress.usage
        cost: PlanCost = await self._local(estimate_plan_cost, PlanCostQuery(
            backend=backend.value, repo=inp.repo, max_fix_rounds=inp.max_fix_rounds,
            spent_usd=usage.cost_usd))
        ref: CommentRef = await workflow.execute_activity(upsert_bot_comment, UpsertComment(
            repo=inp.repo, number=inp.issue_number, marker=f"plan-{revision}",
            body=plan_comment(request=request, spec=spec, revision=revision, backend=backend,
                              cost=cost, requester=inp.requested_by,
                              expiry=inp.approval_expiry, changes=changes,
                              feedback_by=feedback_by)), **GITHUB_STEP)
        self._plan_comment_id = ref.id
        self._progress.plan_revision, self._progress.plan_url = revision, ref.url

    async def _await_plan(self, inp: CreationInput) -> PlanApproval | PlanRevision:
        """The answer to the posted revision; reminders each interval, then the expiry. An
        edit of the issue while the plan waits starts the request again with the new text."""
        self._plan_answer = None
        revision = self._progress.plan_revision
        deadline = workflow.now() + inp.approval_expiry
        count = 0
        self._progress.waiting_for_plan = True
        await self._note("plan", f"revision {revision} posted: waiting for `/approve-plan "
                                 f"{revision}` or `/revise-plan <what>`")
        try:
            while True:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise self._plan_expired(inp)
                try:
                    await workflow.wait_condition(
                        lambda: self._plan_answer is not None or self._edited is not None,
                        timeout=min(inp.reminder_interval, remaining))
                except TimeoutError:
                    left = deadline - workflow.now()
                    if left > timedelta(0):
                        count += 1
                        await self._remind_plan(inp, revision, count, left)
                    continue
                if self._plan_answer is not None:
                    return self._plan_answer
                await self._restart_if_edited(inp, record_failed=self._slug_recorded)
        finally:
            self._progress.waiting_for_plan = False

    async def _remind_plan(self, inp: CreationInput, revision: int, count: int,
                           left: timedelta) -> None:
        await self._note("plan", f"reminder {count}: revision {revision} still waits")
        await workflow.execute_activity(upsert_bot_comment, UpsertComment(
            repo=inp.repo, number=inp.issue_number, marker=f"plan-reminder-{revision}-{count}",
            body=plan_reminder(revision=revision, count=count,
                               last=left <= inp.reminder_interval, left=left,
                               mention=mentions([inp.requested_by, *inp.reviewers]))),
            **GITHUB_STEP)

    def _plan_link(self) -> str:
        """The pull request's line naming the plan it was written from ("" without one)."""
        if not self._progress.plan_approved_by:
            return ""
        return (f"Written from plan revision {self._progress.plan_revision} "
                f"({self._progress.plan_url}), approved by "
                f"{inert(self._progress.plan_approved_by)}.")

    def _plan_expired(self, inp: CreationInput) -> ApplicationError:
        return RequestFailed(
            f"nobody approved or revised plan revision {self._progress.plan_revision} within "
            f"{span(inp.approval_expiry)}, so no code was written (no branch, no pull "
            "request). Comment /retry to post the plan again",
            type=ErrorType.PLAN_EXPIRED, non_retryable=True)
