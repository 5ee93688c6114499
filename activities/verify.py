"""Code checks and the sandboxed test run as activities (heartbeating: they can take minutes)."""

from __future__ import annotations

from temporalio import activity

from activities.code_checks import check_code
from activities.faults import pause_point
from activities.heartbeat import heartbeating
from activities.sandbox.adapter import run_tests_for_workflow
from models.codegen import Finding
from models.verify import CheckRequest, TestReport, TestRequest


@activity.defn
def check_generated_code(request: CheckRequest) -> list[Finding]:
    """Syntax, lint, types, security scan, policy and size checks. Read-only: safe to repeat."""
    with heartbeating("checking code"):
        return check_code(request.files, request.slug)


@activity.defn
def run_generated_tests(request: TestRequest) -> TestReport:
    """The integration's tests with coverage in the sandbox. No effect outside it: repeatable."""
    pause_point("run_generated_tests.start")
    with heartbeating("running tests in the sandbox"):
        return run_tests_for_workflow(request)


VERIFY_ACTIVITIES = [check_generated_code, run_generated_tests]
