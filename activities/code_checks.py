"""Checks of generated code before anything runs it: syntax, lint, types, security, policy.

``check_code(files, slug)`` writes the files that pass the path and size rules into a fresh
temporary directory and reads them there: ``ast`` (syntax, forbidden imports and calls,
network use at import time), ``ruff``, ``mypy`` and ``bandit`` (the three in parallel, as
subprocesses with JSON output), plus the Dockerfile and manifest rules. It never imports or
runs the generated code. Every problem is a :class:`~models.codegen.Finding` with tool, path,
line, code and message; ``severity == "error"`` blocks.

``fix_loop`` is the bounded generate -> check -> generate-with-findings loop of the creation
workflow's step 5, for any generator (the offline one by default).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from activities.checks.layout import (
    CheckLimits,
    dockerfile_findings,
    layout_findings,
    manifest_findings,
)
from activities.checks.policy import policy_findings, syntax_finding
from activities.checks.tools import TOOLS
from models.codegen import Finding, GeneratedCode, GenerateInput
from models.manifest import TechnicalSpec
from models.request import IntegrationRequest

__all__ = ["CheckLimits", "CheckReport", "FixLoopResult", "check_code", "fix_loop",
           "run_checks"]


class CheckReport(BaseModel):
    """All findings of one check run, and how long each part took."""

    findings: list[Finding] = Field(default_factory=list)
    files_checked: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _write(work: Path, files: dict[str, str], paths: set[str]) -> list[Finding]:
    findings = []
    for path in sorted(paths):
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text(files[path], encoding="utf-8")
        except UnicodeEncodeError:
            findings.append(Finding(tool="policy", path=path, code="bad-encoding",
                                    message="the file is not valid UTF-8 text"))
    return findings


def run_checks(files: dict[str, str], slug: str, limits: CheckLimits | None = None,
               tools: tuple[str, ...] = ("ruff", "mypy", "bandit")) -> CheckReport:
    """Every check on ``files`` (repository-relative paths), with timings."""
    limits = limits or CheckLimits()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    findings, writable = layout_findings(files, slug, limits)
    findings += dockerfile_findings(files, slug, limits)
    findings += manifest_findings(files, slug)
    parsed: set[str] = set()
    for path in sorted(writable):
        if not path.endswith(".py"):
            parsed.add(path)
            continue
        broken = syntax_finding(path, files[path])
        if broken:
            findings.append(broken)  # not handed to the tools: they would repeat it
        else:
            findings += policy_findings(path, files[path])
            parsed.add(path)
    seconds["policy"] = round(time.perf_counter() - started, 3)
    if any(p.endswith(".py") for p in parsed) and tools:
        with tempfile.TemporaryDirectory(prefix="ccb-checks-") as tmp:
            work = Path(tmp)
            findings += _write(work, files, parsed)

            def timed(name: str) -> tuple[str, list[Finding], float]:
                began = time.perf_counter()
                found = TOOLS[name](work, slug, limits.tool_timeout_seconds)
                return name, found, time.perf_counter() - began

            with ThreadPoolExecutor(max_workers=len(tools)) as pool:
                for name, found, took in pool.map(timed, tools):
                    findings += found
                    seconds[name] = round(took, 3)
    seconds["total"] = round(time.perf_counter() - started, 3)
    ordered = sorted(findings, key=lambda f: (f.path, f.line or 0, f.tool, f.code, f.message))
    return CheckReport(findings=ordered, files_checked=len(parsed), seconds=seconds)


def check_code(files: dict[str, str], slug: str,
               limits: CheckLimits | None = None) -> list[Finding]:
    """Every finding about ``files``, errors and warnings (see :func:`run_checks`)."""
    return run_checks(files, slug, limits).findings


# -- the bounded fix loop ------------------------------------------------------------------------

Generator = Callable[[GenerateInput], GeneratedCode]
Checker = Callable[[dict[str, str], str], list[Finding]]


class FixLoopResult(BaseModel):
    """Where the loop stopped: the last files, their blocking findings, rounds used."""

    files: dict[str, str]
    findings: list[Finding]
    rounds: int
    converged: bool
    errors_per_round: list[int]
    stalled: bool = False  # a round gave the same files as the one before: no fix is coming


def fix_loop(request: IntegrationRequest, spec: TechnicalSpec, *, integration_key: str,
             max_rounds: int = 3, version: str = "0.1.0",
             previous_files: dict[str, str] | None = None,
             generator: Generator | None = None, checker: Checker | None = None,
             ) -> FixLoopResult:
    """generate -> check -> generate(findings) ... until no error is left or ``max_rounds``.

    Round 1 gets ``previous_files`` (e.g. the files of an earlier attempt) and no findings;
    each later round gets the last round's files and blocking findings. A round whose files
    equal the round before's ends the loop at once: the generator cannot fix what it wrote.
    """
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1")
    if generator is None:
        from activities.codegen.offline_generator import generate as generator
    check = checker or check_code
    files = dict(previous_files or {})
    errors: list[Finding] = []
    history: list[int] = []
    for attempt in range(1, max_rounds + 1):
        code = generator(GenerateInput(
            request=request, spec=spec, version=version, findings=errors,
            previous_files=files, integration_key=integration_key, attempt=attempt))
        if attempt > 1 and code.files == files:
            return FixLoopResult(files=files, findings=errors, rounds=attempt - 1,
                                 converged=False, errors_per_round=history, stalled=True)
        files = code.files
        errors = [f for f in check(files, request.slug) if f.severity == "error"]
        history.append(len(errors))
        if not errors:
            return FixLoopResult(files=files, findings=[], rounds=attempt, converged=True,
                                 errors_per_round=history)
    return FixLoopResult(files=files, findings=errors, rounds=max_rounds, converged=False,
                         errors_per_round=history)
