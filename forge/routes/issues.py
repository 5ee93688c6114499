"""Issues, issue comments and labels (``/repos/{owner}/{repo}/issues…``, ``/labels``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col, select

from forge.context import Ctx, body_dict, json_body, opt_str, req_str, request_context
from forge.errors import not_found, validation_failed
from forge.routes.pull_events import hook_pull
from forge.store import Issue, IssueComment, Label, Repo, next_issue_number, utcnow

router = APIRouter()
REPO = "/repos/{owner}/{repo}"
ISSUE = REPO + "/issues/{number:int}"
STATE_REASONS = {"completed", "not_planned", "reopened", None}


def get_issue(c: Ctx, repo: Repo, number: int) -> Issue:
    issue = c.session.exec(select(Issue).where(Issue.repo_id == repo.id,
                                               Issue.number == number)).first()
    if issue is None:
        raise not_found()
    return issue


def get_label(c: Ctx, repo: Repo, name: str) -> Label | None:
    return c.session.exec(select(Label).where(Label.repo_id == repo.id,
                                              Label.name == name)).first()


def ensure_label(c: Ctx, repo: Repo, name: str) -> Label:
    """The label ``name``, created (grey, like GitHub) when the repository lacks it."""
    label = get_label(c, repo, name)
    if label is None:
        label = Label(repo_id=repo.pk, name=name)
        c.session.add(label)
        c.session.flush()
    return label


def label_names(body: Any) -> list[str]:
    """GitHub accepts ``["a"]``, ``{"labels": ["a"]}`` and ``[{"name": "a"}]``."""
    items = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise validation_failed("Label", "invalid", "labels",
                                "labels must be a list of names")
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise validation_failed("Label", "invalid", "labels",
                                    f"each label must be a non-empty name, got {item!r}")
        names.append(name.strip())
    return list(dict.fromkeys(names))


def issue_payload(c: Ctx, repo: Repo, issue: Issue) -> dict[str, Any]:
    return c.p.issue(repo, issue)


def hook_issue(c: Ctx, repo: Repo, issue: Issue, action: str, **extra: Any) -> None:
    """``issues`` (or ``pull_request`` for a pull's issue half) webhook."""
    if issue.is_pull:
        hook_pull(c, repo, issue.number, action, **extra)
    else:
        c.hook("issues", action, repo, issue=issue_payload(c, repo, issue), **extra)


def add_labels(c: Ctx, repo: Repo, issue: Issue, names: list[str]) -> None:
    added = [n for n in names if n not in issue.labels]
    for name in added:
        ensure_label(c, repo, name)
    if added:
        issue.labels = [*issue.labels, *added]
        issue.updated_at = utcnow()
        c.session.add(issue)
        for name in added:
            label = get_label(c, repo, name)
            assert label is not None
            hook_issue(c, repo, issue, "labeled", label=c.p.label(repo, label))


def remove_labels(c: Ctx, repo: Repo, issue: Issue, names: list[str]) -> None:
    removed = [n for n in issue.labels if n in names]
    if removed:
        issue.labels = [n for n in issue.labels if n not in removed]
        issue.updated_at = utcnow()
        c.session.add(issue)
        for name in removed:
            label = get_label(c, repo, name)
            if label is not None:
                hook_issue(c, repo, issue, "unlabeled", label=c.p.label(repo, label))


def set_state(c: Ctx, repo: Repo, issue: Issue, state: str, reason: str | None) -> str | None:
    """Close or reopen; returns the webhook action (None when nothing changed)."""
    if state == issue.state:
        if reason and state == "closed":
            issue.state_reason = reason
        return None
    issue.state = state
    issue.updated_at = utcnow()
    if state == "closed":
        issue.closed_at, issue.closed_by = utcnow(), c.login
        issue.state_reason = reason or "completed"
        action = "closed"
    else:
        issue.closed_at, issue.closed_by, issue.state_reason = None, None, "reopened"
        action = "reopened"
    c.session.add(issue)
    return action


# -- issues ------------------------------------------------------------------------------------

@router.get(REPO + "/issues")
def list_issues(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        q = request.query_params
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise validation_failed("Issue", "invalid", "state",
                                    "state must be open, closed or all")
        query = select(Issue).where(Issue.repo_id == r.id)
        if state != "all":
            query = query.where(Issue.state == state)
        rows = list(c.session.exec(query).all())
        wanted = [n.strip() for n in q.get("labels", "").split(",") if n.strip()]
        rows = [i for i in rows if all(n in i.labels for n in wanted)]
        if q.get("creator"):
            rows = [i for i in rows if i.user_login == q["creator"]]
        reverse = q.get("direction", "desc") != "asc"
        key = "updated_at" if q.get("sort") == "updated" else "created_at"
        rows.sort(key=lambda i: (getattr(i, key), i.number), reverse=reverse)
        return c.page([issue_payload(c, r, i) for i in rows])


@router.post(REPO + "/issues")
def create_issue(owner: str, repo: str, request: Request,
                 body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.me()
        data = body_dict(body, "issue")
        title = req_str(data, "title", "Issue")
        issue = Issue(repo_id=r.pk, number=next_issue_number(c.session, r.id or 0),
                      title=title, body=opt_str(data, "body", "Issue"), user_login=login)
        c.session.add(issue)
        c.session.flush()
        names = label_names({"labels": data.get("labels") or []})
        if c.level(r) in ("triage", "write", "maintain", "admin"):
            # GitHub silently drops labels and assignees from people without push access.
            assignees = data.get("assignees") or []
            if isinstance(assignees, list):
                issue.assignees = [a for a in assignees if isinstance(a, str)]
            issue.labels = [ensure_label(c, r, name).name for name in names]
            c.session.add(issue)
            c.session.flush()
        # Like GitHub: "opened" (labels included), then one "labeled" per label.
        c.hook("issues", "opened", r, issue=issue_payload(c, r, issue))
        for name in issue.labels:
            label = get_label(c, r, name)
            assert label is not None
            c.hook("issues", "labeled", r, issue=issue_payload(c, r, issue),
                   label=c.p.label(r, label))
        return c.json(issue_payload(c, r, issue), 201)


@router.get(ISSUE)
def get_issue_route(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        return c.json(issue_payload(c, r, get_issue(c, r, number)))


@router.patch(ISSUE)
def update_issue(owner: str, repo: str, number: int, request: Request,
                 body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        login = c.me()
        if login != issue.user_login:
            c.need(r, "triage")
        data = body_dict(body, "issue")
        changes: dict[str, Any] = {}
        if "title" in data:
            title = req_str(data, "title", "Issue")
            if title != issue.title:
                changes["title"] = {"from": issue.title}
                issue.title = title
        if "body" in data:
            text = opt_str(data, "body", "Issue")
            if text != issue.body:
                changes["body"] = {"from": issue.body or ""}
                issue.body = text
        if changes:
            issue.updated_at = utcnow()
            c.session.add(issue)
            hook_issue(c, r, issue, "edited", changes=changes)
        if "labels" in data:
            c.need(r, "triage")
            names = label_names({"labels": data["labels"] or []})
            remove_labels(c, r, issue, [n for n in issue.labels if n not in names])
            add_labels(c, r, issue, names)
        if "assignees" in data and isinstance(data["assignees"], list):
            issue.assignees = [a for a in data["assignees"] if isinstance(a, str)]
            c.session.add(issue)
        if "state" in data:
            state, reason = data.get("state"), data.get("state_reason")
            if state not in ("open", "closed"):
                raise validation_failed("Issue", "invalid", "state",
                                        "state must be open or closed")
            if reason not in STATE_REASONS:
                raise validation_failed("Issue", "invalid", "state_reason",
                                        "state_reason must be completed, not_planned or "
                                        "reopened")
            action = set_state(c, r, issue, state, reason)
            if action:
                hook_issue(c, r, issue, action)
        c.session.flush()
        return c.json(issue_payload(c, r, issue))


# -- issue comments ----------------------------------------------------------------------------

def get_comment(c: Ctx, repo: Repo, comment_id: int) -> IssueComment:
    comment = c.session.get(IssueComment, comment_id)
    if comment is None or comment.repo_id != repo.id:
        raise not_found()
    return comment


def hook_comment(c: Ctx, repo: Repo, comment: IssueComment, action: str,
                 **extra: Any) -> None:
    issue = get_issue(c, repo, comment.issue_number)
    c.hook("issue_comment", action, repo, issue=issue_payload(c, repo, issue),
           comment=c.p.issue_comment(repo, comment), **extra)


@router.get(ISSUE + "/comments")
def list_comments(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        get_issue(c, r, number)
        rows = c.session.exec(select(IssueComment).where(
            IssueComment.repo_id == r.id, IssueComment.issue_number == number)
            .order_by(col(IssueComment.id))).all()
        return c.page([c.p.issue_comment(r, row) for row in rows])


@router.post(ISSUE + "/comments")
def create_comment(owner: str, repo: str, number: int, request: Request,
                   body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        login = c.me()
        text = req_str(body_dict(body, "comment"), "body", "IssueComment")
        comment = IssueComment(repo_id=r.pk, issue_number=number, user_login=login, body=text)
        c.session.add(comment)
        issue.updated_at = utcnow()
        c.session.add(issue)
        c.session.flush()
        hook_comment(c, r, comment, "created")
        return c.json(c.p.issue_comment(r, comment), 201)


@router.get(REPO + "/issues/comments/{comment_id:int}")
def get_comment_route(owner: str, repo: str, comment_id: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        return c.json(c.p.issue_comment(r, get_comment(c, r, comment_id)))


@router.patch(REPO + "/issues/comments/{comment_id:int}")
def update_comment(owner: str, repo: str, comment_id: int, request: Request,
                   body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        comment = get_comment(c, r, comment_id)
        if c.me() != comment.user_login:
            c.need(r, "write")
        text = req_str(body_dict(body, "comment"), "body", "IssueComment")
        if text != comment.body:
            previous = comment.body
            comment.body, comment.updated_at = text, utcnow()
            c.session.add(comment)
            c.session.flush()
            hook_comment(c, r, comment, "edited", changes={"body": {"from": previous}})
        return c.json(c.p.issue_comment(r, comment))


@router.delete(REPO + "/issues/comments/{comment_id:int}")
def delete_comment(owner: str, repo: str, comment_id: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        comment = get_comment(c, r, comment_id)
        if c.me() != comment.user_login:
            c.need(r, "write")
        hook_comment(c, r, comment, "deleted")
        c.session.delete(comment)
        return Response(status_code=204)


# -- labels ------------------------------------------------------------------------------------

@router.get(ISSUE + "/labels")
def list_issue_labels(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        return c.page(c.p.labels_of(r, get_issue(c, r, number).labels))


@router.post(ISSUE + "/labels")
def add_issue_labels(owner: str, repo: str, number: int, request: Request,
                     body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        c.need(r, "triage")
        add_labels(c, r, issue, label_names(body))
        c.session.flush()
        return c.json(c.p.labels_of(r, issue.labels))


@router.put(ISSUE + "/labels")
def set_issue_labels(owner: str, repo: str, number: int, request: Request,
                     body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        c.need(r, "triage")
        names = label_names(body)
        remove_labels(c, r, issue, [n for n in issue.labels if n not in names])
        add_labels(c, r, issue, names)
        c.session.flush()
        return c.json(c.p.labels_of(r, issue.labels))


@router.delete(ISSUE + "/labels")
def remove_all_labels(owner: str, repo: str, number: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        c.need(r, "triage")
        remove_labels(c, r, issue, list(issue.labels))
        return Response(status_code=204)


@router.delete(ISSUE + "/labels/{name:path}")
def remove_issue_label(owner: str, repo: str, number: int, name: str,
                       request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        c.need(r, "triage")
        name = unquote(name)
        if name not in issue.labels:
            raise not_found()  # GitHub: 404 "Label does not exist"
        remove_labels(c, r, issue, [name])
        c.session.flush()
        return c.json(c.p.labels_of(r, issue.labels))


@router.get(REPO + "/labels")
def list_repo_labels(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        rows = c.session.exec(select(Label).where(Label.repo_id == r.id)
                              .order_by(Label.name)).all()
        return c.page([c.p.label(r, row) for row in rows])


@router.get(REPO + "/labels/{name:path}")
def get_repo_label(owner: str, repo: str, name: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        label = get_label(c, r, unquote(name))
        if label is None:
            raise not_found()
        return c.json(c.p.label(r, label))


@router.post(REPO + "/labels")
def create_repo_label(owner: str, repo: str, request: Request,
                      body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "label")
        name = req_str(data, "name", "Label").strip()
        color = (opt_str(data, "color", "Label") or "ededed").lstrip("#").lower()
        if len(color) != 6 or any(ch not in "0123456789abcdef" for ch in color):
            raise validation_failed("Label", "invalid", "color",
                                    "color must be 6 hex digits like 'd73a4a'")
        if get_label(c, r, name) is not None:
            raise validation_failed("Label", "already_exists", "name")
        label = Label(repo_id=r.pk, name=name, color=color,
                      description=opt_str(data, "description", "Label"))
        c.session.add(label)
        c.session.flush()
        return c.json(c.p.label(r, label), 201)
