"""The scheduled re-verification of every ACTIVE integration (design notes: nightly tests).

A Temporal Schedule (``infra/schedules.py``; interval ``CCB_REVERIFY_INTERVAL_HOURS``) starts
one run: list what is live, check each integration on its deploy host (health, the smoke
checks a fresh version passes, then the integration's generated live checks — its
manifest's ``live_checks`` — against the deployed instance), record each result as an audit
event, and raise the health alert of a failed one (its audit event and its issue's health
comment).
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.deploy.monitoring import record_health_alert
    from activities.github_issues import upsert_bot_comment
    from activities.reverify import live_integrations, record_reverification, reverify_live
    from models.deploy import AlertCommand, Target
    from models.reverify import (
        LiveIntegration,
        RecordReverification,
        Reverification,
        ReverifyInput,
        ReverifySummary,
        VerifyCheck,
    )
    from workflows.deploy import reason_of
    from workflows.policies import ALERT_COMMENT_STEP, LOCAL_STEP, PROBE_STEP, live_checks_step


@workflow.defn(name="ReverifyWorkflow")
class ReverifyWorkflow:
    @workflow.run
    async def run(self, inp: ReverifyInput) -> ReverifySummary:
        info = workflow.info()
        run_key = f"{info.workflow_id}/{info.run_id}"
        live: list[LiveIntegration] = await workflow.execute_activity(
            live_integrations, inp, **LOCAL_STEP)
        results = await asyncio.gather(*(self._verify(target) for target in live))
        for result in results:
            await workflow.execute_activity(
                record_reverification, RecordReverification(result=result, run_id=run_key),
                **LOCAL_STEP)
            if not result.ok:
                await self._alert(result, run_key)
        return ReverifySummary(verified=list(results))

    async def _verify(self, target: LiveIntegration) -> Reverification:
        try:
            result: Reverification = await workflow.execute_activity(
                reverify_live, target, **live_checks_step(target.host))
            return result
        except ActivityError as exc:  # the host did not answer: that is a failed check too
            return Reverification(slug=target.slug, environment=target.environment,
                                  version=target.version, ok=False, checks=[VerifyCheck(
                                      name="health", ok=False, detail=reason_of(exc))])

    async def _alert(self, result: Reverification, run_key: str) -> None:
        target = Target(slug=result.slug, environment=result.environment,
                        workflow_id=workflow.info().workflow_id)
        comment = await workflow.execute_activity(
            record_health_alert,
            AlertCommand(target=target, reason=f"re-verification failed: {result.reason}",
                         version=result.version, failures=1,
                         alert_id=f"{run_key}/alert/{result.environment}/{result.slug}"),
            **PROBE_STEP)
        if comment is not None:
            try:
                await workflow.execute_activity(upsert_bot_comment, comment,
                                                **ALERT_COMMENT_STEP)
            except ActivityError as exc:  # the audit event is the alert of record
                workflow.logger.warning("re-verification comment not posted: %s", exc)
