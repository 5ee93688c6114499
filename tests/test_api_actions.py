"""Issue 14, item 1: the API's actions reach a real running workflow through the same
messages as the comment commands and `ccb` — approve bound to the head sha, refused when
nothing waits — and every action is audited with the token's name as actor."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionStatus

from models.creation import CreationResult, Progress
from models.deploy import DeployInput
from models.events import EventType
from registry.store import Registry
from starter.api.schemas import (
    ApproveBody,
    BudgetBody,
    ChangesBody,
    PlanApproveBody,
    PlanReviseBody,
)
from tests.api_helpers import OPERATE, TOKENS, api_app, api_client
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    wait_for_approval_wait,
    world_fixture,
)
from workflows import names


@pytest.fixture
def api_env(world: World, temporal_address: str, task_queue: str,
            monkeypatch: pytest.MonkeyPatch) -> None:
    """The starter's settings pointed at this test's Temporal server and task queue."""
    monkeypatch.setenv("CCB_API_TOKENS", TOKENS)
    monkeypatch.setenv("CCB_TEMPORAL_ADDRESS", temporal_address)
    monkeypatch.setenv("CCB_TASK_QUEUE", task_queue)


def api_actions(registry: Registry) -> list[dict]:
    return [{**e.payload, **e.metadata} for e in registry.events()
            if e.type == EventType.OPERATOR_ACTION]


async def test_approve_through_the_api_merges_at_the_reviewed_head(
        client: Client, task_queue: str, world: World, registry: Registry,
        api_env: None) -> None:
    issue = world.new_issue()
    app = api_app()
    async with running_worker(client, task_queue), api_client(app) as api:
        handle = await client.start_workflow(
            names.CREATION_WORKFLOW, world.creation_input(issue),
            id=names.creation_workflow_id(world.repo, issue), task_queue=task_queue,
            result_type=CreationResult)
        progress = await wait_for_approval_wait(handle)
        assert progress.head_sha

        older = await api.post(f"/api/v1/requests/{issue}/approve",
                               json={"head_sha": "f" * 40}, headers=OPERATE)
        assert older.status_code == 409
        assert older.json()["detail"].startswith("approval not accepted:")
        assert progress.head_sha[:7] in older.json()["detail"]

        accepted = await api.post(f"/api/v1/requests/{issue}/approve",
                                  json={"head_sha": progress.head_sha[:7],
                                        "comment": "reviewed the diff"}, headers=OPERATE)
        assert accepted.status_code == 200, accepted.text
        body = accepted.json()
        assert body["status"] == "updated" and body["workflow_id"] == handle.id
        result = await handle.result()
        assert result.merged_sha and result.state in ("APPROVED", "ACTIVE"), result

        again = await api.post(f"/api/v1/requests/{issue}/approve",
                               json={"head_sha": progress.head_sha}, headers=OPERATE)
        assert again.status_code == 409 and "nothing to approve" in again.json()["detail"]
        changes = await api.post(f"/api/v1/requests/{issue}/request-changes",
                                 json={"text": "more"}, headers=OPERATE)
        assert changes.status_code == 409 and "takes no change requests" in \
            changes.json()["detail"]
        cancel = await api.post(f"/api/v1/requests/{issue}/cancel", headers=OPERATE)
        assert cancel.status_code == 409 and "nothing to cancel" in cancel.json()["detail"]
        retry = await api.post(f"/api/v1/requests/{issue}/retry", headers=OPERATE)
        assert retry.status_code == 409 and "only a failed request" in retry.json()["detail"]

        versions = (await api.get(f"/api/v1/integrations/{result.slug}/versions",
                                  headers=OPERATE)).json()["versions"]
        assert versions and versions[-1]["commit_sha"] == result.merged_sha

    # No worker now: the deployment is started and waits, so its input can be read back.
    async with api_client(app) as api:
        deploy = await api.post(f"/api/v1/integrations/{result.slug}/deploy", json={},
                                headers=OPERATE)
        assert deploy.status_code == 202, deploy.text
        started = client.get_workflow_handle(deploy.json()["workflow_id"])
        try:
            history = await started.fetch_history()
            payload = history.events[0].workflow_execution_started_event_attributes.input
            (inp,) = await client.data_converter.decode(payload.payloads, [DeployInput])
            assert (inp.version, inp.commit_sha, inp.actor) == (
                versions[-1]["version"], result.merged_sha, "ops-bot")
            assert f"integrations/{result.slug}/manifest.json" in inp.files
            twice = await api.post(f"/api/v1/integrations/{result.slug}/deploy", json={},
                                   headers=OPERATE)
            assert twice.status_code == 409 and "already running" in twice.json()["detail"]
        finally:
            await started.terminate("test over")

    actions = api_actions(registry)
    assert [(a["action"], a["status"]) for a in actions] == [
        ("approve", "rejected"), ("approve", "updated"), ("approve", "rejected"),
        ("request-changes", "rejected"), ("cancel", "rejected"), ("retry", "rejected"),
        ("deploy", "started"), ("deploy", "rejected")]
    assert {a["actor"] for a in actions} == {"ops-bot"}
    assert {a["target"] for a in actions[:6]} == {f"{world.repo}#{issue}"}
    assert actions[6]["target"] == deploy.json()["workflow_id"]
    audited = (await api_client(app).get(f"/api/v1/events?type=operator.action&slug="
                                         f"{result.slug}", headers=OPERATE)).json()["events"]
    assert len(audited) == len(actions)


async def test_a_plan_is_answered_through_the_api_bound_to_its_revision(
        client: Client, task_queue: str, world: World, registry: Registry,
        api_env: None) -> None:
    issue = world.new_issue()
    async with running_worker(client, task_queue), api_client(api_app()) as api:
        handle = await client.start_workflow(
            names.CREATION_WORKFLOW, world.creation_input(issue, plan_first=True),
            id=names.creation_workflow_id(world.repo, issue), task_queue=task_queue,
            result_type=CreationResult)
        for _ in range(600):  # bounded: the offline analysis takes seconds
            progress = await handle.query("progress", result_type=Progress)
            if progress.waiting_for_plan:
                break
            await asyncio.sleep(0.2)
        assert progress.waiting_for_plan and progress.plan_revision == 1
        ahead = await api.post(f"/api/v1/requests/{issue}/approve-plan", json={"revision": 2},
                               headers=OPERATE)
        assert ahead.status_code == 409
        assert "that answers revision 2, but the plan is at revision 1" in ahead.json()["detail"]
        nan = await api.post(f"/api/v1/requests/{issue}/budget", content=b'{"amount_usd": NaN}',
                             headers={**OPERATE, "content-type": "application/json"})
        assert nan.status_code == 422 and nan.json()["detail"].startswith("invalid request")
        broke = await api.post(f"/api/v1/requests/{issue}/budget", json={"amount_usd": 1},
                               headers=OPERATE)
        assert broke.status_code == 409 and "not waiting at its dollar cap" in \
            broke.json()["detail"]
        revised = await api.post(f"/api/v1/requests/{issue}/revise-plan", headers=OPERATE,
                                 json={"revision": 1, "text": "drop POST /subscriptions"})
        assert revised.status_code == 200, revised.text
        for _ in range(600):
            progress = await handle.query("progress", result_type=Progress)
            if progress.waiting_for_plan and progress.plan_revision == 2:
                break
            await asyncio.sleep(0.2)
        approved = await api.post(f"/api/v1/requests/{issue}/approve-plan", json={"revision": 2},
                                  headers=OPERATE)
        assert approved.status_code == 200, approved.text
        progress = await wait_for_approval_wait(handle)
        assert progress.plan_approved_by == "ops-bot"
        files = [f.filename for f in world.as_user("alice").get_pull(progress.pr_number or 0)
                 .get_files()]
        assert files  # the code was written from revision 2
        await handle.cancel()
        with contextlib.suppress(Exception):  # ended (undone) before the next test's run
            await handle.result()
    assert [(a["action"], a["status"]) for a in api_actions(registry)] == [
        ("approve-plan", "rejected"), ("budget", "rejected"), ("revise-plan", "updated"),
        ("approve-plan", "updated")]


async def test_cancel_reaches_a_waiting_request_and_unknown_ones_are_404(
        client: Client, task_queue: str, world: World, registry: Registry,
        api_env: None) -> None:
    issue = world.new_issue()
    async with running_worker(client, task_queue), api_client(api_app()) as api:
        missing = await api.post("/api/v1/requests/999/cancel", headers=OPERATE)
        assert missing.status_code == 404
        assert "no workflow is working on #999" in missing.json()["detail"]
        nothing = await api.post("/api/v1/requests/999/retry", headers=OPERATE)
        assert nothing.status_code == 404 and "nothing to retry" in nothing.json()["detail"]

        handle = await client.start_workflow(
            names.CREATION_WORKFLOW, world.creation_input(issue),
            id=names.creation_workflow_id(world.repo, issue), task_queue=task_queue,
            result_type=CreationResult)
        await wait_for_approval_wait(handle)
        cancel = await api.post(f"/api/v1/requests/{issue}/cancel", headers=OPERATE)
        assert cancel.status_code == 202, cancel.text
        assert cancel.json()["status"] == "cancelled"
        with contextlib.suppress(Exception):  # a cancelled run ends in an error
            await handle.result()
        assert (await handle.describe()).status in (WorkflowExecutionStatus.CANCELED,
                                                    WorkflowExecutionStatus.FAILED)
    assert [(a["action"], a["status"], a["actor"]) for a in api_actions(registry)] == [
        ("cancel", "not_found", "ops-bot"), ("retry", "not_found", "ops-bot"),
        ("cancel", "cancelled", "ops-bot")]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=50),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries({"head_sha": st.from_regex(r"[0-9a-fA-F]{5,42}", fullmatch=True)},
                          optional={"comment": st.text(max_size=30), "x": JSON}),
    st.fixed_dictionaries({"text": st.text(max_size=40)}, optional={"reviewer": JSON}),
    st.fixed_dictionaries({"revision": st.integers(-2, 1001) | JSON},
                          optional={"text": st.text(max_size=40)}),
    # JSON has no NaN or infinity (httpx refuses to send them; a raw one is tried below)
    st.fixed_dictionaries({"amount_usd": st.floats(allow_nan=False, allow_infinity=False)
                           | st.integers(-5, 10**7) | JSON}),
)
ACTIONS = (("approve", ApproveBody), ("request-changes", ChangesBody),
           ("approve-plan", PlanApproveBody), ("revise-plan", PlanReviseBody),
           ("budget", BudgetBody))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, issue=st.integers(min_value=-3, max_value=2**32))
async def test_any_action_body_is_a_422_sentence_or_reaches_the_dispatcher(
        body: object, issue: int, registry: Registry, api_env: None) -> None:
    """A body the schema refuses says which field and why; one it accepts reaches the
    dispatcher, which finds no workflow for the issue (404) — never a 5xx. (A repository no
    other test uses: the session's server holds other tests' requests by issue number.)"""
    async with api_client(api_app(github_repo="demo/nobody-asked-here")) as api:
        for path, model in ACTIONS:
            answer = await api.post(f"/api/v1/requests/{issue}/{path}", json=body,
                                    headers=OPERATE)
            try:
                model.model_validate(body)
                valid = 1 <= issue < 2**31
            except ValidationError:
                valid = False
            assert answer.status_code == (404 if valid else 422), answer.text
            detail = answer.json()["detail"]
            assert detail.startswith(("no workflow is working on", "no request is working on")
                                     if valid else "invalid request"), detail
