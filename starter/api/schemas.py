"""The REST API's bodies: what it answers and what its actions take (the OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.deployment import DeploymentInfo, Environment
from models.events import AuditEvent

HEAD_SHA = r"^[0-9a-fA-F]{7,40}$"


class Problem(BaseModel):
    """Every 4xx: one sentence saying what is wrong and what to do."""

    detail: str


class IntegrationOut(BaseModel):
    slug: str
    name: str
    integration_type: str
    state: str
    current_version: str
    repo: str
    issue_number: int | None
    workflow_id: str
    live: dict[str, str] = Field(description="environment -> live version")
    created_at: datetime
    updated_at: datetime


class IntegrationList(BaseModel):
    integrations: list[IntegrationOut]


class VersionOut(BaseModel):
    version: str
    commit_sha: str
    pr_number: int | None
    created_at: datetime


class VersionList(BaseModel):
    slug: str
    versions: list[VersionOut]


class DeploymentList(BaseModel):
    deployments: list[DeploymentInfo]


class TransitionOut(BaseModel):
    integration: str
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    workflow_id: str
    at: str


class TransitionList(BaseModel):
    transitions: list[TransitionOut]


class EventList(BaseModel):
    events: list[AuditEvent]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null "
                                                 "when this is the last")


class UsageLineOut(BaseModel):
    step: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class UsageOut(BaseModel):
    slug: str | None
    workflow_ids: list[str]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    by_step: list[UsageLineOut]


class Accepted(BaseModel):
    """What an action did: the workflow message's outcome, as the comment commands get it."""

    status: str
    message: str
    workflow_id: str = ""
    workflow_type: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    head_sha: str = Field(pattern=HEAD_SHA, description="the head commit you reviewed (7 to 40 "
                                                        "hex characters): the approval is "
                                                        "bound to it")
    comment: str = Field(default="", max_length=2000)


class ChangesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000, description="what to change")


class PlanApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1, le=999, description="the plan revision you read: the approval "
                                                    "is bound to it")


class PlanReviseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1, le=999, description="the plan revision you answer")
    text: str = Field(min_length=1, max_length=20_000, description="what to change in it")


class BudgetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_usd: float = Field(gt=0, le=1_000_000, allow_inf_nan=False,
                              description="dollars to add to the request's cap")


class DeployBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(default="", max_length=64,
                         description="a recorded version; empty: the newest")
    environment: Environment = Environment.DEVELOPMENT
    approve_traffic: bool = Field(default=False, description="approve the traffic switch in "
                                                             "advance (production asks otherwise)")


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Environment = Field(description="the environment to move the version to")
    version: str = Field(default="", max_length=64,
                         description="a merged version; empty: the newest")
    commit_sha: str = Field(default="", pattern=r"^[0-9a-fA-F]*$", max_length=40,
                            description="the commit you approve (checked against the "
                                        "version's); empty: the version's")


class LifecycleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500, description="recorded with the transition")


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Environment = Environment.DEVELOPMENT
