"""A workflow and an activity that record every metric of the catalogue once (a module of
its own: the workflow sandbox re-imports it, so it imports little)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from activities import metrics as activity_metrics
    from models import metrics as m
    from models.codegen import TokenUsage
    from workflows import metrics as workflow_metrics


@activity.defn
def use_model_and_sandbox() -> None:
    """What the Claude backend and the sandbox adapter record, once."""
    activity_metrics.record_model_usage("claude-test", TokenUsage(
        input_tokens=100, output_tokens=20, cache_read_input_tokens=5, cost_usd=0.0123))
    activity_metrics.record_sandbox_run("docker", "passed", 3.5)


@workflow.defn
class EveryMetricWorkflow:
    """Calls every recorder of workflows/metrics.py, then the activity above."""

    @workflow.run
    async def run(self) -> None:
        workflow_metrics.count_request("creation", "active")
        for name in (m.REQUEST_TO_PR, m.REQUEST_TO_MERGE, m.REQUEST_TO_ACTIVE):
            workflow_metrics.since_request(name, "creation")
        workflow_metrics.human_wait("creation", "approved", 42.0)
        workflow_metrics.count_deployment("development", "deploy", "live")
        workflow_metrics.count_rollback("development", "done")
        workflow_metrics.count_health_failure("development")
        workflow_metrics.count_incident("development", "critical", "opened")
        await workflow.execute_activity(use_model_and_sandbox,
                                        start_to_close_timeout=timedelta(seconds=30))
