"""The review half of integration creation: the pull request reviewed (by
``CodeReviewWorkflow`` as a child, or in place in runs from before it), a person's decision
waited for with reminders, and changes requested sent back to generation and committed.

A mixin of ``IntegrationCreationWorkflow``, kept apart so each module reads as one part of the
process; the commands it issues are those the workflow always issued, in the same order.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import claude_review
    from activities.codegen.offline_activities import offline_review
    from activities.github_git import commit_files
    from models.codegen import Backend, ReviewInput
    from models.creation import ApprovalDecision, ChangeRequest, CreationInput
    from models.events import EventType
    from models.github import CommitFiles
    from models.manifest import TechnicalSpec
    from models.request import IntegrationRequest
    from models.review import CheckedHead, ReviewOptions, ReviewRun
    from models.states import IntegrationState
    from models.verify import TestReport
    from workflows.creation_steps import review_in_place
    from workflows.policies import GITHUB_STEP
    from workflows.request_run import BOT, RequestRun

S = IntegrationState
REVIEW_CHILD_PATCH = "review-by-code-review-workflow"  # earlier runs reviewed in place
REMINDER_COMMENTS_PATCH = "approval-reminder-comments"  # earlier ones only edited the checklist


class RequestFailed(ApplicationError):
    """A failure already explained to the user; the workflow ends FAILED."""


class CreationReview(RequestRun):
    """Mixin: the workflow sets ``_input`` and ``_test_report`` and provides
    ``_generate_until_green`` and ``_by_backend``."""

    _input: CreationInput | None
    _test_report: TestReport | None
    _generate_until_green: Any
    _by_backend: Any

    async def _review_until_approved(self, backend: Backend, request: IntegrationRequest,
                                     spec: TechnicalSpec, branch: str,
                                     files: dict[str, str]) -> dict[str, str]:
        """Review and a person's approval; changes requested go back to generation and are
        committed on the branch, reviewed again. Returns the approved files."""
        assert self._input is not None
        while True:
            await self._review(backend, request, files)
            decision = await self._wait_for_decision(self._input)
            if isinstance(decision, ApprovalDecision):
                break
            await self._transition(S.GENERATING, f"changes requested by {decision.reviewer}")
            files = await self._generate_until_green(
                backend, request, spec, reviewer_comments=[decision.text], previous=files)
            commit = await workflow.execute_activity(
                commit_files,
                CommitFiles(repo=self._repo, branch=branch, files=files,
                            message=f"Address review by {decision.reviewer}"),
                **GITHUB_STEP)
            self._progress.head_sha = commit.sha
            await self._transition(S.REVIEWING, "changes committed; review again")
        await self._done("review", f"approved by {decision.reviewer} ({decision.source})")
        await self._transition(S.APPROVED, f"approved by {decision.reviewer}",
                               actor=decision.reviewer)
        await self._event(EventType.REVIEW_COMPLETED, "review",
                          {"approved_by": decision.reviewer, "source": decision.source})
        return files

    async def _review(self, backend: Backend, request: IntegrationRequest,
                      files: dict[str, str]) -> None:
        assert self._input is not None
        await self._start("review")
        if workflow.patched(REVIEW_CHILD_PATCH):
            await self._review_by_workflow(backend, request)
            return
        # Runs started before the patch reviewed here, by hand (kept so they replay).
        review = await self._by_backend(backend, claude_review, offline_review, ReviewInput(
            request=request, files=files, findings=self._progress.findings,
            integration_key=workflow.info().workflow_id))
        await review_in_place(self._input, self._progress, review)

    async def _review_by_workflow(self, backend: Backend, request: IntegrationRequest) -> None:
        """The PR's head reviewed by ``CodeReviewWorkflow`` as a child (the same review every
        PR gets), reusing this run's checks and sandbox tests of exactly these files; the
        review's tokens count against this request's budget."""
        assert self._input is not None and self._test_report is not None
        inp, head = self._input, self._progress.head_sha
        if backend == Backend.CLAUDE:
            await self._check_budget(inp.token_budget)
        outcome = await self._review_pull(ReviewRun(
            repo=inp.repo, pr_number=self._progress.pr_number or 0,
            head_ref=f"integration/{request.slug}", head_sha=head, requested_by=BOT,
            options=ReviewOptions(
                reviewers=inp.reviewers, new_integration=True,
                coverage_gate=self._test_report.coverage_gate,
                usage_key=workflow.info().workflow_id,
                checked=CheckedHead(sha=head, slug=request.slug, report=self._test_report,
                                    findings=self._progress.findings))))
        await self._note("review", f"review of {head[:7]} {outcome.status} "
                                   f"({outcome.reviewed_by or 'no code review'})")

    async def _wait_for_decision(self, inp: CreationInput) -> ApprovalDecision | ChangeRequest:
        self._approval, self._changes = None, []
        deadline = workflow.now() + inp.approval_expiry
        self._progress.waiting_for_approval = True
        await self._note("review", "waiting for a human approval (/approve, an approving "
                                   "review, `ccb approve` or the Temporal UI)")
        return await self._await_decision(deadline, inp, self._remind, RequestFailed)

    async def _remind(self, count: int, last: bool, left: timedelta) -> None:
        """Noted in the checklist and, in newer runs, a new comment mentioning the reviewers
        (an edited comment notifies nobody)."""
        await self._note("review", f"reminder {count}: still waiting for an approval")
        if workflow.patched(REMINDER_COMMENTS_PATCH):
            await self._comment(f"approval-reminder-{count}",
                                self._approval_reminder(count, last, left))
