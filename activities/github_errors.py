"""GitHub failures as Temporal ``ApplicationError``s: retry what is worth retrying, say what to fix.

| GitHub answer                                   | type                 | retried              |
|-------------------------------------------------|----------------------|----------------------|
| 403/429 with ``X-RateLimit-Remaining: 0``       | GitHubRateLimited    | after the reset time |
| 403/429 with ``Retry-After`` (secondary limit)  | GitHubRateLimited    | after Retry-After    |
| 5xx, connection errors, timeouts                | GitHubUnavailable    | by the retry policy  |
| 401                                             | GitHubBadCredentials | no                   |
| 403 (not a rate limit)                          | GitHubForbidden      | no                   |
| 404                                             | GitHubNotFound       | no                   |
| 400/405/409/422 and other 4xx                   | GitHubRejected       | no                   |

Every activity runs inside ``github_errors(...)`` and ``github_calls()`` (``@github_activity(...)``
applies both).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import requests
from github import GithubException
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from activities.github_client import github_calls
from activities.heartbeat import heartbeating
from models.error_types import ErrorType

# Never wait longer than one primary rate-limit window, whatever a header claims.
MAX_RATE_LIMIT_WAIT_SECONDS = 3600.0
# GitHub's advice for a secondary limit without Retry-After: wait at least a minute.
SECONDARY_LIMIT_DEFAULT_WAIT_SECONDS = 60.0
# Clock skew margin added to a primary limit's reset time.
RESET_MARGIN_SECONDS = 1.0

CREDENTIALS_HINT = (
    "check GITHUB_TOKEN / the App's key (CCB_GITHUB_APP_ID, CCB_GITHUB_APP_PRIVATE_KEY_PATH, "
    "CCB_GITHUB_INSTALLATION_ID): the token may be wrong, expired or revoked"
)

F = TypeVar("F", bound=Callable[..., Any])


def _github_message(exc: GithubException) -> str:
    data = exc.data
    message = data.get("message") if isinstance(data, Mapping) else None
    return str(message or exc.message or "no message")


def _github_errors_list(exc: GithubException) -> list[Any]:
    data = exc.data
    errors = data.get("errors") if isinstance(data, Mapping) else None
    return list(errors) if isinstance(errors, list) else []


def _describe_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if isinstance(error, Mapping):
            text = error.get("message") or " ".join(
                f"{key}={error[key]}" for key in ("resource", "field", "code") if key in error
            )
            parts.append(str(text))
        else:
            parts.append(str(error))
    return "; ".join(p for p in parts if p)


def rate_limit_wait(
    status: int, headers: Mapping[str, str], message: str, now: float | None = None
) -> float | None:
    """Seconds to wait when this answer is a rate limit, else None (GitHub's documented rules)."""
    if status not in (403, 429):
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    now = time.time() if now is None else now
    wait: float | None = None
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after:
        try:
            wait = float(retry_after)
        except ValueError:
            wait = SECONDARY_LIMIT_DEFAULT_WAIT_SECONDS
    elif lowered.get("x-ratelimit-remaining", "").strip() == "0":
        try:
            wait = float(lowered["x-ratelimit-reset"]) - now + RESET_MARGIN_SECONDS
        except (KeyError, ValueError):
            wait = SECONDARY_LIMIT_DEFAULT_WAIT_SECONDS
    elif status == 429 or "rate limit" in message.lower():
        wait = SECONDARY_LIMIT_DEFAULT_WAIT_SECONDS
    if wait is None:
        return None
    return float(min(max(math.ceil(wait), 1.0), MAX_RATE_LIMIT_WAIT_SECONDS))


def application_error(exc: GithubException, what: str) -> ApplicationError:
    """The ``ApplicationError`` for GitHub's error answer ``exc`` while working on ``what``."""
    status = exc.status
    message = _github_message(exc)
    errors = _github_errors_list(exc)
    details = {"status": status, "message": message, "errors": errors}
    said = f"{status} {message}"

    wait = rate_limit_wait(status, exc.headers or {}, message)
    if wait is not None:
        return ApplicationError(
            f"GitHub rate limit reached while working on {what} ({said}); "
            f"retrying in {wait:.0f} s. If this keeps happening, make fewer calls or use a "
            "GitHub App (higher limits).",
            details, type=ErrorType.GITHUB_RATE_LIMITED, next_retry_delay=timedelta(seconds=wait),
        )
    if status >= 500:
        return ApplicationError(
            f"GitHub is unavailable ({said}) while working on {what}; will retry.",
            details, type=ErrorType.GITHUB_UNAVAILABLE,
        )
    if status == 401:
        return ApplicationError(
            f"GitHub rejected the bot's credentials while working on {what} ({said}): "
            f"{CREDENTIALS_HINT}.",
            details, type=ErrorType.GITHUB_BAD_CREDENTIALS, non_retryable=True,
        )
    if status == 403:
        return ApplicationError(
            f"GitHub forbids the bot to act on {what} ({said}): give the bot's account or "
            "App the permission this needs on the repository (e.g. write access, or the "
            "App's contents/issues/pull-requests permissions), then retry.",
            details, type=ErrorType.GITHUB_FORBIDDEN, non_retryable=True,
        )
    if status == 404:
        return ApplicationError(
            f"GitHub found no {what} ({said}): check the repository name (owner/name), the "
            "number or branch, and that the bot's account or App can see the repository.",
            details, type=ErrorType.GITHUB_NOT_FOUND, non_retryable=True,
        )
    listed = _describe_errors(errors)
    return ApplicationError(
        f"GitHub rejected the request on {what} ({said}"
        f"{': ' + listed if listed else ''}): fix what GitHub names; retrying it unchanged "
        "fails again.",
        details, type=ErrorType.GITHUB_REJECTED, non_retryable=True,
    )


def unreachable_error(exc: requests.RequestException, what: str) -> ApplicationError:
    """A connection failure or timeout: retryable, GitHub may come back."""
    return ApplicationError(
        f"cannot reach GitHub while working on {what} ({type(exc).__name__}); will retry. "
        "If it persists, check CCB_GITHUB_API_URL and the network.",
        type=ErrorType.GITHUB_UNAVAILABLE,
    )


@contextmanager
def github_errors(what: str) -> Iterator[None]:
    """Turn GitHub failures inside the block into ``ApplicationError``s naming ``what``."""
    try:
        yield
    except ApplicationError:
        raise
    except GithubException as exc:
        raise application_error(exc, what) from exc
    except requests.RequestException as exc:
        raise unreachable_error(exc, what) from exc


def github_activity(what: str) -> Callable[[F], F]:
    """Run the activity inside ``github_errors`` holding ``github_calls()``; ``what`` is
    formatted with the input's fields, e.g. ``"issue #{number} in {repo}"``."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(command: BaseModel) -> Any:
            subject = what.format_map(command.model_dump())
            with heartbeating(f"GitHub: {subject}"), github_calls(), github_errors(subject):
                return fn(command)

        return run  # type: ignore[return-value]

    return decorate
