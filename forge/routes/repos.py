"""Repositories, users, permissions, commit statuses, check runs, rate limit, App tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col, select

from forge.context import Ctx, body_dict, json_body, opt_str, req_str, request_context
from forge.errors import GitHubError, forbidden, not_found, validation_failed
from forge.payloads import permission_flags
from forge.store import CheckRun, Collaborator, CommitStatus, Repo, utcnow

router = APIRouter()
REPO = "/repos/{owner}/{repo}"
STATUS_STATES = ("error", "failure", "pending", "success")
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success",
                     "skipped", "stale", "timed_out")
ROLE_NAMES = {"admin": "admin", "maintain": "maintain", "write": "write", "triage": "triage",
              "read": "read", "none": "none"}
LEGACY_PERMISSION = {"maintain": "write", "triage": "read"}


# -- repositories and users --------------------------------------------------------------------

@router.get(REPO)
def get_repo(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        return c.json(c.p.repo(r, viewer=c.login))


@router.patch(REPO)
def update_repo(owner: str, repo: str, request: Request,
                body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "admin")
        data = body_dict(body, "repository")
        if "description" in data:
            r.description = opt_str(data, "description", "Repository")
        if "default_branch" in data:
            branch = req_str(data, "default_branch", "Repository")
            if c.git(r).ref_sha(f"refs/heads/{branch}") is None:
                raise validation_failed("Repository", "invalid", "default_branch",
                                        f"branch {branch!r} does not exist")
            r.default_branch = branch
        if "private" in data:
            r.private = bool(data["private"])
        r.updated_at = utcnow()
        c.session.add(r)
        c.session.flush()
        return c.json(c.p.repo(r, viewer=c.login))


@router.delete(REPO)
def delete_repo(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "admin")
        raise forbidden("The local forge does not delete repositories: remove its data "
                        "directory to start over.")


@router.get("/user")
def get_authenticated_user(request: Request) -> Response:
    with request_context(request) as c:
        return c.json(c.p.private_user(c.me()))


@router.get("/users/{login}")
def get_user(login: str, request: Request) -> Response:
    with request_context(request) as c:
        if c.p.find_user(login) is None:
            raise not_found()
        return c.json(c.p.user(login))


def collaborator_json(c: Ctx, repo: Repo, login: str, permission: str) -> dict[str, Any]:
    data = c.p.user(login) or {}
    data["permissions"] = permission_flags(permission)
    data["role_name"] = ROLE_NAMES.get(permission, permission)
    return data


@router.get(REPO + "/collaborators/{login}/permission")
def collaborator_permission(owner: str, repo: str, login: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        if c.p.find_user(login) is None:
            raise not_found()
        permission = c.p.permission_of(r, login)
        return c.json({"permission": LEGACY_PERMISSION.get(permission, permission),
                       "role_name": ROLE_NAMES.get(permission, permission),
                       "user": collaborator_json(c, r, login, permission)})


@router.get(REPO + "/collaborators/{login}")
def check_collaborator(owner: str, repo: str, login: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        row = c.session.exec(select(Collaborator).where(Collaborator.repo_id == r.id,
                                                        Collaborator.login == login)).first()
        if row is None:
            raise not_found()
        return Response(status_code=204)


@router.get(REPO + "/collaborators")
def list_collaborators(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        rows = c.session.exec(select(Collaborator).where(Collaborator.repo_id == r.id)
                              .order_by(Collaborator.login)).all()
        return c.page([collaborator_json(c, r, row.login, row.permission) for row in rows])


# -- statuses ----------------------------------------------------------------------------------

@router.post(REPO + "/statuses/{sha}")
def create_status(owner: str, repo: str, sha: str, request: Request,
                  body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.need(r, "write")
        if c.git(r).object_type(sha) != "commit":
            raise GitHubError(422, f"No commit found for SHA: {sha}")
        data = body_dict(body, "status")
        state = req_str(data, "state", "Status")
        if state not in STATUS_STATES:
            raise validation_failed("Status", "invalid", "state",
                                    f"state must be one of {', '.join(STATUS_STATES)}")
        status = CommitStatus(repo_id=r.pk, sha=sha, state=state,
                              context=opt_str(data, "context", "Status") or "default",
                              description=opt_str(data, "description", "Status"),
                              target_url=opt_str(data, "target_url", "Status"),
                              creator_login=login)
        c.session.add(status)
        c.session.flush()
        return c.json(c.p.status(r, status), 201)


def statuses_for(c: Ctx, repo: Repo, ref: str) -> tuple[str, list[CommitStatus]]:
    sha = c.git(repo).resolve(ref)
    if sha is None:
        raise not_found()
    rows = c.session.exec(select(CommitStatus).where(CommitStatus.repo_id == repo.id,
                                                     CommitStatus.sha == sha)
                          .order_by(col(CommitStatus.id).desc())).all()
    return sha, list(rows)


@router.get(REPO + "/statuses/{ref}")
@router.get(REPO + "/commits/{ref}/statuses")
def list_statuses(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        _, rows = statuses_for(c, r, ref)
        return c.page([c.p.status(r, row) for row in rows])


@router.get(REPO + "/commits/{ref}/status")
def combined_status(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        sha, rows = statuses_for(c, r, ref)
        latest: dict[str, CommitStatus] = {}
        for row in rows:
            latest.setdefault(row.context, row)
        states = {row.state for row in latest.values()}
        state = ("failure" if states & {"failure", "error"} else
                 "pending" if "pending" in states or not states else "success")
        return c.json({"state": state, "sha": sha, "total_count": len(latest),
                       "statuses": [c.p.status(r, row) for row in latest.values()],
                       "repository": c.p.repo(r),
                       "commit_url": f"{c.p.repo_base(r)}/commits/{sha}",
                       "url": f"{c.p.repo_base(r)}/commits/{sha}/status"})


# -- check runs --------------------------------------------------------------------------------

def parse_time(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise validation_failed("CheckRun", "invalid", field,
                                f"{field} must be ISO 8601, e.g. 2024-01-01T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def apply_check(run: CheckRun, data: dict[str, Any]) -> None:
    if "status" in data:
        if data["status"] not in CHECK_STATUSES:
            raise validation_failed("CheckRun", "invalid", "status",
                                    f"status must be one of {', '.join(CHECK_STATUSES)}")
        run.status = data["status"]
    if data.get("conclusion") is not None:
        if data["conclusion"] not in CHECK_CONCLUSIONS:
            raise validation_failed("CheckRun", "invalid", "conclusion",
                                    f"conclusion must be one of {', '.join(CHECK_CONCLUSIONS)}")
        run.conclusion = data["conclusion"]
        run.status = "completed"
    if run.status == "completed" and run.conclusion is None:
        raise validation_failed("CheckRun", "missing_field", "conclusion",
                                "a completed check run needs a conclusion")
    for key in ("details_url", "external_id"):
        if key in data:
            setattr(run, key, data[key])
    if "started_at" in data:
        run.started_at = parse_time(data["started_at"], "started_at")
    if "completed_at" in data:
        run.completed_at = parse_time(data["completed_at"], "completed_at")
    if run.status == "in_progress" and run.started_at is None:
        run.started_at = utcnow()
    if run.status == "completed":
        run.started_at = run.started_at or utcnow()
        run.completed_at = run.completed_at or utcnow()
    if isinstance(data.get("output"), dict):
        run.output = {k: data["output"].get(k) for k in ("title", "summary", "text")}


@router.post(REPO + "/check-runs")
def create_check_run(owner: str, repo: str, request: Request,
                     body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        login = c.need(r, "write")
        data = body_dict(body, "check run")
        name = req_str(data, "name", "CheckRun")
        head_sha = req_str(data, "head_sha", "CheckRun")
        if c.git(r).object_type(head_sha) != "commit":
            raise GitHubError(422, f"No commit found for SHA: {head_sha}")
        run = CheckRun(repo_id=r.pk, head_sha=head_sha, name=name, creator_login=login)
        apply_check(run, data)
        c.session.add(run)
        c.session.flush()
        return c.json(c.p.check_run(r, run), 201)


def get_check(c: Ctx, repo: Repo, run_id: int) -> CheckRun:
    run = c.session.get(CheckRun, run_id)
    if run is None or run.repo_id != repo.id:
        raise not_found()
    return run


@router.get(REPO + "/check-runs/{run_id:int}")
def get_check_run(owner: str, repo: str, run_id: int, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        return c.json(c.p.check_run(r, get_check(c, r, run_id)))


@router.patch(REPO + "/check-runs/{run_id:int}")
def update_check_run(owner: str, repo: str, run_id: int, request: Request,
                     body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        run = get_check(c, r, run_id)
        apply_check(run, body_dict(body, "check run"))
        c.session.add(run)
        c.session.flush()
        return c.json(c.p.check_run(r, run))


@router.get(REPO + "/commits/{ref}/check-runs")
def list_check_runs(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        sha = c.git(r).resolve(ref)
        if sha is None:
            raise not_found()
        rows = c.session.exec(select(CheckRun).where(CheckRun.repo_id == r.id,
                                                     CheckRun.head_sha == sha)
                              .order_by(col(CheckRun.id))).all()
        runs = [c.p.check_run(r, row) for row in rows]
        return c.json({"total_count": len(runs), "check_runs": runs})


# -- rate limit and GitHub Apps ----------------------------------------------------------------

@router.get("/rate_limit")
def rate_limit(request: Request) -> Response:
    with request_context(request) as c:
        who = c.login or f"anon:{request.client.host if request.client else ''}"
        window = c.forge.rate.get(who)
        now = int(time.time())
        core = {"limit": window.limit if window else 5000,
                "remaining": max(0, window.limit - window.used) if window else 5000,
                "reset": window.reset if window else now + 3600,
                "used": window.used if window else 0, "resource": "core"}

        def other(name: str, limit: int) -> dict[str, Any]:
            return {"limit": limit, "remaining": limit, "reset": now + 60, "used": 0,
                    "resource": name}

        return c.json({"resources": {"core": core, "search": other("search", 30),
                                     "graphql": other("graphql", 5000),
                                     "code_search": other("code_search", 10)},
                       "rate": core})


@router.post("/app/installations/{installation_id}/access_tokens")
def installation_token(installation_id: str, request: Request) -> Response:
    raise GitHubError(404, "Not Found: the local forge has no GitHub Apps; authenticate with "
                           "a user token from <data dir>/forge/tokens.json")


@router.get("/users/{login}/repos")
def user_repos(login: str, request: Request) -> Response:
    with request_context(request) as c:
        rows = c.session.exec(select(Repo).where(Repo.owner == login)).all()
        return c.page([c.p.repo(row) for row in rows if not row.private])
