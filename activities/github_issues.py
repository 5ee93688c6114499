"""GitHub activities on issues: the bot's comment, labels, closing, and permission checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from github import GithubException
from github.Repository import Repository
from temporalio import activity

from activities.github_client import github_client, repository
from activities.github_errors import github_activity
from infra.settings import get_settings
from models.github import (
    CloseIssue,
    CommentRef,
    IssueQuery,
    LabelChange,
    Permission,
    PermissionQuery,
    UpsertComment,
    hidden_marker,
    with_marker,
)

PERMISSIONS: tuple[Permission, ...] = ("admin", "maintain", "write", "triage", "read", "none")


def by_bot(login: str | None) -> bool:
    """True when ``login`` is the bot's own account (``CCB_BOT_LOGIN``)."""
    return (login or "").lower() == get_settings().bot_login.lower()


def require_repository(repo: Repository) -> None:
    """Read the repository, so a 404 on something inside it is told apart from a wrong repo."""
    _ = repo.id


@activity.defn
@github_activity("issue #{number} in {repo}")
def upsert_bot_comment(command: UpsertComment) -> CommentRef:
    """Create or update the bot's one comment tagged ``<!-- ccb:{marker} -->``.

    Idempotent: the issue's comments are listed and the bot's comment with the marker is
    edited (only if its text differs); a comment is created only when none carries it, so a
    retry after a crash finds the comment the first try posted.
    """
    issue = repository(command.repo).get_issue(command.number)
    tag = hidden_marker(command.marker)
    body = with_marker(command.body, command.marker)
    for comment in issue.get_comments():
        if tag in (comment.body or "") and by_bot(comment.user.login if comment.user else None):
            if comment.body != body:
                comment.edit(body)
            return CommentRef(id=comment.id, url=comment.html_url)
    comment = issue.create_comment(body)
    activity.logger.info("commented on %s#%s (%s)", command.repo, command.number, command.marker)
    return CommentRef(id=comment.id, url=comment.html_url, created=True)


@activity.defn
@github_activity("issue #{number} in {repo}")
def add_labels(command: LabelChange) -> None:
    """Add labels to an issue or PR. Idempotent by nature: GitHub adds a label at most once."""
    repository(command.repo).get_issue(command.number).add_to_labels(*command.labels)


@activity.defn
@github_activity("issue #{number} in {repo}")
def remove_labels(command: LabelChange) -> None:
    """Remove labels from an issue or PR; a label it does not carry is fine.

    Idempotent: only labels the issue carries are removed, and a label gone meanwhile (404)
    counts as removed.
    """
    issue = repository(command.repo).get_issue(command.number)
    present = {label.name for label in issue.labels}
    for name in command.labels:
        if name not in present:
            continue
        try:
            issue.remove_from_labels(name)
        except GithubException as exc:
            if exc.status != 404:
                raise


@activity.defn
@github_activity("issue #{number} in {repo}")
def close_issue(command: CloseIssue) -> None:
    """Close an issue (optionally as completed / not_planned).

    Idempotent: an issue already closed is left untouched.
    """
    issue = repository(command.repo).get_issue(command.number)
    if issue.state == "closed":
        return
    if command.state_reason:
        issue.edit(state="closed", state_reason=command.state_reason)
    else:
        issue.edit(state="closed")


@activity.defn
@github_activity("issue #{number} in {repo}")
def issue_labels(query: IssueQuery) -> list[str]:
    """The issue's label names (plan-first is a label). A read: safe to repeat."""
    return sorted(label.name for label in repository(query.repo).get_issue(query.number).labels)


@activity.defn
@github_activity("collaborator {username} of {repo}")
def get_collaborator_permission(command: PermissionQuery) -> str:
    """The person's role on the repository: admin, maintain, write, triage, read or none.

    A read: safe to repeat. Someone who is not a collaborator (404) has "none", once the
    repository itself is known to exist (a wrong repository name is an error, not "none").
    """
    repo = repository(command.repo)
    try:
        _, data = github_client().requester.requestJsonAndCheck(
            "GET", f"{repo.url}/collaborators/{quote(command.username)}/permission"
        )
    except GithubException as exc:
        if exc.status != 404:
            raise
        require_repository(repo)
        return "none"
    role = data.get("role_name") if isinstance(data, dict) else None
    if role not in PERMISSIONS:  # custom roles: fall back to the coarse permission
        role = data.get("permission") if isinstance(data, dict) else None
    return role if role in PERMISSIONS else "none"


ISSUE_ACTIVITIES: list[Callable[..., Any]] = [
    upsert_bot_comment,
    add_labels,
    remove_labels,
    close_issue,
    get_collaborator_permission,
    issue_labels,
]
