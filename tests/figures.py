"""Figures tests measure (counts, sizes, coverage), printed in the run's closing summary.

pytest hides a passing test's output; a figure recorded here is shown under "figures" at
the end of every run (CI included), so a note can quote what the run printed.
"""

from __future__ import annotations

FIGURES: list[str] = []


def figure(line: str) -> None:
    """Record one line for the closing summary."""
    FIGURES.append(line)
