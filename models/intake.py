"""Inputs and results of the request-intake workflow and its activities."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.request import FieldProblem, IntegrationRequest


class IntakeInput(BaseModel):
    """An integration-request issue as the webhook (or the CLI) hands it over."""

    repo: str = Field(description="owner/name of the repository holding the issue")
    issue_number: int
    body: str | None = None
    requested_by: str = Field(description="login of the person who triggered the request")
    title: str = ""


class RecordRequested(BaseModel):
    """Record a validated request as a REQUESTED integration (idempotent by ``key``)."""

    request: IntegrationRequest
    repo: str
    issue_number: int
    requested_by: str
    workflow_id: str
    key: str


class IntegrationRef(BaseModel):
    id: int
    slug: str
    state: str


class IntakeResult(BaseModel):
    accepted: bool
    slug: str = ""
    integration_id: int | None = None
    state: str
    problems: list[FieldProblem] = Field(default_factory=list)


def intake_workflow_id(repo: str, issue_number: int) -> str:
    """One intake per issue: a duplicate delivery joins the running workflow."""
    return f"intake-{repo.replace('/', '-')}-{issue_number}"
