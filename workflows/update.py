"""SPEC process 2: an integration-update issue becomes a reviewed, merged, versioned change.

``run`` handles the platform concerns (a failure is explained on the issue, the branch and
PR of a run that did not merge are undone); ``_update`` reads as the process: find the
integration, regenerate it with the change, compare public APIs, bump the version by semver,
check and test (old tests included unless the change is breaking; ``UpdateRounds``), open
the PR with a migration plan when breaking, review (``CodeReviewWorkflow`` as a child), wait
for a human when the rules say so, merge, record the version and deploy it blue-green. The
steps shared with creation live in ``RequestRun``.
"""

from __future__ import annotations

import json
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.github_git import commit_files
    from activities.github_issues import close_issue
    from activities.github_pulls import update_pull_request_body
    from activities.github_review import read_repo_files
    from activities.lifecycle import record_event
    from activities.update_steps import find_integration, parse_update_request
    from models.bump import Bump
    from models.creation import ApprovalDecision, ChangeRequest, Progress, StepStatus
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import CloseIssue, CommitFiles, MergePull, PullBody
    from models.lifecycle import EventCommand, VersionCommand
    from models.review import ReviewOptions, ReviewOutcome, ReviewRun
    from models.update import (
        UPDATE_STATE_KEY,
        CompatReport,
        IntegrationLookup,
        RepoFilesQuery,
        UpdateInput,
        UpdateResult,
    )
    from models.update_request import UpdateRequest
    from models.verify import TestReport
    from rules.endings import Ending
    from rules.inert import inert
    from workflows import request_texts
    from workflows.errors import guarded
    from workflows.guidance_step import UPDATE_GUIDANCE_PATCH, read_guidance
    from workflows.names import UPDATE_BRANCH_PREFIX
    from workflows.policies import GITHUB_STEP
    from workflows.pull_requests import open_bot_pull_request
    from workflows.request_run import BOT, ENDING_COMMENT_PATCH
    from workflows.revert import open_revert_pull_request
    from workflows.saga import Saga
    from workflows.update_checklist import UPDATE_CHECKLIST_PATCH, finish, update_steps
    from workflows.update_rounds import UpdateFailed, UpdateRounds, manifest_version

UPDATE_REGENERATES_PATCH = "update-regenerates-on-changes"  # earlier runs ended instead
UPDATE_REVERT_PATCH = "update-revert-pull-request"  # earlier runs left merged code as it was
# Earlier runs waited once for seven days, without reminders, whatever the settings said.
UPDATE_REMINDERS_PATCH = "update-approval-reminders"
# Earlier runs merged alone, as the bot, when no review rule asked for a person.
UPDATE_NEEDS_A_PERSON_PATCH = "update-needs-a-person"
# Earlier runs completed when the request could not be processed; now they end FAILED.
UPDATE_REFUSAL_FAILS_PATCH = "update-refusal-fails"
REFUSAL_TYPES = {"invalid_request": ErrorType.INVALID_REQUEST,
                 "unknown_integration": ErrorType.UNKNOWN_INTEGRATION}

Generated = tuple[dict[str, str], TestReport, CompatReport, str, Bump]


@workflow.defn(name="IntegrationUpdateWorkflow")
class IntegrationUpdateWorkflow(UpdateRounds):
    def __init__(self) -> None:
        self._progress = Progress(workflow_id="", state="ANALYZING")
        self._init_run()
        self._inp: UpdateInput | None = None
        self._remember: dict[str, object] = {}
        self._reasons: list[str] = []
        self._security_scan = ""  # the passing check round's verdict (update_rounds)
        self._pr_template = ""  # the base branch's pull-request template (none: the bot's body)

    # -- platform concerns ---------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: UpdateInput) -> UpdateResult:
        self._inp = self._begin(inp)
        self._checklist = workflow.patched(UPDATE_CHECKLIST_PATCH)
        if self._checklist:
            self._progress.steps, self._progress.kind = update_steps(), "update"
        return await self._ended(guarded(self._update(inp), self._undo_and_explain,
                                         UpdateFailed), UpdateFailed, lambda r: r.outcome)

    async def _undo_and_explain(self, err: BaseException) -> None:
        category, message, failures = await self._undo(err)
        self._progress.state = "FAILED"
        if self._checklist and self._progress.current_step != "validate":
            finish(self._progress, StepStatus.FAILED, message)
            self._progress.error, self._progress.error_category = message, category
            self._progress.next_step = self._next_words(err)
            self._progress.waiting_for_approval = False
            await self._publish(final=True)
        if isinstance(err, UpdateFailed) and err.type in REFUSAL_TYPES.values():
            return  # the request's own problem, already answered on the issue
        extra = f" {self._revert_note}" if self._revert_note else ""
        extra += (" Could not undo: " + "; ".join(failures)) if failures else ""
        ending, text = self._ending_text(err, update=True, extra=extra)
        if ending != Ending.CANCELLED or not workflow.patched(ENDING_COMMENT_PATCH):
            await self._comment(f"update-result/{workflow.info().run_id}", text)

    # -- the process ---------------------------------------------------------------------------

    async def _update(self, inp: UpdateInput) -> UpdateResult:
        found = await self._find(inp)
        if isinstance(found, UpdateResult):  # explained on the issue: nothing to undo
            if workflow.patched(UPDATE_REFUSAL_FAILS_PATCH):
                info = workflow.info()
                await self._local(record_event, EventCommand(  # no integration to attach to
                    event_id=f"{info.workflow_id}/{info.run_id}/refused",
                    type=EventType.ERROR_OCCURRED, slug=None,
                    payload={"category": found.outcome, "message": found.message,
                             "named": found.slug, "issue": inp.issue_number},
                    metadata={"workflow_id": info.workflow_id}))
                raise UpdateFailed(found.message, type=REFUSAL_TYPES[found.outcome],
                                   non_retryable=True)
            return found
        update, lookup, old_files, old_version = found
        await self._restart_if_edited(inp, record_failed=False)
        generated = await self._generate_until_green(inp, update, lookup, old_files,
                                                     old_version)
        await self._restart_if_edited(inp, record_failed=False)
        files, _, compat, new_version, bump = generated
        await self._event(EventType.CODE_GENERATED, "generated", {
            "from": old_version, "to": new_version, "bump": bump.value,
            "breaking": compat.breaking})
        pr_number = await self._open_pull_request(inp, update, old_files, old_version,
                                                  generated)
        self._pull_request_opened()
        who, generated = await self._review_until_approved(
            inp, update, lookup, old_files, old_version, pr_number, generated)
        files, _, compat, new_version, bump = generated
        self._merge_gates["approved_by"] = who
        merged_sha = await self._merge_update(inp, update, pr_number, old_files, old_version,
                                              files, new_version)
        await self._event(EventType.REVIEW_COMPLETED, "merged", {
            "approved_by": who, "version": new_version, "pr": pr_number})
        deployment = await self._deploy(inp, update.slug, files, new_version, merged_sha)
        await self._at("finish")
        if self._checklist:
            finish(self._progress, StepStatus.DONE, "issue closed")
            await self._publish(final=True)
        await self._comment(f"update-result/{workflow.info().run_id}", (
            f"{request_texts.mentions([self._requested_by])} "
            f"`{update.slug}` {old_version} -> {new_version} ({bump.value}"
            f"{', breaking: see MIGRATION.md' if compat.breaking else ''}) merged in "
            f"#{pr_number} as {merged_sha[:7]}. {deployment} "
            f"Roll back with `ccb rollback {update.slug}`."))
        await workflow.execute_activity(
            close_issue, CloseIssue(repo=inp.repo, number=inp.issue_number,
                                    state_reason="completed"),
            **GITHUB_STEP)
        return UpdateResult(slug=update.slug, outcome="merged", old_version=old_version,
                            new_version=new_version, bump=bump, breaking=compat.breaking,
                            pr_number=pr_number, merged_sha=merged_sha, message=deployment,
                            usage=self._progress.usage)

    # -- steps ---------------------------------------------------------------------------------

    async def _find(self, inp: UpdateInput) -> (
            tuple[UpdateRequest, IntegrationLookup, dict[str, str], str] | UpdateResult):
        """Parse the request, find the integration and read its files on main; a request
        that cannot be processed is answered on the issue (an UpdateResult)."""
        self._progress.current_step = "validate"
        parsed = await self._local(parse_update_request, inp)
        if not parsed.ok or parsed.update is None:
            problems = "\n".join(f"- {inert(str(p))}" for p in parsed.problems)
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
        await self._at("read")
        old_files: dict[str, str] = await workflow.execute_activity(
            read_repo_files, RepoFilesQuery(repo=inp.repo, prefix=root, ref="main"),
            **GITHUB_STEP)
        if not old_files:
            raise UpdateFailed(f"{root} is not on main in {inp.repo}: nothing to update",
                               type=ErrorType.NOTHING_TO_UPDATE, non_retryable=True)
        return update, lookup, old_files, lookup.current_version or manifest_version(
            old_files, root)

    def _body(self, inp: UpdateInput, update: UpdateRequest, old_version: str,
              generated: Generated) -> str:
        files, report, compat, new_version, bump = generated
        return request_texts.update_body(
            issue=inp.issue_number, slug=update.slug, change=update.change,
            declared=update.kind.value, old_version=old_version, new_version=new_version,
            bump=bump, compat=compat, report=report, backend=self._progress.backend,
            usage=self._progress.usage,
            migration=files.get(f"integrations/{update.slug}/MIGRATION.md", ""),
            template=self._pr_template)

    async def _open_pull_request(self, inp: UpdateInput, update: UpdateRequest,
                                 old_files: dict[str, str], old_version: str,
                                 generated: Generated) -> int:
        files, _, _, new_version, bump = generated
        await self._at("pull_request")
        guidance = await read_guidance(inp.repo, UPDATE_GUIDANCE_PATCH)  # its PR template
        self._pr_template = guidance.pr_template if guidance else ""
        branch = self._progress.branch = f"{UPDATE_BRANCH_PREFIX}{update.slug}"
        pull = await open_bot_pull_request(
            self._saga, repo=inp.repo, branch=branch, files=files,
            delete=sorted(p for p in old_files if p not in files),
            message=f"Update {update.slug} to {new_version} ({bump.value})",
            title=f"Update {update.slug} to {new_version}",
            body=self._body(inp, update, old_version, generated))
        self._progress.pr_number, self._progress.pr_url = pull.number, pull.url
        self._progress.head_sha = pull.head_sha
        return pull.number

    async def _review_until_approved(
        self, inp: UpdateInput, update: UpdateRequest, lookup: IntegrationLookup,
        old_files: dict[str, str], old_version: str, pr_number: int, generated: Generated,
    ) -> tuple[str, Generated]:
        """Review each head; a person decides when the review rules ask for one (changes
        they request go back to generation, committed on the same pull request). Returns
        who approved, and the approved generation."""
        reviewer_comments: list[str] = []
        while True:
            await self._at("review")
            head_sha = self._progress.head_sha
            breaking = generated[2].breaking
            review = await self._review(inp, pr_number, head_sha, self._progress.branch,
                                        breaking)
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
                "security_scan": self._security_scan,
                "version": generated[3], "head_sha": head_sha})
            reasons = list(review.human_review.reasons if review.human_review else [])
            if breaking and not any("public API" in r for r in reasons):
                reasons.append("the change breaks the public API")  # a review started elsewhere
            if not reasons:
                if not workflow.patched(UPDATE_NEEDS_A_PERSON_PATCH):
                    return BOT, generated  # how earlier runs merged when no rule fired
                reasons = ["every merge is approved by a person"]
            decision = await self._wait_for_decision(inp, reasons)
            if isinstance(decision, ApprovalDecision):
                return decision.reviewer, generated
            if not workflow.patched(UPDATE_REGENERATES_PATCH):
                raise UpdateFailed(f"changes requested by {decision.reviewer}: the pull request "
                                   "was closed; edit the issue with the change and comment "
                                   "/retry", type=ErrorType.CHANGES_REQUESTED, non_retryable=True)
            # The reviewer's words go back to generation; the answer is a new commit on the
            # same pull request, reviewed again.
            reviewer_comments.append(decision.text)
            generated = await self._generate_until_green(
                inp, update, lookup, old_files, old_version, reviewer_comments,
                current=generated[0])
            await self._commit_answer(inp, update, pr_number, old_files, old_version,
                                      generated, decision.reviewer)

    async def _review(self, inp: UpdateInput, pr_number: int, head_sha: str, branch: str,
                      breaking: bool) -> ReviewOutcome:
        return await self._review_pull(ReviewRun(
            repo=inp.repo, pr_number=pr_number, head_ref=branch, head_sha=head_sha,
            requested_by=inp.requested_by,
            options=ReviewOptions(coverage_gate=inp.coverage_gate, reviewers=inp.reviewers,
                                  breaking=breaking, usage_key=workflow.info().workflow_id)))

    async def _commit_answer(self, inp: UpdateInput, update: UpdateRequest, pr_number: int,
                             old_files: dict[str, str], old_version: str,
                             generated: Generated, reviewer: str) -> None:
        """Commit the regenerated files on the PR's branch and refresh its description."""
        files, new_version = generated[0], generated[3]
        await self._at("pull_request")
        commit = await workflow.execute_activity(
            commit_files,
            CommitFiles(repo=inp.repo, branch=self._progress.branch, files=files,
                        delete=sorted(p for p in old_files if p not in files),
                        message=f"Address review by {reviewer} ({new_version})"),
            **GITHUB_STEP)
        await workflow.execute_activity(
            update_pull_request_body,
            PullBody(repo=inp.repo, number=pr_number,
                     body=self._body(inp, update, old_version, generated),
                     title=f"Update {update.slug} to {new_version}"),
            **GITHUB_STEP)
        self._progress.head_sha = commit.sha

    async def _wait_for_decision(self, inp: UpdateInput,
                                 reasons: list[str]) -> ApprovalDecision | ChangeRequest:
        self._reasons = reasons
        deadline = workflow.now() + inp.approval_expiry
        self._progress.waiting_for_approval = True
        await self._at("approval")
        await self._comment("update-approval", "A human review is required before merging: "
                            + "; ".join(reasons) + ". Approve the pull request (or comment "
                            "/approve, or `ccb approve`).")
        return await self._await_decision(deadline, inp, self._remind, UpdateFailed,
                                          reminders=workflow.patched(UPDATE_REMINDERS_PATCH))

    async def _remind(self, count: int, last: bool, left: timedelta) -> None:
        """A new comment each time, so that the people watching the issue are notified."""
        await self._comment(f"update-approval-reminder-{count}", self._approval_reminder(
            count, last, left, why="; ".join(self._reasons)))

    async def _merge_update(self, inp: UpdateInput, update: UpdateRequest, pr_number: int,
                            old_files: dict[str, str], old_version: str,
                            files: dict[str, str], new_version: str) -> str:
        await self._at("merge")
        await self._await_credentials(update.slug, inp.environment, files, inp.requested_by,
                                      inp, UpdateFailed)
        root = f"integrations/{update.slug}/"

        async def revert(merged_sha: str) -> None:
            """The compensation of the merge: a pull request putting ``old_version`` back."""
            title, body = request_texts.update_revert(
                issue=inp.issue_number, slug=update.slug, pr_number=pr_number,
                merged_sha=merged_sha, old_version=old_version, new_version=new_version,
                why=self._progress.error or "a step after the merge failed")
            pull = await open_revert_pull_request(
                repo=inp.repo, slug=update.slug, merged_sha=merged_sha, restore=old_files,
                remove=[p for p in files if p not in old_files], title=title, body=body)
            self._revert_note = (f"Revert pull request #{pull.number} opened to put "
                                 f"{old_version} back: merge it, or close it to keep the new "
                                 "version.")

        return await self._merge(
            MergePull(repo=inp.repo, number=pr_number, expected_head_sha=self._progress.head_sha,
                      method="squash",
                      title=f"Update {update.slug} to {new_version} (#{pr_number})",
                      message=f"Closes #{inp.issue_number}"),
            self._progress.branch,
            VersionCommand(slug=update.slug, version=new_version, pr_number=pr_number,
                           manifest={**json.loads(files.get(f"{root}manifest.json", "{}")),
                                     UPDATE_STATE_KEY: self._remember}),
            UPDATE_REVERT_PATCH, revert)

    async def _deploy(self, inp: UpdateInput, slug: str, files: dict[str, str],
                      version: str, commit_sha: str) -> str:
        await self._at("deploy")
        deployed = await self._deploy_version(inp.environment, slug, version, files,
                                              commit_sha, f"update issue #{inp.issue_number}")
        if deployed is None:
            self._progress.state = "APPROVED"  # merged, not deployed by this run
            if self._checklist:
                step = self._step("deploy")
                step.status, step.note = StepStatus.SKIPPED, "auto-deployment is off"
            return (f"Auto-deployment is off in {inp.environment}: deploy with "
                    f"`ccb deploy {slug} --env {inp.environment}`.")
        self._progress.state = "ACTIVE"
        self._progress.deployment = f"{deployed.version} live ({deployed.color.value})"
        return f"{deployed.version} is live ({deployed.color.value}, blue-green)."
