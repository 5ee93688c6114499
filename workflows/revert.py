"""The compensation of a merge: a pull request that puts main back, for a human to merge.

Merged code cannot be undone by deleting a branch. When a step after the merge fails, the
creation and update workflows open a pull request that restores what main held before (the
old files of an update) and removes what the merge added; a person merges it, or closes it to
keep the code and fix forward. Each step is an idempotent activity, so a retried or replayed
compensation opens one pull request.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.github import PullRef
    from workflows.pull_requests import open_bot_pull_request


async def open_revert_pull_request(*, repo: str, slug: str, merged_sha: str,
                                   restore: dict[str, str], remove: list[str], title: str,
                                   body: str) -> PullRef:
    """Branch ``revert/<slug>-<sha7>`` from main, one commit restoring ``restore`` and
    deleting ``remove``, and a pull request from it into main (no undo of its own)."""
    return await open_bot_pull_request(
        None, repo=repo, branch=f"revert/{slug}-{merged_sha[:7]}", files=restore,
        delete=sorted(remove), message=f"{title} (reverts {merged_sha[:7]})", title=title,
        body=body)
