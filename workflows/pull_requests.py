"""The bot's own pull requests: a branch from main, one commit, a pull request, each undo
registered with the saga as soon as its side effect exists (shared by creation and update)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.github_git import commit_files, create_branch, delete_branch
    from activities.github_pulls import close_pull_request, open_pull_request
    from models.github import (
        CommitFiles,
        CreateBranch,
        DeleteBranch,
        OpenPullRequest,
        PullQuery,
        PullRef,
    )
    from workflows.policies import GITHUB_STEP
    from workflows.saga import Saga


async def open_bot_pull_request(
    saga: Saga | None, *, repo: str, branch: str, files: dict[str, str], delete: list[str],
    message: str, title: str, body: str,
) -> PullRef:
    """``branch`` from main with ``files`` written and ``delete`` removed in one commit, and
    a pull request from it into main; its ``head_sha`` is the commit's when GitHub omits it.
    With a ``saga``, a later failure closes the pull request, then deletes the branch (a
    compensation's own pull request, the revert, passes None: it is left for a person)."""
    await workflow.execute_activity(
        create_branch, CreateBranch(repo=repo, branch=branch, from_ref="main"),
        **GITHUB_STEP)
    if saga is not None:
        saga.add("delete branch", lambda: workflow.execute_activity(
            delete_branch, DeleteBranch(repo=repo, branch=branch),
            **GITHUB_STEP))
    commit = await workflow.execute_activity(
        commit_files, CommitFiles(repo=repo, branch=branch, files=files, delete=delete,
                                  message=message),
        **GITHUB_STEP)
    pull: PullRef = await workflow.execute_activity(
        open_pull_request,
        OpenPullRequest(repo=repo, head=branch, base="main", body=body, title=title),
        **GITHUB_STEP)
    if saga is not None:
        saga.add("close pull request", lambda: workflow.execute_activity(
            close_pull_request, PullQuery(repo=repo, number=pull.number),
            **GITHUB_STEP))
    return pull.model_copy(update={"head_sha": pull.head_sha or commit.sha})
