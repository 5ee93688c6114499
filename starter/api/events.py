"""The audit log: events by type, integration and time range, a bounded page at a time."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from models.events import EventType
from models.request import SLUG_PATTERN
from registry.queries import event_page
from starter.api.auth import READ
from starter.api.common import NOT_FOUND, READ_ERRORS, integration_or_404, registry_of
from starter.api.schemas import EventList

router = APIRouter(tags=["events"], dependencies=[READ], responses=READ_ERRORS)

MAX_LIMIT = 500


def encode_cursor(after: tuple[datetime, str]) -> str:
    raw = json.dumps([after[0].isoformat(), after[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The keyset a cursor names; a 422 saying so when it is not one this API gave out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, last_id = json.loads(raw)
        return datetime.fromisoformat(moment), str(last_id)
    except (ValueError, TypeError, binascii.Error):
        raise HTTPException(422, "the cursor is not one this API gave out: pass the "
                                 "next_cursor of the previous page, or leave it out") from None


@router.get("/events", response_model=EventList, responses=NOT_FOUND)
async def list_events(
    request: Request,
    type: Annotated[EventType | None, Query(description="only this event type")] = None,
    slug: Annotated[str | None, Query(pattern=SLUG_PATTERN,
                                      description="only this integration's events")] = None,
    since: Annotated[datetime | None, Query(description="from this time (inclusive, ISO 8601; "
                                                        "UTC when no offset)")] = None,
    until: Annotated[datetime | None, Query(description="before this time (exclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(max_length=400,
                                        description="next_cursor of the previous page")] = None,
) -> EventList:
    """Events oldest first (what `ccb events` shows), at most ``limit`` per page."""
    after = decode_cursor(cursor) if cursor else None
    registry = registry_of(request)

    def read() -> EventList:
        if slug:
            integration_or_404(registry, slug)
        page = event_page(registry, limit=limit, event_type=type, slug=slug, since=since,
                          until=until, after=after)
        return EventList(events=page.events,
                         next_cursor=encode_cursor(page.next_after) if page.next_after else None)

    return await asyncio.to_thread(read)
