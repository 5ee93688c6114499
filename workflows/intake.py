"""Request intake: parse and validate the issue, then record the integration as REQUESTED."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.intake import record_requested, validate_request
    from models.intake import IntakeInput, IntakeResult, RecordRequested
    from models.search_attributes import INTEGRATION_SLUG, INTEGRATION_STATE
    from models.states import IntegrationState
    from workflows.policies import LOCAL_HEARTBEATING_STEP, LOCAL_STEP


@workflow.defn(name="IntegrationIntakeWorkflow")
class IntegrationIntakeWorkflow:
    """SPEC process 1, steps 1-2: validate the request and register it."""

    def __init__(self) -> None:
        self._step = "starting"

    @workflow.query
    def current_step(self) -> str:
        return self._step

    @workflow.run
    async def run(self, intake: IntakeInput) -> IntakeResult:
        self._step = "validating"
        parsed = await workflow.execute_activity(
            validate_request, intake,
            **LOCAL_STEP,
        )
        if not parsed.ok or parsed.request is None:
            self._step = "invalid"
            workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(IntegrationState.FAILED)])
            return IntakeResult(accepted=False, state=IntegrationState.FAILED,
                                problems=parsed.problems)

        request = parsed.request
        workflow.upsert_search_attributes([INTEGRATION_SLUG.value_set(request.slug)])
        self._step = "recording"
        info = workflow.info()
        ref = await workflow.execute_activity(
            record_requested,
            RecordRequested(request=request, repo=intake.repo, issue_number=intake.issue_number,
                            requested_by=intake.requested_by, workflow_id=info.workflow_id,
                            key=f"{info.workflow_id}/{info.run_id}/requested"),
            **LOCAL_HEARTBEATING_STEP,
        )
        workflow.upsert_search_attributes([INTEGRATION_STATE.value_set(ref.state)])
        self._step = "done"
        return IntakeResult(accepted=True, slug=ref.slug, integration_id=ref.id, state=ref.state)
