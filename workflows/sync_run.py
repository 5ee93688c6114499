"""One scheduled run of a sync job (started by its Temporal Schedule, ``ccb-sync-...``):
the instance's ``POST /sync`` called on its deploy host. The job keeps its own cursor, so
a run that fails leaves the next one to resume where it stopped."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.sync_schedules import SYNC_CALL_TIMEOUT_S, call_sync
    from models.sync_job import SyncRunInput, SyncRunResult
    from workflows.policies import deploy_step


@workflow.defn(name="SyncRunWorkflow")
class SyncRunWorkflow:
    @workflow.run
    async def run(self, inp: SyncRunInput) -> SyncRunResult:
        result: SyncRunResult = await workflow.execute_activity(
            call_sync, inp,
            **deploy_step(timedelta(seconds=SYNC_CALL_TIMEOUT_S + 60), host=inp.host))
        return result
