"""Reading Temporal's visibility store in tests.

Visibility is eventually consistent: a workflow the server has started may be missing from
``list_workflows`` for a moment. These helpers poll, in bounded loops, for what a test expects,
and read the empty case more than once so a lagging store cannot pass it by accident.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowExecution

POLL_SECONDS = 0.1
MAX_WAIT_SECONDS = 20.0
EMPTY_READS = 2


async def _read(client: Client, query: str) -> list[WorkflowExecution]:
    return [execution async for execution in client.list_workflows(query)]


async def listed(client: Client, query: str, expect: int | None = None) -> list[WorkflowExecution]:
    """The executions ``query`` matches.

    ``expect=n>0``: poll until at least ``n`` are listed (or the bound is reached), then read
    once more so an extra one still shows. ``expect=0``: two reads 0.3 s apart; the larger
    is returned. ``None``: poll until two reads in a row agree.
    """
    if expect == 0:
        largest: list[WorkflowExecution] = []
        for _ in range(EMPTY_READS):
            found = await _read(client, query)
            if len(found) > len(largest):
                largest = found
            await asyncio.sleep(0.3)
        return largest
    previous: list[WorkflowExecution] | None = None
    for _ in range(int(MAX_WAIT_SECONDS / POLL_SECONDS)):
        found = await _read(client, query)
        if expect is not None and len(found) >= expect:
            await asyncio.sleep(POLL_SECONDS)
            again = await _read(client, query)
            return again if len(again) > len(found) else found
        if expect is None and previous is not None and \
                [e.run_id for e in found] == [e.run_id for e in previous]:
            return found
        previous = found
        await asyncio.sleep(POLL_SECONDS if expect is not None else 0.3)
    return found
