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
    from activities.github_git import commit_files, create_branch
    from activities.github_pulls import open_pull_request
    from models.github import CommitFiles, CreateBranch, OpenPullRequest, PullRef
    from workflows.policies import DEFAULT_RETRY, GITHUB_STEP_HEARTBEAT, GITHUB_STEP_TIMEOUT


async def open_revert_pull_request(*, repo: str, slug: str, merged_sha: str,
                                   restore: dict[str, str], remove: list[str], title: str,
                                   body: str) -> PullRef:
    """Branch ``revert/<slug>-<sha7>`` from main, one commit restoring ``restore`` and
    deleting ``remove``, and a pull request from it into main."""
    branch = f"revert/{slug}-{merged_sha[:7]}"
    await workflow.execute_activity(
        create_branch, CreateBranch(repo=repo, branch=branch, from_ref="main"),
        start_to_close_timeout=GITHUB_STEP_TIMEOUT,
        heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
    await workflow.execute_activity(
        commit_files,
        CommitFiles(repo=repo, branch=branch, files=restore, delete=sorted(remove),
                    message=f"{title} (reverts {merged_sha[:7]})"),
        start_to_close_timeout=GITHUB_STEP_TIMEOUT,
        heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
    pull: PullRef = await workflow.execute_activity(
        open_pull_request,
        OpenPullRequest(repo=repo, head=branch, base="main", title=title, body=body),
        start_to_close_timeout=GITHUB_STEP_TIMEOUT,
        heartbeat_timeout=GITHUB_STEP_HEARTBEAT, retry_policy=DEFAULT_RETRY)
    return pull
