"""The security scan's verdict from a check round's findings (bandit is the scanner)."""

from __future__ import annotations

from collections.abc import Iterable

from models.codegen import Finding

SCANNER = "bandit"


def security_scan(findings: Iterable[Finding]) -> str:
    """``passed`` when the scanner reported no error, else ``failed`` (warnings pass)."""
    return "failed" if any(f.tool == SCANNER and f.severity == "error"
                           for f in findings) else "passed"
