"""The worker SIGKILLed during a review: after a restart the review ends once, with one review,
no duplicated inline comments and one final status."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from models.review import ReviewOutcome, ReviewRun
from registry.store import Registry
from tests.creation_helpers import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.review_cases import bare_except_module
from tests.update_helpers import (
    bot_inline_comments,
    bot_reviews,
    killed_mid_step,
    open_pull,
    push,
    seed_integration,
    statuses,
)


async def test_worker_killed_during_the_review(
        client: Client, task_queue: str, temporal_address: str, world: World,
        registry: Registry, data_dir: Path) -> None:
    seed_integration(world, registry)
    sha = push(world.as_user("alice"), "fetch", bare_except_module(), "Add fetch")
    number = open_pull(world, "fetch")

    async def start():  # type: ignore[no-untyped-def]
        run = ReviewRun(repo=world.repo, pr_number=number, head_ref="fetch", head_sha=sha,
                        requested_by="alice")
        return await client.start_workflow("CodeReviewWorkflow", run,
                                           id=f"review-{task_queue}", task_queue=task_queue,
                                           result_type=ReviewOutcome)

    result = await killed_mid_step(client, task_queue, temporal_address, data_dir,
                                   "review.decide", start)
    assert isinstance(result, ReviewOutcome) and result.status == "completed"
    assert len(bot_reviews(world, number)) == 1
    comments = bot_inline_comments(world, number)
    assert comments and len(comments) == len({(p, line) for p, line, _ in comments})
    assert statuses(world, sha)[0][0] == "failure"
