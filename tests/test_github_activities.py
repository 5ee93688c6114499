"""Every GitHub write activity, run twice against the local forge, leaves ONE effect.

The activities run for real (``ActivityEnvironment``) with the client the settings describe in
forge mode: no token, the forge's address, the bot token read from ``<data_dir>/forge/tokens.json``.
What they did is then read back as people (alice, the admin) would see it.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from github import Github
from github.Repository import Repository
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.github_client import reset_github_client, token_client
from activities.github_git import commit_files, create_branch, delete_branch, set_commit_status
from activities.github_issues import (
    add_labels,
    close_issue,
    get_collaborator_permission,
    issue_labels,
    remove_labels,
    upsert_bot_comment,
)
from activities.github_ops import GITHUB_ACTIVITIES
from activities.github_pulls import (
    close_pull_request,
    list_pull_request_files,
    merge_pull_request,
    open_pull_request,
    post_review,
    request_reviewers,
    update_pull_request_body,
)
from forge.testing import running_forge
from infra.settings import get_settings
from models.github import (
    CloseIssue,
    CommitFiles,
    CommitStatus,
    CreateBranch,
    DeleteBranch,
    InlineComment,
    IssueQuery,
    LabelChange,
    MergePull,
    OpenPullRequest,
    PermissionQuery,
    PostReview,
    PullBody,
    PullQuery,
    RequestReviewers,
    UpsertComment,
    hidden_marker,
)

GITHUB_ENV = ("GITHUB_TOKEN", "CCB_GITHUB_TOKEN", "CCB_GITHUB_API_URL", "CCB_GITHUB_APP_ID",
              "CCB_GITHUB_APP_PRIVATE_KEY_PATH", "CCB_GITHUB_INSTALLATION_ID", "CCB_BOT_LOGIN")

R = TypeVar("R")


def run(fn: Callable[[Any], R], command: Any) -> R:
    """Run one activity for real, in an activity context."""
    return ActivityEnvironment().run(fn, command)


def twice(fn: Callable[[Any], R], command: Any) -> tuple[R, R]:
    return run(fn, command), run(fn, command)


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One forge for the module; settings in forge mode pointing at it (no token set)."""
    data_dir: Path = tmp_path_factory.mktemp("ccb-data")
    # As in production: the forge keeps its files (tokens.json too) in <data_dir>/forge.
    with running_forge(data_dir / "forge") as handle, pytest.MonkeyPatch.context() as env:
        for var in GITHUB_ENV:
            env.delenv(var, raising=False)
        env.setenv("CCB_DATA_DIR", str(data_dir))
        env.setenv("CCB_GITHUB_API_URL", handle.api_url)
        get_settings.cache_clear()
        reset_github_client()
        try:
            yield handle
        finally:
            reset_github_client()
            get_settings.cache_clear()


@pytest.fixture
def repo(forge: Any) -> str:
    return str(forge.full_name)


@pytest.fixture
def alice(forge: Any) -> Repository:
    """The repository as alice (an admin person) sees it."""
    client: Github = token_client(forge.api_url, forge.tokens["alice"], paced=False)
    return client.get_repo(forge.full_name)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_issue(alice: Repository) -> int:
    issue = alice.create_issue(title=unique("Integration request"), body="### Service name\nX")
    return issue.number


def new_branch_with_commit(repo: str, files: dict[str, str] | None = None) -> tuple[str, str]:
    """A fresh branch off main with one commit; returns (branch, head sha)."""
    branch = unique("ccb/feature")
    run(create_branch, CreateBranch(repo=repo, branch=branch))
    result = run(commit_files, CommitFiles(repo=repo, branch=branch, message="Add files",
                                           files=files or {f"{branch}/a.txt": "a\n"}))
    return branch, result.sha


def new_pull(repo: str, files: dict[str, str] | None = None) -> tuple[int, str, str]:
    """A fresh pull request from the bot; returns (number, branch, head sha)."""
    branch, sha = new_branch_with_commit(repo, files)
    pull = run(open_pull_request, OpenPullRequest(repo=repo, head=branch, title=unique("Add")))
    return pull.number, branch, sha


def test_every_activity_is_exported_for_the_worker() -> None:
    names = {fn.__name__ for fn in GITHUB_ACTIVITIES}
    assert names == {
        "upsert_bot_comment", "add_labels", "remove_labels", "close_issue",
        "get_collaborator_permission", "create_branch", "commit_files", "delete_branch",
        "set_commit_status", "open_pull_request", "update_pull_request_body",
        "request_reviewers", "post_review", "merge_pull_request", "close_pull_request",
        "list_pull_request_files", "issue_labels",
    }


# -- issues ------------------------------------------------------------------------------------

def test_upsert_bot_comment_twice_leaves_one_comment_edited(repo: str, alice: Repository) -> None:
    number = new_issue(alice)
    first = run(upsert_bot_comment, UpsertComment(repo=repo, number=number, marker="progress",
                                                  body="- [ ] analysing"))
    second = run(upsert_bot_comment, UpsertComment(repo=repo, number=number, marker="progress",
                                                   body="- [x] analysing"))
    again = run(upsert_bot_comment, UpsertComment(repo=repo, number=number, marker="progress",
                                                  body="- [x] analysing"))
    assert first.id == second.id == again.id
    comments = list(alice.get_issue(number).get_comments())
    assert len(comments) == 1
    assert comments[0].user.login == "ccb-bot"
    assert comments[0].body.startswith("- [x] analysing")
    assert hidden_marker("progress") in comments[0].body


def test_a_retry_after_githubs_502_leaves_one_comment(
    forge: Any, repo: str, alice: Repository
) -> None:
    number = new_issue(alice)
    command = UpsertComment(repo=repo, number=number, marker="progress", body="x")
    forge.add_fault("POST", rf"/issues/{number}/comments$", 502, body={"message": "Bad Gateway"})
    with pytest.raises(ApplicationError) as raised:
        run(upsert_bot_comment, command)
    assert raised.value.type == "GitHubUnavailable" and not raised.value.non_retryable
    twice(upsert_bot_comment, command)  # Temporal's retry, then a repeat
    assert len(list(alice.get_issue(number).get_comments())) == 1


def test_a_second_marker_is_a_second_comment(repo: str, alice: Repository) -> None:
    number = new_issue(alice)
    progress = run(upsert_bot_comment, UpsertComment(repo=repo, number=number,
                                                     marker="progress", body="p"))
    failure = run(upsert_bot_comment, UpsertComment(repo=repo, number=number,
                                                    marker="failure", body="f"))
    assert progress.id != failure.id
    assert len(list(alice.get_issue(number).get_comments())) == 2


def test_add_labels_twice_leaves_one_label(repo: str, alice: Repository) -> None:
    number = new_issue(alice)
    twice(add_labels, LabelChange(repo=repo, number=number, labels=["ccb:generating"]))
    names = [label.name for label in alice.get_issue(number).labels]
    assert names == ["ccb:generating"]


def test_remove_labels_twice_and_absent_label_is_fine(repo: str, alice: Repository) -> None:
    number = new_issue(alice)
    run(add_labels, LabelChange(repo=repo, number=number, labels=["ccb:testing", "keep"]))
    twice(remove_labels, LabelChange(repo=repo, number=number,
                                     labels=["ccb:testing", "never-there"]))
    assert [label.name for label in alice.get_issue(number).labels] == ["keep"]


def test_issue_labels_reads_the_label_names(repo: str, alice: Repository) -> None:
    number = new_issue(alice)
    assert run(issue_labels, IssueQuery(repo=repo, number=number)) == []
    alice.get_issue(number).add_to_labels("plan-first", "integration-request")
    labels = ["integration-request", "plan-first"]
    assert twice(issue_labels, IssueQuery(repo=repo, number=number)) == (labels, labels)


def test_close_issue_twice_leaves_it_closed(repo: str, alice: Repository) -> None:
    number = new_issue(alice)
    twice(close_issue, CloseIssue(repo=repo, number=number, state_reason="completed"))
    issue = alice.get_issue(number)
    assert issue.state == "closed"
    assert issue.state_reason == "completed"


def test_collaborator_permissions(repo: str) -> None:
    def permission(user: str) -> str:
        return run(get_collaborator_permission, PermissionQuery(repo=repo, username=user))

    assert permission("alice") == "admin"
    assert permission("carol") == "write"
    assert permission("bob") == "read"
    assert permission("mallory") == "none"


def test_concurrent_activities_each_get_their_own_answer(repo: str) -> None:
    """The worker runs activities in threads over ONE client; PyGithub's connection object is
    not thread-safe (PyGithub#2052), so calls are serialized. Frequent thread switches make an
    unserialized client hand threads each other's answers; here every answer is right."""
    expected = {"alice": "admin", "bob": "read", "carol": "write"}
    wrong: list[tuple[str, str]] = []

    def ask(user: str) -> None:
        for _ in range(25):
            got = run(get_collaborator_permission, PermissionQuery(repo=repo, username=user))
            if got != expected[user]:
                wrong.append((user, got))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=ask, args=(user,)) for user in [*expected] * 3]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads)
    assert wrong == []


def test_a_wrong_repository_is_not_found_not_none(forge: Any) -> None:
    with pytest.raises(ApplicationError) as raised:
        run(get_collaborator_permission,
            PermissionQuery(repo=f"{forge.owner}/no-such-repo", username="alice"))
    assert raised.value.type == "GitHubNotFound"
    assert raised.value.non_retryable


# -- git data ----------------------------------------------------------------------------------

def test_create_branch_twice_leaves_one_branch(repo: str, alice: Repository) -> None:
    branch = unique("ccb/branch")
    first, second = twice(create_branch, CreateBranch(repo=repo, branch=branch))
    main = alice.get_branch("main").commit.sha
    assert first == second == main
    assert [b.name for b in alice.get_branches()].count(branch) == 1


def test_create_branch_race_reads_the_winner(forge: Any, repo: str, alice: Repository) -> None:
    """The branch looked absent, then creating it hit 422 "Reference already exists"."""
    branch = unique("ccb/race")
    winner = run(create_branch, CreateBranch(repo=repo, branch=branch))
    forge.add_fault("GET", rf"/git/ref/heads/{branch}$", 404, body={"message": "Not Found"},
                    times=1)
    assert run(create_branch, CreateBranch(repo=repo, branch=branch)) == winner
    # The fault was spent by the activity (else this read would be the one answered 404).
    assert alice.get_git_ref(f"heads/{branch}").object.sha == winner


def test_commit_files_twice_leaves_one_commit(repo: str, alice: Repository) -> None:
    branch = unique("ccb/commit")
    base = run(create_branch, CreateBranch(repo=repo, branch=branch))
    files = {"integrations/x/__init__.py": "VERSION = '1'\n",
             "integrations/x/manifest.json": '{"name": "x"}\n'}
    command = CommitFiles(repo=repo, branch=branch, message="Add x", files=files)
    first, second = twice(commit_files, command)
    assert first.created and not second.created
    assert first.sha == second.sha and first.tree_sha == second.tree_sha
    head = alice.get_branch(branch).commit
    assert head.sha == first.sha
    assert [p.sha for p in head.parents] == [base]  # exactly one commit on top of main
    for path, content in files.items():
        found = alice.get_contents(path, ref=branch)
        assert not isinstance(found, list)
        assert found.decoded_content.decode() == content


def test_commit_files_retry_after_the_ref_update_failed_leaves_one_commit(
    forge: Any, repo: str, alice: Repository
) -> None:
    """The commit was written but moving the branch failed: the retry commits once."""
    branch = unique("ccb/crash")
    base = run(create_branch, CreateBranch(repo=repo, branch=branch))
    command = CommitFiles(repo=repo, branch=branch, message="Add y", files={"y/a.py": "y = 1\n"})
    forge.add_fault("PATCH", rf"/git/refs/heads/{branch}$", 503,
                    body={"message": "Service Unavailable"})
    with pytest.raises(ApplicationError) as raised:
        run(commit_files, command)
    assert raised.value.type == "GitHubUnavailable"
    assert alice.get_branch(branch).commit.sha == base  # nothing moved yet
    first, second = twice(commit_files, command)
    assert first.created and not second.created and first.sha == second.sha
    head = alice.get_branch(branch).commit
    assert head.sha == first.sha and [p.sha for p in head.parents] == [base]


def test_commit_files_with_deletions_twice_leaves_one_commit(
    repo: str, alice: Repository
) -> None:
    branch, before = new_branch_with_commit(repo, {"pkg/old.py": "old\n", "pkg/keep.py": "k\n"})
    command = CommitFiles(repo=repo, branch=branch, message="Replace old",
                          files={"pkg/new.py": "new\n"}, delete=["pkg/old.py", "pkg/absent.py"])
    first, second = twice(commit_files, command)
    assert first.sha == second.sha and not second.created
    head = alice.get_branch(branch).commit
    assert [p.sha for p in head.parents] == [before]
    paths = {e.path for e in alice.get_git_tree(head.sha, recursive=True).tree}
    assert {"pkg/new.py", "pkg/keep.py"} <= paths and "pkg/old.py" not in paths


def test_delete_branch_twice_leaves_it_gone(repo: str, alice: Repository) -> None:
    branch = unique("ccb/gone")
    run(create_branch, CreateBranch(repo=repo, branch=branch))
    first, second = twice(delete_branch, DeleteBranch(repo=repo, branch=branch))
    assert (first, second) == (True, False)
    assert branch not in [b.name for b in alice.get_branches()]


def test_set_commit_status_twice_leaves_one_status(repo: str, alice: Repository) -> None:
    _, sha = new_branch_with_commit(repo)
    twice(set_commit_status, CommitStatus(repo=repo, sha=sha, state="success",
                                          context="ccb/tests", description="42 passed"))
    combined = alice.get_commit(sha).get_combined_status()
    assert [(s.context, s.state) for s in combined.statuses] == [("ccb/tests", "success")]


# -- pull requests -----------------------------------------------------------------------------

def test_open_pull_request_twice_leaves_one_pull(forge: Any, repo: str, alice: Repository) -> None:
    branch, sha = new_branch_with_commit(repo)
    command = OpenPullRequest(repo=repo, head=branch, title="Add x", body="Closes #1")
    first, second = twice(open_pull_request, command)
    assert first == second
    assert first.head_sha == sha
    pulls = list(alice.get_pulls(state="open", head=f"{forge.owner}:{branch}"))
    assert [p.number for p in pulls] == [first.number]


def test_open_pull_request_race_reads_the_winner(
    forge: Any, repo: str, alice: Repository
) -> None:
    """No open PR was listed, then creating one hit 422 "A pull request already exists"."""
    branch, _ = new_branch_with_commit(repo)
    command = OpenPullRequest(repo=repo, head=branch, title="Add x")
    winner = run(open_pull_request, command)
    forge.add_fault("GET", r"/pulls$", 200, body=[], times=1)
    assert run(open_pull_request, command) == winner
    # The fault was spent by the activity (else this listing would be the one answered []).
    pulls = alice.get_pulls(state="open", head=f"{forge.owner}:{branch}")
    assert [p.number for p in pulls] == [winner.number]


def test_update_pull_request_body_twice(repo: str, alice: Repository) -> None:
    number, _, _ = new_pull(repo)
    twice(update_pull_request_body, PullBody(repo=repo, number=number, body="## Summary\nnew"))
    assert alice.get_pull(number).body == "## Summary\nnew"


def test_request_reviewers_twice_requests_each_once(repo: str, alice: Repository) -> None:
    number, _, _ = new_pull(repo)
    command = RequestReviewers(repo=repo, number=number, reviewers=["alice", "carol", "ccb-bot"])
    first, second = twice(request_reviewers, command)
    assert first == second == ["alice", "carol"]  # the author (the bot) cannot review itself
    users = sorted(u.login for u in alice.get_pull(number).get_review_requests()[0])
    assert users == ["alice", "carol"]


def test_post_review_twice_leaves_one_review(repo: str, alice: Repository) -> None:
    number, _, _ = new_pull(repo, {"svc/client.py": "def get():\n    return 1\n"})
    command = PostReview(repo=repo, number=number, body="Looks fine; one note.",
                         event="COMMENT", marker="ai-review-1",
                         comments=[InlineComment(path="svc/client.py", line=2,
                                                 body="Handle timeouts here.")])
    first, second = twice(post_review, command)
    assert first == second
    reviews = [r for r in alice.get_pull(number).get_reviews()
               if hidden_marker("ai-review-1") in (r.body or "")]
    assert len(reviews) == 1 and reviews[0].state == "COMMENTED"
    inline = list(alice.get_pull(number).get_review_comments())
    assert [(c.path, c.body) for c in inline] == [("svc/client.py", "Handle timeouts here.")]


def test_list_pull_request_files(repo: str) -> None:
    number, _, _ = new_pull(repo, {"svc/a.py": "a = 1\n", "svc/b.py": "b = 2\n"})
    files = run(list_pull_request_files, PullQuery(repo=repo, number=number))
    assert sorted((f.filename, f.status, f.additions) for f in files) == [
        ("svc/a.py", "added", 1), ("svc/b.py", "added", 1)]


def test_merge_pull_request_twice_leaves_one_merge(repo: str, alice: Repository) -> None:
    number, _, sha = new_pull(repo)
    command = MergePull(repo=repo, number=number, expected_head_sha=sha, title="Add x (#1)")
    first, second = twice(merge_pull_request, command)
    assert first.merged and second.merged
    assert first.sha == second.sha
    assert alice.get_pull(number).merged
    assert alice.get_branch("main").commit.sha == first.sha


def test_merge_with_a_stale_head_is_refused(repo: str, alice: Repository) -> None:
    number, branch, reviewed = new_pull(repo)
    run(commit_files, CommitFiles(repo=repo, branch=branch, message="Sneak in",
                                  files={f"{branch}/late.txt": "late\n"}))
    with pytest.raises(ApplicationError) as raised:
        run(merge_pull_request, MergePull(repo=repo, number=number, expected_head_sha=reviewed))
    assert raised.value.type == "GitHubStaleHead"
    assert raised.value.non_retryable
    assert "merge with the new head sha" in raised.value.message
    assert not alice.get_pull(number).merged


def test_merge_409_from_github_is_refused(forge: Any, repo: str, alice: Repository) -> None:
    """The head moved between our check and GitHub's merge: GitHub's 409 is final too."""
    number, _, sha = new_pull(repo)
    forge.add_fault("PUT", rf"/pulls/{number}/merge$", 409,
                    body={"message": "Head branch was modified. Review and try the merge again."})
    with pytest.raises(ApplicationError) as raised:
        run(merge_pull_request, MergePull(repo=repo, number=number, expected_head_sha=sha))
    assert raised.value.type == "GitHubStaleHead"
    assert raised.value.non_retryable
    assert not alice.get_pull(number).merged


def test_close_pull_request_twice_leaves_it_closed(repo: str, alice: Repository) -> None:
    number, _, _ = new_pull(repo)
    twice(close_pull_request, PullQuery(repo=repo, number=number))
    pull = alice.get_pull(number)
    assert pull.state == "closed" and not pull.merged
