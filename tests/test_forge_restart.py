"""A restarted forge (``ccb up`` restarts a dead one) keeps the tokens its clients hold."""

from __future__ import annotations

from pathlib import Path

from forge.testing import running_forge


def test_a_restarted_forge_keeps_the_tokens_it_issued(tmp_path: Path) -> None:
    with running_forge(tmp_path / "forge") as first:
        bot = first.github("ccb-bot").get_repo(first.full_name)
        issue = bot.create_issue(title="before the restart")
    with running_forge(tmp_path / "forge") as second:
        assert second.tokens == first.tokens
        again = second.github("ccb-bot").get_repo(second.full_name)
        assert again.get_issue(issue.number).title == "before the restart"
