"""The forge's git data are real git objects; merges, refs and errors behave like GitHub."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    InputGitTreeElement,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Repository import Repository

from forge.testing import ForgeHandle, running_forge


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forge-git")


@pytest.fixture(scope="module")
def forge(data_dir: Path) -> Iterator[ForgeHandle]:
    with running_forge(data_dir) as handle:
        yield handle


@pytest.fixture
def repo(forge: ForgeHandle) -> Repository:
    return forge.github().get_repo(forge.full_name)


def git(data_dir: Path, *args: str) -> str:
    """Run git in the forge's bare repository of demo/integrations."""
    bare = data_dir / "repos" / "demo" / "integrations.git"
    return subprocess.run(["git", "--git-dir", str(bare), *args], capture_output=True,
                          check=True, text=True).stdout


def commit_files(repo: Repository, branch: str, files: dict[str, str | None],
                 message: str) -> str:
    """One commit on ``branch`` writing (or, for None, deleting) ``files``; returns its sha."""
    ref = repo.get_git_ref(f"heads/{branch}")
    parent = repo.get_git_commit(ref.object.sha)
    elements = [InputGitTreeElement(path, "100644", "blob",
                                    sha=repo.create_git_blob(text, "utf-8").sha
                                    if text is not None else None)
                for path, text in files.items()]
    tree = repo.create_git_tree(elements, base_tree=parent.tree)
    commit = repo.create_git_commit(message, tree, [parent])
    ref.edit(commit.sha)
    return commit.sha


def new_branch(repo: Repository, name: str, start: str = "main") -> str:
    sha = repo.get_git_ref(f"heads/{start}").object.sha
    repo.create_git_ref(f"refs/heads/{name}", sha)
    return sha


def test_api_objects_are_real_git_objects(forge: ForgeHandle, repo: Repository,
                                          data_dir: Path) -> None:
    blob = repo.create_git_blob("hello forge\n", "utf-8")
    assert git(data_dir, "cat-file", "-t", blob.sha).strip() == "blob"
    assert git(data_dir, "cat-file", "blob", blob.sha) == "hello forge\n"
    base = repo.get_git_commit(repo.get_git_ref("heads/main").object.sha)
    tree = repo.create_git_tree(
        [InputGitTreeElement("integrations/demo/hello.txt", "100644", "blob", sha=blob.sha)],
        base_tree=base.tree)
    listed = {line.split("\t")[1]: line.split()[2]
              for line in git(data_dir, "ls-tree", "-r", tree.sha).splitlines()}
    assert listed == {"README.md": listed["README.md"], "integrations/.gitkeep":
                      listed["integrations/.gitkeep"], "integrations/demo/hello.txt": blob.sha}
    api_tree = repo.get_git_tree(tree.sha, recursive=True)
    assert {e.path: e.sha for e in api_tree.tree if e.type == "blob"} == listed

    commit = repo.create_git_commit("Say hello", tree, [base])
    raw = git(data_dir, "cat-file", "commit", commit.sha)
    assert f"tree {tree.sha}\nparent {base.sha}\n" in raw and raw.endswith("Say hello")
    assert repo.get_git_commit(commit.sha).message == "Say hello"

    new_branch(repo, "objects")
    repo.get_git_ref("heads/objects").edit(commit.sha)
    assert git(data_dir, "rev-parse", "refs/heads/objects").strip() == commit.sha
    assert git(data_dir, "rev-parse", "refs/heads/main").strip() == base.sha
    content = repo.get_contents("integrations/demo/hello.txt", ref="objects")
    assert content.sha == blob.sha and content.decoded_content == b"hello forge\n"


def test_initial_repository_holds_readme_and_integrations_dir(repo: Repository,
                                                              data_dir: Path) -> None:
    first = git(data_dir, "rev-list", "--max-parents=0", "main").strip()
    files = git(data_dir, "ls-tree", "-r", "--name-only", first).split()
    assert files == ["README.md", "integrations/.gitkeep"]
    assert repo.default_branch == "main"


def test_squash_merge_makes_one_commit_with_the_heads_tree(repo: Repository,
                                                           data_dir: Path) -> None:
    base = new_branch(repo, "squash-me")
    commit_files(repo, "squash-me", {"integrations/a/one.py": "one = 1\n"}, "first")
    head = commit_files(repo, "squash-me", {"integrations/a/two.py": "two = 2\n",
                                            "README.md": None}, "second")
    pull = repo.create_pull(base="main", head="squash-me", title="Squash me", body="")
    assert pull.commits == 2 and pull.changed_files == 3
    statuses = {f.filename: (f.status, f.additions, f.deletions) for f in pull.get_files()}
    assert statuses["README.md"][0] == "removed" and statuses["integrations/a/one.py"] == (
        "added", 1, 0)
    patch = {f.filename: f.patch for f in pull.get_files()}["integrations/a/two.py"]
    assert patch == "@@ -0,0 +1 @@\n+two = 2"

    result = pull.merge(merge_method="squash", sha=head)
    assert result.merged
    main = git(data_dir, "rev-parse", "refs/heads/main").strip()
    assert main == result.sha
    assert git(data_dir, "rev-list", "--count", f"{base}..{main}").strip() == "1"
    assert git(data_dir, "rev-parse", f"{main}^{{tree}}") == git(data_dir, "rev-parse",
                                                                 f"{head}^{{tree}}")
    assert git(data_dir, "log", "-1", "--format=%P", main).strip() == base
    assert git(data_dir, "log", "-1", "--format=%s", main).strip() == \
        f"Squash me (#{pull.number})"
    merged = repo.get_pull(pull.number)
    assert (merged.merged, merged.state, merged.merge_commit_sha) == (True, "closed", main)
    assert merged.merged_at is not None and merged.merged_by.login == "ccb-bot"
    with pytest.raises(GithubException) as again:
        merged.merge(merge_method="squash")
    assert again.value.status == 405


def test_squash_merge_of_a_stale_branch_is_a_real_three_way_merge(repo: Repository,
                                                                  data_dir: Path) -> None:
    new_branch(repo, "three-way")
    head = commit_files(repo, "three-way", {"integrations/b/b.py": "b = 1\n"}, "add b")
    moved = commit_files(repo, "main", {"integrations/c/c.py": "c = 1\n"}, "add c on main")
    pull = repo.create_pull(base="main", head="three-way", title="Three way", body="")
    result = pull.merge(merge_method="squash", sha=head)
    files = git(data_dir, "ls-tree", "-r", "--name-only", result.sha).split()
    assert "integrations/b/b.py" in files and "integrations/c/c.py" in files
    assert git(data_dir, "log", "-1", "--format=%P", result.sha).strip() == moved


def test_conflicting_pull_is_not_mergeable(repo: Repository) -> None:
    new_branch(repo, "conflict")
    head = commit_files(repo, "conflict", {"integrations/.gitkeep": "mine\n"}, "mine")
    commit_files(repo, "main", {"integrations/.gitkeep": "theirs\n"}, "theirs")
    pull = repo.create_pull(base="main", head="conflict", title="Conflict", body="")
    assert pull.mergeable is False and pull.mergeable_state == "dirty"
    with pytest.raises(GithubException) as refused:
        pull.merge(merge_method="squash", sha=head)
    assert refused.value.status == 405
    pull.edit(state="closed")
    assert repo.get_pull(pull.number).state == "closed"


def test_merge_with_a_stale_sha_is_409(repo: Repository) -> None:
    new_branch(repo, "stale")
    reviewed = commit_files(repo, "stale", {"integrations/s/s.py": "s = 1\n"}, "reviewed")
    pull = repo.create_pull(base="main", head="stale", title="Stale", body="")
    commit_files(repo, "stale", {"integrations/s/s.py": "s = 2\n"}, "pushed after review")
    with pytest.raises(GithubException) as stale:
        pull.merge(merge_method="squash", sha=reviewed)
    assert stale.value.status == 409
    assert stale.value.data["message"] == \
        "Head branch was modified. Review and try the merge again."
    assert repo.get_pull(pull.number).merged is False


def test_duplicate_ref_and_pull_are_422(repo: Repository) -> None:
    sha = new_branch(repo, "dupe")
    with pytest.raises(GithubException) as ref:
        repo.create_git_ref("refs/heads/dupe", sha)
    assert (ref.value.status, ref.value.data["message"]) == (422, "Reference already exists")
    with pytest.raises(GithubException) as empty:
        repo.create_pull(base="main", head="dupe", title="No commits", body="")
    assert empty.value.status == 422
    assert empty.value.data["errors"][0]["message"] == "No commits between main and dupe"
    commit_files(repo, "dupe", {"integrations/d/d.py": "d = 1\n"}, "d")
    repo.create_pull(base="main", head="dupe", title="First", body="")
    with pytest.raises(GithubException) as second:
        repo.create_pull(base="main", head="dupe", title="Second", body="")
    assert second.value.status == 422
    assert second.value.data["errors"][0]["message"] == \
        "A pull request already exists for demo:dupe."
    with pytest.raises(GithubException) as not_ff:
        repo.get_git_ref("heads/dupe").edit(sha)
    assert (not_ff.value.status, not_ff.value.data["message"]) == (
        422, "Update is not a fast forward")
    repo.get_git_ref("heads/dupe").edit(sha, force=True)
    assert repo.get_git_ref("heads/dupe").object.sha == sha


def test_bad_token_is_401_and_unknown_repo_is_404(forge: ForgeHandle) -> None:
    stranger = Github(base_url=forge.api_url, auth=Auth.Token("ghp_not_a_real_token"),
                      retry=None)
    with pytest.raises(BadCredentialsException) as bad:
        stranger.get_repo(forge.full_name)
    assert bad.value.status == 401
    assert bad.value.data == {"message": "Bad credentials",
                              "documentation_url": "https://docs.github.com/rest",
                              "status": "401"}
    with pytest.raises(UnknownObjectException) as missing:
        forge.github().get_repo("demo/nothing-here")
    assert missing.value.status == 404 and missing.value.data["message"] == "Not Found"
    answer = httpx.get(f"{forge.api_url}/user")
    assert answer.status_code == 401 and answer.json()["message"] == "Requires authentication"


def test_permissions_follow_the_users_roles(forge: ForgeHandle) -> None:
    bob = forge.github("bob").get_repo(forge.full_name)
    issue = bob.create_issue("A request from a reader", labels=["integration-request"])
    assert issue.labels == []  # GitHub drops labels from people without triage access
    issue.create_comment("bob may comment")
    with pytest.raises(GithubException) as denied:
        bob.create_git_ref("refs/heads/bob", bob.get_branch("main").commit.sha)
    assert denied.value.status == 403
    carol = forge.github("carol").get_repo(forge.full_name)
    carol.get_issue(issue.number).add_to_labels("triaged")
    permission = httpx.get(
        f"{forge.api_url}/repos/{forge.full_name}/collaborators/bob/permission",
        headers={"Authorization": f"Bearer {forge.tokens['alice']}"}).json()
    assert (permission["permission"], permission["role_name"]) == ("read", "read")
    assert permission["user"]["login"] == "bob"
    assert permission["user"]["permissions"]["push"] is False


def test_faults_make_the_next_matching_requests_fail(forge: ForgeHandle,
                                                     repo: Repository) -> None:
    new_branch(repo, "faulty")
    head = commit_files(repo, "faulty", {"integrations/f/f.py": "f = 1\n"}, "f")
    pull = repo.create_pull(base="main", head="faulty", title="Faulty", body="")
    forge.add_fault("PUT", r"/pulls/\d+/merge$", 405,
                    body={"message": "Pull Request is not mergeable"})
    with pytest.raises(GithubException) as refused:
        pull.merge(merge_method="squash", sha=head)
    assert refused.value.status == 405
    forge.add_fault("GET", r"/pulls/\d+$", 403, times=2,
                    headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000"},
                    body={"message": "API rate limit exceeded"})
    for _ in range(2):
        with pytest.raises(RateLimitExceededException):
            repo.get_pull(pull.number).title  # noqa: B018
    assert repo.get_pull(pull.number).merge(merge_method="squash", sha=head).merged


def test_fault_injection_is_off_unless_enabled(tmp_path: Path) -> None:
    with running_forge(tmp_path, faults=False) as forge:
        answer = httpx.post(f"{forge.root_url}/_forge/faults",
                            json={"method": "GET", "path_regex": ".", "status": 500})
        assert answer.status_code == 404


def test_tokens_file_is_private_and_kept_across_restarts(tmp_path: Path) -> None:
    """``ccb up`` restarts a forge that died: the tokens its clients hold must stay valid.
    Deleting the file rotates them."""
    with running_forge(tmp_path) as first:
        number = first.github("alice").get_repo(first.full_name).create_issue("kept").number
    path = tmp_path / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == first.tokens
    with running_forge(tmp_path) as second:
        assert second.tokens == first.tokens
        assert second.github("alice").get_repo(second.full_name).get_issue(number).title == \
            "kept"
    path.unlink()
    with running_forge(tmp_path) as third:
        assert set(third.tokens) == {"ccb-bot", "alice", "bob", "carol"}
        assert third.tokens["alice"] != first.tokens["alice"]
        old = Github(base_url=third.api_url, auth=Auth.Token(first.tokens["alice"]),
                     retry=None)
        with pytest.raises(BadCredentialsException):
            _ = old.get_user().login


WRITE_ROUTES = [
    ("POST", "/issues"), ("PATCH", "/issues/1"), ("POST", "/issues/1/comments"),
    ("PATCH", "/issues/comments/1"), ("POST", "/issues/1/labels"), ("PUT", "/issues/1/labels"),
    ("POST", "/labels"), ("POST", "/git/refs"), ("PATCH", "/git/refs/heads/main"),
    ("POST", "/git/blobs"), ("POST", "/git/trees"), ("POST", "/git/commits"),
    ("PUT", "/contents/x.txt"), ("DELETE", "/contents/README.md"), ("POST", "/pulls"),
    ("PATCH", "/pulls/1"), ("PUT", "/pulls/1/merge"), ("POST", "/pulls/1/reviews"),
    ("POST", "/pulls/1/comments"), ("POST", "/pulls/1/requested_reviewers"),
    ("POST", "/statuses/abc"), ("POST", "/check-runs"), ("PATCH", "")]
MALFORMED = [b"{not json", b"[]", b'"text"', b"{}", b'{"title": 5, "body": [], "ref": 1, '
             b'"sha": {}, "tree": "x", "labels": "x", "state": "maybe", "event": 1, '
             b'"comments": [1], "reviewers": "alice", "content": 1, "name": null}',
             b'{"tree": [{"path": "../x", "mode": "1", "sha": "zz"}], "comments": '
             b'[{"path": "nope", "line": "2", "body": "x"}], "state": "closed"}']


def test_malformed_input_gets_a_github_error_never_a_500(forge: ForgeHandle,
                                                         repo: Repository) -> None:
    repo.create_issue("target of malformed writes")  # so /issues/1 exists
    new_branch(repo, "malformed")
    commit_files(repo, "malformed", {"m.txt": "m\n"}, "m")
    number = repo.create_pull(base="main", head="malformed", title="M", body="").number
    headers = {"Authorization": f"token {forge.tokens['alice']}"}
    base = f"{forge.api_url}/repos/{forge.full_name}"
    with httpx.Client(headers=headers, timeout=30) as client:
        for method, path in WRITE_ROUTES:
            for body in MALFORMED:
                url = base + path.replace("/pulls/1", f"/pulls/{number}")
                answer = client.request(method, url, content=body)
                assert answer.status_code < 500, (method, path, body, answer.text)
                if answer.status_code >= 400:
                    assert "message" in answer.json(), (method, path, answer.text)
