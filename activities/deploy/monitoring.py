"""The health monitor's activities: probe the live version, alert once, plan a rollback."""

from __future__ import annotations

import json
import time

from temporalio import activity

from activities.deploy import instances
from activities.deploy.naming import instance_name
from activities.deploy.probes import check_health, probe
from activities.deploy.steps import _registry
from activities.deploy.traffic_steps import restore_from, traffic_counters
from infra.settings import get_settings
from models.deploy import AlertCommand, Instance, ProbeResult, RollbackPlan, Runtime, Target
from models.deployment import DeploymentStatus
from models.events import EventType
from models.github import UpsertComment
from registry.deployments import deployments, desired_routes, live_deployment, previous_good

IN_PROGRESS = {DeploymentStatus.PENDING, DeploymentStatus.BUILDING, DeploymentStatus.STARTING,
               DeploymentStatus.SHIFTING, DeploymentStatus.WATCHING}


@activity.defn
def probe_live_version(target: Target) -> ProbeResult:
    """Check the live deployment: its instance exists and runs, ``/health/live`` and
    ``/health/ready`` answer. Also puts the proxy's routes back from the registry when the
    proxy lost them (restarted) and no deployment is under way. Read-mostly, repeatable."""
    registry = _registry()
    live = live_deployment(registry, target.slug, target.environment)
    versions = {v.version: v for v in registry.versions(target.slug)}
    if live is None:
        return ProbeResult(ok=True, has_live=False, reason="nothing deployed")
    manifest = versions[live.version].manifest if live.version in versions else {}
    interval = float((manifest.get("health_check") or {}).get("interval_seconds") or 30.0)
    busy = any(d.status in IN_PROGRESS for d in
               deployments(registry, target.slug, target.environment))
    restored = False
    if not busy:
        wanted = [r for r in desired_routes(registry, target.environment)
                  if r.slug == target.slug]
        restored = restore_from(target.environment, wanted)
    port = int(live.endpoint.rpartition(":")[2] or 0)
    runtime = instances.resolve(Runtime.AUTO, live.image)
    name = instance_name(target.environment, target.slug, live.color)
    ref = instances.find_color(runtime, target.environment, target.slug, live.color)
    result = ProbeResult(ok=True, version=live.version, endpoint=live.endpoint,
                         interval_s=interval, routes_restored=restored)
    if not ref:
        return result.model_copy(update={"ok": False,
                                         "reason": f"the instance {name} is gone"})
    running, _health = instances.status(Instance(
        runtime=runtime, color=live.color, version=live.version, image=live.image, ref=ref,
        name=name, port=port))
    if not running:
        return result.model_copy(update={"ok": False, "reason": f"{name} is not running"})
    problem = check_health(port, "/health/live")
    if problem:
        return result.model_copy(update={"ok": False, "reason": problem})
    started = time.monotonic()
    status, _, body = probe(port, "/health/ready")
    latency_ms = (time.monotonic() - started) * 1000
    if not 200 <= status < 300:
        reason = (f"/health/ready did not answer ({body})" if status == 0 else
                  f"/health/ready answered {status}: {body[:200]}")
        return result.model_copy(update={"ok": False, "reason": reason})
    requests, errors = traffic_counters(target.environment, target.slug)
    return result.model_copy(update={"latency_ms": latency_ms, "requests_total": requests,
                                     "errors_5xx": errors, "degraded": degraded_of(body)})


def degraded_of(body: str) -> str:
    """What a ready answer says of itself when its JSON ``status`` is "degraded" ("" else)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict) or str(data.get("status", "")).lower() != "degraded":
        return ""
    detail = data.get("detail") or data.get("reason") or data.get("message") or ""
    return str(detail)[:200] or "/health/ready says it is degraded"


@activity.defn
def record_health_alert(command: AlertCommand) -> UpsertComment | None:
    """The alert's audit event (once per alert id); the issue comment to post, if the
    integration has an issue."""
    t = command.target
    registry = _registry()
    registry.add_event(command.alert_id, EventType.ERROR_OCCURRED, slug=t.slug, payload={
        "step": "health", "environment": t.environment, "version": command.version,
        "reason": command.reason, "consecutive_failures": command.failures},
        metadata={"workflow_id": t.workflow_id})
    integration = registry.get(t.slug)
    if not integration.issue_number:
        return None
    return UpsertComment(
        repo=integration.repo or get_settings().github_repo, number=integration.issue_number,
        marker=f"health-{t.environment}",
        body=(f"**Health alert ({t.environment})**: {t.slug} {command.version} failed "
              f"{command.failures} health checks in a row: {command.reason}\n\n"
              f"Monitor: `{t.workflow_id}`"))


@activity.defn
def plan_rollback(target: Target) -> RollbackPlan:
    """The last good version before the live one, whose image (or source dir) is kept."""
    previous = previous_good(_registry(), target.slug, target.environment)
    if previous is None:
        return RollbackPlan()
    return RollbackPlan(version=previous.version, image=previous.image,
                        runtime=instances.resolve(Runtime.AUTO, previous.image))


MONITOR_ACTIVITIES = [probe_live_version, record_health_alert, plan_rollback]
