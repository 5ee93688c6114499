"""Issue 12, item 4, through GitHub's own events (the forge's signed webhooks): an approving
review on another pull request that names the issue (from an ``integration/`` branch, which
the starter routes to the request), and an approving review of an older
commit, leave the request waiting, and each gets a one-line reply on its pull request saying
why; the approving review of the bot's pull request at its head then approves it."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from models.creation import Progress
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.update_helpers import push
from tests.webhook_flow import (  # noqa: F401 - the fixture `hooked`
    WebhookWorld,
    hooked_fixture,
    skip_issue_numbers,
    wait_for_run,
)


async def _reply(world: WebhookWorld, number: int) -> str:
    for _ in range(300):  # bounded: the reply workflow posts within seconds
        replies = [c for c in world.bot_comments(number) if "approval was not taken" in c]
        if replies:
            return replies[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no reply on #{number}: {world.bot_comments(number)}")


async def test_wrong_reviews_leave_the_request_waiting_and_are_answered(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 60)  # numbers no other test of the session uses
    alice = world.as_user("alice")
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        run = await wait_for_run(client, world.request_handle(client, issue).id)
        progress = await wait_for_approval_wait(run)
        bot_pull = alice.get_pull(progress.pr_number or 0)

        # 1. A person's pull request that names the issue from a branch named like the bot's
        #    (what used to approve the request), approved by another maintainer.
        push(alice, "integration/notes", {"integrations/acme-weather/NOTES.md": "notes\n"},
             "Notes")
        other = alice.create_pull(title="Notes", body=f"Closes #{issue}",
                                  head="integration/notes", base="main")
        world.as_user("carol").get_pull(other.number).create_review(body="fine",
                                                                    event="APPROVE")
        said = await _reply(world, other.number)
        assert f"pull request #{other.number}" in said and f"#{bot_pull.number}" in said

        # 2. The bot's pull request, approved at an older commit (main's, before its head).
        older = alice.get_commit(alice.get_branch("main").commit.sha)
        bot_pull.create_review(commit=older, body="old", event="APPROVE")
        said = await _reply(world, bot_pull.number)
        assert older.sha[:7] in said and progress.head_sha[:7] in said

        still = await run.query("progress", result_type=Progress)
        assert still.waiting_for_approval and not bot_pull.merged

        # 3. The approving review of its head approves it.
        bot_pull.create_review(body="Looks good.", event="APPROVE")
        result = await run.result()
    assert alice.get_pull(result.pr_number or 0).merged
    assert not alice.get_pull(other.number).merged
