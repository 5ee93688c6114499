"""SPEC process 5: one long-running health monitor per deployed integration and environment.

A durable timer loop: probe the live version at the manifest's interval; after N failures in
a row alert once (audit event, and the issue's one health comment) and, where enabled, roll
back to the last good version as a child deployment. The alert is not repeated until a check
passes again. Alongside, every check is judged for an incident (``workflows/incidents.py``):
critical or warning, one incident issue per incident, closed on recovery. Continue-as-new
every ``checks_per_run`` checks keeps the history bounded.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

from workflows import metrics
from workflows.incidents import INCIDENTS_PATCH, judge

with workflow.unsafe.imports_passed_through():
    from activities.deploy.monitoring import (
        plan_rollback,
        probe_live_version,
        record_health_alert,
    )
    from activities.flags import read_feature_flags
    from activities.github_issues import upsert_bot_comment
    from infra.flags import flags_for
    from models.deploy import (
        AlertCommand,
        DeployInput,
        DeployKind,
        DeployResult,
        MonitorInput,
        ProbeResult,
        RollbackPlan,
        Target,
        deploy_workflow_id,
    )
    from models.flags import FeatureFlags
    from workflows.deploy import FLAGS_BY_ACTIVITY_PATCH, DeployWorkflow, reason_of
    from workflows.policies import ALERT_COMMENT_STEP, PROBE_STEP, probe_step



@workflow.defn(name="HealthMonitorWorkflow")
class HealthMonitorWorkflow:
    def __init__(self) -> None:
        self._state: MonitorInput | None = None
        self._last: ProbeResult | None = None

    @workflow.query
    def state(self) -> MonitorInput:
        assert self._state is not None
        return self._state

    @workflow.run
    async def run(self, inp: MonitorInput) -> MonitorInput:
        self._state = state = inp.model_copy()
        target = Target(slug=inp.slug, environment=inp.environment,
                        workflow_id=workflow.info().workflow_id)
        auto_rollback = inp.auto_rollback
        if auto_rollback is None and workflow.patched(FLAGS_BY_ACTIVITY_PATCH):
            flags: FeatureFlags = await workflow.execute_activity(
                read_feature_flags, inp.environment, **PROBE_STEP)
            auto_rollback = flags.auto_rollback
        elif auto_rollback is None:  # runs started before the patch read settings in place
            auto_rollback = flags_for(inp.environment).auto_rollback
        checks_this_run = 0
        while True:
            probe: ProbeResult = await workflow.execute_activity(
                probe_live_version, target, **probe_step(inp.host))
            self._last = probe
            state.checks_done += 1
            checks_this_run += 1
            if workflow.patched(INCIDENTS_PATCH):
                await judge(state, probe, target.workflow_id)
            if probe.ok:
                state.consecutive_failures, state.alerted = 0, False
            else:
                metrics.count_health_failure(inp.environment)
                state.consecutive_failures += 1
                if state.consecutive_failures >= inp.failure_threshold and not state.alerted:
                    await self._alert(target, state, probe)
                    if auto_rollback:
                        await self._roll_back(target, state)
            if inp.max_checks and state.checks_done >= inp.max_checks:
                return state
            if checks_this_run >= inp.checks_per_run:
                workflow.continue_as_new(state)
            await workflow.sleep(timedelta(seconds=inp.interval_s or probe.interval_s))

    async def _alert(self, target: Target, state: MonitorInput, probe: ProbeResult) -> None:
        state.alerted = True
        state.alerts += 1
        comment = await workflow.execute_activity(
            record_health_alert,
            AlertCommand(target=target, reason=probe.reason, version=probe.version,
                         failures=state.consecutive_failures,
                         alert_id=f"{target.workflow_id}/alert-{state.checks_done}"),
            **PROBE_STEP)
        if comment is not None:
            try:
                await workflow.execute_activity(
                    upsert_bot_comment, comment, **ALERT_COMMENT_STEP)
            except Exception as exc:  # noqa: BLE001 - the audit event is the alert of record
                workflow.logger.warning("health comment not posted: %s", exc)

    async def _roll_back(self, target: Target, state: MonitorInput) -> None:
        plan: RollbackPlan = await workflow.execute_activity(
            plan_rollback, target, **PROBE_STEP)
        if not plan.version:
            workflow.logger.warning("no earlier version of %s to roll back to", target.slug)
            metrics.count_rollback(target.environment, "none")
            return
        try:
            result: DeployResult = await workflow.execute_child_workflow(
                DeployWorkflow.run,
                DeployInput(slug=target.slug, version=plan.version,
                            environment=target.environment, kind=DeployKind.ROLLBACK,
                            image=plan.image, runtime=plan.runtime, traffic_approved=True,
                            start_monitor=False, actor="ccb-health-monitor",
                            tuning=state.rollback_tuning,
                            reason="health checks failed"),
                id=f"{deploy_workflow_id(target.environment, target.slug, plan.version)}"
                   f"-rollback-{state.checks_done}")
            workflow.logger.info("rolled back %s to %s", target.slug, result.version)
            state.consecutive_failures = 0
            metrics.count_rollback(target.environment, "done")
        except ChildWorkflowError as exc:
            metrics.count_rollback(target.environment, "failed")
            workflow.logger.warning("rollback of %s failed: %s", target.slug, reason_of(exc))
