"""What a request's run (creation, update) does for its version's promotion: note the gates
its merge passed, and start the promotion once the version is live in the first
environment."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.promotion import promotion_plan
    from models.events import EventType
    from models.promotion import (
        PromotionInput,
        PromotionPlan,
        PromotionPlanQuery,
        promotion_workflow_id,
    )
    from workflows.policies import LOCAL_STEP


async def start_promotion(inp: PromotionInput) -> None:
    """The promotion to the environments after ``inp.from_environment``, left running when
    the starting run ends (it may wait days for a person). Nothing is started when the order
    ends there."""
    plan: PromotionPlan = await workflow.execute_activity(
        promotion_plan, PromotionPlanQuery(from_environment=inp.from_environment),
        **LOCAL_STEP)
    if not plan.steps:
        return
    try:
        await workflow.start_child_workflow(
            "PromotionWorkflow", inp, id=promotion_workflow_id(inp.slug, inp.version),
            parent_close_policy=ParentClosePolicy.ABANDON)
    except WorkflowAlreadyStartedError:
        workflow.logger.info("the promotion of %s %s already runs", inp.slug, inp.version)


def note_merge_gates(gates: dict[str, Any], kind: EventType, payload: dict[str, Any]) -> None:
    """Keep the tests', the scan's and the approver's results as the run records them: the
    merge records them for the merged commit (``version.recorded``)."""
    if kind == EventType.TESTS_COMPLETED:
        gates.update(tests_passed=payload.get("passed") is True,
                     security_scan=payload.get("security_scan", "unknown"),
                     tests=payload.get("tests"), coverage_percent=payload.get("coverage_percent"))
    elif kind == EventType.REVIEW_COMPLETED and payload.get("approved_by"):
        gates["approved_by"] = payload["approved_by"]
