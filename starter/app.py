"""The starter's HTTP server: health endpoints, the GitHub webhook, the status page at ``/``,
``/metrics`` and the REST API (``starter.api``, under ``/api/v1``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from opentelemetry.trace import Tracer
from temporalio.client import Client

from infra.metrics_runtime import prometheus_runtime
from infra.settings import Settings, get_settings
from infra.temporal import connect
from infra.tracing import configured_tracer
from registry.store import open_registry
from starter.api import mount_api
from starter.dispatch import registered_workflows
from starter.metrics import StarterMetrics
from starter.status_page import status_router
from starter.webhooks import webhook_router

READY_CHECK_TIMEOUT = 2.0


class StarterState:
    """What the app holds for its lifetime: settings and a lazily connected Temporal client
    (its SDK metrics on their own port when configured, traced when a tracer is given)."""

    def __init__(self, settings: Settings, tracer: Tracer | None = None) -> None:
        self.settings = settings
        self.tracer = tracer
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                runtime = prometheus_runtime(self.settings.metrics_host,
                                             self.settings.starter_sdk_metrics_port)
                self._client = await connect(self.settings, runtime=runtime,
                                             tracer=self.tracer)
            return self._client


def create_app(settings: Settings | None = None, *, tracer: Tracer | None = None) -> FastAPI:
    """The app; ``tracer`` (default: the OTLP one when ``CCB_OTLP_ENDPOINT`` is set) traces
    each webhook through the workflows it starts."""
    settings = settings or get_settings()
    tracer = tracer or configured_tracer(settings, "ccb-starter")
    metrics = StarterMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        open_registry(settings.registry_url)  # schema created on start
        registered_workflows()  # the workflow registry's slow import, before any delivery
        yield

    app = FastAPI(title="ccb starter", lifespan=lifespan)
    app.state.starter = StarterState(settings, tracer)  # connects on first use, lifespan or not

    @app.get("/health")
    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            client = await asyncio.wait_for(app.state.starter.client(), READY_CHECK_TIMEOUT)
            await asyncio.wait_for(client.service_client.check_health(), READY_CHECK_TIMEOUT)
            checks["temporal"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["temporal"] = f"unavailable: {type(exc).__name__}"
        try:
            await asyncio.to_thread(open_registry(settings.registry_url).ping)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    app.include_router(webhook_router(settings, metrics, tracer))
    app.include_router(metrics.router())
    app.state.metrics = metrics
    app.include_router(status_router(settings))
    mount_api(app, settings)
    return app


def main() -> None:
    """``python -m starter.app``: serve on the configured host and port."""
    import os
    import sys

    import uvicorn

    from infra.logging_setup import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, process="starter")
    uvicorn.run(create_app(settings), host=settings.starter_host, port=settings.starter_port,
                log_config=None, access_log=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
