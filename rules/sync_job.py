"""How a sync job runs, read from the request (pure): how often the bot's schedule calls its
``/sync``, the rate limit it honours, and the query parameter that carries its cursor.

"every 15 minutes", "hourly", "60 requests per minute", "resume from the last offset": the
request's words where it has them, else the defaults below (a schedule every 15 minutes,
one request a second).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from models.request import IntegrationRequest
from rules.untrusted_text import clean_untrusted

DEFAULT_INTERVAL_SECONDS = 900
MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 7 * 86_400
DEFAULT_REQUESTS, DEFAULT_PERIOD_SECONDS = 60, 60.0
MAX_REQUESTS_PER_PERIOD = 10_000
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
          "hour": 3600, "d": 86_400, "day": 86_400}
_UNIT = r"(seconds?|secs?|s|minutes?|mins?|m|hours?|h|days?|d)\b"
_EVERY = re.compile(r"\bevery\s+(\d{1,5})?\s*" + _UNIT, re.IGNORECASE)
_NAMED = {"hourly": 3600, "daily": 86_400, "nightly": 86_400}
_RATE = re.compile(r"(\d{1,5})\s*(?:requests?|calls?|req|queries)\s*(?:per|/|a|an|each)\s*"
                   + _UNIT, re.IGNORECASE)
_CURSORS = (("page_token", "page_token"), ("pagetoken", "pageToken"), ("offset", "offset"),
            ("since", "since"))


@dataclass(frozen=True)
class SyncPlan:
    interval_seconds: int
    requests: int
    period_seconds: float
    cursor_param: str


def _seconds(unit: str) -> int:
    word = unit.lower().rstrip("s") or "s"
    return _UNITS.get(word, _UNITS.get(word[:1], 1))


def _interval(text: str) -> int:
    match = _EVERY.search(text)
    if match:
        seconds = int(match[1] or 1) * _seconds(match[2])
    else:
        seconds = next((v for k, v in _NAMED.items() if re.search(rf"\b{k}\b", text, re.I)),
                       DEFAULT_INTERVAL_SECONDS)
    return max(MIN_INTERVAL_SECONDS, min(MAX_INTERVAL_SECONDS, seconds))


def sync_plan(request: IntegrationRequest) -> SyncPlan:
    """The plan of a sync job for ``request``."""
    text = clean_untrusted(f"{request.requirements}\n{request.example_usage}")
    rate = _RATE.search(text)
    requests, period = DEFAULT_REQUESTS, DEFAULT_PERIOD_SECONDS
    if rate:
        requests = max(1, min(MAX_REQUESTS_PER_PERIOD, int(rate[1])))
        period = float(_seconds(rate[2]))
    lower = text.lower().replace("-", "_")
    cursor = next((name for word, name in _CURSORS if word in lower.replace(" ", "_")),
                  "cursor")
    return SyncPlan(interval_seconds=_interval(text), requests=requests,
                    period_seconds=period, cursor_param=cursor)


def manifest_interval(manifest_text: str) -> int | None:
    """The schedule interval a manifest asks for (``sync.interval_seconds``), None when the
    integration is not a sync job or the manifest says nothing usable."""
    try:
        data = json.loads(manifest_text or "{}")
        value = data.get("sync", {}).get("interval_seconds") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(max(MIN_INTERVAL_SECONDS, min(MAX_INTERVAL_SECONDS, value)))
