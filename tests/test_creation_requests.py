"""Issue 10 on the embedded stack: ordinary requests people write reach a pull request and go
ACTIVE; a generator that cannot fix its own code stops after one round with an internal
error that never asks the person to edit their request."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.codegen.offline import layout
from activities.deploy.traffic_steps import proxy_of
from infra.secrets import secret_store
from infra.settings import get_settings
from models.creation import Progress
from models.events import EventType
from models.states import IntegrationState
from registry.store import Registry, open_registry
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixtures `world`, `deploying_world`
    World,
    approve,
    deploying_world_fixture,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from tests.figures import figure
from tests.request_space import render_form

OPEN_METEO = render_form({
    "Service name": "Open-Meteo",
    "Integration type": "api-client",
    "Base URL": "https://api.open-meteo.example/v1",
    "Authentication": "none",
    "Endpoints": "GET /forecast?latitude:float&longitude:float&hourly - weather forecast for "
                 "a latitude/longitude\nGET /elevation?latitude:float&longitude:float - "
                 "elevation of a place",
    "Requirements": "Time out after 15 seconds.",
})
TRACKER = render_form({
    "Service name": "Яндекс Трекер 🚀",
    "Integration type": "api-client",
    "Base URL": "https://api.tracker.yandex.example:443/v2/",
    "Authentication": "bearer",
    "Endpoints": "GET /issues/{issue-key} - одна задача\nGET /issues/_search?query&perPage:int"
                 " - найти задачи\nPOST /issues/ - создать задачу",
})


def _activities(history: object, name: str) -> int:
    return sum(1 for e in history.events  # type: ignore[attr-defined]
               if e.HasField("activity_task_scheduled_event_attributes")
               and e.activity_task_scheduled_event_attributes.activity_type.name == name)


@pytest.mark.slow
async def test_ordinary_requests_become_tested_pull_requests_and_active_integrations(
    client: Client, task_queue: str, deploying_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = deploying_world
    # the maintainer's token, as `ccb secrets set yandeks-treker YANDEKS_TREKER_TOKEN` stores it
    secret_store().set("yandeks-treker", "YANDEKS_TREKER_TOKEN", "test-placeholder-token")
    registry = open_registry(get_settings().registry_url)
    async with running_worker(client, task_queue):
        for body, slug, name in [(OPEN_METEO, "open-meteo", "Open-Meteo"),
                                 (TRACKER, "yandeks-treker", "Яндекс Трекер 🚀")]:
            issue = world.new_issue(body, title=f"[Integration] {name}")
            handle = await start_creation(client, world, issue, task_queue, body=body)
            progress = await wait_for_approval_wait(handle)
            assert progress.slug == slug and progress.pr_number
            tests = [e for e in registry.events(slug) if e.type == EventType.TESTS_COMPLETED]
            assert tests and tests[-1].payload["passed"] is True
            assert tests[-1].payload["coverage_percent"] >= 80
            assert tests[-1].payload["isolation"].startswith("docker")
            pull = world.as_user("alice").get_pull(progress.pr_number)
            assert name in pull.title
            await approve(handle)
            result = await handle.result()
            assert result.state == IntegrationState.ACTIVE and result.slug == slug
            assert registry.get(slug).state == IntegrationState.ACTIVE
            assert registry.get(slug).name == name
            ready = httpx.get(f"http://127.0.0.1:{proxy_of('development').port}/health/ready",
                              headers={"Host": slug}, timeout=10)
            assert ready.status_code == 200, ready.text
            figure(f"{name!r} -> {slug}: PR #{progress.pr_number}, "
                   f"{tests[-1].payload['tests']} tests, coverage "
                   f"{tests[-1].payload['coverage_percent']:.1f}%, ACTIVE, ready through the proxy")


async def test_a_broken_template_ends_after_one_round_with_an_internal_error(
    client: Client, task_queue: str, world: World, registry: Registry,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    broken = tmp_path / "templates"
    shutil.copytree(layout.TEMPLATES, broken)
    service = broken / "service.py.tmpl"
    service.write_text("import os\n" + service.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(layout, "TEMPLATES", broken)  # the bot's own bug: an unused import

    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        progress = await handle.query("progress", result_type=Progress)
        history = await handle.fetch_history()

    cause = failed.value.cause
    assert getattr(cause, "type", "") == "InternalGenerationStalled", cause
    assert progress.error_category == "internal"
    assert _activities(history, "check_generated_code") == 1  # one round, not three
    assert _activities(history, "run_generated_tests") == 0
    comment = world.progress_comment(issue)
    assert "**Failed** (internal error)" in comment
    assert world.ending_comment(issue).startswith(
        "@alice The integration request stopped because of an error in the bot itself")
    assert "This is the bot's fault, not your request's" in comment
    # the finding's text is inert in the comment (its backticks written as &#96;)
    assert progress.workflow_id in comment
    assert "ruff F401: &#96;os&#96; imported but unused" in comment
    assert "edit the issue" not in comment.lower()
    assert world.branches() == ["main"] and world.pulls() == []
    assert registry.get("acme-weather").state == IntegrationState.FAILED
    errors = [e for e in registry.events("acme-weather") if e.type == EventType.ERROR_OCCURRED]
    assert errors and errors[-1].payload["category"] == "internal"
