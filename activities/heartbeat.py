"""Heartbeats for activities that block in one long call (a model answer, a test run, GitHub)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity

HEARTBEAT_EVERY = 5.0


@contextmanager
def heartbeating(what: str, every: float = HEARTBEAT_EVERY) -> Iterator[None]:
    """Heartbeat from a background thread while the body runs, so a worker that dies is
    noticed within the activity's heartbeat timeout. Outside an activity it does nothing."""
    if not activity.in_activity():
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            activity.heartbeat(what)

    # The activity context lives in context variables: carry them into the thread.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(beat,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1)
