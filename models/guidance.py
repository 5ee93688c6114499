"""The repository's own rules, read from its base branch: what Claude is told about them and
the pull-request template the bot's PR body follows.

Read once per creation run (``activities/guidance.py``), never from a pull request's head: a
branch anyone can push to must not steer the bot. Every text is repository text, cleaned and
bounded before it is stored here, and delimited as data wherever it is sent.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.github import RepoName

BASE_BRANCH = "main"  # starter.routing.BASE_BRANCH: where the bot's pull requests go
MAX_FILE_CHARS = 8_000  # each file, cut with a note beyond
MAX_TOTAL_CHARS = 20_000  # all files together (the prompt's share for guidance)
MAX_CONVENTIONS_CHARS = 2_000


class GuidanceQuery(BaseModel):
    """Read the guidance of ``repo`` at the head of ``ref`` (a branch: the base branch)."""

    repo: RepoName
    ref: str = Field(default=BASE_BRANCH, max_length=255)


class RepositoryGuidance(BaseModel):
    """What the base branch says about how to contribute; empty when it says nothing."""

    ref: str = BASE_BRANCH
    sha: str = ""  # the commit every file was read at
    files: dict[str, str] = Field(default_factory=dict)  # path -> cleaned, bounded text
    conventions: str = ""  # a short summary of the existing integrations/* (computed)
    pr_template: str = ""  # the pull-request template's markdown, cleaned ("" without one)

    @property
    def empty(self) -> bool:
        return not (self.files or self.conventions)
