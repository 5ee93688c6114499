"""Reviewers from the repository's CODEOWNERS (issue 13 item 4, first part): the rule as
GitHub reads the file, over any text; and through the forge's webhooks, the bot's pull
request asks the configured reviewers and the owners CODEOWNERS on main names."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from temporalio.client import Client

from rules.codeowners import owners_for, parse_codeowners
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.update_helpers import push
from tests.webhook_flow import skip_issue_numbers, wait_for_run, webhook_world

RULES = parse_codeowners("""\
# the whole repository
*                        @alice
integrations/            @carol @demo/reviewers owner@example.com
/integrations/acme-*/    @bob
docs/*.md                @dave
/build/logs/             # no owner: nobody for these
""")


@pytest.mark.parametrize(("path", "owners"), [
    ("README.md", ["alice"]),
    ("integrations/other/service.py", ["carol"]),  # the team and the e-mail are skipped
    ("integrations/acme-weather/x/y.py", ["bob"]),  # the last matching rule wins
    ("sub/integrations/z.py", ["carol"]),  # a directory name matches at any depth
    ("docs/guide.md", ["dave"]),
    ("docs/deep/guide.md", ["alice"]),  # `*` does not cross a slash
    ("build/logs/today.txt", []),
])
def test_owners_as_github_reads_codeowners(path: str, owners: list[str]) -> None:
    assert owners_for(RULES, [path]) == owners


@given(st.text(max_size=400), st.lists(st.text(min_size=1, max_size=40), max_size=5))
@example(text="", paths=["\n0"])  # CI found it: a path may hold a newline
def test_any_codeowners_text_gives_logins_and_never_fails(text: str, paths: list[str]) -> None:
    rules = parse_codeowners(text)
    found = owners_for(rules, paths)
    assert all(login and "@" not in login and "/" not in login for login in found)
    # A rule appended for everything wins for every path (the last match wins).
    last = parse_codeowners(text + "\n** @zed\n")
    assert all(owners_for(last, [p]) == ["zed"] for p in paths if p.strip("/"))


async def test_the_bot_pull_request_asks_configured_reviewers_and_codeowners(
        client: Client, task_queue: str, temporal_address: str, data_dir,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_REVIEWERS", "alice")
    with webhook_world(data_dir, monkeypatch, temporal_address=temporal_address,
                       task_queue=task_queue, secret="codeowners-secret") as world:
        push(world.as_user("alice"), "main", {".github/CODEOWNERS": (
            "*  @alice\n/integrations/ @carol @demo/reviewers\n")}, "Add CODEOWNERS")
        skip_issue_numbers(world, 180)
        async with running_worker(client, task_queue):
            issue = world.new_issue()
            run = await wait_for_run(client, world.request_handle(client, issue).id)
            waiting = await wait_for_approval_wait(run)
            pull = world.as_user("alice").get_pull(waiting.pr_number or 0)
            for _ in range(100):  # bounded: requested right after the review is posted
                users, _ = pull.get_review_requests()
                if len(list(users)) >= 2:
                    break
                await asyncio.sleep(0.2)
            requested = sorted(u.login for u in pull.get_review_requests()[0])
            await run.cancel()
    assert requested == ["alice", "carol"]
