"""GitHub activities on pull requests: open, describe, review, merge, close, list files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from github import GithubException
from github.GithubObject import NotSet
from github.PullRequest import PullRequest, ReviewComment
from github.Repository import Repository
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.faults import pause_point
from activities.github_client import repository
from activities.github_errors import github_activity
from activities.github_issues import by_bot
from models.error_types import ErrorType
from models.github import (
    MergePull,
    MergeResult,
    OpenPullRequest,
    PostReview,
    PullBody,
    PullFile,
    PullQuery,
    PullRef,
    RequestReviewers,
    ReviewRef,
    hidden_marker,
    with_marker,
)


def pull_ref(pull: PullRequest) -> PullRef:
    return PullRef(number=pull.number, url=pull.html_url, head_sha=pull.head.sha)


def open_pull_for(repo: Repository, owner: str, head: str) -> PullRequest | None:
    """The open pull request whose head is ``owner:head``, if any."""
    for pull in repo.get_pulls(state="open", head=f"{owner}:{head}"):
        if pull.head.ref == head:
            return pull
    return None


@activity.defn
@github_activity("repository {repo} (pull request from {head!r} into {base!r})")
def open_pull_request(command: OpenPullRequest) -> PullRef:
    """Open a pull request from ``head`` into ``base``; returns it.

    Idempotent: an open pull request for the same head is returned instead of a new one, and
    losing a creation race (422 "A pull request already exists") reads the winner.
    """
    repo = repository(command.repo)
    owner = command.repo.split("/", 1)[0]
    existing = open_pull_for(repo, owner, command.head)
    if existing is not None:
        return pull_ref(existing)
    try:
        pull = repo.create_pull(base=command.base, head=command.head, title=command.title,
                                body=command.body, draft=command.draft)
    except GithubException as exc:
        if exc.status != 422 or (existing := open_pull_for(repo, owner, command.head)) is None:
            raise
        return pull_ref(existing)
    pause_point("open_pull_request.after_create")
    activity.logger.info("opened pull request %s#%s", command.repo, pull.number)
    return pull_ref(pull)


@activity.defn
@github_activity("pull request #{number} in {repo}")
def update_pull_request_body(command: PullBody) -> None:
    """Replace the pull request's description (and its title, when given: a new version's).
    Idempotent: what is already there is not written again."""
    pull = repository(command.repo).get_pull(command.number)
    if (pull.body or "") != command.body:
        pull.edit(body=command.body)
    if command.title and pull.title != command.title:
        pull.edit(title=command.title)


@activity.defn
@github_activity("pull request #{number} in {repo}")
def request_reviewers(command: RequestReviewers) -> list[str]:
    """Ask people to review; returns who is requested (the PR's author cannot be).

    Idempotent: GitHub's review requests are a set, and people already requested are not
    asked again (no second notification).
    """
    pull = repository(command.repo).get_pull(command.number)
    author = pull.user.login.lower()
    wanted = [r for r in dict.fromkeys(command.reviewers) if r.lower() != author]
    already = {user.login.lower() for user in pull.requested_reviewers}
    missing = [r for r in wanted if r.lower() not in already]
    if missing:
        pull.create_review_request(reviewers=missing)
    return wanted


@activity.defn
@github_activity("pull request #{number} in {repo}")
def post_review(command: PostReview) -> ReviewRef:
    """Submit a review (with inline comments) tagged ``<!-- ccb:{marker} -->``.

    Idempotent: the pull request's reviews are listed first, and a review by the bot carrying
    the marker is returned instead of submitting another.
    """
    pull = repository(command.repo).get_pull(command.number)
    tag = hidden_marker(command.marker)
    for review in pull.get_reviews():
        if tag in (review.body or "") and by_bot(review.user.login if review.user else None):
            return ReviewRef(id=review.id, state=review.state)
    comments: list[ReviewComment] = [
        {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}
        for c in command.comments
    ]
    review = pull.create_review(body=with_marker(command.body, command.marker),
                                event=command.event, comments=comments)
    activity.logger.info("reviewed %s#%s (%s)", command.repo, command.number, command.event)
    return ReviewRef(id=review.id, state=review.state)


def stale_head(command: MergePull, actual: str | None) -> ApplicationError:
    now = f"its head is {actual[:12]}" if actual else "its head moved"
    return ApplicationError(
        f"pull request #{command.number} in {command.repo} changed since it was reviewed: "
        f"{now}, not the expected {command.expected_head_sha[:12]}. "
        "Review the new commits, then merge with the new head sha.",
        type=ErrorType.GITHUB_STALE_HEAD, non_retryable=True,
    )


@activity.defn
@github_activity("pull request #{number} in {repo}")
def merge_pull_request(command: MergePull) -> MergeResult:
    """Merge the pull request if its head is still ``expected_head_sha``.

    Idempotent: a pull request already merged returns its merge commit; a head that moved
    (checked first, and GitHub's 409) fails without retrying, so nothing unreviewed merges.
    """
    pull = repository(command.repo).get_pull(command.number)
    if pull.merged:
        return MergeResult(merged=True, sha=pull.merge_commit_sha or "")
    if pull.state == "closed":
        raise ApplicationError(
            f"pull request #{command.number} in {command.repo} is closed without being "
            "merged: reopen it to merge it.",
            type=ErrorType.GITHUB_REJECTED, non_retryable=True,
        )
    if pull.head.sha != command.expected_head_sha:
        raise stale_head(command, pull.head.sha)
    try:
        status = pull.merge(merge_method=command.method, sha=command.expected_head_sha,
                            commit_title=command.title or NotSet,
                            commit_message=command.message or NotSet)
    except GithubException as exc:
        if exc.status == 409:
            raise stale_head(command, None) from exc
        if exc.status == 405:  # "not mergeable": maybe a lost answer to our own merge
            again = repository(command.repo).get_pull(command.number)
            if again.merged:
                return MergeResult(merged=True, sha=again.merge_commit_sha or "")
        raise
    pause_point("merge_pull_request.after_merge")
    activity.logger.info("merged %s#%s as %s", command.repo, command.number, status.sha)
    return MergeResult(merged=status.merged, sha=status.sha)


@activity.defn
@github_activity("pull request #{number} in {repo}")
def close_pull_request(command: PullQuery) -> None:
    """Close the pull request without merging. Idempotent: a closed one is left as it is."""
    pull = repository(command.repo).get_pull(command.number)
    if pull.state != "closed":
        pull.edit(state="closed")


@activity.defn
@github_activity("pull request #{number} in {repo}")
def list_pull_request_files(command: PullQuery) -> list[PullFile]:
    """The files the pull request changes, with their patches. A read: safe to repeat."""
    pull = repository(command.repo).get_pull(command.number)
    return [
        PullFile(filename=f.filename, status=f.status, additions=f.additions,
                 deletions=f.deletions, patch=f.patch)
        for f in pull.get_files()
    ]


PULL_ACTIVITIES: list[Callable[..., Any]] = [
    open_pull_request,
    update_pull_request_body,
    request_reviewers,
    post_review,
    merge_pull_request,
    close_pull_request,
    list_pull_request_files,
]
