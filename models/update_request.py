"""A validated integration-update request, as the update-form parser returns it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.request import MAX_ENDPOINTS, SLUG_PATTERN, Endpoint, FieldProblem

MAX_TEXT_CHARS = 10_000  # Requirements, Example usage, Change


class ChangeKind(StrEnum):
    """What an update does to the integration's public API (drives the semver bump)."""

    FEATURE = "feature"
    FIX = "fix"
    BREAKING = "breaking"


class UpdateRequest(BaseModel):
    """A validated integration-update request."""

    slug: str = Field(pattern=SLUG_PATTERN)
    kind: ChangeKind
    change: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    endpoints: list[Endpoint] = Field(default_factory=list, max_length=MAX_ENDPOINTS)


class ParsedUpdate(BaseModel):
    """What the update-form parser returns: an update, or every problem found."""

    update: UpdateRequest | None = None
    problems: list[FieldProblem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.update is not None and not self.problems
