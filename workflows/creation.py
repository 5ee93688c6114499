"""SPEC process 1: an integration-request issue becomes reviewed, merged, deployed code.

``run`` wraps the platform concerns (compensation on failure or cancellation, the final
state); ``_create`` reads as the process, top to bottom. The steps creation shares with
update (bookkeeping, checks and tests, the decision wait, merge and deploy) live in
``RequestRun``. Every side effect is an activity that is idempotent, and every one that must
be undone registers its compensation as soon as it has happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import claude_analyze, claude_generate
    from activities.codegen.offline_activities import (
        offline_analyze,
        offline_generate,
    )
    from activities.codegen.select import select_backend
    from activities.github_issues import close_issue
    from activities.intake import record_requested, validate_request
    from models.codegen import AnalyzeInput, Backend, Finding, GenerateInput
    from models.creation import (
        CreationInput,
        CreationResult,
        Progress,
        StepStatus,
    )
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import CloseIssue, MergePull
    from models.guidance import RepositoryGuidance
    from models.intake import IntakeInput, RecordRequested
    from models.lifecycle import VersionCommand
    from models.manifest import TechnicalSpec
    from models.request import IntegrationRequest
    from models.search_attributes import INTEGRATION_SLUG, INTEGRATION_STATE
    from models.states import IntegrationState
    from models.verify import TestReport, TestRequest
    from rules.inert import inert_plain
    from rules.security_scan import security_scan
    from workflows import fix_rounds, request_texts
    from workflows.creation_review import CreationReview, RequestFailed
    from workflows.creation_steps import fresh_steps
    from workflows.errors import guarded
    from workflows.guidance_step import read_guidance
    from workflows.plan_gate import PlanGate
    from workflows.policies import GITHUB_STEP, LOCAL_HEARTBEATING_STEP, LOCAL_STEP
    from workflows.pull_requests import open_bot_pull_request
    from workflows.request_run import HasUsage
    from workflows.revert import open_revert_pull_request


S = IntegrationState
A = TypeVar("A")
U = TypeVar("U", bound=HasUsage)
FIRST_VERSION = "0.1.0"
REVERT_PATCH = "revert-pull-request-after-merge"  # earlier runs left merged code as it was


@workflow.defn(name="IntegrationCreationWorkflow")
class IntegrationCreationWorkflow(PlanGate, CreationReview):
    def __init__(self) -> None:
        self._progress = Progress(workflow_id="", steps=fresh_steps())
        self._init_run()
        self._init_plan()
        self._input: CreationInput | None = None
        self._slug_recorded = False
        self._test_report: TestReport | None = None
        self._guidance: RepositoryGuidance | None = None  # the base branch's rules

    # -- platform concerns ------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CreationInput) -> CreationResult:
        self._input = self._begin(inp)
        return await self._ended(guarded(self._create(inp), self._fail, RequestFailed),
                                 RequestFailed, lambda result: result.state)

    # -- the process ------------------------------------------------------------------------

    async def _create(self, inp: CreationInput) -> CreationResult:
        request = await self._validate(inp)                                # 1-2
        backend, spec = await self._analyze_request(request)               # 3
        request, spec = await self._plan_first(inp, request, backend, spec)  # plan-first
        await self._restart_if_edited(inp, record_failed=self._slug_recorded)
        await self._transition(S.GENERATING, "generating code")            # 4-6
        files = await self._generate_until_green(backend, request, spec, reviewer_comments=[])
        await self._restart_if_edited(inp, record_failed=self._slug_recorded)
        branch = f"integration/{request.slug}"
        await self._open_pull_request(inp, request, spec, backend, branch, files)  # 7
        self._pull_request_opened()
        await self._transition(S.REVIEWING, "pull request open for review")  # 8
        files = await self._review_until_approved(backend, request, spec, branch, files)
        merged_sha = await self._merge_request(inp, request, branch, files)  # 9
        await self._deploy(inp, request, files, merged_sha)                # 10
        await self._start("finish")                                        # 11
        await self._done("finish", "issue closed")
        await self._publish(final=True)
        await self._announce_end(None, state=self._progress.state)
        await workflow.execute_activity(
            close_issue, CloseIssue(repo=inp.repo, number=inp.issue_number,
                                    state_reason="completed"),
            **GITHUB_STEP)
        return CreationResult(slug=request.slug, state=self._progress.state,
                              pr_number=self._progress.pr_number, pr_url=self._progress.pr_url,
                              merged_sha=merged_sha, usage=self._progress.usage)

    async def _fail(self, err: BaseException) -> None:
        """How a failed or cancelled run ends (``guarded``): undo, record FAILED, explain."""
        category, message, undone_failures = await self._undo(err)
        self._progress.error_category = category
        step = self._current_step()
        if step is not None:
            step.status, step.finished_at, step.note = StepStatus.FAILED, workflow.now(), message
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
        self._progress.next_step = self._next_words(err)
        await self._publish(final=True)
        await self._announce_end(err)

    # -- steps ------------------------------------------------------------------------------

    async def _validate(self, inp: CreationInput) -> IntegrationRequest:
        """Parse the issue; an invalid request ends the run with what to fix."""
        wf_id = workflow.info().workflow_id
        await self._start("validate")
        parsed = await self._local(validate_request, IntakeInput(
            repo=inp.repo, issue_number=inp.issue_number, body=inp.body,
            requested_by=inp.requested_by, title=inp.title))
        if not parsed.ok or parsed.request is None:
            problems = "; ".join(str(p) for p in parsed.problems)
            self._progress.findings = [Finding(tool="request", path=p.field, message=p.message)
                                       for p in parsed.problems]
            raise RequestFailed(f"the request is incomplete or invalid: {problems}",
                                type=ErrorType.INVALID_REQUEST, non_retryable=True)
        request = parsed.request
        self._progress.slug = request.slug
        workflow.upsert_search_attributes([INTEGRATION_SLUG.value_set(request.slug)])
        ref = await workflow.execute_activity(
            record_requested,
            RecordRequested(request=request, repo=inp.repo, issue_number=inp.issue_number,
                            requested_by=inp.requested_by, workflow_id=wf_id,
                            key=f"{wf_id}/requested/{request.slug}"),
            **LOCAL_HEARTBEATING_STEP)
        self._slug_recorded = True
        self._progress.state = ref.state
        await self._done("validate", f"integration `{request.slug}`")
        return request

    async def _analyze_request(self, request: IntegrationRequest) -> tuple[Backend, TechnicalSpec]:
        await self._transition(S.ANALYZING, "analysing the request")
        await self._start("analyze")
        backend = await workflow.execute_activity(select_backend, **LOCAL_STEP)
        self._progress.backend = backend
        self._guidance = await read_guidance(self._repo)
        inp = AnalyzeInput(request=request, integration_key=workflow.info().workflow_id,
                           guidance=self._guidance)
        spec = (await self._by_backend(backend, claude_analyze, offline_analyze, inp)).spec
        await self._event(EventType.REQUIREMENTS_ANALYZED, "analyzed",
                          {"backend": backend.value, "summary": spec.summary})
        await self._done("analyze", spec.summary[:200])
        return backend, spec

    async def _by_backend(self, backend: Backend, by_claude: Callable[[A], U],
                          offline: Callable[[A], U], arg: A) -> U:
        """One step by Claude or by the offline generator."""
        if backend == Backend.CLAUDE:
            assert self._input is not None
            return await self._by_model(by_claude, arg, self._input.token_budget)
        result = await self._local(offline, arg)
        self._progress.usage = self._progress.usage + result.usage
        return result

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
            generated = await self._by_backend(backend, claude_generate, offline_generate,
                                               GenerateInput(
                request=request, spec=spec, version=FIRST_VERSION, findings=findings,
                reviewer_comments=reviewer_comments, previous_files=files,
                integration_key=workflow.info().workflow_id, attempt=attempt,
                guidance=self._guidance))
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
            findings = await self._check(request.slug, files)
            errors = [f for f in findings if f.severity == "error"]
            self._progress.findings = findings
            if errors:
                await self._note("check", f"{len(errors)} problems; asking for a fix")
                continue
            await self._done("check", f"clean ({len(findings)} warnings)")

            await self._transition(S.TESTING, f"testing round {attempt}")
            await self._start("test", attempt=attempt)
            report = await self._test(TestRequest(slug=request.slug, files=files))
            await self._event(EventType.TESTS_COMPLETED, f"tests-{attempt}", {
                **report.model_dump(mode="json", include={
                    "passed", "tests", "failures", "errors", "coverage_percent", "isolation",
                    "reason"}),
                "passed": report.passed and report.meets_coverage,
                "security_scan": security_scan(findings),  # bandit's, in the checks
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
            message=f"Add {inert_plain(request.service_name)} integration ({backend.value})",
            title=f"Add {inert_plain(request.service_name)} integration",
            body=request_texts.creation_body(
                issue=inp.issue_number, request=request, spec=spec, backend=backend,
                findings=len(self._progress.findings), report=self._test_report,
                usage=self._progress.usage, workflow_id=workflow.info().workflow_id,
                template=self._guidance.pr_template if self._guidance else "",
                has_readme=f"integrations/{request.slug}/README.md" in files,
                plan=self._plan_link()))
        self._progress.pr_number, self._progress.pr_url = pull.number, pull.url
        self._progress.head_sha = pull.head_sha
        await self._done("pull_request", f"#{pull.number}")

    async def _merge_request(self, inp: CreationInput, request: IntegrationRequest,
                             branch: str, files: dict[str, str]) -> str:
        await self._start("merge")
        await self._await_credentials(request.slug, inp.environment, files, inp.requested_by,
                                      inp, RequestFailed)
        merged_paths = sorted(files)
        merged_sha = await self._merge(
            MergePull(repo=inp.repo, number=self._progress.pr_number or 0,
                      expected_head_sha=self._progress.head_sha, method="squash",
                      title=f"Add {inert_plain(request.service_name)} integration "
                            f"(#{self._progress.pr_number})",
                      message=f"Closes #{inp.issue_number}"),
            branch,
            VersionCommand(slug=request.slug, version=FIRST_VERSION,
                           pr_number=self._progress.pr_number),
            REVERT_PATCH, lambda sha: self._open_revert(inp, request, merged_paths, sha))
        await self._done("merge", f"merged as {merged_sha[:7]}")
        return merged_sha

    async def _open_revert(self, inp: CreationInput, request: IntegrationRequest,
                           paths: list[str], merged_sha: str) -> None:
        """The compensation of the merge: a pull request removing the merged files."""
        title, body = request_texts.creation_revert(
            issue=inp.issue_number, request=request, pr_number=self._progress.pr_number,
            merged_sha=merged_sha, paths=paths,
            why=self._progress.error or "a step after the merge failed")
        pull = await open_revert_pull_request(
            repo=inp.repo, slug=request.slug, merged_sha=merged_sha, restore={}, remove=paths,
            title=title, body=body)
        self._revert_note = (f"revert pull request #{pull.number} opened for the merged code "
                             f"({merged_sha[:7]}): merge it to remove the integration, or "
                             "close it to keep the code")

    async def _deploy(self, inp: CreationInput, request: IntegrationRequest,
                      files: dict[str, str], commit_sha: str) -> None:
        """Blue-green, a child workflow, unless the environment's flags say otherwise."""
        await self._start("deploy")
        deployed = await self._deploy_version(inp.environment, request.slug, FIRST_VERSION,
                                              files, commit_sha, f"issue #{inp.issue_number}")
        if deployed is None:
            await self._skip("deploy", f"auto-deployment is off in {inp.environment}: deploy "
                                       f"with `ccb deploy {request.slug} --env "
                                       f"{inp.environment}`; the integration stays APPROVED")
            return
        self._progress.state = S.ACTIVE
        workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(S.ACTIVE)])
        where = f"{deployed.color.value} at {deployed.endpoint}"
        self._progress.deployment = f"{deployed.version} live ({where}, {deployed.runtime.value})"
        note = f" — {deployed.isolation_note}" if deployed.isolation_note else ""
        await self._done("deploy", self._progress.deployment + note)
