"""Issue 13 item 3, ``issues.edited``, through the forge's signed webhooks: a request edited
before its pull request exists starts again with the new text (a running run continues as
new, undone; a failed one is retried), one comment says so; edited after the pull request
is open, it changes nothing and one comment says what to do instead."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from infra.settings import get_settings
from models.states import IntegrationState
from models.webhooks import IssuesEvent
from registry.store import open_registry
from starter.routing import IssueEdited, route
from tests.conftest import running_worker
from tests.creation_helpers import SAMPLE_BODY, wait_for_approval_wait
from tests.webhook_flow import WebhookWorld, skip_issue_numbers, wait_for_run, webhook_world
from tests.webhook_helpers import load
from workflows import names

SECRET = "issue-edits-secret"
TIDES = SAMPLE_BODY.replace("Acme Weather", "Acme Tides").replace("acme-weather", "acme-tides")
NO_BASE_URL = SAMPLE_BODY.replace("https://api.acme-weather.example/v1", "")


@pytest.fixture(name="hooked")
def hooked_fixture(data_dir: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str,
                   task_queue: str) -> Iterator[WebhookWorld]:
    # Each analysis waits 3 s, announced in <data>/faults: the test edits during the first.
    monkeypatch.setenv("CCB_FAULT_PAUSE", "offline_analyze.start=3")
    with webhook_world(data_dir, monkeypatch, temporal_address=temporal_address,
                       task_queue=task_queue, secret=SECRET) as world:
        yield world


async def _comments_with(world: WebhookWorld, number: int, needle: str,
                         count: int = 1) -> list[str]:
    for _ in range(300):  # bounded: comments are posted within seconds
        found = [c for c in world.bot_comments(number) if needle in c]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"no comment with {needle!r} on #{number}: {world.bot_comments(number)}")


CHANGE_KEYS = st.sampled_from(["title", "body", "milestone", "labels", "assignee", "state"])


@given(st.dictionaries(CHANGE_KEYS, st.fixed_dictionaries({"from": st.text(max_size=20)}),
                       max_size=4), st.booleans())
def test_an_edit_of_a_request_routes_only_when_its_title_or_text_changed(
        changes: dict[str, dict[str, str]], labelled: bool) -> None:
    payload = load("issues/edited.payload.json")
    payload["issue"]["labels"] = ([{"id": 1, "name": names.REQUEST_LABEL, "color": "ededed"}]
                                  if labelled else [])
    routed = route("issues", IssuesEvent.model_validate({**payload, "changes": changes}))
    # GitHub names what changed; an empty `changes` (as in its own example) may be either.
    text_changed = not changes or bool({"title", "body"} & set(changes))
    assert isinstance(routed, IssueEdited) == (labelled and text_changed), routed
    if isinstance(routed, IssueEdited):
        assert (routed.body, routed.actor) == (payload["issue"]["body"],
                                               payload["sender"]["login"])


async def test_a_request_edited_before_its_pull_request_starts_again_with_the_new_text(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 200)
    marker = world.data_dir / "faults" / "offline_analyze.start.reached"
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        first = await wait_for_run(client, world.request_handle(client, issue).id)
        for _ in range(300):  # bounded: the analysis starts within seconds
            if marker.exists():
                break
            await asyncio.sleep(0.1)
        assert marker.exists()
        world.as_user("alice").get_issue(issue).edit(body=TIDES)  # during the analysis
        said = await _comments_with(world, issue, "before its pull request was opened")
        run = await wait_for_run(client, first.id, not_run=first.run_id)
        waiting = await wait_for_approval_wait(run)
        # Edited again once the pull request is open: nothing restarts, one comment says why.
        world.as_user("alice").get_issue(issue).edit(body=SAMPLE_BODY)
        late = await _comments_with(world, issue, "is already open, so the edit changes nothing")
        latest = await client.get_workflow_handle(first.id).describe()
        assert latest.run_id == run.run_id != first.run_id  # the late edit restarted nothing
        await run.cancel()
    assert (await client.get_workflow_handle(first.id, run_id=first.run_id).describe()
            ).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert said[0].startswith("@alice edited this issue") and len(said) == 1
    assert len(late) == 1 and f"#{waiting.pr_number}" in late[0]
    pulls = world.pulls()
    assert [p.title for p in pulls] == [pulls[0].title] and "Acme Tides" in pulls[0].title
    registry = open_registry(get_settings().registry_url)
    old = registry.get("acme-weather")  # the first text's integration: FAILED, with why
    assert old is not None and old.state == IntegrationState.FAILED
    assert any("edited by alice before its pull request" in t.reason
               for t in registry.transitions("acme-weather"))
    assert registry.find("acme-tides") is not None


async def test_a_failed_request_edited_to_a_valid_one_is_retried_with_the_new_text(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 220)
    async with running_worker(client, task_queue):
        issue = world.new_issue(body=NO_BASE_URL)
        first = await wait_for_run(client, world.request_handle(client, issue).id)
        with pytest.raises(WorkflowFailureError):
            await first.result()  # invalid: no base URL
        world.as_user("alice").get_issue(issue).edit(body=SAMPLE_BODY)  # the requester fixes it
        said = await _comments_with(world, issue, "starts the request again with the new text")
        run = await wait_for_run(client, first.id, not_run=first.run_id)
        waiting = await wait_for_approval_wait(run)
        await run.cancel()
    assert len(said) == 1 and said[0].startswith("@alice edited this issue")
    assert waiting.pr_number and len(world.pulls()) == 1
