"""Compensations registered as side effects happen, run in reverse when a later step fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow

Compensation = Callable[[], Awaitable[object]]


class Saga:
    """A stack of named compensations. Each must be idempotent: a replay may run it again."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Compensation]] = []

    def add(self, name: str, undo: Compensation) -> None:
        self._steps.append((name, undo))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._steps]

    async def compensate(self) -> list[str]:
        """Run every compensation, newest first; one failing does not stop the others.

        Returns what could not be undone, for the failure comment.
        """
        failed: list[str] = []
        while self._steps:
            name, undo = self._steps.pop()
            try:
                await undo()
                workflow.logger.info("compensated: %s", name)
            except Exception as exc:  # noqa: BLE001 - keep undoing the rest
                workflow.logger.warning("compensation %s failed: %s", name, exc)
                failed.append(f"{name}: {exc}")
        return failed
