"""Classify a workflow failure into SPEC "Errors" categories, with the sentence users see."""

from __future__ import annotations

import asyncio

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    TimeoutError,
)

from models.creation import ErrorCategory


def root_cause(err: BaseException) -> BaseException:
    """The innermost cause of an activity or child-workflow failure."""
    while isinstance(err, ActivityError | ChildWorkflowError) and err.cause is not None:
        err = err.cause
    return err


def classify(err: BaseException) -> tuple[ErrorCategory, str]:
    """(category, message) for a failure that ends a workflow."""
    if isinstance(err, asyncio.CancelledError | CancelledError):
        return ErrorCategory.NON_RECOVERABLE, "the request was cancelled"
    cause = root_cause(err)
    message = getattr(cause, "message", "") or str(cause) or type(cause).__name__
    if isinstance(cause, ApplicationError):
        if (cause.type or "").startswith("Critical"):
            return ErrorCategory.CRITICAL, message
        if (cause.type or "").startswith("Internal") or cause.type == ErrorCategory.INTERNAL:
            return ErrorCategory.INTERNAL, message
        if cause.non_retryable:
            return ErrorCategory.NON_RECOVERABLE, message
        return ErrorCategory.RECOVERABLE, f"{message} (still failing after retries)"
    if isinstance(cause, TimeoutError):
        kind = cause.type.name if cause.type else "timeout"
        return ErrorCategory.RECOVERABLE, f"a step timed out ({kind})"
    return ErrorCategory.NON_RECOVERABLE, message


# Earlier runs compensated for any exception, bugs in workflow code included.
BUGS_FAIL_THE_TASK_PATCH = "bugs-fail-the-workflow-task"


def ends_the_run(err: BaseException) -> bool:
    """Whether ``err`` really ends the run: a Temporal failure (an activity's, a child's, a
    deliberate ``ApplicationError``) or a cancellation. Anything else is a bug in workflow
    code: it must fail the workflow task, so that a fixed worker resumes the run from its
    history, instead of compensating (closing the pull request, deleting the branch)."""
    return isinstance(err, FailureError | asyncio.CancelledError)
