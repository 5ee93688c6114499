"""Named pause points for crash tests: ``CCB_FAULT_PAUSE="point=seconds"`` holds an activity there.

A test sets the pause, waits for the marker file the point writes, and SIGKILLs the worker
while the activity is provably inside that step. Unset (the default), a point costs a dict
look-up.
"""

from __future__ import annotations

import os
import time

from temporalio import activity

from infra.settings import get_settings


def pause_point(name: str) -> None:
    """Pause here for the configured seconds (heartbeating), announcing it in a marker file."""
    settings = get_settings()
    seconds = settings.fault_pauses().get(name)
    if not seconds:
        return
    marker_dir = settings.data_dir / "faults"
    marker_dir.mkdir(parents=True, exist_ok=True)
    with open(marker_dir / f"{name}.reached", "a") as marker:
        marker.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if activity.in_activity():
            activity.heartbeat(f"paused at {name}")
        time.sleep(0.1)
