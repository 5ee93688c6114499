"""The human-decision contract shared by the creation and update workflows.

Both wait for a person on their pull request and answer the same messages: the ``progress``
query, the ``approve`` update (validated, so ``ccb approve`` learns whether it was taken) and
the ``request_changes`` signal (a redelivered review or comment, same ``source``, counts
once), ``request_edited`` (the issue's text changed) and ``pull_request_closed``. The
webhook starter, the CLI and the Temporal UI send these by name. ``credentials_set`` (from
``ccb secrets set``) tells a run waiting for its credentials to look again.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.creation import (
        ApprovalAnswer,
        ApprovalDecision,
        ChangeRequest,
        Progress,
        PullClosed,
        RequestEdited,
    )
    from models.credentials import CredentialsSet
    from workflows import names


BOT_LOGINS = frozenset({"ccb-bot", "ccb-bot[bot]"})


def approval_problem(decision: ApprovalDecision, pr_number: int | None, head_sha: str) -> str:
    """Why ``decision`` does not approve pull request ``pr_number`` at ``head_sha`` ("" when
    it does): it must name that pull request (when given on one) and that exact head."""
    short = head_sha[:7]
    if decision.pr_number is not None and decision.pr_number != pr_number:
        return (f"that approval is for pull request #{decision.pr_number}, but this request's "
                f"pull request is #{pr_number}: approve #{pr_number}")
    given = decision.head_sha.strip().lower()
    if not given:
        return (f"an approval must say which head it approves: #{pr_number} is at {short} "
                f"(approve the pull request on GitHub, comment `/approve {short}`, or "
                f"`ccb approve <issue> --head {short}`)")
    if len(given) < 7 or not head_sha.startswith(given):
        return (f"that approval is of {given[:7]}, but #{pr_number} is now at {short}: review "
                "the new head and approve it")
    return ""


class AwaitsHumanDecision:
    """Mixin for a ``@workflow.defn`` class that sets ``self._progress`` in its ``__init__``
    and calls ``_init_decisions()``."""

    _progress: Progress

    def _init_decisions(self) -> None:
        self._approval: ApprovalDecision | None = None
        self._changes: list[ChangeRequest] = []
        self._change_sources: set[str] = set()
        self._credentials_nudged = 0
        self._pull_closed: PullClosed | None = None
        self._edited: RequestEdited | None = None

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._progress

    @workflow.update(name="approve")
    async def approve(self, decision: ApprovalDecision) -> ApprovalAnswer:
        self._approval = decision
        return ApprovalAnswer(accepted=True, message=(
            f"approved by {decision.reviewer}; merging pull request #{self._progress.pr_number}"))

    @approve.validator
    def _validate_approve(self, decision: ApprovalDecision) -> None:
        """Only a person's approval of this request's pull request at its current head."""
        if not self._progress.waiting_for_approval:
            step = self._progress.current_step or "starting"
            raise ValueError(f"not waiting for approval: the request is at step '{step}' "
                             f"(state {self._progress.state})")
        if not decision.reviewer:
            raise ValueError("an approval must name the reviewer")
        if decision.reviewer.lower() in BOT_LOGINS:
            raise ValueError("the bot never approves its own pull requests: a person does")
        problem = approval_problem(decision, self._progress.pr_number, self._progress.head_sha)
        if problem:
            raise ValueError(problem)

    @workflow.signal(name="request_changes")
    def request_changes(self, change: ChangeRequest) -> None:
        # A redelivered review or comment names the same source: take it once.
        if ":" in change.source:
            if change.source in self._change_sources:
                return
            self._change_sources.add(change.source)
        self._changes.append(change)

    @workflow.signal(name="pull_request_closed")
    def pull_request_closed(self, closed: PullClosed) -> None:
        # Only this run's pull request; the wait for a person's decision acts on it (at
        # once, when it was closed before the wait began).
        if closed.pr_number == self._progress.pr_number:
            self._pull_closed = closed

    @workflow.signal(name=names.REQUEST_EDITED_SIGNAL)
    def request_edited(self, edit: RequestEdited) -> None:
        # The latest text wins; the run acts on it at its next step (``_restart_if_edited``).
        self._edited = edit

    @workflow.signal(name="credentials_set")
    def credentials_set(self, stored: CredentialsSet) -> None:
        # Only a hint: the run reads the store itself (names only) before going on.
        if stored.slug == self._progress.slug:
            self._credentials_nudged += 1
