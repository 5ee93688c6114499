"""The parts of GitHub webhook payloads the starter reads, as pydantic shapes.

Only what routing needs is declared; everything else in a payload is ignored. A payload of a
routed event that lacks one of these fields is malformed (the starter answers 400).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Actor(_Part):
    login: str = Field(min_length=1, max_length=60)
    type: str = Field(default="User", max_length=40)


class Repository(_Part):
    full_name: str = Field(min_length=3, max_length=140)


class Label(_Part):
    name: str = Field(max_length=200)


class Issue(_Part):
    number: int = Field(gt=0)
    title: str = Field(default="", max_length=1_000)
    body: str | None = None
    labels: list[Label] = Field(default_factory=list)
    user: Actor | None = None  # who opened it
    # Present (an object) when the "issue" is a pull request.
    pull_request: dict[str, object] | None = None

    def has_label(self, name: str) -> bool:
        return any(label.name == name for label in self.labels)


class Comment(_Part):
    id: int = Field(gt=0)
    body: str | None = None
    user: Actor


class Ref(_Part):
    ref: str = Field(min_length=1, max_length=300)
    sha: str = Field(min_length=7, max_length=64)


class PullRequest(_Part):
    number: int = Field(gt=0)
    title: str = Field(default="", max_length=1_000)
    body: str | None = None
    head: Ref
    base: Ref
    merged: bool | None = None  # in ``closed`` events: whether it was merged
    merge_commit_sha: str | None = Field(default=None, max_length=64)  # once merged


class Review(_Part):
    id: int = Field(gt=0)
    state: str = Field(max_length=40)  # lowercase in webhooks: approved, changes_requested, ...
    body: str | None = None
    user: Actor
    commit_id: str | None = Field(default=None, max_length=64)  # the head it was given on


class _Event(_Part):
    action: str = Field(max_length=60)
    sender: Actor
    repository: Repository


class IssuesEvent(_Event):
    issue: Issue
    label: Label | None = None  # the label added (``labeled``)
    changes: dict[str, object] = Field(default_factory=dict)  # ``edited``: what changed


class IssueCommentEvent(_Event):
    issue: Issue
    comment: Comment


class PullRequestEvent(_Event):
    number: int = Field(gt=0)
    pull_request: PullRequest


class PullRequestReviewEvent(_Event):
    review: Review
    pull_request: PullRequest


EVENT_MODELS: dict[str, type[_Event]] = {
    "issues": IssuesEvent,
    "issue_comment": IssueCommentEvent,
    "pull_request": PullRequestEvent,
    "pull_request_review": PullRequestReviewEvent,
}


class ReviewRequest(BaseModel):
    """What the review workflow (``workflows.names.REVIEW_WORKFLOW``) is started with."""

    repo: str
    pr_number: int = Field(gt=0)
    head_ref: str
    head_sha: str
    requested_by: str
