"""The human-decision contract shared by the creation and update workflows.

Both wait for a person on their pull request and answer the same messages: the ``progress``
query, the ``approve`` update (validated, so ``ccb approve`` learns whether it was taken) and
the ``request_changes`` signal (a redelivered review or comment, same ``source``, counts
once). The webhook starter, the CLI and the Temporal UI send these by name. ``credentials_set``
(from ``ccb secrets set``) tells a run waiting for its credentials to look again.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.creation import ApprovalAnswer, ApprovalDecision, ChangeRequest, Progress
    from models.credentials import CredentialsSet


class AwaitsHumanDecision:
    """Mixin for a ``@workflow.defn`` class that sets ``self._progress`` in its ``__init__``
    and calls ``_init_decisions()``."""

    _progress: Progress

    def _init_decisions(self) -> None:
        self._approval: ApprovalDecision | None = None
        self._changes: list[ChangeRequest] = []
        self._change_sources: set[str] = set()
        self._credentials_nudged = 0

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
        if not self._progress.waiting_for_approval:
            step = self._progress.current_step or "starting"
            raise ValueError(f"not waiting for approval: the request is at step '{step}' "
                             f"(state {self._progress.state})")
        if not decision.reviewer:
            raise ValueError("an approval must name the reviewer")

    @workflow.signal(name="request_changes")
    def request_changes(self, change: ChangeRequest) -> None:
        # A redelivered review or comment names the same source: take it once.
        if ":" in change.source:
            if change.source in self._change_sources:
                return
            self._change_sources.add(change.source)
        self._changes.append(change)

    @workflow.signal(name="credentials_set")
    def credentials_set(self, stored: CredentialsSet) -> None:
        # Only a hint: the run reads the store itself (names only) before going on.
        if stored.slug == self._progress.slug:
            self._credentials_nudged += 1
