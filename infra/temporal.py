"""What every Temporal client of the bot shares: the connection, converter and search attributes."""

from __future__ import annotations

import asyncio

from opentelemetry.trace import Tracer
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.runtime import Runtime

from infra.payload_codec import check_payload_settings, data_converter
from infra.payload_crypto import PayloadKeyError
from infra.settings import Settings
from infra.temporal_tls import TemporalSettingError, temporal_security
from infra.tracing import tracing_interceptors
from models.search_attributes import INTEGRATION_SLUG, INTEGRATION_STATE, SEARCH_ATTRIBUTES

__all__ = ["INTEGRATION_SLUG", "INTEGRATION_STATE", "SEARCH_ATTRIBUTES", "connect",
           "ensure_search_attributes"]


async def connect(settings: Settings, *, attempts: int = 1, delay: float = 0.5,
                  runtime: Runtime | None = None, tracer: Tracer | None = None) -> Client:
    """A client with the bot's converter (pydantic, with the payload codec); retries the
    first connection ``attempts`` times. ``runtime`` carries the SDK's metrics (the default
    runtime has none); ``tracer`` adds the tracing interceptor, which workers built on the
    client inherit.

    Wrong TLS, API-key, payload-key or payload-store settings raise TemporalSettingError (a
    ConnectionError) at once: retrying cannot fix them.
    """
    security = temporal_security(settings)
    try:
        check_payload_settings(settings)
    except PayloadKeyError as exc:
        raise TemporalSettingError(str(exc)) from None
    last: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                tls=security.tls,
                api_key=security.api_key,
                data_converter=data_converter(),
                interceptors=tracing_interceptors(tracer),
                runtime=runtime,
            )
        except Exception as exc:  # noqa: BLE001 - the server may still be starting
            last = exc
            await asyncio.sleep(delay)
    if security.uses_tls:
        raise ConnectionError(
            f"cannot reach Temporal at {settings.temporal_address} over TLS: {last}. Check "
            "CCB_TEMPORAL_ADDRESS, the CCB_TEMPORAL_TLS_* settings (the server's CA, the "
            "client certificate and key) and CCB_TEMPORAL_API_KEY"
        ) from last
    raise ConnectionError(
        f"cannot reach Temporal at {settings.temporal_address}: {last}. Start the stack with "
        "`ccb up`, or set CCB_TEMPORAL_ADDRESS to a running server"
    ) from last


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register the bot's search attributes where missing; returns the names added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {n: t for n, t in SEARCH_ATTRIBUTES.items() if n not in known}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={
                    n: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{t.upper()}")
                    for n, t in missing.items()
                },
            )
        )
    return sorted(missing)
