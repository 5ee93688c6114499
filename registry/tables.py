"""The registry's tables (SQLModel): integrations, versions, transitions, deployments, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Integration(SQLModel, table=True):
    __tablename__ = "integrations"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=40)
    name: str
    integration_type: str
    state: str = Field(index=True)
    current_version: str = ""
    repo: str = ""
    issue_number: int | None = None
    workflow_id: str = ""
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IntegrationVersion(SQLModel, table=True):
    __tablename__ = "integration_versions"
    __table_args__ = (UniqueConstraint("integration_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integrations.id", index=True)
    version: str
    commit_sha: str = ""
    pr_number: int | None = None
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class StateTransition(SQLModel, table=True):
    __tablename__ = "state_transitions"

    id: int | None = Field(default=None, primary_key=True)
    # Idempotency key: the same move retried by an activity is recorded once.
    key: str = Field(unique=True, index=True)
    integration_id: int = Field(foreign_key="integrations.id", index=True)
    from_state: str | None = None
    to_state: str
    actor: str
    reason: str
    workflow_id: str
    created_at: datetime = Field(default_factory=utcnow)


class DeploymentRow(SQLModel, table=True):
    __tablename__ = "deployments"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    integration_id: int = Field(foreign_key="integrations.id", index=True)
    version: str
    environment: str
    color: str
    status: str
    image: str = ""
    endpoint: str = ""
    workflow_id: str = ""
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EventRow(SQLModel, table=True):
    __tablename__ = "events"

    # Deterministic ids (workflow id + step) make a retried write a no-op.
    id: str = Field(primary_key=True, max_length=200)
    type: str = Field(index=True)
    timestamp: datetime = Field(default_factory=utcnow)
    integration_id: int | None = Field(default=None, foreign_key="integrations.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON))


class PayloadBlob(SQLModel, table=True):
    """A large Temporal payload kept out of history (the claim-check codec): history holds
    its digest; the bytes, already encrypted when encryption is on, live here."""

    __tablename__ = "payload_blobs"

    digest: str = Field(primary_key=True, max_length=64)  # sha256 hex of ``data``
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int = 0
    created_at: datetime = Field(default_factory=utcnow)
