"""SPEC process 2: an integration-update issue becomes a reviewed, merged, versioned change.

``run`` handles the platform concerns (a failure is explained on the issue, the branch and
PR of a run that did not merge are undone); ``_update`` reads as the process: find the
integration, regenerate it with the change, compare public APIs, bump the version by semver,
check and test (old tests included unless the change is breaking), open the PR with a
migration plan when breaking, review (``CodeReviewWorkflow`` as a child), wait for a human
when the rules say so, merge, record the version and deploy it blue-green.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePosixPath
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_activities import check_token_budget
    from activities.codegen.claude_update import claude_generate_update
    from activities.codegen.offline_update import offline_generate_update
    from activities.codegen.select import select_backend
    from activities.compat import compare_public_api, migration_plan
    from activities.flags import read_feature_flags
    from activities.github_git import commit_files, delete_branch
    from activities.github_issues import close_issue, upsert_bot_comment
    from activities.github_pulls import (
        merge_pull_request,
        update_pull_request_body,
    )
    from activities.github_review import read_repo_files
    from activities.lifecycle import record_event, record_version
    from activities.update_steps import find_integration, parse_update_request
    from activities.verify import check_generated_code, run_generated_tests
    from models.budget import BudgetCheck
    from models.codegen import Backend, Finding
    from models.creation import ApprovalDecision, ChangeRequest, ErrorCategory, Progress
    from models.deploy import DeployInput, deploy_workflow_id
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import (
        CloseIssue,
        CommitFiles,
        DeleteBranch,
        MergePull,
        PullBody,
        UpsertComment,
    )
    from models.issue_form import ChangeKind, UpdateRequest
    from models.lifecycle import EventCommand, VersionCommand
    from models.manifest import with_manifest_version
    from models.review import ReviewOptions, ReviewOutcome, ReviewRun
    from models.semver import Bump, bump_version, strongest
    from models.update import (
        UPDATE_STATE_KEY,
        CompatInput,
        CompatReport,
        IntegrationLookup,
        RepoFilesQuery,
        UpdateGenerated,
        UpdateGenerateInput,
        UpdateInput,
        UpdateResult,
    )
    from models.verify import CheckRequest, TestReport, TestRequest
    from workflows import fix_rounds
    from workflows.approval import AwaitsHumanDecision
    from workflows.deploy import DeployWorkflow
    from workflows.errors import classify, guarded
    from workflows.names import UPDATE_BRANCH_PREFIX, issue_marker
    from workflows.policies import (
        DEFAULT_RETRY,
        GITHUB_STEP,
        LOCAL_HEARTBEATING_STEP,
        LOCAL_STEP,
        LOCAL_STEP_TIMEOUT,
        MODEL_STEP,
        SANDBOX_STEP,
    )
    from workflows.pull_requests import open_bot_pull_request
    from workflows.revert import open_revert_pull_request
    from workflows.review import review_as_child
    from workflows.saga import Saga

A = TypeVar("A")
R = TypeVar("R")
BOT = "ccb-bot"
DECLARED_BUMP = {ChangeKind.BREAKING: Bump.MAJOR, ChangeKind.FEATURE: Bump.MINOR,
                 ChangeKind.FIX: Bump.PATCH}
APPROVAL_EXPIRY = timedelta(days=7)
UPDATE_REGENERATES_PATCH = "update-regenerates-on-changes"  # earlier runs ended instead
UPDATE_REVERT_PATCH = "update-revert-pull-request"  # earlier runs left merged code as it was
CLAUDE_UPDATE_PATCH = "update-by-claude"  # earlier runs always used the offline generator


class UpdateFailed(ApplicationError):
    """A failure already explained on the issue; the run ends failed."""


@workflow.defn(name="IntegrationUpdateWorkflow")
class IntegrationUpdateWorkflow(AwaitsHumanDecision):
    def __init__(self) -> None:
        self._progress = Progress(workflow_id="", state="ANALYZING")
        self._init_decisions()  # progress query, approve update, request_changes signal
        self._saga = Saga()
        self._inp: UpdateInput | None = None
        self._events = 0
        self._remember: dict[str, object] = {}
        self._revert_note = ""

    # -- platform concerns ---------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: UpdateInput) -> UpdateResult:
        self._inp = inp
        self._progress.workflow_id = workflow.info().workflow_id
        return await guarded(self._update(inp), self._undo_and_explain, UpdateFailed)

    async def _undo_and_explain(self, err: BaseException) -> None:
        category, message = classify(err)
        self._progress.error, self._progress.state = message, "FAILED"
        failures = await self._saga.compensate()
        extra = f" {self._revert_note}" if self._revert_note else ""
        extra += (" Could not undo: " + "; ".join(failures)) if failures else ""
        if category == ErrorCategory.INTERNAL:
            extra += (" This is the bot's fault, not your request's: nothing in the issue "
                      "needs to change. Please report it to the bot's maintainers with the "
                      f"workflow id `{workflow.info().workflow_id}`; once it is fixed, comment "
                      "`/retry`.")
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
            **GITHUB_STEP)
        if not old_files:
            raise UpdateFailed(f"{root} is not on main in {inp.repo}: nothing to update",
                               type=ErrorType.NOTHING_TO_UPDATE, non_retryable=True)
        old_version = lookup.current_version or _manifest_version(old_files, root)

        files, report, compat, new_version, bump = await self._generate_until_green(
            inp, update, lookup, old_files, old_version)
        await self._event(EventType.CODE_GENERATED, "generated", {
            "from": old_version, "to": new_version, "bump": bump.value,
            "breaking": compat.breaking})

        pr_number, head_sha, branch = await self._open_pull_request(
            inp, update, old_files, files, old_version, new_version, bump, compat, report)

        reviewer_comments: list[str] = []
        while True:
            self._progress.current_step = "review"
            review = await self._review(inp, pr_number, head_sha, branch, compat.breaking)
            if review.status != "completed":
                raise UpdateFailed(f"the review of {head_sha[:7]} ended {review.status}: the "
                                   "branch changed under the update; comment /retry",
                                   type=ErrorType.REVIEW_SUPERSEDED, non_retryable=True)
            if not review.gate_passed:
                self._saga = Saga()  # the PR stays open, its failing status explains why
                raise UpdateFailed(f"the review blocked the merge of #{pr_number}: "
                                   f"{review.summary.splitlines()[2] if review.summary else ''}",
                                   type=ErrorType.REVIEW_GATE_FAILED, non_retryable=True)
            await self._event(EventType.TESTS_COMPLETED, "tests", {
                "passed": True, "coverage_percent": review.coverage_percent,
                "security_scan": "passed", "version": new_version, "head_sha": head_sha})
            reasons = list(review.human_review.reasons if review.human_review else [])
            if compat.breaking and not any("public API" in r for r in reasons):
                reasons.append("the change breaks the public API")  # a review started elsewhere
            if not reasons:
                who = BOT
                break
            decision = await self._wait_for_decision(reasons)
            if isinstance(decision, ApprovalDecision):
                who = decision.reviewer
                break
            if not workflow.patched(UPDATE_REGENERATES_PATCH):
                raise UpdateFailed(f"changes requested by {decision.reviewer}: the pull request "
                                   "was closed; edit the issue with the change and comment "
                                   "/retry", type=ErrorType.CHANGES_REQUESTED, non_retryable=True)
            # The reviewer's words go back to generation; the answer is a new commit on the
            # same pull request, reviewed again.
            reviewer_comments.append(decision.text)
            files, report, compat, new_version, bump = await self._generate_until_green(
                inp, update, lookup, old_files, old_version, reviewer_comments, current=files)
            head_sha = await self._commit_answer(inp, update, pr_number, branch, old_files,
                                                 files, old_version, new_version, bump, compat,
                                                 report, decision.reviewer)

        self._progress.current_step = "merge"
        merged = await workflow.execute_activity(
            merge_pull_request,
            MergePull(repo=inp.repo, number=pr_number, expected_head_sha=head_sha,
                      method="squash",
                      title=f"Update {update.slug} to {new_version} (#{pr_number})",
                      message=f"Closes #{inp.issue_number}"),
            **GITHUB_STEP)
        self._saga = Saga()  # merged code is not undone by deleting its branch
        self._progress.merged_sha = merged.sha
        if workflow.patched(UPDATE_REVERT_PATCH):
            self._saga.add("open a revert pull request", lambda: self._open_revert(
                inp, update.slug, pr_number, merged.sha, old_files, files, old_version,
                new_version))
        await workflow.execute_activity(
            delete_branch, DeleteBranch(repo=inp.repo, branch=branch),
            **GITHUB_STEP)
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
            **GITHUB_STEP)
        return UpdateResult(slug=update.slug, outcome="merged", old_version=old_version,
                            new_version=new_version, bump=bump, breaking=compat.breaking,
                            pr_number=pr_number, merged_sha=merged.sha, message=deployment,
                            usage=self._progress.usage)

    # -- steps ---------------------------------------------------------------------------------

    async def _generate_until_green(
        self, inp: UpdateInput, update: UpdateRequest, lookup: IntegrationLookup,
        old_files: dict[str, str], old_version: str, reviewer_comments: list[str] | None = None,
        current: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], TestReport, CompatReport, str, Bump]:
        """Generate, compare, check and test in bounded rounds. ``reviewer_comments`` (changes
        a reviewer asked for) and ``current`` (the PR's files) are set when answering one."""
        comments = list(reviewer_comments or [])
        findings: list[Finding] = []
        root = f"integrations/{update.slug}/"
        backend = self._progress.backend  # chosen by the first round, kept for answers
        if backend is None:
            backend = Backend.OFFLINE
            if workflow.patched(CLAUDE_UPDATE_PATCH):
                backend = await workflow.execute_activity(
                    select_backend, **LOCAL_STEP)
            self._progress.backend = backend
        previous = current or old_files
        stop_when_stalled = workflow.patched(fix_rounds.STALLED_PATCH)
        last_round: dict[str, str] = {}
        for attempt in range(1, inp.max_fix_rounds + 1):
            self._progress.current_step = "generate"
            if backend == Backend.CLAUDE:
                files, compat, new_version, bump = await self._claude_round(
                    update, lookup, old_files, previous, old_version, findings, attempt,
                    comments)
                previous = files
            else:
                # From the last round's files, so a round that can change nothing gives the
                # same files (the offline generator records a comment only once).
                basis = last_round if stop_when_stalled and last_round else old_files
                files, compat, new_version, bump = await self._offline_round(
                    update, lookup, old_files, old_version, findings, attempt, comments, basis)
            if compat.breaking:  # the newest plan on top of the earlier ones
                earlier = old_files.get(f"{root}MIGRATION.md", "")
                files[f"{root}MIGRATION.md"] = migration_plan(
                    update.slug, old_version, new_version, compat, update.change) + (
                    f"\n---\n\n{earlier}" if earlier else "")
            if stop_when_stalled and fix_rounds.stalled(files, last_round, attempt):
                raise UpdateFailed(fix_rounds.stalled_message(backend, attempt, findings),
                                   type=fix_rounds.STALLED_TYPE, non_retryable=True)
            last_round = dict(files)

            self._progress.current_step = "check"
            findings = await workflow.execute_activity(
                check_generated_code, CheckRequest(slug=update.slug, files=files),
                **SANDBOX_STEP)
            if any(f.severity == "error" for f in findings):
                continue
            self._progress.current_step = "test"
            tested = files if compat.breaking else {**files, **_previous_tests(old_files, root)}
            report: TestReport = await workflow.execute_activity(
                run_generated_tests, TestRequest(slug=update.slug, files=tested,
                                                 coverage_gate=inp.coverage_gate),
                **SANDBOX_STEP)
            if report.passed and report.meets_coverage:
                return files, report, compat, new_version, bump
            findings = report.findings
        if stop_when_stalled:
            raise UpdateFailed(
                fix_rounds.not_converged_message(inp.max_fix_rounds, findings, internal=True),
                type=fix_rounds.NOT_CONVERGED_TYPE, non_retryable=True)
        raise UpdateFailed(
            f"the updated code still had problems after {inp.max_fix_rounds} rounds: "
            + "; ".join(f"{f.tool} {f.path}:{f.line or ''} {f.message}" for f in findings[:10]),
            type=fix_rounds.LEGACY_NOT_CONVERGED_TYPE, non_retryable=True)

    async def _compare(self, slug: str, old_files: dict[str, str],
                       new_files: dict[str, str]) -> CompatReport:
        self._progress.current_step = "compatibility"
        report: CompatReport = await workflow.execute_activity(
            compare_public_api, CompatInput(slug=slug, old_files=old_files, new_files=new_files),
            **LOCAL_HEARTBEATING_STEP)
        return report

    async def _claude_round(
        self, update: UpdateRequest, lookup: IntegrationLookup, old_files: dict[str, str],
        previous: dict[str, str], old_version: str, findings: list[Finding], attempt: int,
        comments: list[str],
    ) -> tuple[dict[str, str], CompatReport, str, Bump]:
        """One Claude call per round, at the declared bump's version; the manifest's version
        is then set to what the public-API comparison says the change really is."""
        wf_id = workflow.info().workflow_id
        await workflow.execute_activity(
            check_token_budget, BudgetCheck(integration_key=wf_id),
            **LOCAL_STEP)
        code: UpdateGenerated = await workflow.execute_activity(
            claude_generate_update, UpdateGenerateInput(
                request=lookup.request, update=update,
                version=bump_version(old_version, DECLARED_BUMP[update.kind]),
                previous_files=previous, findings=findings, attempt=attempt,
                renames=lookup.renames, integration_key=wf_id, reviewer_comments=comments),
            **MODEL_STEP)
        self._progress.usage = self._progress.usage + code.usage
        compat = await self._compare(update.slug, old_files, code.files)
        bump = strongest(DECLARED_BUMP[update.kind], compat.detected_bump)
        new_version = bump_version(old_version, bump)
        self._remember = {"request": code.request,
                          "renames": [list(pair) for pair in code.renames]}
        files = with_manifest_version(dict(code.files), f"integrations/{update.slug}/",
                                      new_version)
        return files, compat, new_version, bump

    async def _offline_round(
        self, update: UpdateRequest, lookup: IntegrationLookup, old_files: dict[str, str],
        old_version: str, findings: list[Finding], attempt: int, comments: list[str],
        basis: dict[str, str],
    ) -> tuple[dict[str, str], CompatReport, str, Bump]:
        """A draft at the old version to compare, then the files at the bumped version;
        ``basis`` is what the generator starts from (the old files, or the last round's)."""
        draft = await self._local(offline_generate_update, UpdateGenerateInput(
            request=lookup.request, update=update, version=old_version,
            previous_files=basis, findings=findings, attempt=attempt,
            renames=lookup.renames, reviewer_comments=comments))
        compat = await self._compare(update.slug, old_files, draft.files)
        bump = strongest(DECLARED_BUMP[update.kind], compat.detected_bump)
        new_version = bump_version(old_version, bump)
        code = await self._local(offline_generate_update, UpdateGenerateInput(
            request=lookup.request, update=update, version=new_version,
            previous_files=basis, findings=findings, attempt=attempt,
            renames=lookup.renames, reviewer_comments=comments))
        self._remember = {"request": code.request,
                          "renames": [list(pair) for pair in code.renames]}
        return dict(code.files), compat, new_version, bump

    async def _open_pull_request(
        self, inp: UpdateInput, update: UpdateRequest, old_files: dict[str, str],
        files: dict[str, str], old_version: str, new_version: str, bump: Bump,
        compat: CompatReport, report: TestReport,
    ) -> tuple[int, str, str]:
        self._progress.current_step = "pull_request"
        branch = f"{UPDATE_BRANCH_PREFIX}{update.slug}"
        self._progress.branch = branch
        pull = await open_bot_pull_request(
            self._saga, repo=inp.repo, branch=branch, files=files,
            delete=sorted(p for p in old_files if p not in files),
            message=f"Update {update.slug} to {new_version} ({bump.value})",
            title=f"Update {update.slug} to {new_version}",
            body=self._pull_request_body(inp, update, files, old_version, new_version, bump,
                                         compat, report))
        self._progress.pr_number, self._progress.pr_url = pull.number, pull.url
        self._progress.head_sha = pull.head_sha
        return pull.number, self._progress.head_sha, branch

    def _pull_request_body(self, inp: UpdateInput, update: UpdateRequest,
                           files: dict[str, str], old_version: str, new_version: str,
                           bump: Bump, compat: CompatReport, report: TestReport) -> str:
        root = f"integrations/{update.slug}/"
        body = [f"Closes #{inp.issue_number}. {issue_marker(inp.issue_number)}", "",
                f"**{update.slug}** {old_version} -> **{new_version}** ({bump.value} bump; the "
                f"request said {update.kind.value}).", "",
                "Written by " + ("Claude" if self._progress.backend == Backend.CLAUDE else
                                 "the offline generator (no AI model was used)")
                + f"; {self._progress.usage.total_tokens} tokens, "
                  f"${self._progress.usage.cost_usd:.4f}.", "",
                "## Change", update.change, "",
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
        return "\n".join(body)

    async def _review(self, inp: UpdateInput, pr_number: int, head_sha: str, branch: str,
                      breaking: bool) -> ReviewOutcome:
        """The review of the PR's head, as a child; when the webhook already started that
        review (same id), its outcome is awaited instead of reviewing twice."""
        outcome = await review_as_child(ReviewRun(
            repo=inp.repo, pr_number=pr_number, head_ref=branch, head_sha=head_sha,
            requested_by=inp.requested_by,
            options=ReviewOptions(coverage_gate=inp.coverage_gate, reviewers=inp.reviewers,
                                  breaking=breaking, usage_key=workflow.info().workflow_id)))
        self._progress.usage = self._progress.usage + outcome.usage
        return outcome

    async def _open_revert(self, inp: UpdateInput, slug: str, pr_number: int, merged_sha: str,
                           old_files: dict[str, str], files: dict[str, str], old_version: str,
                           new_version: str) -> None:
        """The compensation of the merge: a pull request putting ``old_version`` back."""
        why = self._progress.error or "a step after the merge failed"
        pull = await open_revert_pull_request(
            repo=inp.repo, slug=slug, merged_sha=merged_sha, restore=old_files,
            remove=[p for p in files if p not in old_files],
            title=f"Revert {slug} to {old_version} (#{pr_number})",
            body=(f"For issue #{inp.issue_number}. #{pr_number} ({slug} {new_version}) was "
                  f"merged as {merged_sha[:7]}, then the update failed: {why[:2000]}\n\n"
                  f"Merging this puts `integrations/{slug}/` back to {old_version}. Close it "
                  "instead to keep the new version and fix forward."))
        self._revert_note = (f"Revert pull request #{pull.number} opened to put {old_version} "
                             "back: merge it, or close it to keep the new version.")

    async def _commit_answer(
        self, inp: UpdateInput, update: UpdateRequest, pr_number: int, branch: str,
        old_files: dict[str, str], files: dict[str, str], old_version: str, new_version: str,
        bump: Bump, compat: CompatReport, report: TestReport, reviewer: str,
    ) -> str:
        """Commit the regenerated files on the PR's branch and refresh its description."""
        self._progress.current_step = "pull_request"
        commit = await workflow.execute_activity(
            commit_files,
            CommitFiles(repo=inp.repo, branch=branch, files=files,
                        delete=sorted(p for p in old_files if p not in files),
                        message=f"Address review by {reviewer} ({new_version})"),
            **GITHUB_STEP)
        await workflow.execute_activity(
            update_pull_request_body,
            PullBody(repo=inp.repo, number=pr_number, body=self._pull_request_body(
                inp, update, files, old_version, new_version, bump, compat, report)),
            **GITHUB_STEP)
        self._progress.head_sha = commit.sha
        return commit.sha

    async def _wait_for_decision(self, reasons: list[str]) -> ApprovalDecision | ChangeRequest:
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
                               "closed. Comment /retry to start again",
                               type=ErrorType.APPROVAL_EXPIRED, non_retryable=True) from None
        finally:
            self._progress.waiting_for_approval = False
        if self._approval is None:
            return self._changes.pop(0)
        return self._approval

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
            **GITHUB_STEP)

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
