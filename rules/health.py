"""How bad a health check is, and what an incident issue says: pure rules the monitor
workflow decides with (replayable) and its activities render with.

Critical means people must act: the live instance is gone, not running or not answering its
health checks, or the proxy saw more than the policy's share of 5xx answers over its window.
Warning means it works but not well: ready says it is degraded, or answers slowly.
"""

from __future__ import annotations

from models.deploy import ProbeResult
from models.health import (
    TIMELINE_LIMIT,
    Finding,
    HealthPolicy,
    Severity,
    TimelineEntry,
    TrafficSample,
)


def window(samples: list[TrafficSample], probe: ProbeResult,
           policy: HealthPolicy) -> list[TrafficSample]:
    """The last ``error_window_checks`` samples with this probe's. Counters that went down (a
    restarted proxy) start the window again; unknown counters add nothing."""
    if probe.requests_total < 0 or probe.errors_5xx < 0:
        return samples[-policy.error_window_checks:]
    sample = TrafficSample(requests=probe.requests_total, errors=probe.errors_5xx)
    if samples and (sample.requests < samples[-1].requests or sample.errors < samples[-1].errors):
        samples = []
    return [*samples, sample][-policy.error_window_checks:]


def error_rate(samples: list[TrafficSample], policy: HealthPolicy) -> tuple[int, int] | None:
    """(5xx answers, requests) over the window, or None when it saw too few requests."""
    if len(samples) < 2:
        return None
    requests = samples[-1].requests - samples[0].requests
    errors = min(samples[-1].errors - samples[0].errors, requests)
    if requests < policy.min_requests:
        return None
    return errors, requests


def classify(probe: ProbeResult, samples: list[TrafficSample], policy: HealthPolicy) -> Finding:
    """What this check found (``samples`` is the window with this probe's counters)."""
    if probe.has_live and not probe.ok:
        return Finding(severity=Severity.CRITICAL, reason=f"no healthy instance: {probe.reason}")
    rate = error_rate(samples, policy)
    if rate is not None and rate[0] / rate[1] >= policy.error_rate:
        return Finding(severity=Severity.CRITICAL,
                       reason=f"{rate[0]} of {rate[1]} requests answered 5xx over the last "
                              f"{len(samples) - 1} checks")
    if probe.degraded:
        return Finding(severity=Severity.WARNING, reason=f"degraded: {probe.degraded}")
    if probe.latency_ms > policy.slow_ms:
        return Finding(severity=Severity.WARNING,
                       reason=f"slow: /health/ready took {probe.latency_ms:.0f} ms "
                              f"(more than {policy.slow_ms:.0f} ms)")
    return Finding()


def worse(a: Severity | None, b: Severity | None) -> Severity | None:
    order = [None, Severity.WARNING, Severity.CRITICAL]
    return a if order.index(a) >= order.index(b) else b


def add_to_timeline(timeline: list[TimelineEntry], finding: Finding,
                    at: str) -> tuple[list[TimelineEntry], bool]:
    """The timeline with this finding: counted on the last entry when it says the same, else a
    new entry (the oldest dropped past the limit). True when an entry was added."""
    assert finding.severity is not None
    reason = finding.reason[:500]
    last = timeline[-1] if timeline else None
    if last is not None and last.severity == finding.severity and last.reason == reason:
        counted = last.model_copy(update={"checks": last.checks + 1})
        return [*timeline[:-1], counted], False
    entry = TimelineEntry(at=at, severity=finding.severity, reason=reason)
    return [*timeline, entry][-TIMELINE_LIMIT:], True


def incident_title(slug: str, environment: str) -> str:
    return f"Incident: {slug} in {environment}"


def incident_body(slug: str, environment: str, version: str, severity: Severity,
                  timeline: list[TimelineEntry], monitor_id: str, on_call: list[str],
                  recovered_at: str = "", mention: bool = False) -> str:
    """The incident issue's text: what is wrong, who is on call, the timeline so far. On-call
    is @mentioned only when ``mention`` (an incident opened critical, in every edit of its
    text: a mention already there notifies nobody again); else named without a mention, and
    an escalation pages them by one comment."""
    state = f"recovered at {recovered_at}" if recovered_at else f"open, {severity.value}"
    lines = [f"**{slug}** {version} in **{environment}**: {state}.", ""]
    if on_call:
        names = (f"@{login}" if mention else f"`{login}`" for login in on_call)
        lines += ["On call: " + ", ".join(names), ""]
    lines += ["| since | severity | what the monitor found | checks |", "|---|---|---|---|"]
    for entry in timeline:
        reason = entry.reason.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {entry.at} | {entry.severity.value} | {reason} | {entry.checks} |")
    if recovered_at:
        lines += ["", f"Healthy again at {recovered_at}: the bot closed this incident."]
    lines += ["", f"Monitor: `{monitor_id}` (the integration's health monitor in Temporal)."]
    return "\n".join(lines)
