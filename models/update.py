"""Inputs and results of the integration-update workflow and its activities."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.bump import Bump
from models.codegen import Backend, Finding, TokenUsage
from models.creation import ApprovalTimes
from models.intake import IntakeInput
from models.update_request import UpdateRequest
from models.verify import COVERAGE_GATE


class UpdateInput(IntakeInput, ApprovalTimes):
    """An integration-update issue (the starter sends IntakeInput's fields; the rest defaults)."""

    environment: str = "development"
    coverage_gate: float = COVERAGE_GATE
    reviewers: list[str] = Field(default_factory=list)
    max_fix_rounds: int = Field(default=3, ge=1, le=10)
    dollar_budget: float | None = Field(default=None, ge=0)  # USD; None: the settings


UPDATE_STATE_KEY = "ccb_update"  # in a version's recorded manifest: request and renames


class IntegrationLookup(BaseModel):
    """The integration an update names, as the registry knows it (or the names it knows).

    ``request`` and ``renames`` come from the live version's record when an update wrote it
    (the request as that update changed it), else from the original request.
    """

    found: bool
    slug: str
    current_version: str = ""
    state: str = ""
    request: dict[str, object] = Field(default_factory=dict)
    renames: list[tuple[str, str]] = Field(default_factory=list)
    issue_number: int | None = None  # the request issue it was created from
    known: list[str] = Field(default_factory=list)


class RepoFilesQuery(BaseModel):
    repo: str
    prefix: str = Field(description="a folder, e.g. integrations/acme-weather/")
    ref: str = "main"


class UpdateGenerateInput(BaseModel):
    """Regenerate an integration from its stored request and an update request."""

    request: dict[str, object]
    update: UpdateRequest
    version: str
    previous_files: dict[str, str] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    attempt: int = 1
    renames: list[tuple[str, str]] = Field(
        default_factory=list, description="renames of earlier updates, applied first")
    integration_key: str = "update"  # whose token usage and budget a model call counts against
    reviewer_comments: list[str] = Field(
        default_factory=list, description="changes a reviewer asked for on the update's PR")


class UpdateGenerated(BaseModel):
    """The updated files, with the request and renames to remember for the next update."""

    files: dict[str, str]
    summary: str = ""
    request: dict[str, object]
    renames: list[tuple[str, str]] = Field(default_factory=list)
    backend: Backend = Backend.OFFLINE
    usage: TokenUsage = Field(default_factory=TokenUsage)


class ApiMember(BaseModel):
    """One public name: a function, a class, a method, a capability or an HTTP operation."""

    kind: str  # "function", "class", "method", "capability", "operation"
    name: str
    signature: str = ""


class CompatInput(BaseModel):
    slug: str
    old_files: dict[str, str]
    new_files: dict[str, str]


class CompatReport(BaseModel):
    removed: list[ApiMember] = Field(default_factory=list)
    changed: list[tuple[ApiMember, ApiMember]] = Field(default_factory=list)
    added: list[ApiMember] = Field(default_factory=list)
    # Same member, new signature that only adds optional parameters: callers keep working.
    extended: list[tuple[ApiMember, ApiMember]] = Field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return bool(self.removed or self.changed)

    @property
    def detected_bump(self) -> Bump:
        if self.breaking:
            return Bump.MAJOR
        return Bump.MINOR if self.added or self.extended else Bump.PATCH


class UpdateResult(BaseModel):
    slug: str
    outcome: str  # "merged", "unknown_integration", "invalid_request"
    old_version: str = ""
    new_version: str = ""
    bump: Bump | None = None
    breaking: bool = False
    pr_number: int | None = None
    merged_sha: str = ""
    message: str = ""
    usage: TokenUsage = Field(default_factory=TokenUsage)
