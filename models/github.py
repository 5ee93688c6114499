"""Inputs and results of the GitHub activities (one model in, one model or plain value out).

No model carries a credential: the activities read the token where they run.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

REPO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"
MARKER_PATTERN = r"^[A-Za-z0-9._:/-]{1,100}$"
BRANCH_PATTERN = r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"
SHA_PATTERN = r"^[0-9a-f]{40}$"

RepoName = Annotated[str, Field(pattern=REPO_PATTERN, description="owner/name of the repository")]
IssueNumber = Annotated[int, Field(gt=0, description="issue or pull request number")]
BranchName = Annotated[str, Field(pattern=BRANCH_PATTERN, max_length=200)]


def hidden_marker(marker: str) -> str:
    """The HTML comment that tags what the bot wrote, invisible in GitHub's rendering."""
    return f"<!-- ccb:{marker} -->"


def with_marker(body: str, marker: str) -> str:
    """``body`` ending with its hidden marker (added once)."""
    tag = hidden_marker(marker)
    return body if tag in body else f"{body.rstrip()}\n\n{tag}"


# -- issues and comments -----------------------------------------------------------------------

class UpsertComment(BaseModel):
    """The one bot comment on an issue or PR tagged with ``marker``: created once, then edited."""

    repo: RepoName
    number: IssueNumber
    marker: str = Field(pattern=MARKER_PATTERN, description="names the comment, e.g. 'progress'")
    body: str = Field(max_length=65_000)


class CommentRef(BaseModel):
    id: int
    url: str
    created: bool = False  # this call created it (a creation notifies; an edit does not)


class LabelChange(BaseModel):
    repo: RepoName
    number: IssueNumber
    labels: list[str] = Field(min_length=1)


class CloseIssue(BaseModel):
    repo: RepoName
    number: IssueNumber
    state_reason: Literal["completed", "not_planned"] | None = None


class IssueQuery(BaseModel):
    repo: RepoName
    number: IssueNumber


class PermissionQuery(BaseModel):
    repo: RepoName
    username: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")


Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]


# -- git data ----------------------------------------------------------------------------------

class CreateBranch(BaseModel):
    repo: RepoName
    branch: BranchName
    from_ref: str = Field(default="main", description="a branch name, tag name or commit sha")


class DeleteBranch(BaseModel):
    repo: RepoName
    branch: BranchName


class CommitFiles(BaseModel):
    """Write ``files`` (path -> text) and remove ``delete`` on ``branch`` in one commit."""

    repo: RepoName
    branch: BranchName
    message: str = Field(min_length=1)
    files: dict[str, str] = Field(default_factory=dict)
    delete: list[str] = Field(default_factory=list)


class CommitResult(BaseModel):
    sha: str
    tree_sha: str
    created: bool = Field(description="False when the branch already held this content")


class CommitStatus(BaseModel):
    repo: RepoName
    sha: str = Field(pattern=SHA_PATTERN)
    state: Literal["error", "failure", "pending", "success"]
    context: str = Field(default="ccb", min_length=1, max_length=255)
    description: str = Field(default="", max_length=140)
    target_url: str = ""


# -- pull requests -----------------------------------------------------------------------------

class OpenPullRequest(BaseModel):
    repo: RepoName
    head: BranchName = Field(description="the branch holding the changes")
    base: BranchName = "main"
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(default="", max_length=65_000)
    draft: bool = False


class PullRef(BaseModel):
    number: int
    url: str
    head_sha: str


class PullQuery(BaseModel):
    repo: RepoName
    number: IssueNumber


class PullBody(BaseModel):
    repo: RepoName
    number: IssueNumber
    body: str = Field(max_length=65_000)
    title: str = Field(default="", max_length=256)  # '' keeps the title


class RequestReviewers(BaseModel):
    repo: RepoName
    number: IssueNumber
    reviewers: list[str] = Field(min_length=1)


class CodeOwnersQuery(BaseModel):
    """Who CODEOWNERS on ``ref`` names for ``paths`` (the changed files of a pull request)."""

    repo: RepoName
    paths: list[str] = Field(default_factory=list, max_length=3_000)
    ref: str = Field(default="main", max_length=255)


class InlineComment(BaseModel):
    path: str = Field(min_length=1)
    line: int = Field(gt=0, description="line number in the new version of the file")
    body: str = Field(min_length=1)


class PostReview(BaseModel):
    """A review tagged with ``marker`` (posted once per marker)."""

    repo: RepoName
    number: IssueNumber
    body: str = Field(max_length=65_000)
    event: Literal["COMMENT", "APPROVE", "REQUEST_CHANGES"] = "COMMENT"
    comments: list[InlineComment] = Field(default_factory=list)
    marker: str = Field(pattern=MARKER_PATTERN)


class ReviewRef(BaseModel):
    id: int
    state: str


class MergePull(BaseModel):
    repo: RepoName
    number: IssueNumber
    expected_head_sha: str = Field(pattern=SHA_PATTERN)
    method: Literal["merge", "squash", "rebase"] = "squash"
    title: str = ""
    message: str = ""


class MergeResult(BaseModel):
    merged: bool
    sha: str


class PullFile(BaseModel):
    filename: str
    status: str
    additions: int
    deletions: int
    patch: str | None = None
