"""Inputs and results of the code checks and the sandboxed test run, as workflows see them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.codegen import Finding

COVERAGE_GATE = 80.0


class CheckRequest(BaseModel):
    slug: str
    files: dict[str, str]


class TestRequest(BaseModel):
    slug: str
    files: dict[str, str]
    coverage_gate: float = COVERAGE_GATE


class TestReport(BaseModel):
    passed: bool
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    coverage_percent: float | None = None
    coverage_gate: float = COVERAGE_GATE
    isolation: str = ""
    reason: str = ""
    output_tail: str = ""
    findings: list[Finding] = Field(default_factory=list)

    @property
    def meets_coverage(self) -> bool:
        return self.coverage_percent is not None and self.coverage_percent >= self.coverage_gate

    @property
    def summary(self) -> str:
        coverage = ("n/a" if self.coverage_percent is None
                    else f"{self.coverage_percent:.1f}% (gate {self.coverage_gate:.0f}%)")
        verdict = "passed" if self.passed else f"failed{': ' + self.reason if self.reason else ''}"
        return (f"{self.tests} tests {verdict}, {self.failures} failures, {self.errors} errors; "
                f"coverage {coverage}; isolation: {self.isolation}")
