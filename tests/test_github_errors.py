"""GitHub's error answers become the right Temporal errors, and PyGithub never retries by itself.

A local server (tests/github_error_server.py) answers GitHub-shaped errors; the real activities
run through ``ActivityEnvironment`` with the client the settings describe, pointed at it.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.github_client import reset_github_client
from activities.github_errors import MAX_RATE_LIMIT_WAIT_SECONDS, rate_limit_wait
from activities.github_git import commit_files, set_commit_status
from activities.github_issues import add_labels, get_collaborator_permission, upsert_bot_comment
from activities.github_pulls import list_pull_request_files, open_pull_request
from infra.settings import get_settings
from models.github import (
    CommitFiles,
    CommitStatus,
    LabelChange,
    OpenPullRequest,
    PermissionQuery,
    PullQuery,
    UpsertComment,
)
from tests.github_error_server import ErrorServer, running_error_server

REPO = "demo/integrations"
TOKEN = "ghp_test0000000000000000000000000000000"
SHA = "0123456789abcdef0123456789abcdef01234567"
GITHUB_ENV = ("GITHUB_TOKEN", "CCB_GITHUB_TOKEN", "CCB_GITHUB_API_URL", "CCB_GITHUB_APP_ID",
              "CCB_GITHUB_APP_PRIVATE_KEY_PATH", "CCB_GITHUB_INSTALLATION_ID", "CCB_BOT_LOGIN")

# Each call's first request is the one the server fails: one request per call.
CALLS: dict[str, tuple[Callable[[Any], Any], BaseModel]] = {
    "upsert_bot_comment": (upsert_bot_comment,
                           UpsertComment(repo=REPO, number=5, marker="progress", body="hi")),
    "add_labels": (add_labels, LabelChange(repo=REPO, number=5, labels=["ccb:generating"])),
    "commit_files": (commit_files, CommitFiles(repo=REPO, branch="ccb/x", message="m",
                                               files={"a.txt": "a"})),
    "set_commit_status": (set_commit_status,
                          CommitStatus(repo=REPO, sha=SHA, state="success", context="ccb/tests")),
    "open_pull_request": (open_pull_request,
                          OpenPullRequest(repo=REPO, head="ccb/x", title="Add x")),
    "list_pull_request_files": (list_pull_request_files, PullQuery(repo=REPO, number=7)),
}


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean GitHub environment and a private data dir; the cached client reset around it."""
    for var in GITHUB_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CCB_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    reset_github_client()
    yield monkeypatch
    get_settings.cache_clear()
    reset_github_client()


@pytest.fixture
def server(settings_env: pytest.MonkeyPatch) -> Iterator[ErrorServer]:
    """The error server, with settings pointing a token client at it."""
    with running_error_server() as srv:
        settings_env.setenv("CCB_GITHUB_API_URL", srv.api_url)
        settings_env.setenv("CCB_GITHUB_TOKEN", TOKEN)
        get_settings.cache_clear()
        yield srv


def run_call(name: str) -> ApplicationError:
    """Run the named activity for real and return the ApplicationError it raised."""
    fn, arg = CALLS[name]
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(fn, arg)
    return raised.value


def assert_one_request(server: ErrorServer) -> None:
    assert len(server.requests) == 1, [f"{r.method} {r.path}" for r in server.requests]
    assert server.requests[0].authorization == f"token {TOKEN}"  # the token came from settings


@pytest.mark.parametrize("call", CALLS)
def test_401_bad_credentials_is_final_and_names_the_token(server: ErrorServer, call: str) -> None:
    server.answer(401, body={"message": "Bad credentials",
                             "documentation_url": "https://docs.github.com/rest"})
    error = run_call(call)
    assert error.type == "GitHubBadCredentials"
    assert error.non_retryable
    assert "GITHUB_TOKEN" in error.message and "App's key" in error.message
    assert TOKEN not in error.message
    assert_one_request(server)


@pytest.mark.parametrize("call", CALLS)
def test_403_primary_rate_limit_waits_until_reset(server: ErrorServer, call: str) -> None:
    reset = int(time.time()) + 42
    server.answer(403, headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Used": "5000", "X-RateLimit-Reset": str(reset),
                                "X-RateLimit-Resource": "core"},
                  body={"message": "API rate limit exceeded for user ID 1.",
                        "documentation_url": "https://docs.github.com/rest/rate-limit"})
    error = run_call(call)
    assert error.type == "GitHubRateLimited"
    assert not error.non_retryable
    assert error.next_retry_delay is not None
    expected = reset - time.time()
    assert expected - 3 <= error.next_retry_delay.total_seconds() <= expected + 3
    assert "rate limit" in error.message
    assert_one_request(server)


@pytest.mark.parametrize("call", CALLS)
def test_429_secondary_rate_limit_honours_retry_after(server: ErrorServer, call: str) -> None:
    server.answer(429, headers={"Retry-After": "7"},
                  body={"message": "You have exceeded a secondary rate limit. Please wait a few "
                                   "minutes before you try again."})
    error = run_call(call)
    assert error.type == "GitHubRateLimited"
    assert not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)
    assert_one_request(server)


@pytest.mark.parametrize("call", CALLS)
def test_403_without_rate_limit_is_a_permission_problem(server: ErrorServer, call: str) -> None:
    server.answer(403, headers={"X-RateLimit-Remaining": "4999"},
                  body={"message": "Resource not accessible by integration"})
    error = run_call(call)
    assert error.type == "GitHubForbidden"
    assert error.non_retryable
    assert "permission" in error.message and "Resource not accessible" in error.message
    assert_one_request(server)


@pytest.mark.parametrize("call", CALLS)
def test_404_names_the_resource_and_what_to_check(server: ErrorServer, call: str) -> None:
    server.answer(404, body={"message": "Not Found"})
    error = run_call(call)
    assert error.type == "GitHubNotFound"
    assert error.non_retryable
    assert REPO in error.message
    assert "repository name (owner/name)" in error.message
    assert_one_request(server)


def test_404_says_which_resource(server: ErrorServer) -> None:
    server.answer(404, body={"message": "Not Found"})
    error = run_call("list_pull_request_files")
    assert "no pull request #7 in demo/integrations" in error.message


@pytest.mark.parametrize("call", CALLS)
def test_422_validation_failed_carries_githubs_reasons(server: ErrorServer, call: str) -> None:
    server.answer(422, body={
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "code": "custom",
                    "message": "No commits between main and ccb/x"}],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    })
    error = run_call(call)
    assert error.type == "GitHubRejected"
    assert error.non_retryable
    assert "Validation Failed" in error.message
    assert "No commits between main and ccb/x" in error.message
    assert error.details[0]["errors"][0]["code"] == "custom"
    assert_one_request(server)


@pytest.mark.parametrize("call", CALLS)
def test_502_is_retried_by_temporal_not_by_pygithub(server: ErrorServer, call: str) -> None:
    server.answer(502, body="<html><body><h1>502 Bad Gateway</h1></body></html>")
    error = run_call(call)
    assert error.type == "GitHubUnavailable"
    assert not error.non_retryable
    assert error.next_retry_delay is None  # the workflow's retry policy backs off
    assert_one_request(server)


def test_connection_refused_is_retryable(settings_env: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings_env.setenv("CCB_GITHUB_API_URL", f"http://127.0.0.1:{port}/api/v3")
    settings_env.setenv("CCB_GITHUB_TOKEN", TOKEN)
    get_settings.cache_clear()
    error = run_call("upsert_bot_comment")
    assert error.type == "GitHubUnavailable"
    assert not error.non_retryable
    assert "CCB_GITHUB_API_URL" in error.message


def test_rate_limit_rules() -> None:
    now = 1_000_000.0
    assert rate_limit_wait(429, {"Retry-After": "7"}, "", now) == 7
    assert rate_limit_wait(
        403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 30)}, "", now
    ) == 31  # one second of clock-skew margin
    # A bogus reset far in the future is capped at one rate-limit window.
    assert rate_limit_wait(
        403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 86_400)}, "", now
    ) == MAX_RATE_LIMIT_WAIT_SECONDS
    # A reset already past still waits a little instead of hammering.
    assert rate_limit_wait(
        403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) - 5)}, "", now
    ) == 1
    assert rate_limit_wait(403, {}, "You have exceeded a secondary rate limit", now) == 60
    assert rate_limit_wait(403, {"x-ratelimit-remaining": "12"}, "Must have admin", now) is None
    assert rate_limit_wait(404, {"Retry-After": "7"}, "", now) is None


def test_forge_mode_reads_the_bot_token_from_the_data_dir(
    server: ErrorServer, settings_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings_env.delenv("CCB_GITHUB_TOKEN")
    get_settings.cache_clear()
    (tmp_path / "forge").mkdir()
    (tmp_path / "forge" / "tokens.json").write_text(json.dumps({"ccb-bot": "forge-bot-token",
                                                                 "alice": "other"}))
    server.answer(200, body={"permission": "write", "role_name": "write"})
    result = ActivityEnvironment().run(get_collaborator_permission,
                                       PermissionQuery(repo=REPO, username="carol"))
    assert result == "write"
    assert [r.authorization for r in server.requests] == ["token forge-bot-token"]


def test_forge_mode_without_tokens_says_how_to_fix(settings_env: pytest.MonkeyPatch) -> None:
    error = run_call("add_labels")
    assert error.type == "GitHubNotConfigured"
    assert error.non_retryable
    assert "GITHUB_TOKEN" in error.message and "tokens.json" in error.message


def test_github_app_authenticates_as_its_installation(
    server: ErrorServer, settings_env: pytest.MonkeyPatch, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="github")  # even at DEBUG, no token is logged
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "app.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    settings_env.delenv("CCB_GITHUB_TOKEN")
    settings_env.setenv("CCB_GITHUB_APP_ID", "123")
    settings_env.setenv("CCB_GITHUB_APP_PRIVATE_KEY_PATH", str(key_path))
    settings_env.setenv("CCB_GITHUB_INSTALLATION_ID", "42")
    get_settings.cache_clear()
    server.route("POST", r"/app/installations/42/access_tokens$", 201,
                 body={"token": "ghs_installation", "expires_at": "2099-01-01T00:00:00Z"})
    server.answer(200, body={"permission": "write", "role_name": "maintain"})
    result = ActivityEnvironment().run(get_collaborator_permission,
                                       PermissionQuery(repo=REPO, username="carol"))
    assert result == "maintain"
    first, second = server.requests
    assert first.method == "POST" and first.authorization.startswith("Bearer ")  # the App's JWT
    assert second.path.endswith("/collaborators/carol/permission")
    assert second.authorization == "token ghs_installation"
    assert "ghs_installation" not in caplog.text


@pytest.mark.parametrize(("key_text", "hint"), [
    (None, "cannot read the GitHub App private key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n",
     "not a usable PEM RSA key"),
])
def test_github_app_without_a_usable_key_says_how_to_fix(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, key_text: str | None, hint: str
) -> None:
    key_path = tmp_path / "app.pem"
    if key_text is not None:
        key_path.write_text(key_text)
    settings_env.setenv("CCB_GITHUB_APP_ID", "123")
    settings_env.setenv("CCB_GITHUB_APP_PRIVATE_KEY_PATH", str(key_path))
    settings_env.setenv("CCB_GITHUB_INSTALLATION_ID", "42")
    get_settings.cache_clear()
    error = run_call("add_labels")
    assert error.type == "GitHubNotConfigured"
    assert error.non_retryable
    assert hint in error.message and "CCB_GITHUB_APP_PRIVATE_KEY_PATH" in error.message
