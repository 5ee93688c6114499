"""Promotion's pure rules and its comment command: the environment order setting, how each
environment is entered, the gates bound to a version's commit, and `/promote` parsing —
over generated input, not a few hand-picked cases."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.flags import UnknownFlagError, flags_for
from infra.settings import Settings, get_settings
from models.deployment import Environment
from models.flags import FeatureFlags, PromotionPolicy
from rules.promotion import GateRecords, after, entry_policy, gate_problems, parse_environments
from starter.commands import Command, CommandMisuse, CommandName, parse_command

NAMES = [e.value for e in Environment]
SHA = "0123456789abcdef0123456789abcdef01234567"


@given(st.lists(st.sampled_from([*NAMES, "prod", "", " qa "]), max_size=5),
       st.sampled_from([",", ", ", " ,"]))
def test_any_order_setting_is_an_order_or_one_sentence(names: list[str], sep: str) -> None:
    text = sep.join(names)
    try:
        order = parse_environments(text)
    except ValueError as exc:
        message = str(exc)
        assert message.startswith("CCB_ENVIRONMENTS ") and "\n" not in message
        return
    assert [e.value for e in order] == [n.strip() for n in names if n.strip()]
    assert len(set(order)) == len(order)
    for i, env in enumerate(order):
        assert after(order, env) == list(order[i + 1:])


def test_a_wrong_order_setting_stops_the_settings_with_its_reason() -> None:
    with pytest.raises(ValueError, match="unknown environments prod: use development"):
        Settings(environments="development,prod")
    assert Settings(environments="staging, production").environment_order == (
        Environment.STAGING, Environment.PRODUCTION)


@given(st.sampled_from(list(PromotionPolicy)), st.booleans())
def test_an_environment_without_auto_deployment_is_never_entered_by_itself(
        policy: PromotionPolicy, auto: bool) -> None:
    entered = entry_policy(FeatureFlags(promotion=policy, auto_deployment=auto))
    if policy is PromotionPolicy.OFF:
        assert entered is PromotionPolicy.OFF
    elif not auto:
        assert entered is PromotionPolicy.APPROVAL
    else:
        assert entered is policy


def test_production_waits_for_a_person_by_default_and_flags_say_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert entry_policy(flags_for("production")) is PromotionPolicy.APPROVAL
    assert entry_policy(flags_for("staging")) is PromotionPolicy.AUTO
    monkeypatch.setenv("CCB_FEATURE_FLAGS", '{"staging": {"promotion": "off"}}')
    get_settings.cache_clear()
    try:
        assert entry_policy(flags_for("staging")) is PromotionPolicy.OFF
        monkeypatch.setenv("CCB_FEATURE_FLAGS", '{"staging": {"promotion": "sometimes"}}')
        get_settings.cache_clear()
        with pytest.raises(UnknownFlagError, match="promotion is auto, approval or off"):
            flags_for("staging")
    finally:
        get_settings.cache_clear()


MERGED_OK = {"tests_passed": True, "security_scan": "passed"}


@given(version_sha=st.one_of(st.none(), st.sampled_from([SHA, "f" * 40])),
       merged=st.one_of(st.none(), st.fixed_dictionaries({
           "tests_passed": st.sampled_from([True, False, None, "yes"]),
           "security_scan": st.sampled_from(["passed", "failed", "unknown"])})),
       passed=st.frozensets(st.sampled_from(NAMES)), failed=st.frozensets(st.sampled_from(NAMES)),
       approver=st.sampled_from(["", "carol", "ccb-bot", "CCB-BOT"]),
       needs_approval=st.booleans(), asked=st.sampled_from([SHA, SHA[:7], "", "f" * 40]))
def test_the_gates_pass_only_for_that_commits_own_passed_records(
        version_sha: str | None, merged: dict[str, object] | None, passed: frozenset[str],
        failed: frozenset[str], approver: str, needs_approval: bool, asked: str) -> None:
    records = GateRecords(version_sha=version_sha, merged=merged, live_checks_passed=passed,
                          live_checks_failed=failed)
    problems = gate_problems(records, version="1.0.0", commit_sha=asked,
                             previous=Environment.STAGING, approver=approver,
                             needs_approval=needs_approval)
    should_pass = (version_sha is not None and asked == version_sha
                   and merged is not None and merged["tests_passed"] is True
                   and merged["security_scan"] == "passed"
                   and "staging" in passed and "staging" not in failed
                   and (not needs_approval or approver == "carol"))
    assert (problems == []) == should_pass, problems
    assert all(isinstance(p, str) and p for p in problems)


def test_each_gate_says_what_is_missing() -> None:
    def problems(**changes: object) -> list[str]:
        records = GateRecords(**{"version_sha": SHA, "merged": MERGED_OK,
                                 "live_checks_passed": frozenset({"staging"}),
                                 "live_checks_failed": frozenset(), **changes})  # type: ignore[arg-type]
        return gate_problems(records, version="1.0.0", commit_sha=SHA,
                             previous=Environment.STAGING, approver="", needs_approval=True)

    assert problems() == ["a person must approve 1.0.0 at 0123456: `/promote <environment>`"]
    assert problems(merged={"tests_passed": False, "security_scan": "failed"})[:2] == [
        "the tests did not pass for 1.0.0 at 0123456",
        "the security scan did not pass for 1.0.0 at 0123456"]
    assert "the generated live checks failed against 1.0.0 in staging" in problems(
        live_checks_failed=frozenset({"staging"}), live_checks_passed=frozenset())
    assert problems(version_sha=None) == ["version 1.0.0 was never merged: nothing to promote"]


@given(st.text(max_size=60))
def test_any_promote_comment_is_a_command_or_a_misuse_with_the_usage(text: str) -> None:
    parsed = parse_command("/promote " + text)
    assert isinstance(parsed, Command | CommandMisuse)
    assert parsed.name is CommandName.PROMOTE
    if isinstance(parsed, Command):
        env, _, sha = parsed.text.partition(" ")
        assert env in NAMES
        assert sha == "" or (7 <= len(sha) <= 40 and all(c in "0123456789abcdef" for c in sha))
    else:
        assert "`/promote <environment>" in parsed.problem
        # What the person wrote appears only inside code spans: it mentions nobody.
        outside = re.sub(r"(`+).*?\1", "", parsed.problem)
        assert "@" not in outside and "<img" not in outside


def test_a_mention_in_a_wrong_promote_is_quoted_not_sent() -> None:
    parsed = parse_command("/promote @everyone")
    assert isinstance(parsed, CommandMisuse)
    assert parsed.problem.startswith("`@everyone` is not an environment")
