"""Telemetry as the settings say: tracing off means no tracer and no interceptor, on means
spans reach the OTLP endpoint; a metrics port of 0, or one already taken, leaves the
process running without an endpoint."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.metrics_runtime import prometheus_runtime
from infra.settings import Settings
from infra.tracing import configured_tracer, otlp_provider, tracing_interceptors


@contextmanager
def _otlp_receiver() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A local HTTP server that keeps every POST (path, content type, body)."""
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_tracing_is_off_without_an_endpoint() -> None:
    tracer = configured_tracer(Settings(otlp_endpoint=""), "ccb-worker")
    assert tracer is None
    assert tracing_interceptors(tracer) == []


def test_spans_reach_the_otlp_endpoint_when_one_is_set() -> None:
    with _otlp_receiver() as (endpoint, received):
        tracer = configured_tracer(Settings(otlp_endpoint=endpoint), "ccb-test-otlp")
        assert tracer is not None
        [interceptor] = tracing_interceptors(tracer)
        assert isinstance(interceptor, TracingInterceptor)
        with tracer.start_as_current_span("webhook"):
            pass
        assert otlp_provider(endpoint, "ccb-test-otlp").force_flush()
    [(path, content_type, body)] = received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"webhook" in body and b"ccb-test-otlp" in body


def test_a_metrics_port_of_zero_or_one_taken_means_no_endpoint() -> None:
    assert prometheus_runtime("127.0.0.1", 0) is None
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        assert prometheus_runtime("127.0.0.1", holder.getsockname()[1]) is None
