"""The request runs' durable waits for people: a decision on the pull request, and the
integration's credentials before the merge.

One rule for both: wait until the person acts or the expiry, and remind with a *new*
comment (a notification) at most once per reminder interval; the last reminder, when the
next one would fall after the expiry, says when the run gives up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credentials import missing_credentials
    from models.creation import ApprovalDecision, ApprovalTimes, ChangeRequest
    from models.credentials import CredentialQuery
    from models.error_types import ErrorType
    from models.states import IntegrationState
    from rules.credentials import needed_credentials
    from workflows import metrics, request_texts
    from workflows.approval import AwaitsHumanDecision
    from workflows.pull_closed import closed_on_github

# Earlier runs merged without looking for the integration's credentials (then its deployment
# waited for a health check that could not pass, and the merge was reverted).
CREDENTIALS_PATCH = "credentials-before-merge"

Remind = Callable[[int, bool, timedelta], Awaitable[None]]  # (count, last, time left)


class EditableInput(Protocol):
    title: str
    body: str | None

    def model_copy(self, *, update: dict[str, Any]) -> Any: ...


In = TypeVar("In", bound=EditableInput)


class WaitsForPeople(AwaitsHumanDecision):
    """Mixin of ``RequestRun``: it provides ``_comment``, ``_local`` and ``_kind``."""

    _comment: Callable[[str, str], Awaitable[None]]
    _local: Callable[..., Awaitable[Any]]
    _kind: str
    _reviewers: list[str]
    _saga: Any
    _transition: Callable[..., Awaitable[None]]

    async def _restart_if_edited(self, inp: In, *, record_failed: bool) -> None:
        """Before the pull request exists, an edited issue starts the run again with the new
        text: what the run did is undone, the integration (``record_failed``: the one this
        request created) is recorded FAILED with why, and the run continues as new. After
        the pull request exists an edit changes nothing (the starter says so)."""
        edit, self._edited = self._edited, None
        if (edit is None or self._progress.pr_number
                or (edit.title or inp.title, edit.body) == (inp.title, inp.body)):
            return
        reason = (f"the request was edited by {edit.actor} before its pull request: "
                  "starting again with the new text")
        await self._saga.compensate()
        if record_failed and self._progress.slug:
            await self._transition(IntegrationState.FAILED, reason)
        workflow.logger.info("restarting: %s", reason)
        workflow.continue_as_new(inp.model_copy(update={"title": edit.title or inp.title,
                                                        "body": edit.body}))

    def _approval_reminder(self, count: int, last: bool, left: timedelta,
                           why: str = "") -> str:
        """The reminder comment's text, mentioning the reviewers the review requested."""
        return request_texts.approval_reminder(
            count=count, pr_number=self._progress.pr_number, reviewers=self._reviewers,
            last=last, left=left, why=why)

    async def _await_decision(
        self, deadline: datetime, times: ApprovalTimes, remind: Remind,
        failure: type[ApplicationError], *, reminders: bool = True,
    ) -> ApprovalDecision | ChangeRequest:
        """Wait for an approval or a change request, calling ``remind(n, last, left)`` every
        ``times.reminder_interval`` until ``deadline`` (``times.approval_expiry`` after the
        wait began), when the run fails with ``failure``; ``last`` when the next reminder
        would come after the deadline, ``left`` the time until it. ``reminders=False`` is
        how update runs started before the shared rule waited: once, for the whole expiry."""
        def expired() -> ApplicationError:
            return failure(f"no approval within {request_texts.span(times.approval_expiry)}; "
                           "the pull request was closed. Comment /retry to start again",
                           type=ErrorType.APPROVAL_EXPIRED, non_retryable=True)

        count = 0
        self._progress.waiting_for_approval = True
        began = workflow.now()
        try:
            while True:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise expired()
                try:
                    await workflow.wait_condition(
                        lambda: (self._approval is not None or bool(self._changes)
                                 or self._pull_closed is not None),
                        timeout=(min(times.reminder_interval, remaining) if reminders
                                 else times.approval_expiry))
                except TimeoutError:
                    if not reminders:
                        raise expired() from None
                    left = deadline - workflow.now()
                    if left > timedelta(0):
                        count += 1
                        await remind(count, left <= times.reminder_interval, left)
                    continue
                waited = (workflow.now() - began).total_seconds()
                if self._pull_closed is not None:
                    return closed_on_github(self._pull_closed, failure)
                if self._changes:
                    metrics.human_wait(self._kind, "changes_requested", waited)
                    return self._changes.pop(0)
                assert self._approval is not None
                metrics.human_wait(self._kind, "approved", waited)
                return self._approval
        finally:
            self._progress.waiting_for_approval = False

    async def _await_credentials(self, slug: str, environment: str, files: dict[str, str],
                                 requester: str, times: ApprovalTimes,
                                 failure: type[ApplicationError]) -> None:
        """Before the merge: every credential the manifest names must be in the integration's
        secret store for ``environment`` (names only are looked at). When some are missing:
        one comment naming the exact ``ccb secrets set`` commands and the requester, then a
        durable wait (woken by ``credentials_set``, reminding each interval) until they are
        set, or ``times.approval_expiry``, when the run fails with ``failure``."""
        if not workflow.patched(CREDENTIALS_PATCH):
            return
        names = needed_credentials(files.get(f"integrations/{slug}/manifest.json", ""))
        query = CredentialQuery(slug=slug, environment=environment, names=names)
        missing: list[str] = await self._local(missing_credentials, query) if names else []
        if not missing:
            return
        deadline = workflow.now() + times.approval_expiry
        await self._comment("credentials", request_texts.credentials_needed(
            slug=slug, environment=environment, missing=missing, requester=requester,
            expiry=request_texts.span(times.approval_expiry)))
        self._progress.waiting_for_credentials = missing  # once the person has been told
        count = 0
        try:
            while missing:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise failure(f"the credentials {', '.join(missing)} of {slug} were not "
                                  f"set within {request_texts.span(times.approval_expiry)}; "
                                  f"the pull request was closed. Set them with `ccb secrets "
                                  f"set {slug} NAME --env {environment}`, then comment /retry",
                                  type=ErrorType.CREDENTIALS_MISSING, non_retryable=True)
                nudges = self._credentials_nudged
                timed_out = False
                try:
                    await workflow.wait_condition(
                        lambda seen=nudges: self._credentials_nudged != seen,  # type: ignore[misc]
                        timeout=min(times.reminder_interval, remaining))
                except TimeoutError:
                    timed_out = True
                missing = await self._local(missing_credentials, query)
                self._progress.waiting_for_credentials = missing
                if missing and timed_out and workflow.now() < deadline:
                    count += 1
                    await self._comment(f"credentials-reminder-{count}",
                                        request_texts.credentials_reminder(
                                            slug=slug, missing=missing, count=count))
        finally:
            self._progress.waiting_for_credentials = []
        await self._comment("credentials", f"`{slug}`'s credentials ({', '.join(names)}) are "
                            f"set for {environment}; going on with the merge.")
