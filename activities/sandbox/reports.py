"""Host side of the sandbox's report: finds the driver's framed line in the output, validates it
(it comes from untrusted code's surroundings, so sizes are bounded) and builds a SandboxReport."""

from __future__ import annotations

import base64
import binascii
import json

from pydantic import BaseModel, Field, ValidationError

from activities.sandbox.sandbox_driver import FRAME_MARKER
from models.sandbox import Limits, SandboxReport, TestFailure

MAX_FRAME_CHARS = 4_000_000
TAIL_CHARS = 8_000


class JUnitSummary(BaseModel):
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    failed_tests: list[TestFailure] = Field(default_factory=list, max_length=100)
    parse_error: str | None = None


class CgroupStats(BaseModel):
    pids_refused: int | None = None
    oom_kills: int | None = None


class DriverResult(BaseModel):
    """What sandbox_driver.py prints in its frame."""

    exit_code: int
    packages: list[str] = Field(default_factory=list)
    junit: JUnitSummary | None = None
    coverage_percent: float | None = None
    output_tail: str = Field(default="", max_length=100_000)
    cgroup: CgroupStats | None = None


def tail(text: str | bytes, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text``."""
    if isinstance(text, bytes):
        text = text[-limit * 4 :].decode("utf-8", "replace")
    return text[-limit:]


def split_output(output: str) -> tuple[str, DriverResult | None]:
    """The output without the driver's frame, and the frame's content (None when missing)."""
    index = output.rfind("\n" + FRAME_MARKER)
    if index < 0:
        return output, None
    line = output[index + 1 + len(FRAME_MARKER) :].split("\n", 1)[0].strip()
    if len(line) > MAX_FRAME_CHARS:
        return output[:index], None
    try:
        return output[:index], DriverResult.model_validate(json.loads(base64.b64decode(line)))
    except (binascii.Error, ValueError, ValidationError):
        return output[:index], None


MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory")
FORK_SIGNS = ("BlockingIOError", "Resource temporarily unavailable", "can't start new thread")


def limits_hit_in(result: DriverResult | None, output: str) -> list[str]:
    """Which limits the run ran into, from the cgroup counters and the failure messages."""
    hit: list[str] = []
    stats = result.cgroup if result and result.cgroup else CgroupStats()
    failures = result.junit.failed_tests if result and result.junit else []
    texts = [f.message + f.details for f in failures]
    if result is None or (result.exit_code != 0 and not failures):
        texts.append(output[-TAIL_CHARS:])  # no per-test messages: read what was printed
    if (stats.oom_kills or 0) > 0 or any(s in t for t in texts for s in MEMORY_SIGNS):
        hit.append("memory")
    if (stats.pids_refused or 0) > 0 or any(s in t for t in texts for s in FORK_SIGNS):
        hit.append("pids")
    return hit


def describe_limits(hit: list[str], limits: Limits) -> str | None:
    """One sentence naming the limits that were hit."""
    words = {
        "timeout": f"killed after the wall-clock limit of {limits.timeout_seconds:g} s",
        "memory": f"memory limit of {limits.memory_mb} MB reached (allocation refused or "
        "process killed)",
        "pids": f"process limit of {limits.pids} reached (fork refused)",
    }
    parts = [words[h] for h in hit if h in words]
    return "; ".join(parts) or None


def build_report(*, isolation: str, limits: Limits, output: str, stderr: str,
                 duration: float, timed_out: bool, extra_hits: list[str] | None = None,
                 image: str | None = None) -> SandboxReport:
    """A SandboxReport from the run's output (with the driver's frame) and what the host saw."""
    rest, result = split_output(output)
    hit = (["timeout"] if timed_out else []) + list(extra_hits or [])
    hit += [h for h in limits_hit_in(result, rest) if h not in hit]
    junit = result.junit if result and result.junit else None
    reason = describe_limits(hit, limits)
    if result is None and reason is None:
        reason = "the sandbox ended without a report (the test process died or was killed)"
    if reason is None and junit is not None and (junit.failures or junit.errors):
        first = junit.failed_tests[0] if junit.failed_tests else None
        reason = (f"{junit.failures} test(s) failed, {junit.errors} errored" + (
            f"; first: {first.name}: {first.message.splitlines()[0][:200] if first.message else ''}"
            if first else ""))
    elif reason is None and result is not None and result.exit_code == 5:
        reason = "pytest collected no tests"
    elif reason is None and result is not None and result.exit_code != 0:
        reason = f"pytest ended with exit status {result.exit_code}"
    if junit is not None and junit.parse_error:
        reason = f"JUnit XML unreadable: {junit.parse_error}"
    exit_code = result.exit_code if result else None
    tests = junit.tests if junit else 0
    bad = (junit.failures + junit.errors) if junit else 0
    skipped = junit.skipped if junit else 0
    return SandboxReport(
        isolation=isolation,
        ok=exit_code == 0 and junit is not None and tests > 0 and bad == 0 and not timed_out,
        exit_code=exit_code,
        reason=reason,
        limits_hit=hit,
        tests=tests,
        passed=max(tests - bad - skipped, 0),
        failures=junit.failures if junit else 0,
        errors=junit.errors if junit else 0,
        skipped=skipped,
        failed_tests=junit.failed_tests if junit else [],
        coverage_percent=result.coverage_percent if result else None,
        stdout_tail=tail(result.output_tail if result else rest),
        stderr_tail=tail(stderr),
        duration_seconds=round(duration, 3),
        image=image,
        limits=limits,
    )
