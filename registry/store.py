"""The registry: every integration, its versions, state transitions, deployments and events.

Writes are called from activities only; each write is idempotent through a caller-given key,
so an activity retried after a crash records its effect once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine, select

import registry.usage  # noqa: F401 - registers the llm_calls table for create_all
from models.events import AuditEvent, EventType
from models.states import IntegrationState
from registry.tables import (
    EventRow,
    Integration,
    IntegrationVersion,
    StateTransition,
    utcnow,
)
from rules.state_machine import validate_transition

SQLITE_BUSY_TIMEOUT_MS = 30_000


class RegistryError(Exception):
    """A registry operation that cannot succeed as asked (not a transient fault)."""


class UnknownIntegrationError(RegistryError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no integration named {slug!r} in the registry; `ccb list` shows them")
        self.slug = slug


class SlugTakenError(RegistryError):
    """A new request names a slug that another live integration already has."""


@dataclass(frozen=True)
class TransitionRecord:
    integration: str
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    workflow_id: str
    at: str


WAL_SWITCH_TRIES = 200


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode. SQLite answers "database is locked" at once, without
    its busy handler, when another connection is switching the same fresh file at that
    moment (processes opening a new registry together); the switch is tried again, bounded."""
    for attempt in range(WAL_SWITCH_TRIES):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                raise
            time.sleep(0.01 + 0.001 * attempt)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so processes can share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        sa_event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


SCHEMA_TRIES = 5


def create_schema(engine: Engine) -> None:
    """Create the tables that are missing. Two processes starting on a fresh database (the
    starter and the worker under ``ccb up``) race: both see a table missing and one's CREATE
    fails with "already exists"; the loser looks again and finds it there."""
    for attempt in range(SCHEMA_TRIES):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            lost = "already exists" in str(exc) or "pg_type_typname_nsp_index" in str(exc)
            if not lost or attempt == SCHEMA_TRIES - 1:
                raise


class Registry:
    """Data functions over one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        create_schema(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    # -- integrations ---------------------------------------------------------------------

    def get(self, slug: str) -> Integration:
        with self.session() as s:
            row = s.exec(select(Integration).where(Integration.slug == slug)).first()
        if row is None:
            raise UnknownIntegrationError(slug)
        return row

    def find(self, slug: str) -> Integration | None:
        with self.session() as s:
            return s.exec(select(Integration).where(Integration.slug == slug)).first()

    def list_integrations(self) -> list[Integration]:
        with self.session() as s:
            return list(s.exec(select(Integration).order_by(Integration.slug)))

    def record_request(
        self,
        *,
        slug: str,
        name: str,
        integration_type: str,
        request: dict[str, Any],
        repo: str,
        issue_number: int | None,
        actor: str,
        workflow_id: str,
        key: str,
    ) -> Integration:
        """Create the integration in REQUESTED with its transition and event, once.

        Idempotent by ``key``: a retry after a crash finds the transition and returns the row;
        the same workflow asking again gets its row back. A slug held by another workflow's
        integration raises :class:`SlugTakenError` saying what to do instead.
        """
        for _attempt in range(3):
            try:
                return self._record_request_once(
                    slug=slug, name=name, integration_type=integration_type, request=request,
                    repo=repo, issue_number=issue_number, actor=actor,
                    workflow_id=workflow_id, key=key,
                )
            except IntegrityError:
                continue  # a concurrent writer won the race; read again
        return self.get(slug)

    def _record_request_once(self, *, slug: str, name: str, integration_type: str,
                             request: dict[str, Any], repo: str, issue_number: int | None,
                             actor: str, workflow_id: str, key: str) -> Integration:
        with self.session() as s:
            done = s.exec(select(StateTransition).where(StateTransition.key == key)).first()
            row = s.exec(select(Integration).where(Integration.slug == slug)).first()
            if done is not None and row is not None:
                return row
            if row is not None:
                if row.workflow_id == workflow_id:
                    return row  # the same workflow asking again (a re-run or a retry)
                where = f" (issue #{row.issue_number})" if row.issue_number else ""
                if row.state == IntegrationState.FAILED:
                    advice = "comment /retry on that issue to start it again"
                else:
                    advice = ("request a change with the integration-update template instead, "
                              "or pick another service name")
                raise SlugTakenError(
                    f"an integration named {slug!r} already exists{where} in state "
                    f"{row.state}; {advice}"
                )
            row = Integration(slug=slug, name=name, integration_type=integration_type,
                              state=IntegrationState.REQUESTED, repo=repo,
                              issue_number=issue_number, workflow_id=workflow_id,
                              request=request)
            s.add(row)
            s.flush()
            assert row.id is not None
            s.add(StateTransition(key=key, integration_id=row.id, from_state=None,
                                  to_state=IntegrationState.REQUESTED, actor=actor,
                                  reason="integration requested", workflow_id=workflow_id))
            s.add(EventRow(id=key, type=EventType.INTEGRATION_REQUESTED, integration_id=row.id,
                           payload={"slug": slug, "name": name, "type": integration_type,
                                    "issue_number": issue_number, "repo": repo},
                           meta={"actor": actor, "workflow_id": workflow_id}))
            s.commit()
            return row

    def transition(self, slug: str, target: IntegrationState | str, *, actor: str, reason: str,
                   workflow_id: str, key: str) -> Integration:
        """Move ``slug`` to ``target`` if the state machine allows it; once per ``key``."""
        target = IntegrationState(target)
        for _attempt in range(3):
            try:
                with self.session() as s:
                    row = s.exec(select(Integration).where(Integration.slug == slug)).first()
                    if row is None:
                        raise UnknownIntegrationError(slug)
                    if s.exec(select(StateTransition).where(StateTransition.key == key)).first():
                        return row
                    validate_transition(row.state, target)
                    assert row.id is not None
                    s.add(StateTransition(key=key, integration_id=row.id, from_state=row.state,
                                          to_state=target, actor=actor, reason=reason,
                                          workflow_id=workflow_id))
                    row.state, row.updated_at = target, utcnow()
                    s.add(row)
                    s.commit()
                    return row
            except IntegrityError:
                continue
        return self.get(slug)

    def transitions(self, slug: str | None = None) -> list[TransitionRecord]:
        """Every recorded transition (of one integration, or all), oldest first."""
        with self.session() as s:
            query = select(StateTransition, Integration).where(
                StateTransition.integration_id == Integration.id
            )
            if slug:
                query = query.where(Integration.slug == slug)
            rows = s.exec(query.order_by(StateTransition.id)).all()
        return [
            TransitionRecord(integration=i.slug, from_state=t.from_state, to_state=t.to_state,
                             actor=t.actor, reason=t.reason, workflow_id=t.workflow_id,
                             at=t.created_at.isoformat())
            for t, i in rows
        ]

    # -- versions ---------------------------------------------------------------------------

    def add_version(self, slug: str, version: str, *, commit_sha: str = "",
                    pr_number: int | None = None,
                    manifest: dict[str, Any] | None = None) -> IntegrationVersion:
        """Record a version of ``slug`` once (unique per integration and version); a later
        record only fills in an empty manifest or commit, never changes what is there."""
        integration = self.get(slug)
        with self.session() as s:
            row = s.exec(select(IntegrationVersion).where(
                IntegrationVersion.integration_id == integration.id,
                IntegrationVersion.version == version)).first()
            if row is None:
                assert integration.id is not None
                row = IntegrationVersion(integration_id=integration.id, version=version,
                                         commit_sha=commit_sha, pr_number=pr_number,
                                         manifest=manifest or {})
                s.add(row)
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
                    return self.add_version(slug, version, commit_sha=commit_sha,
                                            pr_number=pr_number, manifest=manifest)
            elif (manifest and not row.manifest) or (commit_sha and not row.commit_sha):
                # A later record of the same version fills in what the first lacked (the
                # merge records the commit; the deployment, the manifest it deployed).
                row.manifest = row.manifest or dict(manifest or {})
                row.commit_sha = row.commit_sha or commit_sha
                s.add(row)
                s.commit()
                s.refresh(row)
            return row

    def versions(self, slug: str) -> list[IntegrationVersion]:
        integration = self.get(slug)
        with self.session() as s:
            return list(s.exec(select(IntegrationVersion).where(
                IntegrationVersion.integration_id == integration.id
            ).order_by(IntegrationVersion.id)))

    # -- events -----------------------------------------------------------------------------

    def add_event(self, event_id: str, event_type: EventType | str, *, slug: str | None = None,
                  payload: dict[str, Any] | None = None,
                  metadata: dict[str, Any] | None = None) -> None:
        """Append an audit event once: a second call with the same id changes nothing."""
        integration_id = self.get(slug).id if slug else None
        with self.session() as s:
            if s.get(EventRow, event_id) is not None:
                return
            s.add(EventRow(id=event_id, type=EventType(event_type),
                           integration_id=integration_id, payload=payload or {},
                           meta=metadata or {}))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()

    def events(self, slug: str | None = None) -> list[AuditEvent]:
        """The audit log (of one integration, or all), oldest first."""
        with self.session() as s:
            query = select(EventRow)
            if slug:
                query = query.where(EventRow.integration_id == self.get(slug).id)
            rows = s.exec(query.order_by(EventRow.timestamp, EventRow.id)).all()
        return [
            AuditEvent(id=r.id, type=EventType(r.type), timestamp=r.timestamp,
                       integration_id=r.integration_id, payload=r.payload, metadata=r.meta)
            for r in rows
        ]


@lru_cache(maxsize=8)
def open_registry(url: str) -> Registry:
    """One :class:`Registry` per URL per process (engines are pooled and thread-safe)."""
    return Registry(url)
