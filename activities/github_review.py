"""GitHub activities of reviews and updates: a PR's current head, a folder's files at a ref,
and a review whose inline comments are never repeated on a later push."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from github import GithubException
from temporalio import activity

from activities.github_client import repository
from activities.github_errors import github_activity
from activities.github_git import branch_head
from activities.github_issues import by_bot
from models.github import CodeOwnersQuery, PullQuery, hidden_marker, with_marker
from models.review import InlineReviewCommand, InlineReviewResult, PullHead
from models.update import RepoFilesQuery
from rules.codeowners import owners_for, parse_codeowners


@activity.defn
@github_activity("pull request #{number} in {repo}")
def get_pull_head(command: PullQuery) -> PullHead:
    """The PR's head sha now (a newer push supersedes a running review). A read."""
    pull = repository(command.repo).get_pull(command.number)
    return PullHead(sha=pull.head.sha, state=pull.state, merged=bool(pull.merged))


@activity.defn
@github_activity("{prefix} at {ref} in {repo}")
def read_repo_files(command: RepoFilesQuery) -> dict[str, str]:
    """Every text file under ``prefix`` at ``ref`` (a branch or sha); {} when there is none.

    A read: safe to repeat.
    """
    repo = repository(command.repo)
    sha = command.ref if len(command.ref) == 40 else branch_head(repo, command.ref)
    if sha is None:
        return {}
    prefix = command.prefix.rstrip("/") + "/"
    try:
        tree = repo.get_git_tree(sha, recursive=True)
    except GithubException as exc:
        if exc.status == 404:
            return {}
        raise
    files: dict[str, str] = {}
    for entry in tree.tree:
        if entry.type != "blob" or not entry.path.startswith(prefix):
            continue
        blob = repo.get_git_blob(entry.sha)
        raw = base64.b64decode(blob.content) if blob.encoding == "base64" else blob.content
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        try:
            files[entry.path] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # binary files are not part of a generated integration
    return dict(sorted(files.items()))


@activity.defn
@github_activity("pull request #{number} in {repo}")
def post_inline_review(command: InlineReviewCommand) -> InlineReviewResult:
    """Submit a COMMENT review tagged ``marker`` with only the inline comments not yet on the PR.

    Idempotent: a review already carrying ``marker`` is returned as it is; an inline comment
    whose key (path, line, rule) the bot already posted, on this push or an earlier one, is
    not posted again.
    """
    pull = repository(command.repo).get_pull(command.number)
    tag = hidden_marker(command.marker)
    for review in pull.get_reviews():
        if tag in (review.body or "") and by_bot(review.user.login if review.user else None):
            return InlineReviewResult(review_id=review.id, posted_comments=0,
                                      already_present=len(command.comments))
    present = {c.body for c in pull.get_review_comments()
               if by_bot(c.user.login if c.user else None)}
    new, seen = [], set()
    for comment in command.comments:
        marker = hidden_marker(comment.marker)
        if marker in seen or any(marker in body for body in present):
            continue
        seen.add(marker)
        new.append({"path": comment.path, "line": comment.line, "side": "RIGHT",
                    "body": with_marker(comment.body, comment.marker)})
    review = pull.create_review(body=with_marker(command.body, command.marker),
                                event="COMMENT", comments=new)  # type: ignore[arg-type]
    activity.logger.info("reviewed %s#%s: %d new inline comments", command.repo,
                         command.number, len(new))
    return InlineReviewResult(review_id=review.id, posted_comments=len(new),
                              already_present=len(command.comments) - len(new))


CODEOWNERS_FILES = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # GitHub's order


@activity.defn
@github_activity("CODEOWNERS at {ref} in {repo}")
def codeowners_reviewers(command: CodeOwnersQuery) -> list[str]:
    """The people the repository's CODEOWNERS (read from ``ref``, the base branch — never a
    pull request's head) names for ``paths``; [] without a CODEOWNERS file. A read."""
    repo = repository(command.repo)
    for path in CODEOWNERS_FILES:
        try:
            found = repo.get_contents(path, ref=command.ref)
        except GithubException as exc:
            if exc.status == 404:
                continue
            raise
        if isinstance(found, list):  # a directory of that name: not a CODEOWNERS file
            continue
        text = found.decoded_content.decode("utf-8", "replace")
        return owners_for(parse_codeowners(text), command.paths)
    return []


REVIEW_GITHUB_ACTIVITIES: list[Callable[..., Any]] = [
    codeowners_reviewers,
    get_pull_head, read_repo_files, post_inline_review,
]
