"""Read-only HTML pages at the ``html_url`` addresses the API hands out (an issue, a pull
request), so links the bot prints or its status page shows open in a browser. Public
repositories only, as on GitHub without signing in; every value escaped."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from forge.context import request_context
from forge.routes.issues import get_issue
from forge.store import IssueComment

router = APIRouter()


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
            "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;"
            "padding:0 1rem}pre{white-space:pre-wrap;background:#f6f8fa;padding:.6rem}</style>"
            f"</head><body>{body}</body></html>")


@router.get("/{owner}/{repo}/{kind}/{number:int}", response_class=HTMLResponse,
            include_in_schema=False)
def issue_page(owner: str, repo: str, kind: str, number: int, request: Request) -> HTMLResponse:
    if kind not in ("issues", "pull"):
        return HTMLResponse(_page("Not Found", "<h1>Not Found</h1>"), status_code=404)
    with request_context(request) as c:
        r = c.repo(owner, repo)
        issue = get_issue(c, r, number)
        comments = c.session.exec(select(IssueComment).where(
            IssueComment.repo_id == r.id, IssueComment.issue_number == number)
            .order_by(col(IssueComment.id))).all()
        what = "Pull request" if issue.is_pull else "Issue"
        parts = [f"<h1>{escape(issue.title)} <small>#{number}</small></h1>",
                 f"<p>{what} · <b>{escape(issue.state)}</b> · opened by "
                 f"{escape(issue.user_login)} · {escape(owner)}/{escape(repo)}</p>",
                 f"<pre>{escape(issue.body or '')}</pre>"]
        parts += [f"<h3>{escape(x.user_login)}</h3><pre>{escape(x.body)}</pre>"
                  for x in comments]
        return HTMLResponse(_page(f"{issue.title} · #{number}", "\n".join(parts)))
