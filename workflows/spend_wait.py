"""The per-request dollar cap: checked before every model call from the recorded spend, and
when the next call would pass it, a durable wait (it does not fail) for a writer's
``/budget +N``, which resumes the run where it stopped, redoing nothing.

One comment per stop says what was spent, the cap and what the next call needs, mentioning
the requester; reminders and the expiry follow the decision wait's rule (``ApprovalTimes``).
The ``raise_budget`` update's validator refuses what may not raise it (so a refusal leaves
no trace in history); its handler records the raise as an audit event (who, how much, the
new cap) before the run goes on. Runs started before the cap replay unchanged
(``SPEND_PATCH``). The token cap keeps its own check (``check_token_budget``).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.spend import check_spend
    from models.creation import ApprovalTimes
    from models.error_types import ErrorType
    from models.events import EventType
    from models.spend import BudgetRaise, BudgetRaiseAnswer, SpendCheck, SpendStatus
    from rules.words import span
    from workflows.approval import BOT_LOGINS

SPEND_PATCH = "dollar-cap-wait"  # earlier runs had the token cap only


def usd(amount: float) -> str:
    """``$0.0600``: cents shown to the hundredth, so a few-cent spend reads exactly."""
    return f"${amount:.4f}" if amount < 1 else f"${amount:.2f}"


def budget_needed(status: SpendStatus, *, requester: str, expiry: str) -> str:
    """The one comment of a stop at the cap."""
    who = f"@{requester} " if requester else ""
    return (f"{who}This request stopped before its next model call: it has spent "
            f"{usd(status.spent_usd)} of its {usd(status.cap_usd)} cap in {status.calls} model "
            f"call(s), and the next call may cost up to {usd(status.next_call_usd)}, so it "
            f"needs {usd(status.needed_usd)} more. A person with write access can comment "
            f"`/budget +N` (N dollars, at most {usd(status.raise_max_usd)} at a time) to raise "
            "the cap: it goes on where it stopped, redoing nothing. It waits up to "
            f"{expiry}, then stops.")


def budget_reminder(status: SpendStatus, *, count: int, left: timedelta) -> str:
    return (f"Reminder {count}: this request still waits at its {usd(status.cap_usd)} dollar "
            f"cap (spent {usd(status.spent_usd)}; it needs {usd(status.needed_usd)} more). "
            f"Comment `/budget +N` to go on; it stops in {span(left)}.")


class WaitsForBudget:
    """Mixin of ``RequestRun``: it provides ``_comment``, ``_local``, ``_event``,
    ``_publish``, ``_progress``, ``_repo`` and ``_requested_by``."""

    _comment: Callable[[str, str], Awaitable[None]]
    _local: Callable[..., Awaitable[Any]]
    _event: Callable[..., Awaitable[None]]
    _publish: Callable[..., Awaitable[None]]
    _progress: Any
    _repo: str
    _requested_by: str

    def _init_spend(self) -> None:
        self._dollar_cap: float | None = None  # fixed by the first check; raised by /budget
        self._spend_times = ApprovalTimes()
        self._spend: SpendStatus | None = None
        self._budget_waiting = False
        self._budget_raises = 0
        self._budget_stops = 0

    def _spend_from(self, inp: Any) -> None:
        """The cap the input names (None: the settings, read by the first check) and the
        wait's expiry and reminder interval (the decision wait's)."""
        self._dollar_cap = getattr(inp, "dollar_budget", None)
        if isinstance(inp, ApprovalTimes):
            self._spend_times = ApprovalTimes(approval_expiry=inp.approval_expiry,
                                              reminder_interval=inp.reminder_interval)

    async def _spend_status(self) -> SpendStatus:
        status: SpendStatus = await self._local(check_spend, SpendCheck(
            usage_key=workflow.info().workflow_id, repo=self._repo, cap_usd=self._dollar_cap))
        self._dollar_cap = status.cap_usd
        self._spend = self._progress.spend = status
        return status

    async def _spend_gate(self) -> None:
        """Before a model call: go on while the recorded spend plus the next call's estimate
        stays within the dollar cap; else wait for ``/budget`` (``_await_budget``)."""
        if not workflow.patched(SPEND_PATCH):
            return
        status = await self._spend_status()
        if not status.go_ahead:
            await self._await_budget(status)

    async def _await_budget(self, status: SpendStatus) -> None:
        times = self._spend_times
        deadline = workflow.now() + times.approval_expiry
        self._budget_stops += 1
        stop = self._budget_stops
        workflow.logger.info("stopped at the dollar cap: spent %s of %s, next call %s",
                             status.spent_usd, status.cap_usd, status.next_call_usd)
        await self._comment(f"budget-{stop}", budget_needed(
            status, requester=self._requested_by, expiry=span(times.approval_expiry)))
        seen, count = self._budget_raises, 0
        self._budget_waiting = self._progress.waiting_for_budget = True
        try:
            await self._publish()
            while not status.go_ahead:
                remaining = deadline - workflow.now()
                if remaining <= timedelta(0):
                    raise ApplicationError(
                        f"nobody raised the dollar cap within {span(times.approval_expiry)}: "
                        f"the request spent {usd(status.spent_usd)} of {usd(status.cap_usd)} "
                        f"and its next model call needed {usd(status.needed_usd)} more. "
                        "Comment /retry to start again (with a higher CCB_DOLLAR_BUDGET_"
                        "PER_REQUEST, or a /budget raise when it stops)",
                        type=ErrorType.BUDGET_WAIT_EXPIRED, non_retryable=True)
                try:
                    await workflow.wait_condition(
                        lambda before=seen: self._budget_raises != before,  # type: ignore[misc]
                        timeout=min(times.reminder_interval, remaining))
                except TimeoutError:
                    left = deadline - workflow.now()
                    if left > timedelta(0):
                        count += 1
                        await self._comment(f"budget-{stop}-reminder-{count}",
                                            budget_reminder(status, count=count, left=left))
                    continue
                seen = self._budget_raises
                status = await self._spend_status()
        finally:
            self._budget_waiting = self._progress.waiting_for_budget = False
        await self._publish()

    @workflow.update(name="raise_budget")
    async def raise_budget(self, ask: BudgetRaise) -> BudgetRaiseAnswer:
        """Raise the cap by ``ask.amount_usd``: audited (who, how much, the new cap), then
        the waiting run checks again and goes on when the next call fits."""
        previous = self._dollar_cap or 0.0
        cap = round(previous + ask.amount_usd, 6)
        await self._event(EventType.BUDGET_RAISED, f"budget-raised-{self._budget_raises + 1}", {
            "actor": ask.actor, "amount_usd": ask.amount_usd, "previous_cap_usd": previous,
            "cap_usd": cap, "source": ask.source})
        workflow.logger.info("dollar cap raised by %s: %s -> %s", ask.actor, previous, cap)
        self._dollar_cap = cap
        self._budget_raises += 1
        needed = (self._spend.spent_usd + self._spend.next_call_usd) if self._spend else 0.0
        if needed > cap:
            return BudgetRaiseAnswer(accepted=True, cap_usd=cap, message=(
                f"the cap is now {usd(cap)}, but the next model call needs {usd(needed)} in "
                f"all: raise it by {usd(needed - cap)} more"))
        return BudgetRaiseAnswer(accepted=True, cap_usd=cap,
                                 message=f"the cap is now {usd(cap)}; the request goes on")

    @raise_budget.validator
    def _validate_raise(self, ask: BudgetRaise) -> None:
        """Only a person's positive raise, within the most one raise may add, while the run
        waits at its cap."""
        if not self._budget_waiting:
            raise ValueError("the request is not waiting at its dollar cap: nothing to raise")
        login = ask.actor.strip().lower()
        if not login or login in BOT_LOGINS or login.endswith("[bot]"):
            raise ValueError("only a person may raise the dollar cap")
        if not (math.isfinite(ask.amount_usd) and ask.amount_usd > 0):
            raise ValueError("the raise must be a positive number of dollars: `/budget +2`")
        most = self._spend.raise_max_usd if self._spend else 0.0
        if ask.amount_usd > most:
            raise ValueError(f"one raise may add at most {usd(most)} "
                             "(CCB_BUDGET_RAISE_MAX_USD)")
