"""The reminder comment's words (pure): any reviewer list becomes mentions of GitHub logins
only (a setting or a CODEOWNERS line cannot inject markup or mention a team), and only the
last reminder says when the run gives up."""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from workflows.request_texts import approval_reminder, mentions

MENTION = re.compile(r"@([^\s,:]+)")
LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")


@given(st.lists(st.text(max_size=45), max_size=6))
def test_only_logins_are_mentioned_each_once(reviewers: list[str]) -> None:
    text = mentions(reviewers)
    named = MENTION.findall(text)
    assert all(LOGIN.match(n) for n in named)
    assert named == list(dict.fromkeys(r for r in reviewers if LOGIN.match(r)))


@given(st.integers(min_value=1, max_value=50), st.booleans(),
       st.lists(st.sampled_from(["carol", "dave", "org/team", "a b", "@x"]), max_size=4),
       st.integers(min_value=1, max_value=10_000))
def test_the_last_reminder_alone_says_when_the_run_gives_up(
        count: int, last: bool, reviewers: list[str], minutes: int) -> None:
    text = approval_reminder(count=count, pr_number=7, reviewers=reviewers, last=last,
                             left=timedelta(minutes=minutes))
    assert text.startswith(f"Last reminder ({count})" if last else f"Reminder {count}")
    assert ("Without a decision within" in text) == last
    assert "pull request #7 still waits for a human review" in text
    assert set(MENTION.findall(text)) <= {"carol", "dave"}
