"""The forge sends GitHub-shaped, signed webhooks for what the bot listens to."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from github import InputGitTreeElement
from github.Repository import Repository

from forge.testing import ForgeHandle, running_forge
from forge.webhooks import CONNECT_RETRIES, signature_256
from tests.forge_helpers import WEBHOOK_FIXTURES, WebhookReceiver

SECRET = "It's a Secret to Everybody"
# Keys only an App installation or an organisation adds; the forge has neither.
NOT_SENT = {"installation", "organization"}
EXPECTED = [
    ("issues", "opened"), ("issues", "labeled"), ("issue_comment", "created"),
    ("issue_comment", "edited"), ("issues", "labeled"), ("pull_request", "opened"),
    ("pull_request", "synchronize"), ("pull_request_review", "submitted"),
    ("pull_request", "closed"), ("issues", "closed"),
]
FIXTURES = {
    ("issues", "opened"): "issues/opened.payload.json",
    ("issues", "labeled"): "issues/labeled.payload.json",
    ("issues", "closed"): "issues/opened.payload.json",  # no closed example: same keys
    ("issue_comment", "created"): "issue_comment/created.payload.json",
    ("issue_comment", "edited"): "issue_comment/edited.payload.json",
    ("pull_request", "opened"): "pull_request/opened.payload.json",
    ("pull_request", "synchronize"): "pull_request/synchronize.payload.json",
    ("pull_request", "closed"): "pull_request/closed.payload.json",
    ("pull_request_review", "submitted"): "pull_request_review/submitted.payload.json",
}
MAIN_OBJECT = {"issues": "issue", "issue_comment": "comment", "pull_request": "pull_request",
               "pull_request_review": "review"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as running:
        yield running


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory,
          receiver: WebhookReceiver) -> Iterator[ForgeHandle]:
    with running_forge(tmp_path_factory.mktemp("forge-hooks"), webhook_url=receiver.url,
                       webhook_secret=SECRET) as handle:
        yield handle


def push(repo: Repository, branch: str, path: str, text: str) -> str:
    ref = repo.get_git_ref(f"heads/{branch}")
    parent = repo.get_git_commit(ref.object.sha)
    blob = repo.create_git_blob(text, "utf-8")
    tree = repo.create_git_tree([InputGitTreeElement(path, "100644", "blob", sha=blob.sha)],
                                base_tree=parent.tree)
    commit = repo.create_git_commit(f"write {path}", tree, [parent])
    ref.edit(commit.sha)
    return commit.sha


def fixture(event: str, action: str) -> dict[str, Any]:
    return json.loads((WEBHOOK_FIXTURES / FIXTURES[(event, action)]).read_text())


@pytest.fixture(scope="module")
def story(forge: ForgeHandle, receiver: WebhookReceiver) -> dict[str, Any]:
    """An issue becomes a merged pull request; returns what was done."""
    alice = forge.github("alice").get_repo(forge.full_name)
    bot = forge.github("ccb-bot").get_repo(forge.full_name)
    issue = alice.create_issue("Integration: maps", body="### Service name\n\nMaps",
                               labels=["integration-request"])
    comment = bot.get_issue(issue.number).create_comment("On it")
    comment.edit("On it!")
    bot.get_issue(issue.number).add_to_labels("ccb:generating")
    bot.create_git_ref("refs/heads/ccb/maps", bot.get_branch("main").commit.sha)
    first = push(bot, "ccb/maps", "integrations/maps/__init__.py", "")
    pull = bot.create_pull(base="main", head="ccb/maps", title="Add maps", body="Maps")
    second = push(bot, "ccb/maps", "integrations/maps/client.py", "x = 1\n")
    alice.get_pull(pull.number).create_review(body="Good", event="APPROVE")
    bot.get_pull(pull.number).merge(merge_method="squash", sha=second)
    bot.get_issue(issue.number).edit(state="closed")
    deliveries = forge.deliveries()
    return {"issue": issue.number, "pull": pull.number, "first": first, "second": second,
            "deliveries": deliveries, "received": list(receiver.received)}


def test_signature_matches_githubs_test_vector() -> None:
    assert signature_256(SECRET, b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_each_event_is_delivered_in_order(story: dict[str, Any]) -> None:
    got = [(h.headers["x-github-event"], h.payload["action"]) for h in story["received"]]
    assert got == EXPECTED
    recorded = [(d["event"], d["action"], d["status_code"]) for d in story["deliveries"]]
    assert recorded == [(event, action, 202) for event, action in EXPECTED]


def test_deliveries_are_signed_and_unique(story: dict[str, Any]) -> None:
    ids = [h.headers["x-github-delivery"] for h in story["received"]]
    assert len(set(ids)) == len(ids) == len(EXPECTED)
    assert ids == [d["delivery_id"] for d in story["deliveries"]]
    for hook in story["received"]:
        expected = "sha256=" + hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(hook.headers["x-hub-signature-256"], expected)
        assert hook.headers["user-agent"] == "GitHub-Hookshot/forge"
        assert hook.headers["content-type"] == "application/json"


def test_payloads_have_the_keys_of_githubs_examples(story: dict[str, Any]) -> None:
    for hook in story["received"]:
        event, payload = hook.headers["x-github-event"], hook.payload
        example = fixture(event, payload["action"])
        assert set(payload) == set(example) - NOT_SENT, (event, payload["action"])
        main = MAIN_OBJECT[event]
        missing = set(example[main]) - set(payload[main])
        assert not missing, f"{event}.{payload['action']} {main} lacks {sorted(missing)}"
        assert set(example["repository"]) - set(payload["repository"]) <= {
            "custom_properties", "stargazers", "master_branch", "organization"}
        assert set(example["sender"]) <= set(payload["sender"])


def test_payloads_say_who_did_what(story: dict[str, Any]) -> None:
    hooks = {(h.headers["x-github-event"], h.payload["action"]): h.payload
             for h in story["received"]}
    opened = hooks[("issues", "opened")]
    assert opened["sender"]["login"] == "alice"
    assert [label["name"] for label in opened["issue"]["labels"]] == ["integration-request"]
    assert hooks[("issue_comment", "edited")]["changes"] == {"body": {"from": "On it"}}
    assert hooks[("issue_comment", "edited")]["sender"]["login"] == "ccb-bot"
    sync = hooks[("pull_request", "synchronize")]
    assert (sync["before"], sync["after"]) == (story["first"], story["second"])
    assert sync["pull_request"]["head"]["sha"] == story["second"]
    review = hooks[("pull_request_review", "submitted")]
    assert review["review"]["state"] == "approved"  # lowercase in webhooks, like GitHub
    assert review["sender"]["login"] == "alice"
    closed = hooks[("pull_request", "closed")]
    assert closed["pull_request"]["merged"] is True and closed["number"] == story["pull"]
    assert hooks[("issues", "closed")]["issue"]["state"] == "closed"


def test_unreachable_receiver_is_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    with WebhookReceiver().running() as gone:
        url = gone.url  # the port is closed once this block ends
    with running_forge(tmp_path, webhook_url=url, webhook_secret=SECRET) as forge:
        issue = forge.github("alice").get_repo(forge.full_name).create_issue("nobody listens")
        assert issue.number == 1  # the API answered although no one receives the hook
        [delivery] = forge.deliveries()
    assert delivery["event"] == "issues" and delivery["status_code"] is None
    assert delivery["attempts"] == CONNECT_RETRIES + 1
    assert "ConnectError" in delivery["error"]
