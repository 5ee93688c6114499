"""Bounded reads of the registry for the REST API: a page of events, usage and cost.

``Registry.events`` returns the whole log; an API answers pages of it, filtered in SQL, so a
long-lived registry costs a client no more than the page it asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select

from models.events import AuditEvent, EventType
from registry.store import Registry
from registry.tables import EventRow, Integration, StateTransition
from registry.usage import LlmCall


@dataclass
class EventPage:
    events: list[AuditEvent]
    next_after: tuple[datetime, str] | None  # the last row's key when more rows follow


def _utc(moment: datetime) -> datetime:
    """Rows are stored in UTC; a filter without an offset is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def event_page(registry: Registry, *, limit: int, event_type: EventType | None = None,
               slug: str | None = None, since: datetime | None = None,
               until: datetime | None = None,
               after: tuple[datetime, str] | None = None) -> EventPage:
    """Events oldest first, at most ``limit``, after the keyset ``after`` (timestamp, id)."""
    query = select(EventRow)
    if slug:
        query = query.where(EventRow.integration_id == registry.get(slug).id)
    if event_type:
        query = query.where(EventRow.type == event_type.value)
    if since:
        query = query.where(EventRow.timestamp >= _utc(since))
    if until:
        query = query.where(EventRow.timestamp < _utc(until))
    if after:
        moment, last_id = _utc(after[0]), after[1]
        query = query.where(or_(col(EventRow.timestamp) > moment,
                                and_(col(EventRow.timestamp) == moment,
                                     col(EventRow.id) > last_id)))
    query = query.order_by(col(EventRow.timestamp), col(EventRow.id)).limit(limit + 1)
    with registry.session() as s:
        rows = list(s.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    events = [AuditEvent(id=r.id, type=EventType(r.type), timestamp=r.timestamp,
                         integration_id=r.integration_id, payload=r.payload, metadata=r.meta)
              for r in rows]
    return EventPage(events, (rows[-1].timestamp, rows[-1].id) if more and rows else None)


@dataclass
class UsageLine:
    step: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass
class UsageReport:
    workflow_ids: list[str]
    lines: list[UsageLine] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return round(sum(line.cost_usd for line in self.lines), 6)

    @property
    def input_tokens(self) -> int:
        return sum(line.input_tokens for line in self.lines)

    @property
    def output_tokens(self) -> int:
        return sum(line.output_tokens for line in self.lines)


def _workflow_ids(registry: Registry, integration: Integration) -> list[str]:
    """Every workflow that worked on the integration (creation, updates): usage is recorded
    against their ids."""
    with registry.session() as s:
        found = s.exec(select(StateTransition.workflow_id).where(
            StateTransition.integration_id == integration.id).distinct()).all()
    return sorted({integration.workflow_id, *found} - {""})


def usage(registry: Registry, slug: str | None = None) -> UsageReport:
    """Tokens and dollars by step and model: of one integration's workflows, or of all."""
    # The table is created by the first recorded call; a registry without one has no usage.
    SQLModel.metadata.create_all(registry.engine, tables=[LlmCall.__table__])  # type: ignore[attr-defined]
    ids = _workflow_ids(registry, registry.get(slug)) if slug else []
    step, model = col(LlmCall.step), col(LlmCall.model)
    query = sa_select(step, model, func.count(), func.sum(col(LlmCall.input_tokens)),
                      func.sum(col(LlmCall.output_tokens)), func.sum(col(LlmCall.cost_usd)))
    if slug:
        query = query.where(col(LlmCall.integration_key).in_(ids))
    query = query.group_by(step, model).order_by(step, model)
    with registry.engine.connect() as conn:
        rows = conn.execute(query).all()
    return UsageReport(ids, [UsageLine(str(st), str(md), int(n), int(i or 0), int(o or 0),
                                       round(float(c or 0.0), 6))
                             for st, md, n, i, o, c in rows])


def slug_of_issue(registry: Registry, repo: str, issue: int) -> str | None:
    """The integration a request issue created, when the registry knows it."""
    for row in registry.list_integrations():
        if row.repo == repo and row.issue_number == issue:
            return row.slug
    return None
