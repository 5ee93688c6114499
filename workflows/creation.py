"""SPEC process 1: an integration-request issue becomes reviewed, merged, deployed code.

``run`` wraps the platform concerns (compensation on failure or cancellation, the final
state); ``_create`` reads as the process, top to bottom. Every side effect is an activity
that is idempotent, and every one that must be undone registers its compensation as soon as
it has happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import (
        check_token_budget,
        claude_analyze,
        claude_generate,
        claude_review,
    )
    from activities.codegen.offline_activities import (
        offline_analyze,
        offline_generate,
        offline_review,
    )
    from activities.codegen.select import select_backend
    from activities.flags import read_feature_flags
    from activities.github_git import commit_files, delete_branch
    from activities.github_issues import close_issue
    from activities.github_pulls import (
        merge_pull_request,
        post_review,
        request_reviewers,
    )
    from activities.intake import record_requested, validate_request
    from activities.lifecycle import record_event, record_version, transition_state
    from activities.progress_comment import publish_progress
    from activities.verify import check_generated_code, run_generated_tests
    from models.budget import BudgetCheck
    from models.codegen import (
        AnalyzeInput,
        Backend,
        Finding,
        GeneratedCode,
        GenerateInput,
        ReviewInput,
        TokenUsage,
    )
    from models.creation import (
        ApprovalDecision,
        ChangeRequest,
        CreationInput,
        CreationResult,
        Progress,
        StepStatus,
    )
    from models.deploy import DeployInput, deploy_workflow_id
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import (
        CloseIssue,
        CommitFiles,
        DeleteBranch,
        InlineComment,
        MergePull,
        PostReview,
        RequestReviewers,
    )
    from models.intake import IntakeInput, RecordRequested
    from models.lifecycle import EventCommand, TransitionCommand, VersionCommand
    from models.manifest import TechnicalSpec
    from models.progress import ProgressUpdate
    from models.request import IntegrationRequest
    from models.review import CheckedHead, ReviewOptions, ReviewRun
    from models.search_attributes import INTEGRATION_SLUG, INTEGRATION_STATE
    from models.states import IntegrationState
    from models.verify import CheckRequest, TestReport, TestRequest
    from workflows import fix_rounds
    from workflows.approval import AwaitsHumanDecision
    from workflows.creation_steps import fresh_steps
    from workflows.deploy import DeployWorkflow
    from workflows.errors import classify, guarded
    from workflows.names import issue_marker
    from workflows.policies import (
        GITHUB_STEP,
        LOCAL_HEARTBEATING_STEP,
        LOCAL_STEP,
        MODEL_STEP,
        SANDBOX_STEP,
    )
    from workflows.pull_requests import open_bot_pull_request
    from workflows.revert import open_revert_pull_request
    from workflows.review import review_as_child
    from workflows.saga import Saga

class HasUsage(Protocol):
    """A step's result that carries its token usage (analysis, code, review)."""

    usage: TokenUsage


S = IntegrationState
A = TypeVar("A")
U = TypeVar("U", bound=HasUsage)
BOT = "ccb-bot"
FIRST_VERSION = "0.1.0"
REVIEW_CHILD_PATCH = "review-by-code-review-workflow"  # earlier runs reviewed in place
REVERT_PATCH = "revert-pull-request-after-merge"  # earlier runs left merged code as it was


class RequestFailed(ApplicationError):
    """A failure already explained to the user; the workflow ends FAILED."""


@workflow.defn(name="IntegrationCreationWorkflow")
class IntegrationCreationWorkflow(AwaitsHumanDecision):
    def __init__(self) -> None:
        self._progress = Progress(workflow_id="", steps=fresh_steps())
        self._init_decisions()  # progress query, approve update, request_changes signal
        self._saga = Saga()
        self._input: CreationInput | None = None
        self._request: IntegrationRequest | None = None
        self._slug_recorded = False
        self._transitions = 0
        self._events = 0
        self._test_report: TestReport | None = None
        self._revert_note = ""

    # -- platform concerns ------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CreationInput) -> CreationResult:
        self._input = inp
        self._progress.workflow_id = workflow.info().workflow_id
        return await guarded(self._create(inp), self._fail, RequestFailed)

    async def _fail(self, err: BaseException) -> None:
        category, message = classify(err)
        self._progress.error, self._progress.error_category = message, category
        step = self._current_step()
        if step is not None:
            step.status, step.finished_at, step.note = StepStatus.FAILED, workflow.now(), message
        undone_failures = await self._saga.compensate()
        if self._revert_note:
            self._progress.error += f" — {self._revert_note}"
        if undone_failures:
            self._progress.error += " — could not undo: " + "; ".join(undone_failures)
        if self._slug_recorded and self._progress.state != S.FAILED:
            try:
                await self._transition(S.FAILED, f"{category}: {message}")
            except ActivityError as exc:  # e.g. the deployment already recorded FAILED
                workflow.logger.warning("could not record FAILED: %s", exc)
            await self._event(EventType.ERROR_OCCURRED, "error",
                              {"category": category.value, "message": message,
                               "step": self._progress.current_step})
        self._progress.state = S.FAILED
        workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(S.FAILED)])
        self._progress.waiting_for_approval = False
        await self._publish(final=True)

    # -- the process ------------------------------------------------------------------------

    async def _create(self, inp: CreationInput) -> CreationResult:
        wf_id = workflow.info().workflow_id

        # 1-2. Validate and extract the request.
        await self._start("validate")
        parsed = await workflow.execute_activity(
            validate_request,
            IntakeInput(repo=inp.repo, issue_number=inp.issue_number, body=inp.body,
                        requested_by=inp.requested_by, title=inp.title),
            **LOCAL_STEP)
        if not parsed.ok or parsed.request is None:
            problems = "; ".join(str(p) for p in parsed.problems)
            self._progress.findings = [Finding(tool="request", path=p.field, message=p.message)
                                       for p in parsed.problems]
            raise RequestFailed(f"the request is incomplete or invalid: {problems}",
                                type=ErrorType.INVALID_REQUEST, non_retryable=True)
        request = self._request = parsed.request
        self._progress.slug = request.slug
        workflow.upsert_search_attributes([INTEGRATION_SLUG.value_set(request.slug)])
        ref = await workflow.execute_activity(
            record_requested,
            RecordRequested(request=request, repo=inp.repo, issue_number=inp.issue_number,
                            requested_by=inp.requested_by, workflow_id=wf_id,
                            key=f"{wf_id}/requested"),
            **LOCAL_HEARTBEATING_STEP)
        self._slug_recorded = True
        self._progress.state = ref.state
        await self._done("validate", f"integration `{request.slug}`")

        # 3. Analysis.
        await self._transition(S.ANALYZING, "analysing the request")
        await self._start("analyze")
        backend = await workflow.execute_activity(
            select_backend, **LOCAL_STEP)
        self._progress.backend = backend
        spec = await self._analyze(backend, request)
        await self._event(EventType.REQUIREMENTS_ANALYZED, "analyzed",
                          {"backend": backend.value, "summary": spec.summary})
        await self._done("analyze", spec.summary[:200])

        # 4-6. Generate, check, test (bounded rounds), then 7. the pull request.
        await self._transition(S.GENERATING, "generating code")
        files = await self._generate_until_green(backend, request, spec, reviewer_comments=[])
        branch = f"integration/{request.slug}"
        await self._open_pull_request(inp, request, spec, backend, branch, files)

        # 8. Review and human approval; changes requested loop back to generation.
        await self._transition(S.REVIEWING, "pull request open for review")
        while True:
            await self._review(backend, request, files)
            decision = await self._wait_for_decision(inp)
            if isinstance(decision, ApprovalDecision):
                break
            await self._transition(S.GENERATING, f"changes requested by {decision.reviewer}")
            files = await self._generate_until_green(
                backend, request, spec, reviewer_comments=[decision.text], previous=files)
            commit = await workflow.execute_activity(
                commit_files,
                CommitFiles(repo=inp.repo, branch=branch, files=files,
                            message=f"Address review by {decision.reviewer}"),
                **GITHUB_STEP)
            self._progress.head_sha = commit.sha
            await self._transition(S.REVIEWING, "changes committed; review again")
        await self._done("review", f"approved by {decision.reviewer} ({decision.source})")
        await self._transition(S.APPROVED, f"approved by {decision.reviewer}",
                               actor=decision.reviewer)
        await self._event(EventType.REVIEW_COMPLETED, "review",
                          {"approved_by": decision.reviewer, "source": decision.source})

        # 9. Merge.
        await self._start("merge")
        merged = await workflow.execute_activity(
            merge_pull_request,
            MergePull(repo=inp.repo, number=self._progress.pr_number or 0,
                      expected_head_sha=self._progress.head_sha, method="squash",
                      title=f"Add {request.service_name} integration "
                            f"(#{self._progress.pr_number})",
                      message=f"Closes #{inp.issue_number}"),
            **GITHUB_STEP)
        self._progress.merged_sha = merged.sha
        self._saga = Saga()  # merged code is not undone by deleting its branch
        if workflow.patched(REVERT_PATCH):
            merged_paths = sorted(files)
            self._saga.add("open a revert pull request", lambda: self._open_revert(
                inp, request, merged_paths, merged.sha))
        await workflow.execute_activity(
            delete_branch, DeleteBranch(repo=inp.repo, branch=branch),
            **GITHUB_STEP)
        await workflow.execute_activity(
            record_version,
            VersionCommand(slug=request.slug, version=FIRST_VERSION, commit_sha=merged.sha,
                           pr_number=self._progress.pr_number),
            **LOCAL_STEP)
        await self._done("merge", f"merged as {merged.sha[:7]}")

        # 10. Deploy (blue-green, a child workflow) unless the environment says otherwise.
        await self._deploy(inp, request, files, merged.sha)

        # 11. Final issue update.
        await self._start("finish")
        await self._done("finish", "issue closed")
        await self._publish(final=True)
        await workflow.execute_activity(
            close_issue, CloseIssue(repo=inp.repo, number=inp.issue_number,
                                    state_reason="completed"),
            **GITHUB_STEP)
        return CreationResult(slug=request.slug, state=self._progress.state,
                              pr_number=self._progress.pr_number, pr_url=self._progress.pr_url,
                              merged_sha=merged.sha, usage=self._progress.usage)

    # -- steps ------------------------------------------------------------------------------

    async def _deploy(self, inp: CreationInput, request: IntegrationRequest,
                      files: dict[str, str], commit_sha: str) -> None:
        await self._start("deploy")
        flags = await workflow.execute_activity(
            read_feature_flags, inp.environment, **LOCAL_STEP)
        if not flags.auto_deployment:
            await self._skip("deploy", f"auto-deployment is off in {inp.environment}: deploy "
                                       f"with `ccb deploy {request.slug} --env "
                                       f"{inp.environment}`; the integration stays APPROVED")
            return
        self._progress.state = S.DEPLOYING
        deployed = await workflow.execute_child_workflow(
            DeployWorkflow.run,
            DeployInput(slug=request.slug, version=FIRST_VERSION, environment=inp.environment,
                        files=files,
                        commit_sha=commit_sha, flags=flags, actor=BOT,
                        reason=f"issue #{inp.issue_number}"),
            id=deploy_workflow_id(inp.environment, request.slug, FIRST_VERSION))
        self._progress.state = S.ACTIVE
        workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(S.ACTIVE)])
        where = f"{deployed.color.value} at {deployed.endpoint}"
        self._progress.deployment = f"{deployed.version} live ({where}, {deployed.runtime.value})"
        note = f" — {deployed.isolation_note}" if deployed.isolation_note else ""
        await self._done("deploy", self._progress.deployment + note)

    async def _analyze(self, backend: Backend, request: IntegrationRequest) -> TechnicalSpec:
        inp = AnalyzeInput(request=request, integration_key=workflow.info().workflow_id)
        result = await self._by_backend(backend, claude_analyze, offline_analyze, inp)
        return result.spec

    async def _generate(self, backend: Backend, inp: GenerateInput) -> GeneratedCode:
        return await self._by_backend(backend, claude_generate, offline_generate, inp)

    async def _by_backend(self, backend: Backend, by_claude: Callable[[A], U],
                          offline: Callable[[A], U], arg: A) -> U:
        """One step by Claude (budget checked first, its long timeouts and heartbeat) or by
        the offline generator; its token usage is added to the request's."""
        if backend == Backend.CLAUDE:
            await self._check_budget()
            result: U = await workflow.execute_activity(
                by_claude, arg, **MODEL_STEP)
        else:
            result = await workflow.execute_activity(
                offline, arg, **LOCAL_STEP)
        self._progress.usage = self._progress.usage + result.usage
        return result

    async def _check_budget(self) -> None:
        assert self._input is not None
        await workflow.execute_activity(
            check_token_budget,
            BudgetCheck(integration_key=workflow.info().workflow_id,
                        budget=self._input.token_budget),
            **LOCAL_STEP)

    async def _generate_until_green(self, backend: Backend, request: IntegrationRequest,
                                    spec: TechnicalSpec, reviewer_comments: list[str],
                                    previous: dict[str, str] | None = None) -> dict[str, str]:
        """Generate, check and test in bounded rounds; findings go back to the generator."""
        assert self._input is not None
        findings: list[Finding] = []
        files = dict(previous or {})
        rounds = self._input.max_fix_rounds
        stop_when_stalled = workflow.patched(fix_rounds.STALLED_PATCH)
        for attempt in range(1, rounds + 1):
            await self._start("generate", attempt=attempt)
            generated = await self._generate(backend, GenerateInput(
                request=request, spec=spec, version=FIRST_VERSION, findings=findings,
                reviewer_comments=reviewer_comments, previous_files=files,
                integration_key=workflow.info().workflow_id, attempt=attempt))
            if stop_when_stalled and fix_rounds.stalled(generated.files, files, attempt):
                raise RequestFailed(
                    fix_rounds.stalled_message(generated.backend, attempt, findings),
                    type=fix_rounds.STALLED_TYPE, non_retryable=True)
            files = generated.files
            await self._done("generate", f"{len(files)} files by {generated.backend.value}")
            await self._event(EventType.CODE_GENERATED, f"generated-{attempt}",
                              {"files": sorted(files), "backend": generated.backend.value,
                               "attempt": attempt})

            await self._start("check", attempt=attempt)
            findings = await workflow.execute_activity(
                check_generated_code, CheckRequest(slug=request.slug, files=files),
                **SANDBOX_STEP)
            errors = [f for f in findings if f.severity == "error"]
            self._progress.findings = findings
            if errors:
                await self._note("check", f"{len(errors)} problems; asking for a fix")
                continue
            await self._done("check", f"clean ({len(findings)} warnings)")

            await self._transition(S.TESTING, f"testing round {attempt}")
            await self._start("test", attempt=attempt)
            report = await workflow.execute_activity(
                run_generated_tests, TestRequest(slug=request.slug, files=files),
                **SANDBOX_STEP)
            await self._event(EventType.TESTS_COMPLETED, f"tests-{attempt}", {
                **report.model_dump(mode="json", include={
                    "passed", "tests", "failures", "errors", "coverage_percent", "isolation",
                    "reason"}),
                "passed": report.passed and report.meets_coverage,
                "security_scan": "passed",  # the checks (bandit included) were clean
            })
            if report.passed and report.meets_coverage:
                self._test_report = report
                await self._done("test", report.summary)
                return files
            findings = report.findings
            if stop_when_stalled:
                self._progress.findings = findings
            await self._note("test", report.summary)
            await self._transition(S.GENERATING, f"tests failed in round {attempt}")
        raise RequestFailed(
            fix_rounds.not_converged_message(rounds, findings, internal=stop_when_stalled),
            type=(fix_rounds.NOT_CONVERGED_TYPE if stop_when_stalled
                  else fix_rounds.LEGACY_NOT_CONVERGED_TYPE),
            non_retryable=True)

    async def _open_pull_request(self, inp: CreationInput, request: IntegrationRequest,
                                 spec: TechnicalSpec, backend: Backend, branch: str,
                                 files: dict[str, str]) -> None:
        await self._start("pull_request")
        self._progress.branch = branch
        pull = await open_bot_pull_request(
            self._saga, repo=inp.repo, branch=branch, files=files, delete=[],
            message=f"Add {request.service_name} integration ({backend.value})",
            title=f"Add {request.service_name} integration",
            body=self._pull_request_body(inp, request, spec, backend))
        self._progress.pr_number, self._progress.pr_url = pull.number, pull.url
        self._progress.head_sha = pull.head_sha
        await self._done("pull_request", f"#{pull.number}")

    def _pull_request_body(self, inp: CreationInput, request: IntegrationRequest,
                           spec: TechnicalSpec, backend: Backend) -> str:
        report = self._test_report
        who = ("Claude" if backend == Backend.CLAUDE else
               "the offline generator from the request's fields (no AI model was used)")
        usage = self._progress.usage
        lines = [
            f"Closes #{inp.issue_number}. {issue_marker(inp.issue_number)}", "",
            f"**{request.service_name}** ({request.integration_type.value}) at "
            f"`{request.base_url}`, written by {who}.", "",
            "## Spec", spec.summary, "",
            *[f"- `{e.method} {e.path}` {e.description}" for e in spec.endpoints], "",
            "## Checks", f"{len(self._progress.findings)} findings (none blocking).", "",
            "## Tests", report.summary if report else "-", "",
            "## Usage", f"{usage.total_tokens} tokens, ${usage.cost_usd:.4f}", "",
            f"Workflow: `{workflow.info().workflow_id}`",
        ]
        return "\n".join(lines)

    async def _review(self, backend: Backend, request: IntegrationRequest,
                      files: dict[str, str]) -> None:
        assert self._input is not None
        await self._start("review")
        if workflow.patched(REVIEW_CHILD_PATCH):
            await self._review_by_workflow(backend, request)
            return
        # Runs started before the patch reviewed here, by hand (kept so they replay).
        inp = ReviewInput(request=request, files=files, findings=self._progress.findings,
                          integration_key=workflow.info().workflow_id)
        review = await self._by_backend(backend, claude_review, offline_review, inp)
        await workflow.execute_activity(
            post_review,
            PostReview(repo=self._input.repo, number=self._progress.pr_number or 0,
                       body=review.summary, event="COMMENT",
                       comments=[InlineComment(path=c.path, line=c.line, body=c.body)
                                 for c in review.comments],
                       marker=f"review-{self._progress.head_sha[:12]}"),
            **GITHUB_STEP)
        if self._input.reviewers:
            await workflow.execute_activity(
                request_reviewers,
                RequestReviewers(repo=self._input.repo, number=self._progress.pr_number or 0,
                                 reviewers=self._input.reviewers),
                **GITHUB_STEP)

    async def _open_revert(self, inp: CreationInput, request: IntegrationRequest,
                           paths: list[str], merged_sha: str) -> None:
        """The compensation of the merge: a pull request removing the merged files."""
        why = self._progress.error or "a step after the merge failed"
        pull = await open_revert_pull_request(
            repo=inp.repo, slug=request.slug, merged_sha=merged_sha, restore={}, remove=paths,
            title=f"Revert {request.service_name} integration (#{self._progress.pr_number})",
            body=(f"For issue #{inp.issue_number}. The code of #{self._progress.pr_number} was "
                  f"merged as {merged_sha[:7]}, then the request failed: {why[:2000]}\n\n"
                  f"Merging this removes the {len(paths)} files of "
                  f"`integrations/{request.slug}/`. Close it instead to keep the code and fix "
                  "forward; comment /retry on the issue once main is as you want it."))
        self._revert_note = (f"revert pull request #{pull.number} opened for the merged code "
                             f"({merged_sha[:7]}): merge it to remove the integration, or "
                             "close it to keep the code")

    async def _review_by_workflow(self, backend: Backend, request: IntegrationRequest) -> None:
        """The PR's head reviewed by ``CodeReviewWorkflow`` as a child (the same review every
        PR gets), reusing this run's checks and sandbox tests of exactly these files; the
        review's tokens count against this request's budget."""
        assert self._input is not None and self._test_report is not None
        inp, head = self._input, self._progress.head_sha
        if backend == Backend.CLAUDE:
            await self._check_budget()
        outcome = await review_as_child(ReviewRun(
            repo=inp.repo, pr_number=self._progress.pr_number or 0,
            head_ref=f"integration/{request.slug}", head_sha=head, requested_by=BOT,
            options=ReviewOptions(
                reviewers=inp.reviewers, new_integration=True,
                coverage_gate=self._test_report.coverage_gate,
                usage_key=workflow.info().workflow_id,
                checked=CheckedHead(sha=head, slug=request.slug, report=self._test_report,
                                    findings=self._progress.findings))))
        self._progress.usage = self._progress.usage + outcome.usage
        await self._note("review", f"review of {head[:7]} {outcome.status} "
                                   f"({outcome.reviewed_by or 'no code review'})")

    async def _wait_for_decision(self, inp: CreationInput) -> ApprovalDecision | ChangeRequest:
        """Wait for an approval or a change request, reminding at intervals, until expiry."""
        self._approval, self._changes = None, []
        deadline = workflow.now() + inp.approval_expiry
        self._progress.waiting_for_approval = True
        await self._note("review", "waiting for a human approval (/approve, an approving "
                                   "review, `ccb approve` or the Temporal UI)")
        reminders = 0
        try:
            while True:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise RequestFailed(
                        f"no approval within {inp.approval_expiry}; the pull request was "
                        "closed. Comment /retry to start again",
                        type=ErrorType.APPROVAL_EXPIRED, non_retryable=True)
                try:
                    await workflow.wait_condition(
                        lambda: self._approval is not None or bool(self._changes),
                        timeout=min(inp.reminder_interval, remaining))
                except TimeoutError:
                    if workflow.now() < deadline:
                        reminders += 1
                        await self._note("review", f"reminder {reminders}: still waiting "
                                                   "for an approval")
                    continue
                if self._changes:
                    return self._changes.pop(0)
                assert self._approval is not None
                return self._approval
        finally:
            self._progress.waiting_for_approval = False

    # -- bookkeeping ------------------------------------------------------------------------

    def _current_step(self) -> Any:
        return next((s for s in self._progress.steps
                     if s.name == self._progress.current_step), None)

    def _step(self, name: str) -> Any:
        return next(s for s in self._progress.steps if s.name == name)

    async def _start(self, name: str, attempt: int | None = None) -> None:
        step = self._step(name)
        step.status, step.started_at, step.finished_at = StepStatus.RUNNING, workflow.now(), None
        step.attempts = attempt if attempt is not None else step.attempts + 1
        self._progress.current_step = name
        await self._publish()

    async def _done(self, name: str, note: str = "") -> None:
        step = self._step(name)
        step.status, step.finished_at, step.note = StepStatus.DONE, workflow.now(), note
        await self._publish()

    async def _skip(self, name: str, note: str) -> None:
        step = self._step(name)
        step.status, step.finished_at, step.note = StepStatus.SKIPPED, workflow.now(), note
        await self._publish()

    async def _note(self, name: str, note: str) -> None:
        self._step(name).note = note
        await self._publish()

    async def _publish(self, final: bool = False) -> None:
        """Edit the one bot progress comment on the issue and set the state label."""
        assert self._input is not None
        await workflow.execute_activity(
            publish_progress,
            ProgressUpdate(repo=self._input.repo, issue_number=self._input.issue_number,
                           progress=self._progress, final=final),
            **GITHUB_STEP)

    async def _transition(self, target: IntegrationState, reason: str,
                          actor: str = BOT) -> None:
        wf_id = workflow.info().workflow_id
        self._transitions += 1
        await workflow.execute_activity(
            transition_state,
            TransitionCommand(slug=self._progress.slug, target=target, actor=actor,
                              reason=reason, workflow_id=wf_id,
                              key=f"{wf_id}/{workflow.info().run_id}/{self._transitions}/{target}"),
            **LOCAL_STEP)
        self._progress.state = target
        workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(target)])

    async def _event(self, kind: EventType, name: str, payload: dict[str, Any]) -> None:
        wf_id = workflow.info().workflow_id
        self._events += 1
        event_id = f"{wf_id}/{workflow.info().run_id}/{self._events}-{name}"
        await workflow.execute_activity(
            record_event,
            EventCommand(event_id=event_id, type=kind,
                         slug=self._progress.slug or None, payload=payload,
                         metadata={"workflow_id": wf_id}),
            **LOCAL_STEP)
