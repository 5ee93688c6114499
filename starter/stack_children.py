"""The embedded stack's children: how each was spawned, and the rule for restarting it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# Supervision: how often children are looked at, the backoff before a restart (doubling from
# the first to the cap, back to the first once a child has stayed up STABLE_AFTER), and when
# to give up: more than MAX_CRASHES deaths of one child within CRASH_WINDOW means restarting
# will not help (a broken setting, a port taken), so the stack stops and says so.
RESTART_BACKOFF_FIRST = 0.5
RESTART_BACKOFF_CAP = 10.0
STABLE_AFTER = 30.0
CRASH_WINDOW = 60.0
MAX_CRASHES = 5


def popen_child(argv: list[str], env: dict[str, str] | None, log: Path) -> subprocess.Popen[bytes]:
    """A child in its own session (a Ctrl-C reaches only ``ccb up``), appending to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                start_new_session=True)


@dataclass
class Restarts:
    """One child's recent deaths: the backoff before its next start, or the decision to stop.

    Kept apart from processes and clocks (times are passed in) so the rule is tested alone."""

    deaths: list[float] = field(default_factory=list)  # monotonic times within CRASH_WINDOW
    streak: int = 0  # deaths since the child last stayed up STABLE_AFTER

    def after_death(self, now: float, up_for: float) -> float | None:
        """Record a death at ``now`` after ``up_for`` seconds up; the backoff, or None to stop."""
        self.deaths = [t for t in self.deaths if now - t < CRASH_WINDOW] + [now]
        self.streak = 1 if up_for >= STABLE_AFTER else self.streak + 1
        if len(self.deaths) > MAX_CRASHES:
            return None
        return min(RESTART_BACKOFF_CAP, RESTART_BACKOFF_FIRST * 2 ** (self.streak - 1))


@dataclass
class Child:
    """A child process and how it was spawned, so that a restart is the very same spawn."""

    name: str
    argv: list[str]
    env: dict[str, str] | None
    log: Path
    process: subprocess.Popen[bytes]  # the current one: replaced by each restart
    ready: str | None = None  # a URL answering 200 once the child serves
    restart: bool = True  # False: its death stops the stack (the Temporal server)
    started: float = field(default_factory=time.monotonic)  # of the current process
    restarts: Restarts = field(default_factory=Restarts)

    def exit_code(self) -> int | None:
        """None while the current process runs."""
        return self.process.poll()

    def ended(self) -> str:
        """How the last process ended, for people: ``exited with -9 (SIGKILL)``."""
        code = self.process.returncode
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"exited with {code} ({signal.Signals(-code).name})"
        return f"exited with {code}"
