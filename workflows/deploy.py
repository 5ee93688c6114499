"""SPEC process 4: a blue-green deployment that rolls itself back.

``run`` wraps the platform concerns (the saga, compensation on failure or cancellation, the
final state); ``_deploy`` reads as the process: gates, image, new colour beside the live one,
health, smoke checks, (approval,) traffic in steps each watched, a final window, then the old
colour drained and removed. Until the switch is committed every failure sends traffic back to
the live colour and removes the new one; after it, nothing is undone.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

from workflows import metrics

with workflow.unsafe.imports_passed_through():
    from activities.deploy.steps import (
        PlanRequest,
        build_version,
        check_gates,
        plan_deployment,
        record_deployment_status,
        retire_color,
        rollback_traffic,
        route_instance,
        run_smoke_checks,
        shift_traffic,
        start_instance,
        wait_until_healthy,
        watch_version,
    )
    from activities.flags import read_feature_flags
    from activities.lifecycle import record_event, record_version, transition_state
    from activities.sync_schedules import ensure_sync_schedule
    from infra.flags import flags_for
    from models.deploy import (
        LOCAL_ISOLATION_NOTE,
        BuildRequest,
        DeployInput,
        DeployKind,
        DeploymentUpdate,
        DeployProgress,
        DeployResult,
        DeployTuning,
        HealthWait,
        Instance,
        LivePlan,
        MonitorInput,
        RetireRequest,
        RollbackTraffic,
        Runtime,
        ShiftRequest,
        SmokeRequest,
        StartRequest,
        Target,
        WatchRequest,
        monitor_workflow_id,
    )
    from models.deployment import DeploymentStatus
    from models.error_types import ErrorType
    from models.events import EventType
    from models.flags import FeatureFlags
    from models.lifecycle import EventCommand, TransitionCommand, VersionCommand
    from models.states import IntegrationState
    from models.sync_job import SyncScheduleRequest
    from rules.sync_job import manifest_interval
    from workflows.errors import BUGS_FAIL_THE_TASK_PATCH, ends_the_run
    from workflows.policies import DEPLOY_BUILD_TIMEOUT, DEPLOY_STEP_TIMEOUT, deploy_step

FLAGS_BY_ACTIVITY_PATCH = "deploy-reads-flags-by-activity"
SYNC_SCHEDULE_PATCH = "deploy-sync-schedule"
# The steps that need the deploy host itself (its Docker engine, its proxy): they go to the
# deploy queue of the host the environment names (rules/task_queues.py); the rest (registry
# writes, flags, gates) stay on the control queue.
HOST_STEPS = frozenset({build_version, start_instance, wait_until_healthy, run_smoke_checks,
                        route_instance, shift_traffic, watch_version, retire_color,
                        rollback_traffic})
# Timeouts and retries of the deployment's steps, in one place.
SLACK = timedelta(minutes=2)  # added to the waits a step does on purpose
S = IntegrationState


def reason_of(exc: BaseException) -> str:
    """The sentence a failed step gave (an activity's ApplicationError message)."""
    while isinstance(exc, ActivityError | ChildWorkflowError) and exc.cause is not None:
        exc = exc.cause
    if isinstance(exc, asyncio.CancelledError):
        return "the deployment was cancelled"
    return str(exc) or type(exc).__name__


@workflow.defn(name="DeployWorkflow")
class DeployWorkflow:
    def __init__(self) -> None:
        self._progress = DeployProgress(step="starting")
        self._approved_by = ""

    @workflow.query
    def status(self) -> DeployProgress:
        return self._progress

    @workflow.update
    def approve_traffic(self, approver: str) -> str:
        """A person lets traffic move to the new version (production)."""
        self._approved_by = approver or "someone"
        return f"traffic approved by {self._approved_by}"

    @approve_traffic.validator
    def _validate_approval(self, approver: str) -> None:
        if self._approved_by:
            raise ValueError(f"traffic was already approved by {self._approved_by}")

    # -- the process ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: DeployInput) -> DeployResult:
        info = workflow.info()
        self._target = Target(slug=inp.slug, environment=inp.environment,
                              deployment_key=f"{info.workflow_id}/{info.run_id}",
                              workflow_id=info.workflow_id)
        self._inp = inp
        self._flags: FeatureFlags = inp.flags or await self._read_flags(inp.environment)
        manifest = inp.files.get(f"integrations/{inp.slug}/manifest.json", "")
        try:
            plan: LivePlan = await self._act(plan_deployment, PlanRequest(
                **self._target.model_dump(), version=inp.version, kind=inp.kind,
                manifest_text=manifest, runtime=inp.runtime, image=inp.image))
        except ActivityError as exc:
            metrics.count_deployment(inp.environment, inp.kind.value, "refused")
            raise ApplicationError(reason_of(exc), type=ErrorType.DEPLOYMENT_REFUSED,
                                   non_retryable=True) from None
        self._plan = plan
        self._tuning: DeployTuning = inp.tuning or plan.tuning
        self._result = DeployResult(
            slug=inp.slug, version=inp.version, environment=inp.environment,
            status=DeploymentStatus.PENDING, color=plan.new_color, image=inp.image_tag,
            endpoint="", runtime=plan.runtime, previous_version=plan.live_version,
            started_at=workflow.now().timestamp())
        if inp.kind == DeployKind.DEPLOY:
            self._progress.step = "gates"
            try:
                await self._act(check_gates, self._target)
            except ActivityError as exc:
                await self._event(EventType.ERROR_OCCURRED, "refused", {
                    "version": inp.version, "environment": inp.environment,
                    "step": "gates", "reason": reason_of(exc)})
                metrics.count_deployment(inp.environment, inp.kind.value, "refused")
                raise ApplicationError(reason_of(exc), type=ErrorType.DEPLOYMENT_REFUSED,
                                       non_retryable=True) from None
        self._moved_to_deploying = False
        if plan.state == S.APPROVED:
            await self._transition(S.DEPLOYING, f"deploying {inp.version} to {inp.environment}")
            self._moved_to_deploying = True
        await self._event(EventType.DEPLOYMENT_STARTED, "started", {
            "version": inp.version, "environment": inp.environment, "kind": inp.kind,
            "color": plan.new_color, "previous_version": plan.live_version})
        self._instance: Instance | None = None
        self._committed = False
        try:
            await self._deploy(inp, plan)
        except (Exception, asyncio.CancelledError) as exc:
            if not ends_the_run(exc) and workflow.patched(BUGS_FAIL_THE_TASK_PATCH):
                raise  # a bug: the task fails and is retried; nothing is rolled back
            reason = reason_of(exc)
            # Shielded: a cancelled deployment still puts traffic back and cleans up.
            await asyncio.shield(asyncio.ensure_future(self._undo(reason)))
            metrics.count_deployment(inp.environment, inp.kind.value, "rolled_back")
            raise ApplicationError(
                f"deployment of {inp.slug} {inp.version} to {inp.environment} rolled back: "
                f"{reason}", type=ErrorType.DEPLOYMENT_ROLLED_BACK, non_retryable=True) from None
        return await self._finish(inp, plan)

    async def _deploy(self, inp: DeployInput, plan: LivePlan) -> None:
        t, tuning = self._target, self._tuning
        await self._record(DeploymentStatus.BUILDING)
        self._progress = DeployProgress(step="build", color=plan.new_color)
        image = inp.image
        if inp.kind == DeployKind.DEPLOY:
            built = await self._act(build_version, BuildRequest(
                target=t, version=inp.version, tag=inp.image_tag, files=inp.files,
                runtime=plan.runtime), limit=DEPLOY_BUILD_TIMEOUT)
            image = built.tag
            self._result.isolation_note = built.isolation_note
        elif plan.runtime == Runtime.LOCAL:
            self._result.isolation_note = LOCAL_ISOLATION_NOTE
        self._result.image = image

        await self._record(DeploymentStatus.STARTING)
        self._progress.step = "start"
        self._instance = await self._act(start_instance, StartRequest(
            target=t, version=inp.version, image=image, color=plan.new_color,
            runtime=plan.runtime, tuning=tuning))
        inst: Instance = self._instance
        self._result.endpoint = inst.endpoint
        await self._record(DeploymentStatus.STARTING)
        self._progress.step = "health"
        await self._act(wait_until_healthy, HealthWait(
            target=t, instance=inst, timeout_s=tuning.health_timeout_s,
            health_path=plan.health_path), limit=_plus(tuning.health_timeout_s))
        self._progress.step = "smoke"
        await self._act(run_smoke_checks, SmokeRequest(target=t, instance=inst,
                                                       capabilities=plan.capabilities))

        if self._flags.traffic_approval and not inp.traffic_approved:
            self._progress = DeployProgress(step="approval", color=inst.color,
                                            waiting_for_approval=True,
                                            detail="send the approve_traffic update")
            try:
                await workflow.wait_condition(lambda: bool(self._approved_by),
                                              timeout=timedelta(seconds=tuning.approval_timeout_s))
            except TimeoutError:
                raise ApplicationError(
                    f"nobody approved the traffic switch within {tuning.approval_timeout_s:g} s",
                    type=ErrorType.APPROVAL_EXPIRED, non_retryable=True) from None
            self._progress.waiting_for_approval = False

        await self._act(route_instance, ShiftRequest(target=t, instance=inst, percent=0))
        await self._record(DeploymentStatus.SHIFTING)
        first = plan.live_color is None
        steps = [100] if first else tuning.steps
        for percent in steps:
            self._progress = DeployProgress(step="shift", color=inst.color, percent=percent)
            done_at = await self._act(shift_traffic, ShiftRequest(target=t, instance=inst,
                                                                 percent=percent))
            self._result.first_shift_at = self._result.first_shift_at or done_at
            if percent < 100 and tuning.step_pause_s:
                await self._watch(inst, tuning.step_pause_s)
        self._result.full_shift_at = done_at
        await self._record(DeploymentStatus.WATCHING)
        self._progress = DeployProgress(step="window", color=inst.color, percent=100)
        if tuning.window_s:
            await self._watch(inst, tuning.window_s)

    async def _watch(self, inst: Instance, seconds: float) -> None:
        await self._act(watch_version, WatchRequest(
            target=self._target, instance=inst, seconds=seconds, tuning=self._tuning),
            limit=_plus(seconds))

    async def _finish(self, inp: DeployInput, plan: LivePlan) -> DeployResult:
        """Commit: the new colour is live in the registry, then the old one is retired."""
        assert self._instance is not None
        self._committed = True
        self._progress = DeployProgress(step="retire old", color=self._instance.color,
                                        percent=100)
        await self._record(DeploymentStatus.LIVE)
        if plan.live_color is not None:
            await self._act(retire_color, RetireRequest(
                target=self._target, color=plan.live_color,
                drain_timeout_s=self._tuning.drain_timeout_s),
                limit=_plus(self._tuning.drain_timeout_s))
        if inp.kind == DeployKind.DEPLOY:
            await self._act(record_version, VersionCommand(
                slug=inp.slug, version=inp.version, commit_sha=inp.commit_sha,
                manifest=_manifest_dict(inp)))
        if self._moved_to_deploying:
            await self._transition(S.ACTIVE, f"{inp.version} live in {inp.environment}")
            await self._event(EventType.INTEGRATION_ACTIVATED, "activated",
                              {"version": inp.version, "environment": inp.environment})
        await self._event(EventType.DEPLOYMENT_COMPLETED, "completed", {
            "version": inp.version, "environment": inp.environment, "status": "live",
            "color": self._instance.color, "image": self._result.image,
            "runtime": self._result.runtime, "isolation": self._result.isolation_note})
        if inp.start_monitor:
            await self._start_monitor(inp, plan)
        every = manifest_interval(inp.files.get(f"integrations/{inp.slug}/manifest.json", ""))
        if every and workflow.patched(SYNC_SCHEDULE_PATCH):
            await self._sync_schedule(inp, plan, every)
        self._result.status = DeploymentStatus.LIVE
        self._result.finished_at = workflow.now().timestamp()
        self._progress.step = "done"
        metrics.count_deployment(inp.environment, inp.kind.value, "live")
        return self._result

    async def _sync_schedule(self, inp: DeployInput, plan: LivePlan, every: int) -> None:
        """A sync job's schedule, once it is live. The version is live whatever happens
        here: a schedule that cannot be made is said in an event, never a rollback."""
        try:
            await self._act(ensure_sync_schedule, SyncScheduleRequest(
                slug=inp.slug, environment=inp.environment, interval_seconds=every,
                host=plan.host))
        except ActivityError as exc:
            await self._event(EventType.ERROR_OCCURRED, "sync-schedule", {
                "version": inp.version, "environment": inp.environment,
                "step": "sync schedule", "reason": reason_of(exc)})

    async def _start_monitor(self, inp: DeployInput, plan: LivePlan) -> None:
        await start_health_monitor(MonitorInput(
            slug=inp.slug, environment=inp.environment, interval_s=plan.health_interval_s,
            host=plan.host))

    # -- compensation --------------------------------------------------------------------------

    async def _undo(self, reason: str) -> None:
        inp, plan = self._inp, self._plan
        self._progress = DeployProgress(step="rolling back", color=plan.new_color,
                                        detail=reason)
        try:
            await self._act(rollback_traffic, RollbackTraffic(
                target=self._target, new_color=plan.new_color, live_color=plan.live_color,
                drain_timeout_s=self._tuning.drain_timeout_s),
                limit=_plus(self._tuning.drain_timeout_s))
        finally:
            await self._record(DeploymentStatus.ROLLED_BACK, reason=reason)
            if self._moved_to_deploying:
                await self._transition(S.FAILED, f"deployment rolled back: {reason}"[:500])
            await self._event(EventType.ERROR_OCCURRED, "rolled-back", {
                "version": inp.version, "environment": inp.environment, "reason": reason,
                "step": "deployment", "rolled_back_to": plan.live_version})
            self._progress.step = "rolled back"

    # -- small helpers -------------------------------------------------------------------------

    async def _read_flags(self, environment: str) -> FeatureFlags:
        """The environment's flags, through history (an activity): settings are read by
        activities, never by workflow code. Earlier runs read them in place."""
        if workflow.patched(FLAGS_BY_ACTIVITY_PATCH):
            flags: FeatureFlags = await self._act(read_feature_flags, environment)
            return flags
        return flags_for(environment)

    async def _act(self, fn: Any, arg: object, limit: timedelta = DEPLOY_STEP_TIMEOUT) -> Any:
        """A step; one that needs the deploy host goes to the queue of the plan's host."""
        plan: LivePlan | None = getattr(self, "_plan", None)
        host = (plan.host if plan else "") if fn in HOST_STEPS else None
        return await workflow.execute_activity(fn, arg, **deploy_step(limit, host))

    async def _record(self, status: DeploymentStatus, reason: str = "") -> None:
        inst = self._instance if hasattr(self, "_instance") else None
        await self._act(record_deployment_status, DeploymentUpdate(
            target=self._target, version=self._inp.version, color=self._plan.new_color,
            status=status, image=self._result.image, endpoint=inst.endpoint if inst else "",
            reason=reason[:1000]))

    async def _transition(self, target: IntegrationState, reason: str) -> None:
        key = f"{self._target.deployment_key}/{target}"
        await self._act(transition_state, TransitionCommand(
            slug=self._inp.slug, target=target, actor=self._inp.actor, reason=reason,
            workflow_id=self._target.workflow_id, key=key))

    async def _event(self, kind: EventType, name: str, payload: dict[str, object]) -> None:
        await self._act(record_event, EventCommand(
            event_id=f"{self._target.deployment_key}/{name}", type=kind, slug=self._inp.slug,
            payload=payload, metadata={"workflow_id": self._target.workflow_id}))


async def start_health_monitor(monitor: MonitorInput) -> None:
    """The integration's health monitor in one environment, started once and left running
    (it reads the live deployment from the registry at each check, so a running one needs
    nothing). Started by type name: workflows/monitor.py imports this module (it deploys
    rollbacks). Used by deployments and by resume."""
    try:
        await workflow.start_child_workflow(
            "HealthMonitorWorkflow", monitor,
            id=monitor_workflow_id(monitor.environment, monitor.slug),
            parent_close_policy=ParentClosePolicy.ABANDON)
    except WorkflowAlreadyStartedError:
        workflow.logger.info("the health monitor of %s in %s already runs", monitor.slug,
                             monitor.environment)


def _plus(seconds: float) -> timedelta:
    return timedelta(seconds=seconds) + SLACK


def _manifest_dict(inp: DeployInput) -> dict[str, object]:
    import json

    text = inp.files.get(f"integrations/{inp.slug}/manifest.json", "")
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
