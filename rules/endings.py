"""Never silent: the one new comment that ends every request run, saying what happened and
what the person can do next. Pure: the workflow knows how its run ended (a state, or a
failure's type and category) and posts what ``ending_comment`` writes.

The progress comment is edited in place and notifies nobody; this comment is new and
mentions the person who asked, so every ending reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.creation import ErrorCategory
from models.error_types import ErrorType
from rules.inert import inert


class Ending(StrEnum):
    """Every way a request run ends, from the person's side."""

    ACTIVE = "active"  # merged, deployed and live
    MERGED = "merged"  # merged; deployment is someone else's step (off, or promotion)
    INVALID_REQUEST = "invalid-request"
    SLUG_TAKEN = "slug-taken"
    EXPIRED = "expired"  # nobody decided on the pull request in time
    PLAN_EXPIRED = "plan-expired"  # plan-first: nobody answered the plan in time
    PULL_REQUEST_CLOSED = "pull-request-closed"
    CHANGES_NOT_MADE = "changes-not-made"  # the requested changes could not be made
    BUDGET = "budget"
    SPEND_CAP = "spend-cap"  # waited at its dollar cap; nobody raised it in time
    CREDENTIALS = "credentials"
    DEPLOYMENT = "deployment"  # refused or rolled back after the merge
    SERVICE_DOWN = "service-down"  # GitHub or the model kept failing: worth a retry
    INTERNAL = "internal"  # the bot's own fault
    CANCELLED = "cancelled"
    FAILED = "failed"  # any other non-recoverable failure


BY_TYPE: dict[str, Ending] = {
    ErrorType.INVALID_REQUEST: Ending.INVALID_REQUEST,
    ErrorType.SLUG_TAKEN: Ending.SLUG_TAKEN,
    ErrorType.APPROVAL_EXPIRED: Ending.EXPIRED,
    ErrorType.PLAN_EXPIRED: Ending.PLAN_EXPIRED,
    ErrorType.PULL_REQUEST_CLOSED: Ending.PULL_REQUEST_CLOSED,
    ErrorType.CHANGES_REQUESTED: Ending.CHANGES_NOT_MADE,
    ErrorType.TOKEN_BUDGET_EXCEEDED: Ending.BUDGET,
    ErrorType.BUDGET_WAIT_EXPIRED: Ending.SPEND_CAP,
    ErrorType.CREDENTIALS_MISSING: Ending.CREDENTIALS,
    ErrorType.DEPLOYMENT_REFUSED: Ending.DEPLOYMENT,
    ErrorType.DEPLOYMENT_ROLLED_BACK: Ending.DEPLOYMENT,
}


def ending_of(*, state: str = "", error_type: str = "", category: ErrorCategory | None = None,
              cancelled: bool = False) -> Ending:
    """The ending of a run that reached ``state``, or failed with ``error_type``/``category``."""
    if cancelled:
        return Ending.CANCELLED
    if category is None:
        return Ending.ACTIVE if state.upper() == "ACTIVE" else Ending.MERGED
    if category == ErrorCategory.INTERNAL:
        return Ending.INTERNAL
    if error_type in BY_TYPE:
        return BY_TYPE[error_type]
    if category == ErrorCategory.RECOVERABLE:
        return Ending.SERVICE_DOWN
    return Ending.FAILED


@dataclass(frozen=True)
class Words:
    happened: str  # "{what}" is the request or the update
    next: str


WORDS: dict[Ending, Words] = {
    Ending.ACTIVE: Words("{what} is merged, deployed and live",
                        "Nothing to do. To change it later, open an update request; "
                        "`/status` shows where it runs."),
    Ending.MERGED: Words("{what} is merged",
                        "It is not deployed by this run: `ccb deploy` or a promotion moves it "
                        "to an environment; `/status` shows where it is."),
    Ending.INVALID_REQUEST: Words("{what} could not start: the request is incomplete or "
                                 "invalid",
                                 "Edit the issue to fix what is listed below: the bot starts "
                                 "again with the new text (or comment `/retry` after editing)."),
    Ending.SLUG_TAKEN: Words("{what} stopped: an integration of that name already exists",
                            "Give the service another name in the issue, or open an update "
                            "request for the existing integration."),
    Ending.EXPIRED: Words("{what} stopped: nobody approved or asked for changes on its pull "
                         "request in time, so it was closed",
                         "Comment `/retry` to open it again, and ask a reviewer with write "
                         "access to decide."),
    Ending.PLAN_EXPIRED: Words("{what} stopped: nobody approved or revised its plan in time, "
                              "so no code was written",
                              "Comment `/retry` to have the plan posted again, and ask someone "
                              "with write access to answer it with `/approve-plan <revision>` "
                              "or `/revise-plan <what to change>`."),
    Ending.PULL_REQUEST_CLOSED: Words("{what} stopped: its pull request was closed without "
                                     "merging",
                                     "Its branch is deleted. Comment `/retry` (or reopen the "
                                     "issue) to start again."),
    Ending.CHANGES_NOT_MADE: Words("{what} stopped: the changes a reviewer asked for could "
                                  "not be made",
                                  "Read the reviewer's comments and the checklist above; "
                                  "comment `/retry` to start again, or close the issue."),
    Ending.BUDGET: Words("{what} stopped before its next model call: it reached its token "
                        "budget",
                        "An operator can raise `CCB_TOKEN_BUDGET`, or simplify the request; "
                        "then comment `/retry`."),
    Ending.SPEND_CAP: Words("{what} stopped at its dollar cap: nobody raised the cap in time",
                           "Comment `/retry` to start again; when it stops at the cap, someone "
                           "with write access comments `/budget +N` (or an operator raises "
                           "`CCB_DOLLAR_BUDGET_PER_REQUEST`)."),
    Ending.CREDENTIALS: Words("{what} stopped: the integration's credentials are missing",
                             "An operator stores them with `ccb secrets set <slug> <NAME>`; "
                             "then comment `/retry`."),
    Ending.DEPLOYMENT: Words("{what} was merged, but its deployment did not go live and was "
                            "undone",
                            "The reason is below; the merge was reverted. Fix it with an "
                            "update request, or comment `/retry` if the cause was passing."),
    Ending.SERVICE_DOWN: Words("{what} stopped: a service the bot needs (GitHub or the "
                              "model) kept failing",
                              "Nothing in the issue needs to change: comment `/retry` once "
                              "the service is back."),
    Ending.INTERNAL: Words("{what} stopped because of an error in the bot itself",
                          "This is the bot's fault, not your request's: nothing in the issue "
                          "needs to change. Report it to the bot's maintainers with the "
                          "workflow id below; once fixed, comment `/retry`."),
    Ending.CANCELLED: Words("{what} was cancelled and what it had done undone",
                           "Reopen the issue or comment `/retry` to start again."),
    Ending.FAILED: Words("{what} failed",
                        "The reason is below; fix what it names, then comment `/retry`."),
}


def ending_comment(ending: Ending, *, update: bool, requester: str, reason: str = "",
                   workflow_id: str = "", pr_url: str = "") -> str:
    """The ending comment: @requester, what happened, the reason, what to do next."""
    what = "The update" if update else "The integration request"
    who = f"@{requester} " if requester else ""
    lines = [f"{who}{WORDS[ending].happened.format(what=what)}."]
    if pr_url:
        lines.append(f"Pull request: {pr_url}")
    if reason:
        lines.append(f"Why: {inert(reason[:1500])}")
    lines.append(f"Next: {WORDS[ending].next}")
    if workflow_id:
        lines.append(f"Workflow: `{workflow_id}`")
    return "\n\n".join(lines)
