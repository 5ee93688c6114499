"""GitHub-shaped JSON builders: users, repositories, issues, pulls, git objects, statuses.

Field sets follow GitHub's REST schemas (``api.github.com`` OpenAPI description) so unmodified
clients (PyGithub) and webhook consumers read them; every ``url`` points back at this forge.
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, func, select

from forge.gitrepo import CommitInfo, FileChange, GitRepo, Signature
from forge.store import (
    CheckRun,
    Collaborator,
    CommitStatus,
    Issue,
    IssueComment,
    Label,
    Pull,
    Repo,
    Review,
    ReviewComment,
    User,
)

EMAIL_DOMAIN = "users.noreply.forge.local"


@dataclass(frozen=True)
class Urls:
    """Where this forge is reached: ``api`` (…/api/v3) and ``web`` (the site root)."""

    api: str
    web: str


current_urls: contextvars.ContextVar[Urls] = contextvars.ContextVar("forge_urls")


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"04:{kind}{ident}".encode()).decode()


def user_email(login: str) -> str:
    return f"{login}@{EMAIL_DOMAIN}"


def permission_flags(permission: str) -> dict[str, bool]:
    order = ["read", "triage", "write", "maintain", "admin"]
    level = order.index(permission) if permission in order else -1
    return {"pull": level >= 0, "triage": level >= 1, "push": level >= 2,
            "maintain": level >= 3, "admin": level >= 4}


class Payloads:
    """Builds the JSON of one request's answers (or one webhook's payload)."""

    def __init__(self, session: Session, urls: Urls, git_for: Callable[[Repo], GitRepo]) -> None:
        self.session = session
        self.urls = urls
        self.git_for = git_for
        self._users: dict[str, User | None] = {}

    # -- accounts -----------------------------------------------------------------------------

    def find_user(self, login: str) -> User | None:
        if login not in self._users:
            self._users[login] = self.session.exec(select(User).where(User.login == login)).first()
        return self._users[login]

    def user(self, login: str | None) -> dict[str, Any] | None:
        if not login:
            return None
        found = self.find_user(login)
        ident = found.id if found and found.id else 0
        kind = found.type if found else "User"
        api, web = self.urls.api, self.urls.web
        base = f"{api}/users/{login}"
        return {
            "login": login, "id": ident, "node_id": node_id("User", ident),
            "avatar_url": f"{web}/avatars/{login}", "gravatar_id": "", "url": base,
            "html_url": f"{web}/{login}", "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": kind, "site_admin": bool(found and found.site_admin),
            "user_view_type": "public",
        }

    def private_user(self, login: str) -> dict[str, Any]:
        """``GET /user``: the public fields plus the profile ones."""
        data = self.user(login) or {}
        found = self.find_user(login)
        created = iso(found.created_at if found else None)
        data.update({"name": found.name if found else login, "company": None, "blog": "",
                     "location": None, "email": user_email(login), "hireable": None,
                     "bio": None, "twitter_username": None, "public_repos": 0,
                     "public_gists": 0, "followers": 0, "following": 0,
                     "created_at": created, "updated_at": created})
        return data

    def permission_of(self, repo: Repo, login: str) -> str:
        row = self.session.exec(select(Collaborator).where(
            Collaborator.repo_id == repo.id, Collaborator.login == login)).first()
        return row.permission if row else ("read" if not repo.private else "none")

    def author_association(self, repo: Repo, login: str | None) -> str:
        if not login:
            return "NONE"
        if login == repo.owner:
            return "OWNER"
        row = self.session.exec(select(Collaborator).where(
            Collaborator.repo_id == repo.id, Collaborator.login == login)).first()
        return "COLLABORATOR" if row else "NONE"

    # -- repositories -------------------------------------------------------------------------

    def repo_base(self, repo: Repo) -> str:
        return f"{self.urls.api}/repos/{repo.owner}/{repo.name}"

    def repo_html(self, repo: Repo) -> str:
        return f"{self.urls.web}/{repo.owner}/{repo.name}"

    def repo(self, repo: Repo, *, viewer: str | None = None) -> dict[str, Any]:
        base, html = self.repo_base(repo), self.repo_html(repo)
        open_issues = self.session.exec(select(func.count()).select_from(Issue).where(
            Issue.repo_id == repo.id, Issue.state == "open")).one()
        templated = {
            "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}", "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}", "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors", "deployments_url": "/deployments",
            "downloads_url": "/downloads", "events_url": "/events", "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
            "languages_url": "/languages", "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers", "subscription_url": "/subscription",
            "tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
        }
        data: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("Repository", repo.id or 0), "name": repo.name,
            "full_name": f"{repo.owner}/{repo.name}", "owner": self.user(repo.owner),
            "private": repo.private, "html_url": html, "description": repo.description,
            "fork": False, "url": base,
            **{key: base + suffix for key, suffix in templated.items()},
            "git_url": f"{html}.git", "ssh_url": f"{html}.git", "clone_url": f"{html}.git",
            "svn_url": html, "mirror_url": None, "homepage": None, "language": "Python",
            "forks_count": 0, "forks": 0, "stargazers_count": 0, "watchers_count": 0,
            "watchers": 0, "size": 0, "default_branch": repo.default_branch,
            "open_issues_count": open_issues, "open_issues": open_issues,
            "is_template": False, "topics": [], "has_issues": True, "has_projects": False,
            "has_wiki": False, "has_pages": False, "has_downloads": False,
            "has_discussions": False, "archived": False, "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": iso(repo.pushed_at), "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at), "license": None,
            "allow_forking": True, "web_commit_signoff_required": False,
            "network_count": 0, "subscribers_count": 0, "allow_squash_merge": True,
            "allow_merge_commit": True, "allow_rebase_merge": True,
            "delete_branch_on_merge": False,
        }
        if viewer:
            data["permissions"] = permission_flags(self.permission_of(repo, viewer))
        return data

    # -- labels, issues, comments -------------------------------------------------------------

    def label(self, repo: Repo, label: Label) -> dict[str, Any]:
        return {"id": label.id, "node_id": node_id("Label", label.id or 0),
                "url": f"{self.repo_base(repo)}/labels/{quote(label.name, safe='')}",
                "name": label.name, "color": label.color, "default": label.default,
                "description": label.description}

    def labels_of(self, repo: Repo, names: list[str]) -> list[dict[str, Any]]:
        rows = {row.name: row for row in self.session.exec(
            select(Label).where(Label.repo_id == repo.id)).all()}
        return [self.label(repo, rows[name]) for name in names if name in rows]

    def comment_count(self, repo: Repo, number: int) -> int:
        return self.session.exec(select(func.count()).select_from(IssueComment).where(
            IssueComment.repo_id == repo.id, IssueComment.issue_number == number)).one()

    def issue(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        base = f"{self.repo_base(repo)}/issues/{issue.number}"
        html = f"{self.repo_html(repo)}/{'pull' if issue.is_pull else 'issues'}/{issue.number}"
        assignees = [self.user(login) for login in issue.assignees]
        data: dict[str, Any] = {
            "url": base, "repository_url": self.repo_base(repo),
            "labels_url": f"{base}/labels{{/name}}", "comments_url": f"{base}/comments",
            "events_url": f"{base}/events", "html_url": html, "id": issue.id,
            "node_id": node_id("Issue", issue.id or 0), "number": issue.number,
            "title": issue.title, "user": self.user(issue.user_login),
            "labels": self.labels_of(repo, issue.labels), "state": issue.state,
            "state_reason": issue.state_reason, "locked": issue.locked,
            "assignee": assignees[0] if assignees else None, "assignees": assignees,
            "milestone": None, "comments": self.comment_count(repo, issue.number),
            "created_at": iso(issue.created_at), "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at), "closed_by": self.user(issue.closed_by),
            "author_association": self.author_association(repo, issue.user_login),
            "active_lock_reason": None, "body": issue.body,
            "reactions": self.reactions(f"{base}/reactions"),
            "timeline_url": f"{base}/timeline", "performed_via_github_app": None,
            "draft": False,
        }
        if issue.is_pull:
            pull = self.session.exec(select(Pull).where(
                Pull.repo_id == repo.id, Pull.number == issue.number)).first()
            data["pull_request"] = {
                "url": f"{self.repo_base(repo)}/pulls/{issue.number}", "html_url": html,
                "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
                "merged_at": iso(pull.merged_at) if pull else None}
            data["draft"] = bool(pull and pull.draft)
        return data

    @staticmethod
    def reactions(url: str) -> dict[str, Any]:
        return {"url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}

    def issue_comment(self, repo: Repo, comment: IssueComment) -> dict[str, Any]:
        url = f"{self.repo_base(repo)}/issues/comments/{comment.id}"
        issue = self.session.exec(select(Issue).where(
            Issue.repo_id == repo.id, Issue.number == comment.issue_number)).first()
        kind = "pull" if issue and issue.is_pull else "issues"
        return {
            "url": url,
            "html_url": f"{self.repo_html(repo)}/{kind}/{comment.issue_number}"
                        f"#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_base(repo)}/issues/{comment.issue_number}",
            "id": comment.id, "node_id": node_id("IssueComment", comment.id or 0),
            "user": self.user(comment.user_login), "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": self.author_association(repo, comment.user_login),
            "body": comment.body, "reactions": self.reactions(f"{url}/reactions"),
            "performed_via_github_app": None,
        }

    # -- git data -----------------------------------------------------------------------------

    def git_ref(self, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
        kind = self.git_for(repo).object_type(sha) or "commit"
        return {"ref": ref, "node_id": node_id("Ref", f"{repo.id}:{ref}"),
                "url": f"{self.repo_base(repo)}/git/{quote(ref)}",
                "object": {"type": kind, "sha": sha,
                           "url": f"{self.repo_base(repo)}/git/{kind}s/{sha}"}}

    @staticmethod
    def signature(sig: Signature) -> dict[str, Any]:
        return {"name": sig.name, "email": sig.email, "date": iso(sig.date)}

    @staticmethod
    def verification() -> dict[str, Any]:
        return {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                "verified_at": None}

    def git_commit(self, repo: Repo, info: CommitInfo) -> dict[str, Any]:
        base = self.repo_base(repo)
        return {
            "sha": info.sha, "node_id": node_id("Commit", info.sha),
            "url": f"{base}/git/commits/{info.sha}",
            "html_url": f"{self.repo_html(repo)}/commit/{info.sha}",
            "author": self.signature(info.author), "committer": self.signature(info.committer),
            "tree": {"sha": info.tree, "url": f"{base}/git/trees/{info.tree}"},
            "message": info.message.rstrip("\n"),
            "parents": [{"sha": p, "url": f"{base}/git/commits/{p}",
                         "html_url": f"{self.repo_html(repo)}/commit/{p}"}
                        for p in info.parents],
            "verification": self.verification(),
        }

    def user_by_email(self, email: str) -> dict[str, Any]:
        if email.endswith("@" + EMAIL_DOMAIN):
            login = email.split("@", 1)[0]
            if self.find_user(login):
                return self.user(login) or {}
        return {}

    def commit(self, repo: Repo, info: CommitInfo, *,
               files: list[FileChange] | None = None) -> dict[str, Any]:
        """The REST ``commit`` shape (``/commits/{sha}``, compare, branches)."""
        base, html = self.repo_base(repo), self.repo_html(repo)
        data: dict[str, Any] = {
            "url": f"{base}/commits/{info.sha}", "sha": info.sha,
            "node_id": node_id("Commit", info.sha), "html_url": f"{html}/commit/{info.sha}",
            "comments_url": f"{base}/commits/{info.sha}/comments",
            "commit": {
                "url": f"{base}/git/commits/{info.sha}",
                "author": self.signature(info.author),
                "committer": self.signature(info.committer),
                "message": info.message.rstrip("\n"), "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{base}/git/trees/{info.tree}"},
                "verification": self.verification(),
            },
            "author": self.user_by_email(info.author.email),
            "committer": self.user_by_email(info.committer.email),
            "parents": [{"sha": p, "url": f"{base}/commits/{p}",
                         "html_url": f"{html}/commit/{p}"} for p in info.parents],
        }
        if files is not None:
            adds = sum(f.additions for f in files)
            dels = sum(f.deletions for f in files)
            data["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
            data["files"] = [self.diff_entry(repo, f, info.sha) for f in files]
        return data

    def diff_entry(self, repo: Repo, change: FileChange, ref: str) -> dict[str, Any]:
        path = quote(change.filename)
        sha = change.sha or "0" * 40
        data: dict[str, Any] = {
            "sha": sha, "filename": change.filename, "status": change.status,
            "additions": change.additions, "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{self.repo_html(repo)}/blob/{ref}/{path}",
            "raw_url": f"{self.repo_html(repo)}/raw/{ref}/{path}",
            "contents_url": f"{self.repo_base(repo)}/contents/{path}?ref={ref}",
        }
        if change.patch:
            data["patch"] = change.patch
        if change.previous_filename:
            data["previous_filename"] = change.previous_filename
        return data

    def content_entry(self, repo: Repo, path: str, kind: str, sha: str, size: int,
                      ref: str) -> dict[str, Any]:
        name = path.rsplit("/", 1)[-1]
        self_url = f"{self.repo_base(repo)}/contents/{quote(path)}?ref={quote(ref, safe='')}"
        git_url = f"{self.repo_base(repo)}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
        html_url = f"{self.repo_html(repo)}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
        download = None if kind == "dir" else f"{self.repo_html(repo)}/raw/{ref}/{path}"
        return {"type": kind, "size": size, "name": name, "path": path, "sha": sha,
                "url": self_url, "git_url": git_url, "html_url": html_url,
                "download_url": download,
                "_links": {"self": self_url, "git": git_url, "html": html_url}}

    # -- pull requests ------------------------------------------------------------------------

    def pull(self, repo: Repo, pull: Pull, issue: Issue, *, full: bool) -> dict[str, Any]:
        base = f"{self.repo_base(repo)}/pulls/{pull.number}"
        html = f"{self.repo_html(repo)}/pull/{pull.number}"
        issue_url = f"{self.repo_base(repo)}/issues/{pull.number}"
        repo_json = self.repo(repo)
        assignees = [self.user(login) for login in issue.assignees]

        def branch(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha,
                    "user": self.user(repo.owner), "repo": repo_json}

        data: dict[str, Any] = {
            "url": base, "id": pull.id, "node_id": node_id("PullRequest", pull.id or 0),
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": issue_url, "commits_url": f"{base}/commits",
            "review_comments_url": f"{base}/comments",
            "review_comment_url": f"{self.repo_base(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{self.repo_base(repo)}/statuses/{pull.head_sha}",
            "number": pull.number, "state": issue.state, "locked": issue.locked,
            "title": issue.title, "user": self.user(issue.user_login), "body": issue.body,
            "labels": self.labels_of(repo, issue.labels), "milestone": None,
            "active_lock_reason": None, "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at), "closed_at": iso(issue.closed_at),
            "merged_at": iso(pull.merged_at), "merge_commit_sha": pull.merge_commit_sha,
            "assignee": assignees[0] if assignees else None, "assignees": assignees,
            "requested_reviewers": [self.user(login) for login in pull.requested_reviewers],
            "requested_teams": [], "head": branch(pull.head_ref, pull.head_sha),
            "base": branch(pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": base}, "html": {"href": html},
                "issue": {"href": issue_url}, "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{base}/comments"},
                "review_comment": {
                    "href": f"{self.repo_base(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{base}/commits"},
                "statuses": {"href": f"{self.repo_base(repo)}/statuses/{pull.head_sha}"},
            },
            "author_association": self.author_association(repo, issue.user_login),
            "auto_merge": None, "draft": pull.draft,
        }
        if full:
            data.update(self.pull_details(repo, pull, issue))
        return data

    def pull_details(self, repo: Repo, pull: Pull, issue: Issue) -> dict[str, Any]:
        git = self.git_for(repo)
        if pull.merged:
            mergeable, state = None, "unknown"
        else:
            merges = git.merge_tree(pull.base_sha, pull.head_sha) is not None
            mergeable, state = merges, ("clean" if merges else "dirty")
            if pull.draft:
                state = "draft"
        base_point = git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
        if pull.merged and pull.merge_commit_sha:
            info = git.commit(pull.merge_commit_sha)
            base_point = info.parents[0] if info.parents else base_point
        changes = git.diff(base_point, pull.head_sha)
        review_comments = self.session.exec(select(func.count()).select_from(ReviewComment)
                                            .where(ReviewComment.repo_id == repo.id,
                                                   ReviewComment.pull_number == pull.number)).one()
        return {
            "merged": pull.merged, "mergeable": mergeable, "rebaseable": mergeable,
            "mergeable_state": state, "merged_by": self.user(pull.merged_by),
            "comments": self.comment_count(repo, pull.number),
            "review_comments": review_comments,
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": len(git.commits_between(base_point, pull.head_sha)),
            "additions": sum(c.additions for c in changes),
            "deletions": sum(c.deletions for c in changes), "changed_files": len(changes),
        }

    def review(self, repo: Repo, review: Review) -> dict[str, Any]:
        pull_url = f"{self.repo_base(repo)}/pulls/{review.pull_number}"
        html = f"{self.repo_html(repo)}/pull/{review.pull_number}#pullrequestreview-{review.id}"
        return {
            "id": review.id, "node_id": node_id("PullRequestReview", review.id or 0),
            "user": self.user(review.user_login), "body": review.body, "state": review.state,
            "html_url": html, "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": iso(review.submitted_at), "commit_id": review.commit_id,
            "author_association": self.author_association(repo, review.user_login),
        }

    def review_comment(self, repo: Repo, comment: ReviewComment) -> dict[str, Any]:
        url = f"{self.repo_base(repo)}/pulls/comments/{comment.id}"
        pull_url = f"{self.repo_base(repo)}/pulls/{comment.pull_number}"
        html = f"{self.repo_html(repo)}/pull/{comment.pull_number}#discussion_r{comment.id}"
        data: dict[str, Any] = {
            "url": url, "pull_request_review_id": comment.review_id, "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id or 0),
            "diff_hunk": comment.diff_hunk, "path": comment.path,
            "position": comment.position, "original_position": comment.position,
            "commit_id": comment.commit_id, "original_commit_id": comment.commit_id,
            "user": self.user(comment.user_login), "body": comment.body,
            "created_at": iso(comment.created_at), "updated_at": iso(comment.updated_at),
            "html_url": html, "pull_request_url": pull_url,
            "author_association": self.author_association(repo, comment.user_login),
            "_links": {"self": {"href": url}, "html": {"href": html},
                       "pull_request": {"href": pull_url}},
            "start_line": None, "original_start_line": None, "start_side": None,
            "line": comment.line, "original_line": comment.line, "side": comment.side,
            "subject_type": "line", "reactions": self.reactions(f"{url}/reactions"),
        }
        if comment.in_reply_to_id:
            data["in_reply_to_id"] = comment.in_reply_to_id
        return data

    # -- statuses and checks ------------------------------------------------------------------

    def status(self, repo: Repo, status: CommitStatus) -> dict[str, Any]:
        return {
            "url": f"{self.repo_base(repo)}/statuses/{status.sha}",
            "avatar_url": f"{self.urls.web}/avatars/{status.creator_login}",
            "id": status.id, "node_id": node_id("StatusContext", status.id or 0),
            "state": status.state, "description": status.description,
            "target_url": status.target_url, "context": status.context,
            "created_at": iso(status.created_at), "updated_at": iso(status.updated_at),
            "creator": self.user(status.creator_login),
        }

    def check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        url = f"{self.repo_base(repo)}/check-runs/{run.id}"
        output = run.output or {}
        pulls = self.session.exec(select(Pull).where(Pull.repo_id == repo.id,
                                                     Pull.head_sha == run.head_sha)).all()
        minimal_repo = {"id": repo.id, "url": self.repo_base(repo), "name": repo.name}
        return {
            "id": run.id, "head_sha": run.head_sha, "node_id": node_id("CheckRun", run.id or 0),
            "external_id": run.external_id, "url": url,
            "html_url": f"{self.repo_html(repo)}/runs/{run.id}",
            "details_url": run.details_url, "status": run.status,
            "conclusion": run.conclusion, "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {"title": output.get("title"), "summary": output.get("summary"),
                       "text": output.get("text"), "annotations_count": 0,
                       "annotations_url": f"{url}/annotations"},
            "name": run.name, "check_suite": {"id": run.id}, "app": None,
            "pull_requests": [
                {"id": p.id, "number": p.number, "url": f"{self.repo_base(repo)}/pulls/{p.number}",
                 "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": minimal_repo},
                 "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": minimal_repo}}
                for p in pulls
            ],
        }
