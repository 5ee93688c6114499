"""The health monitor's incidents: what each check found decides whether an incident issue
opens (after ``failure_threshold`` bad checks in a row), grows its timeline, escalates to
critical (paging on-call once) or closes on the first healthy check. Decisions only; the
issue itself is the activities' (``activities/deploy/incidents.py``)."""

from __future__ import annotations

from temporalio import workflow

from workflows import metrics

with workflow.unsafe.imports_passed_through():
    from activities.deploy.incidents import close_incident, open_incident, update_incident
    from models.deploy import MonitorInput, ProbeResult
    from models.health import IncidentCommand, IncidentRef, Severity
    from rules.health import add_to_timeline, classify, window, worse
    from workflows.policies import ALERT_COMMENT_STEP

INCIDENTS_PATCH = "monitor-incidents"  # earlier monitors only alerted on the request's issue
REFRESH_EVERY = 10  # a repeated finding rewrites the timeline every this many checks


def _now() -> str:
    return workflow.now().strftime("%Y-%m-%dT%H:%M:%SZ")


async def judge(state: MonitorInput, probe: ProbeResult, monitor_id: str) -> None:
    """Record what this check found and open, update or close the incident accordingly.
    A GitHub failure is logged and tried again at the next check: the monitor never stops."""
    state.samples = window(state.samples, probe, state.policy)
    finding = classify(probe, state.samples, state.policy)
    if finding.severity is None:
        state.bad_checks = 0
        if state.incident is not None:
            await _close(state, probe, monitor_id)
        else:
            state.timeline = []
        return
    state.bad_checks += 1
    state.timeline, added = add_to_timeline(state.timeline, finding, _now())
    if state.incident is None:
        if state.bad_checks >= state.failure_threshold:
            await _open(state, probe, monitor_id, finding.severity)
        return
    severity = worse(state.incident_severity, finding.severity)
    escalated = severity == Severity.CRITICAL and state.incident_severity != Severity.CRITICAL
    if added or escalated or state.timeline[-1].checks % REFRESH_EVERY == 0:
        command = _command(state, probe, monitor_id, severity or finding.severity)
        command.escalated = escalated
        if await _call(update_incident, command) is not None:
            if escalated:
                metrics.count_incident(state.environment, Severity.CRITICAL.value, "escalated")
            state.incident_severity = severity


def _command(state: MonitorInput, probe: ProbeResult, monitor_id: str,
             severity: Severity) -> IncidentCommand:
    return IncidentCommand(slug=state.slug, environment=state.environment,
                           monitor_id=monitor_id, version=probe.version, severity=severity,
                           timeline=state.timeline,
                           number=state.incident.number if state.incident else 0,
                           paged=state.incident.paged if state.incident else False)


async def _open(state: MonitorInput, probe: ProbeResult, monitor_id: str,
                severity: Severity) -> None:
    ref = await _call(open_incident, _command(state, probe, monitor_id, severity))
    if ref is None:
        return
    state.incident, state.incident_severity = ref, severity
    state.incidents += 1
    metrics.count_incident(state.environment, severity.value, "opened")
    workflow.logger.info("incident #%s opened for %s in %s", ref.number, state.slug,
                         state.environment)


async def _close(state: MonitorInput, probe: ProbeResult, monitor_id: str) -> None:
    command = _command(state, probe, monitor_id, state.incident_severity or Severity.WARNING)
    command.recovered_at = _now()
    if await _call(close_incident, command) is None:
        return
    metrics.count_incident(state.environment, command.severity.value, "closed")
    state.incident, state.incident_severity, state.timeline = None, None, []


async def _call(activity: object, command: IncidentCommand) -> IncidentRef | None:
    try:
        return await workflow.execute_activity(activity, command,  # type: ignore[call-overload]
                                               result_type=IncidentRef, **ALERT_COMMENT_STEP)
    except Exception as exc:  # noqa: BLE001 - an issue not written must not stop the monitor
        workflow.logger.warning("incident of %s not written: %s", state_slug(command), exc)
        return None


def state_slug(command: IncidentCommand) -> str:
    return f"{command.slug} in {command.environment}"
