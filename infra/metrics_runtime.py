"""A Temporal SDK runtime whose metrics a Prometheus server scrapes.

The SDK's own metrics (workflow tasks, activities, polls) and everything workflows and
activities record through ``metric_meter()`` reach the endpoint of the runtime the client
was connected with. A process may hold several runtimes, each binding its own port.
"""

from __future__ import annotations

import structlog
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from models.metrics import HISTOGRAM_BUCKETS

log = structlog.get_logger("ccb.metrics")


def prometheus_runtime(host: str, port: int) -> Runtime | None:
    """A runtime serving Prometheus on ``host:port``; None when ``port`` is 0 or the port is
    taken (a second worker on one machine): metrics are worth a warning, not a crash."""
    if not port:
        return None
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
            bind_address=f"{host}:{port}", durations_as_seconds=True,
            histogram_bucket_overrides={k: list(v) for k, v in HISTOGRAM_BUCKETS.items()})))
    except Exception as exc:  # noqa: BLE001 - the bind failing must not stop the process
        log.warning("metrics endpoint not started", address=f"{host}:{port}", error=str(exc))
        return None
