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
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import check_token_budget
    from activities.flags import read_feature_flags
    from activities.github_git import delete_branch
    from activities.github_issues import upsert_bot_comment
    from activities.github_pulls import merge_pull_request
    from activities.lifecycle import record_event, record_version, transition_state
    from activities.progress_comment import publish_progress
    from activities.verify import check_generated_code, run_generated_tests
    from models import metrics as m
    from models.budget import BudgetCheck
    from models.codegen import Backend, Finding, TokenUsage
    from models.creation import (
        ErrorCategory,
        StepRecord,
        StepStatus,
    )
    from models.deploy import DeployInput, DeployResult, deploy_workflow_id
    from models.deployment import Environment
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
    from rules.endings import WORDS, Ending, ending_comment, ending_of
    from workflows import metrics
    from workflows.deploy import DeployWorkflow
    from workflows.errors import classify, is_cancellation, root_cause
    from workflows.people_waits import WaitsForPeople
    from workflows.policies import GITHUB_STEP, LOCAL_STEP, MODEL_STEP, sandbox_step
    from workflows.promotion_start import note_merge_gates, start_promotion
    from workflows.review import review_as_child
    from workflows.saga import Saga
    from workflows.spend_wait import WaitsForBudget


class HasUsage(Protocol):
    """A step's result that carries its token usage (analysis, code, review)."""

    usage: TokenUsage


A = TypeVar("A")
R = TypeVar("R")
U = TypeVar("U", bound=HasUsage)
BOT = "ccb-bot"
# Earlier runs ended at the first environment; now a promotion moves the version on.
PROMOTION_PATCH = "promotion-after-first-deploy"


class IssueInput(Protocol):
    repo: str
    issue_number: int


In = TypeVar("In", bound=IssueInput)
ENDING_COMMENT_PATCH = "ending-comment"  # earlier runs ended with the progress comment only


class RequestRun(WaitsForPeople, WaitsForBudget):
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
        self._reviewers: list[str] = []  # requested by the review; the reminders mention them
        self._created_in: str | None = None  # the step whose write created the progress comment
        self._init_spend()  # the dollar cap (workflows.spend_wait)

    def _begin(self, inp: In) -> In:
        """Note the issue the run works on (the progress comment's and every comment's)."""
        self._repo, self._issue = inp.repo, inp.issue_number
        self._requested_by = str(getattr(inp, "requested_by", "") or "")
        self._spend_from(inp)
        self._progress.workflow_id = workflow.info().workflow_id
        return inp

    # -- ending -------------------------------------------------------------------------------

    async def _undo(self, err: BaseException) -> tuple[ErrorCategory, str, list[str]]:
        """Classify the failure, note it, and run every compensation (newest first).
        Returns (category, message, what could not be undone)."""
        category, message = classify(err)
        self._progress.error = message
        return category, message, await self._saga.compensate()

    def _ending_text(self, err: BaseException | None, *, update: bool, state: str = "",
                     extra: str = "") -> tuple[Ending, str]:
        """How the run ended, and the ending comment that says so (``rules/endings.py``)."""
        if err is None:
            ending, reason = ending_of(state=state), extra
        else:
            category, message = classify(err)
            ending = ending_of(error_type=str(getattr(root_cause(err), "type", "") or ""),
                               category=category, cancelled=is_cancellation(err))
            reason = (self._progress.error or message) + extra
        return ending, ending_comment(
            ending, update=update, requester=self._requested_by, reason=reason,
            workflow_id=workflow.info().workflow_id, pr_url=self._progress.pr_url or "")

    def _next_words(self, err: BaseException) -> str:
        """What the person can do after this failure, for the progress comment: the one
        notice when the run ends in the step that created it (an invalid request keeps the
        form's own list of what to fix)."""
        ending, _ = self._ending_text(err, update=False)
        return "" if ending == Ending.INVALID_REQUEST else WORDS[ending].next

    async def _announce_end(self, err: BaseException | None, state: str = "") -> None:
        """Never silent: one new comment per run saying how it ended and what to do next,
        mentioning who asked. Not when the run ends in the step that created the progress
        comment (its creation notified moments ago: a request invalid from the start, with its
        one comment), nor for a cancellation (told by
        whoever cancelled: the issue's closing comment, ``/cancel``'s reply). Not posting it
        is logged, never a new failure."""
        if not workflow.patched(ENDING_COMMENT_PATCH):
            return
        ending, text = self._ending_text(err, update=False, state=state)
        if ending == Ending.CANCELLED or self._created_in == self._progress.current_step:
            return
        try:
            await self._comment(f"ending/{workflow.info().run_id}", text)
        except ActivityError as exc:
            workflow.logger.warning("the ending comment was not posted: %s", exc)

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
        """A model call: the budgets checked first (tokens, then dollars: a request at its
        dollar cap waits for ``/budget``), the model's long timeouts and heartbeat; its token
        usage is added to the request's."""
        await self._check_budget(budget)
        await self._spend_gate()
        result: U = await workflow.execute_activity(fn, arg, **MODEL_STEP)  # type: ignore[call-overload]
        self._progress.usage = self._progress.usage + result.usage
        return result

    async def _review_pull(self, run: ReviewRun) -> ReviewOutcome:
        """The pull request's head reviewed by ``CodeReviewWorkflow`` as a child (when the
        webhook already started that review, its outcome is awaited instead); the review's
        tokens count against this request's (and a model review waits at its dollar cap)."""
        if self._progress.backend == Backend.CLAUDE:
            await self._spend_gate()
        outcome = await review_as_child(run)
        self._progress.usage = self._progress.usage + outcome.usage
        self._reviewers = outcome.requested_reviewers or self._reviewers
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
        created = await workflow.execute_activity(
            publish_progress,
            ProgressUpdate(repo=self._repo, issue_number=self._issue,
                           progress=self._progress, final=final),
            **GITHUB_STEP)
        if created and self._created_in is None:  # None in runs recorded before it said
            self._created_in = self._progress.current_step

    # -- checks and tests in the sandbox ------------------------------------------------------

    async def _check(self, slug: str, files: dict[str, str]) -> list[Finding]:
        findings: list[Finding] = await workflow.execute_activity(
            check_generated_code, CheckRequest(slug=slug, files=files), **sandbox_step())
        return findings

    async def _test(self, request: TestRequest) -> TestReport:
        report: TestReport = await workflow.execute_activity(
            run_generated_tests, request, **sandbox_step())
        return report

    # -- comments (the waits for people are in people_waits) ----------------------------------

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
