"""Incidents (issue 13, item 6): a critical health failure opens one incident issue on the
forge, later failed checks add no second issue, a warning that becomes critical pages on-call
once, recovery closes it. The monitor, its incident activities, the registry and the forge
are real; in the first test only the probe answers from a script (what the instance would
say), in the second a real container fails its requests behind the real proxy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.deploy.incidents import INCIDENT_ACTIVITIES
from activities.deploy.monitoring import plan_rollback, record_health_alert
from activities.deploy.traffic_steps import proxy_of
from activities.github_issues import upsert_bot_comment
from infra.settings import get_settings
from models.deploy import DeployInput, MonitorInput, ProbeResult, Target, monitor_workflow_id
from models.health import HealthPolicy
from registry.store import open_registry
from rules.task_queues import Capability, queue_for
from tests.creation_helpers import World, _forge_world
from tests.deploy_helpers import deploy_environment, deploy_worker, faulty_files, quick_tuning
from tests.deploy_helpers import register as register_integration
from tests.figures import figure
from tests.test_deploy_workflow import deploy, slug_for
from tests.traffic_helpers import get
from workflows.monitor import HealthMonitorWorkflow

SLOW = ProbeResult(ok=True, version="1.0.0", latency_ms=4000.0)
DEGRADED = ProbeResult(ok=True, version="1.0.0", degraded="cache cold")
DOWN = ProbeResult(ok=False, version="1.0.0", reason="the instance dev-x-green is gone")
HEALTHY = ProbeResult(ok=True, version="1.0.0")
# Two slow checks open a warning incident, a degraded one adds to it, twelve failed checks
# make it critical (on-call paged once), then it recovers.
SCRIPT = [SLOW, SLOW, DEGRADED, *[DOWN] * 12, HEALTHY, HEALTHY, HEALTHY]


@pytest.fixture(name="world")
def world_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CCB_ON_CALL", "carol")
    with deploy_environment(monkeypatch) as data, _forge_world(data, monkeypatch) as world:
        yield world


def incidents(world: World) -> list:
    return list(world.as_user("alice").get_issues(state="all", labels=["incident"]))


def scripted_probe(script: list[ProbeResult]):
    answers = iter(script)

    @activity.defn(name="probe_live_version")
    def probe(target: Target) -> ProbeResult:
        return next(answers, HEALTHY)
    return probe


async def test_an_incident_opens_once_pages_on_call_once_and_closes_on_recovery(
        client: Client, world: World) -> None:
    slug = slug_for("incident")
    register_integration(open_registry(get_settings().registry_url), slug)
    queue = f"incidents-{uuid.uuid4().hex[:8]}"
    control = [record_health_alert, plan_rollback, upsert_bot_comment, *INCIDENT_ACTIVITIES]
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(client, task_queue=queue, workflows=[HealthMonitorWorkflow],
                          activities=control, activity_executor=executor), \
                Worker(client, task_queue=queue_for(queue, Capability.DEPLOY, ""),
                       activities=[scripted_probe(SCRIPT)], activity_executor=executor):
            state = await client.execute_workflow(
                HealthMonitorWorkflow.run,
                MonitorInput(slug=slug, interval_s=0.05, failure_threshold=2,
                             auto_rollback=False, max_checks=len(SCRIPT), checks_per_run=7),
                id=monitor_workflow_id("development", slug), task_queue=queue,
                result_type=MonitorInput)
    assert state.incidents == 1 and state.incident is None
    [issue] = incidents(world)
    assert issue.state == "closed" and issue.title == f"Incident: {slug} in development"
    assert {label.name for label in issue.labels} == {"incident", "severity:critical"}
    rows = [line for line in issue.body.splitlines() if line.startswith("| 20")]
    assert [row.rsplit("|", 2)[1].strip() for row in rows] == ["2", "1", "12"]
    assert "warning | slow: /health/ready took 4000 ms" in rows[0]
    assert "critical | no healthy instance: the instance dev-x-green is gone" in rows[2]
    comments = [c.body for c in issue.get_comments()]
    assert len(comments) == 2, comments  # paged once when critical, once recovered
    assert comments[0].startswith("@carol this incident is now **critical**")
    assert comments[1].startswith(f"Recovered: {slug} in development passed")
    assert "@carol" not in issue.body  # opened as a warning: nobody paged by its text
    figure(f"incidents: {len(SCRIPT)} checks (2 slow, 1 degraded, 12 failed, 3 healthy) -> "
           f"{len(incidents(world))} incident issue, {len(comments)} comments, closed")


async def test_5xx_answers_behind_the_proxy_open_one_incident_and_quiet_closes_it(
        client: Client, task_queue: str, world: World) -> None:
    """A real container answering 500 to its requests: the proxy's counters make the error
    rate critical; ten more checks under errors add no second issue; when the errors stop the
    window empties and the incident closes."""
    slug = slug_for("errors")
    register_integration(open_registry(get_settings().registry_url), slug)
    proxy = proxy_of("development")
    async with deploy_worker(client, task_queue):
        await deploy(client, task_queue, DeployInput(
            slug=slug, version="1.0.0", files=faulty_files(slug, "1.0.0", mode="errors"),
            tuning=quick_tuning(), start_monitor=False))
        handle = await client.start_workflow(
            HealthMonitorWorkflow.run,
            MonitorInput(slug=slug, interval_s=0.5, failure_threshold=2, auto_rollback=False,
                         policy=HealthPolicy(error_rate=0.5, error_window_checks=3,
                                             min_requests=5)),
            id=monitor_workflow_id("development", slug), task_queue=task_queue,
            result_type=MonitorInput)
        try:
            statuses: set[int] = set()

            async def traffic_until(done: object, limit: int) -> None:
                for _ in range(limit):  # bounded: at most ``limit`` rounds of 0.1 s
                    statuses.add(get(proxy.port, slug)[0])
                    if await done():  # type: ignore[operator]
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError("the monitor did not get there in time")

            async def state() -> MonitorInput:
                return await handle.query("state", result_type=MonitorInput)

            async def opened() -> bool:
                return (await state()).incident is not None
            await traffic_until(opened, 300)
            first = (await state()).checks_done

            async def ten_more() -> bool:
                return (await state()).checks_done >= first + 10
            await traffic_until(ten_more, 300)
            during = incidents(world)
            assert len(during) == 1 and during[0].state == "open"
            assert statuses == {500}
            assert "requests answered 5xx" in during[0].body
            assert "On call: @carol" in during[0].body  # opened critical: paged by its text
            assert during[0].comments == 0
            for _ in range(150):  # quiet now: the window loses its requests
                if (await state()).incident is None:
                    break
                await asyncio.sleep(0.2)
            [issue] = incidents(world)
            assert issue.state == "closed", issue.body
            checks = (await state()).checks_done - first
            figure(f"incidents: 5xx behind the proxy -> 1 incident issue across {checks} more "
                   "checks, closed when the errors stopped")
        finally:
            await handle.terminate("test over")
