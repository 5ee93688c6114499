"""The forge's database: users, repositories, issues, pull requests, reviews, statuses.

Git objects live in the bare repositories (``forge.gitrepo``); this SQLite file (sqlmodel)
holds everything GitHub keeps beside git. Lists (labels, reviewers) are JSON columns and are
always replaced, never mutated in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlalchemy.pool import StaticPool
from sqlmodel import Field, Session, SQLModel, create_engine, func, select


class ForgeTable(SQLModel, registry=registry()):
    """Base of the forge's tables: their own metadata, apart from the bot's registry tables."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class User(ForgeTable, table=True):
    """An account: a person or the bot."""

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(index=True, unique=True)
    name: str = ""
    email: str = ""
    type: str = "User"
    site_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Repo(ForgeTable, table=True):
    """A repository; its git data is in ``<data dir>/repos/<owner>/<name>.git``."""

    __table_args__ = (UniqueConstraint("owner", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(index=True)
    name: str = Field(index=True)
    description: str | None = None
    default_branch: str = "main"
    private: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    pushed_at: datetime = Field(default_factory=utcnow)

    @property
    def pk(self) -> int:
        """The id of a stored repository (never None once flushed)."""
        assert self.id is not None, "repository not stored yet"
        return self.id


class Collaborator(ForgeTable, table=True):
    """A user's permission on a repository: admin, maintain, write, triage or read."""

    __table_args__ = (UniqueConstraint("repo_id", "login"),)
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    login: str
    permission: str


class Label(ForgeTable, table=True):
    __table_args__ = (UniqueConstraint("repo_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


class Issue(ForgeTable, table=True):
    """An issue or the issue half of a pull request (they share the number sequence)."""

    __table_args__ = (UniqueConstraint("repo_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    number: int
    title: str
    body: str | None = None
    user_login: str
    state: str = "open"
    state_reason: str | None = None
    locked: bool = False
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    assignees: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    is_pull: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    closed_by: str | None = None


class IssueComment(ForgeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    issue_number: int = Field(index=True)
    user_login: str
    body: str
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Pull(ForgeTable, table=True):
    """The pull-request half: branches, merge state, requested reviewers."""

    __table_args__ = (UniqueConstraint("repo_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str  # the base tip when last seen (refreshed on read while open)
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    requested_reviewers: list[str] = Field(default_factory=list, sa_column=Column(JSON))


class Review(ForgeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    pull_number: int = Field(index=True)
    user_login: str
    body: str = ""
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING, DISMISSED
    commit_id: str
    submitted_at: datetime | None = Field(default_factory=utcnow)


class ReviewComment(ForgeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    pull_number: int = Field(index=True)
    review_id: int | None = None
    user_login: str
    path: str
    line: int | None = None
    side: str = "RIGHT"
    position: int | None = None
    body: str
    commit_id: str
    diff_hunk: str = ""
    in_reply_to_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CommitStatus(ForgeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    sha: str = Field(index=True)
    state: str
    context: str = "default"
    description: str | None = None
    target_url: str | None = None
    creator_login: str
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CheckRun(ForgeTable, table=True):
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(index=True)
    head_sha: str = Field(index=True)
    name: str
    status: str = "queued"
    conclusion: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    creator_login: str = ""


def open_engine(db_path: Path) -> Any:
    """The SQLite engine of one forge (one connection shared under the forge's lock)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False},
                           poolclass=StaticPool)
    ForgeTable.metadata.create_all(engine)
    return engine


def next_issue_number(session: Session, repo_id: int) -> int:
    current = session.exec(select(func.max(Issue.number)).where(Issue.repo_id == repo_id)).one()
    return int(current or 0) + 1
