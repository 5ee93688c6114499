"""What workflows measure, through the SDK's replay-safe meter.

``workflow.metric_meter()`` records nothing while a task replays and issues no commands, so
these calls need no ``workflow.patched`` and leave histories as they were. Names and labels
are ``models/metrics.py``'s; every label value here is one of a bounded set.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models import metrics as m
    from workflows import names

KINDS = {names.CREATION_WORKFLOW: "creation", names.UPDATE_WORKFLOW: "update"}


def request_kind(workflow_type: str) -> str:
    """A request workflow's kind label (bounded: an unknown type is "other")."""
    return KINDS.get(workflow_type, "other")


def count_request(kind: str, outcome: str) -> None:
    """A request run ended (``outcome``: the state it reached, or failed)."""
    workflow.metric_meter().create_counter(
        m.REQUESTS, "request runs ended, by kind and outcome").add(
        1, {"kind": kind, "outcome": outcome})


def since_request(name: str, kind: str) -> None:
    """Record the time from the run's start (the request) to now in histogram ``name``."""
    seconds = (workflow.now() - workflow.info().start_time).total_seconds()
    workflow.metric_meter().create_histogram_float(name, "seconds since the request", "s").record(
        max(seconds, 0.0), {"kind": kind})


def human_wait(kind: str, decision: str, seconds: float) -> None:
    """How long a run waited for a person's decision on its pull request."""
    workflow.metric_meter().create_histogram_float(
        m.HUMAN_WAIT, "seconds waiting for a person's decision", "s").record(
        max(seconds, 0.0), {"kind": kind, "decision": decision})


def count_deployment(environment: str, kind: str, result: str) -> None:
    """A deployment ended: live, rolled back or refused."""
    workflow.metric_meter().create_counter(
        m.DEPLOYMENTS, "deployments ended, by environment, kind and result").add(
        1, {"environment": environment, "kind": kind, "result": result})


def count_rollback(environment: str, result: str) -> None:
    """The health monitor rolled a failing version back (or could not)."""
    workflow.metric_meter().create_counter(
        m.ROLLBACKS, "rollbacks started by the health monitor").add(
        1, {"environment": environment, "result": result})


def count_incident(environment: str, severity: str, event: str) -> None:
    """An incident opened, escalated to critical, or closed on recovery."""
    workflow.metric_meter().create_counter(
        m.INCIDENTS, "incidents the health monitor opened, escalated and closed").add(
        1, {"environment": environment, "severity": severity, "event": event})


def count_health_failure(environment: str) -> None:
    """One failed health probe of a live version."""
    workflow.metric_meter().create_counter(
        m.HEALTH_FAILURES, "failed health probes of live versions").add(
        1, {"environment": environment})
