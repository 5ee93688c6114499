"""Waits and durations in words, as the bot's comments write them (pure)."""

from __future__ import annotations

from datetime import timedelta


def span(delta: timedelta) -> str:
    """``7 days``, ``5 hours``, ``90 minutes``: a wait in words."""
    minutes = round(delta.total_seconds() / 60)  # a wait measured as it runs: 23:59:59.9
    if not minutes:
        return f"{int(delta.total_seconds())} seconds"
    if minutes % (24 * 60) == 0:
        count, unit = minutes // (24 * 60), "day"
    elif minutes % 60 == 0:
        count, unit = minutes // 60, "hour"
    else:
        count, unit = minutes, "minute"
    return f"{count} {unit}{'' if count == 1 else 's'}"
