"""OpenTelemetry traces: exported over OTLP/HTTP when ``CCB_OTLP_ENDPOINT`` is set, else off.

Off means no tracer provider, no exporter and no Temporal interceptor: the starter's
webhook span goes to OpenTelemetry's no-op tracer. On, the client's ``TracingInterceptor``
carries the span context in Temporal headers, so the webhook, the workflow start, the
workflow and each activity share one trace.
"""

from __future__ import annotations

from functools import lru_cache

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.settings import Settings

TRACER_NAME = "ccb"


def provider_tracer(exporter: SpanExporter, service: str,
                    processor: type[BatchSpanProcessor] = BatchSpanProcessor) -> trace.Tracer:
    """A tracer of a provider of its own (not the global one) that exports to ``exporter``."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(processor(exporter))
    return provider.get_tracer(TRACER_NAME)


@lru_cache(maxsize=4)
def otlp_provider(endpoint: str, service: str) -> TracerProvider:
    """The process's provider exporting to ``endpoint`` in batches (one per endpoint)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def configured_tracer(settings: Settings, service: str) -> trace.Tracer | None:
    """The process's OTLP tracer, or None when no endpoint is configured."""
    if not settings.otlp_endpoint:
        return None
    return otlp_provider(settings.otlp_endpoint, service).get_tracer(TRACER_NAME)


def tracing_interceptors(tracer: trace.Tracer | None) -> list[Interceptor]:
    """The client interceptors (workers built on the client inherit them) for ``tracer``."""
    return [TracingInterceptor(tracer)] if tracer is not None else []
