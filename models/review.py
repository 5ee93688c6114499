"""Inputs and results of the code-review workflow and its rule checks."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from models.codegen import Finding, TokenUsage
from models.verify import COVERAGE_GATE, TestReport

STATUS_CONTEXT = "ccb/review"
MAX_CHANGED_LINES = 2_000  # a larger change always gets a human reviewer


class CheckedHead(BaseModel):
    """What the caller already found for ``slug``'s files at ``sha`` (the creation workflow
    checked and tested exactly those files before committing them): the review reuses it
    for that head and slug instead of running the same sandbox twice."""

    sha: str
    slug: str
    findings: list[Finding] = Field(default_factory=list)
    report: TestReport


class ReviewOptions(BaseModel):
    """Settings of one review (the webhook starts reviews with the defaults)."""

    coverage_gate: float = COVERAGE_GATE
    reviewers: list[str] = Field(default_factory=list)
    breaking: bool = False  # said by the update workflow: its change breaks the public API
    max_changed_lines: int = MAX_CHANGED_LINES
    new_integration: bool = False  # said by the creation workflow: a human always approves
    checked: CheckedHead | None = None
    usage_key: str = ""  # whose token usage and budget a model review counts against


class RuleInput(BaseModel):
    slug: str
    files: dict[str, str]


class HumanReviewInput(BaseModel):
    changed_paths: list[str]
    changed_lines: int
    slugs: list[str]
    findings: list[Finding] = Field(default_factory=list)
    report: TestReport | None = None
    options: ReviewOptions = Field(default_factory=ReviewOptions)


class HumanReviewDecision(BaseModel):
    required: bool
    reasons: list[str] = Field(default_factory=list)


class PullHead(BaseModel):
    sha: str
    state: str
    merged: bool


class ReviewOutcome(BaseModel):
    """How a review ended: ``completed``, ``superseded`` (a newer push) or ``skipped``."""

    status: str
    head_sha: str
    gate_passed: bool = False
    coverage_percent: float | None = None
    human_review: HumanReviewDecision | None = None
    inline_comments: int = 0
    summary: str = ""
    reviewed_by: str = ""  # the code review's backend: claude or offline
    usage: TokenUsage = Field(default_factory=TokenUsage)
    requested_reviewers: list[str] = Field(default_factory=list)  # asked on the pull request


class KeyedComment(BaseModel):
    path: str
    line: int = Field(gt=0)
    rule: str
    body: str

    @property
    def marker(self) -> str:
        """``rc:<hash of path, line, rule>``: the same remark on a later push is found again."""
        digest = hashlib.sha1(f"{self.path}\0{self.line}\0{self.rule}".encode(),
                              usedforsecurity=False).hexdigest()[:16]
        return f"rc:{digest}"


class InlineReviewCommand(BaseModel):
    """A review whose inline comments are each keyed by path, line and rule (``key``)."""

    repo: str
    number: int = Field(gt=0)
    body: str = Field(max_length=65_000)
    marker: str = Field(pattern=r"^[A-Za-z0-9._:/-]{1,100}$")
    comments: list[KeyedComment] = Field(default_factory=list)


class InlineReviewResult(BaseModel):
    review_id: int
    posted_comments: int
    already_present: int


class ReviewRun(BaseModel):
    """What ``CodeReviewWorkflow`` takes: the starter's ReviewRequest fields, plus options."""

    repo: str
    pr_number: int = Field(gt=0)
    head_ref: str
    head_sha: str
    requested_by: str
    options: ReviewOptions = Field(default_factory=ReviewOptions)
