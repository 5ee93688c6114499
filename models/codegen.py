"""What the code-writing backends (Claude, or the offline generator) take and give back.

Both backends implement the same three steps, so the workflow does not care which one runs:
``analyze`` (request -> technical spec), ``generate`` (request + spec + findings -> files) and
``review`` (files + checks -> review comments). Every result names the backend that wrote it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.guidance import RepositoryGuidance
from models.manifest import TechnicalSpec
from models.request import IntegrationRequest


class Backend(StrEnum):
    CLAUDE = "claude"
    OFFLINE = "offline-generator"  # deterministic, from the request's fields; no AI used


class TokenUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(**{k: getattr(self, k) + getattr(other, k)
                             for k in TokenUsage.model_fields})

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens + self.output_tokens + self.cache_creation_input_tokens
                + self.cache_read_input_tokens)


class Finding(BaseModel):
    """One problem found in generated code or by its tests, fed back to the generator."""

    tool: str  # "ast", "ruff", "mypy", "bandit", "policy", "pytest", "size", "reviewer"
    path: str = ""
    line: int | None = None
    code: str = ""
    message: str
    severity: str = "error"  # "error" blocks, "warning" is reported


class AnalyzeInput(BaseModel):
    request: IntegrationRequest
    integration_key: str  # e.g. the workflow id: usage is recorded against it
    # The base branch's AGENTS.md, CONTRIBUTING.md, PR template and conventions; None in
    # payloads recorded before it (and for the offline generator, which ignores it).
    guidance: RepositoryGuidance | None = None


class AnalyzeResult(BaseModel):
    spec: TechnicalSpec
    backend: Backend
    usage: TokenUsage = Field(default_factory=TokenUsage)


class GenerateInput(BaseModel):
    request: IntegrationRequest
    spec: TechnicalSpec
    version: str = "0.1.0"
    findings: list[Finding] = Field(default_factory=list)  # from checks / tests / reviewers
    reviewer_comments: list[str] = Field(default_factory=list)
    previous_files: dict[str, str] = Field(default_factory=dict)
    integration_key: str
    attempt: int = 1
    # An update's: each endpoint's operation name in the live version ("GET /path" -> name),
    # kept so that an added endpoint never renames one people already call.
    operation_names: dict[str, str] = Field(default_factory=dict)
    guidance: RepositoryGuidance | None = None  # as in AnalyzeInput


class GeneratedCode(BaseModel):
    """Files of ``integrations/<slug>/`` keyed by their path from the repository root."""

    files: dict[str, str]
    backend: Backend
    summary: str = ""
    usage: TokenUsage = Field(default_factory=TokenUsage)


class InlineReviewComment(BaseModel):
    path: str
    line: int
    body: str


class ReviewInput(BaseModel):
    """What a code review reads. ``request`` is None when a PR changes an integration whose
    request is not on record; ``changed_paths`` narrows a PR review to the files it touches."""

    request: IntegrationRequest | None
    files: dict[str, str]
    findings: list[Finding] = Field(default_factory=list)
    integration_key: str
    slug: str = ""
    changed_paths: list[str] = Field(default_factory=list)

    @property
    def integration(self) -> str:
        """The slug under review."""
        return self.slug or (self.request.slug if self.request else "")


class ReviewResult(BaseModel):
    summary: str
    comments: list[InlineReviewComment] = Field(default_factory=list)
    approve: bool = False
    backend: Backend
    usage: TokenUsage = Field(default_factory=TokenUsage)
