"""Every metric of the catalogue reaches the worker's Prometheus endpoint through the SDK's
meters (a workflow's and an activity's), and the Grafana dashboard queries only metrics
that the worker and the starter export."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from temporalio.worker import Worker

from infra.metrics_runtime import prometheus_runtime
from infra.settings import get_settings
from infra.temporal import connect
from models import metrics as m
from tests.deploy_helpers import free_port
from tests.figures import figure
from tests.metrics_scrape import dashboard_metrics, names, scrape, total
from tests.metrics_workflow import EveryMetricWorkflow, use_model_and_sandbox


async def test_every_metric_reaches_the_worker_endpoint_and_the_dashboard_asks_for_no_other(
    temporal_address: str, task_queue: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CCB_TEMPORAL_ADDRESS", temporal_address)
    get_settings.cache_clear()
    port = free_port()
    runtime = prometheus_runtime("127.0.0.1", port)
    assert runtime is not None
    client = await connect(get_settings(), runtime=runtime)
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(client, task_queue=task_queue, workflows=[EveryMetricWorkflow],
                          activities=[use_model_and_sandbox], activity_executor=executor):
            await client.execute_workflow(EveryMetricWorkflow.run, id=f"metrics-{task_queue}",
                                          task_queue=task_queue)
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    exported = names(samples)
    assert set(m.WORKER_METRICS) <= exported, set(m.WORKER_METRICS) - exported
    assert total(samples, m.MODEL_TOKENS, model="claude-test", kind="input") == 100
    assert total(samples, m.MODEL_COST_MICRODOLLARS, model="claude-test") == 12300
    assert total(samples, m.HUMAN_WAIT + "_sum", decision="approved") == 42.0
    assert total(samples, m.SANDBOX_RUN + "_count", isolation="docker") == 1

    # The starter's own, as its app serves them.
    from starter.app import create_app

    with TestClient(create_app(get_settings())) as starter:
        starter.post("/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "issues"})
        text = starter.get("/metrics").text
    assert f'{m.STARTER_WEBHOOKS}{{event="issues",outcome="unauthorized"}} 1.0' in text
    exported.add(m.STARTER_WEBHOOKS)

    asked = dashboard_metrics()
    assert asked, "the dashboard queries nothing"
    missing = asked - exported
    assert not missing, f"the dashboard queries metrics nobody exports: {sorted(missing)}"
    figure(f"metrics: {len(exported)} exported by the worker and starter, the dashboard "
          f"queries {len(asked)} of them")
