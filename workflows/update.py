"""SPEC process 2: an integration-update issue becomes a reviewed, merged, versioned change.

``run`` handles the platform concerns (a failure is explained on the issue, the branch and
PR of a run that did not merge are undone); ``_update`` reads as the process: find the
integration, regenerate it with the change, compare public APIs, bump the version by semver,
check and test (old tests included unless the change is breaking), open the PR with a
migration plan when breaking, review (``CodeReviewWorkflow`` as a child), wait for a human
when the rules say so, merge, record the version and deploy it blue-green.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePosixPath
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.offline_update import offline_generate_update
    from activities.compat import compare_public_api, migration_plan
    from activities.flags import read_feature_flags
    from activities.github_git import commit_files, create_branch, delete_branch
    from activities.github_issues import close_issue, upsert_bot_comment
    from activities.github_pulls import close_pull_request, merge_pull_request, open_pull_request
    from activities.github_review import read_repo_files
    from activities.lifecycle import record_event, record_version
    from activities.update_steps import await_review, find_integration, parse_update_request
    from activities.verify import check_generated_code, run_generated_tests
    from models.codegen import Finding
    from models.creation import ApprovalAnswer, ApprovalDecision, ChangeRequest, Progress
    from models.deploy import DeployInput, deploy_workflow_id
    from models.events import EventType
    from models.github import (
        CloseIssue,
        CommitFiles,
        CreateBranch,
        DeleteBranch,
        MergePull,
        OpenPullRequest,
        PullQuery,
        UpsertComment,
    )
    from models.issue_form import ChangeKind, UpdateRequest
    from models.lifecycle import EventCommand, VersionCommand
    from models.review import ReviewOptions, ReviewOutcome, ReviewRun
    from models.semver import Bump, bump_version, strongest
    from models.update import (
        UPDATE_STATE_KEY,
        CompatInput,
        CompatReport,
        IntegrationLookup,
        RepoFilesQuery,
        UpdateGenerateInput,
        UpdateInput,
        UpdateResult,
    )
    from models.verify import CheckRequest, TestReport, TestRequest
    from workflows.deploy import DeployWorkflow
    from workflows.errors import classify
    from workflows.names import UPDATE_BRANCH_PREFIX, issue_marker, review_workflow_id
    from workflows.policies import (
        DEFAULT_RETRY,
        GITHUB_STEP_HEARTBEAT,
        GITHUB_STEP_TIMEOUT,
        LOCAL_STEP_HEARTBEAT,
        LOCAL_STEP_TIMEOUT,
        SANDBOX_HEARTBEAT,
        SANDBOX_TIMEOUT,
    )
    from workflows.review import CodeReviewWorkflow
    from workflows.saga import Saga

A = TypeVar("A")
R = TypeVar("R")
BOT = "ccb-bot"
DECLARED_BUMP = {ChangeKind.BREAKING: Bump.MAJOR, ChangeKind.FEATURE: Bump.MINOR,
                 ChangeKind.FIX: Bump.PATCH}
APPROVAL_EXPIRY = timedelta(days=7)


class UpdateFailed(ApplicationError):
    """A failure already explained on the issue; the run ends failed."""


@workflow.defn(name="IntegrationUpdateWorkflow")
class IntegrationUpdateWorkflow:
    def __init__(self) -> None:
        self._progress = Progress(workflow_id="", state="ANALYZING")
        self._approval: ApprovalDecision | None = None
        self._changes: list[ChangeRequest] = []
        self._saga = Saga()
        self._inp: UpdateInput | None = None
        self._events = 0
        self._remember: dict[str, object] = {}

    # -- messages (the same contract as the creation workflow) ---------------------------------

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._progress

    @workflow.update(name="approve")
    async def approve(self, decision: ApprovalDecision) -> ApprovalAnswer:
        self._approval = decision
        return ApprovalAnswer(accepted=True, message=(
            f"approved by {decision.reviewer}; merging pull request #{self._progress.pr_number}"))

    @approve.validator
    def _validate_approve(self, decision: ApprovalDecision) -> None:
        if not self._progress.waiting_for_approval:
            raise ValueError(f"not waiting for approval: the update is at step "
                             f"'{self._progress.current_step or 'starting'}'")
        if not decision.reviewer:
            raise ValueError("an approval must name the reviewer")

    @workflow.signal(name="request_changes")
    def request_changes(self, change: ChangeRequest) -> None:
        self._changes.append(change)

    # -- platform concerns ---------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: UpdateInput) -> UpdateResult:
        self._inp = inp
        self._progress.workflow_id = workflow.info().workflow_id
        try:
            return await self._update(inp)
        except (Exception, asyncio.CancelledError) as err:
            category, message = classify(err)
            self._progress.error, self._progress.state = message, "FAILED"
            task = asyncio.create_task(self._undo_and_explain(message))
            await asyncio.shield(task)
            if isinstance(err, UpdateFailed):
                raise
            raise UpdateFailed(message, type=category.value, non_retryable=True) from err

    async def _undo_and_explain(self, message: str) -> None:
        failures = await self._saga.compensate()
        extra = (" Could not undo: " + "; ".join(failures)) if failures else ""
        await self._comment("update-result", f"The update failed: {message}{extra}")

    # -- the process ---------------------------------------------------------------------------

    async def _update(self, inp: UpdateInput) -> UpdateResult:
        self._progress.current_step = "validate"
        parsed = await self._local(parse_update_request, inp)
        if not parsed.ok or parsed.update is None:
            problems = "\n".join(f"- {p}" for p in parsed.problems)
            await self._comment("update-result", "This update request cannot be processed:\n"
                                f"{problems}\n\nEdit the issue to fix it, then comment /retry.")
            return UpdateResult(slug="", outcome="invalid_request", message=problems)
        update: UpdateRequest = parsed.update
        self._progress.slug = update.slug
        lookup: IntegrationLookup = await self._local(find_integration, update.slug)
        if not lookup.found:
            known = ", ".join(f"`{s}`" for s in lookup.known) or "none yet"
            text = (f"There is no integration `{update.slug}`. Known integrations: {known}. "
                    "Edit the issue's Integration field to one of them, then comment /retry.")
            await self._comment("update-result", text)
            return UpdateResult(slug=update.slug, outcome="unknown_integration", message=text)

        root = f"integrations/{update.slug}/"
        self._progress.current_step = "read"
        old_files: dict[str, str] = await workflow.execute_activity(
            read_repo_files, RepoFilesQuery(repo=inp.repo, prefix=root, ref="main"),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        if not old_files:
            raise UpdateFailed(f"{root} is not on main in {inp.repo}: nothing to update",
                               type="NothingToUpdate", non_retryable=True)
        old_version = lookup.current_version or _manifest_version(old_files, root)

        files, report, compat, new_version, bump = await self._generate_until_green(
            inp, update, lookup, old_files, old_version)
        await self._event(EventType.CODE_GENERATED, "generated", {
            "from": old_version, "to": new_version, "bump": bump.value,
            "breaking": compat.breaking})

        pr_number, head_sha, branch = await self._open_pull_request(
            inp, update, old_files, files, old_version, new_version, bump, compat, report)

        self._progress.current_step = "review"
        review = await self._review(inp, pr_number, head_sha, branch, compat.breaking)
        if review.status != "completed":
            raise UpdateFailed(f"the review of {head_sha[:7]} ended {review.status}: the branch "
                               "changed under the update; comment /retry",
                               type="ReviewSuperseded", non_retryable=True)
        if not review.gate_passed:
            self._saga = Saga()  # the PR stays open, its failing status explains why
            raise UpdateFailed(f"the review blocked the merge of #{pr_number}: "
                               f"{review.summary.splitlines()[2] if review.summary else ''}",
                               type="ReviewGateFailed", non_retryable=True)
        await self._event(EventType.TESTS_COMPLETED, "tests", {
            "passed": True, "coverage_percent": review.coverage_percent,
            "security_scan": "passed", "version": new_version, "head_sha": head_sha})
        reasons = list(review.human_review.reasons if review.human_review else [])
        if compat.breaking and not any("public API" in r for r in reasons):
            reasons.append("the change breaks the public API")  # a review started elsewhere
        if reasons:
            who = await self._wait_for_approval(reasons)
        else:
            who = BOT

        self._progress.current_step = "merge"
        merged = await workflow.execute_activity(
            merge_pull_request,
            MergePull(repo=inp.repo, number=pr_number, expected_head_sha=head_sha,
                      method="squash",
                      title=f"Update {update.slug} to {new_version} (#{pr_number})",
                      message=f"Closes #{inp.issue_number}"),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        self._saga = Saga()
        self._progress.merged_sha = merged.sha
        await workflow.execute_activity(
            delete_branch, DeleteBranch(repo=inp.repo, branch=branch),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        await self._local(record_version, VersionCommand(
            slug=update.slug, version=new_version, commit_sha=merged.sha, pr_number=pr_number,
            manifest={**json.loads(files.get(f"{root}manifest.json", "{}")),
                      UPDATE_STATE_KEY: self._remember}))
        await self._event(EventType.REVIEW_COMPLETED, "merged", {
            "approved_by": who, "version": new_version, "pr": pr_number})

        deployment = await self._deploy(inp, update.slug, files, new_version, merged.sha)
        self._progress.current_step = "finish"
        await self._comment("update-result", (
            f"`{update.slug}` {old_version} -> {new_version} ({bump.value}"
            f"{', breaking: see MIGRATION.md' if compat.breaking else ''}) merged in "
            f"#{pr_number} as {merged.sha[:7]}. {deployment} "
            f"Roll back with `ccb rollback {update.slug}`."))
        await workflow.execute_activity(
            close_issue, CloseIssue(repo=inp.repo, number=inp.issue_number,
                                    state_reason="completed"),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        return UpdateResult(slug=update.slug, outcome="merged", old_version=old_version,
                            new_version=new_version, bump=bump, breaking=compat.breaking,
                            pr_number=pr_number, merged_sha=merged.sha, message=deployment)

    # -- steps ---------------------------------------------------------------------------------

    async def _generate_until_green(
        self, inp: UpdateInput, update: UpdateRequest, lookup: IntegrationLookup,
        old_files: dict[str, str], old_version: str,
    ) -> tuple[dict[str, str], TestReport, CompatReport, str, Bump]:
        findings: list[Finding] = []
        root = f"integrations/{update.slug}/"
        for attempt in range(1, inp.max_fix_rounds + 1):
            self._progress.current_step = "generate"
            draft = await self._local(offline_generate_update, UpdateGenerateInput(
                request=lookup.request, update=update, version=old_version,
                previous_files=old_files, findings=findings, attempt=attempt,
                renames=lookup.renames))
            self._progress.current_step = "compatibility"
            compat: CompatReport = await workflow.execute_activity(
                compare_public_api, CompatInput(slug=update.slug, old_files=old_files,
                                                new_files=draft.files),
                start_to_close_timeout=LOCAL_STEP_TIMEOUT, heartbeat_timeout=LOCAL_STEP_HEARTBEAT,
                retry_policy=DEFAULT_RETRY)
            bump = strongest(DECLARED_BUMP[update.kind], compat.detected_bump)
            new_version = bump_version(old_version, bump)
            code = await self._local(offline_generate_update, UpdateGenerateInput(
                request=lookup.request, update=update, version=new_version,
                previous_files=old_files, findings=findings, attempt=attempt,
                renames=lookup.renames))
            files = dict(code.files)
            self._remember = {"request": code.request,
                              "renames": [list(pair) for pair in code.renames]}
            if compat.breaking:  # the newest plan on top of the earlier ones
                earlier = old_files.get(f"{root}MIGRATION.md", "")
                files[f"{root}MIGRATION.md"] = migration_plan(
                    update.slug, old_version, new_version, compat, update.change) + (
                    f"\n---\n\n{earlier}" if earlier else "")

            self._progress.current_step = "check"
            findings = await workflow.execute_activity(
                check_generated_code, CheckRequest(slug=update.slug, files=files),
                start_to_close_timeout=SANDBOX_TIMEOUT, heartbeat_timeout=SANDBOX_HEARTBEAT,
                retry_policy=DEFAULT_RETRY)
            if any(f.severity == "error" for f in findings):
                continue
            self._progress.current_step = "test"
            tested = files if compat.breaking else {**files, **_previous_tests(old_files, root)}
            report: TestReport = await workflow.execute_activity(
                run_generated_tests, TestRequest(slug=update.slug, files=tested,
                                                 coverage_gate=inp.coverage_gate),
                start_to_close_timeout=SANDBOX_TIMEOUT, heartbeat_timeout=SANDBOX_HEARTBEAT,
                retry_policy=DEFAULT_RETRY)
            if report.passed and report.meets_coverage:
                return files, report, compat, new_version, bump
            findings = report.findings
        raise UpdateFailed(
            f"the updated code still had problems after {inp.max_fix_rounds} rounds: "
            + "; ".join(f"{f.tool} {f.path}:{f.line or ''} {f.message}" for f in findings[:10]),
            type="GenerationDidNotConverge", non_retryable=True)

    async def _open_pull_request(
        self, inp: UpdateInput, update: UpdateRequest, old_files: dict[str, str],
        files: dict[str, str], old_version: str, new_version: str, bump: Bump,
        compat: CompatReport, report: TestReport,
    ) -> tuple[int, str, str]:
        self._progress.current_step = "pull_request"
        branch = f"{UPDATE_BRANCH_PREFIX}{update.slug}"
        await workflow.execute_activity(
            create_branch, CreateBranch(repo=inp.repo, branch=branch, from_ref="main"),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        self._progress.branch = branch
        self._saga.add("delete branch", lambda: workflow.execute_activity(
            delete_branch, DeleteBranch(repo=inp.repo, branch=branch),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY))
        commit = await workflow.execute_activity(
            commit_files,
            CommitFiles(repo=inp.repo, branch=branch, files=files,
                        delete=sorted(p for p in old_files if p not in files),
                        message=f"Update {update.slug} to {new_version} ({bump.value})"),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        root = f"integrations/{update.slug}/"
        body = [f"Closes #{inp.issue_number}. {issue_marker(inp.issue_number)}", "",
                f"**{update.slug}** {old_version} -> **{new_version}** ({bump.value} bump; the "
                f"request said {update.kind.value}).", "", "## Change", update.change, "",
                "## Public API",
                *[f"- added {m.kind} `{m.name}`" for m in compat.added],
                *[f"- removed {m.kind} `{m.name}`" for m in compat.removed],
                *[f"- changed `{a.name}`: `{a.signature}` -> `{b.signature}`"
                  for a, b in compat.changed],
                *([] if compat.added or compat.removed or compat.changed else ["- unchanged"]),
                "", "## Tests", report.summary, ""]
        if compat.breaking:
            plan = files[f"{root}MIGRATION.md"].split("\n---\n")[0]
            body += ["## Migration plan (breaking change)", "", plan]
        pull = await workflow.execute_activity(
            open_pull_request,
            OpenPullRequest(repo=inp.repo, head=branch, base="main", body="\n".join(body),
                            title=f"Update {update.slug} to {new_version}"),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
        self._progress.pr_number, self._progress.pr_url = pull.number, pull.url
        self._progress.head_sha = pull.head_sha or commit.sha
        self._saga.add("close pull request", lambda: workflow.execute_activity(
            close_pull_request, PullQuery(repo=inp.repo, number=pull.number),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY))
        return pull.number, self._progress.head_sha, branch

    async def _review(self, inp: UpdateInput, pr_number: int, head_sha: str, branch: str,
                      breaking: bool) -> ReviewOutcome:
        """The review of the PR's head, as a child; when the webhook already started that
        review (same id), its outcome is awaited instead of reviewing twice."""
        review_id = review_workflow_id(inp.repo, pr_number, head_sha)
        try:
            return await workflow.execute_child_workflow(
                CodeReviewWorkflow.run,
                ReviewRun(repo=inp.repo, pr_number=pr_number, head_ref=branch,
                          head_sha=head_sha, requested_by=inp.requested_by,
                          options=ReviewOptions(coverage_gate=inp.coverage_gate,
                                                reviewers=inp.reviewers, breaking=breaking)),
                id=review_id)
        except WorkflowAlreadyStartedError:
            return await workflow.execute_activity(
                await_review, review_id, start_to_close_timeout=SANDBOX_TIMEOUT * 2,
                heartbeat_timeout=timedelta(seconds=10), retry_policy=DEFAULT_RETRY)

    async def _wait_for_approval(self, reasons: list[str]) -> str:
        self._progress.current_step = "approval"
        self._progress.waiting_for_approval = True
        await self._comment("update-approval", "A human review is required before merging: "
                            + "; ".join(reasons) + ". Approve the pull request (or comment "
                            "/approve, or `ccb approve`).")
        try:
            await workflow.wait_condition(
                lambda: self._approval is not None or bool(self._changes),
                timeout=APPROVAL_EXPIRY)
        except TimeoutError:
            raise UpdateFailed(f"no approval within {APPROVAL_EXPIRY}; the pull request was "
                               "closed. Comment /retry to start again", type="ApprovalExpired",
                               non_retryable=True) from None
        finally:
            self._progress.waiting_for_approval = False
        if self._approval is None:
            change = self._changes[0]
            raise UpdateFailed(f"changes requested by {change.reviewer}: the pull request was "
                               "closed; edit the issue with the change and comment /retry",
                               type="ChangesRequested", non_retryable=True)
        return self._approval.reviewer

    async def _deploy(self, inp: UpdateInput, slug: str, files: dict[str, str],
                      version: str, commit_sha: str) -> str:
        self._progress.current_step = "deploy"
        flags = await self._local(read_feature_flags, inp.environment)
        if not flags.auto_deployment:
            return (f"Auto-deployment is off in {inp.environment}: deploy with "
                    f"`ccb deploy {slug} --env {inp.environment}`.")
        root = f"integrations/{slug}/"
        deployed = await workflow.execute_child_workflow(
            DeployWorkflow.run,
            DeployInput(slug=slug, version=version, environment=inp.environment,
                        files={p: t for p, t in files.items() if p.startswith(root)},
                        commit_sha=commit_sha, flags=flags, actor=BOT,
                        reason=f"update issue #{inp.issue_number}"),
            id=deploy_workflow_id(inp.environment, slug, version))
        self._progress.deployment = f"{deployed.version} live ({deployed.color.value})"
        return f"{deployed.version} is live ({deployed.color.value}, blue-green)."

    # -- bookkeeping ---------------------------------------------------------------------------

    async def _local(self, fn: Callable[[A], R], arg: A) -> R:
        """A quick local activity (parsing, registry, pure generation)."""
        result: R = await workflow.execute_activity(
            fn, arg, start_to_close_timeout=LOCAL_STEP_TIMEOUT,  # type: ignore[call-overload]
            retry_policy=DEFAULT_RETRY)
        return result

    async def _comment(self, marker: str, text: str) -> None:
        assert self._inp is not None
        await workflow.execute_activity(
            upsert_bot_comment,
            UpsertComment(repo=self._inp.repo, number=self._inp.issue_number, marker=marker,
                          body=text),
            start_to_close_timeout=GITHUB_STEP_TIMEOUT,
            heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)

    async def _event(self, kind: EventType, name: str, payload: dict[str, object]) -> None:
        wf_id = workflow.info().workflow_id
        self._events += 1
        await self._local(record_event, EventCommand(
            event_id=f"{wf_id}/{workflow.info().run_id}/{self._events}-{name}", type=kind,
            slug=self._progress.slug or None, payload=payload,
            metadata={"workflow_id": wf_id}))


def _manifest_version(files: dict[str, str], root: str) -> str:
    try:
        return str(json.loads(files[f"{root}manifest.json"])["version"])
    except (KeyError, ValueError, TypeError):
        return "0.1.0"


def _previous_tests(old_files: dict[str, str], root: str) -> dict[str, str]:
    """The old version's test modules, renamed ``test_previous_*``, run with the new ones."""
    tests: dict[str, str] = {}
    for path, text in old_files.items():
        pure = PurePosixPath(path)
        if path.startswith(f"{root}tests/") and pure.name.startswith("test_"):
            tests[str(pure.with_name("test_previous_" + pure.name[5:]))] = text
    return tests
