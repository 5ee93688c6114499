"""The workflow's view of the sandbox: an integration's files in, a TestReport out."""

from __future__ import annotations

import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.metrics import record_sandbox_run
from activities.sandbox import SandboxUnavailable, run_sandboxed_tests
from models.codegen import Finding
from models.error_types import ErrorType
from models.sandbox import SandboxReport, SandboxRequest
from models.verify import TestReport, TestRequest
from rules.naming import package_name
from rules.scrub import scrub


def to_sandbox_request(request: TestRequest) -> SandboxRequest:
    """Files keyed by repository path become paths relative to the integration's directory."""
    prefix = f"integrations/{request.slug}/"
    files = {path.removeprefix(prefix): text for path, text in request.files.items()
             if path.startswith(prefix)}
    package = package_name(request.slug)
    measured = package if f"{package}/__init__.py" in files else None  # else: detected inside
    return SandboxRequest(files=files, package=measured, label=request.slug)


def to_test_report(report: SandboxReport, request: TestRequest) -> TestReport:
    """Failures and limits become findings the generator can act on. Their text was written
    by untrusted code and reaches the issue: it is bounded and scrubbed (``rules.scrub``)."""
    prefix = f"integrations/{request.slug}/"
    findings = [Finding(tool="pytest", path=prefix + "tests", code=f.kind,
                        message=scrub(f"{f.name[:200]}: {f.message}\n{f.details}"))
                for f in report.failed_tests[:20]]
    if report.reason and not findings:
        findings.append(Finding(tool="sandbox", message=scrub(report.reason)))
    passed = report.ok and report.failures == 0 and report.errors == 0 and report.tests > 0
    coverage = report.coverage_percent
    if passed and (coverage is None or coverage < request.coverage_gate):
        findings.append(Finding(tool="coverage", path=prefix, message=(
            f"coverage {coverage if coverage is not None else 0:.1f}% is below the gate of "
            f"{request.coverage_gate:.0f}%: add tests for the uncovered code")))
    return TestReport(passed=passed, tests=report.tests, failures=report.failures,
                      errors=report.errors, skipped=report.skipped, coverage_percent=coverage,
                      coverage_gate=request.coverage_gate, isolation=report.isolation,
                      reason=scrub(report.reason or ""), findings=findings,
                      output_tail=scrub((report.stdout_tail or "")[-4000:], limit=4000))


def run_tests_for_workflow(request: TestRequest) -> TestReport:
    """Run the integration's tests in the sandbox, heartbeating build/log lines."""
    def on_log(line: str) -> None:
        if activity.in_activity():
            activity.heartbeat(line[:200])

    began = time.monotonic()
    try:
        report = run_sandboxed_tests(to_sandbox_request(request), on_log=on_log)
    except SandboxUnavailable as exc:  # the bot's set-up, not the request: no retry helps
        raise ApplicationError(f"internal error: {exc}",
                               type=ErrorType.INTERNAL_SANDBOX_UNAVAILABLE,
                               non_retryable=True) from None
    test_report = to_test_report(report, request)
    record_sandbox_run(report.isolation, "passed" if test_report.passed else
                       ("failed" if report.ok else "error"), time.monotonic() - began)
    return test_report
