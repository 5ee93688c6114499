"""Classify a workflow failure into SPEC "Errors" categories, with the sentence users see."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import NoReturn, TypeVar

from temporalio import workflow
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


def is_cancellation(err: BaseException) -> bool:
    """Whether the run ends because it was cancelled (the issue closed, ``/cancel``)."""
    return isinstance(err, asyncio.CancelledError | CancelledError)


def classify(err: BaseException) -> tuple[ErrorCategory, str]:
    """(category, message) for a failure that ends a workflow."""
    if is_cancellation(err):
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


R = TypeVar("R")


async def guarded(main: Awaitable[R], undo: Callable[[BaseException], Awaitable[None]],
                  failure: type[ApplicationError]) -> R:
    """``await main``; when it raises, end the run as ``end_the_run`` says."""
    try:
        return await main
    except (Exception, asyncio.CancelledError) as err:  # noqa: BLE001 - end_the_run raises
        await end_the_run(err, partial(undo, err), failure)


async def end_the_run(err: BaseException, undo: Callable[[], Awaitable[None]],
                      failure: type[ApplicationError]) -> NoReturn:
    """How a request's run ends when ``err`` escapes it: a bug fails the workflow task (see
    ``ends_the_run``); anything else runs ``undo`` (compensations and the failure report,
    shielded: they run even when the run is being cancelled), then fails the run with
    ``failure``, classified by SPEC "Errors"."""
    if not ends_the_run(err) and workflow.patched(BUGS_FAIL_THE_TASK_PATCH):
        raise err  # a bug: the task fails and is retried; nothing is undone
    await asyncio.shield(asyncio.create_task(undo()))
    if isinstance(err, failure):
        raise err
    category, message = classify(err)
    raise failure(message, type=category.value, non_retryable=True) from err
