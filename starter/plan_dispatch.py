"""The plan's answers sent to the request's workflow: ``approve_plan`` and ``revise_plan``
updates (``workflows.plan_gate``), from a comment, the CLI or the API.

Like ``Dispatcher.approve``: the update's validator decides, so the caller learns at once
whether the answer was taken, and why not (another revision, nothing waiting, the bot).
"""

from __future__ import annotations

from models.plan import PlanAnswer, PlanApproval, PlanRevision
from starter.commands import Command, CommandName
from starter.dispatch import Dispatcher, Outcome
from starter.request_updates import Taken, send_update
from workflows import names

APPROVE_PLAN_UPDATE = "approve_plan"  # workflows.plan_gate's names
REVISE_PLAN_UPDATE = "revise_plan"


def plan_answer(command: Command, actor: str, comment_id: int) -> PlanApproval | PlanRevision:
    """``/approve-plan [N]`` or ``/revise-plan <what>`` as the update it sends: bound to the
    revision it names and to the comment (an older comment answered an older revision)."""
    if command.name is CommandName.APPROVE_PLAN:
        return PlanApproval(reviewer=actor, source="comment", comment_id=comment_id,
                            revision=int(command.text) if command.text else None)
    return PlanRevision(reviewer=actor, source="comment", comment_id=comment_id,
                        text=command.text)


async def answer_plan(dispatcher: Dispatcher, repo: str, issue: int,
                      answer: PlanApproval | PlanRevision,
                      update_id: str | None = None) -> Outcome:
    """Send ``answer`` to the request of ``issue``; accepted, or rejected saying why."""
    approval = isinstance(answer, PlanApproval)
    what = "plan approval" if approval else "plan revision"
    sent = await send_update(dispatcher, repo, issue,
                             name=APPROVE_PLAN_UPDATE if approval else REVISE_PLAN_UPDATE,
                             arg=answer, result_type=PlanAnswer, update_id=update_id,
                             refused=f"{what} not accepted",
                             nothing="no plan waits (only new integration requests have one)",
                             kinds=(names.CREATION_WORKFLOW,))
    if not isinstance(sent, Taken):
        return sent
    result: PlanAnswer | None = sent.answer
    message = f"{what} accepted" + (f": {result.message}" if result else "")
    return Outcome("updated", message, sent.workflow_id, sent.kind, accepted=True)
