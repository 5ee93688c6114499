"""Anthropic SDK errors as Temporal errors: what to retry, when, and what to tell the user.

The SDK's own retries are off (``max_retries=0``), so Temporal's retry policy is the only one.
Rate limits (429), overload (529), other 5xx, 408/409, timeouts and connection failures are
retryable; the next attempt waits as long as the answer's ``retry-after-ms`` / ``retry-after``
header (or, failing that, the ``anthropic-ratelimit-*-reset`` headers) asks. Every other status
means the request itself is wrong and fails at once with a sentence saying what to fix. The
``request-id`` of the answer is in every message, for Anthropic support.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import anthropic
from temporalio.exceptions import ApplicationError

from models.error_types import ErrorType

MAX_RETRY_DELAY = timedelta(minutes=10)  # a header asking for longer is capped
RETRYABLE_STATUSES = frozenset({408, 409, 429})  # and every status >= 500 (529 is overload)
RESET_HEADERS = (
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
)

# What to fix, by status, for errors that retrying cannot cure.
FIXES: dict[int, tuple[str, str]] = {
    400: (ErrorType.ANTHROPIC_BAD_REQUEST,
          "Anthropic rejected the request as malformed; the prompt may be too long for the "
          "model or a setting invalid: check CCB_CLAUDE_MODEL and CCB_CLAUDE_MAX_TOKENS, "
          "or simplify the request"),
    401: (ErrorType.ANTHROPIC_AUTHENTICATION,
          "the Anthropic API key was refused: set ANTHROPIC_API_KEY to a valid key"),
    402: (ErrorType.ANTHROPIC_BILLING,
          "the Anthropic account cannot pay for this call: check its billing and credit"),
    403: (ErrorType.ANTHROPIC_PERMISSION_DENIED,
          "the Anthropic API key may not use this model or feature: give the key's workspace "
          "access, or set CCB_CLAUDE_MODEL to a model it may use"),
    404: (ErrorType.ANTHROPIC_MODEL_NOT_FOUND,
          "model id not found: set CCB_CLAUDE_MODEL to a current model id"),
    413: (ErrorType.ANTHROPIC_REQUEST_TOO_LARGE,
          "the request is larger than the Messages API accepts: simplify the request "
          "or shorten the files sent back for fixing"),
}


def retry_delay(headers: Mapping[str, str], now: datetime | None = None) -> timedelta | None:
    """How long the answer asks us to wait (``retry-after-ms``, ``retry-after``, the rate-limit
    resets); None when it does not say."""
    now = now or datetime.now(UTC)
    delay: float | None = None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            delay = float(ms) / 1000
        except ValueError:
            delay = None
    if delay is None and (value := headers.get("retry-after")) is not None:
        try:
            delay = float(value)
        except ValueError:
            try:
                delay = (parsedate_to_datetime(value) - now).total_seconds()
            except (TypeError, ValueError):
                delay = None
    if delay is None:
        resets: list[float] = []
        for name in RESET_HEADERS:
            if (stamp := headers.get(name)) is None:
                continue
            try:
                at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                continue
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            resets.append((at - now).total_seconds())
        delay = max(resets) if resets else None
    if delay is None or delay != delay:  # absent, or NaN
        return None
    return min(timedelta(seconds=max(delay, 0.0)), MAX_RETRY_DELAY)


def _describe(exc: anthropic.APIStatusError) -> str:
    kind = exc.type or "error"
    detail = exc.api_message or ""
    return f"{exc.status_code} {kind}" + (f": {detail}" if detail else "")


def to_application_error(exc: anthropic.APIError, *, step: str) -> ApplicationError:
    """The Temporal error for an SDK error raised during ``step`` (analyze/generate/review)."""
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        request_id = exc.request_id or "none"
        details = {"status": status, "error_type": exc.type, "request_id": exc.request_id,
                   "step": step}
        if status in RETRYABLE_STATUSES or status >= 500:
            kind = (ErrorType.ANTHROPIC_RATE_LIMITED if status == 429
                    else ErrorType.ANTHROPIC_OVERLOADED if status == 529
                    else ErrorType.ANTHROPIC_UNAVAILABLE)
            delay = retry_delay(exc.response.headers)
            wait = f"; retrying in {delay.total_seconds():g} s" if delay is not None else ""
            return ApplicationError(
                f"Claude {step}: Anthropic answered {_describe(exc)} (request-id {request_id})"
                f"{wait}",
                details, type=kind, next_retry_delay=delay,
            )
        kind, fix = FIXES.get(status, (
            ErrorType.ANTHROPIC_REQUEST_REJECTED,
            "Anthropic refused the request: read the error above and fix the request or settings",
        ))
        return ApplicationError(
            f"Claude {step}: {fix} (Anthropic answered {_describe(exc)}; "
            f"request-id {request_id})",
            details, type=kind, non_retryable=True,
        )
    if isinstance(exc, anthropic.APITimeoutError):
        return ApplicationError(
            f"Claude {step}: the Messages API did not answer in time; retrying "
            "(CCB_CLAUDE_TIMEOUT_SECONDS sets the limit)",
            {"step": step}, type=ErrorType.ANTHROPIC_TIMEOUT,
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return ApplicationError(
            f"Claude {step}: could not reach the Messages API ({exc.message}); retrying "
            "(check the network or CCB_ANTHROPIC_BASE_URL)",
            {"step": step}, type=ErrorType.ANTHROPIC_CONNECTION,
        )
    return ApplicationError(
        f"Claude {step}: the Anthropic answer could not be read ({exc.message})",
        {"step": step}, type=ErrorType.ANTHROPIC_INVALID_RESPONSE,
    )
