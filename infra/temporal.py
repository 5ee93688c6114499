"""What every Temporal client of the bot shares: the connection, converter and search attributes."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.settings import Settings
from models.search_attributes import INTEGRATION_SLUG, INTEGRATION_STATE, SEARCH_ATTRIBUTES

__all__ = ["INTEGRATION_SLUG", "INTEGRATION_STATE", "SEARCH_ATTRIBUTES", "connect",
           "ensure_search_attributes"]


async def connect(settings: Settings, *, attempts: int = 1, delay: float = 0.5) -> Client:
    """A client with the pydantic converter; retries the first connection ``attempts`` times."""
    last: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
            )
        except Exception as exc:  # noqa: BLE001 - the server may still be starting
            last = exc
            await asyncio.sleep(delay)
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
