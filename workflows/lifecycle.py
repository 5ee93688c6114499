"""Pause, resume and deprecate one integration in every environment it is live in (issue 13
item 2), as a recorded transition with the person and the reason.

* pause: each environment's health monitor stopped, both colours put in maintenance (the
  proxy answers for it; the instance keeps running), then ACTIVE -> PAUSED;
* resume: every paused instance must answer its health path first (else nothing changes),
  then its colour gets the traffic back, its monitor starts again, PAUSED -> ACTIVE;
* deprecate: monitors stopped, every instance removed (images kept), the proxy's backend
  slot freed, the deployments retired, -> DEPRECATED; code, versions and history stay.

One action at a time per integration (workflow id ``lifecycle-<slug>``).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.github_issues import upsert_bot_comment
    from activities.lifecycle import record_event, transition_state
    from activities.lifecycle_steps import (
        bring_back_into_traffic,
        check_instance_health,
        lifecycle_targets,
        remove_from_environment,
        take_out_of_traffic,
    )
    from activities.sync_schedules import change_sync_schedules
    from models.deploy import MonitorInput, monitor_workflow_id
    from models.error_types import ErrorType
    from models.events import EventType
    from models.github import UpsertComment
    from models.lifecycle import EventCommand, TransitionCommand
    from models.lifecycle_actions import (
        TARGET_STATE,
        LifecycleAction,
        LifecyclePlan,
        LifecycleRequest,
        LifecycleResult,
        LiveInEnvironment,
    )
    from models.sync_job import SyncScheduleChange, SyncSchedulesCommand
    from rules.inert import inert
    from rules.state_machine import allowed_targets
    from workflows.deploy import start_health_monitor
    from workflows.policies import GITHUB_STEP, LOCAL_STEP, deploy_step

A = LifecycleAction
SYNC_SCHEDULES_PATCH = "lifecycle-sync-schedules"
SCHEDULE_CHANGE = {A.PAUSE: SyncScheduleChange.PAUSE, A.RESUME: SyncScheduleChange.UNPAUSE,
                   A.DEPRECATE: SyncScheduleChange.DELETE}


@workflow.defn(name="LifecycleWorkflow")
class LifecycleWorkflow:
    @workflow.run
    async def run(self, req: LifecycleRequest) -> LifecycleResult:
        plan: LifecyclePlan = await workflow.execute_activity(lifecycle_targets, req,
                                                              **LOCAL_STEP)
        target = TARGET_STATE[req.action]
        if target not in allowed_targets(plan.state):
            raise ApplicationError(
                f"{req.slug} is {plan.state}: it cannot be {_past(req.action)} (from "
                f"{plan.state} it can go to "
                f"{', '.join(sorted(allowed_targets(plan.state))) or 'nothing'})",
                type=ErrorType.LIFECYCLE_REFUSED, non_retryable=True)
        if req.action == A.RESUME:  # all healthy before any gets traffic again
            for live in plan.live:
                await self._host(check_instance_health, live)
        notes = []
        for live in plan.live:
            if req.action in (A.PAUSE, A.DEPRECATE):
                await self._stop_monitor(live)
            step = {A.PAUSE: take_out_of_traffic, A.RESUME: bring_back_into_traffic,
                    A.DEPRECATE: remove_from_environment}[req.action]
            notes.append(await self._host(step, live))
            if req.action == A.RESUME:
                await self._start_monitor(live)
        why = req.reason or f"{_past(req.action)} with {req.source}"
        if workflow.patched(SYNC_SCHEDULES_PATCH):  # a sync job's schedules follow it
            changed: list[str] = await workflow.execute_activity(
                change_sync_schedules, SyncSchedulesCommand(
                    slug=req.slug, change=SCHEDULE_CHANGE[req.action], note=why[:200]),
                **LOCAL_STEP)
            if changed:
                notes.append("its sync schedule " + {A.PAUSE: "paused", A.RESUME: "resumed",
                                                     A.DEPRECATE: "removed"}[req.action])
        info = workflow.info()
        await workflow.execute_activity(transition_state, TransitionCommand(
            slug=req.slug, target=target, actor=req.actor, reason=why[:500],
            workflow_id=info.workflow_id, key=f"{info.workflow_id}/{info.run_id}"),
            **LOCAL_STEP)
        envs = [live.environment for live in plan.live]
        await workflow.execute_activity(record_event, EventCommand(
            event_id=f"{info.workflow_id}/{info.run_id}/{req.action}",
            type=EventType.LIFECYCLE_CHANGED, slug=req.slug,
            payload={"action": req.action.value, "actor": req.actor, "reason": why,
                     "environments": [e.value for e in envs], "notes": notes},
            metadata={"workflow_id": info.workflow_id}), **LOCAL_STEP)
        if plan.repo and plan.issue_number:
            await workflow.execute_activity(upsert_bot_comment, UpsertComment(
                repo=plan.repo, number=plan.issue_number,
                marker=f"lifecycle-{info.run_id}",
                body=(f"`{req.slug}` was {_past(req.action)} by {inert(req.actor)}"
                      f" ({inert(why)}): {', '.join(notes) or 'nothing was live'}.")),
                **GITHUB_STEP)
        return LifecycleResult(slug=req.slug, action=req.action, state=target,
                               environments=envs, detail="; ".join(notes))

    async def _host(self, step: object, live: LiveInEnvironment) -> str:
        result: str = await workflow.execute_activity(step, live,  # type: ignore[call-overload]
                                                      **deploy_step(host=live.host))
        return result

    async def _stop_monitor(self, live: LiveInEnvironment) -> None:
        handle = workflow.get_external_workflow_handle(
            monitor_workflow_id(live.environment, live.slug))
        try:
            await handle.cancel()
        except Exception as exc:  # noqa: BLE001 - none runs (never started, or ended)
            workflow.logger.info("no monitor of %s in %s to stop: %s", live.slug,
                                 live.environment, exc)

    async def _start_monitor(self, live: LiveInEnvironment) -> None:
        await start_health_monitor(MonitorInput(slug=live.slug, environment=live.environment,
                                                interval_s=live.interval_s, host=live.host))


def _past(action: LifecycleAction) -> str:
    return {A.PAUSE: "paused", A.RESUME: "resumed", A.DEPRECATE: "deprecated"}[action]
