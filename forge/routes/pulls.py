"""Pull requests: create, list, update, files, merge, reviews, review comments, reviewers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col, select

from forge.context import Ctx, body_dict, json_body, opt_str, req_str, request_context
from forge.errors import GitHubError, not_found, validation_failed
from forge.gitrepo import FileChange, Signature
from forge.payloads import user_email
from forge.routes.issues import hook_issue, set_state
from forge.routes.pull_events import branch_moved, find_pull, hook_pull, pull_json
from forge.store import (
    Collaborator,
    Issue,
    Pull,
    Repo,
    Review,
    ReviewComment,
    User,
    next_issue_number,
    utcnow,
)

router = APIRouter()
REPO = "/repos/{owner}/{repo}"
PULL = REPO + "/pulls/{number:int}"
REVIEW_EVENTS = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
                 "COMMENT": "COMMENTED"}
CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d+)\b", re.I)


def unprocessable_list(*messages: str) -> GitHubError:
    """GitHub's review-endpoint 422: ``{"message": ..., "errors": ["..."]}``."""
    return GitHubError(422, "Unprocessable Entity", errors=list(messages))


def get_pull(c: Ctx, repo: Repo, number: int) -> tuple[Pull, Issue]:
    found = find_pull(c, repo, number)
    if found is None:
        raise not_found()
    pull, issue = found
    if issue.state == "open":  # an open pull's base is the base branch's current tip
        tip = c.git(repo).ref_sha(f"refs/heads/{pull.base_ref}")
        if tip and tip != pull.base_sha:
            pull.base_sha = tip
            c.session.add(pull)
    return pull, issue


def pull_changes(c: Ctx, repo: Repo, pull: Pull) -> list[FileChange]:
    git = c.git(repo)
    if pull.merged and pull.merge_commit_sha:
        parents = git.commit(pull.merge_commit_sha).parents
        base = git.merge_base(parents[0], pull.head_sha) if parents else pull.base_sha
    else:
        base = git.merge_base(pull.base_sha, pull.head_sha)
    return git.diff(base or pull.base_sha, pull.head_sha)


def branch_name(head: str, owner: str) -> str:
    prefix, sep, name = head.partition(":")
    if not sep:
        return head
    if prefix != owner:
        raise validation_failed("PullRequest", "invalid", "head",
                                f"head {head!r}: forks are not supported by the forge; use a "
                                f"branch of {owner}")
    return name


# -- pulls -------------------------------------------------------------------------------------

@router.get(REPO + "/pulls")
def list_pulls(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        q = request.query_params
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise validation_failed("PullRequest", "invalid", "state",
                                    "state must be open, closed or all")
        rows = []
        for pull in c.session.exec(select(Pull).where(Pull.repo_id == r.id)).all():
            found = find_pull(c, r, pull.number)
            if found is None:
                continue
            issue = found[1]
            if state != "all" and issue.state != state:
                continue
            if q.get("head"):
                head_owner, _, head_branch = q["head"].partition(":")
                if (head_branch and (head_owner != owner or head_branch != pull.head_ref)) \
                        or (not head_branch and head_owner != owner):
                    continue
            if q.get("base") and q["base"] != pull.base_ref:
                continue
            rows.append((pull, issue))
        reverse = q.get("direction", "desc") != "asc"
        key = "updated_at" if q.get("sort") == "updated" else "created_at"
        rows.sort(key=lambda pi: (getattr(pi[1], key), pi[0].number), reverse=reverse)
        return c.page([pull_json(c, r, p, i, full=False) for p, i in rows])


@router.post(REPO + "/pulls")
def create_pull(owner: str, repo: str, request: Request,
                body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.need(r, "write")
        data = body_dict(body, "pull request")
        title = req_str(data, "title", "PullRequest")
        head = branch_name(req_str(data, "head", "PullRequest"), owner)
        base = req_str(data, "base", "PullRequest")
        git = c.git(r)
        head_sha = git.ref_sha(f"refs/heads/{head}")
        base_sha = git.ref_sha(f"refs/heads/{base}")
        if base_sha is None:
            raise validation_failed("PullRequest", "invalid", "base")
        if head_sha is None:
            raise validation_failed("PullRequest", "invalid", "head")
        if head == base or not git.commits_between(base_sha, head_sha):
            raise validation_failed("PullRequest", "custom",
                                    message=f"No commits between {base} and {head}")
        for pull in c.session.exec(select(Pull).where(Pull.repo_id == r.id,
                                                      Pull.head_ref == head,
                                                      Pull.base_ref == base)).all():
            found = find_pull(c, r, pull.number)
            if found and found[1].state == "open":
                raise validation_failed(
                    "PullRequest", "custom",
                    message=f"A pull request already exists for {owner}:{head}.")
        number = next_issue_number(c.session, r.id or 0)
        issue = Issue(repo_id=r.pk, number=number, title=title,
                      body=opt_str(data, "body", "PullRequest"), user_login=login,
                      is_pull=True)
        pull = Pull(repo_id=r.pk, number=number, head_ref=head, head_sha=head_sha,
                    base_ref=base, base_sha=base_sha, draft=bool(data.get("draft", False)),
                    maintainer_can_modify=bool(data.get("maintainer_can_modify", False)))
        c.session.add_all([issue, pull])
        c.session.flush()
        hook_pull(c, r, number, "opened")
        return c.json(pull_json(c, r, pull, issue), 201)


@router.get(PULL)
def get_pull_route(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        pull, issue = get_pull(c, r, number)
        return c.json(pull_json(c, r, pull, issue))


@router.patch(PULL)
def update_pull(owner: str, repo: str, number: int, request: Request,
                body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        pull, issue = get_pull(c, r, number)
        login = c.me()
        if login != issue.user_login:
            c.need(r, "write")
        data = body_dict(body, "pull request")
        changes: dict[str, Any] = {}
        if "title" in data:
            title = req_str(data, "title", "PullRequest")
            if title != issue.title:
                changes["title"] = {"from": issue.title}
                issue.title = title
        if "body" in data:
            text = opt_str(data, "body", "PullRequest")
            if text != issue.body:
                changes["body"] = {"from": issue.body or ""}
                issue.body = text
        if "base" in data:
            base = req_str(data, "base", "PullRequest")
            tip = c.git(r).ref_sha(f"refs/heads/{base}")
            if tip is None:
                raise validation_failed("PullRequest", "invalid", "base")
            if base != pull.base_ref:
                changes["base"] = {"ref": {"from": pull.base_ref}, "sha": {"from": pull.base_sha}}
                pull.base_ref, pull.base_sha = base, tip
        if "maintainer_can_modify" in data:
            pull.maintainer_can_modify = bool(data["maintainer_can_modify"])
        c.session.add_all([issue, pull])
        if changes:
            issue.updated_at = utcnow()
            hook_pull(c, r, number, "edited", changes=changes)
        if "state" in data:
            state = data["state"]
            if state not in ("open", "closed"):
                raise validation_failed("PullRequest", "invalid", "state",
                                        "state must be open or closed")
            if state == "open" and pull.merged:
                raise validation_failed("PullRequest", "custom", "state",
                                        "a merged pull request cannot be reopened")
            action = set_state(c, r, issue, state, None)
            if action:
                issue.state_reason = None
                hook_pull(c, r, number, action)
        c.session.flush()
        return c.json(pull_json(c, r, pull, issue))


@router.get(PULL + "/files")
def list_files(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        pull, _ = get_pull(c, r, number)
        return c.page([c.p.diff_entry(r, f, pull.head_sha) for f in pull_changes(c, r, pull)])


@router.get(PULL + "/commits")
def list_pull_commits(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        pull, _ = get_pull(c, r, number)
        git = c.git(r)
        base = git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
        return c.page([c.p.commit(r, git.commit(s))
                       for s in git.commits_between(base, pull.head_sha)])


# -- merge -------------------------------------------------------------------------------------

@router.get(PULL + "/merge")
def check_merged(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        pull, _ = get_pull(c, r, number)
        if not pull.merged:
            raise not_found()
        return Response(status_code=204)


def close_linked_issues(c: Ctx, repo: Repo, issue: Issue) -> None:
    """Closing keywords (``Closes #12``) in the pull's title or body close those issues when
    it merges into the default branch, like GitHub."""
    text = f"{issue.title}\n{issue.body or ''}"
    for number in dict.fromkeys(int(n) for n in CLOSING.findall(text)):
        target = c.session.exec(select(Issue).where(Issue.repo_id == repo.id,
                                                    Issue.number == number)).first()
        if target is None or target.is_pull:
            continue
        action = set_state(c, repo, target, "closed", "completed")
        if action:
            c.session.flush()
            hook_issue(c, repo, target, action)


@router.put(PULL + "/merge")
def merge_pull(owner: str, repo: str, number: int, request: Request,
               body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.need(r, "write")
        pull, issue = get_pull(c, r, number)
        data = body_dict(body, "merge")
        method = data.get("merge_method") or "merge"
        if method not in ("merge", "squash", "rebase"):
            raise validation_failed("PullRequest", "invalid", "merge_method",
                                    "merge_method must be merge, squash or rebase")
        if pull.merged or issue.state != "open" or pull.draft:
            raise GitHubError(405, "Pull Request is not mergeable")
        expected = opt_str(data, "sha", "PullRequest")
        if expected and expected != pull.head_sha:
            raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
        git = c.git(r)
        base_tip = git.ref_sha(f"refs/heads/{pull.base_ref}")
        if base_tip is None:
            raise GitHubError(405, f"Base branch {pull.base_ref} does not exist")
        user = c.session.exec(select(User).where(User.login == login)).first()
        sig = Signature(user.name if user and user.name else login, user_email(login), utcnow())
        title = opt_str(data, "commit_title", "PullRequest")
        message = opt_str(data, "commit_message", "PullRequest")
        if method == "rebase":
            if not git.is_ancestor(base_tip, pull.head_sha):
                raise GitHubError(405, "This branch can't be rebased: the forge only "
                                       "fast-forwards; update the branch first.")
            sha = pull.head_sha
        else:
            tree = git.merge_tree(base_tip, pull.head_sha)
            if tree is None:
                raise GitHubError(405, "Pull Request is not mergeable: merge conflict")
            if method == "squash":
                base = git.merge_base(base_tip, pull.head_sha) or base_tip
                summary = "\n".join(f"* {git.commit(s).message.strip()}"
                                    for s in git.commits_between(base, pull.head_sha))
                text = f"{title or f'{issue.title} (#{number})'}\n\n{message or summary}"
                parents = [base_tip]
            else:
                text = (f"{title or f'Merge pull request #{number} from {owner}/{pull.head_ref}'}"
                        f"\n\n{message or issue.title}")
                parents = [base_tip, pull.head_sha]
            sha = git.commit_tree(tree, parents, text.rstrip() + "\n", sig, sig)
        if not git.update_ref(f"refs/heads/{pull.base_ref}", sha, base_tip):
            raise GitHubError(409, "Base branch was modified. Review and try the merge again.")
        pull.merged, pull.merged_at, pull.merged_by = True, utcnow(), login
        pull.merge_commit_sha, pull.base_sha = sha, base_tip
        set_state(c, r, issue, "closed", None)
        issue.state_reason = None
        c.session.add_all([pull, issue])
        c.session.flush()
        branch_moved(c, r, pull.base_ref, base_tip, sha)
        hook_pull(c, r, number, "closed")
        if pull.base_ref == r.default_branch:
            close_linked_issues(c, r, issue)
        return c.json({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


# -- reviews and review comments ---------------------------------------------------------------

@dataclass
class DiffLine:
    position: int
    side: str
    line: int


def diff_lines(patch: str) -> list[DiffLine]:
    """Every line of a patch with its ``position`` (1 = first line after the first hunk
    header) and its line number on the side it belongs to."""
    lines: list[DiffLine] = []
    old = new = 0
    for position, text in enumerate(patch.split("\n")):
        header = re.match(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", text)
        if header:
            old, new = int(header.group(1)), int(header.group(2))
            continue
        if text.startswith("-"):
            lines.append(DiffLine(position, "LEFT", old))
            old += 1
        elif text.startswith("+"):
            lines.append(DiffLine(position, "RIGHT", new))
            new += 1
        else:
            lines.append(DiffLine(position, "RIGHT", new))
            old += 1
            new += 1
    return lines


def place_comment(changes: list[FileChange], spec: dict[str, Any]) -> tuple[int, int, str, str]:
    """(position, line, side, diff_hunk) of an inline comment, or 422 like GitHub."""
    path = spec.get("path")
    change = next((f for f in changes if f.filename == path), None)
    if change is None or not change.patch:
        raise unprocessable_list("Path could not be resolved")
    lines = diff_lines(change.patch)
    side = spec.get("side") or "RIGHT"
    found: DiffLine | None = None
    if spec.get("line") is not None:
        found = next((d for d in lines if d.side == side and d.line == spec["line"]), None)
    elif spec.get("position") is not None:
        found = next((d for d in lines if d.position == spec["position"]), None)
    else:
        raise unprocessable_list("Either line or position is required for an inline comment")
    if found is None:
        raise unprocessable_list("Pull request review thread line must be part of the diff")
    hunk = "\n".join(change.patch.split("\n")[:found.position + 1])
    return found.position, found.line, found.side, hunk


@router.get(PULL + "/reviews")
def list_reviews(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        get_pull(c, r, number)
        rows = c.session.exec(select(Review).where(Review.repo_id == r.id,
                                                   Review.pull_number == number)
                              .order_by(col(Review.id))).all()
        visible = [row for row in rows if row.state != "PENDING" or row.user_login == c.login]
        return c.page([c.p.review(r, row) for row in visible])


@router.post(PULL + "/reviews")
def create_review(owner: str, repo: str, number: int, request: Request,
                  body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.me()
        pull, issue = get_pull(c, r, number)
        data = body_dict(body, "review")
        event = data.get("event")
        if event is not None and event not in REVIEW_EVENTS:
            raise unprocessable_list("event must be APPROVE, REQUEST_CHANGES or COMMENT")
        text = data.get("body") or ""
        if not isinstance(text, str):
            raise unprocessable_list("body must be a string")
        if event in ("APPROVE", "REQUEST_CHANGES") and login == issue.user_login:
            verb = "approve" if event == "APPROVE" else "request changes on"
            raise unprocessable_list(f"Can not {verb} your own pull request")
        comments = data.get("comments") or []
        if not isinstance(comments, list):
            raise unprocessable_list("comments must be a list of {path, line|position, body}")
        if event in ("REQUEST_CHANGES", "COMMENT") and not text and not comments:
            raise unprocessable_list(f"Review Comment is missing: a {event} review needs a "
                                     "body or comments")
        commit_id = data.get("commit_id") or pull.head_sha
        changes = pull_changes(c, r, pull) if comments else []
        placed = []
        for spec in comments:
            if not isinstance(spec, dict) or not isinstance(spec.get("body"), str):
                raise unprocessable_list("each comment needs path, body and line or position")
            placed.append((spec, place_comment(changes, spec)))
        review = Review(repo_id=r.pk, pull_number=number, user_login=login, body=text,
                        state=REVIEW_EVENTS.get(event or "", "PENDING"), commit_id=commit_id,
                        submitted_at=utcnow() if event else None)
        c.session.add(review)
        c.session.flush()
        for spec, (position, line, side, hunk) in placed:
            c.session.add(ReviewComment(
                repo_id=r.pk, pull_number=number, review_id=review.id, user_login=login,
                path=spec["path"], line=line, side=side, position=position, body=spec["body"],
                commit_id=commit_id, diff_hunk=hunk))
        if event and login in pull.requested_reviewers:
            pull.requested_reviewers = [u for u in pull.requested_reviewers if u != login]
            c.session.add(pull)
        c.session.flush()
        if event:
            review_json = c.p.review(r, review)
            review_json["state"] = review.state.lower()
            c.hook("pull_request_review", "submitted", r, review=review_json,
                   pull_request=pull_json(c, r, pull, issue))
        return c.json(c.p.review(r, review))


@router.get(PULL + "/reviews/{review_id:int}")
def get_review(owner: str, repo: str, number: int, review_id: int,
               request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        review = c.session.get(Review, review_id)
        if review is None or review.repo_id != r.id or review.pull_number != number:
            raise not_found()
        return c.json(c.p.review(r, review))


@router.get(PULL + "/comments")
def list_review_comments(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        get_pull(c, r, number)
        rows = c.session.exec(select(ReviewComment).where(
            ReviewComment.repo_id == r.id, ReviewComment.pull_number == number)
            .order_by(col(ReviewComment.id))).all()
        return c.page([c.p.review_comment(r, row) for row in rows])


@router.post(PULL + "/comments")
def create_review_comment(owner: str, repo: str, number: int, request: Request,
                          body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.me()
        pull, issue = get_pull(c, r, number)
        data = body_dict(body, "review comment")
        text = req_str(data, "body", "PullRequestReviewComment")
        reply_to = data.get("in_reply_to")
        if reply_to is not None:
            parent = c.session.get(ReviewComment, reply_to) if isinstance(reply_to, int) else None
            if parent is None or parent.repo_id != r.id or parent.pull_number != number:
                raise not_found()
            comment = ReviewComment(
                repo_id=r.pk, pull_number=number, review_id=parent.review_id,
                user_login=login, path=parent.path, line=parent.line, side=parent.side,
                position=parent.position, body=text, commit_id=parent.commit_id,
                diff_hunk=parent.diff_hunk, in_reply_to_id=parent.id)
        else:
            path = req_str(data, "path", "PullRequestReviewComment")
            commit_id = opt_str(data, "commit_id", "PullRequestReviewComment") or pull.head_sha
            position, line, side, hunk = place_comment(pull_changes(c, r, pull), data)
            review = Review(repo_id=r.pk, pull_number=number, user_login=login, body="",
                            state="COMMENTED", commit_id=commit_id)
            c.session.add(review)
            c.session.flush()
            comment = ReviewComment(
                repo_id=r.pk, pull_number=number, review_id=review.id, user_login=login,
                path=path, line=line, side=side, position=position, body=text,
                commit_id=commit_id, diff_hunk=hunk)
        c.session.add(comment)
        c.session.flush()
        c.hook("pull_request_review_comment", "created", r,
               comment=c.p.review_comment(r, comment),
               pull_request=pull_json(c, r, pull, issue))
        return c.json(c.p.review_comment(r, comment), 201)


# -- requested reviewers -----------------------------------------------------------------------

@router.get(PULL + "/requested_reviewers")
def list_requested(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        pull, _ = get_pull(c, r, number)
        return c.json({"users": [c.p.user(u) for u in pull.requested_reviewers], "teams": []})


def reviewer_list(data: dict[str, Any]) -> list[str]:
    reviewers = data.get("reviewers") or []
    if not isinstance(reviewers, list) or not all(isinstance(u, str) for u in reviewers):
        raise validation_failed("PullRequest", "invalid", "reviewers",
                                "reviewers must be a list of logins")
    if not reviewers and not data.get("team_reviewers"):
        raise validation_failed("PullRequest", "missing_field", "reviewers",
                                "send reviewers (a list of logins)")
    return list(dict.fromkeys(reviewers))


@router.post(PULL + "/requested_reviewers")
def request_reviewers(owner: str, repo: str, number: int, request: Request,
                      body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        pull, issue = get_pull(c, r, number)
        wanted = reviewer_list(body_dict(body, "review request"))
        for login in wanted:
            if login == issue.user_login:
                raise validation_failed("PullRequest", "custom", "reviewers",
                                        "Review cannot be requested from pull request author.")
            member = c.session.exec(select(Collaborator).where(
                Collaborator.repo_id == r.id, Collaborator.login == login)).first()
            if member is None:
                raise validation_failed(
                    "PullRequest", "custom", "reviewers",
                    "Reviews may only be requested from collaborators. One or more of the "
                    "users or teams you specified is not a collaborator of the "
                    f"{owner}/{repo} repository.")
        added = [u for u in wanted if u not in pull.requested_reviewers]
        pull.requested_reviewers = [*pull.requested_reviewers, *added]
        c.session.add(pull)
        c.session.flush()
        for login in added:
            hook_pull(c, r, number, "review_requested", requested_reviewer=c.p.user(login))
        return c.json(pull_json(c, r, pull, issue, full=False), 201)


@router.delete(PULL + "/requested_reviewers")
def remove_reviewers(owner: str, repo: str, number: int, request: Request,
                     body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        pull, issue = get_pull(c, r, number)
        gone = reviewer_list(body_dict(body, "review request"))
        removed = [u for u in pull.requested_reviewers if u in gone]
        pull.requested_reviewers = [u for u in pull.requested_reviewers if u not in gone]
        c.session.add(pull)
        c.session.flush()
        for login in removed:
            hook_pull(c, r, number, "review_request_removed", requested_reviewer=c.p.user(login))
        return c.json(pull_json(c, r, pull, issue, full=False))
