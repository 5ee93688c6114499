"""The creation workflow on the Claude backend, against the local Messages-API server:
rate limits and overload on the way, usage and cost recorded, seeded bad code caught."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.usage import calls
from models.codegen import Backend
from models.creation import Progress
from models.states import IntegrationState
from registry.store import Registry
from tests.claude_scripts import (
    REVIEW_ANSWER,
    bad_files,
    files_answer,
    good_files,
    spec_answer,
)
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from tests.messages_api_server import MessagesApiServer, claude_api

DUMMY_KEY = "sk-ant-test-dummy-key"


@pytest.fixture(name="messages_api")
def messages_api_fixture(world: World, monkeypatch: pytest.MonkeyPatch
                         ) -> Iterator[MessagesApiServer]:
    """The local Messages API, with the settings pointing the Claude backend at it."""
    with claude_api(monkeypatch, DUMMY_KEY) as server:
        yield server


def _steps(server: MessagesApiServer) -> list[str]:
    """Which step each request served, by the tool it forced."""
    return [str((body.get("tool_choice") or {}).get("name")) for body in server.bodies]


async def test_claude_flow_survives_529_and_429_and_records_usage(
    client: Client, task_queue: str, world: World, messages_api: MessagesApiServer,
    registry: Registry,
) -> None:
    server = messages_api
    server.reply_error(529, "overloaded_error", "Overloaded")
    server.reply_error(429, "rate_limit_error", "Number of requests exceeded your rate limit",
                       headers={"retry-after": "1"})
    server.reply_tool_use(spec_answer())
    server.reply_tool_use(files_answer(good_files()))
    server.reply_tool_use(REVIEW_ANSWER)
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        progress = await wait_for_approval_wait(handle)
        await approve(handle)
        result = await handle.result()

    assert server.problems == [] and server.pending == 0
    assert len(server.requests) == 5  # 529, 429, then analysis, generation, review
    assert progress.backend == Backend.CLAUDE
    rows = calls(handle.id)
    assert [r.step for r in rows] == ["analyze", "generate", "review"]
    assert all(r.input_tokens == 1200 and r.output_tokens == 300 and r.cost_usd > 0
               for r in rows)
    assert result.usage.input_tokens == 3 * 1200 and result.usage.output_tokens == 3 * 300
    assert abs(result.usage.cost_usd - sum(r.cost_usd for r in rows)) < 1e-9
    pull = world.as_user("alice").get_pull(result.pr_number or 0)
    assert pull.merged and "Claude" in pull.body
    assert registry.get("acme-weather").state == IntegrationState.APPROVED
    print(f"claude flow: {len(server.requests)} API requests, {len(rows)} llm_calls rows, "
          f"{result.usage.total_tokens} tokens, ${result.usage.cost_usd:.4f}")


async def test_seeded_bad_code_is_caught_and_the_next_round_fixes_it(
    client: Client, task_queue: str, world: World, messages_api: MessagesApiServer,
) -> None:
    server = messages_api
    server.reply_tool_use(spec_answer())
    outside = {**bad_files(), "setup.py": "print('outside the integration')\n"}
    server.reply_tool_use(files_answer(outside))  # refused by the path check: repair turn
    server.reply_tool_use(files_answer(bad_files()))  # caught by the code checks
    server.reply_tool_use(files_answer(good_files()))
    server.reply_tool_use(REVIEW_ANSWER)
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        progress = await wait_for_approval_wait(handle)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    assert server.problems == [] and server.pending == 0
    bodies = server.bodies
    repair = str(bodies[2]["messages"][-1])
    assert "setup.py" in repair and "must be a relative path under integrations/acme-weather/" \
        in repair
    fix_request = str(bodies[3]["messages"])
    for expected in ("seed_eval.py", "seed_subprocess.py", "seed_ctypes.py", "seed_syntax.py"):
        assert expected in fix_request, expected
    generate = next(s for s in progress.steps if s.name == "generate")
    assert generate.attempts == 2
    committed = [f.filename for f in world.as_user("alice").get_pull(
        progress.pr_number or 0).get_files()]
    assert not any("seed_" in name for name in committed) and "setup.py" not in committed
    print(f"seeded bad code: fixed in round {generate.attempts}; the fix request named "
          f"{sum(x in fix_request for x in ('eval', 'subprocess', 'ctypes', 'syntax'))}/4 kinds")


async def test_the_same_bad_files_twice_stop_at_once(
    client: Client, task_queue: str, world: World, messages_api: MessagesApiServer,
) -> None:
    server = messages_api
    server.reply_tool_use(spec_answer())
    for _ in range(2):
        server.reply_tool_use(files_answer(bad_files()))
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, max_fix_rounds=3)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert getattr(failed.value.cause, "type", "") == "InternalGenerationStalled"
    assert "round 2 wrote exactly the same files again" in str(failed.value.cause)
    comment = world.progress_comment(issue)
    assert "**Failed** (internal error)" in comment and "seed_eval.py" in comment
    assert world.ending_comment(issue).startswith(
        "@alice The integration request stopped because of an error in the bot itself")


async def test_only_bad_code_stops_at_the_bound_with_the_findings(
    client: Client, task_queue: str, world: World, messages_api: MessagesApiServer,
) -> None:
    server = messages_api
    server.reply_tool_use(spec_answer())
    for attempt in range(2):  # each round changes something, and none is clean
        notes = {"integrations/acme-weather/NOTES.md": f"attempt {attempt + 1}\n"}
        server.reply_tool_use(files_answer({**bad_files(), **notes}))
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, max_fix_rounds=2)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        progress = await handle.query("progress", result_type=Progress)

    assert "after 2 rounds" in str(failed.value.cause)
    assert getattr(failed.value.cause, "type", "") == "InternalGenerationDidNotConverge"
    assert progress.state == IntegrationState.FAILED
    comment = world.progress_comment(issue)
    assert "**Failed** (internal error)" in comment and "after 2 rounds" in comment
    assert "the bot's fault" in world.ending_comment(issue)
    assert "the bot's fault" in comment and "edit the issue" not in comment.lower()
    print("findings:", [(f.tool, f.path.rsplit("/", 1)[-1], f.code) for f in progress.findings])
    for seeded in ("seed_eval.py", "seed_subprocess.py", "seed_ctypes.py", "seed_syntax.py"):
        assert seeded in comment, seeded
    assert world.branches() == ["main"] and world.pulls() == []
    print(f"bound: FAILED after 2 rounds, {len(progress.findings)} findings; comment "
          f"{len(comment)} chars")
