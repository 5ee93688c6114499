"""Pull-request webhooks and what branch moves do to open pull requests."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from forge.context import Ctx
from forge.store import Issue, Pull, Repo, utcnow


def find_pull(c: Ctx, repo: Repo, number: int) -> tuple[Pull, Issue] | None:
    pull = c.session.exec(select(Pull).where(Pull.repo_id == repo.id,
                                             Pull.number == number)).first()
    issue = c.session.exec(select(Issue).where(Issue.repo_id == repo.id,
                                               Issue.number == number)).first()
    return (pull, issue) if pull and issue else None


def pull_json(c: Ctx, repo: Repo, pull: Pull, issue: Issue, *, full: bool = True
              ) -> dict[str, Any]:
    return c.p.pull(repo, pull, issue, full=full)


def hook_pull(c: Ctx, repo: Repo, number: int, action: str, **extra: Any) -> None:
    """Queue a ``pull_request`` webhook (``number``, ``pull_request``, extras)."""
    found = find_pull(c, repo, number)
    if found is None:
        return
    pull, issue = found
    c.session.flush()
    c.hook("pull_request", action, repo, number=number,
           pull_request=pull_json(c, repo, pull, issue), **extra)


def branch_moved(c: Ctx, repo: Repo, branch: str, before: str | None, after: str) -> None:
    """A branch now points at ``after``: open pulls from it get ``synchronize``; open pulls
    into it see the new base."""
    repo.pushed_at = utcnow()
    c.session.add(repo)
    pulls = c.session.exec(select(Pull).where(Pull.repo_id == repo.id, Pull.merged == False)  # noqa: E712
                           ).all()
    for pull in pulls:
        found = find_pull(c, repo, pull.number)
        if found is None or found[1].state != "open":
            continue
        if pull.base_ref == branch:
            pull.base_sha = after
            c.session.add(pull)
        if pull.head_ref == branch and pull.head_sha != after:
            previous = pull.head_sha
            pull.head_sha = after
            issue = found[1]
            issue.updated_at = utcnow()
            c.session.add_all([pull, issue])
            hook_pull(c, repo, pull.number, "synchronize", before=before or previous,
                      after=after)


def branch_deleted(c: Ctx, repo: Repo, branch: str) -> None:
    """Deleting a branch closes the open pull requests whose head it was (as GitHub does)."""
    pulls = c.session.exec(select(Pull).where(Pull.repo_id == repo.id,
                                              Pull.head_ref == branch)).all()
    for pull in pulls:
        found = find_pull(c, repo, pull.number)
        if found is None or found[1].state != "open":
            continue
        issue = found[1]
        issue.state, issue.closed_at, issue.closed_by = "closed", utcnow(), c.login
        issue.updated_at = utcnow()
        c.session.add(issue)
        hook_pull(c, repo, pull.number, "closed")
