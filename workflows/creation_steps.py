"""The steps of integration creation, in order, as the progress checklist shows them, and
the review step of runs that started before reviews were a child workflow."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.github_pulls import post_review, request_reviewers
    from models.codegen import ReviewResult
    from models.creation import CreationInput, Progress, StepRecord
    from models.github import InlineComment, PostReview, RequestReviewers
    from workflows.policies import GITHUB_STEP

STEPS: list[tuple[str, str]] = [
    ("validate", "Validate the request"),
    ("analyze", "Analyse the requirements"),
    ("generate", "Generate the code"),
    ("check", "Check the code (syntax, lint, types, security, policy)"),
    ("test", "Run the tests in the sandbox"),
    ("pull_request", "Open the pull request"),
    ("review", "Review: automated checks, AI review, human approval"),
    ("merge", "Merge the pull request"),
    ("deploy", "Deploy (blue-green)"),
    ("finish", "Update the issue"),
]


def fresh_steps() -> list[StepRecord]:
    return [StepRecord(name=name, title=title) for name, title in STEPS]


async def review_in_place(inp: CreationInput, progress: Progress, review: ReviewResult) -> None:
    """How creation runs started before ``review-by-code-review-workflow`` posted their
    review (kept so that they replay): the review as a PR comment, then the reviewers."""
    number = progress.pr_number or 0
    await workflow.execute_activity(
        post_review,
        PostReview(repo=inp.repo, number=number, body=review.summary, event="COMMENT",
                   comments=[InlineComment(path=c.path, line=c.line, body=c.body)
                             for c in review.comments],
                   marker=f"review-{progress.head_sha[:12]}"),
        **GITHUB_STEP)
    if inp.reviewers:
        await workflow.execute_activity(
            request_reviewers,
            RequestReviewers(repo=inp.repo, number=number, reviewers=inp.reviewers),
            **GITHUB_STEP)
