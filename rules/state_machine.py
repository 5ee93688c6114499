"""The integration state machine of SPEC "States", as data, and the one check of a move."""

from __future__ import annotations

from models.states import IntegrationState

S = IntegrationState

# States in which work is under way; any of them may fail.
WORKING_STATES: frozenset[IntegrationState] = frozenset(
    {S.REQUESTED, S.ANALYZING, S.GENERATING, S.TESTING, S.REVIEWING, S.APPROVED, S.DEPLOYING}
)

# Every allowed move. Anything not listed here is refused.
TRANSITIONS: dict[IntegrationState, frozenset[IntegrationState]] = {
    S.REQUESTED: frozenset({S.ANALYZING}),
    S.ANALYZING: frozenset({S.GENERATING}),
    S.GENERATING: frozenset({S.TESTING}),
    S.TESTING: frozenset({S.REVIEWING, S.GENERATING}),
    S.REVIEWING: frozenset({S.APPROVED, S.GENERATING}),
    S.APPROVED: frozenset({S.DEPLOYING}),
    S.DEPLOYING: frozenset({S.ACTIVE}),
    S.ACTIVE: frozenset({S.PAUSED, S.DEPRECATED}),
    S.PAUSED: frozenset({S.ACTIVE}),
    S.DEPRECATED: frozenset(),
    S.FAILED: frozenset({S.ANALYZING}),
}
for _working in WORKING_STATES:
    TRANSITIONS[_working] = TRANSITIONS[_working] | {S.FAILED}


class InvalidTransitionError(ValueError):
    """A move the state machine does not allow."""

    def __init__(self, current: IntegrationState, target: IntegrationState) -> None:
        self.current = current
        self.target = target
        self.allowed = sorted(TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "none (final state)"
        super().__init__(
            f"cannot move an integration from {current} to {target}; "
            f"allowed from {current}: {allowed}"
        )


def allowed_targets(current: IntegrationState) -> frozenset[IntegrationState]:
    """The states an integration in ``current`` may move to."""
    return TRANSITIONS[current]


def validate_transition(current: IntegrationState | str, target: IntegrationState | str) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current -> target`` is allowed."""
    current, target = IntegrationState(current), IntegrationState(target)
    if target not in TRANSITIONS[current]:
        raise InvalidTransitionError(current, target)
