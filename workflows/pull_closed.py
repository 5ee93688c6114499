"""A person closed the run's pull request on GitHub while the run waited for a decision."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.creation import ApprovalDecision, PullClosed
    from models.error_types import ErrorType


def closed_on_github(closed: PullClosed, failure: type[ApplicationError]) -> ApprovalDecision:
    """Merged: the person approved by merging (recorded as their approval; the merge step
    finds it merged and merges nothing twice). Closed unmerged: the request ends, undone."""
    if closed.merged:
        return ApprovalDecision(reviewer=closed.actor, source="merge",
                                comment="merged on GitHub", head_sha=closed.head_sha,
                                pr_number=closed.pr_number)
    raise failure(f"pull request #{closed.pr_number} was closed by {closed.actor} without "
                  "merging, so the request ended and its branch is deleted; reopen the issue "
                  "(or comment /retry) to start again", type=ErrorType.PULL_REQUEST_CLOSED,
                  non_retryable=True)
