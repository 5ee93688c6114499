"""One request through the in-process stack (the session's dev server, the bot's worker on a
client of its own runtime, the starter app behind the forge's signed webhooks, Docker and
HAProxy for the deployment), measured and traced: the worker's and the starter's Prometheus
endpoints show the request, its time to ACTIVE and the SDK's workflow tasks, and an
in-memory span exporter holds one trace from the webhook through every activity."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from infra.metrics_runtime import prometheus_runtime
from infra.settings import get_settings
from infra.temporal import connect
from infra.tracing import provider_tracer
from models import metrics as m
from models.states import IntegrationState
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.deploy_helpers import deploy_environment, free_port, quick_environment_tuning
from tests.figures import figure
from tests.metrics_scrape import scrape, total
from tests.webhook_flow import skip_issue_numbers, wait_for_run, webhook_world

SECRET = "observability-secret"
WORKFLOW = "IntegrationCreationWorkflow"


async def _activity_types(client: Client, workflow_id: str) -> set[str]:
    """Every activity type the workflow scheduled, from its history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return {e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")}


def _request_trace(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """The spans of the one trace the creation workflow's runs belong to. (A later
    ``issues`` delivery of the same issue tries to start it again: that refused start is a
    trace of its own, with no run in it.)"""
    runs = [s for s in spans if s.name == f"RunWorkflow:{WORKFLOW}"]
    traces = {s.context.trace_id for s in runs}
    assert len(traces) == 1, f"the creation's runs are in {len(traces)} traces"
    return [s for s in spans if s.context.trace_id in traces]


@pytest.mark.slow
async def test_one_request_is_measured_and_traced_from_webhook_to_active(
    temporal_address: str, task_queue: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker_port, starter_sdk_port = free_port(), free_port()
    monkeypatch.setenv("CCB_STARTER_SDK_METRICS_PORT", str(starter_sdk_port))
    monkeypatch.setenv("CCB_DEPLOY_TUNING", quick_environment_tuning())
    exporter = InMemorySpanExporter()
    tracer = provider_tracer(exporter, "ccb-test", SimpleSpanProcessor)
    with deploy_environment(monkeypatch) as data, webhook_world(
            data, monkeypatch, temporal_address=temporal_address, task_queue=task_queue,
            secret=SECRET, deploy=True, tracer=tracer) as world:
        skip_issue_numbers(world, 80)  # workflow ids apart from the session's other requests
        runtime = prometheus_runtime("127.0.0.1", worker_port)
        assert runtime is not None
        client = await connect(get_settings(), runtime=runtime, tracer=tracer)
        async with running_worker(client, task_queue):
            issue = world.new_issue()  # issues/opened: the starter starts the creation
            wf_id = world.request_handle(client, issue).id
            handle = await wait_for_run(client, wf_id)
            progress = await wait_for_approval_wait(handle)
            world.as_user("alice").get_pull(progress.pr_number or 0).create_review(
                body="Looks good to me.", event="APPROVE")
            result = await handle.result()
        assert result.state == IntegrationState.ACTIVE

        worker = scrape(f"http://127.0.0.1:{worker_port}/metrics")
        starter = scrape(f"{world.starter_url}/metrics")
        starter_sdk = scrape(f"http://127.0.0.1:{starter_sdk_port}/metrics")
    spans = exporter.get_finished_spans()

    assert total(worker, m.REQUESTS, kind="creation", outcome="active") >= 1
    assert total(worker, m.REQUEST_TO_ACTIVE + "_count", kind="creation") >= 1
    assert total(worker, m.REQUEST_TO_ACTIVE + "_sum", kind="creation") > 0
    assert total(worker, m.REQUEST_TO_PR + "_count", kind="creation") >= 1
    assert total(worker, m.HUMAN_WAIT + "_count", decision="approved") >= 1
    assert total(worker, m.DEPLOYMENTS, environment="development", result="live") >= 1
    assert total(worker, m.SANDBOX_RUN + "_count") >= 1
    tasks = total(worker, "temporal_workflow_task_execution_latency_count",
                  workflow_type=WORKFLOW)
    assert tasks > 0
    assert total(starter, m.STARTER_WEBHOOKS, event="issues", outcome="started") >= 1
    assert total(starter, m.STARTER_WEBHOOKS, event="pull_request_review") >= 1
    assert total(starter_sdk, "temporal_request", operation="StartWorkflowExecution") >= 1

    request = _request_trace(spans)
    names = {s.name for s in request}
    webhooks = [s for s in request if s.name == "webhook"]
    assert len(webhooks) == 1 and webhooks[0].parent is None
    assert webhooks[0].attributes["github.event"] == "issues"
    assert f"RunWorkflow:{WORKFLOW}" in names
    children = {str(s.attributes["temporalWorkflowID"]) for s in request
                if s.name in ("RunWorkflow:CodeReviewWorkflow", "RunWorkflow:DeployWorkflow")
                and s.attributes}
    activities = set()
    for workflow_id in {wf_id, *children}:  # the request's, its review's and deployment's
        activities |= await _activity_types(client, workflow_id)
    missing = {a for a in activities if f"RunActivity:{a}" not in names}
    assert not missing, f"activities outside the request's trace: {sorted(missing)}"
    starts = [s for s in request if s.name == f"StartWorkflow:{WORKFLOW}"]
    assert len(starts) == 1 and starts[0].parent.span_id == webhooks[0].context.span_id
    assert {"RunWorkflow:CodeReviewWorkflow", "RunWorkflow:DeployWorkflow"} <= names
    figure(f"observability: request {wf_id} ACTIVE; worker: "
          f"{total(worker, m.REQUESTS):g} request(s) counted, {tasks:g} workflow tasks of "
          f"{WORKFLOW}; starter: "
          f"{total(starter, m.STARTER_WEBHOOKS):g} webhooks; one trace of {len(request)} "
          f"spans covering the webhook, the workflow start and {len(activities)} activity "
          "types")
