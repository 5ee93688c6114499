"""Git data: refs, blobs, trees, commits; contents, branches, commits and compare."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from forge.context import Ctx, body_dict, json_body, opt_str, req_str, request_context
from forge.errors import GitHubError, not_found, unprocessable, validation_failed
from forge.gitrepo import (
    EMPTY_TREE,
    SHA_RE,
    ZERO_SHA,
    GitRepo,
    IndexChange,
    Signature,
    valid_ref_name,
)
from forge.payloads import node_id, user_email
from forge.routes.pull_events import branch_deleted, branch_moved
from forge.store import Repo, utcnow

router = APIRouter()
REPO = "/repos/{owner}/{repo}"
MODES = {"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree",
         "160000": "commit"}


def b64(data: bytes) -> str:
    """Base64 wrapped at 60 characters, as GitHub returns file contents."""
    text = base64.b64encode(data).decode()
    return "\n".join(text[i:i + 60] for i in range(0, len(text), 60)) + ("\n" if text else "")


def decode_b64(value: str, field: str, resource: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise validation_failed(resource, "invalid", field,
                                f"{field} is not valid base64") from None


def full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


def set_ref(c: Ctx, repo: Repo, ref: str, new: str, old: str | None) -> None:
    """Move ``ref`` (compare-and-swap on ``old``) and tell open pulls about branch moves."""
    git = c.git(repo)
    if not git.update_ref(ref, new, old if old is not None else ZERO_SHA):
        raise GitHubError(409, "Reference update failed: the ref moved meanwhile; read it "
                               "again and retry.")
    if ref.startswith("refs/heads/"):
        branch_moved(c, repo, ref.removeprefix("refs/heads/"), old, new)


def resolve(c: Ctx, repo: Repo, ref: str) -> str:
    sha = c.git(repo).resolve(ref)
    if sha is None:
        raise not_found()
    return sha


# -- refs --------------------------------------------------------------------------------------

@router.get(REPO + "/git/ref/{ref:path}")
def get_ref(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        name = full_ref(ref)
        sha = c.git(r).ref_sha(name) if valid_ref_name(name) else None
        if sha is None:
            raise not_found()
        return c.json(c.p.git_ref(r, name, sha))


@router.get(REPO + "/git/matching-refs/{ref:path}")
def matching_refs(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        prefix = full_ref(ref)
        refs = c.git(r).refs()
        return c.page([c.p.git_ref(r, name, sha) for name, sha in sorted(refs.items())
                       if name.startswith(prefix)])


@router.get(REPO + "/git/refs")
def list_refs(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        return c.page([c.p.git_ref(r, name, sha)
                       for name, sha in sorted(c.git(r).refs().items())])


@router.get(REPO + "/git/refs/{ref:path}")
def get_refs_compat(owner: str, repo: str, ref: str, request: Request) -> Response:
    """``GET /git/refs/heads/x``: one ref when it exists exactly, else the refs it prefixes."""
    with request_context(request) as c:
        r = c.repo(owner, repo)
        name = full_ref(ref)
        refs = c.git(r).refs()
        if name in refs:
            return c.json(c.p.git_ref(r, name, refs[name]))
        matching = [c.p.git_ref(r, n, s) for n, s in sorted(refs.items())
                    if n.startswith(name.rstrip("/") + "/")]
        if not matching:
            raise not_found()
        return c.json(matching)


@router.post(REPO + "/git/refs")
def create_ref(owner: str, repo: str, request: Request,
               body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "ref")
        ref = req_str(data, "ref", "Reference")
        sha = req_str(data, "sha", "Reference")
        if not valid_ref_name(ref):
            raise unprocessable(f"{ref!r} is not a valid ref name: send a fully qualified "
                                "name like refs/heads/feature")
        git = c.git(r)
        if git.object_type(sha) is None:
            raise unprocessable("Object does not exist")
        if git.ref_sha(ref) is not None:
            raise unprocessable("Reference already exists")
        set_ref(c, r, ref, sha, None)
        return c.json(c.p.git_ref(r, ref, sha), 201)


@router.patch(REPO + "/git/refs/{ref:path}")
def update_ref(owner: str, repo: str, ref: str, request: Request,
               body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "ref")
        sha = req_str(data, "sha", "Reference")
        force = bool(data.get("force", False))
        name = full_ref(ref)
        git = c.git(r)
        current = git.ref_sha(name) if valid_ref_name(name) else None
        if current is None:
            raise unprocessable("Reference does not exist")
        if git.object_type(sha) is None:
            raise unprocessable("Object does not exist")
        if not force and current != sha and not git.is_ancestor(current, sha):
            raise unprocessable("Update is not a fast forward")
        if current != sha:
            set_ref(c, r, name, sha, current)
        return c.json(c.p.git_ref(r, name, sha))


@router.delete(REPO + "/git/refs/{ref:path}")
def delete_ref(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        name = full_ref(ref)
        git = c.git(r)
        if not valid_ref_name(name) or git.ref_sha(name) is None:
            raise unprocessable("Reference does not exist")
        if name == f"refs/heads/{r.default_branch}":
            raise unprocessable("Cannot delete the default branch")
        git.delete_ref(name)
        if name.startswith("refs/heads/"):
            branch_deleted(c, r, name.removeprefix("refs/heads/"))
        return Response(status_code=204)


# -- blobs, trees, commits ---------------------------------------------------------------------

@router.post(REPO + "/git/blobs")
def create_blob(owner: str, repo: str, request: Request,
                body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "blob")
        content = req_str(data, "content", "Blob", allow_empty=True)
        encoding = data.get("encoding") or "utf-8"
        if encoding not in ("utf-8", "utf8", "base64"):
            raise validation_failed("Blob", "invalid", "encoding",
                                    "encoding must be utf-8 or base64")
        raw = decode_b64(content, "content", "Blob") if encoding == "base64" \
            else content.encode("utf-8")
        sha = c.git(r).write_blob(raw)
        return c.json({"url": f"{c.p.repo_base(r)}/git/blobs/{sha}", "sha": sha}, 201)


@router.get(REPO + "/git/blobs/{sha}")
def get_blob(owner: str, repo: str, sha: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        git = c.git(r)
        if git.object_type(sha) != "blob":
            raise not_found()
        raw = git.read_blob(sha)
        return c.json({"sha": sha, "node_id": node_id("Blob", sha), "size": len(raw),
                       "url": f"{c.p.repo_base(r)}/git/blobs/{sha}", "content": b64(raw),
                       "encoding": "base64"})


def tree_changes(c: Ctx, git: GitRepo, entries: Any) -> list[IndexChange]:
    if not isinstance(entries, list):
        raise validation_failed("Tree", "missing_field", "tree",
                                "tree must be a list of {path, mode, type, sha|content}")
    changes = []
    for index, entry in enumerate(entries):
        where = f"tree[{index}]"
        if not isinstance(entry, dict):
            raise unprocessable(f"{where} must be an object")
        path = entry.get("path")
        mode = entry.get("mode", "100644")
        if not isinstance(path, str) or not path or path.startswith("/") or path.endswith("/") \
                or any(part in ("", ".", "..", ".git") for part in path.split("/")):
            raise unprocessable(f"{where}.path {path!r} is not a valid relative path")
        if mode not in MODES:
            raise unprocessable(f"{where}.mode must be one of {', '.join(MODES)}")
        kind = entry.get("type", MODES[mode])
        if kind != MODES[mode]:
            raise unprocessable(f"{where}.type {kind!r} does not match mode {mode}")
        if "content" in entry and entry["content"] is not None:
            if not isinstance(entry["content"], str) or kind != "blob":
                raise unprocessable(f"{where}.content must be a string for a blob entry")
            sha: str | None = git.write_blob(entry["content"].encode("utf-8"))
        else:
            sha = entry.get("sha")
            if sha is not None and (not isinstance(sha, str) or git.object_type(sha) != kind):
                raise unprocessable(f"{where}.sha {sha!r} is not a {kind} in this repository "
                                    "(GitRPC::BadObjectState)")
        changes.append(IndexChange(path, mode, kind, sha))
    return changes


def tree_json(c: Ctx, repo: Repo, git: GitRepo, sha: str, recursive: bool) -> dict[str, Any]:
    base = c.p.repo_base(repo)
    items = []
    for e in git.ls_tree(sha, recursive=recursive):
        item: dict[str, Any] = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
        if e.type == "blob":
            item["size"] = e.size or 0
            item["url"] = f"{base}/git/blobs/{e.sha}"
        elif e.type == "tree":
            item["url"] = f"{base}/git/trees/{e.sha}"
        items.append(item)
    return {"sha": sha, "url": f"{base}/git/trees/{sha}", "tree": items, "truncated": False}


@router.post(REPO + "/git/trees")
def create_tree(owner: str, repo: str, request: Request,
                body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "tree")
        git = c.git(r)
        base_tree = opt_str(data, "base_tree", "Tree")
        if base_tree is not None and git.object_type(base_tree) != "tree":
            raise unprocessable(f"base_tree {base_tree!r} is not a tree in this repository")
        sha = git.build_tree(base_tree, tree_changes(c, git, data.get("tree")))
        return c.json(tree_json(c, r, git, sha, False), 201)


@router.get(REPO + "/git/trees/{tree_sha:path}")
def get_tree(owner: str, repo: str, tree_sha: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        git = c.git(r)
        kind = git.object_type(tree_sha) if SHA_RE.match(tree_sha) else None
        if kind == "tree":
            sha = tree_sha
        elif kind == "commit":
            sha = git.commit(tree_sha).tree
        else:
            commit = git.resolve(tree_sha)
            if commit is None:
                raise not_found()
            sha = git.commit(commit).tree
        recursive = request.query_params.get("recursive", "") not in ("", "0", "false")
        return c.json(tree_json(c, r, git, sha, recursive))


def signature(c: Ctx, value: Any, field: str) -> Signature:
    login = c.login or "ghost"
    user = c.p.find_user(login)
    default = Signature(user.name if user and user.name else login, user_email(login),
                        utcnow())
    if value is None:
        return default
    if not isinstance(value, dict):
        raise validation_failed("Commit", "invalid", field,
                                f"{field} must be an object with name and email")
    name, email = value.get("name"), value.get("email")
    if not isinstance(name, str) or not isinstance(email, str) or not name or not email:
        raise validation_failed("Commit", "missing_field", field,
                                f"{field} needs both name and email")
    date = default.date
    if value.get("date"):
        try:
            date = datetime.fromisoformat(str(value["date"]).replace("Z", "+00:00"))
            date = date if date.tzinfo else date.replace(tzinfo=UTC)
        except ValueError:
            raise validation_failed("Commit", "invalid", f"{field}.date",
                                    "date must be ISO 8601, e.g. 2024-01-01T00:00:00Z"
                                    ) from None
    return Signature(name, email, date)


@router.post(REPO + "/git/commits")
def create_commit(owner: str, repo: str, request: Request,
                  body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "commit")
        message = req_str(data, "message", "Commit", allow_empty=True)
        tree = req_str(data, "tree", "Commit")
        parents = data.get("parents") or []
        git = c.git(r)
        if git.object_type(tree) != "tree":
            raise unprocessable(f"Tree SHA does not exist: {tree}")
        if not isinstance(parents, list) or any(
                not isinstance(p, str) or git.object_type(p) != "commit" for p in parents):
            raise unprocessable("Parent SHA does not exist or is not a commit object")
        author = signature(c, data.get("author"), "author")
        committer = signature(c, data.get("committer"), "committer") \
            if data.get("committer") else author
        sha = git.commit_tree(tree, parents, message, author, committer)
        return c.json(c.p.git_commit(r, git.commit(sha)), 201)


@router.get(REPO + "/git/commits/{sha}")
def get_git_commit(owner: str, repo: str, sha: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        git = c.git(r)
        if git.object_type(sha) != "commit":
            raise not_found()
        return c.json(c.p.git_commit(r, git.commit(sha)))


# -- commits, branches, compare ----------------------------------------------------------------

@router.get(REPO + "/commits/{ref:path}")
def get_commit(owner: str, repo: str, ref: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        git = c.git(r)
        sha = resolve(c, r, ref)
        info = git.commit(sha)
        files = git.diff(info.parents[0] if info.parents else EMPTY_TREE, sha)
        return c.json(c.p.commit(r, info, files=files))


@router.get(REPO + "/commits")
def list_commits(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        git = c.git(r)
        start = resolve(c, r, request.query_params.get("sha") or r.default_branch)
        shas = git.out("rev-list", "--max-count=1000", start).split()
        return c.page([c.p.commit(r, git.commit(s)) for s in shas])


def branch_json(c: Ctx, repo: Repo, name: str, sha: str) -> dict[str, Any]:
    base = c.p.repo_base(repo)
    return {"name": name, "commit": c.p.commit(repo, c.git(repo).commit(sha)),
            "_links": {"self": f"{base}/branches/{name}",
                       "html": f"{c.p.repo_html(repo)}/tree/{name}"},
            "protected": False,
            "protection": {"enabled": False,
                           "required_status_checks": {"enforcement_level": "off",
                                                      "contexts": [], "checks": []}},
            "protection_url": f"{base}/branches/{name}/protection"}


@router.get(REPO + "/branches/{branch:path}")
def get_branch(owner: str, repo: str, branch: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        sha = c.git(r).ref_sha(f"refs/heads/{branch}")
        if sha is None:
            raise GitHubError(404, "Branch not found")
        return c.json(branch_json(c, r, branch, sha))


@router.get(REPO + "/branches")
def list_branches(owner: str, repo: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        base = c.p.repo_base(r)
        refs = c.git(r).refs("refs/heads/")
        return c.page([{"name": n.removeprefix("refs/heads/"),
                        "commit": {"sha": s, "url": f"{base}/commits/{s}"}, "protected": False}
                       for n, s in sorted(refs.items())])


@router.get(REPO + "/compare/{basehead:path}")
def compare(owner: str, repo: str, basehead: str, request: Request) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        git = c.git(r)
        base_name, sep, head_name = basehead.partition("...")
        if not sep:
            base_name, sep, head_name = basehead.partition("..")
        if not sep or not base_name or not head_name:
            raise not_found()
        base_sha, head_sha = resolve(c, r, base_name), resolve(c, r, head_name)
        merge_base = git.merge_base(base_sha, head_sha)
        if merge_base is None:
            raise not_found()
        ahead, behind = git.ahead_behind(base_sha, head_sha)
        status = ("identical" if not ahead and not behind else "ahead" if not behind
                  else "behind" if not ahead else "diverged")
        commits = git.commits_between(merge_base, head_sha)
        html = f"{c.p.repo_html(r)}/compare/{base_name}...{head_name}"
        return c.json({
            "url": f"{c.p.repo_base(r)}/compare/{base_name}...{head_name}",
            "html_url": html, "permalink_url": f"{c.p.repo_html(r)}/compare/"
                                               f"{owner}:{base_sha}...{owner}:{head_sha}",
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "base_commit": c.p.commit(r, git.commit(base_sha)),
            "merge_base_commit": c.p.commit(r, git.commit(merge_base)),
            "status": status, "ahead_by": ahead, "behind_by": behind,
            "total_commits": ahead,
            "commits": [c.p.commit(r, git.commit(s)) for s in commits],
            "files": [c.p.diff_entry(r, f, head_sha) for f in git.diff(merge_base, head_sha)],
        })


# -- contents ----------------------------------------------------------------------------------

def content_json(c: Ctx, repo: Repo, path: str, ref: str) -> Any:
    git = c.git(repo)
    commit = resolve(c, repo, ref)
    entry = git.entry_at(commit, path.strip("/"))
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        listing = []
        for child in git.ls_tree(entry.sha):
            kind = {"tree": "dir", "commit": "submodule"}.get(child.type, "file")
            full = f"{path.strip('/')}/{child.path}".lstrip("/")
            listing.append(c.p.content_entry(repo, full, kind, child.sha, child.size or 0, ref))
        return listing
    raw = git.read_blob(entry.sha)
    data = c.p.content_entry(repo, entry.path, "file", entry.sha, len(raw), ref)
    data.update({"content": b64(raw), "encoding": "base64"})
    return data


@router.get(REPO + "/contents")
@router.get(REPO + "/contents/{path:path}")
def get_contents(owner: str, repo: str, request: Request, path: str = "") -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        ref = request.query_params.get("ref") or r.default_branch
        return c.json(content_json(c, r, path, ref))


def write_file(c: Ctx, r: Repo, path: str, data: dict[str, Any], content: bytes | None
               ) -> Response:
    """Commit one file change (``content`` None deletes) on ``branch``; GitHub's contents API."""
    message = req_str(data, "message", "Content")
    branch = opt_str(data, "branch", "Content") or r.default_branch
    git = c.git(r)
    head = git.ref_sha(f"refs/heads/{branch}")
    if head is None:
        raise GitHubError(404, f"Branch {branch} not found")
    path = path.strip("/")
    current = git.entry_at(head, path)
    given = opt_str(data, "sha", "Content")
    if current is not None and current.type != "blob":
        raise unprocessable(f"{path} is a directory")
    if current is not None and given is None and content is not None:
        raise validation_failed("Content", "missing_field", "sha",
                                '"sha" wasn\'t supplied: send the current blob sha to update')
    if current is None and content is None:
        raise not_found()
    if current is not None and given != current.sha:
        raise GitHubError(409, f"{path} does not match {given}")
    sha = git.write_blob(content) if content is not None else None
    mode = current.mode if current is not None else "100644"
    tree = git.build_tree(git.commit(head).tree, [IndexChange(path, mode, "blob", sha)])
    author = signature(c, data.get("author") or data.get("committer"), "author")
    commit = git.commit_tree(tree, [head], message, author, author)
    set_ref(c, r, f"refs/heads/{branch}", commit, head)
    info = git.commit(commit)
    body = c.p.git_commit(r, info)
    file_json = None
    if content is not None and sha is not None:
        file_json = c.p.content_entry(r, path, "file", sha, len(content), branch)
    return c.json({"content": file_json, "commit": body},
                  200 if current is not None or content is None else 201)


@router.put(REPO + "/contents/{path:path}")
def put_contents(owner: str, repo: str, path: str, request: Request,
                 body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "content")
        content = decode_b64(req_str(data, "content", "Content", allow_empty=True),
                             "content", "Content")
        return write_file(c, r, path, data, content)


@router.delete(REPO + "/contents/{path:path}")
def delete_contents(owner: str, repo: str, path: str, request: Request,
                    body: Any = Depends(json_body)) -> Response:
    with request_context(request) as c:
        r = c.repo(owner, repo)
        c.need(r, "write")
        data = body_dict(body, "content")
        req_str(data, "sha", "Content")
        return write_file(c, r, path, data, None)
