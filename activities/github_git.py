"""GitHub activities on git data: branches, one-commit file writes, commit statuses."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from github import GithubException, InputGitTreeElement
from github.Repository import Repository
from temporalio import activity

from activities.github_client import github_client, repository
from activities.github_errors import github_activity, github_errors
from activities.github_issues import require_repository
from models.github import (
    SHA_PATTERN,
    CommitFiles,
    CommitResult,
    CommitStatus,
    CreateBranch,
    DeleteBranch,
)

FILE_MODE = "100644"


def git_blob_sha(content: str) -> str:
    """The sha git (and GitHub) gives a blob holding ``content`` encoded as UTF-8."""
    data = content.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def branch_ref_url(repo: Repository, branch: str) -> str:
    """The REST address of ``refs/heads/<branch>`` (PATCH and DELETE go to ``git/refs/``)."""
    return f"{repo.url}/git/refs/heads/{quote(branch)}"


def branch_head(repo: Repository, branch: str) -> str | None:
    """The sha ``branch`` points at, or None when there is no such branch."""
    try:
        return repo.get_git_ref(f"heads/{branch}").object.sha
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise


def resolve_commit(repo: Repository, full_name: str, ref: str) -> str:
    """The commit sha of a branch name, tag name or sha."""
    if re.fullmatch(SHA_PATTERN, ref):
        return ref
    sha = branch_head(repo, ref)
    if sha is not None:
        return sha
    with github_errors(f"branch, tag or commit {ref!r} in {full_name}"):
        return repo.get_commit(ref).sha


@activity.defn
@github_activity("repository {repo} (creating branch {branch!r} from {from_ref!r})")
def create_branch(command: CreateBranch) -> str:
    """Create ``branch`` at ``from_ref``; returns the sha the branch points at.

    Idempotent: an existing branch is returned as it is, and losing a creation race (422
    "Reference already exists") reads the branch the other try created.
    """
    repo = repository(command.repo)
    existing = branch_head(repo, command.branch)
    if existing is not None:
        return existing
    sha = resolve_commit(repo, command.repo, command.from_ref)
    try:
        repo.create_git_ref(f"refs/heads/{command.branch}", sha)
    except GithubException as exc:
        if exc.status != 422 or (existing := branch_head(repo, command.branch)) is None:
            raise
        return existing
    activity.logger.info("created branch %s in %s at %s", command.branch, command.repo, sha)
    return sha


@activity.defn
@github_activity("branch {branch!r} of {repo}")
def commit_files(command: CommitFiles) -> CommitResult:
    """Write every file and deletion in ONE commit on the branch (blobs, tree, commit, ref).

    Idempotent: blob shas are computed locally and compared with the branch head's tree; when
    the head already holds this content, the head is returned and nothing is written. A
    retry after a crash before the ref moved writes the same tree again and commits once.
    """
    repo = repository(command.repo)
    head = repo.get_git_commit(repo.get_git_ref(f"heads/{command.branch}").object.sha)
    base_tree = head.tree
    listing = repo.get_git_tree(base_tree.sha, recursive=True)
    known = {e.path: (e.sha, e.mode) for e in listing.tree if e.type == "blob"}
    trust_listing = not listing.raw_data.get("truncated", False)

    changed = {
        path: content
        for path, content in sorted(command.files.items())
        if not trust_listing or known.get(path, ("", ""))[0] != git_blob_sha(content)
    }
    deleted = [p for p in sorted(set(command.delete)) if not trust_listing or p in known]
    if not changed and not deleted:
        return CommitResult(sha=head.sha, tree_sha=base_tree.sha, created=False)

    elements = [
        InputGitTreeElement(
            path, known.get(path, ("", FILE_MODE))[1], "blob",
            sha=repo.create_git_blob(content, "utf-8").sha,
        )
        for path, content in changed.items()
    ]
    elements += [InputGitTreeElement(path, FILE_MODE, "blob", sha=None) for path in deleted]
    tree = repo.create_git_tree(elements, base_tree=base_tree)
    if tree.sha == base_tree.sha:
        return CommitResult(sha=head.sha, tree_sha=tree.sha, created=False)
    commit = repo.create_git_commit(command.message, tree, [head])
    # Fast-forward only: a concurrent push is an error, not overwritten.
    github_client().requester.requestJsonAndCheck(
        "PATCH", branch_ref_url(repo, command.branch), input={"sha": commit.sha, "force": False}
    )
    activity.logger.info("committed %s to %s:%s (%d files, %d deleted)",
                         commit.sha, command.repo, command.branch, len(changed), len(deleted))
    return CommitResult(sha=commit.sha, tree_sha=tree.sha, created=True)


@activity.defn
@github_activity("branch {branch!r} of {repo}")
def delete_branch(command: DeleteBranch) -> bool:
    """Delete ``branch``; True if it was deleted now, False if it was already gone.

    Idempotent: a branch that does not exist (404, or GitHub's 422 "Reference does not
    exist") counts as deleted, once the repository itself is known to exist.
    """
    repo = repository(command.repo)
    try:
        github_client().requester.requestJsonAndCheck(
            "DELETE", branch_ref_url(repo, command.branch)
        )
    except GithubException as exc:
        if exc.status not in (404, 422):
            raise
        require_repository(repo)
        return False
    activity.logger.info("deleted branch %s in %s", command.branch, command.repo)
    return True


@activity.defn
@github_activity("commit {sha} in {repo}")
def set_commit_status(command: CommitStatus) -> None:
    """Set the status ``context`` of a commit. Idempotent by nature: the latest status per
    context wins, so repeating it leaves the same state."""
    status = {"state": command.state, "description": command.description,
              "context": command.context}
    if command.target_url:
        status["target_url"] = command.target_url
    repo = repository(command.repo)
    github_client().requester.requestJsonAndCheck(
        "POST", f"{repo.url}/statuses/{command.sha}", input=status
    )


GIT_ACTIVITIES: list[Callable[..., Any]] = [
    create_branch, commit_files, delete_branch, set_commit_status,
]
