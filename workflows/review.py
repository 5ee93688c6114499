"""SPEC process 3: the review of a pull request that touches ``integrations/``.

One run per pushed head (``names.review_workflow_id``). Lint and security scan, tests with
coverage in the sandbox, docs and error-handling rules, then the code review proper (Claude
when a key is set, else the offline generator's rules, which say no AI was used), then one
PR review with inline comments on the diff's lines (keyed by path, line and rule, so a later
push never repeats one), the rule-based decision whether a human must review, and a commit
status summarising it all.
A newer push supersedes the run: the head is read before anything is posted, and a run
whose head moved ends ``superseded`` having posted nothing.
"""

from __future__ import annotations

import re

from temporalio import workflow
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.codegen.claude_activities import claude_review
    from activities.codegen.offline_activities import offline_review
    from activities.codegen.select import select_backend
    from activities.github_git import set_commit_status
    from activities.github_pulls import list_pull_request_files, request_reviewers
    from activities.github_review import (
        codeowners_reviewers,
        get_pull_head,
        post_inline_review,
        read_repo_files,
    )
    from activities.review_checks import check_review_rules, decide_human_review
    from activities.update_steps import await_review, find_integration
    from activities.verify import check_generated_code, run_generated_tests
    from models.codegen import Backend, Finding, ReviewInput, ReviewResult, TokenUsage
    from models.github import CodeOwnersQuery, CommitStatus, PullFile, PullQuery, RequestReviewers
    from models.request import IntegrationRequest
    from models.review import (
        STATUS_CONTEXT,
        HumanReviewDecision,
        HumanReviewInput,
        InlineReviewCommand,
        KeyedComment,
        ReviewOutcome,
        ReviewRun,
        RuleInput,
    )
    from models.update import IntegrationLookup, RepoFilesQuery
    from models.verify import CheckRequest, TestReport, TestRequest
    from rules.inert import code_span, inert
    from rules.review_rules import integration_slugs
    from workflows.names import INTEGRATIONS_DIR, review_workflow_id
    from workflows.policies import (
        AWAIT_REVIEW_STEP,
        GITHUB_STEP,
        LOCAL_HEARTBEATING_STEP,
        LOCAL_STEP,
        MODEL_STEP,
        sandbox_step,
    )

MODEL_REVIEW_PATCH = "code-review-by-model"  # runs started before it skip the model review
CODEOWNERS_PATCH = "reviewers-from-codeowners"  # runs started before it asked the configured
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
MAX_INLINE_COMMENTS = 30


def added_lines(patch: str | None) -> set[int]:
    """Line numbers (new side) a unified diff adds: the lines an inline comment may sit on."""
    lines: set[int] = set()
    number = 0
    for row in (patch or "").splitlines():
        hunk = _HUNK.match(row)
        if hunk:
            number = int(hunk[1])
        elif row.startswith("+"):
            lines.add(number)
            number += 1
        elif not row.startswith("-"):
            number += 1
    return lines


def inline_comments(findings: list[Finding], changed: list[PullFile]) -> list[KeyedComment]:
    """One comment per finding that sits on an added line of the diff."""
    where = {f.filename: added_lines(f.patch) for f in changed}
    comments: list[KeyedComment] = []
    for finding in findings:
        if finding.line is None or finding.line not in where.get(finding.path, set()):
            continue
        rule = f"{finding.tool}:{finding.code or 'finding'}"
        comments.append(KeyedComment(path=finding.path, line=finding.line, rule=rule,
                                     body=f"**{inert(rule)}** ({finding.severity}): "
                                          f"{inert(finding.message)}"))
    return comments[:MAX_INLINE_COMMENTS]


def claude_comments(review: ReviewResult, changed: list[PullFile]) -> list[KeyedComment]:
    """Claude's own inline comments that sit on added lines, keyed one per line, so a later
    push's review never repeats a remark on the same line."""
    where = {f.filename: added_lines(f.patch) for f in changed}
    return [KeyedComment(path=c.path, line=c.line, rule="claude-review",
                         body=f"**Claude**: {inert(c.body)}")
            for c in review.comments if c.line in where.get(c.path, set())]


def stored_request(lookup: IntegrationLookup) -> IntegrationRequest | None:
    """The request the registry holds for the integration, when it holds a valid one."""
    if not lookup.found or not lookup.request:
        return None
    try:
        return IntegrationRequest.model_validate(lookup.request)
    except ValidationError:
        return None


async def review_as_child(run: ReviewRun) -> ReviewOutcome:
    """``run`` reviewed by a child ``CodeReviewWorkflow`` (one id per PR head); when another
    caller (the webhook) already started that review, its outcome is awaited instead of
    reviewing twice. For the creation and update workflows."""
    review_id = review_workflow_id(run.repo, run.pr_number, run.head_sha)
    try:
        outcome: ReviewOutcome = await workflow.execute_child_workflow(
            CodeReviewWorkflow.run, run, id=review_id)
    except WorkflowAlreadyStartedError:
        outcome = await workflow.execute_activity(
            await_review, review_id, **AWAIT_REVIEW_STEP)
    return outcome


@workflow.defn(name="CodeReviewWorkflow")
class CodeReviewWorkflow:
    def __init__(self) -> None:
        self._stage = "starting"
        self._usage_key = ""

    @workflow.query(name="progress")
    def progress(self) -> str:
        return self._stage

    @workflow.run
    async def run(self, inp: ReviewRun) -> ReviewOutcome:
        self._usage_key = inp.options.usage_key or workflow.info().workflow_id
        pull = PullQuery(repo=inp.repo, number=inp.pr_number)
        if await self._superseded(inp):
            return ReviewOutcome(status="superseded", head_sha=inp.head_sha,
                                 summary="a newer push arrived before the review started")
        self._stage = "listing files"
        changed: list[PullFile] = await workflow.execute_activity(
            list_pull_request_files, pull, **GITHUB_STEP)
        slugs = integration_slugs([f.filename for f in changed])
        if not slugs:
            return ReviewOutcome(status="skipped", head_sha=inp.head_sha, gate_passed=True,
                                 summary=f"the pull request touches nothing under "
                                         f"{INTEGRATIONS_DIR}")
        await self._status(inp, "pending", "review running: lint, security, tests, docs")

        findings: list[Finding] = []
        reports: list[TestReport] = []
        files_of: dict[str, dict[str, str]] = {}
        checked = inp.options.checked
        reused: list[str] = []
        for slug in slugs:
            self._stage = f"checking {slug}"
            files: dict[str, str] = await workflow.execute_activity(
                read_repo_files, RepoFilesQuery(repo=inp.repo, prefix=f"{INTEGRATIONS_DIR}{slug}/",
                                                ref=inp.head_sha),
                **GITHUB_STEP)
            files_of[slug] = files
            known = checked if checked and (checked.sha, checked.slug) == (inp.head_sha,
                                                                           slug) else None
            if known is None:
                findings += await workflow.execute_activity(
                    check_generated_code, CheckRequest(slug=slug, files=files),
                    **sandbox_step())
            else:
                findings += known.findings
            findings += await workflow.execute_activity(
                check_review_rules, RuleInput(slug=slug, files=files),
                **LOCAL_STEP)
            if known is not None:
                reused.append(slug)
                reports.append(known.report)
                continue
            self._stage = f"testing {slug}"
            reports.append(await workflow.execute_activity(
                run_generated_tests, TestRequest(slug=slug, files=files,
                                                 coverage_gate=inp.options.coverage_gate),
                **sandbox_step()))

        report = min(reports, key=lambda r: (r.passed and r.meets_coverage,
                                             r.coverage_percent or 0.0))
        errors = [f for f in findings if f.severity == "error"]
        gate_passed = report.passed and report.meets_coverage
        decision: HumanReviewDecision = await workflow.execute_activity(
            decide_human_review,
            HumanReviewInput(changed_paths=[f.filename for f in changed],
                             changed_lines=sum(f.additions + f.deletions for f in changed),
                             slugs=slugs, findings=findings, report=report,
                             options=inp.options),
            **LOCAL_HEARTBEATING_STEP)
        reviews: list[ReviewResult] = []
        if workflow.patched(MODEL_REVIEW_PATCH):
            reviews = await self._code_reviews(slugs, files_of, findings, changed)
            unapproved = [r for r in reviews if r.backend == Backend.CLAUDE and not r.approve]
            if unapproved:
                decision = HumanReviewDecision(required=True, reasons=[
                    *decision.reasons, "Claude's review asks for changes"])

        # Nothing is posted for a head that is no longer the PR's head.
        if await self._superseded(inp):
            return ReviewOutcome(status="superseded", head_sha=inp.head_sha,
                                 gate_passed=gate_passed,
                                 coverage_percent=report.coverage_percent,
                                 summary="a newer push arrived during the review")
        self._stage = "posting the review"
        comments = inline_comments(findings, changed)
        if reviews and reviews[0].backend == Backend.CLAUDE:
            comments += [c for r in reviews for c in claude_comments(r, changed)]
            comments = comments[:MAX_INLINE_COMMENTS]
        body = self._summary(inp, report, findings, decision, reviews, tests_reused=bool(reused))
        posted = await workflow.execute_activity(
            post_inline_review,
            InlineReviewCommand(repo=inp.repo, number=inp.pr_number, body=body,
                                marker=f"review-{inp.head_sha[:12]}", comments=comments),
            **GITHUB_STEP)
        asked: list[str] = []
        if decision.required:
            asked = await self._ask_reviewers(inp, [f.filename for f in changed])
        ok = gate_passed and not errors
        await self._status(inp, "success" if ok else "failure",
                           self._status_text(report, errors, decision))
        self._stage = "completed"
        usage = sum((r.usage for r in reviews), TokenUsage())
        return ReviewOutcome(status="completed", head_sha=inp.head_sha, gate_passed=ok,
                             coverage_percent=report.coverage_percent, human_review=decision,
                             inline_comments=posted.posted_comments, summary=body,
                             reviewed_by=reviews[0].backend.value if reviews else "",
                             usage=usage, requested_reviewers=asked)

    async def _ask_reviewers(self, inp: ReviewRun, paths: list[str]) -> list[str]:
        """The configured reviewers and, in newer runs, the people CODEOWNERS on the base
        branch names for the changed files: requested on the pull request, and returned
        (the reminders mention them). A reviewer GitHub refuses (not a collaborator) leaves
        the review standing, logged, and nobody returned."""
        reviewers = list(inp.options.reviewers)
        if workflow.patched(CODEOWNERS_PATCH):
            try:
                owners: list[str] = await workflow.execute_activity(
                    codeowners_reviewers, CodeOwnersQuery(repo=inp.repo, paths=paths[:3000]),
                    **GITHUB_STEP)
            except ActivityError as exc:
                workflow.logger.warning("CODEOWNERS not read: %s", exc)
                owners = []
            reviewers = list(dict.fromkeys([*reviewers, *owners]))
        if not reviewers:
            return []
        try:
            await workflow.execute_activity(
                request_reviewers,
                RequestReviewers(repo=inp.repo, number=inp.pr_number, reviewers=reviewers),
                **GITHUB_STEP)
        except ActivityError as exc:
            if not workflow.patched(CODEOWNERS_PATCH):
                raise
            workflow.logger.warning("reviewers %s not requested: %s", reviewers, exc)
            return []
        return reviewers

    async def _code_reviews(self, slugs: list[str], files_of: dict[str, dict[str, str]],
                            findings: list[Finding], changed: list[PullFile]
                            ) -> list[ReviewResult]:
        """Claude's review of each integration the PR touches (the offline rules without a
        key: their remarks repeat the checks' findings, so only their summary is posted)."""
        backend: Backend = await workflow.execute_activity(
            select_backend, **LOCAL_STEP)
        reviews: list[ReviewResult] = []
        for slug in slugs:
            self._stage = f"reviewing {slug} ({backend.value})"
            prefix = f"{INTEGRATIONS_DIR}{slug}/"
            lookup: IntegrationLookup = await workflow.execute_activity(
                find_integration, slug, **LOCAL_STEP)
            review_input = ReviewInput(
                request=stored_request(lookup), slug=slug, files=files_of[slug],
                findings=[f for f in findings if f.path.startswith(prefix)],
                changed_paths=[f.filename for f in changed if f.filename.startswith(prefix)],
                integration_key=self._usage_key)
            if backend == Backend.CLAUDE:
                reviews.append(await workflow.execute_activity(
                    claude_review, review_input, **MODEL_STEP))
            else:
                reviews.append(await workflow.execute_activity(
                    offline_review, review_input, **LOCAL_STEP))
        return reviews

    async def _superseded(self, inp: ReviewRun) -> bool:
        self._stage = "reading the pull request's head"
        head = await workflow.execute_activity(
            get_pull_head, PullQuery(repo=inp.repo, number=inp.pr_number),
            **GITHUB_STEP)
        if head.sha == inp.head_sha:
            return False
        await self._status(inp, "error", f"superseded by a newer push ({head.sha[:7]})")
        return True

    async def _status(self, inp: ReviewRun, state: str, description: str) -> None:
        await workflow.execute_activity(
            set_commit_status,
            CommitStatus(repo=inp.repo, sha=inp.head_sha, state=state,  # type: ignore[arg-type]
                         context=STATUS_CONTEXT, description=description[:140]),
            **GITHUB_STEP)

    @staticmethod
    def _status_text(report: TestReport, errors: list[Finding],
                     decision: HumanReviewDecision) -> str:
        tests_failed = report.failures or report.errors or (
            not report.passed and report.meets_coverage)
        if tests_failed:
            text = (f"merge blocked: tests failed ({report.failures} failures, "
                    f"{report.errors} errors)")
        elif not report.meets_coverage:
            got = "n/a" if report.coverage_percent is None else f"{report.coverage_percent:.1f}%"
            text = f"merge blocked: coverage {got} is below the {report.coverage_gate:g}% gate"
        elif errors:
            text = f"merge blocked: {len(errors)} check finding(s)"
        else:
            text = (f"passed: coverage {report.coverage_percent or 0:.1f}% >= "
                    f"{report.coverage_gate:g}% gate")
        return text + ("; human review required" if decision.required else "")

    @staticmethod
    def _summary(inp: ReviewRun, report: TestReport, findings: list[Finding],
                 decision: HumanReviewDecision, reviews: list[ReviewResult],
                 tests_reused: bool) -> str:
        errors = [f for f in findings if f.severity == "error"]
        tests = (f"Tests (the caller's sandbox run of these files at {inp.head_sha[:7]}, not "
                 "repeated)" if tests_reused else "Tests")
        lines = [f"## Review of {inp.head_sha[:7]}", "",
                 f"- {tests}: {report.summary}",
                 f"- Checks (lint, security, docs, error handling): {len(errors)} blocking, "
                 f"{len(findings) - len(errors)} warnings",
                 "- Human review: " + ("required: " + "; ".join(decision.reasons)
                                       if decision.required else "not required by the rules")]
        for finding in errors[:20]:
            where = f"{finding.path}:{finding.line}" if finding.line else finding.path
            lines.append(f"  - {code_span(finding.tool)} {inert(finding.code)} "
                         f"{code_span(where)}: {inert(finding.message[:240])}")
        for review in reviews:
            if review.backend == Backend.CLAUDE:
                usage = review.usage
                lines += ["", f"### Claude's review ({usage.total_tokens} tokens, "
                              f"${usage.cost_usd:.4f})", inert(review.summary[:4000])]
            else:
                lines += ["", "### Rule-based review (no AI model was used: no API key is set)",
                          inert(review.summary[:4000])]
        return "\n".join(lines)
