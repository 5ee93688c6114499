"""Deployments: which version of an integration runs where, in which colour."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Environment(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class Color(StrEnum):
    BLUE = "blue"
    GREEN = "green"


class DeploymentStatus(StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    STARTING = "starting"
    SHIFTING = "shifting"
    WATCHING = "watching"
    LIVE = "live"
    RETIRED = "retired"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


class DeploymentInfo(BaseModel):
    """One deployment as the registry returns it."""

    id: int
    integration_slug: str
    version: str
    environment: Environment
    color: Color
    status: DeploymentStatus
    image: str = ""
    endpoint: str = ""
    workflow_id: str = ""
    reason: str = ""
    created_at: datetime
    updated_at: datetime
