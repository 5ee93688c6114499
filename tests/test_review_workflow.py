"""The code-review workflow on a real dev server with the forge: the coverage gate as a commit
status, inline comments never repeated, and a newer push superseding a running review."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client

from activities.usage import calls
from infra.settings import get_settings
from models.review import ReviewOptions, ReviewOutcome, ReviewRun
from registry.store import Registry
from tests.conftest import running_worker
from tests.creation_helpers import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.messages_api_server import claude_api
from tests.review_cases import bare_except_module, untested_module
from tests.update_helpers import (
    ROOT,
    bot_inline_comments,
    bot_reviews,
    open_pull,
    push,
    seed_integration,
    statuses,
)

MARKER_POLLS = 300  # at most 300 x 0.1 s for a paused step to be reached


async def review(client: Client, world: World, task_queue: str, number: int, sha: str,
                 branch: str, suffix: str = "", **options: object) -> ReviewOutcome:
    run = ReviewRun(repo=world.repo, pr_number=number, head_ref=branch, head_sha=sha,
                    requested_by="alice", options=ReviewOptions(**options))  # type: ignore[arg-type]
    return await client.execute_workflow(
        "CodeReviewWorkflow", run, id=f"review-{task_queue}-{number}-{sha[:12]}{suffix}",
        task_queue=task_queue, result_type=ReviewOutcome)


async def test_coverage_below_the_gate_blocks_and_at_or_above_passes(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    seed_integration(world, registry)
    repo = world.as_user("alice")
    low_sha = push(repo, "units", untested_module(), "Add unit conversions without tests")
    low = open_pull(world, "units")
    readme = repo.get_contents(f"{ROOT}/README.md").decoded_content.decode()
    ok_sha = push(repo, "docs", {f"{ROOT}/README.md": readme + "\nMore words.\n"}, "Docs")
    ok = open_pull(world, "docs")
    async with running_worker(client, task_queue):
        blocked = await review(client, world, task_queue, low, low_sha, "units",
                               reviewers=["bob"])
        passed = await review(client, world, task_queue, ok, ok_sha, "docs")
        at_gate = await review(client, world, task_queue, ok, ok_sha, "docs", suffix="-at",
                               coverage_gate=passed.coverage_percent)

    assert blocked.status == "completed" and not blocked.gate_passed
    assert blocked.coverage_percent is not None and blocked.coverage_percent < 80
    [(state, text), *_] = statuses(world, low_sha)
    assert state == "failure"
    assert "merge blocked: coverage" in text and "below the 80% gate" in text
    assert blocked.human_review and blocked.human_review.required
    assert [u.login for u in repo.get_pull(low).get_review_requests()[0]] == ["bob"]

    assert passed.status == "completed" and passed.gate_passed
    assert passed.coverage_percent is not None and passed.coverage_percent >= 80
    assert statuses(world, ok_sha)[0][0] == "success"
    assert at_gate.gate_passed  # exactly at the gate passes
    assert passed.human_review and not passed.human_review.required
    # One review per head sha, however many runs looked at it.
    assert len(bot_reviews(world, ok)) == 1


async def test_a_later_push_never_repeats_an_inline_comment(
        client: Client, task_queue: str, world: World, registry: Registry) -> None:
    seed_integration(world, registry)
    repo = world.as_user("alice")
    first = push(repo, "fetch", bare_except_module(), "Add fetch")
    number = open_pull(world, "fetch")
    async with running_worker(client, task_queue):
        one = await review(client, world, task_queue, number, first, "fetch")
        readme = repo.get_contents(f"{ROOT}/README.md").decoded_content.decode()
        second = push(repo, "fetch", {f"{ROOT}/README.md": readme + "\nFetch added.\n"},
                      "Docs for fetch")
        two = await review(client, world, task_queue, number, second, "fetch")

    comments = bot_inline_comments(world, number)
    rules = sorted((path.rsplit("/", 1)[-1], line) for path, line, _ in comments)
    assert ("fetch.py", 10) in rules and ("fetch.py", 11) in rules
    assert len(comments) == len(set((p, line, body) for p, line, body in comments))
    assert one.inline_comments == len(comments) and two.inline_comments == 0
    assert any("bare-except" in body for _, _, body in comments)
    assert any("http-timeout" in body for _, _, body in comments)
    assert len(bot_reviews(world, number)) == 2  # one per head sha, the second adds nothing
    assert statuses(world, second)[0][0] == "failure"  # the bare except is an error
    # Without a key the code review is the offline rules', and the review says so.
    assert all("no AI model was used" in body for body in bot_reviews(world, number))


async def test_claude_reviews_the_pull_request_inline_and_never_repeats_a_remark(
        client: Client, task_queue: str, world: World, registry: Registry,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key, Claude (the local Messages API) reviews what the PR changes: its summary is
    in the PR review, its remark sits on the diff line it names, a later push's review does
    not post the same remark again, and its asking for changes makes a human review
    required. Its token usage is recorded under the review's workflow id."""
    seed_integration(world, registry)
    repo = world.as_user("alice")
    path = f"{ROOT}/acme_weather/fetch.py"
    first = push(repo, "fetch", bare_except_module(), "Add fetch")
    number = open_pull(world, "fetch")
    answer = {"summary": "fetch() swallows every error; raise a typed one instead.",
              "comments": [{"path": path, "line": 8,
                            "body": "Say which errors fetch() raises in its docstring."}],
              "approve": False}
    with claude_api(monkeypatch) as server:
        server.reply_tool_use(answer)
        server.reply_tool_use(answer)
        async with running_worker(client, task_queue):
            one = await review(client, world, task_queue, number, first, "fetch")
            readme = repo.get_contents(f"{ROOT}/README.md").decoded_content.decode()
            second = push(repo, "fetch", {f"{ROOT}/README.md": readme + "\nFetch added.\n"},
                          "Docs for fetch")
            two = await review(client, world, task_queue, number, second, "fetch")
        assert server.problems == [] and server.pending == 0
        sent = [json.dumps(body) for body in server.bodies]

    assert len(sent) == 2 and all("changed_paths" in text and "fetch.py" in text
                                  and "Acme Weather" in text for text in sent)
    reviews = bot_reviews(world, number)
    assert len(reviews) == 2
    assert all("Claude's review" in body and answer["summary"] in body for body in reviews)
    remarks = [(p, line) for p, line, body in bot_inline_comments(world, number)
               if body.startswith("**Claude**")]
    assert remarks == [(path, 8)]  # posted once, on the line it names, not again on push 2
    assert one.human_review and one.human_review.required
    assert "Claude's review asks for changes" in one.human_review.reasons
    assert two.inline_comments == 0
    rows = calls(f"review-{task_queue}-{number}-{first[:12]}")
    assert [r.step for r in rows] == ["review"] and rows[0].input_tokens > 0


async def test_two_quick_pushes_get_one_completed_review_for_the_final_head(
        client: Client, task_queue: str, world: World, registry: Registry,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The second push lands while the first review is held (a pause point) after its tests:
    the first review ends superseded without posting, the second completes."""
    monkeypatch.setenv("CCB_FAULT_PAUSE", "review.decide=2")
    get_settings.cache_clear()
    marker = world.data_dir / "faults" / "review.decide.reached"
    seed_integration(world, registry)
    repo = world.as_user("alice")
    first = push(repo, "fetch", bare_except_module(), "Add fetch")
    number = open_pull(world, "fetch")
    readme = repo.get_contents(f"{ROOT}/README.md").decoded_content.decode()
    async with running_worker(client, task_queue):
        run = ReviewRun(repo=world.repo, pr_number=number, head_ref="fetch", head_sha=first,
                        requested_by="alice")
        running = await client.start_workflow(
            "CodeReviewWorkflow", run, id=f"review-{task_queue}-{first[:12]}",
            task_queue=task_queue, result_type=ReviewOutcome)
        for _ in range(MARKER_POLLS):
            if marker.exists():
                break
            await asyncio.sleep(0.1)
        assert marker.exists() and (await running.query("progress")) == "testing acme-weather"
        second = push(repo, "fetch", {f"{ROOT}/README.md": readme + "\nFetch added.\n"},
                      "Docs")
        final = await review(client, world, task_queue, number, second, "fetch")
        superseded = await running.result()

    assert (superseded.status, final.status) == ("superseded", "completed")
    [body] = bot_reviews(world, number)
    assert f"Review of {second[:7]}" in body
    comments = bot_inline_comments(world, number)
    assert len(comments) == len({(p, line) for p, line, _ in comments}) > 0
    assert statuses(world, first)[0][0] == "error"
    assert "superseded" in statuses(world, first)[0][1]
    assert statuses(world, second)[0][0] == "failure"
