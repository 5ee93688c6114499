"""Classify a workflow failure into SPEC "Errors" categories, with the sentence users see."""

from __future__ import annotations

import asyncio

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
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
