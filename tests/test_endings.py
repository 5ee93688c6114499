"""Never silent (issue 13, item 7): every way a request run can end has an ending comment
that says what happened and what the person can do next. The rule is walked here over every
ending and every failure type the bot raises; the workflows' own endings are walked on the
real stack by the tests named in ``WALKED`` (each asserts the comment its run ended with);
``test_every_ending.py`` walks those no other test reaches."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from models.creation import ErrorCategory
from models.error_types import ErrorType
from rules.endings import WORDS, Ending, ending_comment, ending_of
from tests.test_every_ending import WALKED_HERE

ERROR_TYPES = sorted(v for k, v in vars(ErrorType).items() if k.isupper())
TESTS = Path(__file__).parent
# Where a workflow run really ends in each way, and the test that checks its comment there.
WALKED: dict[Ending, str] = {
    Ending.ACTIVE: "test_creation_workflow.py::test_request_becomes_a_merged_pr_and_an_active",
    Ending.MERGED: "test_creation_crash.py",
    Ending.INVALID_REQUEST: "test_creation_workflow.py::test_invalid_request_gets_one_comment",
    Ending.EXPIRED: "test_creation_expiry.py",
    Ending.SPEND_CAP: "test_dollar_cap.py::test_a_request_nobody_raises_ends_at_its_cap",
    Ending.PLAN_EXPIRED: "test_plan_approval.py::test_a_plan_nobody_answers_expires_with",
    Ending.PULL_REQUEST_CLOSED: "test_github_events.py::test_a_person_closing_the_pull_request",
    Ending.INTERNAL: "test_sandbox_fail_closed.py",
    Ending.DEPLOYMENT: "test_creation_workflow.py::test_a_failure_after_the_merge_opens_a_revert",
    Ending.CANCELLED: "test_github_events.py::test_a_person_closing_the_request_issue",
    **{e: "test_every_ending.py::test_every_ending_tells_the_person_what_happened_and_what_to"
       for e in (Ending.SLUG_TAKEN, Ending.BUDGET, Ending.CREDENTIALS, Ending.SERVICE_DOWN,
                 Ending.FAILED)},
}


def test_every_ending_says_what_happened_and_what_to_do_next() -> None:
    assert set(WORDS) == set(Ending)
    for ending in Ending:
        for update in (False, True):
            text = ending_comment(ending, update=update, requester="alice",
                                  reason="the `reason`", workflow_id="integration-x-1",
                                  pr_url="http://127.0.0.1/pull/2")
            first = text.split("\n\n")[0]
            assert first.startswith("@alice The update" if update else
                                    "@alice The integration request"), text
            assert first.endswith(".") and "Next: " in text and "integration-x-1" in text
            assert "Why: the &#96;reason&#96;" in text  # the reason is inert text
            words = WORDS[ending]
            assert "/retry" in words.next or ending in (
                Ending.ACTIVE, Ending.MERGED, Ending.SLUG_TAKEN), ending


@given(st.sampled_from(ERROR_TYPES), st.sampled_from(list(ErrorCategory)), st.booleans())
def test_every_failure_has_an_ending_and_internal_ones_say_it_is_the_bots_fault(
        error_type: str, category: ErrorCategory, cancelled: bool) -> None:
    ending = ending_of(error_type=error_type, category=category, cancelled=cancelled)
    if cancelled:
        assert ending == Ending.CANCELLED
    elif category == ErrorCategory.INTERNAL:
        assert ending == Ending.INTERNAL
        assert "the bot's fault" in WORDS[ending].next
    assert ending not in (Ending.ACTIVE, Ending.MERGED)


@given(st.text(max_size=300), st.sampled_from(list(Ending)))
def test_no_reason_becomes_markup_or_a_mention(reason: str, ending: Ending) -> None:
    text = ending_comment(ending, update=False, requester="alice", reason=reason)
    why = next((part for part in text.split("\n\n") if part.startswith("Why: ")), "")
    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", why) and "<" not in why and "`" not in why


def test_every_ending_a_run_reaches_on_the_stack_is_walked_by_a_test_that_checks_it() -> None:
    for where in WALKED.values():
        file, _, name = where.partition("::")
        source = (TESTS / file).read_text()
        assert not name or re.search(rf"def {re.escape(name)}", source), where
        assert "ending" in source or "Next:" in source, where
    # The one left is reached only by update runs started before `update-regenerates-on-
    # changes` (a newer run answers requested changes with a new commit, never ends there).
    assert set(Ending) - set(WALKED) == {Ending.CHANGES_NOT_MADE}
    assert set(WALKED_HERE) == set(WALKED) - {e for e, w in WALKED.items()
                                              if not w.startswith("test_every_ending")} | {
        Ending.CANCELLED}  # `ccb cancel` there, the issue closed by a person here
