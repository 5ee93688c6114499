"""The local forge speaks GitHub's REST API: a whole issue-to-merge bot sequence driven with
unmodified PyGithub, and every JSON answer it received validated against GitHub's own
OpenAPI description (openapi-core)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import httpx
import pytest
from github import GithubException, InputGitTreeElement
from openapi_core.validation.response.exceptions import InvalidData

from forge.testing import ForgeHandle, running_forge
from tests.forge_helpers import Exchange, GitHubSchema, recording_http


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForgeHandle]:
    with running_forge(tmp_path_factory.mktemp("forge-openapi")) as handle:
        yield handle


@pytest.fixture(scope="module")
def schema() -> GitHubSchema:
    return GitHubSchema()


def bot_sequence(forge: ForgeHandle) -> dict[str, object]:
    """What the bot does for one integration request, start to finish."""
    alice = forge.github("alice").get_repo(forge.full_name)
    bot = forge.github("ccb-bot").get_repo(forge.full_name)
    seen: dict[str, object] = {}

    issue = alice.create_issue("Integration: weather API", body="### Service name\n\nWeather",
                               labels=["integration-request"])
    bot_issue = bot.get_issue(issue.number)
    comment = bot_issue.create_comment("Working on it.\n- [ ] analyse")
    comment.edit("Working on it.\n- [x] analyse")
    seen["comments"] = [c.body for c in bot_issue.get_comments()]
    bot_issue.add_to_labels("ccb:generating")
    bot_issue.remove_from_labels("ccb:generating")
    bot_issue.set_labels("integration-request", "ccb:reviewing")
    seen["labels"] = sorted(label.name for label in bot_issue.get_labels())
    seen["repo_labels"] = sorted(label.name for label in bot.get_labels())

    main = bot.get_git_ref("heads/main")
    branch = bot.create_git_ref("refs/heads/ccb/weather", main.object.sha)
    head = bot.get_git_commit(main.object.sha)
    listing = bot.get_git_tree(head.tree.sha, recursive=True)
    seen["base_paths"] = sorted(e.path for e in listing.tree)
    files = {"integrations/weather/__init__.py": "from .client import forecast\n",
             "integrations/weather/client.py": "def forecast(city):\n    return city\n",
             "integrations/weather/manifest.yaml": "name: weather\nversion: 0.1.0\n"}
    elements = [InputGitTreeElement(path, "100644", "blob",
                                    sha=bot.create_git_blob(text, "utf-8").sha)
                for path, text in files.items()]
    tree = bot.create_git_tree(elements, base_tree=head.tree)
    commit = bot.create_git_commit("Add the weather integration", tree, [head])
    branch.edit(commit.sha)
    seen["commit"] = bot.get_commit(commit.sha).sha
    seen["content"] = bot.get_contents("integrations/weather/client.py",
                                       ref="ccb/weather").decoded_content.decode()
    seen["branch_head"] = bot.get_branch("ccb/weather").commit.sha

    pull = bot.create_pull(base="main", head="ccb/weather", title="Add weather",
                           body=f"Closes #{issue.number}")
    seen["open_pulls"] = [p.number for p in bot.get_pulls(state="open",
                                                          head=f"{forge.owner}:ccb/weather")]
    seen["files"] = sorted((f.filename, f.status, f.additions) for f in pull.get_files())
    seen["pull_commits"] = [c.sha for c in pull.get_commits()]
    pull.create_review(body="Automated review: fine.", event="COMMENT",
                       comments=[{"path": "integrations/weather/client.py", "line": 2,
                                  "side": "RIGHT", "body": "Validate the city."}])
    pull.create_review_comment("One more thing", bot.get_commit(commit.sha),
                               "integrations/weather/__init__.py", line=1, side="RIGHT")
    seen["review_comments"] = [c.body for c in pull.get_review_comments()]
    pull.create_review_request(reviewers=["alice"])
    users, _ = pull.get_review_requests()
    seen["requested"] = [u.login for u in users]
    bot.get_commit(commit.sha).create_status("success", description="tests passed",
                                             context="ccb/tests")
    seen["statuses"] = [s.state for s in bot.get_commit(commit.sha).get_statuses()]
    bot.create_check_run("ccb/review", commit.sha, status="completed", conclusion="success",
                         output={"title": "Review", "summary": "No findings"})
    comparison = bot.compare("main", "ccb/weather")
    seen["compare"] = (comparison.status, comparison.ahead_by, len(comparison.files))
    alice.get_pull(pull.number).create_review(body="LGTM", event="APPROVE")
    seen["reviews"] = [r.state for r in pull.get_reviews()]
    fresh = bot.get_pull(pull.number)
    seen["mergeable"] = fresh.mergeable
    status = fresh.merge(merge_method="squash", sha=commit.sha,
                         commit_title=f"Add weather (#{pull.number})")
    seen["merged"] = (status.merged, bot.get_pull(pull.number).merged, pull.is_merged())
    bot.get_issue(issue.number).edit(state="closed", state_reason="completed")
    seen["issue_state"] = bot.get_issue(issue.number).state
    seen["issues_listed"] = [i.number for i in bot.get_issues(state="all")]
    bot.get_git_ref("heads/ccb/weather").delete()
    seen["permissions"] = {u: bot.get_collaborator_permission(u)
                           for u in ("ccb-bot", "alice", "bob", "carol")}
    seen["rate"] = forge.github().get_rate_limit().resources.core.limit
    seen["me"] = forge.github().get_user().login
    seen["repo"] = bot.full_name if bot.default_branch == "main" else None
    bot.get_issue(issue.number).get_comment(comment.id).delete()
    return seen


def test_bot_sequence_answers_match_githubs_schema(forge: ForgeHandle,
                                                   schema: GitHubSchema) -> None:
    with recording_http() as exchanges:
        seen = bot_sequence(forge)

    assert seen["comments"] == ["Working on it.\n- [x] analyse"]
    assert seen["labels"] == ["ccb:reviewing", "integration-request"]
    assert "ccb:generating" in seen["repo_labels"]  # auto-created on add, like GitHub
    assert seen["base_paths"] == ["README.md", "integrations", "integrations/.gitkeep"]
    assert seen["content"] == "def forecast(city):\n    return city\n"
    assert seen["files"] == [("integrations/weather/__init__.py", "added", 1),
                             ("integrations/weather/client.py", "added", 2),
                             ("integrations/weather/manifest.yaml", "added", 2)]
    assert len(seen["open_pulls"]) == 1 and len(seen["pull_commits"]) == 1
    assert seen["review_comments"] == ["Validate the city.", "One more thing"]
    assert seen["requested"] == ["alice"]
    assert seen["statuses"] == ["success"]
    assert seen["compare"] == ("ahead", 1, 3)
    # The single review comment is a review of its own, as on GitHub.
    assert seen["reviews"] == ["COMMENTED", "COMMENTED", "APPROVED"]
    assert seen["mergeable"] is True
    assert seen["merged"] == (True, True, True)
    assert seen["issue_state"] == "closed"
    assert seen["permissions"] == {"ccb-bot": "admin", "alice": "admin", "bob": "read",
                                   "carol": "write"}
    assert seen["rate"] == 5000 and seen["me"] == "ccb-bot"

    json_answers = [e for e in exchanges if e.content_type.startswith("application/json")]
    assert len(json_answers) >= 50
    checked = [schema.validate(exchange) for exchange in json_answers]
    assert len(checked) == len(json_answers)
    assert any(op.startswith("PUT ") and op.endswith("/merge (subset)") for op in checked)
    # Answers without a body (204) are the deletes and the merged check.
    assert all(e.status == 204 for e in exchanges if e not in json_answers)


def test_app_installation_token_route_answers_a_github_error(forge: ForgeHandle,
                                                             schema: GitHubSchema) -> None:
    answer = httpx.post(f"{forge.api_url}/app/installations/1/access_tokens",
                        headers={"Authorization": f"Bearer {forge.tokens['ccb-bot']}"})
    assert answer.status_code == 404
    assert answer.json()["message"].startswith("Not Found")
    schema.validate(Exchange("POST", f"{forge.api_url}/app/installations/1/access_tokens",
                             answer.status_code, answer.headers["content-type"],
                             answer.content))


def test_error_answers_match_githubs_schema(forge: ForgeHandle, schema: GitHubSchema) -> None:
    repo = forge.github().get_repo(forge.full_name)
    main = repo.get_git_ref("heads/main").object.sha
    with recording_http() as exchanges:
        with pytest.raises(GithubException) as duplicate:
            repo.create_git_ref("refs/heads/main", main)
        with pytest.raises(GithubException) as missing:
            repo.get_issue(9999).title  # noqa: B018 - reading a field fetches it
        with pytest.raises(GithubException) as invalid:
            repo.create_pull(base="main", head="main", title="nothing")
    assert (duplicate.value.status, missing.value.status, invalid.value.status) == (422, 404, 422)
    assert duplicate.value.data["message"] == "Reference already exists"
    assert invalid.value.data["errors"][0]["code"] == "custom"
    for exchange in exchanges:
        schema.validate(exchange)


def test_validation_is_not_vacuous(forge: ForgeHandle, schema: GitHubSchema) -> None:
    """A real answer validates; the same answer with a required field removed, or a field of
    the wrong type, fails."""
    repo = forge.github().get_repo(forge.full_name)
    with recording_http() as exchanges:
        repo.get_branch("main")
        repo.get_issues(state="all").totalCount  # noqa: B018
    branch = next(e for e in exchanges if "/branches/" in e.path)
    schema.validate(branch)

    body = json.loads(branch.body)
    broken = copy.deepcopy(body)
    del broken["commit"]["sha"]
    with pytest.raises(InvalidData):
        schema.validate(Exchange(branch.method, branch.url, 200, "application/json",
                                 json.dumps(broken).encode()))
    wrong_type = copy.deepcopy(body)
    wrong_type["protected"] = "no"
    with pytest.raises(InvalidData):
        schema.validate(Exchange(branch.method, branch.url, 200, "application/json",
                                 json.dumps(wrong_type).encode()))
    # An answer to an operation GitHub's subset does not hold is checked against the
    # documented component schema, and fails the same way when broken.
    listing = next(e for e in exchanges if e.path.endswith("/issues"))
    issues = json.loads(listing.body)
    assert issues, "the sequence above created issues"
    issues[0]["number"] = "one"
    with pytest.raises(Exception, match="not of type 'integer'"):
        schema.validate(Exchange("GET", listing.url, 200, "application/json",
                                 json.dumps(issues).encode()))


def test_bad_body_and_unknown_route_answer_github_errors(forge: ForgeHandle) -> None:
    headers = {"Authorization": f"token {forge.tokens['ccb-bot']}"}
    issues_url = f"{forge.api_url}/repos/{forge.full_name}/issues"
    bad_json = httpx.post(issues_url, content=b"{not json", headers=headers)
    assert bad_json.status_code == 400 and "Problems parsing JSON" in bad_json.json()["message"]
    no_title = httpx.post(issues_url, json={"body": "x"}, headers=headers)
    assert no_title.status_code == 422
    assert no_title.json()["errors"][0] == {"resource": "Issue", "code": "missing_field",
                                            "field": "title",
                                            "message": "title is required: send it as a string"}
    unknown = httpx.get(f"{forge.api_url}/nothing/here", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["message"] == "Not Found"
    assert unknown.headers["X-RateLimit-Limit"] == "5000"
    assert "X-GitHub-Request-Id" in unknown.headers


def test_paginated_lists_carry_link_headers(forge: ForgeHandle) -> None:
    repo = forge.github("alice").get_repo(forge.full_name)
    issue = repo.create_issue("pagination")
    for index in range(5):
        issue.create_comment(f"comment {index}")
    url = f"{forge.api_url}/repos/{forge.full_name}/issues/{issue.number}/comments"
    first = httpx.get(url, params={"per_page": 2},
                      headers={"Authorization": f"token {forge.tokens['alice']}"})
    assert [c["body"] for c in first.json()] == ["comment 0", "comment 1"]
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    assert "page=3" in first.headers["Link"]
    # PyGithub follows the Link header through every page.
    assert [c.body for c in issue.get_comments()] == [f"comment {i}" for i in range(5)]
