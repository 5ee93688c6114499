"""Registry data functions of deployments: rows per deployment, the live one, gates, routes.

A deployment row is written once per key (the workflow id and run) and then updated as the
workflow moves; the row with status ``live`` of an integration and environment is what runs
and what the proxy must route (``desired_routes``).
"""

from __future__ import annotations

from sqlmodel import col, select

from models.deploy import GateReport
from models.deployment import Color, DeploymentInfo, DeploymentStatus, Environment
from models.events import EventType
from models.traffic import FULL_WEIGHT, DesiredRoute
from registry.store import Registry
from registry.tables import DeploymentRow, EventRow, Integration, utcnow

RETIRED_FROM = (DeploymentStatus.LIVE,)


def _info(row: DeploymentRow, slug: str) -> DeploymentInfo:
    assert row.id is not None
    return DeploymentInfo(
        id=row.id, integration_slug=slug, version=row.version,
        environment=Environment(row.environment), color=Color(row.color),
        status=DeploymentStatus(row.status), image=row.image, endpoint=row.endpoint,
        workflow_id=row.workflow_id, reason=row.reason, created_at=row.created_at,
        updated_at=row.updated_at)


def record_deployment(registry: Registry, *, key: str, slug: str, version: str,
                      environment: str, color: str, status: str, image: str = "",
                      endpoint: str = "", workflow_id: str = "",
                      reason: str = "") -> DeploymentInfo:
    """Create the row of ``key`` or update it; going live retires the previous live row.

    Idempotent: writing the same values again changes nothing but ``updated_at``.
    """
    integration = registry.get(slug)
    assert integration.id is not None
    with registry.session() as s:
        row = s.exec(select(DeploymentRow).where(DeploymentRow.key == key)).first()
        if row is None:
            row = DeploymentRow(key=key, integration_id=integration.id, version=version,
                                environment=environment, color=color, status=status)
        row.version, row.color, row.status = version, color, status
        row.image = image or row.image
        row.endpoint = endpoint or row.endpoint
        row.workflow_id = workflow_id or row.workflow_id
        row.reason = reason or row.reason
        row.updated_at = utcnow()
        s.add(row)
        if status == DeploymentStatus.LIVE:
            others = s.exec(select(DeploymentRow).where(
                DeploymentRow.integration_id == integration.id,
                DeploymentRow.environment == environment,
                DeploymentRow.key != key,
                col(DeploymentRow.status).in_([str(x) for x in RETIRED_FROM]))).all()
            for other in others:
                other.status, other.updated_at = DeploymentStatus.RETIRED, utcnow()
                s.add(other)
        s.commit()
        s.refresh(row)
    return _info(row, slug)


def retire_live(registry: Registry, slug: str, environment: str, reason: str) -> int:
    """Every live deployment of ``slug`` in ``environment`` retired (it was removed); how
    many. Idempotent."""
    integration = registry.get(slug)
    with registry.session() as s:
        rows = s.exec(select(DeploymentRow).where(
            DeploymentRow.integration_id == integration.id,
            DeploymentRow.environment == environment,
            DeploymentRow.status == DeploymentStatus.LIVE)).all()
        for row in rows:
            row.status, row.reason, row.updated_at = DeploymentStatus.RETIRED, reason, utcnow()
            s.add(row)
        s.commit()
    return len(rows)


def deployments(registry: Registry, slug: str | None = None,
                environment: str | None = None) -> list[DeploymentInfo]:
    """Deployments (of one integration and/or environment), oldest first."""
    with registry.session() as s:
        query = select(DeploymentRow, Integration).where(
            DeploymentRow.integration_id == Integration.id)
        if slug:
            query = query.where(Integration.slug == slug)
        if environment:
            query = query.where(DeploymentRow.environment == environment)
        rows = s.exec(query.order_by(col(DeploymentRow.id))).all()
    return [_info(row, integration.slug) for row, integration in rows]


def live_deployment(registry: Registry, slug: str, environment: str) -> DeploymentInfo | None:
    """The deployment that serves ``slug`` in ``environment`` now, if any."""
    live = [d for d in deployments(registry, slug, environment)
            if d.status == DeploymentStatus.LIVE]
    return live[-1] if live else None


def previous_good(registry: Registry, slug: str, environment: str) -> DeploymentInfo | None:
    """The newest deployment that served before the live one, of another version, with its
    kept image: what a rollback goes back to."""
    live = live_deployment(registry, slug, environment)
    for item in reversed(deployments(registry, slug, environment)):
        if item.status != DeploymentStatus.RETIRED or not item.image:
            continue
        if live is None or item.version != live.version:
            return item
    return None


def desired_routes(registry: Registry, environment: str) -> list[DesiredRoute]:
    """The routes the registry says the environment's proxy must have: each live colour
    of an integration that is not paused (or deprecated)."""
    resting = {i.slug for i in registry.list_integrations()
               if i.state in ("PAUSED", "DEPRECATED")}
    routes = []
    for item in deployments(registry, environment=environment):
        if (item.status == DeploymentStatus.LIVE and item.endpoint
                and item.integration_slug not in resting):
            host, _, port = item.endpoint.rpartition(":")
            routes.append(DesiredRoute(slug=item.integration_slug, color=item.color,
                                       addr=host or "127.0.0.1", port=int(port),
                                       weight=FULL_WEIGHT))
    return routes


def _latest_event(registry: Registry, integration: Integration,
                  kind: EventType) -> EventRow | None:
    with registry.session() as s:
        return s.exec(select(EventRow).where(
            EventRow.integration_id == integration.id, EventRow.type == kind,
        ).order_by(col(EventRow.timestamp).desc())).first()


def gate_report(registry: Registry, slug: str,
                bots: frozenset[str] = frozenset({"ccb-bot"})) -> GateReport:
    """The deployment gates as the audit log records them.

    * tests passed: the newest ``tests.completed`` event says ``passed``;
    * security scan passed: that event (or the newest ``review.completed``) says
      ``security_scan: "passed"``; without that key, a passed ``tests.completed`` counts,
      because the creation workflow only runs the tests once the checks (bandit included)
      found no error;
    * approval obtained: the newest ``review.completed`` event names ``approved_by``, a
      person: the bot (any login in ``bots``) never counts as an approver.
    """
    integration = registry.get(slug)
    tests = _latest_event(registry, integration, EventType.TESTS_COMPLETED)
    review = _latest_event(registry, integration, EventType.REVIEW_COMPLETED)
    tests_passed = bool(tests and tests.payload.get("passed") is True)
    scans = [e.payload["security_scan"] for e in (tests, review)
             if e is not None and "security_scan" in e.payload]
    security = (scans[0] == "passed") if scans else tests_passed
    approver = str(review.payload.get("approved_by") or "") if review else ""
    approved = bool(approver) and approver.lower() not in {b.lower() for b in bots}
    missing = [name for name, ok in (("tests passed", tests_passed),
                                     ("security scan passed", security),
                                     ("approval obtained", approved)) if not ok]
    return GateReport(tests_passed=tests_passed, security_scan_passed=security,
                      approval_obtained=approved, missing=missing)
