"""SPEC lifecycle: one merged version promoted through the environments (issue 13 item 1).

Started when a creation or update has deployed to the first environment (or by ``ccb
promote`` / ``/promote`` to resume one that stopped). In order, for each later environment:
the version's generated live checks must have passed against it in the one before (they are
run here, against that instance, and recorded for the version at its commit); an
environment entered on ``approval`` waits durably for a person's ``promote`` update bound
to the commit; the gates recorded for that commit are checked; then ``DeployWorkflow``
moves the same version, at the same commit, in blue-green. Every step shows in one
environments comment on the request issue; a wait for a person is a new comment that
mentions the requester, so someone is notified.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.github_issues import upsert_bot_comment
    from activities.github_review import read_repo_files
    from activities.lifecycle import record_event
    from activities.promotion import check_promotion_gates, older_versions, promotion_plan
    from activities.reverify import reverify_live
    from models.deploy import DeployInput, DeployResult, deploy_workflow_id
    from models.deployment import Environment
    from models.events import EventType
    from models.flags import PromotionPolicy
    from models.github import UpsertComment
    from models.lifecycle import EventCommand
    from models.promotion import (
        EnvironmentStep,
        GateVerdict,
        OlderVersionsQuery,
        PromoteAnswer,
        PromoteRequest,
        PromotionGateQuery,
        PromotionInput,
        PromotionPlan,
        PromotionPlanQuery,
        PromotionProgress,
        PromotionResult,
        StepStatus,
        SupersededBy,
        promotion_workflow_id,
    )
    from models.reverify import LiveIntegration, Reverification
    from models.update import RepoFilesQuery
    from workflows.approval import BOT_LOGINS
    from workflows.deploy import DeployWorkflow, reason_of
    from workflows.policies import GITHUB_STEP, LOCAL_STEP, live_checks_step
    from workflows.promotion_texts import environments_comment, waiting_comment

BOT = "ccb-bot"
# Earlier runs left an older version's promotion waiting; now a newer one ends it.
SUPERSEDES_PATCH = "promotion-supersedes-older"


@workflow.defn(name="PromotionWorkflow")
class PromotionWorkflow:
    def __init__(self) -> None:
        self._inp: PromotionInput | None = None
        self._progress: PromotionProgress | None = None
        self._approvals: dict[Environment, PromoteRequest] = {}
        self._hosts: dict[str, str] = {}
        self._superseded_by: SupersededBy | None = None

    # -- messages ------------------------------------------------------------------------------

    @workflow.query
    def progress(self) -> PromotionProgress | None:
        return self._progress

    @workflow.signal
    def superseded(self, newer: SupersededBy) -> None:
        """A newer version's promotion started: a wait for a person here ends."""
        self._superseded_by = self._superseded_by or newer

    @workflow.update
    async def promote(self, request: PromoteRequest) -> PromoteAnswer:
        """A person lets the version into ``request.environment`` (bound to its commit)."""
        assert self._inp is not None
        inp, step = self._inp, self._step(request.environment)
        approved_at = workflow.now()
        self._approvals[request.environment] = request
        if step is not None:
            step.approved_by, step.approved_at = request.approver, approved_at
        await workflow.execute_activity(record_event, EventCommand(
            event_id=f"{workflow.info().workflow_id}/{workflow.info().run_id}/approved/"
                     f"{request.environment}",
            type=EventType.PROMOTION_APPROVED, slug=inp.slug,
            payload={"environment": request.environment.value, "version": inp.version,
                     "commit_sha": inp.commit_sha, "approved_by": request.approver,
                     "source": request.source, "approved_at": approved_at.isoformat()},
            metadata={"workflow_id": workflow.info().workflow_id}), **LOCAL_STEP)
        return PromoteAnswer(accepted=True, message=(
            f"{inp.slug} {inp.version} ({inp.commit_sha[:7]}) goes to {request.environment} "
            f"once its gates pass; approved by {request.approver}"))

    @promote.validator
    def _validate_promote(self, request: PromoteRequest) -> None:
        problem = self._approval_problem(request)
        if problem:
            raise ValueError(problem)

    def _approval_problem(self, request: PromoteRequest) -> str:
        """Why this approval cannot be taken ('' when it can): bound to the commit, for an
        environment still ahead that is entered on approval, from a person."""
        inp = self._inp
        if inp is None or self._progress is None:
            return "the promotion is still starting: try again in a moment"
        env = request.environment
        step = self._step(env)
        if step is None:
            order = ", ".join(s.environment.value for s in self._progress.environments)
            return f"{env} is not an environment this promotion goes to ({order})"
        if step.status == StepStatus.LIVE or env == inp.from_environment:
            return f"{inp.slug} {inp.version} is already live in {env}"
        if step.status in (StepStatus.FAILED, StepStatus.STOPPED):
            return (f"the promotion to {env} has ended ({step.detail}): ask again with "
                    f"`ccb promote {inp.slug} --to {env}`")
        if step.policy != PromotionPolicy.APPROVAL:
            return (f"{env} is entered {step.policy.value} (its promotion flag): there is "
                    "nothing to approve")
        if env in self._approvals:
            return f"{env} was already approved by {self._approvals[env].approver}"
        if request.approver.lower() in BOT_LOGINS:
            return "the bot never approves a promotion: a person must"
        sha = request.commit_sha.lower()
        if sha and (len(sha) < 7 or not inp.commit_sha.lower().startswith(sha)):
            return (f"{sha} is not the commit {inp.version} merged at: promote "
                    f"{inp.commit_sha[:7]} (approvals are bound to the commit)")
        return ""

    # -- the process ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: PromotionInput) -> PromotionResult:
        self._inp = inp
        plan: PromotionPlan = await workflow.execute_local_activity(
            promotion_plan, PromotionPlanQuery(from_environment=inp.from_environment),
            start_to_close_timeout=timedelta(seconds=30))
        first = EnvironmentStep(environment=inp.from_environment, status=StepStatus.LIVE,
                                detail="deployed")
        self._progress = PromotionProgress(slug=inp.slug, version=inp.version,
                                           commit_sha=inp.commit_sha,
                                           environments=[first, *plan.steps])
        self._hosts = plan.hosts
        if workflow.patched(SUPERSEDES_PATCH):
            await self._supersede_older(inp)
        for early in inp.approvals:  # given with a restart (`ccb promote`, `/promote`)
            if not self._approval_problem(early):
                self._approvals[early.environment] = early
        if not plan.steps:
            return self._result(inp.from_environment, "")
        reached, stopped = inp.from_environment, ""
        problem = await self._verify(first)
        if problem:
            stopped = first.detail = problem  # still live there, but it goes no further
        for step in plan.steps:
            if stopped:
                step.status, step.detail = StepStatus.STOPPED, "not reached"
                continue
            stopped = await self._enter(step, reached)
            if not stopped:
                reached = step.environment
        await self._publish()
        return self._result(reached, stopped)

    async def _enter(self, step: EnvironmentStep, previous: Environment) -> str:
        """Promote into ``step``'s environment; '' when the version is live there, else why
        it stopped."""
        inp, env = self._require(), step.environment
        if step.policy == PromotionPolicy.OFF:
            return self._stop(step, StepStatus.STOPPED, f"promotion to {env} is off (its "
                              "`promotion` flag): deploy it with `ccb deploy` if you must")
        if step.policy == PromotionPolicy.APPROVAL and env not in self._approvals:
            if not await self._await_approval(step, previous):
                newer = self._superseded_by
                if newer is not None:
                    return self._stop(step, StepStatus.STOPPED, (
                        f"superseded: {newer.version} was merged after it and is being "
                        f"promoted; `ccb promote {inp.slug} --to {env} --version "
                        f"{inp.version}` still promotes this one"))
                return self._stop(step, StepStatus.STOPPED,
                                  f"nobody promoted it to {env} within "
                                  f"{inp.approval_expiry.days} days: `/promote {env}` later "
                                  "restarts it")
        approval = self._approvals.get(env)
        if approval is not None:
            step.approved_by = approval.approver
            step.approved_at = step.approved_at or workflow.now()
        verdict: GateVerdict = await workflow.execute_activity(
            check_promotion_gates, PromotionGateQuery(
                slug=inp.slug, version=inp.version, commit_sha=inp.commit_sha,
                previous=previous, approver=approval.approver if approval else "",
                needs_approval=step.policy == PromotionPolicy.APPROVAL), **LOCAL_STEP)
        if not verdict.ok:
            return self._stop(step, StepStatus.FAILED, "gates: " + "; ".join(verdict.problems))
        step.status, step.detail = StepStatus.DEPLOYING, f"deploying from {previous}"
        await self._publish()
        try:
            files: dict[str, str] = await workflow.execute_activity(
                read_repo_files, RepoFilesQuery(repo=inp.repo,
                                                prefix=f"integrations/{inp.slug}/",
                                                ref=inp.commit_sha), **GITHUB_STEP)
        except ActivityError as exc:
            return self._stop(step, StepStatus.FAILED, f"its files at {inp.commit_sha[:7]} "
                              f"could not be read: {reason_of(exc)}")
        if not files:
            return self._stop(step, StepStatus.FAILED, f"{inp.repo} has no "
                              f"integrations/{inp.slug}/ at {inp.commit_sha[:7]}")
        try:
            deployed: DeployResult = await workflow.execute_child_workflow(
                DeployWorkflow.run,
                DeployInput(slug=inp.slug, version=inp.version, environment=env, files=files,
                            commit_sha=inp.commit_sha, traffic_approved=approval is not None,
                            actor=approval.approver if approval else BOT,
                            reason=f"promoted from {previous}"),
                id=deploy_workflow_id(env, inp.slug, inp.version),
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL)  # it undoes itself
        except ChildWorkflowError as exc:
            return self._stop(step, StepStatus.FAILED, reason_of(exc))
        step.status = StepStatus.CHECKING
        step.detail = f"{deployed.color.value} live; running its live checks"
        await self._publish()
        problem = await self._verify(step)
        if problem:
            return self._stop(step, StepStatus.FAILED, problem)
        step.status = StepStatus.LIVE
        return ""

    async def _verify(self, step: EnvironmentStep) -> str:
        """The version's instance in ``step``'s environment: health, smoke checks and its
        generated live checks, recorded for the version at its commit. '' when they pass."""
        inp = self._require()
        env = step.environment
        try:
            result: Reverification = await workflow.execute_activity(
                reverify_live, LiveIntegration(slug=inp.slug, environment=env,
                                               version=inp.version, host=""),
                **live_checks_step(self._hosts.get(env.value, "")))
            ok, detail = result.ok and result.version == inp.version, result.reason
            if result.version != inp.version:
                detail = f"{env} serves {result.version or 'nothing'}, not {inp.version}"
            checks = [c.model_dump() for c in result.checks]
        except ActivityError as exc:
            ok, detail, checks = False, reason_of(exc), []
        await workflow.execute_activity(record_event, EventCommand(
            event_id=f"{workflow.info().workflow_id}/{workflow.info().run_id}/verified/{env}",
            type=EventType.VERIFICATION_COMPLETED, slug=inp.slug,
            payload={"environment": env.value, "version": inp.version,
                     "commit_sha": inp.commit_sha, "ok": ok, "checks": checks,
                     "kind": "promotion"},
            metadata={"workflow_id": workflow.info().workflow_id}), **LOCAL_STEP)
        if ok:
            step.detail = "live; " + (next((c["detail"] for c in checks
                                            if c["name"] == "generated tests"), "")
                                      or "health and smoke checks passed")
            return ""
        return f"live checks failed in {env}: {detail}"

    async def _await_approval(self, step: EnvironmentStep, previous: Environment) -> bool:
        """Wait (durably) for a person's ``promote`` of this environment, up to the expiry."""
        inp, env = self._require(), step.environment
        step.status = StepStatus.WAITING
        step.detail = "waiting for a person with write access to promote it"
        self._progress_required().waiting_for = env
        await self._publish()
        if inp.repo and inp.issue_number:
            await workflow.execute_activity(upsert_bot_comment, UpsertComment(
                repo=inp.repo, number=inp.issue_number, marker=f"promotion-waiting-{env}",
                body=waiting_comment(inp, env, previous)), **GITHUB_STEP)
        try:
            await workflow.wait_condition(
                lambda: env in self._approvals or self._superseded_by is not None,
                timeout=inp.approval_expiry)
            if env not in self._approvals:
                return False  # superseded by a newer version's promotion
        except TimeoutError:
            return False
        finally:
            self._progress_required().waiting_for = None
        return True

    async def _supersede_older(self, inp: PromotionInput) -> None:
        """Tell the promotions of older versions (one may still wait for a person) that this
        version supersedes them; one that has ended, or never ran, is not there to tell."""
        older: list[str] = await workflow.execute_activity(
            older_versions, OlderVersionsQuery(slug=inp.slug, version=inp.version),
            **LOCAL_STEP)
        for version in older:
            try:
                await workflow.get_external_workflow_handle(
                    promotion_workflow_id(inp.slug, version)).signal(
                    PromotionWorkflow.superseded,
                    SupersededBy(version=inp.version, commit_sha=inp.commit_sha))
            except FailureError:
                continue

    # -- small helpers -------------------------------------------------------------------------

    def _stop(self, step: EnvironmentStep, status: StepStatus, why: str) -> str:
        step.status, step.detail = status, why
        return why

    def _step(self, env: Environment) -> EnvironmentStep | None:
        progress = self._progress
        if progress is None:
            return None
        return next((s for s in progress.environments if s.environment == env), None)

    def _require(self) -> PromotionInput:
        assert self._inp is not None
        return self._inp

    def _progress_required(self) -> PromotionProgress:
        assert self._progress is not None
        return self._progress

    async def _publish(self) -> None:
        inp, progress = self._require(), self._progress_required()
        if not (inp.repo and inp.issue_number):
            return
        try:
            await workflow.execute_activity(upsert_bot_comment, UpsertComment(
                repo=inp.repo, number=inp.issue_number, marker="environments",
                body=environments_comment(progress)), **GITHUB_STEP)
        except ActivityError as exc:  # the comment shows progress; the promotion goes on
            workflow.logger.warning("environments comment not updated: %s", exc)

    def _result(self, reached: Environment, stopped: str) -> PromotionResult:
        inp, progress = self._require(), self._progress_required()
        progress.finished = True
        return PromotionResult(slug=inp.slug, version=inp.version, reached=reached,
                               environments=progress.environments, stopped=stopped)
