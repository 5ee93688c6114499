"""SPEC "States": every allowed move succeeds, every other pair is refused with a clear error."""

from __future__ import annotations

import itertools

import pytest

from models.states import IntegrationState
from registry.store import Registry
from rules.state_machine import TRANSITIONS, InvalidTransitionError, validate_transition

S = IntegrationState

# The SPEC's arrows, written out independently of models/states.py so the two must agree.
SPEC_MOVES = {
    (S.REQUESTED, S.ANALYZING), (S.ANALYZING, S.GENERATING), (S.GENERATING, S.TESTING),
    (S.TESTING, S.REVIEWING), (S.REVIEWING, S.APPROVED), (S.APPROVED, S.DEPLOYING),
    (S.DEPLOYING, S.ACTIVE),
    (S.TESTING, S.GENERATING), (S.REVIEWING, S.GENERATING), (S.DEPLOYING, S.FAILED),
    (S.FAILED, S.ANALYZING), (S.ACTIVE, S.PAUSED), (S.PAUSED, S.ACTIVE), (S.ACTIVE, S.DEPRECATED),
} | {
    (working, S.FAILED)
    for working in (S.REQUESTED, S.ANALYZING, S.GENERATING, S.TESTING, S.REVIEWING,
                    S.APPROVED, S.DEPLOYING)
}
ALL_PAIRS = list(itertools.product(IntegrationState, repeat=2))


def test_table_matches_spec() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == SPEC_MOVES


@pytest.mark.parametrize(("current", "target"), sorted(SPEC_MOVES))
def test_allowed_move_succeeds(current: S, target: S) -> None:
    validate_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_PAIRS if p not in SPEC_MOVES],
    ids=lambda s: str(s),
)
def test_every_other_pair_is_refused_clearly(current: S, target: S) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        validate_transition(current, target)
    message = str(caught.value)
    assert f"from {current} to {target}" in message
    allowed = sorted(b for a, b in SPEC_MOVES if a == current)
    assert caught.value.allowed == allowed
    assert (", ".join(allowed) if allowed else "none (final state)") in message


def test_unknown_state_name_is_refused() -> None:
    with pytest.raises(ValueError, match="BOGUS"):
        validate_transition("ACTIVE", "BOGUS")


def _walk(registry: Registry, slug: str, path: list[S]) -> None:
    registry.record_request(slug=slug, name=slug, integration_type="api-client", request={},
                            repo="demo/integrations", issue_number=1, actor="alice",
                            workflow_id=f"wf-{slug}", key=f"{slug}/requested")
    for i, state in enumerate(path):
        registry.transition(slug, state, actor="ccb-bot", reason=f"step {i} to {state}",
                            workflow_id=f"wf-{slug}", key=f"{slug}/{i}")


def test_transitions_are_recorded_with_who_when_why_and_workflow(registry: Registry) -> None:
    path = [S.ANALYZING, S.GENERATING, S.TESTING, S.GENERATING, S.TESTING, S.REVIEWING,
            S.APPROVED, S.DEPLOYING, S.ACTIVE, S.PAUSED, S.ACTIVE, S.DEPRECATED]
    _walk(registry, "acme", path)
    records = registry.transitions("acme")
    assert [r.to_state for r in records] == [S.REQUESTED, *path]
    assert [r.from_state for r in records] == [None, S.REQUESTED, *path[:-1]]
    assert records[0].actor == "alice" and records[1].actor == "ccb-bot"
    assert all(r.workflow_id == "wf-acme" and r.at and r.reason for r in records)
    assert records[4].reason == "step 3 to GENERATING"
    assert registry.get("acme").state == S.DEPRECATED


def test_refused_move_records_nothing(registry: Registry) -> None:
    _walk(registry, "beta", [S.ANALYZING])
    with pytest.raises(InvalidTransitionError, match="from ANALYZING to ACTIVE"):
        registry.transition("beta", S.ACTIVE, actor="x", reason="skip ahead",
                            workflow_id="wf", key="beta/bad")
    assert [r.to_state for r in registry.transitions("beta")] == [S.REQUESTED, S.ANALYZING]
    assert registry.get("beta").state == S.ANALYZING


def test_failed_then_retry_starts_again_from_analysis(registry: Registry) -> None:
    _walk(registry, "gamma", [S.ANALYZING, S.GENERATING, S.FAILED, S.ANALYZING])
    assert registry.get("gamma").state == S.ANALYZING


def test_same_transition_key_is_recorded_once(registry: Registry) -> None:
    _walk(registry, "delta", [S.ANALYZING])
    again = registry.transition("delta", S.ANALYZING, actor="ccb-bot", reason="retry",
                                workflow_id="wf-delta", key="delta/0")
    assert again.state == S.ANALYZING
    assert len(registry.transitions("delta")) == 2
