"""Issue 15, item 2: plan approval before code (plan-first).

Through GitHub's own events (the forge's signed webhooks to the real starter): the label
``plan-first`` makes the request post its plan and wait, with no branch; a reader's
``/approve-plan`` is refused; ``/revise-plan`` brings revision 2 (its new endpoint planned and
then built); an approval of revision 1 is refused once revision 2 is up; ``/approve-plan 2``
lets the code be written, and the pull request names the revision. On the time-skipping
server a plan nobody answers ends FAILED after the reminders, with the ending comment. A
worker SIGKILLed while the plan waits loses nothing: a new worker takes the answers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.codegen import Backend
from models.creation import CreationResult, Progress
from models.manifest import ModuleSpec, PublicFunction, TechnicalSpec
from models.plan import PlanAnswer, PlanApproval, PlanCost, PlanRevision
from models.request import MAX_ENDPOINTS, Endpoint, IntegrationRequest
from models.states import IntegrationState
from models.update import UpdateInput
from registry.store import Registry
from rules.plan_feedback import revised_request
from rules.plan_text import plan_comment
from starter.dispatch import Dispatcher, Outcome, TemporalUnavailable
from starter.plan_dispatch import answer_plan
from tests.claude_scripts import spec_answer
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    GITHUB_ENV,
    SAMPLE_BODY,
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from tests.creation_recording import replays_and_is_kept
from tests.messages_api_server import claude_api
from tests.test_creation_crash import _stop, _worker
from tests.update_helpers import new_update_issue, seed_integration, update_body
from tests.webhook_flow import (  # noqa: F401 - the fixture `hooked`
    WebhookWorld,
    hooked_fixture,
    skip_issue_numbers,
    wait_for_run,
)
from workflows import names

ALERTS = "GET /alerts/{region} - active weather alerts for a region"


async def _until(what: str, check: Callable[[], object], seconds: float = 120) -> object:
    for _ in range(int(seconds / 0.2)):  # bounded
        found = check()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"never: {what}")


async def _plan_wait(handle: WorkflowHandle, revision: int) -> Progress:
    async def query() -> Progress:
        return await handle.query("progress", result_type=Progress)

    for _ in range(1200):  # bounded: the analysis takes seconds
        try:
            progress = await query()
        except Exception:
            await asyncio.sleep(0.2)
            continue
        if progress.waiting_for_plan and progress.plan_revision == revision:
            return progress
        assert not progress.error, progress.error
        await asyncio.sleep(0.2)
    raise AssertionError(f"plan revision {revision} never waited")


def _plan(world: World, issue: int, revision: int) -> list[str]:
    return [c for c in world.bot_comments(issue) if f"<!-- ccb:plan-{revision} -->" in c]


def _reply(world: World, issue: int, needle: str) -> Callable[[], list[str]]:
    return lambda: [c for c in world.bot_comments(issue) if needle in c]


async def test_plan_first_by_label_through_github_events(
        client: Client, task_queue: str, hooked: WebhookWorld, registry: Registry) -> None:
    world = hooked
    skip_issue_numbers(world, 320)
    alice, bob, carol = (world.as_user(u) for u in ("alice", "bob", "carol"))
    async with running_worker(client, task_queue):
        issue = alice.create_issue(title="Integration request", body=SAMPLE_BODY,
                                   labels=["integration-request", "plan-first"]).number
        run = await wait_for_run(client, world.request_handle(client, issue).id)
        first = await _plan_wait(run, 1)

        # Revision 1 is posted; nothing is written to the repository while it waits.
        [plan_1] = _plan(world, issue, 1)
        assert "### Plan for `acme-weather`: revision 1" in plan_1
        for part in ("**Modules**", "**Public API**", "**Endpoints**", "**Error handling**",
                     "**Test plan**",
                     "**Risks**", "**Estimated cost**", "`/approve-plan 1`"):
            assert part in plan_1, part
        assert "$0: the offline generator" in plan_1 and "needs a credential" in plan_1
        assert world.branches() == ["main"] and world.pulls() == []
        assert first.plan_url and "plan" in [s.name for s in first.steps]
        assert "Waiting for a person with write access to answer" in world.progress_comment(issue)

        # A reader may not approve it: one refusal, the plan still waits.
        bob.get_issue(issue).create_comment("/approve-plan 1")
        refusal = await _until("the reader's refusal",
                               _reply(world, issue, "so the bot did nothing"))
        assert "`/approve-plan`" in refusal[0]  # type: ignore[index]
        assert (await run.query("progress", result_type=Progress)).waiting_for_plan

        # A writer asks for a revision: the analysis runs again, revision 2 plans the endpoint.
        carol.get_issue(issue).create_comment(f"/revise-plan Please also cover alerts:\n{ALERTS}")
        await _plan_wait(run, 2)
        [plan_2] = _plan(world, issue, 2)
        assert "Revised after feedback from carol: added GET /alerts/{region}" in plan_2
        assert "`GET /alerts/{region}`" in plan_2 and "`/approve-plan 2`" in plan_2
        assert world.branches() == ["main"] and world.pulls() == []

        # An approval of the old revision is refused, saying why.
        carol.get_issue(issue).create_comment("/approve-plan 1")
        stale = await _until("the stale approval's answer",
                             _reply(world, issue, "that answers revision 1"))
        assert "the plan is at revision 2" in stale[0]  # type: ignore[index]

        carol.get_issue(issue).create_comment("/approve-plan 2 looks right")
        await _until("the approval's answer", _reply(world, issue, "plan approval accepted"))
        progress = await wait_for_approval_wait(run)
        pull = alice.get_pull(progress.pr_number or 0)
        assert f"Written from plan revision 2 ({progress.plan_url}), approved by carol" \
            in pull.body
        client_code = "".join(f.patch or "" for f in pull.get_files()
                              if f.filename.endswith("client.py"))
        assert "/alerts/" in client_code  # built from the approved revision
        pull.create_review(body="Looks good.", event="APPROVE")  # alice: a writer
        result = await run.result()

    assert result.state == IntegrationState.APPROVED
    events = [e.type.value for e in registry.events("acme-weather")]
    assert events.count("plan.revised") == 1 and events.count("plan.approved") == 1
    [approved] = [e for e in registry.events("acme-weather") if e.type.value == "plan.approved"]
    assert approved.payload["revision"] == 2 and approved.payload["by"] == "carol"


async def test_a_plan_nobody_answers_expires_with_reminders_and_the_ending(
        time_skipping_env: WorkflowEnvironment, task_queue: str, world: World,
        registry: Registry) -> None:
    client = time_skipping_env.client
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, reviewers=["carol"],
                                      plan_first=True)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        progress = await handle.query("progress", result_type=Progress)

    assert "nobody approved or revised plan revision 1 within 7 days" in str(failed.value.cause)
    assert progress.state == IntegrationState.FAILED and not progress.pr_number
    plan_step = next(s for s in progress.steps if s.name == "plan")
    assert plan_step.status == "failed"
    assert world.branches() == ["main"] and world.pulls() == []
    reminders = [c for c in world.bot_comments(issue) if "<!-- ccb:plan-reminder-1-" in c]
    assert len(reminders) == 6 and all("@alice @carol Reminder" in c for c in reminders)
    assert "last reminder" in reminders[-1] and "last reminder" not in reminders[0]
    ending = world.ending_comment(issue)
    assert ending.startswith("@alice The integration request stopped: nobody approved or "
                             "revised its plan in time")
    assert "Next: Comment `/retry`" in ending
    assert registry.get("acme-weather").state == IntegrationState.FAILED
    history = await handle.fetch_history()
    posted = [e.event_time.ToDatetime() for e in history.events
              if e.HasField("activity_task_scheduled_event_attributes")
              and e.activity_task_scheduled_event_attributes.activity_type.name
              == "upsert_bot_comment"]
    assert all(b - a >= timedelta(hours=23) for a, b in itertools.pairwise(posted[1:-1]))


async def _answer(dispatcher: Dispatcher, world: World, issue: int,
                  answer: PlanApproval | PlanRevision) -> Outcome:
    """``answer_plan`` as a caller does it: "Temporal did not answer, try again" is tried again
    (right after the kill the workflow's task waits for the new worker), bounded."""
    for _ in range(30):
        try:
            return await answer_plan(dispatcher, world.repo, issue, answer)
        except TemporalUnavailable:
            await asyncio.sleep(1)
    raise AssertionError("Temporal never took the answer")


async def test_the_worker_killed_while_the_plan_waits_loses_nothing(
        client: Client, task_queue: str, world: World, worker_env: dict[str, str],
        data_dir: Path) -> None:
    env = {k: v for k, v in worker_env.items() if k not in GITHUB_ENV}
    env.update(CCB_GITHUB_API_URL=world.forge.api_url, CCB_GITHUB_REPO=world.repo,
               CCB_FEATURE_FLAGS=json.dumps({"development": {"auto_deployment": False}}))
    log = data_dir / "worker.log"
    issue = world.new_issue()
    dispatcher = Dispatcher(client, task_queue)
    first = _worker(env, log)
    try:
        handle = await client.start_workflow(  # the id the starter and the CLI find it by
            "IntegrationCreationWorkflow", world.creation_input(issue, plan_first=True),
            id=names.creation_workflow_id(world.repo, issue), task_queue=task_queue,
            result_type=CreationResult)
        await _plan_wait(handle, 1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        _stop(first, signal.SIGKILL)

    second = _worker(env, log)
    try:
        unbound = await _answer(dispatcher, world, issue,
                                    PlanApproval(reviewer="carol", source="cli"))
        assert unbound.status == "rejected" and "say which revision" in unbound.message
        by_bot = await _answer(dispatcher, world, issue,
                                   PlanApproval(reviewer="ccb-bot", revision=1))
        assert "never approves its own plan" in by_bot.message
        revised = await _answer(dispatcher, world, issue, PlanRevision(
            reviewer="carol", revision=1, source="cli", text=f"add {ALERTS}"))
        assert revised.accepted, revised.message
        await _plan_wait(handle, 2)
        approved = await _answer(dispatcher, world, issue,
                                     PlanApproval(reviewer="carol", revision=2, source="cli"))
        assert approved.accepted, approved.message
        again = await _answer(dispatcher, world, issue,
                                  PlanApproval(reviewer="carol", revision=2, source="cli"))
        assert again.status == "rejected" and "not waiting for a plan decision" in again.message
        await wait_for_approval_wait(handle)
        assert (await approve(handle)).accepted
        result = await asyncio.wait_for(handle.result(), timeout=180)
    finally:
        _stop(second)
    assert result.state == IntegrationState.APPROVED
    # One comment per revision, none twice: the progress, plan 1, plan 2 and the ending.
    assert len(_plan(world, issue, 1)) == 1 and len(_plan(world, issue, 2)) == 1
    assert len(world.bot_comments(issue)) == 4
    # Its history (a revision, an approval, a worker lost while waiting) replays on this code.
    await replays_and_is_kept(await handle.fetch_history(), "creation_plan_first")


# -- the pure parts, over many inputs ------------------------------------------------------------

BASE = IntegrationRequest(service_name="Acme", slug="acme-weather",
                          integration_type="api-client", base_url="https://api.example.com",
                          auth="api-key", endpoints=[Endpoint(method="GET", path="/a")])
LINES = st.one_of(
    st.text(max_size=80),
    st.builds(lambda m, p, d: f"{m} /{p} - {d}", st.sampled_from(["GET", "POST", "get"]),
              st.from_regex(r"[a-z]{1,8}(/\{id\})?", fullmatch=True), st.text(max_size=30)),
    st.builds(lambda p: f"drop GET /{p}", st.sampled_from(["a", "b", "x"])),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=40))
def test_any_feedback_makes_a_valid_request_that_keeps_the_feedback(lines: list[str]) -> None:
    feedback = "\n".join(lines) or "x"
    revised, changes = revised_request(BASE, feedback, revision=2, reviewer="carol")
    again = IntegrationRequest.model_validate(revised.model_dump())  # still a valid request
    assert 1 <= len(again.endpoints) <= MAX_ENDPOINTS
    assert len({(e.method, e.path) for e in again.endpoints}) == len(again.endpoints)
    assert feedback.strip()[-200:] in again.requirements
    assert all(c.startswith(("added ", "dropped ")) for c in changes)
    if "drop GET /a" not in feedback:
        assert again.endpoints[0] == BASE.endpoints[0]


HOSTILE = st.text(alphabet=st.sampled_from(list("ab @<>`#/\n-*fixes closes")), max_size=60)
_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")


@settings(max_examples=200, deadline=None)
@given(HOSTILE, HOSTILE, HOSTILE, st.integers(1, 9))
def test_no_plan_text_becomes_a_mention_markup_or_a_closing_keyword(
        summary: str, purpose: str, test: str, revision: int) -> None:
    spec = TechnicalSpec(summary=summary, modules=[ModuleSpec(path="x.py", purpose=purpose)],
                         public_api=[PublicFunction(name="f", signature="f()",
                                                    description=purpose)],
                         endpoints=[Endpoint(method="GET", path="/a", description=test)],
                         error_handling=[test], test_plan=[test])
    text = plan_comment(request=BASE, spec=spec, revision=revision, backend=Backend.CLAUDE,
                        cost=PlanCost(likely_usd=0.1, at_most_usd=1, calls_at_most=4),
                        requester="alice", expiry=timedelta(days=7), changes=[purpose],
                        feedback_by=purpose)
    outside = re.sub(r"`[^`\n]*`", "", text.replace("@alice", ""))
    assert not _MENTION.search(outside) and "<" not in outside
    assert not re.search(r"(?i)\b(fixes|closes)\s+#\d", outside)
    assert f"`/approve-plan {revision}`" in text


async def test_a_plan_through_claude_costs_money_and_its_revision_reaches_the_model(
        client: Client, task_queue: str, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Claude backend against the local Messages API: the plan's estimate is in dollars
    from the model's price, the feedback reaches the second analysis inside the delimited
    request, and cancelling while the plan waits leaves nothing behind."""
    with claude_api(monkeypatch, "sk-ant-test-plan-key") as server:
        server.reply_tool_use(spec_answer())
        server.reply_tool_use(spec_answer())  # the revision's analysis
        issue = world.new_issue()
        async with running_worker(client, task_queue):
            handle = await start_creation(client, world, issue, task_queue, plan_first=True)
            await _plan_wait(handle, 1)
            [plan_1] = _plan(world, issue, 1)
            estimate = re.search(r"about \$(\d+\.\d\d) \(one code round and the review\), at "
                                 r"most \$(\d+\.\d\d) \((\d+) more model calls", plan_1)
            assert estimate, plan_1
            assert 0 < float(estimate[1]) <= float(estimate[2]) and estimate[3] == "4"
            assert "this request's dollar cap is $10.00" in plan_1  # the default cap
            answer = await handle.execute_update("revise_plan", PlanRevision(
                reviewer="carol", revision=1, source="cli", text=f"add {ALERTS}"),
                result_type=PlanAnswer)
            assert answer.accepted
            await _plan_wait(handle, 2)
            await handle.cancel()
            with pytest.raises(WorkflowFailureError):
                await handle.result()
    assert server.problems == [] and len(server.bodies) == 2
    second = json.dumps(server.bodies[1]["messages"])  # the data, not the system prompt
    request_block = second[second.rindex("<untrusted_request>"):
                           second.rindex("</untrusted_request>")]
    assert "Plan feedback for revision 2 (from carol)" in request_block
    assert "/alerts/{region}" in request_block
    assert world.branches() == ["main"] and world.pulls() == []


async def test_an_update_request_has_no_plan_and_says_so(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    seed_integration(world, registry)
    skip_issue_numbers(world, 340)  # its workflow id is the starter's: no other test's
    body = update_body("acme-weather", "feature", "Add hourly forecasts.",
                       "GET /forecast/{city}/hourly - the hourly forecast")
    issue = new_update_issue(world, body)
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            "IntegrationUpdateWorkflow", UpdateInput(repo=world.repo, issue_number=issue,
                                                     requested_by="alice", body=body),
            id=names.update_workflow_id(world.repo, issue), task_queue=task_queue)
        await wait_for_approval_wait(handle)
        said = await answer_plan(Dispatcher(client, task_queue), world.repo, issue,
                                 PlanApproval(reviewer="carol", revision=1, source="cli"))
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):  # undone, so the id is free again
            await handle.result()
    assert said.status == "rejected" and not said.accepted
    assert "no plan waits (only new integration requests have one)" in said.message
