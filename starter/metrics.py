"""The starter's own metrics (``/metrics``, Prometheus text) and the webhook's span.

The starter's Temporal client's SDK metrics are not here: they leave through the SDK
runtime's own endpoint (``CCB_STARTER_SDK_METRICS_PORT``), which the Rust core serves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from infra.settings import Settings
from models import metrics as m
from models.webhooks import EVENT_MODELS

KNOWN_EVENTS = frozenset(EVENT_MODELS) | {"ping"}


class StarterMetrics:
    """A registry of the app's own (not the process-global one: several apps in one test
    process keep their counts apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(m.STARTER_WEBHOOKS.removesuffix("_total"),
                                "webhook deliveries by event and outcome",
                                ["event", "outcome"], registry=self.registry)

    def webhook(self, event: str, outcome: str) -> None:
        """Count one delivery; an event the bot does not know is "other" (labels stay bounded)."""
        self.webhooks.labels(event=event if event in KNOWN_EVENTS else "other",
                             outcome=outcome).inc()

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/metrics", include_in_schema=False)
        async def scrape() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return router


@asynccontextmanager
async def webhook_span(tracer: trace.Tracer, event: str) -> AsyncIterator[trace.Span]:
    """The span a delivery's handling runs in: the workflow it starts is its child."""
    with tracer.start_as_current_span(
            "webhook", kind=trace.SpanKind.SERVER,
            attributes={"github.event": event if event in KNOWN_EVENTS else "other"}) as span:
        yield span


def scrape_line(settings: Settings) -> str:
    """Where Prometheus scrapes the stack (what ``ccb up`` prints)."""
    host = settings.metrics_host
    worker = (f"the worker's at http://{host}:{settings.worker_metrics_port}/metrics"
              if settings.worker_metrics_port else "the worker's off (CCB_WORKER_METRICS_PORT=0)")
    sdk = (f", its Temporal client's at http://{host}:{settings.starter_sdk_metrics_port}/metrics"
           if settings.starter_sdk_metrics_port else "")
    traces = (f"; traces go to {settings.otlp_endpoint}" if settings.otlp_endpoint
              else "; traces off (set CCB_OTLP_ENDPOINT)")
    return (f"metrics: {worker}, the starter's at http://{settings.starter_host}:"
            f"{settings.starter_port}/metrics{sdk} (docs/grafana-dashboard.json){traces}")
