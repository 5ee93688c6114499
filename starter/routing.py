"""The routing table: which webhook event (and action) becomes which workflow interaction.

| event               | action              | condition                        | becomes        |
| ------------------- | ------------------- | -------------------------------- | -------------- |
| issues              | opened              | carries `integration-request`    | StartRequest   |
| issues              | opened              | carries `integration-update`     | StartRequest(u)|
| issues              | labeled             | the label added is one of those  | as for opened  |
| issues              | closed              | a request or update issue        | IssueClosed    |
| issues              | reopened            | a request or update issue        | IssueReopened  |
| issues              | edited              | its title or body changed        | IssueEdited    |
| issue_comment       | created             | first line is a ccb command      | CommentCommand |
| pull_request        | opened, synchronize | (files: checked by the review)   | StartReview    |
| pull_request        | closed              | the PR is owned by a workflow    | PullClosedBy.. |
| pull_request        | closed              | a person's PR, merged into main  | Contribution.. |
| pull_request_review | submitted           | approved / changes_requested and | ReviewDecision |
|                     |                     | the PR is owned by a workflow    |                |

Everything else is ``Ignored`` with the reason. Routing is pure: no I/O, no permission check
(the webhook does those after routing, only for events that would do something).

Why the review does not get the PR's files here: the payload does not carry them and listing
them is one or more GitHub calls per push. The review workflow's first step lists them and
ends at once when nothing under ``integrations/`` changed; the starter stays a fast,
GitHub-free ACK for every PR event.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.webhooks import (
    IssueCommentEvent,
    IssuesEvent,
    PullRequestEvent,
    PullRequestReviewEvent,
)
from starter.commands import Command, CommandMisuse, CommandName, parse_command
from workflows import names


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class StartRequest:
    """An integration request (creation) or, with ``update=True``, an update request."""

    repo: str
    issue_number: int
    title: str
    body: str | None
    actor: str
    update: bool = False

    @property
    def reply_number(self) -> int:
        return self.issue_number


@dataclass(frozen=True)
class IssueClosed:
    """A person closed a request (or update) issue: its running workflow is cancelled."""

    repo: str
    issue_number: int
    actor: str
    author: str  # who opened the issue: they may close their own request

    @property
    def reply_number(self) -> int:
        return self.issue_number


@dataclass(frozen=True)
class _IssueWithText:
    """A person's action on a request (or update) issue, with its title and text as the
    payload carries them."""

    repo: str
    issue_number: int
    title: str
    body: str | None
    actor: str
    author: str  # who opened the issue: they may reopen or edit their own request

    @property
    def reply_number(self) -> int:
        return self.issue_number


@dataclass(frozen=True)
class IssueReopened(_IssueWithText):
    """A person reopened a request (or update) issue: a failed request is retried."""


@dataclass(frozen=True)
class IssueEdited(_IssueWithText):
    """A person edited a request (or update) issue's title or text."""


@dataclass(frozen=True)
class PullClosedByPerson:
    """A person closed (or merged) a pull request a request's workflow opened."""

    repo: str
    pr_number: int
    workflow_type: str
    workflow_id: str
    actor: str
    merged: bool
    head_sha: str

    @property
    def reply_number(self) -> int:
        return self.pr_number


@dataclass(frozen=True)
class ContributionMerged:
    """A person's own pull request (not the bot's) merged into the base branch: what it
    changed under ``integrations/`` is recorded and deployed (the workflow lists the files)."""

    repo: str
    pr_number: int
    actor: str  # who merged it: their write access is their approval
    head_sha: str
    merge_sha: str

    @property
    def reply_number(self) -> int:
        return self.pr_number


@dataclass(frozen=True)
class StartReview:
    repo: str
    pr_number: int
    head_ref: str
    head_sha: str
    actor: str

    @property
    def reply_number(self) -> int:
        return self.pr_number


@dataclass(frozen=True)
class ReviewDecision:
    repo: str
    pr_number: int
    workflow_type: str
    workflow_id: str
    approve: bool
    text: str
    review_id: int
    actor: str
    head_sha: str = ""  # the commit the review was given on

    @property
    def reply_number(self) -> int:
        return self.pr_number


@dataclass(frozen=True)
class CommentCommand:
    """A command in a comment on ``reply_number`` about request issue ``issue_number``."""

    repo: str
    issue_number: int
    reply_number: int
    command: Command | CommandMisuse
    comment_id: int
    actor: str
    title: str
    body: str | None
    on_pull_request: bool


Action = (StartRequest | StartReview | ReviewDecision | CommentCommand | IssueClosed
          | IssueReopened | IssueEdited | PullClosedByPerson | ContributionMerged)
Route = Action | Ignored

REVIEW_ACTIONS = ("opened", "synchronize")
BASE_BRANCH = "main"  # where the bot's pull requests go, and merged code deploys from


def route(event: str, payload: object) -> Route:
    """What ``payload`` (a model from ``models.webhooks``) of ``event`` asks for."""
    if isinstance(payload, IssuesEvent):
        return _issues(payload)
    if isinstance(payload, IssueCommentEvent):
        return _issue_comment(payload)
    if isinstance(payload, PullRequestEvent):
        return _pull_request(payload)
    if isinstance(payload, PullRequestReviewEvent):
        return _pull_request_review(payload)
    return Ignored(f"event {event!r} is not handled")


def _issues(event: IssuesEvent) -> Route:
    issue = event.issue
    if event.action in ("closed", "reopened", "edited"):
        return _closed_reopened_or_edited(event)
    if event.action == "opened":
        labels = [label.name for label in issue.labels]
    elif event.action == "labeled":
        labels = [event.label.name] if event.label else []
    else:
        return Ignored(f"issues.{event.action} is not handled")
    for label, update in ((names.REQUEST_LABEL, False), (names.UPDATE_LABEL, True)):
        if label in labels:
            return StartRequest(repo=event.repository.full_name, issue_number=issue.number,
                                title=issue.title, body=issue.body, actor=event.sender.login,
                                update=update)
    shown = ", ".join(repr(n) for n in labels[:5]) or "no label"
    return Ignored(f"issues.{event.action} with {shown}: not {names.REQUEST_LABEL!r} "
                   f"or {names.UPDATE_LABEL!r}")


def _closed_reopened_or_edited(event: IssuesEvent) -> Route:
    issue = event.issue
    if not (issue.has_label(names.REQUEST_LABEL) or issue.has_label(names.UPDATE_LABEL)):
        return Ignored(f"issues.{event.action} of an issue that is not a request")
    author = issue.user.login if issue.user else ""
    repo = event.repository.full_name
    if event.action == "edited":
        if event.changes and not ({"title", "body"} & set(event.changes)):
            return Ignored("issues.edited without a change to the title or text")
        return IssueEdited(repo=repo, issue_number=issue.number, title=issue.title,
                           body=issue.body, actor=event.sender.login, author=author)
    if event.action == "closed":
        return IssueClosed(repo=repo, issue_number=issue.number, actor=event.sender.login,
                           author=author)
    return IssueReopened(repo=repo, issue_number=issue.number, title=issue.title,
                         body=issue.body, actor=event.sender.login, author=author)


def _issue_comment(event: IssueCommentEvent) -> Route:
    if event.action != "created":
        return Ignored(f"issue_comment.{event.action} is not handled (only new comments)")
    command = parse_command(event.comment.body)
    if command is None:
        return Ignored("the comment is not a ccb command")
    issue = event.issue
    target = issue.number
    on_pr = issue.pull_request is not None
    if on_pr:
        named = names.issue_named_in(issue.body)
        if named is None:
            return Ignored("a command on a pull request that names no request issue")
        target = named
    return CommentCommand(repo=event.repository.full_name, issue_number=target,
                          reply_number=issue.number, command=command,
                          comment_id=event.comment.id, actor=event.sender.login,
                          title=issue.title, body=issue.body, on_pull_request=on_pr)


def _pull_request(event: PullRequestEvent) -> Route:
    if event.action == "closed":
        pr = event.pull_request
        owner = names.pr_owner_workflow(event.repository.full_name, pr.head.ref, pr.body)
        if owner is None:
            if pr.merged and pr.merge_commit_sha and pr.base.ref == BASE_BRANCH:
                return ContributionMerged(repo=event.repository.full_name, pr_number=pr.number,
                                          actor=event.sender.login, head_sha=pr.head.sha,
                                          merge_sha=pr.merge_commit_sha)
            return Ignored(f"pull request #{pr.number} closed: not one the bot opened for a "
                           f"request{'' if pr.merged else ', and not merged'}")
        return PullClosedByPerson(repo=event.repository.full_name, pr_number=pr.number,
                                  workflow_type=owner[0], workflow_id=owner[1],
                                  actor=event.sender.login, merged=bool(pr.merged),
                                  head_sha=pr.head.sha)
    if event.action not in REVIEW_ACTIONS:
        return Ignored(f"pull_request.{event.action} is not handled")
    pr = event.pull_request
    return StartReview(repo=event.repository.full_name, pr_number=pr.number,
                       head_ref=pr.head.ref, head_sha=pr.head.sha, actor=event.sender.login)


def _pull_request_review(event: PullRequestReviewEvent) -> Route:
    if event.action != "submitted":
        return Ignored(f"pull_request_review.{event.action} is not handled")
    state = event.review.state.lower()
    if state not in ("approved", "changes_requested"):
        return Ignored(f"a {state!r} review decides nothing")
    pr = event.pull_request
    owner = names.pr_owner_workflow(event.repository.full_name, pr.head.ref, pr.body)
    if owner is None:
        return Ignored(f"pull request #{pr.number} is not one the bot opened for a request")
    text = (event.review.body or "").strip() or f"changes requested in review {event.review.id}"
    return ReviewDecision(repo=event.repository.full_name, pr_number=pr.number,
                          workflow_type=owner[0], workflow_id=owner[1],
                          approve=state == "approved", text=text, review_id=event.review.id,
                          actor=event.sender.login, head_sha=event.review.commit_id or "")


__all__ = ["Action", "CommandName", "Ignored", "Route", "route"]
