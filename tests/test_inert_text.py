"""Issue 12, item 6: text the bot did not write reaches GitHub inert: no mention, no closing
keyword but the bot's own ``Closes #N``, no HTML, no code span broken open. Checked on the
stored text (what the forge keeps and GitHub would render)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import Client

from infra.secrets import secret_store
from infra.settings import Settings
from rules.credentials import integration_prefix
from rules.inert import code_span, inert, inert_plain
from rules.issue_form import parse_issue_form
from rules.naming import environment_prefix
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    SAMPLE_BODY,
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)

MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
CLOSING = re.compile(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)[\s:]+"
                     r"(?:[\w.-]+/[\w.-]+)?#\d")
PIECES = st.sampled_from(["@org/team", "@alice", "fixes #1", "Closes #12", "resolved o/r#3",
                          "<img src=x onerror=alert(1)>", "<script>", "`", "``", "&amp;", "#7",
                          "FIX: #2", "user@example.com", "\n", " "])
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join)


@given(HOSTILE)
def test_inert_markdown_has_no_mention_keyword_html_or_backtick(text: str) -> None:
    out = inert(text)
    assert not MENTION.search(out) and not CLOSING.search(out)
    assert "<" not in out and ">" not in out and "`" not in out


@given(HOSTILE)
def test_inert_plain_text_has_no_mention_keyword_or_angle_bracket(text: str) -> None:
    out = inert_plain(text)
    assert not MENTION.search(out) and not CLOSING.search(out)
    assert "\n" not in out and "<" not in out and "`" not in out


@given(HOSTILE)
def test_a_code_span_cannot_be_broken_open(text: str) -> None:
    span = code_span(text)
    fence = re.match(r"`+", span).group(0)
    inner = span[len(fence):-len(fence)]
    assert span.endswith(fence) and "\n" not in span
    assert all(len(run) < len(fence) for run in re.findall(r"`+", inner))


def test_no_secret_setting_shows_in_the_settings_repr(monkeypatch) -> None:
    secrets = {"GITHUB_TOKEN": "ghp_reprsecret0001", "CCB_WEBHOOK_SECRET": "whsec-repr0002",
               "ANTHROPIC_API_KEY": "sk-ant-repr0003",
               "CCB_DATABASE_URL": "postgresql+psycopg2://u:pw-repr0004@127.0.0.1/db"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert not [v for v in secrets.values() if v in shown]
    assert settings.registry_url.endswith("@127.0.0.1/db")  # still usable where needed


async def test_a_hostile_service_name_and_url_end_up_inert_in_the_pull_request(
        client: Client, task_queue: str, world: World) -> None:
    name = "@org/team fixes #1 <img src=x onerror=alert(1)> `Weather`"
    body = SAMPLE_BODY.replace("Acme Weather", name, 1).replace(
        "https://api.acme-weather.example/v1", "https://api.acme-weather.example/v1/`x`")
    issue = world.new_issue(body)
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, body=body)
        progress = await wait_for_approval_wait(handle)
        request = parse_issue_form(body).request
        assert request is not None  # its credential, as an operator sets it
        secret_store().set(request.slug, f"{integration_prefix(environment_prefix(request.slug))}"
                                         "_API_KEY", "test-placeholder")
        await approve(handle)
        result = await handle.result()
    repo = world.as_user("alice")
    pull = repo.get_pull(progress.pr_number or 0)
    texts = {"title": pull.title, "body": pull.body,
             "merge": repo.get_commit(result.merged_sha).commit.message,
             **{f"commit {c.sha[:7]}": c.commit.message for c in pull.get_commits()},
             **{f"comment {i}": c for i, c in enumerate(world.bot_comments(issue))}}
    for where, text in texts.items():
        if where.startswith("comment") and "ccb:ending/" in text:
            # the bot's own mention of the requester, and only at the head of its ending
            assert text.startswith("@alice "), (where, text)
            text = text.removeprefix("@alice ")
        assert not MENTION.search(text), (where, text)
        assert "<img" not in text, (where, text)
        bot_closing = [m.group(0) for m in CLOSING.finditer(text)]
        assert bot_closing in ([], [f"Closes #{issue}"]), (where, bot_closing)
    assert "`` https://api.acme-weather.example/v1/`x` ``" in pull.body  # one unbroken span
    assert pull.body.count(f"Closes #{issue}") == 1


def test_a_change_request_longer_than_the_bound_is_cut_with_a_note() -> None:
    from models.creation import ChangeRequest
    from starter.commands import MAX_CHANGE_CHARS, bounded_change

    long = "please " * 10_000
    cut = bounded_change(long)
    assert len(cut) <= MAX_CHANGE_CHARS and cut.endswith(f"it was {len(long)} characters long.]")
    assert ChangeRequest(reviewer="alice", text=cut).text == cut  # no 500: it validates
    assert bounded_change("short") == "short"
