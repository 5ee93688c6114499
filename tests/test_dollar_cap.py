"""The per-request dollar cap on the Claude backend, against the local Messages API: a request
capped at a few cents stops before the model call that would pass the cap, waits with one
comment, and after a writer's `/budget` goes on where it stopped; its model calls are
exactly those of an uncapped run (nothing redone), and the raise is in the audit log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.usage import calls
from infra.settings import get_settings
from models.creation import CreationResult, Progress
from models.events import EventType
from models.spend import BudgetRaise
from models.states import IntegrationState
from registry.store import Registry, open_registry
from starter.budget_dispatch import raise_budget
from starter.commands import Command, parse_command
from starter.dispatch import Dispatcher, Outcome
from tests.claude_scripts import REVIEW_ANSWER, files_answer, good_files, spec_answer
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    approve,
    start_creation,
    store_sample_credential,
    wait_for_approval_wait,
    world_fixture,
)
from tests.creation_recording import replays_and_is_kept
from tests.messages_api_server import MessagesApiServer, claude_api
from tests.webhook_flow import skip_issue_numbers
from workflows import names

# Each scripted answer uses 1200 input, 300 output and 1000 cache-write tokens: priced on
# output only, a call costs exactly 300 x $100/M = $0.03, and a fresh step's bound is
# max_tokens 400 x $100/M = $0.04 (its prompt estimate is free at these prices). With a cap
# of $0.08: the analysis may go (0 + 0.04), the generation too (0.03 + 0.04), the review not
# (0.06 + 0.04 > 0.08).
PRICES = {"claude-sonnet-4-6": {"input": 0, "output": 100, "cache_write": 0, "cache_read": 0}}
CAP, RAISE, RAISE_MAX = 0.08, 0.05, 0.10


@pytest.fixture(name="messages_api")
def messages_api_fixture(world: World, monkeypatch: pytest.MonkeyPatch
                         ) -> Iterator[MessagesApiServer]:
    monkeypatch.setenv("CCB_CLAUDE_PRICES", json.dumps(PRICES))
    monkeypatch.setenv("CCB_CLAUDE_MAX_TOKENS", "400")
    monkeypatch.setenv("CCB_BUDGET_RAISE_MAX_USD", str(RAISE_MAX))
    monkeypatch.setenv("CCB_DOLLAR_BUDGET_PER_REQUEST", "0")  # uncapped unless a test caps
    with claude_api(monkeypatch) as server:
        yield server


def _script(server: MessagesApiServer) -> None:
    server.reply_tool_use(spec_answer())
    server.reply_tool_use(files_answer(good_files()))
    server.reply_tool_use(REVIEW_ANSWER)


async def _progress_until(handle: WorkflowHandle, done: str, timeout: float = 240) -> Progress:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        progress = await handle.query("progress", result_type=Progress)
        if getattr(progress, done):
            return progress
        assert loop.time() < deadline, f"never {done}; at {progress.current_step}: " \
                                       f"{progress.error}"
        await asyncio.sleep(0.2)


def _fresh_registry(data_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A registry (and secret store) of its own, so a second request may use the same slug."""
    monkeypatch.setenv("CCB_DATA_DIR", str(data_dir / name))
    get_settings.cache_clear()
    store_sample_credential()


async def _budget(dispatcher: Dispatcher, repo: str, issue: int, text: str,
                  actor: str = "alice") -> Outcome:
    """What the starter does with a writer's `/budget` comment (``_run_command``)."""
    command = parse_command(text)
    assert isinstance(command, Command), command
    return await raise_budget(dispatcher, repo, issue, BudgetRaise(
        actor=actor, amount_usd=float(command.text), source=f"comment:{text}"),
        update_id=f"comment:{actor}:{text}")


async def test_a_capped_request_waits_at_its_cap_and_a_budget_raise_resumes_it(
    client: Client, task_queue: str, world: World, messages_api: MessagesApiServer,
    data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = messages_api
    skip_issue_numbers(world, 300)  # the capped run's id is the starter's: no other test's
    async with running_worker(client, task_queue):
        # The uncapped run: its model calls, up to the decision wait (none come after it).
        _script(server)
        uncapped = await start_creation(client, world, world.new_issue(), task_queue)
        await wait_for_approval_wait(uncapped)
        uncapped_calls = [r.step for r in calls(uncapped.id)]
        uncapped_requests = len(server.requests)
        await uncapped.cancel()
        with pytest.raises(WorkflowFailureError):
            await uncapped.result()  # undone in its own registry before the next one

        # The same request capped at $0.08 for this repository (a setting read at its start).
        _fresh_registry(data_dir, monkeypatch, "capped")
        monkeypatch.setenv("CCB_DOLLAR_BUDGET_BY_REPO", json.dumps({world.repo: CAP}))
        get_settings.cache_clear()
        _script(server)
        issue = world.new_issue()
        handle = await client.start_workflow(
            "IntegrationCreationWorkflow", world.creation_input(issue),
            id=names.creation_workflow_id(world.repo, issue), task_queue=task_queue,
            result_type=CreationResult)
        waiting = await _progress_until(handle, "waiting_for_budget")
        assert len(server.requests) - uncapped_requests == 2  # analysis and generation only
        assert [r.step for r in calls(handle.id)] == ["analyze", "generate"]
        assert waiting.spend is not None and waiting.current_step == "review"
        assert (waiting.spend.spent_usd, waiting.spend.cap_usd) == (0.06, CAP)
        assert waiting.spend.next_call_usd == 0.04 and not waiting.spend.go_ahead
        [stop] = [c for c in world.bot_comments(issue) if "<!-- ccb:budget-1 -->" in c]
        assert stop.count("@alice") == 1 and "spent $0.0600 of its $0.0800 cap" in stop
        assert "needs $0.0200 more" in stop and "`/budget +N`" in stop and "$0.1000" in stop
        progress_comment = world.progress_comment(issue)
        assert "Spent so far: $0.0600 of the $0.08 dollar cap" in progress_comment
        assert "Waiting at the dollar cap" in progress_comment

        dispatcher = Dispatcher(client, task_queue)
        refused = [await _budget(dispatcher, world.repo, issue, "/budget +0.50"),
                   await _budget(dispatcher, world.repo, issue, "/budget +1", actor="ccb-bot")]
        refused += [await raise_budget(dispatcher, world.repo, issue, BudgetRaise(
            actor="alice", amount_usd=amount)) for amount in (0.0, -1.0, float("nan"))]
        assert [o.status for o in refused] == ["rejected"] * 5
        assert "at most $0.1000" in refused[0].message and "person" in refused[1].message
        assert all("positive number of dollars" in o.message for o in refused[2:4])
        # NaN does not even decode as the update's argument: refused before the validator
        await asyncio.sleep(1)
        assert len(server.requests) - uncapped_requests == 2  # refusals resume nothing

        raised = await _budget(dispatcher, world.repo, issue, f"/budget +{RAISE}")
        assert raised.status == "updated" and "the cap is now $0.1300" in raised.message
        await wait_for_approval_wait(handle)
        again = await _budget(dispatcher, world.repo, issue, f"/budget +{RAISE}")
        assert again == raised  # the same comment delivered twice raises once
        late = await _budget(dispatcher, world.repo, issue, "/budget +0.06")
        assert late.status == "rejected" and "not waiting" in late.message
        await approve(handle)
        result = await handle.result()

    assert server.problems == [] and server.pending == 0
    capped_calls = [r.step for r in calls(handle.id)]
    assert capped_calls == uncapped_calls == ["analyze", "generate", "review"]
    assert len(server.requests) == 2 * uncapped_requests  # nothing redone
    assert result.usage.cost_usd == pytest.approx(0.09)
    [event] = [e for e in open_registry(get_settings().registry_url).events("acme-weather")
               if e.type == EventType.BUDGET_RAISED]
    assert event.payload["actor"] == "alice" and event.payload["amount_usd"] == RAISE
    assert event.payload["cap_usd"] == pytest.approx(CAP + RAISE)
    # Its history (a stop at the cap, refused and accepted raises) replays on this code.
    await replays_and_is_kept(await handle.fetch_history(), "creation_dollar_cap")
    print(f"dollar cap: stopped after {len(capped_calls) - 1} of {len(uncapped_calls)} calls "
          f"at ${waiting.spend.spent_usd:.2f} of ${CAP:.2f}; /budget +{RAISE} resumed it; "
          f"${result.usage.cost_usd:.2f} spent in all")


async def test_a_request_nobody_raises_ends_at_its_cap_after_the_reminders(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World,
    messages_api: MessagesApiServer, monkeypatch: pytest.MonkeyPatch, registry: Registry,
) -> None:
    """Capped below a first call's bound, the request stops before any model call; nobody
    raises the cap, and after the week's reminders it ends with its own ending comment."""
    monkeypatch.setenv("CCB_DOLLAR_BUDGET_PER_REQUEST", "0.01")
    get_settings.cache_clear()
    client = time_skipping_env.client
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "nobody raised the dollar cap within 7 days" in str(failed.value.cause)
    assert messages_api.requests == [] and calls(handle.id) == []  # no call passed the cap
    comments = world.bot_comments(issue)
    assert len([c for c in comments if "<!-- ccb:budget-1 -->" in c]) == 1
    assert len([c for c in comments if "<!-- ccb:budget-1-reminder-" in c]) == 6
    ending = world.ending_comment(issue)
    assert ending.startswith("@alice The integration request stopped at its dollar cap")
    assert "Next: Comment `/retry`" in ending and "`/budget +N`" in ending
    assert registry.get("acme-weather").state == IntegrationState.FAILED
