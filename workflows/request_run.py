"""What the creation and update workflows share: one request run on an issue.

Both are the same shape: a saga of undoable side effects, events and transitions recorded in
the registry, a progress checklist, generated code checked and tested in the sandbox, the
bot's pull request opened, a person's decision waited for (one rule for reminders and
expiry), the merge recorded as a version (its compensation a revert pull request) and the
version deployed blue-green by ``DeployWorkflow``. ``RequestRun`` holds those steps; the two
workflows hold only what their SPEC process does differently.

Every method here issues the same commands, in the same order, as the code it replaced in
each workflow, so runs started before it replay; a behaviour change is behind
``workflow.patched``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import check_token_budget
    from activities.credentials import missing_credentials
    from activities.flags import read_feature_flags
    from activities.github_git import delete_branch
    from activities.github_issues import upsert_bot_comment
    from activities.github_pulls import merge_pull_request
    from activities.lifecycle import record_event, record_version, transition_state
    from activities.progress_comment import publish_progress
    from activities.verify import check_generated_code, run_generated_tests
    from models import metrics as m
    from models.budget import BudgetCheck
    from models.codegen import Finding, TokenUsage
    from models.creation import (
        ApprovalDecision,
        ApprovalTimes,
        ChangeRequest,
        ErrorCategory,
        StepRecord,
        StepStatus,
    )
    from models.credentials import CredentialQuery
    from models.deploy import DeployInput, DeployResult, deploy_workflow_id
    from models.deployment import Environment
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import DeleteBranch, MergePull, UpsertComment
    from models.lifecycle import EventCommand, TransitionCommand, VersionCommand
    from models.progress import ProgressUpdate
    from models.promotion import (
        PromotionInput,
    )
    from models.review import ReviewOutcome, ReviewRun
    from models.search_attributes import INTEGRATION_STATE
    from models.states import IntegrationState
    from models.verify import CheckRequest, TestReport, TestRequest
    from rules.credentials import needed_credentials
    from workflows import metrics, request_texts
    from workflows.approval import AwaitsHumanDecision
    from workflows.deploy import DeployWorkflow
    from workflows.errors import classify
    from workflows.policies import GITHUB_STEP, LOCAL_STEP, MODEL_STEP, sandbox_step
    from workflows.promotion_start import note_merge_gates, start_promotion
    from workflows.pull_closed import closed_on_github
    from workflows.review import review_as_child
    from workflows.saga import Saga


class HasUsage(Protocol):
    """A step's result that carries its token usage (analysis, code, review)."""

    usage: TokenUsage


A = TypeVar("A")
R = TypeVar("R")
U = TypeVar("U", bound=HasUsage)
BOT = "ccb-bot"
# Earlier runs merged without looking for the integration's credentials (then its deployment
# waited for a health check that could not pass, and the merge was reverted).
CREDENTIALS_PATCH = "credentials-before-merge"
# Earlier runs ended at the first environment; now a promotion moves the version on.
PROMOTION_PATCH = "promotion-after-first-deploy"


class IssueInput(Protocol):
    repo: str
    issue_number: int


In = TypeVar("In", bound=IssueInput)


class RequestRun(AwaitsHumanDecision):
    """The shared half of a request's workflow. A subclass sets ``self._progress`` and calls
    ``_init_run()`` in its ``__init__``, and ``_begin(inp)`` first thing in its run."""

    async def _ended(self, run: Awaitable[R], failure: type[ApplicationError],
                     outcome: Callable[[R], str]) -> R:
        """``await run`` (the guarded process) and count how it ended: ``outcome(result)``,
        or failed when it raised ``failure``. A bug that fails the task is not an end. The
        metrics are replay-safe and issue no commands."""
        try:
            result = await run
        except failure:
            metrics.count_request(self._kind, "failed")
            raise
        metrics.count_request(self._kind, outcome(result).lower())
        return result

    @property
    def _kind(self) -> str:
        """The metrics' kind label: creation | update."""
        return metrics.request_kind(workflow.info().workflow_type)

    def _pull_request_opened(self) -> None:
        metrics.since_request(m.REQUEST_TO_PR, self._kind)

    def _init_run(self) -> None:
        self._init_decisions()  # progress query, approve update, request_changes signal
        self._saga = Saga()
        self._events = 0
        self._transitions = 0
        self._revert_note = ""
        self._repo = ""
        self._issue = 0
        self._merge_gates: dict[str, Any] = {}  # what let the merge happen (note_merge_gates)
        self._requested_by = ""

    def _begin(self, inp: In) -> In:
        """Note the issue the run works on (the progress comment's and every comment's)."""
        self._repo, self._issue = inp.repo, inp.issue_number
        self._requested_by = str(getattr(inp, "requested_by", "") or "")
        self._progress.workflow_id = workflow.info().workflow_id
        return inp

    # -- ending -------------------------------------------------------------------------------

    async def _undo(self, err: BaseException) -> tuple[ErrorCategory, str, list[str]]:
        """Classify the failure, note it, and run every compensation (newest first).
        Returns (category, message, what could not be undone)."""
        category, message = classify(err)
        self._progress.error = message
        return category, message, await self._saga.compensate()

    # -- the registry -------------------------------------------------------------------------

    async def _local(self, fn: Callable[[A], R], arg: A) -> R:
        """A quick local activity (parsing, registry, pure generation)."""
        result: R = await workflow.execute_activity(fn, arg, **LOCAL_STEP)  # type: ignore[call-overload]
        return result

    async def _event(self, kind: EventType, name: str, payload: dict[str, Any]) -> None:
        """Record an event; its id is stable across retries of the activity."""
        wf_id = workflow.info().workflow_id
        self._events += 1
        note_merge_gates(self._merge_gates, kind, payload)
        await self._local(record_event, EventCommand(
            event_id=f"{wf_id}/{workflow.info().run_id}/{self._events}-{name}", type=kind,
            slug=self._progress.slug or None, payload=payload,
            metadata={"workflow_id": wf_id}))

    async def _transition(self, target: IntegrationState, reason: str,
                          actor: str = BOT) -> None:
        wf_id = workflow.info().workflow_id
        self._transitions += 1
        await self._local(transition_state, TransitionCommand(
            slug=self._progress.slug, target=target, actor=actor, reason=reason,
            workflow_id=wf_id,
            key=f"{wf_id}/{workflow.info().run_id}/{self._transitions}/{target}"))
        self._progress.state = target
        workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(target)])

    async def _check_budget(self, budget: int | None = None) -> None:
        """Before a model call: fail the request when its tokens are spent."""
        await self._local(check_token_budget, BudgetCheck(
            integration_key=workflow.info().workflow_id, budget=budget))

    async def _by_model(self, fn: Callable[[A], U], arg: A, budget: int | None = None) -> U:
        """A model call: the budget checked first, the model's long timeouts and heartbeat;
        its token usage is added to the request's."""
        await self._check_budget(budget)
        result: U = await workflow.execute_activity(fn, arg, **MODEL_STEP)  # type: ignore[call-overload]
        self._progress.usage = self._progress.usage + result.usage
        return result

    async def _review_pull(self, run: ReviewRun) -> ReviewOutcome:
        """The pull request's head reviewed by ``CodeReviewWorkflow`` as a child (when the
        webhook already started that review, its outcome is awaited instead); the review's
        tokens count against this request's."""
        outcome = await review_as_child(run)
        self._progress.usage = self._progress.usage + outcome.usage
        return outcome

    # -- the progress checklist ---------------------------------------------------------------

    def _step(self, name: str) -> StepRecord:
        return next(s for s in self._progress.steps if s.name == name)

    def _current_step(self) -> StepRecord | None:
        return next((s for s in self._progress.steps
                     if s.name == self._progress.current_step), None)

    async def _start(self, name: str, attempt: int | None = None) -> None:
        step = self._step(name)
        step.status, step.started_at, step.finished_at = StepStatus.RUNNING, workflow.now(), None
        step.attempts = attempt if attempt is not None else step.attempts + 1
        self._progress.current_step = name
        await self._publish()

    async def _done(self, name: str, note: str = "") -> None:
        await self._finish_step(name, StepStatus.DONE, note)

    async def _skip(self, name: str, note: str) -> None:
        await self._finish_step(name, StepStatus.SKIPPED, note)

    async def _finish_step(self, name: str, status: StepStatus, note: str) -> None:
        step = self._step(name)
        step.status, step.finished_at, step.note = status, workflow.now(), note
        await self._publish()

    async def _note(self, name: str, note: str) -> None:
        self._step(name).note = note
        await self._publish()

    async def _publish(self, final: bool = False) -> None:
        """Edit the one bot progress comment on the issue and set the state label."""
        await workflow.execute_activity(
            publish_progress,
            ProgressUpdate(repo=self._repo, issue_number=self._issue,
                           progress=self._progress, final=final),
            **GITHUB_STEP)

    # -- checks and tests in the sandbox ------------------------------------------------------

    async def _check(self, slug: str, files: dict[str, str]) -> list[Finding]:
        findings: list[Finding] = await workflow.execute_activity(
            check_generated_code, CheckRequest(slug=slug, files=files), **sandbox_step())
        return findings

    async def _test(self, request: TestRequest) -> TestReport:
        report: TestReport = await workflow.execute_activity(
            run_generated_tests, request, **sandbox_step())
        return report

    # -- a person's decision ------------------------------------------------------------------

    async def _await_decision(
        self, deadline: datetime, times: ApprovalTimes,
        remind: Callable[[int], Awaitable[None]], failure: type[ApplicationError], *,
        reminders: bool = True,
    ) -> ApprovalDecision | ChangeRequest:
        """Wait for an approval or a change request, calling ``remind(n)`` every
        ``times.reminder_interval`` until ``deadline`` (``times.approval_expiry`` after the
        wait began), when the run fails with ``failure``. ``reminders=False`` is how update
        runs started before the shared rule waited: once, for the whole expiry."""
        def expired() -> ApplicationError:
            return failure(f"no approval within {times.approval_expiry}; the pull request was "
                           "closed. Comment /retry to start again",
                           type=ErrorType.APPROVAL_EXPIRED, non_retryable=True)

        count = 0
        self._progress.waiting_for_approval = True
        began = workflow.now()
        try:
            while True:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise expired()
                try:
                    await workflow.wait_condition(
                        lambda: (self._approval is not None or bool(self._changes)
                                 or self._pull_closed is not None),
                        timeout=(min(times.reminder_interval, remaining) if reminders
                                 else times.approval_expiry))
                except TimeoutError:
                    if not reminders:
                        raise expired() from None
                    if workflow.now() < deadline:
                        count += 1
                        await remind(count)
                    continue
                waited = (workflow.now() - began).total_seconds()
                if self._pull_closed is not None:
                    return closed_on_github(self._pull_closed, failure)
                if self._changes:
                    metrics.human_wait(self._kind, "changes_requested", waited)
                    return self._changes.pop(0)
                assert self._approval is not None
                metrics.human_wait(self._kind, "approved", waited)
                return self._approval
        finally:
            self._progress.waiting_for_approval = False

    # -- credentials ---------------------------------------------------------------------------

    async def _await_credentials(self, slug: str, environment: str, files: dict[str, str],
                                 requester: str, times: ApprovalTimes,
                                 failure: type[ApplicationError]) -> None:
        """Before the merge: every credential the manifest names must be in the integration's
        secret store for ``environment`` (names only are looked at). When some are missing:
        one comment naming the exact ``ccb secrets set`` commands and the requester, then a
        durable wait (woken by ``credentials_set``, reminding each interval) until they are
        set, or ``times.approval_expiry``, when the run fails with ``failure``."""
        if not workflow.patched(CREDENTIALS_PATCH):
            return
        names = needed_credentials(files.get(f"integrations/{slug}/manifest.json", ""))
        query = CredentialQuery(slug=slug, environment=environment, names=names)
        missing: list[str] = await self._local(missing_credentials, query) if names else []
        if not missing:
            return
        deadline = workflow.now() + times.approval_expiry
        await self._comment("credentials", request_texts.credentials_needed(
            slug=slug, environment=environment, missing=missing, requester=requester,
            expiry=request_texts.span(times.approval_expiry)))
        self._progress.waiting_for_credentials = missing  # once the person has been told
        count = 0
        try:
            while missing:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise failure(f"the credentials {', '.join(missing)} of {slug} were not set "
                                  f"within {times.approval_expiry}; the pull request was "
                                  f"closed. Set them with `ccb secrets set {slug} NAME --env "
                                  f"{environment}`, then comment /retry",
                                  type=ErrorType.CREDENTIALS_MISSING, non_retryable=True)
                nudges = self._credentials_nudged
                timed_out = False
                try:
                    await workflow.wait_condition(
                        lambda seen=nudges: self._credentials_nudged != seen,  # type: ignore[misc]
                        timeout=min(times.reminder_interval, remaining))
                except TimeoutError:
                    timed_out = True
                missing = await self._local(missing_credentials, query)
                self._progress.waiting_for_credentials = missing
                if missing and timed_out and workflow.now() < deadline:
                    count += 1
                    await self._comment(f"credentials-reminder-{count}",
                                        request_texts.credentials_reminder(
                                            slug=slug, missing=missing, count=count))
        finally:
            self._progress.waiting_for_credentials = []
        await self._comment("credentials", f"`{slug}`'s credentials ({', '.join(names)}) are "
                            f"set for {environment}; going on with the merge.")

    async def _comment(self, marker: str, text: str) -> None:
        """The bot's comment tagged ``marker`` on the request's issue (created, or edited)."""
        await workflow.execute_activity(
            upsert_bot_comment,
            UpsertComment(repo=self._repo, number=self._issue, marker=marker, body=text),
            **GITHUB_STEP)

    # -- merge, version, deploy ---------------------------------------------------------------

    async def _merge(self, merge: MergePull, branch: str, version: VersionCommand,
                     revert_patch: str, revert: Callable[[str], Awaitable[None]]) -> str:
        """Merge the bot's pull request at the head that was reviewed, then delete its
        branch and record ``version`` at the merged commit. From here a failure is undone
        by ``revert(merged_sha)`` (a revert pull request), no longer by deleting the branch.
        Returns the merged commit's sha."""
        merged = await workflow.execute_activity(merge_pull_request, merge, **GITHUB_STEP)
        self._progress.merged_sha = merged.sha
        metrics.since_request(m.REQUEST_TO_MERGE, self._kind)
        self._saga = Saga()  # merged code is not undone by deleting its branch
        if workflow.patched(revert_patch):
            self._saga.add("open a revert pull request", lambda: revert(merged.sha))
        await workflow.execute_activity(
            delete_branch, DeleteBranch(repo=merge.repo, branch=branch), **GITHUB_STEP)
        gates = {**self._merge_gates, "approved_sha": self._progress.head_sha}
        await self._local(record_version, version.model_copy(
            update={"commit_sha": merged.sha, "gates": gates}))
        return merged.sha

    async def _deploy_version(self, environment: str, slug: str, version: str,
                              files: dict[str, str], commit_sha: str,
                              reason: str) -> DeployResult | None:
        """Deploy ``version`` blue-green as a child workflow, unless the environment's
        feature flags turn auto-deployment off (then None)."""
        flags = await self._local(read_feature_flags, environment)
        if not flags.auto_deployment:
            return None
        self._progress.state = IntegrationState.DEPLOYING
        root = f"integrations/{slug}/"
        deployed: DeployResult = await workflow.execute_child_workflow(
            DeployWorkflow.run,
            DeployInput(slug=slug, version=version, environment=environment,
                        files={p: t for p, t in files.items() if p.startswith(root)},
                        commit_sha=commit_sha, flags=flags, actor=BOT, reason=reason),
            id=deploy_workflow_id(environment, slug, version))
        metrics.since_request(m.REQUEST_TO_ACTIVE, self._kind)
        if workflow.patched(PROMOTION_PATCH) and len(commit_sha) >= 7:
            await start_promotion(PromotionInput(
                slug=slug, version=version, commit_sha=commit_sha,
                from_environment=Environment(environment), repo=self._repo,
                issue_number=self._issue or None, requested_by=self._requested_by))
        return deployed
