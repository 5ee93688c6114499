"""The integration states of SPEC "States" (the moves between them: rules/state_machine.py)."""

from __future__ import annotations

from enum import StrEnum


class IntegrationState(StrEnum):
    REQUESTED = "REQUESTED"
    ANALYZING = "ANALYZING"
    GENERATING = "GENERATING"
    TESTING = "TESTING"
    REVIEWING = "REVIEWING"
    APPROVED = "APPROVED"
    DEPLOYING = "DEPLOYING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    DEPRECATED = "DEPRECATED"
    FAILED = "FAILED"

