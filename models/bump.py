"""The kinds of semver bump (a type both workflow results and the semver rules use)."""

from __future__ import annotations

from enum import StrEnum


class Bump(StrEnum):
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        return {"patch": 0, "minor": 1, "major": 2}[self.value]
