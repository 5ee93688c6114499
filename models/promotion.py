"""The promotion of one merged version through the environments (workflows/promotion.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from models.deployment import Environment
from models.flags import PromotionPolicy
from models.manifest import SEMVER_PATTERN
from models.request import SLUG_PATTERN

SHA = r"^[0-9a-fA-F]*$"


def promotion_workflow_id(slug: str, version: str) -> str:
    """One promotion per merged version: a newer version has its own."""
    return f"promote-{slug}-{version}"


class PromoteRequest(BaseModel):
    """The ``promote`` update: a person lets the version into ``environment``. Bound to the
    commit: ``commit_sha`` (a prefix of at least 7) must be the version's, when given."""

    environment: Environment
    approver: str = Field(min_length=1, max_length=100)
    commit_sha: str = Field(default="", pattern=SHA, max_length=64)
    source: str = Field(default="cli", max_length=40)  # comment, cli, api


class PromotionInput(BaseModel):
    """Promote ``version`` of ``slug``, merged at ``commit_sha`` and live in
    ``from_environment``, on through the environments after it."""

    slug: str = Field(pattern=SLUG_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    commit_sha: str = Field(pattern=SHA, min_length=7, max_length=64)
    from_environment: Environment = Environment.DEVELOPMENT
    repo: str = ""  # where the request issue is (the environments comment goes there)
    issue_number: int | None = None
    requested_by: str = ""  # mentioned when a person's approval is needed
    approval_expiry: timedelta = Field(default=timedelta(days=14), gt=timedelta(0))
    approvals: list[PromoteRequest] = Field(default_factory=list)  # given when (re)started


class PromoteAnswer(BaseModel):
    accepted: bool
    message: str


class StepStatus(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"  # for a person's /promote
    DEPLOYING = "deploying"
    CHECKING = "checking"  # the generated live checks against the new instance
    LIVE = "live"
    FAILED = "failed"
    STOPPED = "stopped"  # promotion is off for it, or an earlier one failed


class EnvironmentStep(BaseModel):
    environment: Environment
    policy: PromotionPolicy = PromotionPolicy.AUTO
    status: StepStatus = StepStatus.PENDING
    detail: str = ""
    approved_by: str = ""
    approved_at: datetime | None = None


class PromotionPlanQuery(BaseModel):
    from_environment: Environment


class PromotionPlan(BaseModel):
    """The environments after the one the version is live in, each with its entry policy."""

    steps: list[EnvironmentStep] = Field(default_factory=list)
    hosts: dict[str, str] = Field(default_factory=dict)  # environment -> its deploy host


class PromotionProgress(BaseModel):
    slug: str
    version: str
    commit_sha: str
    environments: list[EnvironmentStep] = Field(default_factory=list)
    waiting_for: Environment | None = None
    finished: bool = False


class PromotionResult(BaseModel):
    slug: str
    version: str
    reached: Environment  # the last environment the version is live in
    environments: list[EnvironmentStep] = Field(default_factory=list)
    stopped: str = ""  # why it went no further ("" when it reached the last one)


class PromotionGateQuery(BaseModel):
    slug: str
    version: str
    commit_sha: str
    previous: Environment
    approver: str = ""
    needs_approval: bool = False


class GateVerdict(BaseModel):
    problems: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class OlderVersionsQuery(BaseModel):
    slug: str = Field(pattern=SLUG_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)


class SupersededBy(BaseModel):
    """A newer version of the integration started its own promotion."""

    version: str = Field(pattern=SEMVER_PATTERN)
    commit_sha: str = Field(default="", max_length=64)
